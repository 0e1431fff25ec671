// Shared by gild's developer mode (GILD_ENGINE=source) and the benchmarks: load a TypeScript module through jiti,
// with jiti's transpile cache under the project (engine-paths.js).
import { createJiti } from 'jiti';
import { typeScriptCacheDir } from './engine-paths.js';
import { silenceNodeVersionNotice } from './silence-node-version-notice.js';

silenceNodeVersionNotice();

export { typeScriptCacheDir };

/** Imports a TypeScript module relative to `fromUrl` (transpiled on load, cached on disk). */
export function importTypeScript(fromUrl, specifier) {
  return createJiti(fromUrl, { fsCache: typeScriptCacheDir() }).import(specifier);
}
