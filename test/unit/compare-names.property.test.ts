/**
 * compareNames stands in for localeCompare in the plan's and the report's orderings, so that a run need not start ICU's
 * collator: it must order every pair of names exactly as localeCompare does, plain names (lowercase letters, digits,
 * hyphens: where it compares code units) and any other alike.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { compareNames } from '../../src/compare-names.ts';

const plain = fc.string({ unit: fc.constantFrom(...'abcxyz0189-'), maxLength: 8 });
const anything = fc.oneof(plain, fc.string({ unit: fc.constantFrom(...'aAbB0-_.é/ Z'), maxLength: 6 }), fc.string());

describe('compareNames', () => {
  it('orders plain names as localeCompare does', () => {
    fc.assert(
      fc.property(plain, plain, (a, b) => {
        expect(Math.sign(compareNames(a, b))).toBe(Math.sign(a.localeCompare(b, 'en')));
      }),
      { numRuns: 5000 },
    );
  });

  it('orders any other names as localeCompare does', () => {
    fc.assert(
      fc.property(anything, anything, (a, b) => {
        expect(Math.sign(compareNames(a, b))).toBe(Math.sign(a.localeCompare(b, 'en')));
      }),
      { numRuns: 2000 },
    );
  });

  it('sorts names such as AMI IDs, regions and image names as localeCompare sorts them', () => {
    const names = ['web-api', 'web', 'webapi', 'web2', 'ami-0abc', 'ami-09', 'us-east-1', 'us-east-10', 'us-east-2', 'eu-west-1', 'a-b', 'ab', 'Web', 'wéb'];
    expect([...names].sort(compareNames)).toEqual([...names].sort((a, b) => a.localeCompare(b, 'en')));
  });
});
