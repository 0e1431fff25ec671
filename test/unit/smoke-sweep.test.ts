import { describe, expect, it } from 'vitest';
import { planSweep } from '../../src/plan/plan-sweep.ts';
import { instance, inventoryFixture } from '../support/inventory-fixture.ts';

const now = new Date('2026-01-01T12:00:00Z');
const minutesAgo = (minutes: number) => new Date(now.getTime() - minutes * 60_000).toISOString();

describe('planSweep: leftover instances', () => {
  it('selects build and smoke instances of other runs older than the limit, with why', () => {
    const inventory = inventoryFixture({
      regions: {
        'us-east-1': {
          instances: [
            instance('i-old-smoke', minutesAgo(180), { 'gild:role': 'smoke', 'gild:run-id': 'r1' }),
            instance('i-old-build', minutesAgo(121), { 'gild:role': 'build', 'gild:run-id': 'r2' }, 'stopped'),
            instance('i-fresh', minutesAgo(30), { 'gild:role': 'smoke', 'gild:run-id': 'r3' }),
            instance('i-current', minutesAgo(500), { 'gild:role': 'smoke', 'gild:run-id': 'current' }),
            instance('i-other-role', minutesAgo(500), { 'gild:role': 'bastion', 'gild:run-id': 'r4' }),
            instance('i-untagged', minutesAgo(500), {}),
            instance('i-gone', minutesAgo(500), { 'gild:role': 'smoke', 'gild:run-id': 'r5' }, 'shutting-down'),
          ],
        },
      },
    });

    const steps = planSweep({ inventory, runId: 'current', now, sweepAfterMinutes: 120 });

    expect(steps.map((step) => step.resource.id)).toEqual(['i-old-smoke', 'i-old-build']);
    expect(steps[0]).toMatchObject({ id: 'sweep:us-east-1:i-old-smoke', region: 'us-east-1', runId: 'r1', after: [] });
    expect(steps[0]!.reason).toBe('terminate leftover smoke instance i-old-smoke (running): its run r1 holds no lock and it is 180 min old (sweepAfterMinutes is 120)');
  });
});
