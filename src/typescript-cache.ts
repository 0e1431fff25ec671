/**
 * Where jiti keeps its transpile cache when the definition loader's worker loads the organisation's TypeScript
 * (image definitions and `pipeline/settings.ts`): the project's `node_modules/.cache/jiti`, rather than the shared
 * temp folder, where a CI runner or a cleaned machine starts cold every time.
 */
import { projectCacheDir } from './engine-location.ts';

/**
 * The same rule as src/bin/load-typescript.js: the project gild is installed
 * in, or this checkout; GILD_TYPESCRIPT_CACHE names another folder (the
 * benchmarks use it to start cold).
 */
export function typeScriptCacheDir(): string {
  return process.env.GILD_TYPESCRIPT_CACHE || projectCacheDir('jiti');
}
