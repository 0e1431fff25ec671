/**
 * Deregisters an AMI, then deletes its snapshots. The snapshot IDs are read
 * from the AMI right before (afterwards the mapping is gone with the AMI), and
 * joined with those the plan named.
 */
import { deleteSnapshot, deregisterImage, describeImages } from '../adapters/ec2.ts';
import type { Context } from '../context.ts';

export async function removeAmi(context: Context, region: string, amiId: string | undefined, plannedSnapshotIds: readonly string[]): Promise<string[]> {
  const ec2 = context.clients.ec2(region);
  const removed: string[] = [];
  const snapshotIds = new Set(plannedSnapshotIds);
  if (amiId) {
    const [ami] = await describeImages(ec2, { imageIds: [amiId] });
    for (const snapshotId of ami?.snapshotIds ?? []) snapshotIds.add(snapshotId);
    if (ami) {
      await deregisterImage(ec2, amiId);
      removed.push(amiId);
    }
  }
  for (const snapshotId of snapshotIds) {
    await deleteSnapshot(ec2, snapshotId);
    removed.push(snapshotId);
  }
  return removed;
}
