/**
 * How a render reads the project's files: afresh each time (`freshReads`, a single render, `gild render`, a build), or
 * once for a whole set of renders (`sharedReads`, the fingerprints of every image a plan covers). Each answer is the
 * same promise `node:fs/promises` gives, failures included, so a render reading through either behaves alike.
 *
 * NOTE: a fleet renders every image from the same template, partials and plugins file: each image read the partials
 * folder and each file again (about 28 file-system operations an image, 2,800 for 100 images), all on the main thread's
 * event loop while the plan's AWS answers arrived. Each kind of read (text, bytes, listing, status) is made once per
 * file, so every image sees the same answer to it; the kinds are separate reads, so a file edited while the plan is
 * being made can still be seen two ways (as before, when every image read afresh).
 */
import type { Stats } from 'node:fs';
import { lstat, readdir, readFile, readlink, stat } from 'node:fs/promises';

export interface FileReads {
  readText(file: string): Promise<string>;
  /** The file's bytes; `undefined` for a file larger than `maxBytes`, which the caller streams instead. */
  readBytes(file: string, size: number): Promise<Buffer> | undefined;
  readdir(folder: string): Promise<string[]>;
  stat(file: string): Promise<Stats>;
  lstat(file: string): Promise<Stats>;
  readlink(file: string): Promise<string>;
}

/** Files at most this large are kept in memory by `sharedReads` for hashing (templates, partials, scripts); larger ones are streamed each time. */
export const sharedBytesLimit = 1024 * 1024;
/**
 * What `sharedReads` keeps in memory at most, all files together: a fleet whose images upload folders of many small
 * files must not hold them all until the last fingerprint (ten images of 300 MB each would be 3 GB); past it, files are
 * streamed into the hash as a single render does.
 */
export const sharedBytesBudget = 64 * 1024 * 1024;

export const freshReads: FileReads = {
  readText: (file) => readFile(file, 'utf8'),
  readBytes: () => undefined,
  readdir: (folder) => readdir(folder),
  stat: (file) => stat(file),
  lstat: (file) => lstat(file),
  readlink: (file) => readlink(file),
};

/** Reads each file (and folder listing) once, for the renders it is handed to; to be dropped when they are done. */
export function sharedReads(budget = sharedBytesBudget): FileReads {
  const once = <T>(read: (key: string) => Promise<T>) => {
    const answers = new Map<string, Promise<T>>();
    return (key: string): Promise<T> => {
      let answer = answers.get(key);
      if (answer === undefined) {
        answer = read(key);
        // A failure is the caller's to handle, each time it asks; kept, it must not count as unhandled meanwhile.
        answer.catch(() => undefined);
        answers.set(key, answer);
      }
      return answer;
    };
  };
  const bytes = once((file) => readFile(file));
  const kept = new Set<string>();
  let keptBytes = 0;
  const readBytes = (file: string, size: number): Promise<Buffer> | undefined => {
    if (size > sharedBytesLimit) return undefined;
    if (kept.has(file)) return bytes(file);
    if (keptBytes + size > budget) return undefined;
    kept.add(file);
    keptBytes += size;
    return bytes(file);
  };
  return {
    readText: once((file) => readFile(file, 'utf8')),
    readBytes,
    readdir: once((folder) => readdir(folder)),
    stat: once((file) => stat(file)),
    lstat: once((file) => lstat(file)),
    readlink: once((file) => readlink(file)),
  };
}
