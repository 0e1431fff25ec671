// Where gild's package is and where it keeps its caches: one rule for the entry
// point (plain JavaScript, before any TypeScript can load) and the engine
// (src/engine-location.ts and src/typescript-cache.ts re-export these).
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

// NOTE: this module runs from src/bin/ and, bundled, from a chunk of dist/bundle/: different depths below the
// package root, so the root is found by its package.json rather than by a relative path.
function nearestPackageRoot(from) {
  for (let folder = from; ; folder = path.dirname(folder)) {
    if (existsSync(path.join(folder, 'package.json'))) return folder;
    if (path.dirname(folder) === folder) throw new Error(`gild's package.json is not in any folder above ${from}`);
  }
}

/** The folder with gild's package.json: this checkout, or node_modules/gild where a project installed it. */
export const packageRoot = nearestPackageRoot(path.dirname(fileURLToPath(import.meta.url)));

/** `node_modules/.cache/<name>` of the project gild is installed in, or of this checkout. */
export function projectCacheDir(name) {
  const installed = packageRoot.indexOf(`${path.sep}node_modules${path.sep}`);
  return path.join(installed === -1 ? packageRoot : packageRoot.slice(0, installed), 'node_modules', '.cache', name);
}

/**
 * Where the definition loader keeps its transform cache for the organisation's TypeScript (definitions, settings;
 * keyed by content, src/definition/content-keyed-transform.js) and, in developer mode, jiti its transpile cache of
 * gild's own sources: the project's `node_modules/.cache/jiti` rather than the shared temp folder, where a CI
 * runner or a cleaned machine starts cold every time; GILD_TYPESCRIPT_CACHE names another folder (the benchmarks
 * use it to start cold).
 */
export function typeScriptCacheDir() {
  return process.env.GILD_TYPESCRIPT_CACHE || projectCacheDir('jiti');
}
