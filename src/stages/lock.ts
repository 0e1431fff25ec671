/**
 * The image's lock, as a lease (src/apply/lease.ts): taken atomically before
 * anything changes the image, renewed while the run works, given back at the
 * end. A run that finds it taken does nothing to the image; a lost renewal
 * stops the image's remaining work. A stale lease (expired, or a dead pid on
 * this host) is taken over by the `unlock` step, which leaves this run
 * holding the lock.
 */
import { acquireLease, keepLeaseAlive, releaseLease, takeOverLease } from '../apply/lease.ts';
import { WorldMoved, type StepRun, type StepStage } from '../apply/step-stage.ts';
import { getParameter } from '../adapters/ssm.ts';
import type { Context } from '../context.ts';
import type { Lease } from '../observe/inventory.ts';
import { leaseTtlMs } from '../observe/parse-lease.ts';

/** A third of the lease: two renewals may fail before it is at risk. */
const renewEveryMs = 5 * 60_000;

const describeHolder = (holder: Lease | string) => (typeof holder === 'string' ? `"${holder}"` : `run ${holder.runId} (pid ${holder.pid} on ${holder.host}) since ${holder.takenAt}`);

export function createLockStages(): { lock: StepStage<'lock'>; unlock: StepStage<'unlock'>; release: StepStage<'release'> } {
  const held = new Map<string, { lease: Lease; stop: AbortController; renewing: Promise<void>; forget: () => void }>();
  const owner = (context: Context) => ({ runId: context.runId, host: context.processInfo.host, pid: context.processInfo.pid, bootId: context.processInfo.bootId, pidNamespace: context.processInfo.pidNamespace });

  /** Keeps the lease alive until the release step (or an exit) gives it back. */
  const hold = (context: Context, image: string, region: string, parameterName: string, lease: Lease, run: StepRun) => {
    const ssm = context.clients.ssm(region);
    const stop = new AbortController();
    const renewing = keepLeaseAlive(ssm, parameterName, lease, { now: context.now, ttlMs: leaseTtlMs, everyMs: renewEveryMs, signal: stop.signal, onLost: run.onLeaseLost });
    // A second signal exits without waiting for the release step: the lease is given back then too, if it can be.
    const forget = run.defer(`release the lock ${parameterName}`, async () => {
      stop.abort();
      await renewing;
      await releaseLease(ssm, parameterName, lease);
    });
    held.set(image, { lease, stop, renewing, forget });
  };

  return {
    unlock: {
      kind: 'unlock',
      // Removes a dead owner's lock, which is what lets this run take it.
      runsWithoutLease: true,
      title: (step) => `take over the stale lock of ${step.image}`,
      mutates: true,
      heavy: false,
      async check(context, step) {
        const current = await getParameter(context.clients.ssm(step.region), step.parameterName);
        if (!current || current.value === step.observedValue) return false;
        return `${step.parameterName} changed since the plan: it now holds ${current.value}`;
      },
      async run(context, step, run) {
        const ssm = context.clients.ssm(step.region);
        const taken = await takeOverLease(ssm, step.parameterName, step.observedValue, owner(context), { now: context.now, ttlMs: leaseTtlMs, isPidAlive: context.processInfo.isPidAlive });
        if ('takingOver' in taken) throw new WorldMoved(`another run is taking over the stale lock of ${step.image} (${describeHolder(taken.takingOver)}); this run leaves ${step.image} to it`);
        if ('heldBy' in taken) throw new WorldMoved(`the lock of ${step.image} is held by ${describeHolder(taken.heldBy)}; this run leaves ${step.image} to it`);
        run.logger.warn(`took over the stale lock ${step.parameterName}: ${step.reason}`);
        hold(context, step.image, step.region, step.parameterName, taken.acquired, run);
        return { removed: step.observedValue };
      },
    },
    lock: {
      kind: 'lock',
      runsWithoutLease: true,
      title: (step) => `lock ${step.image}`,
      mutates: true,
      heavy: false,
      async run(context, step, run) {
        const already = held.get(step.image);
        if (already) return { lease: already.lease };
        const taken = await acquireLease(context.clients.ssm(step.region), step.parameterName, owner(context), { now: context.now, ttlMs: leaseTtlMs });
        if ('heldBy' in taken) throw new WorldMoved(`another run took the lock of ${step.image} first: ${describeHolder(taken.heldBy)}. This run leaves ${step.image} to it.`);
        hold(context, step.image, step.region, step.parameterName, taken.acquired, run);
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
        held.delete(step.image);
        entry.stop.abort();
        await entry.renewing;
        entry.forget();
        const released = await releaseLease(context.clients.ssm(step.region), step.parameterName, entry.lease);
        if (released === 'not-ours') run.logger.warn(`the lock ${step.parameterName} was no longer ours to release`);
        return { released: released === 'released' };
      },
    },
  };
}
