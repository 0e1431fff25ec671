import { describe, expect, it } from 'vitest';
import { formatLease, takeoverClaimName } from '../../src/observe/parse-lease.ts';
import { observedTemporaryResourceOf } from '../../src/observe/inventory.ts';
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

describe('planSweep: key pairs left in distribution accounts', () => {
  const run = (id: string) => `20260101T${id}Z-run000`;
  const keyPair = (runId: string, createdAt: string) => ({
    kind: 'key-pair' as const,
    id: `key-${runId}`,
    name: `gild_${runId}-smoke_win`,
    runId,
    image: 'win',
    createdAt,
  });
  const roleArn = 'arn:aws:iam::222222222222:role/gild-dist';
  const lease = (runId: string, ownerAlive: boolean | undefined) => ({
    kind: 'held' as const,
    lease: { runId, host: 'ci', pid: 1, takenAt: minutesAgo(300), expiresAt: new Date(now.getTime() + 600_000).toISOString() },
    raw: '',
    ownerAlive,
  });

  it("deletes a crashed Windows account smoke test's key pair as the account's role, with the building account's verdict", () => {
    const inventory = {
      ...inventoryFixture({ leases: { win: lease(run('070000'), false), other: lease(run('060000'), true) } }),
      accounts: {
        [roleArn]: {
          kind: 'observed' as const,
          account: '222222222222',
          regions: {
            'eu-west-1': {
              parameters: [],
              amis: [],
              temporaryResources: [
                keyPair(run('070000'), minutesAgo(5)), // its run's lock is stale: gone at once
                keyPair(run('080000'), minutesAgo(180)), // no lock, older than the limit
                keyPair(run('090000'), minutesAgo(30)), // no lock, young: kept
                keyPair(run('060000'), minutesAgo(300)), // its run holds a live lock: kept
                keyPair(run('100000'), minutesAgo(300)), // this run's: kept
              ],
            },
          },
        },
      },
    };

    const steps = planSweep({ inventory, runId: run('100000'), now, sweepAfterMinutes: 120, buildRegions: { win: 'us-east-1' } });

    expect(steps.map((step) => step.resource.id)).toEqual([`key-${run('070000')}`, `key-${run('080000')}`]);
    expect(steps[1]).toMatchObject({
      id: `sweep:222222222222:eu-west-1:key-${run('080000')}`,
      region: 'eu-west-1',
      runId: run('080000'),
      resource: { kind: 'key-pair', name: `gild_${run('080000')}-smoke_win` },
      account: { account: '222222222222', roleArn, image: 'win', lockRegion: 'us-east-1' },
    });
    expect(steps[0]!.reason).toContain('its run 20260101T070000Z-run000 is gone: the lock it held is stale');
    expect(steps[1]!.reason).toContain('in account 222222222222: its run 20260101T080000Z-run000 holds no lock and it is 180 min old');
  });
});

describe('observedTemporaryResourceOf', () => {
  it("reads a smoke test's key pair as its run's, so the run's lock decides", () => {
    const resource = observedTemporaryResourceOf({ kind: 'key-pair', id: 'key-1', name: 'gild_20260101T070000Z-run000-smoke_win', createdAt: undefined, tags: {} });
    expect(resource).toMatchObject({ runId: '20260101T070000Z-run000', image: 'win' });
    expect(observedTemporaryResourceOf({ kind: 'key-pair', id: 'key-2', name: 'gild_20260101T070000Z-run000_app', createdAt: undefined, tags: {} })).toMatchObject({
      runId: '20260101T070000Z-run000',
      image: 'app',
    });
  });
});
