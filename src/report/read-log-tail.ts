/**
 * The last lines of a failed image's log for the report, read from the end of the file: at most `maxBytes`, never the
 * whole log (a Packer build at debug level, or a provisioner looping, writes hundreds of MiB, and the report is written
 * when the run is over, with every failed image's log at once).
 */
import { open } from 'node:fs/promises';
import { escapeRegExp } from '../escape-regexp.ts';

export interface LogTail {
  readonly lines: string[];
  /** Set when the bound left out some of the lines asked for: how much was read, of how much. */
  readonly cut?: { readonly readBytes: number; readonly logBytes: number };
}

/** The last `lines` lines of `file` found in its last `maxBytes`, whole lines and whole characters only; undefined if there is no such file. */
export async function readLogTail(file: string, options: { readonly lines: number; readonly maxBytes: number }): Promise<LogTail | undefined> {
  let handle;
  try {
    handle = await open(file, 'r');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
  try {
    const logBytes = (await handle.stat()).size;
    // NOTE: one byte more than the bound, before it: a newline there says the window's first line is whole.
    const start = Math.max(0, logBytes - options.maxBytes - 1);
    const window = Buffer.alloc(logBytes - start);
    const { bytesRead } = await handle.read(window, 0, window.length, start);
    return tailOfWindow(window.subarray(0, bytesRead), { start, logBytes, lines: options.lines });
  } finally {
    await handle.close();
  }
}

/**
 * The tail found in the bytes read (`window`, the log's bytes from `start` to its end; read from the middle of the log,
 * its first byte only says whether the next one begins a line). Pure.
 */
export function tailOfWindow(window: Buffer, at: { readonly start: number; readonly logBytes: number; readonly lines: number }): LogTail {
  const wholeLog = at.start === 0;
  const trimmed = window.subarray(0, window.length - trailingNewlines(window));
  // NOTE: read from the middle of the log, what comes before the window's first newline is the end of a longer line:
  // it is left out (a newline is a byte no UTF-8 character holds inside it, so what follows starts at a whole
  // character). A last line longer than the window has no newline to cut at: it is shown from its first whole character.
  const newline = wholeLog ? -1 : trimmed.indexOf(0x0a);
  const from = wholeLog ? 0 : newline >= 0 ? newline + 1 : firstWholeCharacter(trimmed.subarray(1)) + 1;
  const text = trimmed.subarray(from).toString('utf8');
  // A log written with CRLF line ends shows its lines without the carriage return.
  const all = text.trim() === '' ? [] : text.split('\n').map((line) => (line.endsWith('\r') ? line.slice(0, -1) : line));
  const lines = all.slice(-at.lines);
  const partial = !wholeLog && newline < 0;
  if (wholeLog || (all.length >= at.lines && !partial)) return { lines };
  return { lines, cut: { readBytes: window.length - 1, logBytes: at.logBytes } };
}

function trailingNewlines(bytes: Buffer): number {
  let count = 0;
  while (count < bytes.length && bytes[bytes.length - 1 - count] === 0x0a) count++;
  return count;
}

/** The index of the first byte that starts a UTF-8 character (continuation bytes are 10xxxxxx). */
function firstWholeCharacter(bytes: Buffer): number {
  let index = 0;
  while (index < bytes.length && index < 4 && (bytes[index]! & 0xc0) === 0x80) index++;
  return index;
}

/**
 * A failed image's tail, ending where its log says the step failed (`<step id> failed: …` and the details after it),
 * when the lines read hold that: what a build's Packer prints after its AMI was handed on (its cleanup, its
 * post-processors) can come after a smoke test's failure and push its cause out of the last lines. Otherwise the
 * last `keep` lines, as they are. Pure.
 */
export function tailEndingAtFailure(tail: LogTail, failedStep: { readonly kind: string; readonly image: string }, keep: number): LogTail {
  const failure = new RegExp(`^\\S+ \\S+ ${escapeRegExp(`${failedStep.kind}:${failedStep.image}`)}(:\\S+)? failed: `);
  let at = -1;
  for (let index = tail.lines.length - 1; index >= 0 && at < 0; index--) if (failure.test(tail.lines[index]!)) at = index;
  let end = tail.lines.length;
  if (at >= 0) {
    end = at + 1;
    // The details the runner logs under the failure: `<time> <level>   - <detail>`.
    while (end < tail.lines.length && /^\S+ \S+ {3}- /.test(tail.lines[end]!)) end++;
  }
  const lines = tail.lines.slice(Math.max(0, end - keep), end);
  // Cut, as the read said, only when fewer lines than asked are shown for want of what was read.
  return lines.length < keep && tail.cut ? { lines, cut: tail.cut } : { lines };
}
