/**
 * What makes two builds the same, besides the base AMI: the resolved
 * definition, the templates it renders with, and the files it uploads or
 * runs. The digest is tagged on every AMI (`gild:fingerprint`) so the planner
 * can skip images that have not changed. The base AMI is compared on its own
 * (`gild:base-ami`), because for an image built on another gild image it is
 * only known once that image has published.
 */
import { createHash } from 'node:crypto';
import type { ResolvedImage } from '../definition/resolved-image.ts';

export function fingerprint(input: {
  readonly image: ResolvedImage;
  /** Absolute paths under it are hashed relative to it. */
  readonly projectRoot: string;
  /** Contents of every template and referenced file, by path relative to the project. */
  readonly files: Readonly<Record<string, string>>;
}): string {
  const { dir: _dir, file: _file, ...definition } = input.image;
  const hash = createHash('sha256');
  hash.update(JSON.stringify({ definition: stripAbsolutePaths(definition, input.projectRoot) }, replaceRegExp));
  for (const path of Object.keys(input.files).sort()) hash.update(`\0${path}\0${input.files[path]}`);
  return hash.digest('hex').slice(0, 16);
}

function replaceRegExp(_key: string, value: unknown): unknown {
  return value instanceof RegExp ? `/${value.source}/${value.flags}` : value;
}

// Absolute paths differ between checkouts; the same definition must hash the same everywhere.
function stripAbsolutePaths(value: unknown, root: string): unknown {
  return JSON.parse(JSON.stringify(value, replaceRegExp).split(JSON.stringify(root).slice(1, -1)).join('.'));
}
