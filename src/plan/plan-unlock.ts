/**
 * `gild unlock`'s plan, pure: from the lock's observed value, either nothing to do (the lock is free), a refusal (a
 * lease whose owner may still be working, without `--force`), or two steps through the same runner as every other
 * change: `unlock` takes the lease over (re-reading it right before: a value that changed since the plan is left
 * alone), then `release` gives it back, which removes it. The take-over is the one a run makes of a stale lease
 * (src/apply/lease.ts `takeOverLease`), so an unlock racing a run, or another unlock, never leaves two holders.
 */
import type { LeaseState } from '../observe/inventory.ts';
import { staleLeaseReason } from '../observe/parse-lease.ts';
import { planSchemaVersion, type RunPlan, type StepOfKind } from './run-plan.ts';

export interface UnlockInput {
  readonly runId: string;
  readonly now: Date;
  readonly image: { readonly name: string; readonly buildRegion: string };
  readonly ssmPrefix: string;
  /** The image's lock parameter (`<prefix>/<image>/lock`, in the build region). */
  readonly parameterName: string;
  /** What the lock held when it was read, and when that was. */
  readonly lease: LeaseState;
  readonly observedAt: string;
  /** `--force`: remove it even while its owner may still be working. */
  readonly force: boolean;
}

export type UnlockPlan =
  /** Nothing holds the lock: the command says so and changes nothing. */
  | { readonly free: string }
  | { readonly refused: string }
  /** `confirm`: what to say when `--yes` is missing, since removing a lock is never done unasked. */
  | { readonly plan: RunPlan; readonly confirm: string };

/** Who holds the lock, in words: a gild lease's run, pid, host and times, or the raw value of anything else. */
export function describeLockHolder(lease: Exclude<LeaseState, { kind: 'free' }>): string {
  if (lease.kind === 'unreadable') return `"${lease.raw}"`;
  const { runId, pid, host, takenAt, expiresAt } = lease.lease;
  return `run ${runId} (pid ${pid} on ${host}, since ${takenAt}, expires ${expiresAt})`;
}

export function planUnlock(input: UnlockInput): UnlockPlan {
  const { image, parameterName, lease } = input;
  if (lease.kind === 'free') return { free: `${image.name} is not locked (${parameterName} does not exist in ${image.buildRegion}).` };
  const holder = describeLockHolder(lease);
  const stale = lease.kind === 'held' ? staleLeaseReason(lease, input.now) : 'it is not a gild lease';
  if (stale === undefined && !input.force) {
    return {
      refused: `${parameterName} is held by ${holder}, which may still be working. Wait for it; if you know it is gone, run \`gild unlock ${image.name} --yes --force\`.`,
    };
  }
  // NOTE: a stale lease is taken over as a run would take it; anything else only because it was asked for by name.
  const breakReason = lease.kind === 'unreadable' ? 'it is not a gild lease, and `gild unlock` was asked to remove it' : stale === undefined ? '--force: its owner may still be working' : undefined;
  const why = stale ?? 'its owner may still be working, and --force says it is gone';
  const unlockId = `unlock:${image.name}`;
  const unlock: StepOfKind<'unlock'> = {
    id: unlockId,
    kind: 'unlock',
    image: image.name,
    region: image.buildRegion,
    parameterName,
    observedValue: lease.raw,
    lease: lease.kind === 'held' ? lease.lease : undefined,
    ...(breakReason ? { breakReason } : {}),
    after: [],
    reason: `remove the lock held by ${holder}: ${why}. It is taken over first, as a run takes over a stale lock, so that no other run or unlock holds it at the same time`,
    precondition: `${parameterName} still holds what was read at ${input.observedAt}`,
  };
  const release: StepOfKind<'release'> = {
    id: `release:${image.name}`,
    kind: 'release',
    image: image.name,
    region: image.buildRegion,
    parameterName,
    after: [unlockId],
    reason: `give the lock back at once, which removes it: the next run of ${image.name} takes it afresh`,
    precondition: 'the lock is still ours',
  };
  return {
    confirm: `${parameterName} is held by ${holder}${stale ? ` (${stale})` : ''}. Run \`gild unlock ${image.name} --yes${input.force ? ' --force' : ''}\` to remove it.`,
    plan: {
      schema: planSchemaVersion,
      runId: input.runId,
      createdAt: input.now.toISOString(),
      ssmPrefix: input.ssmPrefix,
      options: { force: false, images: [image.name] },
      observed: { at: input.observedAt, digests: {} },
      images: [{ image: image.name, action: 'change', reason: `remove ${parameterName} in ${image.buildRegion}, held by ${holder}: ${why}`, currentVersion: undefined }],
      steps: [unlock, release],
      kept: [],
    },
  };
}
