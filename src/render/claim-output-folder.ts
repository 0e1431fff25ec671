/**
 * Decides whether gild may write a rendered folder at `dir`, and clears what
 * an earlier render left there. gild writes only into a folder that is new,
 * empty, or marked as gild's by a `.gild-render` file, and removes only the
 * files that marker lists: a file gild did not write is never removed.
 */
import { mkdir, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { catalogue } from '../errors.ts';

export const renderMarkerFile = '.gild-render';

interface RenderMarker {
  readonly writtenBy: 'gild render';
  /** Names inside the folder that gild wrote or had Packer write, and may replace. */
  readonly files: readonly string[];
}

async function readMarker(dir: string): Promise<RenderMarker | undefined> {
  let text: string;
  try {
    text = await readFile(path.join(dir, renderMarkerFile), 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
  try {
    const marker = JSON.parse(text) as Partial<RenderMarker>;
    if (Array.isArray(marker.files) && marker.files.every((file) => typeof file === 'string')) return { writtenBy: 'gild render', files: marker.files };
  } catch {
    // fall through: an unreadable marker is treated as no marker
  }
  return undefined;
}

/** A listed name must be a plain file name in the folder: a marker cannot send gild elsewhere. */
const isPlainName = (name: string): boolean => name !== '' && name !== '.' && name !== '..' && !name.includes('/') && !name.includes('\\') && name !== renderMarkerFile;

/**
 * Makes `dir` ready for `files` (plain names): creates it, or clears the
 * files an earlier gild render listed, then records `files` in the marker
 * before any of them is written, so an interrupted render is still
 * recognised as gild's. Refuses (exit 2) any other non-empty folder.
 */
export async function claimOutputFolder(dir: string, files: readonly string[]): Promise<void> {
  let entries: string[];
  try {
    entries = await readdir(dir);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOTDIR') throw catalogue.EUSAGE(`${dir} is a file, not a folder. Give a new or empty folder to render into.`);
    if (code !== 'ENOENT') throw error;
    entries = [];
  }
  const marker = entries.length > 0 ? await readMarker(dir) : undefined;
  if (entries.length > 0 && !marker) {
    throw catalogue.EUSAGE(
      `${dir} is not empty and was not made by gild (it has no ${renderMarkerFile} file), so gild will not write into it or remove anything from it. Give a new or empty folder, e.g. a subfolder: ${path.join(dir, 'gild-render')}.`,
    );
  }
  await mkdir(dir, { recursive: true });
  for (const name of (marker?.files ?? []).filter(isPlainName)) await rm(path.join(dir, name), { force: true });
  const record: RenderMarker = { writtenBy: 'gild render', files: [...new Set([...files])] };
  await writeFile(path.join(dir, renderMarkerFile), `${JSON.stringify(record, null, 2)}\n`);
}
