/**
 * Where the running engine's files are. This module runs from src/ (the TypeScript sources, in tests and through
 * jiti), from dist/ (tsc's output) or from a chunk of dist/bundle/ (the bundle `gild` runs, see
 * src/bin/build-engine.js), so files are found from the package root rather than from this module's folder.
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

function nearestPackageRoot(from: string): string {
  for (let folder = from; ; folder = path.dirname(folder)) {
    if (existsSync(path.join(folder, 'package.json'))) return folder;
    if (path.dirname(folder) === folder) throw new Error(`gild's package.json is not in any folder above ${from}`);
  }
}

/** The folder with gild's package.json: this checkout, or node_modules/gild where a project installed it. */
export const packageRoot = nearestPackageRoot(path.dirname(fileURLToPath(import.meta.url)));

/** `src` when the engine runs as TypeScript, else `dist`: where the definition loader's worker and its modules are. */
export const engineFolder = import.meta.url.endsWith('.ts') ? 'src' : 'dist';
