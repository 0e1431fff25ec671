import { describe, expect, it } from 'vitest';
import { readPlainData } from '../../src/definition/read-plain-data.ts';

describe('readPlainData', () => {
  it('copies plain data, RegExps included, with no problems', () => {
    const exported = { name: 'web', list: [1, 'two', null, { deep: true }], pattern: /ok/i };
    expect(readPlainData(exported)).toEqual({ value: exported, problems: [] });
  });

  it('names every field that is not plain data, in one pass', () => {
    const loop: Record<string, unknown> = { a: 1 };
    loop.self = loop;
    const exported = {
      promise: Promise.resolve(1),
      when: new Date(0),
      run: () => 1,
      get broken(): string {
        throw new Error('boom');
      },
      loop,
      big: 10n,
      infinite: Number.POSITIVE_INFINITY,
      text: 'half \ud83d pair',
      ...JSON.parse('{"__proto__": {"x": 1}}'),
    };
    expect(readPlainData(exported).problems).toEqual([
      'promise: is a Promise, not plain data. Export the value itself: definitions cannot be async.',
      'when: is a Date object, not plain data. Write an object literal { … } instead.',
      'run: is a function. Write the value itself (definitions are data, evaluated once when the file loads).',
      'broken: its getter threw "boom". Write a plain value instead of a getter.',
      'loop.self: refers back to loop, a cycle. Write the value out; definitions are trees of plain data.',
      'big: is a bigint. Write a string or a number.',
      'infinite: Infinity is not a finite number. Write a number such as 30.',
      'text: contains a lone UTF-16 surrogate (\\ud83d) at position 5, which has no UTF-8 form and would arrive as U+FFFD. Remove it or complete the pair.',
      'the default export: has a "__proto__" key, which JavaScript treats as the object\'s prototype. Rename the key.',
    ]);
  });

  it('keeps a value shared by two fields, which is not a cycle', () => {
    const shared = { team: 'platform' };
    expect(readPlainData({ a: shared, b: shared }).problems).toEqual([]);
  });
});
