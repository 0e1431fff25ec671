// The one engine `gild` runs: the bundle in dist/bundle/ (src/bin/build-engine.js), and whether it was built from the
// sources as they are now. Shared by the entry point (which refuses a stale bundle), the build (which stamps it), the
// test suite's global setup (which builds it once) and the start-up benchmark.
//
// NOTE: decided by content, not modification times: the build writes into dist/.built a SHA-256 of every file
// under src/ and of npm's record of the installed dependencies (node_modules/.package-lock.json, which every install
// rewrites; the bundle holds the dependencies too). A touched but unchanged file, a fresh clone or an npm tarball's
// uniform times change nothing; an edit always shows. Reading ~200 files costs a few milliseconds at start-up.
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { packageRoot } from './engine-paths.js';

/** The bundle's folder and its stamp, below `dist` (the package's dist/ unless a build was told another). */
export const bundlePaths = (dist = path.join(packageRoot, 'dist')) => ({ bundleDir: path.join(dist, 'bundle'), cli: path.join(dist, 'bundle', 'cli.cjs'), stamp: path.join(dist, '.built') });

/** SHA-256 over the sources the bundle is built from (path and content of each file under src/) and the installed dependencies' record. */
export function sourceDigest(root = packageRoot) {
  const hash = createHash('sha256');
  const sources = path.join(root, 'src');
  const files = readdirSync(sources, { recursive: true, withFileTypes: true })
    .filter((entry) => entry.isFile())
    .map((entry) => path.join(entry.parentPath ?? entry.path, entry.name))
    .sort();
  const installed = path.join(root, 'node_modules', '.package-lock.json');
  for (const file of existsSync(installed) ? [...files, installed] : files) {
    hash.update(`${path.relative(root, file)}\0`);
    hash.update(readFileSync(file));
    hash.update('\0');
  }
  return hash.digest('hex');
}

/** The stamp's text: when, and from which sources. */
export const stampText = (digest) => `${JSON.stringify({ builtAt: new Date().toISOString(), sources: digest })}\n`;

/**
 * Whether dist/bundle/ is a finished build of the sources as they are now: `{ stamp }`, the stamp's text as read (the
 * one read: a build started since removes the stamp first, so the caller reads it no second time), or `{ problem }`,
 * why the bundle cannot run as a where/what/fix message.
 */
export function checkBundle(dist) {
  const { cli, stamp } = bundlePaths(dist);
  const fix = 'Run `npm run build` (npm ci runs it), or run the TypeScript sources as they are with `npm run dev -- <command>` or GILD_ENGINE=source.';
  const notBuilt = { problem: `gild: the engine bundle ${path.relative(process.cwd(), cli) || cli} is not built (or its build did not finish). ${fix}` };
  if (!existsSync(cli)) return notBuilt;
  let text;
  try {
    text = readFileSync(stamp, 'utf8');
  } catch {
    return notBuilt;
  }
  let built;
  try {
    built = JSON.parse(text).sources;
  } catch {
    built = undefined;
  }
  if (built !== sourceDigest())
    return {
      problem: `gild: the engine bundle in ${path.dirname(cli)} was built from other sources than ${path.join(packageRoot, 'src')} holds now (or other installed dependencies), so it is not run. ${fix}`,
    };
  return { stamp: text };
}

/** Why the bundle cannot run (checkBundle's problem), or undefined when it is a finished build of the current sources. */
export const bundleProblem = (dist) => checkBundle(dist).problem;
