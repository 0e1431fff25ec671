/**
 * The image's lock, as a lease: taken atomically before anything changes
 * the image, renewed while the run works, given back at the end. A run that
 * finds it taken does nothing to the image; a lost renewal stops the image's
 * remaining work.
 */
import { acquireLease, keepLeaseAlive, releaseLease, takeOverLease } from '../apply/lease-pending.ts';
import { WorldMoved, type StepStage } from '../apply/step-stage.ts';
import { describeAwsError } from '../errors.ts';
import { getParameter } from '../adapters/ssm.ts';
import type { Lease } from '../observe/inventory.ts';

/** Long enough to ride out a slow renewal, short enough that a crashed CI runner's lock frees itself soon. */
const leaseTtlMs = 15 * 60_000;
const renewEveryMs = 4 * 60_000;

export function createLockStages(): { lock: StepStage<'lock'>; unlock: StepStage<'unlock'>; release: StepStage<'release'> } {
  const held = new Map<string, { lease: Lease; stop: AbortController; forget: () => void }>();
  return {
    unlock: {
      kind: 'unlock',
      title: (step) => `take over the stale lock of ${step.image}`,
      mutates: true,
      heavy: false,
      async check(context, step) {
        const current = await getParameter(context.clients.ssm(step.region), step.parameterName);
        if (!current) return false;
        return current.value === step.observedValue ? false : `${step.parameterName} changed since the plan: it now holds ${current.value}`;
      },
      async run(context, step, run) {
        const removed = await takeOverLease(context.clients.ssm(step.region), step.parameterName, step.observedValue);
        if (removed !== 'removed') throw new WorldMoved(`${step.parameterName} changed since the plan: it now holds ${removed.moved}`);
        run.logger.warn(`took over the stale lock ${step.parameterName}: ${step.reason}`);
        return { removed: step.observedValue };
      },
    },
    lock: {
      kind: 'lock',
      title: (step) => `lock ${step.image}`,
      mutates: true,
      heavy: false,
      async run(context, step, run) {
        const ssm = context.clients.ssm(step.region);
        const owner = { runId: context.runId, host: context.processInfo.host, pid: context.processInfo.pid };
        const taken = await acquireLease(ssm, step.parameterName, owner, { now: context.now(), ttlMs: leaseTtlMs });
        if ('heldBy' in taken) {
          const holder = typeof taken.heldBy === 'string' ? taken.heldBy : `run ${taken.heldBy.runId} (pid ${taken.heldBy.pid} on ${taken.heldBy.host}) since ${taken.heldBy.takenAt}`;
          throw new WorldMoved(`another run took the lock of ${step.image} first: ${holder}. This run leaves ${step.image} to it.`);
        }
        const stop = new AbortController();
        // A second signal exits without waiting for the release step: the lease is given back then too, if it can be.
        const forget = run.defer(`release the lock ${step.parameterName}`, async () => {
          stop.abort();
          await releaseLease(ssm, step.parameterName, taken.acquired);
        });
        held.set(step.image, { lease: taken.acquired, stop, forget });
        keepLeaseAlive(ssm, step.parameterName, taken.acquired, {
          everyMs: renewEveryMs,
          ttlMs: leaseTtlMs,
          now: context.now,
          signal: stop.signal,
          onLost: run.onLeaseLost,
          onError: (error) => run.logger.warn(`could not renew the lock ${step.parameterName} (will retry): ${describeAwsError(error)}`),
        });
        return { lease: taken.acquired };
      },
    },
    release: {
      kind: 'release',
      title: (step) => `release the lock of ${step.image}`,
      mutates: true,
      heavy: false,
      async run(context, step, run) {
        const entry = held.get(step.image);
        if (!entry) return { released: false };
        entry.stop.abort();
        entry.forget();
        held.delete(step.image);
        const released = await releaseLease(context.clients.ssm(step.region), step.parameterName, entry.lease);
        if (!released) run.logger.warn(`the lock ${step.parameterName} was no longer ours to release`);
        return { released };
      },
    },
  };
}
