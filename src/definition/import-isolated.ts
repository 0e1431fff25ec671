/**
 * Imports definition and settings files in a worker thread, one at a time,
 * each under a time limit: a file that loops forever at import time or
 * awaits something that never settles is stopped (the worker is terminated
 * and a fresh one carries on with the other files) and reported by name,
 * instead of hanging gild or making Node exit with code 13.
 */
import { Worker } from 'node:worker_threads';

export type ImportOutcome =
  | { readonly kind: 'loaded'; readonly value: unknown; readonly problems: readonly string[] }
  | { readonly kind: 'no-default' }
  | { readonly kind: 'threw'; readonly message: string }
  | { readonly kind: 'timed-out'; readonly timeoutMs: number };

/** Long enough for a cold jiti transform of a large file on a busy CI runner. */
export const defaultImportTimeoutMs = 15_000;

const workerUrl = new URL('./import-definition-worker.js', import.meta.url);

interface LoaderThread {
  readonly worker: Worker;
  next(): Promise<{ kind: string } & Record<string, unknown>>;
}

function startThread(): LoaderThread {
  const worker = new Worker(workerUrl);
  // NOTE: an unref'd worker never keeps gild alive by itself.
  worker.unref();
  const queue: ((message: { kind: string } & Record<string, unknown>) => void)[] = [];
  const pending: ({ kind: string } & Record<string, unknown>)[] = [];
  const deliver = (message: { kind: string } & Record<string, unknown>) => {
    const waiter = queue.shift();
    if (waiter) waiter(message);
    else pending.push(message);
  };
  worker.on('message', deliver);
  worker.on('error', (error) => deliver({ kind: 'threw', message: error.message.split('\n')[0] ?? 'unknown error' }));
  worker.on('exit', () => deliver({ kind: 'threw', message: 'the loader stopped unexpectedly' }));
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

/** The outcome for each path, in order. */
export async function importIsolated(absolutePaths: readonly string[], options: { timeoutMs?: number } = {}): Promise<ImportOutcome[]> {
  const timeoutMs = options.timeoutMs ?? defaultImportTimeoutMs;
  const outcomes: ImportOutcome[] = [];
  let thread: LoaderThread | undefined;
  try {
    for (const absolutePath of absolutePaths) {
      if (!thread) {
        thread = startThread();
        const ready = await withTimeout(thread.next(), timeoutMs);
        if (ready === 'timed-out' || ready.kind !== 'ready') throw new Error(`the definition loader did not start: ${ready === 'timed-out' ? 'timed out' : String(ready.message)}`);
      }
      thread.worker.postMessage({ absolutePath });
      const answer = await withTimeout(thread.next(), timeoutMs);
      if (answer === 'timed-out') {
        await thread.worker.terminate();
        thread = undefined;
        outcomes.push({ kind: 'timed-out', timeoutMs });
      } else outcomes.push(answer as unknown as ImportOutcome);
    }
  } finally {
    await thread?.worker.terminate();
  }
  return outcomes;
}
