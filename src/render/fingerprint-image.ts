/**
 * The fingerprint of what makes an image: the rendered Packer folder (with
 * run-independent placeholders for everything that changes per run), the
 * content of every file it reads (template, partials it uses, Windows user
 * data for Windows images, scripts, upload trees) and the renderer's version.
 * Settings that do not change the AMI (retention, smoke, concurrency, sweep)
 * never reach the rendering, so they cannot change it.
 *
 * The fingerprint does not depend on where gild runs: it is always taken of
 * the rendering for real AWS, provisioners and their files included, even when
 * the run renders for the emulator (which leaves them out, or runs them
 * elsewhere). So an edit to a provision step, a script or an upload shows as a
 * rebuild in `gild plan --local` exactly as it will on the real account, and a
 * candidate AMI built on either target is resumed by the same fingerprint.
 *
 * Files are streamed into the hash under a size limit; a plan's fingerprints of a whole fleet keep small files'
 * bytes in memory for the other images (src/render/file-reads.ts), up to a budget, past which they stream again.
 */
import { createHash, type Hash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import path from 'node:path';
import type { PackerVersionInfo } from '../adapters/packer.ts';
import type { ResolvedImage } from '../definition/resolved-image.ts';
import { catalogue } from '../errors.ts';
import { freshReads, type FileReads } from './file-reads.ts';
import { renderImageFiles } from './render-template.ts';

/** Bump when a change to gild's rendering changes what gets built. */
export const rendererVersion = 'gild-renderer-3';

/** The most bytes of referenced files gild hashes for one image. */
export const fingerprintSizeLimit = 2 * 1024 ** 3;

export interface FingerprintInput {
  readonly templatesDir: string;
  readonly packer: PackerVersionInfo;
  /** For tests; default fingerprintSizeLimit. */
  readonly sizeLimit?: number;
  /** How files are read: afresh (the default), or once for every image of a plan (src/render/file-reads.ts). */
  readonly reads?: FileReads;
}

/** Stand-ins for what differs between runs of the same image; fixed so that equal images hash equal. */
const placeholders = {
  outDir: '/gild/fingerprint',
  baseAmiId: 'ami-00000000',
  runId: 'run-id',
  securityGroupId: 'sg-00000000',
  now: new Date(0),
} as const;

interface FileEntry {
  readonly file: string;
  readonly size: number;
}

/** Every regular file under `file` (itself, if it is one), in a stable order; symbolic links are hashed as their target path. */
async function listFiles(file: string, links: string[], reads: FileReads): Promise<FileEntry[]> {
  const info = await reads.lstat(file);
  if (info.isSymbolicLink()) {
    const target = await reads.stat(file).catch(() => undefined);
    if (target?.isFile()) return [{ file, size: target.size }];
    links.push(`${file} -> ${await reads.readlink(file)}`);
    return [];
  }
  if (info.isFile()) return [{ file, size: info.size }];
  if (!info.isDirectory()) return [];
  const names = [...(await reads.readdir(file))].sort();
  const nested = [];
  for (const name of names) nested.push(...(await listFiles(path.join(file, name), links, reads)));
  return nested;
}

/** The file's content into the hash: its bytes as read once for every image (small files), else streamed. */
async function hashFile(hash: Hash, entry: FileEntry, reads: FileReads): Promise<void> {
  const bytes = reads.readBytes(entry.file, entry.size);
  if (bytes !== undefined) {
    hash.update(await bytes);
    return;
  }
  return streamFile(hash, entry.file);
}

function streamFile(hash: Hash, file: string): Promise<void> {
  return new Promise((resolve, reject) => {
    createReadStream(file)
      .on('data', (chunk) => hash.update(chunk))
      .on('error', reject)
      .on('end', () => resolve());
  });
}

/** Partials the template names itself (`{{> name}}`), besides the image's own `partial`. */
async function partialsNamedBy(templateFile: string, templatesDir: string, reads: FileReads): Promise<string[]> {
  const source = await reads.readText(templateFile).catch(() => '');
  return [...source.matchAll(/\{\{~?>\s*([A-Za-z0-9_-]+)/g)].map((match) => path.join(templatesDir, 'partials', `${match[1]}.pkr.hcl.hbs`));
}

export async function fingerprintImage(image: ResolvedImage, input: FingerprintInput): Promise<{ fingerprint: string; files: string[] }> {
  const reads = input.reads ?? freshReads;
  const rendered = await renderImageFiles(image, {
    outDir: placeholders.outDir,
    templatesDir: input.templatesDir,
    baseAmiId: placeholders.baseAmiId,
    amiName: `${image.name}-fingerprint`,
    tags: { ...image.tags, 'gild:image': image.name },
    runTags: { 'gild:image': image.name, 'gild:role': 'build', 'gild:run-id': placeholders.runId },
    packer: input.packer,
    now: placeholders.now,
    keyPairName: `gild_${placeholders.runId}_${image.name}`,
    securityGroupId: placeholders.securityGroupId,
    reads,
    // NOTE: never a target profile's answers (no endpoint, Packer connects): what an image is must not depend on the
    // target it is rehearsed on.
  });
  // NOTE: paths are hashed relative to the project, so that two checkouts in different folders agree.
  const projectDir = path.dirname(path.resolve(input.templatesDir));
  const portable = (text: string): string => text.replaceAll(projectDir, '<project>');
  const hash = createHash('sha256');
  hash.update(`${rendererVersion}\0`);
  for (const file of rendered.files) {
    const content = portable(file.content);
    hash.update(`rendered\0${file.name}\0${content.length}\0${content}\0`);
  }
  // NOTE: sharing is no longer rendered (gild shares after the smoke test), but who may launch an image is still part
  // of what a version is: changing launchPermissions builds a version shared as now defined. Private images add nothing.
  if (image.launchPermissions.kind !== 'implicit') hash.update(`launch-permissions\0${JSON.stringify(image.launchPermissions)}\0`);
  // NOTE: the description is set by the share step too (Packer would set it before tagging), and is still part of a version.
  hash.update(`description\0${image.description}\0`);

  const inputs = [...new Set([...rendered.inputs, ...(await partialsNamedBy(rendered.inputs[0] as string, input.templatesDir, reads))])];
  const links: string[] = [];
  const entries: FileEntry[] = [];
  for (const file of inputs) entries.push(...(await listFiles(file, links, reads)));
  const total = entries.reduce((sum, entry) => sum + entry.size, 0);
  const limit = input.sizeLimit ?? fingerprintSizeLimit;
  if (total > limit) {
    const largest = [...entries]
      .sort((a, b) => b.size - a.size)
      .slice(0, 3)
      .map((entry) => `${path.relative(image.dir, entry.file)} (${entry.size} bytes)`);
    throw catalogue.EDEFINITIONS([
      `${image.file}: provision: the scripts and uploads add up to ${total} bytes, more than the ${limit} bytes gild fingerprints per image (largest: ${largest.join(', ')}). Upload large artifacts from S3 or a package repository in a script instead.`,
    ]);
  }
  for (const entry of entries) {
    hash.update(`file\0${portable(entry.file)}\0${entry.size}\0`);
    await hashFile(hash, entry, reads);
  }
  for (const link of links) hash.update(`link\0${portable(link)}\0`);
  return { fingerprint: hash.digest('hex'), files: entries.map((entry) => entry.file) };
}
