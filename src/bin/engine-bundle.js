// The one engine `gild` runs: the bundle in dist/bundle/ (src/bin/build-engine.js), and whether it was built from the
// sources as they are now. Shared by the entry point (which refuses a stale bundle), the build (which stamps it), the
// test suite's global setup (which builds it once) and the start-up benchmark.
//
// NOTE: decided by content, not modification times: the build writes into dist/.built a SHA-256 of every file
// under src/ and of npm's record of the installed dependencies (node_modules/.package-lock.json, which every install
// rewrites; the bundle holds the dependencies too). A touched but unchanged file, a fresh clone or an npm tarball's
// uniform times change nothing; an edit always shows. A start reads the ~200 files only when one of them is not what
// it was when their digest was last made (rememberedSourceDigest).
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { debug, isFolderUnwritable, makeTrustedFolder, untrustedFolder, writeWhole } from './cache-folder.js';
import { packageRoot, projectCacheDir } from './engine-paths.js';

/** The bundle's folder and its stamp, below `dist` (the package's dist/ unless a build was told another). */
export const bundlePaths = (dist = path.join(packageRoot, 'dist')) => ({ bundleDir: path.join(dist, 'bundle'), cli: path.join(dist, 'bundle', 'cli.cjs'), stamp: path.join(dist, '.built') });

/** SHA-256 over the sources the bundle is built from (path and content of each file under src/) and the installed dependencies' record. */
export function sourceDigest(root = packageRoot) {
  return digestOf(root, sourceTree(root).files);
}

/**
 * The files sourceDigest reads, in its order (every file under src/, sorted, then npm's record of the installed
 * dependencies when there is one), and the folders under src/ that hold them, src/ included.
 */
function sourceTree(root) {
  const sources = path.join(root, 'src');
  const entries = readdirSync(sources, { recursive: true, withFileTypes: true });
  const pathOf = (entry) => path.join(entry.parentPath ?? entry.path, entry.name);
  const files = entries
    .filter((entry) => entry.isFile())
    .map(pathOf)
    .sort();
  const folders = [sources, ...entries.filter((entry) => entry.isDirectory()).map(pathOf)].sort();
  const installed = installedRecord(root);
  return { files: existsSync(installed) ? [...files, installed] : files, folders };
}

const installedRecord = (root) => path.join(root, 'node_modules', '.package-lock.json');

function digestOf(root, files) {
  const hash = createHash('sha256');
  for (const file of files) {
    hash.update(`${path.relative(root, file)}\0`);
    hash.update(readFileSync(file));
    hash.update('\0');
  }
  return hash.digest('hex');
}

/**
 * A file's or folder's identity: device, inode, size, modification and change times (nanoseconds), and the last time
 * it changed. A file's content cannot change and keep all of them: a write sets the change time, which no user can set
 * back (`utimes` sets it too); nor can a folder's entries (a file added, removed or renamed in it sets its times).
 */
function identityOf(file) {
  const stats = statSync(file, { bigint: true });
  return { identity: `${stats.dev}:${stats.ino}:${stats.size}:${stats.mtimeNs}:${stats.ctimeNs}`, changedMs: Number((stats.ctimeNs > stats.mtimeNs ? stats.ctimeNs : stats.mtimeNs) / 1_000_000n) };
}

/**
 * A file changed this close to when its identity was remembered may have changed again within the same tick of a
 * coarse clock (file systems that keep seconds, or less) without its times showing it: its content is read again.
 */
const defaultRacyMs = 3000;

/**
 * sourceDigest, remembered between starts (~10-15 ms of every command's start-up listing, reading and hashing ~2 MB):
 * the digest is kept in the project's cache with the identity of every file it was made from and of every folder
 * holding them. A start whose files and folders all keep the identities remembered (so no file was added, removed or
 * changed), none changed within `racyMs` before the digest was made, answers the digest remembered after a stat of
 * each; any other lists and reads every file as sourceDigest does and remembers anew. So the check is still decided by
 * content: an edit changes a file's identity, and a touch only makes the content be read again. A cache folder that
 * another user could write is not used (cache-folder.js), nor anything remembered in it.
 */
export function rememberedSourceDigest(root = packageRoot, cacheDir = projectCacheDir('gild-source-digest'), racyMs = defaultRacyMs) {
  // NOTE: the memo trusts the file system's change time and clock; GILD_NO_DIGEST_MEMO reads and hashes every start
  // (docs/internals.md says where the memo cannot be trusted).
  if (process.env.GILD_NO_DIGEST_MEMO) return { digest: sourceDigest(root), remembered: false };
  const memoFile = path.join(cacheDir, 'digest.json');
  // The folder holding it too: a parent others can write lets them put another folder in its place.
  const refused = untrustedFolder(path.dirname(cacheDir)) ?? untrustedFolder(cacheDir);
  if (refused !== undefined) {
    debug('the source digest is not remembered: %s', refused);
    return { digest: sourceDigest(root), remembered: false };
  }
  try {
    const memo = JSON.parse(readFileSync(memoFile, 'utf8'));
    const unchanged = ([name, identity]) => {
      const now = identityOf(path.join(root, name));
      return now.identity === identity && now.changedMs < memo.madeAtMs - racyMs;
    };
    if (
      memo.root === root &&
      typeof memo.digest === 'string' &&
      memo.installed === existsSync(installedRecord(root)) &&
      // src/ itself is always among the folders: a memo without it would vouch for nothing.
      memo.folders.some(([name]) => name === 'src') &&
      memo.folders.every(unchanged) &&
      memo.files.every(unchanged)
    )
      return { digest: memo.digest, remembered: true };
  } catch {
    // Nothing remembered yet, unreadable, or a file remembered is gone: made again below.
  }
  // NOTE: the time is taken before anything is listed or read: a file changed meanwhile is racy next time.
  const madeAtMs = Date.now();
  const { files, folders } = sourceTree(root);
  const remember = (file) => [path.relative(root, file), identityOf(file).identity];
  const memo = { root, madeAtMs, installed: files.at(-1) === installedRecord(root), folders: folders.map(remember), files: files.map(remember) };
  const digest = digestOf(root, files);
  try {
    const refusedNow = makeTrustedFolder(cacheDir);
    if (refusedNow !== undefined) debug('the source digest is not remembered: %s', refusedNow);
    else writeWhole(memoFile, JSON.stringify({ ...memo, digest }));
  } catch (error) {
    debug('the source digest is not remembered: %s', isFolderUnwritable(error) ? error.code : error);
  }
  return { digest, remembered: false };
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
  if (built !== rememberedSourceDigest().digest)
    return {
      problem: `gild: the engine bundle in ${path.dirname(cli)} was built from other sources than ${path.join(packageRoot, 'src')} holds now (or other installed dependencies), so it is not run. ${fix}`,
    };
  return { stamp: text };
}

/** Why the bundle cannot run (checkBundle's problem), or undefined when it is a finished build of the current sources. */
export const bundleProblem = (dist) => checkBundle(dist).problem;
