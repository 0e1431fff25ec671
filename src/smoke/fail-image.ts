/**
 * What a failed smoke test leaves on its AMIs, and what its planned removal withdraws first.
 *
 * The smoke step records its verdict on the AMIs it tested (`markFailed`), as it tags a passed one `tested`: from
 * then on no run resumes them and no share step shares them, whatever happens next. Removing them is not the smoke
 * step's business: the plan holds a `discard` step per region ("if the smoke test fails: remove …", src/stages/discard.ts),
 * checked against live state like any removal. A run that dies in between leaves AMIs tagged `gild:status=failed`,
 * which the next run's plan cleans up (or keeps until `gild:keep-until`, when the image keeps failures).
 *
 * NOTE: a failing image is never shared. An AMI this run built was never shared (share runs after a passing smoke
 * test), but one it resumed may have been: an earlier run passed its smoke test, shared it, and stopped before
 * publishing. The discard step withdraws every grant before it removes or keeps the AMI.
 */
import type { Context } from '../context.ts';
import { createTags, describeCreateVolumePermissions, describeImages, describeLaunchPermissions, modifyCreateVolumePermissions, modifyLaunchPermissions } from '../adapters/ec2.ts';
import type { ResolvedImage } from '../definition/resolved-image.ts';
import type { SmokeResult } from '../stages/stage.ts';
import { describeGrantees, isNoChange, launchSharingChange, noSharing, volumeSharingChange } from '../plan/plan-sharing.ts';

/** Tag values are at most 256 characters. */
export function shortReason(reason: string): string {
  const oneLine = reason.replace(/\s+/g, ' ').trim();
  return oneLine.length <= 256 ? oneLine : `${oneLine.slice(0, 255)}…`;
}

export interface MarkFailed {
  readonly context: Context;
  readonly image: ResolvedImage;
  readonly version: string;
  readonly amis: Readonly<Record<string, string>>;
  readonly snapshots: Readonly<Record<string, readonly string[]>>;
  readonly reason: string;
  /** An AMI already marked failed keeps its own reason (a smoke test failed before Packer's exit said it failed too). */
  readonly keepEarlierFailure?: boolean;
}

/**
 * Tags each AMI and its snapshots `gild:status=failed` with the reason (and, when the image keeps failures, how long it
 * is kept). Only this image's AMIs of this version are marked: what its build made or its resume took over. Returns
 * what was done, one line per region, for the log and the summary.
 */
export async function markFailed({ context, image, version, amis, snapshots, reason, keepEarlierFailure = false }: MarkFailed): Promise<string[]> {
  const actions: string[] = [];
  const keepUntil = new Date(context.now().getTime() + context.settings.keepFailedDays * 86_400_000).toISOString();
  const tags = {
    'gild:status': 'failed',
    'gild:failure': shortReason(reason),
    // The next run's plan keeps an AMI that says why until `gild:keep-until`; without it, an unpublished AMI is cleaned up.
    ...(image.smoke.onFailure === 'keep' ? { 'gild:keep-reason': shortReason(`smoke.onFailure is "keep": ${reason}`), 'gild:keep-until': keepUntil } : {}),
  };
  for (const [region, amiId] of Object.entries(amis)) {
    const [ami] = await describeImages(context.clients.ec2(region), { imageIds: [amiId] });
    if (!ami) {
      actions.push(`${region}: ${amiId} no longer exists; nothing to mark`);
      continue;
    }
    if (ami.tags['gild:image'] !== image.name || ami.tags['gild:version'] !== version) {
      actions.push(`${region}: left ${amiId} alone: it is not tagged gild:image=${image.name} gild:version=${version}, so this run did not make or resume it`);
      continue;
    }
    if (keepEarlierFailure && ami.tags['gild:status'] === 'failed') {
      actions.push(`${region}: ${amiId} is already marked failed (${ami.tags['gild:failure'] ?? 'no reason recorded'}); its reason is kept`);
      continue;
    }
    // NOTE: snapshot IDs are read now; the discard step reads them again, right before it removes anything.
    const snapshotIds = [...new Set([...ami.snapshotIds, ...(snapshots[region] ?? [])])];
    await createTags(context.clients.ec2(region), [amiId, ...snapshotIds], tags);
    actions.push(
      `${region}: tagged ${[amiId, ...snapshotIds].join(', ')} gild:status=failed${image.smoke.onFailure === 'keep' ? ` (kept unpublished until ${keepUntil}: smoke.onFailure is "keep", keepFailedDays is ${context.settings.keepFailedDays})` : ''}`,
    );
  }
  return actions;
}

/** Removes every launch and create-volume grant, each from a fresh read; returns who had one, for people. */
export async function withdrawGrants(ec2: ReturnType<Context['clients']['ec2']>, amiId: string, snapshotIds: readonly string[]): Promise<string[]> {
  const launch = launchSharingChange(noSharing, await describeLaunchPermissions(ec2, amiId));
  if (!isNoChange(launch)) await modifyLaunchPermissions(ec2, amiId, launch);
  const volumes = await Promise.all(
    snapshotIds.map(async (snapshotId) => {
      const change = volumeSharingChange({ accounts: [], groups: [] }, await describeCreateVolumePermissions(ec2, snapshotId));
      if (!isNoChange(change)) await modifyCreateVolumePermissions(ec2, snapshotId, change);
      return change;
    }),
  );
  return [...new Set([...describeGrantees(launch.remove), ...volumes.flatMap((change) => describeGrantees(change.remove))])];
}

/**
 * What a smoke test that did not fail records on its AMIs: `tested` only when a check passed; a smoke test that ran
 * no check (or verified nothing) leaves `untested` with why, publishable but never claimed tested.
 */
export function verdictTags(result: Exclude<SmokeResult, { result: 'failed' | 'timed-out' }>, now: Date): Record<string, string> {
  if (result.result === 'passed') return { 'gild:status': 'tested', 'gild:tested-at': now.toISOString() };
  return { 'gild:status': 'untested', 'gild:smoke-skipped': shortReason(result.reason) };
}
