/**
 * Where gild's package is, for the engine. The rule lives in src/bin/engine-paths.js, which the entry point uses
 * before any TypeScript can load; this module only gives it to the engine under its usual name.
 */
export { packageRoot, projectCacheDir } from './bin/engine-paths.js';
