import { describe, expect, it } from 'vitest';
import type { InstanceSummary } from '../../src/adapters/ec2.ts';
import { selectLeftovers } from '../../src/stages/sweep-leftovers.ts';

const now = new Date('2026-01-01T12:00:00Z');
const instance = (instanceId: string, minutesAgo: number, tags: Record<string, string>, state = 'running'): InstanceSummary => ({
  instanceId,
  state,
  launchedAt: new Date(now.getTime() - minutesAgo * 60_000),
  imageId: 'ami-1',
  tags,
});

describe('selectLeftovers', () => {
  it('selects build and smoke instances of other runs older than the limit, with why', () => {
    const leftovers = selectLeftovers(
      [
        instance('i-old-smoke', 180, { 'gild:role': 'smoke', 'gild:run-id': 'r1' }),
        instance('i-old-build', 121, { 'gild:role': 'build', 'gild:run-id': 'r2' }, 'stopped'),
        instance('i-fresh', 30, { 'gild:role': 'smoke', 'gild:run-id': 'r3' }),
        instance('i-current', 500, { 'gild:role': 'smoke', 'gild:run-id': 'current' }),
        instance('i-other-role', 500, { 'gild:role': 'bastion', 'gild:run-id': 'r4' }),
        instance('i-untagged', 500, {}),
        instance('i-gone', 500, { 'gild:role': 'smoke', 'gild:run-id': 'r5' }, 'shutting-down'),
      ],
      'us-east-1',
      'current',
      now,
      120,
    );
    expect(leftovers.map((leftover) => leftover.instanceId)).toEqual(['i-old-smoke', 'i-old-build']);
    expect(leftovers[0]!.reason).toBe('gild:role=smoke instance from run r1, running for 180 min (longer than sweepAfterMinutes=120)');
  });
});
