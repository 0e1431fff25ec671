/**
 * The image's lease as a scope the runner holds around the image's steps: a
 * `takes` row (lock, or unlock for a stale lease) enters it, the runner keeps
 * it renewed while the image's steps work, and the `gives-back` row (release)
 * leaves it. What the runner still holds when it ends (a plan without its
 * release step) is given back then. A lost renewal stops the image's remaining
 * work (`onLost`). The lease itself, in SSM, is `lease.ts`.
 */
import { getParameter } from '../adapters/ssm.ts';
import type { CleanupRegistry } from '../cleanup.ts';
import type { Context } from '../context.ts';
import type { Lease } from '../observe/inventory.ts';
import { leaseTtlMs } from '../observe/parse-lease.ts';
import type { StepOfKind } from '../plan/run-plan.ts';
import { acquireLease, keepLeaseAlive, releaseLease, takeOverLease } from './lease.ts';
import { WorldMoved } from './step-stage.ts';
import type { Logger } from '../logger.ts';

/** A third of the lease: two renewals may fail before it is at risk. */
const renewEveryMs = 5 * 60_000;

export interface LeaseScope {
  /** Takes the image's lease, or answers the one this run already holds. */
  enter(step: StepOfKind<'lock'>): Promise<Lease>;
  /** Takes over a stale lease the plan found (a dead owner's), or any, for a step with `breakReason`: this run holds it afterwards. */
  takeOver(step: StepOfKind<'unlock'>, logger: Logger): Promise<string>;
  /** Gives the lease back; false when this run did not hold it. */
  leave(step: StepOfKind<'release'>, logger: Logger): Promise<boolean>;
  /** Re-reads a stale lock right before taking it over: a string says what changed since the plan. */
  staleLockMoved(step: StepOfKind<'unlock'>): Promise<false | string>;
  /** The end of the runner's work: gives back every lease no step gave back. */
  close(loggerOf: (image: string) => Logger): Promise<void>;
}

const describeHolder = (holder: Lease | string) => (typeof holder === 'string' ? `"${holder}"` : `run ${holder.runId} (pid ${holder.pid} on ${holder.host}) since ${holder.takenAt}`);

export function createLeaseScope(context: Context, options: { readonly cleanups: CleanupRegistry; readonly onLost: (image: string, reason: string) => void }): LeaseScope {
  const held = new Map<string, { lease: Lease; region: string; parameterName: string; stop: AbortController; renewing: Promise<void>; forget: () => void }>();
  const owner = { runId: context.runId, host: context.processInfo.host, pid: context.processInfo.pid, bootId: context.processInfo.bootId, pidNamespace: context.processInfo.pidNamespace };

  /** Keeps the lease alive until it is left (or an exit gives it back). */
  const hold = (image: string, region: string, parameterName: string, lease: Lease) => {
    const ssm = context.clients.ssm(region);
    const stop = new AbortController();
    const renewing = keepLeaseAlive(ssm, parameterName, lease, { now: context.now, ttlMs: leaseTtlMs, everyMs: renewEveryMs, signal: stop.signal, onLost: (reason) => options.onLost(image, reason) });
    // A second signal exits without waiting for the release step: the lease is given back then too, if it can be.
    const forget = options.cleanups.defer(`${image}: release the lock ${parameterName}`, async () => {
      stop.abort();
      await renewing;
      await releaseLease(ssm, parameterName, lease);
    });
    held.set(image, { lease, region, parameterName, stop, renewing, forget });
  };

  const giveBack = async (image: string, logger: Logger): Promise<boolean> => {
    const entry = held.get(image);
    if (!entry) return false;
    held.delete(image);
    entry.stop.abort();
    await entry.renewing;
    entry.forget();
    const released = await releaseLease(context.clients.ssm(entry.region), entry.parameterName, entry.lease);
    if (released === 'not-ours') logger.warn(`the lock ${entry.parameterName} was no longer ours to release`);
    return released === 'released';
  };

  return {
    async enter(step) {
      const already = held.get(step.image);
      if (already) return already.lease;
      const taken = await acquireLease(context.clients.ssm(step.region), step.parameterName, owner, { now: context.now, ttlMs: leaseTtlMs });
      if ('heldBy' in taken) throw new WorldMoved(`another run took the lock of ${step.image} first: ${describeHolder(taken.heldBy)}. This run leaves ${step.image} to it.`);
      hold(step.image, step.region, step.parameterName, taken.acquired);
      return taken.acquired;
    },
    async staleLockMoved(step) {
      const current = await getParameter(context.clients.ssm(step.region), step.parameterName);
      if (!current || current.value === step.observedValue) return false;
      return `${step.parameterName} changed since the plan: it now holds ${current.value}`;
    },
    async takeOver(step, logger) {
      const taken = await takeOverLease(context.clients.ssm(step.region), step.parameterName, step.observedValue, owner, {
        now: context.now,
        ttlMs: leaseTtlMs,
        isPidAlive: context.processInfo.isPidAlive,
        evenIfLive: step.breakReason !== undefined,
      });
      if ('takingOver' in taken) throw new WorldMoved(`another run is taking over the stale lock of ${step.image} (${describeHolder(taken.takingOver)}); this run leaves ${step.image} to it`);
      if ('heldBy' in taken) throw new WorldMoved(`the lock of ${step.image} is held by ${describeHolder(taken.heldBy)}; this run leaves ${step.image} to it`);
      logger.warn(`took over the ${step.breakReason === undefined ? 'stale ' : ''}lock ${step.parameterName}: ${step.reason}`);
      hold(step.image, step.region, step.parameterName, taken.acquired);
      return step.observedValue;
    },
    leave: (step, logger) => giveBack(step.image, logger),
    async close(loggerOf) {
      for (const image of [...held.keys()]) {
        loggerOf(image).warn('no step gave the lock back; the run gives it back as it ends');
        await giveBack(image, loggerOf(image));
      }
    },
  };
}
