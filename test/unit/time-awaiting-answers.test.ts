import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { timeAwaitingAnswers, type CountedCall } from '../support/counting-proxy.ts';

const call = (startedAt: number, ms: number): CountedCall => ({ service: 'ec2', action: 'DescribeImages', startedAt, ms });

describe('time with at least one answer outstanding', () => {
  it('counts overlapping answers once and the gaps between them not at all', () => {
    expect(timeAwaitingAnswers([call(10, 20), call(0, 15), call(50, 5), call(12, 3)])).toBe(35);
    expect(timeAwaitingAnswers([])).toBe(0);
  });

  it('is at most the sum of the answers, at least the longest, and at most the span from first to last', () => {
    fc.assert(
      fc.property(fc.array(fc.record({ startedAt: fc.integer({ min: 0, max: 1000 }), ms: fc.integer({ min: 0, max: 200 }) }), { minLength: 1 }), (spans) => {
        const calls = spans.map((span) => call(span.startedAt, span.ms));
        const awaiting = timeAwaitingAnswers(calls);
        expect(awaiting).toBeLessThanOrEqual(spans.reduce((sum, span) => sum + span.ms, 0));
        expect(awaiting).toBeGreaterThanOrEqual(Math.max(...spans.map((span) => span.ms)));
        expect(awaiting).toBeLessThanOrEqual(Math.max(...spans.map((span) => span.startedAt + span.ms)) - Math.min(...spans.map((span) => span.startedAt)));
      }),
    );
  });
});
