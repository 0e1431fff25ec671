/**
 * The take-over argument, checked over interleavings rather than over
 * moto's timing: an in-memory Parameter Store whose every call is released
 * in an order fast-check's scheduler picks, so orders that moto rarely
 * produces (one taker's whole take-over between another's read and delete)
 * are tried on purpose. The same property runs against moto in
 * test/integration/idempotent-ssm-writes.test.ts.
 */
import { DeleteParameterCommand, GetParameterCommand, ParameterAlreadyExists, ParameterNotFound, PutParameterCommand, SSMClient } from '@aws-sdk/client-ssm';
import { mockClient } from 'aws-sdk-client-mock';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { takeOverLease } from '../../src/apply/lease.ts';
import type { Lease } from '../../src/observe/inventory.ts';
import { formatLease, parseLease, takeoverClaimName } from '../../src/observe/parse-lease.ts';

const lockName = '/golden/web/lock';
const stale: Lease = { runId: 'run-dead', host: 'ci-1', pid: 1, takenAt: '2026-11-28T20:00:00.000Z', expiresAt: '2026-11-28T20:10:00.000Z' };
// The takers (pids 100 and up) run on this host; the owners they take over from (pids 1 and 2) are gone.
const timing = { now: () => new Date('2026-11-29T03:00:00.000Z'), ttlMs: 600_000, isPidAlive: (pid: number) => pid >= 100 };

/** Parameter Store in memory: each call acts atomically, at the moment the scheduler releases it. */
function scheduledParameterStore(scheduler: fc.Scheduler, store: Map<string, string>): SSMClient {
  const ssm = new SSMClient({ region: 'us-east-1' });
  const mock = mockClient(ssm);
  const at = async <T>(label: string, act: () => T): Promise<T> => {
    await scheduler.schedule(Promise.resolve(), label);
    return act();
  };
  mock.on(GetParameterCommand).callsFake(({ Name }: { Name: string }) =>
    at(`get ${Name}`, () => {
      const value = store.get(Name);
      if (value === undefined) throw new ParameterNotFound({ message: Name, $metadata: {} });
      return { Parameter: { Name, Value: value, Version: 1 } };
    }),
  );
  mock.on(PutParameterCommand).callsFake(({ Name, Value, Overwrite }: { Name: string; Value: string; Overwrite?: boolean }) =>
    at(`put ${Name}`, () => {
      if (store.has(Name) && !Overwrite) throw new ParameterAlreadyExists({ message: Name, $metadata: {} });
      store.set(Name, Value);
      return { Version: 1 };
    }),
  );
  mock.on(DeleteParameterCommand).callsFake(({ Name }: { Name: string }) =>
    at(`delete ${Name}`, () => {
      if (!store.delete(Name)) throw new ParameterNotFound({ message: Name, $metadata: {} });
      return {};
    }),
  );
  return ssm;
}

describe('takeOverLease under any interleaving', () => {
  it('lets exactly one taker win, leaves its lease in the lock and no claim behind', async () => {
    await fc.assert(
      fc.asyncProperty(fc.scheduler(), fc.integer({ min: 2, max: 4 }), fc.boolean(), async (scheduler, takers, deadClaim) => {
        const store = new Map([[lockName, formatLease(stale)]]);
        // A taker that died holding the claim on this stale value, before it could delete it.
        if (deadClaim) store.set(takeoverClaimName(lockName, formatLease(stale)), formatLease({ ...stale, runId: 'run-died-taking-over', pid: 2 }));
        const ssm = scheduledParameterStore(scheduler, store);
        const outcomes = await scheduler.waitFor(
          Promise.all(Array.from({ length: takers }, (_, index) => takeOverLease(ssm, lockName, formatLease(stale), { runId: `run-${index}`, host: 'ci-1', pid: 100 + index }, timing))),
        );
        const winners = outcomes.flatMap((outcome) => ('acquired' in outcome ? [outcome.acquired] : []));
        expect(winners).toHaveLength(1);
        expect(parseLease(store.get(lockName)!)).toEqual(winners[0]);
        expect([...store.keys()]).toEqual([lockName]);
      }),
      { numRuns: 200 },
    );
  });
});
