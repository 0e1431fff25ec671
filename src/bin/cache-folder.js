// What the two caches whose files are run as code share: the command line's V8 code cache (compiled-code-cache.js,
// run by this folder's entry point) and the definition loader's transform cache (src/definition/content-keyed-transform.js,
// bundled into the loader's worker). Plain JavaScript with Node's built-ins only, so that both can load it as it is.
//
// NOTE: an entry of either cache is executed as gild's own code. In the project's node_modules that is the trust
// node_modules already has (its packages run as code too); a folder named by GILD_TYPESCRIPT_CACHE, or one shared
// between users, may be writable by someone else, who could then run code as whoever runs gild. Such a folder is not
// used: gild runs without the cache (NODE_DEBUG=gild says why).
import { randomBytes } from 'node:crypto';
import { mkdirSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { debuglog } from 'node:util';

/** Prints with NODE_DEBUG=gild. */
export const debug = debuglog('gild');

/**
 * Why the files in `folder` must not be run as code, or undefined when they may be, or when it does not exist (it then
 * has nothing to run). On POSIX it must be owned by this process's user (`user`; or by root) and writable by no one
 * else; where Node has no user ids (Windows) nothing is checked.
 */
export function untrustedFolder(folder, user = typeof process.getuid === 'function' ? process.getuid() : undefined) {
  if (user === undefined) return undefined;
  let stats;
  try {
    stats = statSync(folder);
  } catch (error) {
    return error?.code === 'ENOENT' ? undefined : `${folder} cannot be checked (${error?.code ?? error})`;
  }
  if (stats.uid !== user && stats.uid !== 0) return `${folder} is owned by user ${stats.uid}, not by this process's user ${user} (or root)`;
  if ((stats.mode & 0o022) !== 0) return `${folder} is writable by its group or by others (mode ${(stats.mode & 0o777).toString(8)})`;
  return undefined;
}

/**
 * Makes `folder` (writable by its owner only, whatever the umask, so that the check above accepts what gild made) and
 * says why it must not be used, as untrustedFolder. Throws what mkdir throws.
 */
export function makeTrustedFolder(folder) {
  mkdirSync(folder, { recursive: true, mode: 0o755 });
  return untrustedFolder(folder);
}

/** Errors after which no other file in the same folder can be written either: a writer stops at the first. */
const folderUnwritable = new Set(['EACCES', 'EPERM', 'EROFS', 'ENOSPC', 'EDQUOT']);
export const isFolderUnwritable = (error) => folderUnwritable.has(error?.code);

/**
 * Writes `data` to `file` whole or not at all: into `temporary` (by default beside it, named with random bytes, as
 * the process id alone collides across containers that share the folder), then renamed into place, so that a reader
 * sees the whole file or none. Throws what failed, the temporary file removed.
 */
export function writeWhole(file, data, temporary = `${file}.${process.pid}-${randomBytes(6).toString('hex')}.partial`) {
  try {
    writeFileSync(temporary, data);
    renameSync(temporary, file);
  } catch (error) {
    try {
      rmSync(temporary, { force: true });
    } catch {
      // The folder cannot be written: nothing was left in it either.
    }
    throw error;
  }
}
