/**
 * What happens to an AMI that failed its smoke test: it is marked failed in
 * every region, every grant on it and its snapshots is withdrawn, and (unless
 * the image says `onFailure: 'keep'`) it is deregistered with its snapshots.
 * Only AMIs this run made, or this image's of this version (the ones it
 * resumed from an earlier run), are ever touched.
 *
 * NOTE: a failing image is never shared. An AMI this run built was never
 * shared (share runs after a passing smoke test), but one it resumed may have
 * been: an earlier run passed its smoke test, shared it, and stopped before
 * publishing. Marked failed, it is never resumed again either.
 */
import type { Context } from '../context.ts';
import {
  createTags,
  deleteSnapshot,
  deregisterImage,
  describeCreateVolumePermissions,
  describeImages,
  describeLaunchPermissions,
  modifyCreateVolumePermissions,
  modifyLaunchPermissions,
  type ImageSummary,
} from '../adapters/ec2.ts';
import { describeGrantees, isNoChange, launchSharingChange, noSharing, volumeSharingChange } from '../plan/plan-sharing.ts';
import type { ImageRun } from '../stages/stage.ts';

/** Tag values are at most 256 characters. */
export function shortReason(reason: string): string {
  const oneLine = reason.replace(/\s+/g, ' ').trim();
  return oneLine.length <= 256 ? oneLine : `${oneLine.slice(0, 255)}…`;
}

/** Returns what was done, one line per action, for the log and the summary. */
export async function failImage(context: Context, run: ImageRun, reason: string): Promise<string[]> {
  const actions: string[] = [];
  const failureTags = { 'gild:status': 'failed', 'gild:failure': shortReason(reason) };
  for (const [region, amiId] of Object.entries(run.amis)) {
    const ec2 = context.clients.ec2(region);
    const [image] = await describeImages(ec2, { imageIds: [amiId] });
    if (!image) {
      actions.push(`${region}: ${amiId} no longer exists; nothing to mark`);
      continue;
    }
    if (!isThisRunsToFail(context, run, image)) {
      actions.push(`${region}: left ${amiId} alone: it is not tagged gild:run-id=${context.runId}, nor gild:image=${run.image.name} gild:version=${run.version}, so this run did not make or resume it`);
      continue;
    }
    // NOTE: snapshot IDs are read before deregistering; afterwards the AMI is gone and so is the mapping.
    const snapshotIds = [...new Set([...image.snapshotIds, ...(run.snapshots[region] ?? [])])];
    // Marked first: from then on no run resumes it and the share step refuses it, whatever happens next.
    await createTags(ec2, [amiId, ...snapshotIds], failureTags);
    actions.push(`${region}: tagged ${[amiId, ...snapshotIds].join(', ')} gild:status=failed`);
    const withdrawn = await withdrawGrants(ec2, amiId, snapshotIds);
    if (withdrawn.length > 0) actions.push(`${region}: withdrew ${withdrawn.join(', ')} from ${amiId} and its snapshots: a failing image is never shared`);
    if (run.image.smoke.onFailure === 'keep') {
      // The next run's plan keeps an AMI that says why; without it, an unpublished AMI is cleaned up.
      // Kept for a while, not forever: once `gild:keep-until` passes, the next run's plan cleans it up.
      const keepUntil = new Date(context.now().getTime() + context.settings.keepFailedDays * 86_400_000).toISOString();
      await createTags(ec2, [amiId], { 'gild:keep-reason': shortReason(`smoke.onFailure is "keep": ${reason}`), 'gild:keep-until': keepUntil });
      actions.push(`${region}: kept ${amiId} unpublished until ${keepUntil} (smoke.onFailure is "keep", keepFailedDays is ${context.settings.keepFailedDays})`);
      continue;
    }
    await deregisterImage(ec2, amiId);
    for (const snapshotId of snapshotIds) await deleteSnapshot(ec2, snapshotId);
    actions.push(`${region}: deregistered ${amiId}${snapshotIds.length ? ` and deleted ${snapshotIds.join(', ')}` : ''} (smoke.onFailure is "deregister")`);
  }
  return actions;
}

/** Made by this run, or this image's AMI of this version that it resumed from an earlier run. */
function isThisRunsToFail(context: Context, run: ImageRun, image: ImageSummary): boolean {
  if (image.tags['gild:run-id'] === context.runId) return true;
  return image.tags['gild:image'] === run.image.name && image.tags['gild:version'] === run.version;
}

/** Removes every launch and create-volume grant, each from a fresh read; returns who had one, for people. */
async function withdrawGrants(ec2: ReturnType<Context['clients']['ec2']>, amiId: string, snapshotIds: readonly string[]): Promise<string[]> {
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
