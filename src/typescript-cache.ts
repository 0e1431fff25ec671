/**
 * Where the definition loader's worker keeps its transform cache when it loads the organisation's TypeScript
 * (image definitions and `pipeline/settings.ts`). One rule with the entry point's: src/bin/engine-paths.js.
 */
export { typeScriptCacheDir } from './bin/engine-paths.js';
