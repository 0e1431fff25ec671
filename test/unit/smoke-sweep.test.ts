import { describe, expect, it } from 'vitest';
import { formatLease, takeoverClaimName } from '../../src/observe/parse-lease.ts';
import { planSweep } from '../../src/plan/plan-sweep.ts';
import { instance, inventoryFixture, parameter } from '../support/inventory-fixture.ts';

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

describe('planSweep: take-over claims left behind', () => {
  const claimOf = (runId: string, takenMinutesAgo: number) =>
    formatLease({ runId, host: 'ci-3', pid: 31, takenAt: minutesAgo(takenMinutesAgo), expiresAt: new Date(Date.parse(minutesAgo(takenMinutesAgo)) + 120_000).toISOString() });
  const staleLock = formatLease({ runId: 'r-dead', host: 'ci-1', pid: 7, takenAt: minutesAgo(200), expiresAt: minutesAgo(185) });

  it('removes a claim (or a claim on a claim) taken longer ago than a lease period, with why, and leaves a younger one', () => {
    const oldClaim = takeoverClaimName('/golden/web/lock', staleLock);
    const claimOnClaim = takeoverClaimName(oldClaim, claimOf('r-taker', 40));
    const youngClaim = takeoverClaimName('/golden/api/lock', staleLock);
    const inventory = inventoryFixture({
      regions: {
        'us-east-1': {
          parameters: [
            parameter('/golden/web/lock', staleLock),
            parameter(oldClaim, claimOf('r-taker', 40)),
            parameter(claimOnClaim, claimOf('r-second', 16)),
            parameter(youngClaim, claimOf('r-now', 14)),
            // Not a claim: a hand-written parameter that only looks like one sits under another name.
            parameter('/golden/web/notes.takeover-1234', 'hello'),
          ],
        },
      },
    });

    const steps = planSweep({ inventory, runId: 'current', now, sweepAfterMinutes: 120 });

    expect(steps.map((step) => step.resource)).toEqual([
      { kind: 'takeover-claim', id: oldClaim, name: oldClaim, value: claimOf('r-taker', 40) },
      { kind: 'takeover-claim', id: claimOnClaim, name: claimOnClaim, value: claimOf('r-second', 16) },
    ]);
    expect(steps[0]).toMatchObject({ id: `sweep:us-east-1:${oldClaim}`, kind: 'sweep', region: 'us-east-1', runId: 'r-taker', after: [], precondition: `${oldClaim} still holds the value observed` });
    expect(steps[0]!.reason).toBe(
      `remove the take-over claim ${oldClaim} left by run r-taker (pid 31 on ci-3): taken 40 min ago, longer than a lease period (15 min), so its take-over ended long ago`,
    );
  });
});
