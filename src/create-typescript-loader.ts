/**
 * The one way the engine loads the organisation's TypeScript (image
 * definitions and `pipeline/settings.ts`): jiti, with its transpile cache in
 * the project's `node_modules/.cache/jiti` rather than the shared temp folder
 * (where a CI runner or a cleaned machine starts cold every time), and `gild`
 * meaning the engine that is loading them, compiled or not.
 */
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { createJiti, type JitiOptions } from 'jiti';
import { packageRoot } from './engine-location.ts';

// NOTE: the entry point beside this module (src/index.ts, dist/index.js, or the bundle's index.js beside its chunks),
// so that a settings file's `gild` is the very engine loading it.
const engineEntry = fileURLToPath(new URL(import.meta.url.endsWith('.ts') ? './index.ts' : './index.js', import.meta.url));

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

export function createTypeScriptLoader(fromUrl: string, options: JitiOptions = {}) {
  return createJiti(fromUrl, { fsCache: typeScriptCacheDir(), alias: { gild: engineEntry }, ...options });
}
