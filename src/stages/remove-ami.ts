/**
 * Deregisters an AMI, then deletes the snapshots the plan named for deletion. The AMI is read right before (afterwards
 * its mapping is gone with it), and only the named snapshots it still has are deleted: a snapshot the plan left out
 * (retirement leaves one that also backs another AMI) stays, whatever the AMI lists, and the log says so. A snapshot
 * left that nothing uses any more is the orphan-snapshot cleanup's (src/plan/plan-leftovers.ts), which checks its users
 * again first; so is one a crash left behind between the deregistration and the deletes.
 */
import { deleteSnapshot, deregisterImage, describeImages, describeImagesUsingSnapshots, type ImageSummary } from '../adapters/ec2.ts';
import type { Context } from '../context.ts';

export async function removeAmi(context: Context, region: string, amiId: string | undefined, plannedSnapshotIds: readonly string[]): Promise<string[]> {
  const ec2 = context.clients.ec2(region);
  const removed: string[] = [];
  const planned = [...new Set(plannedSnapshotIds)];
  let doomed = planned;
  if (amiId) {
    const [ami] = await describeImages(ec2, { imageIds: [amiId] });
    if (ami) {
      const live = new Set(ami.snapshotIds);
      doomed = planned.filter((snapshotId) => live.has(snapshotId));
      const notOwn = planned.filter((snapshotId) => !live.has(snapshotId));
      if (notOwn.length > 0) context.logger.warn(`${notOwn.join(', ')} in ${region}: planned for deletion with ${amiId}, but ${amiId} does not use ${notOwn.length === 1 ? 'it' : 'them'}: left`);
      const unplanned = ami.snapshotIds.filter((snapshotId) => !planned.includes(snapshotId));
      if (unplanned.length > 0)
        context.logger.info(
          `${unplanned.join(', ')} in ${region}: ${amiId} uses ${unplanned.length === 1 ? 'it' : 'them'}, but the plan did not name ${unplanned.length === 1 ? 'it' : 'them'} for deletion (one that also backs another AMI stays): left; the orphan-snapshot cleanup deletes what no AMI uses`,
        );
      await deregisterImage(ec2, amiId);
      removed.push(amiId);
    } else if (planned.length > 0) {
      // NOTE: the AMI is gone (a retry after a crash between its deregistration and these deletes): nothing live says
      // these snapshots were its, so one some AMI uses now stays, as the orphan-snapshot cleanup would leave it.
      const { users, used } = await snapshotsInUse(context, region, planned);
      if (used.length > 0)
        context.logger.warn(
          `${used.join(', ')} in ${region}: ${amiId} is gone, and ${users.map((user) => user.amiId).join(', ')} use${users.length === 1 ? 's' : ''} ${used.length === 1 ? 'it' : 'them'}: left`,
        );
      doomed = planned.filter((snapshotId) => !used.includes(snapshotId));
    }
  }
  for (const snapshotId of doomed) {
    await deleteSnapshot(ec2, snapshotId);
    removed.push(snapshotId);
  }
  return removed;
}

/** Which of these snapshots an AMI uses now (as the target shows AMIs using snapshots), and those AMIs. */
export async function snapshotsInUse(context: Context, region: string, snapshotIds: readonly string[]): Promise<{ users: ImageSummary[]; used: string[] }> {
  const users = await describeImagesUsingSnapshots(context.clients.ec2(region), snapshotIds, { snapshotFilter: context.target.snapshotImageFilter });
  return { users, used: snapshotIds.filter((snapshotId) => users.some((user) => user.snapshotIds.includes(snapshotId))) };
}
