/**
 * Where jiti keeps its transpile cache when the definition loader's worker loads the organisation's TypeScript
 * (image definitions and `pipeline/settings.ts`): the project's `node_modules/.cache/jiti`, rather than the shared
 * temp folder, where a CI runner or a cleaned machine starts cold every time.
 */
import path from 'node:path';
import { packageRoot } from './engine-location.ts';

/**
 * The same rule as src/bin/load-typescript.js: the project gild is installed
 * in, or this checkout; GILD_TYPESCRIPT_CACHE names another folder (the
 * benchmarks use it to start cold).
 */
export function typeScriptCacheDir(): string {
  if (process.env.GILD_TYPESCRIPT_CACHE) return process.env.GILD_TYPESCRIPT_CACHE;
  const installed = packageRoot.indexOf(`${path.sep}node_modules${path.sep}`);
  return path.join(installed === -1 ? packageRoot : packageRoot.slice(0, installed), 'node_modules', '.cache', 'jiti');
}
