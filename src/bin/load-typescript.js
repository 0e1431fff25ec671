// Shared by gild's entry points (the CLI and the benchmarks): load a TypeScript
// module through jiti, with jiti's transpile cache under the project.
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { createJiti } from 'jiti';
import { silenceNodeVersionNotice } from './silence-node-version-notice.js';

silenceNodeVersionNotice();

/**
 * `node_modules/.cache/jiti` of the project gild is installed in, or of this
 * checkout, or GILD_TYPESCRIPT_CACHE. NOTE: the same rule as src/create-typescript-loader.ts, which
 * cannot be imported from here before TypeScript can be loaded.
 */
export function typeScriptCacheDir() {
  if (process.env.GILD_TYPESCRIPT_CACHE) return process.env.GILD_TYPESCRIPT_CACHE;
  const packageRoot = fileURLToPath(new URL('../..', import.meta.url));
  const installed = packageRoot.indexOf(`${path.sep}node_modules${path.sep}`);
  return path.join(installed === -1 ? packageRoot : packageRoot.slice(0, installed), 'node_modules', '.cache', 'jiti');
}

/** Imports a TypeScript module relative to `fromUrl` (transpiled on load, cached on disk). */
export function importTypeScript(fromUrl, specifier) {
  return createJiti(fromUrl, { fsCache: typeScriptCacheDir() }).import(specifier);
}
