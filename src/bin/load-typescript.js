// Shared by gild's entry points (the CLI and the benchmarks): load a TypeScript
// module through jiti, with jiti's transpile cache under the project.
import { createJiti } from 'jiti';
import { projectCacheDir } from './compiled-engine.js';
import { silenceNodeVersionNotice } from './silence-node-version-notice.js';

silenceNodeVersionNotice();

/**
 * `node_modules/.cache/jiti` of the project gild is installed in, or of this
 * checkout, or GILD_TYPESCRIPT_CACHE. NOTE: the same rule as src/typescript-cache.ts, which
 * cannot be imported from here before TypeScript can be loaded.
 */
export function typeScriptCacheDir() {
  return process.env.GILD_TYPESCRIPT_CACHE || projectCacheDir('jiti');
}

/** Imports a TypeScript module relative to `fromUrl` (transpiled on load, cached on disk). */
export function importTypeScript(fromUrl, specifier) {
  return createJiti(fromUrl, { fsCache: typeScriptCacheDir() }).import(specifier);
}
