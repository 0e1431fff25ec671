/**
 * Waits the stages share: a pause that something else can end sooner, and an interrupt as a promise.
 */
import { setTimeout as delay } from 'node:timers/promises';

/** Waits `ms` (abortable by `signal`), or less if `settles` settles first; the timer never outlives the wait. */
export async function pauseUnless(ms: number, signal: AbortSignal, settles: Promise<unknown> | undefined): Promise<void> {
  if (!settles) return delay(ms, undefined, { signal });
  const stop = new AbortController();
  const waiting = delay(ms, undefined, { signal: AbortSignal.any([signal, stop.signal]) });
  try {
    await Promise.race([waiting, settles]);
  } finally {
    stop.abort();
    // NOTE: the timer's own rejection once stopped (or aborted) is the race's answer or nothing: never unhandled.
    waiting.catch(() => undefined);
  }
}

/** Resolves when `signal` aborts (never, if it does not). */
export function aborted(signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => (signal.aborted ? resolve() : signal.addEventListener('abort', () => resolve(), { once: true })));
}
