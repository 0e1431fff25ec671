/**
 * Where gild's package is. This module runs from src/ (the TypeScript sources, in tests and through jiti), from dist/
 * (tsc's output) or from a chunk of dist/bundle/ (the bundle `gild` runs, see src/bin/build-engine.js), each a
 * different depth below the package root, so the root is found by its package.json.
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

function nearestPackageRoot(from: string): string {
  for (let folder = from; ; folder = path.dirname(folder)) {
    if (existsSync(path.join(folder, 'package.json'))) return folder;
    if (path.dirname(folder) === folder) throw new Error(`gild's package.json is not in any folder above ${from}`);
  }
}

/** The folder with gild's package.json: this checkout, or node_modules/gild where a project installed it. */
export const packageRoot = nearestPackageRoot(path.dirname(fileURLToPath(import.meta.url)));

/**
 * `node_modules/.cache/<name>` of the project gild is installed in, or of this checkout. NOTE: src/bin/compiled-engine.js
 * states the same rule for the entry point, which runs before any TypeScript can be loaded and cannot import this.
 */
export function projectCacheDir(name: string): string {
  const installed = packageRoot.indexOf(`${path.sep}node_modules${path.sep}`);
  return path.join(installed === -1 ? packageRoot : packageRoot.slice(0, installed), 'node_modules', '.cache', name);
}
