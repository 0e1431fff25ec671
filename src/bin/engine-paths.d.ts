/** The folder with gild's package.json: this checkout, or node_modules/gild where a project installed it. */
export const packageRoot: string;
/** `node_modules/.cache/<name>` of the project gild is installed in, or of this checkout. */
export function projectCacheDir(name: string): string;
/** The TypeScript transform caches' folder: GILD_TYPESCRIPT_CACHE, else the project's `node_modules/.cache/jiti`. */
export function typeScriptCacheDir(): string;
