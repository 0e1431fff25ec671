/**
 * What happens to an AMI that failed its smoke test: it is marked failed in
 * every region, and (unless the image says `onFailure: 'keep'`) deregistered
 * with its snapshots. Only AMIs this run made are ever deregistered.
 */
import type { Context } from '../context.ts';
import { createTags, deleteSnapshot, deregisterImage, describeImages } from '../adapters/ec2.ts';
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
    if (image.tags['gild:run-id'] !== context.runId) {
      actions.push(`${region}: left ${amiId} alone: it is not tagged gild:run-id=${context.runId}, so this run did not make it`);
      continue;
    }
    // NOTE: snapshot IDs are read before deregistering; afterwards the AMI is gone and so is the mapping.
    const snapshotIds = [...new Set([...image.snapshotIds, ...(run.snapshots[region] ?? [])])];
    await createTags(ec2, [amiId, ...snapshotIds], failureTags);
    actions.push(`${region}: tagged ${[amiId, ...snapshotIds].join(', ')} gild:status=failed`);
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
