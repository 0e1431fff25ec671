// Is dist/ a build of the sources as they are now? Shared by src/bin/gild.js,
// which runs dist/ only then, and the start-up benchmark, which builds it first.
//
// NOTE: decided by modification times, which costs one stat per source file
// (~1 ms): dist/.built, written when a build succeeds, must be no older than
// every .ts and .js file under src/ and npm's record of the last install. A build that failed halfway writes no stamp. npm's
// tarballs give every file the same time, so an installed package is current.
import { readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const packageRoot = fileURLToPath(new URL('../..', import.meta.url));

export function compiledEngineIsCurrent() {
  let builtAt;
  try {
    builtAt = statSync(path.join(packageRoot, 'dist', '.built')).mtimeMs;
  } catch {
    return false;
  }
  // NOTE: the bundle also holds the dependencies, so an install since the build (`npm install <pkg>` does not rebuild)
  // makes it stale too: npm rewrites node_modules/.package-lock.json on every install. An installed gild has none.
  try {
    if (statSync(path.join(packageRoot, 'node_modules', '.package-lock.json')).mtimeMs > builtAt) return false;
  } catch {
    // nothing installed here since the build
  }
  const sources = path.join(packageRoot, 'src');
  for (const entry of readdirSync(sources, { recursive: true, withFileTypes: true })) {
    if (entry.isFile() && /\.(?:ts|js)$/.test(entry.name) && statSync(path.join(entry.parentPath ?? entry.path, entry.name)).mtimeMs > builtAt) return false;
  }
  return true;
}

/** `node_modules/.cache/<name>` of the project gild is installed in, or of this checkout. */
export function projectCacheDir(name) {
  const installed = packageRoot.indexOf(`${path.sep}node_modules${path.sep}`);
  return path.join(installed === -1 ? packageRoot : packageRoot.slice(0, installed), 'node_modules', '.cache', name);
}
