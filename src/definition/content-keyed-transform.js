/**
 * The definition loader's transform cache: jiti's TypeScript transform, with its output kept on disk under a key made
 * of everything the output depends on (the source text, every transform option, the file's extension, the
 * transformer's version) instead of the file's path, which is what jiti's own fsCache keys by. The same definition
 * moved to another checkout, a CI job's fresh folder or a test's temporary project is then answered from the cache;
 * with jiti's cache it was transformed again, and a transform loads and runs babel (about 350 ms of CPU more than a
 * hit, in every command that loads definitions).
 *
 * An answer from the cache is never stale or wrong:
 * - Where jiti 2.7's output depends on the path, it writes `import.meta.url`, `.dirname` and `.filename` into the
 *   code as literals (test/unit/definition-transform-cache.test.ts shows it, and that nothing else in a definition
 *   makes the output depend on the path). The output of a source that mentions `import.meta`, or that holds the
 *   file's path, folder or URL, is kept under a key that also holds the whole path (as jiti's own cache keys
 *   everything): answered again at that path only.
 * - Options that are not plain data (a babel plugin given as a function) cannot be keyed: transformed each time.
 * - An error (jiti answers with code that throws `__JITI_ERROR__` and names the file) is never stored.
 * - An entry is written whole to a temporary file and renamed into place, so a reader (several gild processes run at
 *   once) sees a whole entry or none; an entry also ends with a marker, and one without it is a miss.
 * A cache folder that cannot be read or written only costs the transform: nothing is thrown. Entries run as code, so
 * a folder that another user could write (GILD_TYPESCRIPT_CACHE naming a shared one) is not used at all
 * (src/bin/cache-folder.js): every definition is transformed, as without a cache.
 *
 * Bounded: after a store, a folder with more than `maxEntries` entries loses the oldest-written quarter (an entry
 * still in use is written again on its next miss). Temporary files left by a process that died mid-write go after
 * an hour.
 */
