import { describe, expect, it } from 'vitest';
import { oneATurn } from '../../src/observe/one-a-turn.ts';

describe('oneATurn', () => {
  it('starts each piece of work a turn of the event loop after the one before it, in the order given', async () => {
    const events: string[] = [];
    const inTurn = oneATurn();
    const work = (name: string) => async () => {
      events.push(`start ${name}`);
      // What the work left for the event loop (an answer arriving, a callback) runs before the next one starts.
      setImmediate(() => events.push(`loop after ${name}`));
      await Promise.resolve();
      return name;
    };
    const answers = await Promise.all([inTurn(work('a')), inTurn(work('b')), inTurn(work('c'))]);
    expect(answers).toEqual(['a', 'b', 'c']);
    expect(events.slice(0, 5)).toEqual(['start a', 'loop after a', 'start b', 'loop after b', 'start c']);
  });

  it('gives each caller its own outcome: a failure does not stop the work after it', async () => {
    const inTurn = oneATurn();
    const failed = inTurn(() => Promise.reject(new Error('denied')));
    const next = inTurn(() => Promise.resolve('read'));
    await expect(failed).rejects.toThrow('denied');
    await expect(next).resolves.toBe('read');
  });
});
