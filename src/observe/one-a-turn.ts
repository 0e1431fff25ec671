/**
 * Starts each piece of work it is given a turn of the event loop after the one before it started.
 *
 * NOTE: for work that begins with a stretch of the main thread's time and then waits (an AWS call: the SDK builds,
 * serializes and signs the request before it is sent; a template render): started together, their first stretches
 * interleave step by step (every `await` lets the next one go), so the first request leaves only when all of them are
 * nearly ready, and 100 renders run as one block while answers wait to be read. A turn each lets the first request
 * leave at once and the answers be read between the renders. The work itself, and the order it starts in, is the same.
 */
import { setImmediate as nextTurn } from 'node:timers/promises';

export function oneATurn(): <T>(start: () => Promise<T>) => Promise<T> {
  let previous: Promise<unknown> = Promise.resolve();
  return (start) => {
    const mine = previous.then(() => nextTurn());
    previous = mine;
    return mine.then(start);
  };
}
