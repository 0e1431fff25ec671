/** The bundle's folder, its entry point and its stamp, below `dist` (the package's dist/ by default). */
export function bundlePaths(dist?: string): { bundleDir: string; cli: string; stamp: string };
/** SHA-256 over the sources the bundle is built from and the installed dependencies' record. */
export function sourceDigest(root?: string): string;
/** sourceDigest, remembered between starts while no source file's identity changes; `remembered` says whether it was. */
export function rememberedSourceDigest(root?: string, cacheDir?: string, racyMs?: number): { digest: string; remembered: boolean };
/** The stamp's text for a build of `digest`. */
export function stampText(digest: string): string;
/** Why the bundle cannot run (a where/what/fix message), or undefined when it is a finished build of the current sources. */
export function bundleProblem(dist?: string): string | undefined;
/** A finished build of the current sources (the stamp's text, as read once), or why the bundle cannot run. */
export function checkBundle(dist?: string): { stamp: string; problem?: undefined } | { problem: string; stamp?: undefined };
