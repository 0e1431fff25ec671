/**
 * Imports definition and settings files in a worker thread, one at a time
 * (or, for `gild run` and `gild plan`, fetched ahead in the order they are
 * asked for, see `warmDefinitionLoader`), each under a time limit: a file that loops forever at import time or
 * awaits something that never settles is stopped (the worker is terminated
 * and a fresh one carries on with the other files) and reported by name,
 * instead of hanging gild or making Node exit with code 13.
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { Worker } from 'node:worker_threads';
import { typeScriptCacheDir } from '../typescript-cache.ts';

export type ImportOutcome =
  | { readonly kind: 'loaded'; readonly value: unknown; readonly problems: readonly string[] }
  | { readonly kind: 'no-default' }
  | { readonly kind: 'threw'; readonly message: string; readonly location?: SourceLocation }
  | { readonly kind: 'timed-out'; readonly timeoutMs: number };

/** Where in which file a load failed: a syntax error's line and column, both counted from 1 as editors do. */
export interface SourceLocation {
  readonly absolutePath: string;
  readonly line: number;
  readonly column: number;
}

/** Long enough for a cold jiti transform of a large file on a busy CI runner. */
export const defaultImportTimeoutMs = 15_000;

// NOTE: a plain .js file beside this module in src/definition/ (GILD_ENGINE=source, tests); the build bundles it as an
// entry of its own beside the chunks in dist/bundle/, so the same relative URL finds it from either.
const workerUrl = new URL('./import-definition-worker.js', import.meta.url);

type WorkerMessage = { readonly kind: string } & Record<string, unknown>;

interface LoaderThread {
  readonly worker: Worker;
  /** The thread's first message: `ready`, or why it could not start. */
  readonly ready: Promise<WorkerMessage>;
  /** The outcome of one file: fetched ahead (if its file is unchanged since), or asked for now. */
  outcome(absolutePath: string): Promise<WorkerMessage>;
}

/** What a file holds, to tell an edit since it was fetched ahead (definitions are small: read whole, hashed). */
const stampOf = (absolutePath: string) => {
  try {
    return createHash('sha256').update(readFileSync(absolutePath)).digest('base64');
  } catch {
    return 'absent';
  }
};

/**
 * `prefetch`: files the thread imports one after another as soon as it is ready, posting each outcome as it comes,
 * so that a file asked for later is answered at once. NOTE: posted rather than kept in the thread until asked for: a
 * prefetched file that blocks the thread (an endless loop) must not stop the outcomes of the files before it from
 * arriving, or they would time out in its place. Files are asked for in the order they are fetched ahead, so the file
 * being waited for when the time runs out is the one that hangs. A file whose contents changed since it was fetched
 * ahead (an edit in a long-lived process: tests, a watch) is imported again, whether its outcome came before or after
 * it was asked for; what the file imports in turn is not compared.
 */
function startThread(prefetch: readonly string[] = []): LoaderThread {
  const stamps = new Map(prefetch.map((absolutePath) => [absolutePath, stampOf(absolutePath)]));
  const worker = new Worker(workerUrl, { workerData: { cacheDir: typeScriptCacheDir(), prefetch } });
  const arrived = new Map<string, WorkerMessage>();
  let waiting: { readonly absolutePath: string; readonly resolve: (message: WorkerMessage) => void } | undefined;
  let started: ((message: WorkerMessage) => void) | undefined;
  const ready = new Promise<WorkerMessage>((resolve) => (started = resolve));
  let dead: WorkerMessage | undefined;
  /** The outcome fetched ahead for `absolutePath` is what its file holds now: never asked for again. */
  const unchangedSinceFetched = (absolutePath: string) => {
    const stamp = stamps.get(absolutePath);
    stamps.delete(absolutePath);
    return stamp === undefined || stamp === stampOf(absolutePath);
  };
  const ask = (absolutePath: string) => worker.postMessage({ absolutePath });
  /**
   * The thread failed (it threw outside an import, or exited): whoever waits is answered, and the thread is no
   * longer anyone's, so that the next file gets a fresh one instead of waiting out its time on a dead one.
   */
  const fail = (message: string) => {
    dead ??= { kind: 'threw', message };
    if (sharedThread?.worker === worker) sharedThread = undefined;
    if (warmThread?.worker === worker) warmThread = undefined;
    started?.(dead);
    started = undefined;
    const waiter = waiting;
    waiting = undefined;
    waiter?.resolve(dead);
  };
  worker.on('message', (message: WorkerMessage & { absolutePath?: string; outcome?: WorkerMessage }) => {
    if (message.kind === 'ready') {
      started?.(message);
      started = undefined;
    } else if (message.absolutePath !== undefined && message.outcome !== undefined) {
      if (waiting?.absolutePath !== message.absolutePath) arrived.set(message.absolutePath, message.outcome);
      else if (!unchangedSinceFetched(message.absolutePath)) ask(message.absolutePath);
      else {
        const waiter = waiting;
        waiting = undefined;
        waiter.resolve(message.outcome);
      }
    }
  });
  worker.on('error', (error) => fail(error.message.split('\n')[0] ?? 'unknown error'));
  worker.on('exit', () => fail('the loader stopped unexpectedly'));
  // NOTE: unref'd after the listeners are attached, so an idle warm worker never keeps gild alive.
  worker.unref();
  return {
    worker,
    ready,
    outcome(absolutePath) {
      if (dead) return Promise.resolve(dead);
      const early = arrived.get(absolutePath);
      arrived.delete(absolutePath);
      const beingFetched = early === undefined && stamps.has(absolutePath);
      if (early !== undefined && unchangedSinceFetched(absolutePath)) return Promise.resolve(early);
      return new Promise((resolve) => {
        waiting = { absolutePath, resolve };
        // A file being fetched ahead arrives by itself (and is compared then); any other is asked for.
        if (!beingFetched) ask(absolutePath);
      });
    },
  };
}

