/**
 * compareNames stands in for localeCompare in the plan's and the report's orderings, so that a run need not start ICU's
 * collator: it must order every pair of names exactly as localeCompare does, plain names (lowercase letters, digits,
 * hyphens: where it compares code units) and any other alike.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { compareCodeUnits, compareNames } from '../../src/compare-names.ts';
import { compactTimestamp } from '../../src/compact-timestamp.ts';

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

/**
 * compareCodeUnits stands in for localeCompare where the strings are AWS's creation times and gild's run IDs (the newest
 * base a filter matches, the newest resumable build): it must order them by time, as localeCompare happened to.
 */
describe('compareCodeUnits', () => {
  // Four-digit years: what toISOString writes for every date AWS or gild can stamp.
  const instant = fc.date({ min: new Date('1970-01-01T00:00:00.000Z'), max: new Date('9999-12-31T23:59:59.999Z'), noInvalidDate: true });
  const suffix = fc.string({ unit: fc.constantFrom(...'0123456789abcdefghijklmnopqrstuvwxyz'), minLength: 1, maxLength: 6 });

  it('orders ISO-8601 UTC timestamps by time, as localeCompare does', () => {
    fc.assert(
      fc.property(instant, instant, (a, b) => {
        const [isoA, isoB] = [a.toISOString(), b.toISOString()];
        expect(Math.sign(compareCodeUnits(isoA, isoB))).toBe(Math.sign(a.getTime() - b.getTime()));
        expect(Math.sign(compareCodeUnits(isoA, isoB))).toBe(Math.sign(isoA.localeCompare(isoB, 'en')));
      }),
      { numRuns: 3000 },
    );
  });

  it("orders gild's run IDs by the second they were made (then by their suffix), as localeCompare does", () => {
    fc.assert(
      fc.property(instant, suffix, instant, suffix, (a, suffixA, b, suffixB) => {
        const [runA, runB] = [`${compactTimestamp(a)}-${suffixA}`, `${compactTimestamp(b)}-${suffixB}`];
        const seconds = (date: Date) => Math.floor(date.getTime() / 1000);
        // Made in the same second, two runs are told apart by their random suffixes alone.
        expect(Math.sign(compareCodeUnits(runA, runB))).toBe(Math.sign(seconds(a) - seconds(b)) || Math.sign(compareCodeUnits(suffixA, suffixB)));
        expect(Math.sign(compareCodeUnits(runA, runB))).toBe(Math.sign(runA.localeCompare(runB, 'en')));
      }),
      { numRuns: 3000 },
    );
  });
});
