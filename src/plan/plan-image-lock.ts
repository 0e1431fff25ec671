/**
 * Is the image's lock free: a live lease of another run means this run does nothing to the image; a stale one is
 * taken over first (`unlock`). Every change to an image then happens between its `lock` and `release` steps.
 */
import type { ResolvedImage } from '../definition/resolved-image.ts';
import type { LeaseState } from '../observe/inventory.ts';
import { staleLeaseReason } from '../observe/parse-lease.ts';
import type { PlanStep } from './run-plan.ts';

type HeldLease = Extract<LeaseState, { kind: 'held' }>['lease'];

/** A lock held by a run that may still be working: why this run leaves the image alone. */
export function liveLock(lease: LeaseState, now: Date, lockName: string, imageName: string): { reason: string; lease: HeldLease } | undefined {
  if (lease.kind !== 'held' || staleLeaseReason(lease, now) !== undefined) return undefined;
  const { runId, host, pid, takenAt, expiresAt } = lease.lease;
  return {
    lease: lease.lease,
    reason: `run ${runId} (pid ${pid} on ${host}) holds its lock ${lockName} since ${takenAt}; it expires at ${expiresAt} unless renewed. Wait for that run to finish, or if it is gone, run \`gild unlock ${imageName} --yes\``,
  };
}

/** The take-over of a stale lease, when there is one: after the sweeps, before the lock. */
export function unlockStep(image: ResolvedImage, lease: LeaseState, lockName: string, now: Date, sweepIds: readonly string[]): Extract<PlanStep, { kind: 'unlock' }> | undefined {
  if (lease.kind !== 'held') return undefined;
  return {
    id: `unlock:${image.name}`,
    kind: 'unlock',
    image: image.name,
    region: image.buildRegion,
    parameterName: lockName,
    observedValue: lease.raw,
    lease: lease.lease,
    after: [...sweepIds],
    reason: `take over the stale lock: ${staleLeaseReason(lease, now)}`,
    precondition: `${lockName} still holds the stale lease of run ${lease.lease.runId}`,
  };
}

/**
 * Wraps an image's steps in its lock: the lock first (after the unlock, if any), the release last, waiting for every
 * other step of the image. None when the image has nothing to do.
 */
export function withinLock(image: ResolvedImage, lease: LeaseState, lockName: string, lockAfter: readonly string[], planned: readonly PlanStep[]): PlanStep[] {
  if (planned.length === 0) return [];
  const lockStepId = lockStepIdOf(image);
  const steps: PlanStep[] = [
    {
      id: lockStepId,
      kind: 'lock',
      image: image.name,
      region: image.buildRegion,
      parameterName: lockName,
      after: [...lockAfter],
      reason: `every change to ${image.name} happens under its lock, so two runs never build, publish or retire it at once`,
      precondition: `${lockName} is free${lease.kind === 'held' ? ' once the stale lease is removed' : ''}`,
    },
    ...planned,
  ];
  const releaseAfter = steps.filter((step) => step.id !== lockStepId && 'image' in step && step.image === image.name).map((step) => step.id);
  steps.push({
    id: `release:${image.name}`,
    kind: 'release',
    image: image.name,
    region: image.buildRegion,
    parameterName: lockName,
    after: [lockStepId, ...releaseAfter],
    reason: 'give the lock back when the image is done, whatever happened',
    precondition: 'the lock is still ours',
  });
  return steps.sort(byLockFirst(lockStepId));
}

export const lockStepIdOf = (image: Pick<ResolvedImage, 'name'>) => `lock:${image.name}`;

/**
 * A lifecycle command's steps for one image under its lock: the lock (nothing waits before it), the steps, and the
 * release that gives the lock back whatever happened to them.
 */
export function underLock(image: Pick<ResolvedImage, 'name' | 'buildRegion'>, lockName: string, reason: string, inner: readonly PlanStep[]): PlanStep[] {
  const lockId = lockStepIdOf(image);
  return [
    { id: lockId, kind: 'lock', image: image.name, region: image.buildRegion, parameterName: lockName, after: [], reason, precondition: `${lockName} is free` },
    ...inner,
    {
      id: `release:${image.name}`,
      kind: 'release',
      image: image.name,
      region: image.buildRegion,
      parameterName: lockName,
      after: [lockId, ...inner.map((step) => step.id)],
      reason: 'give the lock back, whatever happened',
      precondition: 'the lock is still ours',
    },
  ];
}

/** The unlock step (if any) first, then the lock, then the rest in the order planned. */
function byLockFirst(lockStepId: string) {
  const rank = (step: PlanStep) => (step.kind === 'unlock' ? 0 : step.id === lockStepId ? 1 : 2);
  return (a: PlanStep, b: PlanStep) => rank(a) - rank(b);
}