function withTimeout<T>(promise: Promise<T>, timeoutMs: number): Promise<T | 'timed-out'> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<'timed-out'>((resolve) => {
    timer = setTimeout(() => resolve('timed-out'), timeoutMs);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

/**
 * One warm worker for the process, so that settings and definitions share a
 * start-up; calls take turns. It is unref'd, so it never keeps gild alive.
 */
let sharedThread: LoaderThread | undefined;
let turn: Promise<unknown> = Promise.resolve();
/** A thread started ahead of the first import (see `warmDefinitionLoader`), not yet known to be ready. */
let warmThread: LoaderThread | undefined;

/**
 * Starts the loader's thread now, so that it loads its TypeScript loader (and imports `prefetch`) while the main
 * thread loads the engine's modules: on a run's path to its first build the two were one after the other. The first
 * import waits for it to be ready (under its time limit) as it would for a thread it started itself; unused, it never
 * keeps gild alive. A prefetched file that hangs times out when it is asked for, as any other.
 */
export function warmDefinitionLoader(prefetch: readonly string[] = []): void {
  if (prefetch.length === 0) {
    if (!sharedThread && !warmThread) warmThread = startThread();
    return;
  }
  // NOTE: what is fetched ahead belongs to the command that asked (its folder, its files as they are now), so a new
  // prefetch starts a thread of its own; one left from an earlier command in this process (a test, a watch) goes.
  void warmThread?.worker.terminate();
  const earlier = sharedThread;
  sharedThread = undefined;
  warmThread = startThread(prefetch);
  void turn.then(() => earlier?.worker.terminate());
}

/** The outcome for each path, in order. */
export function importIsolated(absolutePaths: readonly string[], options: { timeoutMs?: number } = {}): Promise<ImportOutcome[]> {
  const result = turn.then(() => importInTurn(absolutePaths, options.timeoutMs ?? defaultImportTimeoutMs));
  turn = result.catch(() => undefined);
  return result;
}

async function importInTurn(absolutePaths: readonly string[], timeoutMs: number): Promise<ImportOutcome[]> {
  const outcomes: ImportOutcome[] = [];
  for (const absolutePath of absolutePaths) {
    if (!sharedThread) {
      const thread = warmThread ?? startThread();
      warmThread = undefined;
      const ready = await withTimeout(thread.ready, timeoutMs);
      if (ready === 'timed-out' || ready.kind !== 'ready') {
        await thread.worker.terminate();
        throw new Error(`the definition loader did not start: ${ready === 'timed-out' ? 'timed out' : String(ready.message)}`);
      }
      sharedThread = thread;
    }
    const thread = sharedThread;
    const answer = await withTimeout(thread.outcome(absolutePath), timeoutMs);
    if (answer === 'timed-out') {
      // NOTE: terminate() stops even a synchronous endless loop; the next file gets a fresh worker.
      sharedThread = undefined;
      await thread.worker.terminate();
      outcomes.push({ kind: 'timed-out', timeoutMs });
    } else outcomes.push(answer as unknown as ImportOutcome);
  }
  return outcomes;
}
