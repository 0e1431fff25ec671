/** The package root: the folder holding package.json, src/ and dist/. */
export const packageRoot: string;
/** True when dist/ was built from the sources as they are now. */
export function compiledEngineIsCurrent(): boolean;
/** `node_modules/.cache/<name>` of the project gild is installed in, or of this checkout. */
export function projectCacheDir(name: string): string;