import { createHash, randomBytes } from 'node:crypto';
import { readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { threadId } from 'node:worker_threads';
import { debug, makeTrustedFolder, untrustedFolder, writeWhole } from '../bin/cache-folder.js';

/** Entries are `<entryPrefix><key>.js`; other files in the folder (jiti's own cache, in developer mode) are left alone. */
export const entryPrefix = 'gild-transform-';
const temporaryPrefix = '.gild-transform-';
/** Changes when what an entry holds or how it is keyed changes, so that older entries are never read as newer. */
const entryFormat = '1';
const entryEnd = '\n/* gild-transform: whole */\n';
const temporaryFileLifetimeMs = 3600_000;

/** Strings, finite numbers, booleans, null, arrays and plain objects of them (undefined properties count as absent). */
function isPlainData(value) {
  if (value === null || typeof value === 'string' || typeof value === 'boolean') return true;
  if (typeof value === 'number') return Number.isFinite(value);
  if (Array.isArray(value)) return value.every(isPlainData);
  if (typeof value !== 'object') return false;
  const prototype = Object.getPrototypeOf(value);
  return (prototype === Object.prototype || prototype === null) && Object.values(value).every((item) => item === undefined || isPlainData(item));
}

/** One text per value, whatever the order of its keys. */
function canonical(value) {
  if (Array.isArray(value)) return `[${value.map(canonical).join(',')}]`;
  if (value !== null && typeof value === 'object')
    return `{${Object.keys(value)
      .filter((key) => value[key] !== undefined)
      .sort()
      .map((key) => `${JSON.stringify(key)}:${canonical(value[key])}`)
      .join(',')}}`;
  return JSON.stringify(value);
}

/**
 * The entry's key: the source and every option but the file's path, of which only the extension counts (jiti takes
 * TypeScript and TSX from it), or with `atPath` the whole path too. Undefined when an option is not plain data.
 */
function entryKey(version, options, atPath) {
  const { source, filename, ...rest } = options;
  if (typeof source !== 'string' || !isPlainData(rest)) return undefined;
  // NOTE: without a file name jiti writes other code for import.meta (read at run time), so "none" is keyed apart.
  const where = typeof filename !== 'string' ? '(none)' : atPath ? `path ${filename}` : `extension ${path.extname(filename)}`;
  return createHash('sha256')
    .update(`${entryFormat}\0${version}\0${where}\0${canonical(rest)}\0`)
    .update(source)
    .digest('base64url');
}

/** The forms in which a path can appear in transformed code: as written, as a file URL, escaped in a string literal. */
function pathForms(filename) {
  const forms = [];
  // NOTE: a folder of one character ("/") is in any code; a file there still has its path and URL checked.
  for (const form of [filename, path.dirname(filename), pathToFileURL(filename).href, pathToFileURL(path.dirname(filename)).href])
    if (form.length > 1) forms.push(form, JSON.stringify(form).slice(1, -1));
  return forms;
}

/** The output may be different for the same source at another path: kept for this path only. */
function dependsOnPath(options, code) {
  if (options.source.includes('import.meta')) return true;
  return typeof options.filename === 'string' && pathForms(options.filename).some((form) => code.includes(form));
}

function readEntry(file) {
  try {
    const text = readFileSync(file, 'utf8');
    return text.endsWith(entryEnd) ? text.slice(0, -entryEnd.length) : undefined;
  } catch {
    return undefined;
  }
}

function ageMs(file, now) {
  try {
    return now - statSync(file).mtimeMs;
  } catch {
    return -1;
  }
}

/** Removes the oldest quarter once there are more than `maxEntries`, and temporary files older than an hour. */
function prune(cacheDir, maxEntries) {
  let names;
  try {
    names = readdirSync(cacheDir);
  } catch {
    return;
  }
  const now = Date.now();
  const remove = (name) => rmSync(path.join(cacheDir, name), { force: true });
  try {
    for (const name of names) if (name.startsWith(temporaryPrefix) && ageMs(path.join(cacheDir, name), now) > temporaryFileLifetimeMs) remove(name);
    const entries = names.filter((name) => name.startsWith(entryPrefix));
    if (entries.length <= maxEntries) return;
    const oldestFirst = entries.map((name) => ({ name, age: ageMs(path.join(cacheDir, name), now) })).sort((a, b) => b.age - a.age);
    for (const { name } of oldestFirst.slice(0, entries.length - Math.floor((maxEntries * 3) / 4))) remove(name);
  } catch {
    // Another process pruning at the same time, or a folder turned read-only: the next store tries again.
  }
}

/** Writes the entry whole or not at all; a folder that cannot be written is left as it is. Returns what failed. */
function store(cacheDir, file, code, maxEntries) {
  try {
    writeWhole(file, code + entryEnd, path.join(cacheDir, `${temporaryPrefix}${process.pid}-${threadId}-${randomBytes(6).toString('hex')}`));
  } catch (error) {
    return error;
  }
  prune(cacheDir, maxEntries);
  return undefined;
}

/**
 * A `transform` for createJiti: answers from `cacheDir` when it can, else calls `transform` (jiti's own, which loads
 * babel only then) and keeps what it may. `version` names the transformer (jiti's version): another version never
 * reads this one's entries.
 * @param {{ cacheDir: string, version: string, transform: (options: import('jiti').TransformOptions) => { code: string, error?: unknown }, maxEntries?: number }} settings
 * @returns {(options: import('jiti').TransformOptions) => { code: string, error?: unknown }}
 */
export function contentKeyedTransform({ cacheDir, version, transform, maxEntries = 2000 }) {
  const entryFile = (key) => path.join(cacheDir, `${entryPrefix}${key}.js`);
  // NOTE: checked once, at the first transform: 'unchecked', 'missing' (nothing read; made, and checked again, by the
  // next store), 'trusted' (read and written) or 'refused' (everything transformed, nothing read or written).
  let folder = 'unchecked';
  const refuse = (reason) => {
    folder = 'refused';
    debug('the TypeScript transform cache is not used: %s', reason);
  };
  const usable = () => {
    if (folder === 'unchecked') {
      const reason = untrustedFolder(cacheDir);
      if (reason !== undefined) refuse(reason);
      else folder = statSync(cacheDir, { throwIfNoEntry: false }) === undefined ? 'missing' : 'trusted';
    }
    return folder !== 'refused';
  };
  const keep = (file, code) => {
    if (folder === 'missing') {
      let reason;
      try {
        reason = makeTrustedFolder(cacheDir);
      } catch {
        return;
      }
      if (reason !== undefined) {
        refuse(reason);
        return;
      }
      folder = 'trusted';
    }
    // A folder removed since (a cleaned cache) is made again by the next store.
    if (store(cacheDir, file, code, maxEntries)?.code === 'ENOENT') folder = 'missing';
  };
  return (options) => {
    const anywhere = usable() ? entryKey(version, options, false) : undefined;
    if (anywhere === undefined) return transform(options);
    // NOTE: a source that reads import.meta is known to depend on its path before it is transformed; any other may
    // still (its output holds its path), so its entry for this path is looked for when there is none for any path.
    const mentionsMeta = options.source.includes('import.meta');
    const here = typeof options.filename === 'string' ? entryKey(version, options, true) : undefined;
    const cached = folder !== 'trusted' ? undefined : ((mentionsMeta ? undefined : readEntry(entryFile(anywhere))) ?? (here === undefined ? undefined : readEntry(entryFile(here))));
    if (cached !== undefined) return { code: cached };
    const result = transform(options);
    if (result.error !== undefined || result.code.includes('__JITI_ERROR__')) return result;
    if (!dependsOnPath(options, result.code)) keep(entryFile(anywhere), result.code);
    else if (here !== undefined) keep(entryFile(here), result.code);
    return result;
  };
}
