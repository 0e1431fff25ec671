/**
 * Where the package manifests a smoke test collects are kept, so that the
 * next version can be diffed against this one. The command that lists
 * packages is resolved with the image (`image.packageManifestCommand`: from
 * the preset, else by platform).
 */
import { mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import semver from 'semver';

export function manifestDir(workDir: string, imageName: string): string {
  return join(workDir, 'manifests', imageName);
}

/**
 * The manifest of the version before `nextVersion`: the plan's current
 * version if its manifest is kept, else the newest kept version below it.
 */
export async function readPreviousManifest(workDir: string, imageName: string, currentVersion: string | undefined, nextVersion: string): Promise<{ version: string; text: string } | undefined> {
  const dir = manifestDir(workDir, imageName);
  let versions: string[];
  try {
    versions = (await readdir(dir)).filter((file) => file.endsWith('.txt')).map((file) => file.slice(0, -4));
  } catch {
    return undefined;
  }
  const candidates = versions.filter((version) => semver.valid(version) && semver.lt(version, nextVersion)).sort(semver.rcompare);
  const version = currentVersion && versions.includes(currentVersion) ? currentVersion : candidates[0];
  if (!version) return undefined;
  return { version, text: await readFile(join(dir, `${version}.txt`), 'utf8') };
}

export async function writeManifest(workDir: string, imageName: string, version: string, text: string): Promise<string> {
  const dir = manifestDir(workDir, imageName);
  await mkdir(dir, { recursive: true });
  const file = join(dir, `${version}.txt`);
  await writeFile(file, text);
  return file;
}
