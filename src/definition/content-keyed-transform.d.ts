import type { TransformOptions, TransformResult } from 'jiti';

/** The file name prefix of the cache's entries in its folder. */
export const entryPrefix: string;

/**
 * A `transform` for createJiti whose output is kept in `cacheDir` under a key of the source, the options and the
 * extension (not the path); `transform` runs on a miss. See content-keyed-transform.js.
 */
export function contentKeyedTransform(settings: {
  cacheDir: string;
  version: string;
  transform: (options: TransformOptions) => TransformResult;
  maxEntries?: number;
}): (options: TransformOptions) => TransformResult;
