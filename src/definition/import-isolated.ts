/**
 * Imports definition and settings files in a worker thread, one at a time,
 * each under a time limit: a file that loops forever at import time or
 * awaits something that never settles is stopped (the worker is terminated
 * and a fresh one carries on with the other files) and reported by name,
 * instead of hanging gild or making Node exit with code 13.
 */
import path from 'node:path';
import { Worker } from 'node:worker_threads';
import { typeScriptCacheDir } from '../create-typescript-loader.ts';
import { engineFolder, packageRoot } from '../engine-location.ts';

export type ImportOutcome =
  | { readonly kind: 'loaded'; readonly value: unknown; readonly problems: readonly string[] }
  | { readonly kind: 'no-default' }
  | { readonly kind: 'threw'; readonly message: string }
  | { readonly kind: 'timed-out'; readonly timeoutMs: number };

/** Long enough for a cold jiti transform of a large file on a busy CI runner. */
export const defaultImportTimeoutMs = 15_000;

// NOTE: a plain .js file, copied into dist/definition/ by the build, so the same worker serves the sources and the
// compiled engine; found from the package root because the bundled engine runs from dist/bundle/.
const workerPath = path.join(packageRoot, engineFolder, 'definition', 'import-definition-worker.js');

interface LoaderThread {
  readonly worker: Worker;
  next(): Promise<{ kind: string } & Record<string, unknown>>;
}

/** `prefetch`: files the thread imports as soon as it is ready, keeping each outcome until it is asked for. */
function startThread(prefetch: readonly string[] = []): LoaderThread {
  const worker = new Worker(workerPath, { workerData: { cacheDir: typeScriptCacheDir(), prefetch } });
  const queue: ((message: { kind: string } & Record<string, unknown>) => void)[] = [];
  const pending: ({ kind: string } & Record<string, unknown>)[] = [];
  const deliver = (message: { kind: string } & Record<string, unknown>) => {
    const waiter = queue.shift();
    if (waiter) waiter(message);
    else pending.push(message);
  };
  worker.on('message', deliver);
  worker.on('error', (error) => deliver({ kind: 'threw', message: error.message.split('\n')[0] ?? 'unknown error' }));
  worker.on('exit', () => {
    if (sharedThread?.worker === worker) sharedThread = undefined;
    deliver({ kind: 'threw', message: 'the loader stopped unexpectedly' });
  });
  // NOTE: unref'd after the listeners are attached, so an idle warm worker never keeps gild alive.
  worker.unref();
  return {
    worker,
    next: () => new Promise((resolve) => (pending.length > 0 ? resolve(pending.shift()!) : queue.push(resolve))),
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
  if (!sharedThread && !warmThread) warmThread = startThread(prefetch);
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
      const ready = await withTimeout(thread.next(), timeoutMs);
      if (ready === 'timed-out' || ready.kind !== 'ready') {
        await thread.worker.terminate();
        throw new Error(`the definition loader did not start: ${ready === 'timed-out' ? 'timed out' : String(ready.message)}`);
      }
      sharedThread = thread;
    }
    const thread = sharedThread;
    thread.worker.postMessage({ absolutePath });
    const answer = await withTimeout(thread.next(), timeoutMs);
    if (answer === 'timed-out') {
      // NOTE: terminate() stops even a synchronous endless loop; the next file gets a fresh worker.
      sharedThread = undefined;
      await thread.worker.terminate();
      outcomes.push({ kind: 'timed-out', timeoutMs });
    } else outcomes.push(answer as unknown as ImportOutcome);
  }
  return outcomes;
}
