/**
 * Where jiti keeps its transpile cache when the definition loader's worker loads the organisation's TypeScript
 * (image definitions and `pipeline/settings.ts`). One rule with the entry point's: src/bin/engine-paths.js.
 */
export { typeScriptCacheDir } from './bin/engine-paths.js';
