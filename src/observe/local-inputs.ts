/**
 * What a plan needs from the local disk: each image's fingerprint (what goes
 * into the image). Read before assembling, so the assembler stays pure.
 */
import { readFile, readdir } from 'node:fs/promises';
import path from 'node:path';
import type { ResolvedImage } from '../definition/resolved-image.ts';
import { fingerprint } from '../plan/fingerprint.ts';

async function readTree(root: string, folder: string, into: Record<string, string>): Promise<void> {
  let entries;
  try {
    entries = await readdir(folder, { withFileTypes: true });
  } catch {
    return;
  }
  for (const entry of entries) {
    const full = path.join(folder, entry.name);
    if (entry.isDirectory()) await readTree(root, full, into);
    else if (entry.isFile()) into[path.relative(root, full)] = await readFile(full, 'utf8');
  }
}

/** Templates plus every script and upload the image references. */
async function readImageFiles(cwd: string, image: ResolvedImage, templates: Readonly<Record<string, string>>): Promise<Record<string, string>> {
  const files: Record<string, string> = { ...templates };
  for (const step of image.provision) {
    const file = step.kind === 'script' ? step.path : step.kind === 'upload' ? step.source : undefined;
    if (file) await readTree(cwd, file, files).catch(() => undefined);
    if (file && !(path.relative(cwd, file) in files)) {
      try {
        files[path.relative(cwd, file)] = await readFile(file, 'utf8');
      } catch {
        // A folder upload was read above; a missing file is a definition error reported by validation.
      }
    }
  }
  return files;
}

export async function fingerprintImages(cwd: string, images: readonly ResolvedImage[]): Promise<Record<string, string>> {
  // Every image renders with the same templates: read them once per run, not once per image.
  const templates: Record<string, string> = {};
  await readTree(cwd, path.join(cwd, 'templates'), templates);
  const entries = await Promise.all(images.map(async (image) => [image.name, fingerprint({ image, projectRoot: cwd, files: await readImageFiles(cwd, image, templates) })] as const));
  return Object.fromEntries(entries);
}
