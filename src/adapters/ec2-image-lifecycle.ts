/**
 * The EC2 calls of an AMI's way back and of its protection: re-enabling a revoked AMI (`gild restore`), removing tags,
 * deregistration protection, and what the Recycle Bin holds. Kept apart from ec2.ts: moto has none of the protection
 * and Recycle Bin calls (docs in /work/shared/EMULATOR.md), so these are proven at this seam with aws-sdk-client-mock
 * and the AWS model checks (test/unit/ec2-image-lifecycle.test.ts), and reached only where the target has them.
 */
import type { EC2Client } from '@aws-sdk/client-ec2';
import {
  DeleteTagsCommand,
  DisableImageDeprecationCommand,
  DisableImageDeregistrationProtectionCommand,
  EnableImageCommand,
  EnableImageDeregistrationProtectionCommand,
  ListImagesInRecycleBinCommand,
  RestoreImageFromRecycleBinCommand,
  RestoreSnapshotFromRecycleBinCommand,
  paginateListImagesInRecycleBin,
  paginateListSnapshotsInRecycleBin,
} from '@aws-sdk/client-ec2';
import { awsCall } from './aws-call.ts';

/** Removes tag keys (whatever their values) from resources. */
export async function deleteTagKeys(ec2: EC2Client, resourceIds: readonly string[], keys: readonly string[]): Promise<void> {
  if (resourceIds.length === 0 || keys.length === 0) return;
  await awsCall('untag', resourceIds.join(', '), () => ec2.send(new DeleteTagsCommand({ Resources: [...resourceIds], Tags: keys.map((Key) => ({ Key })) })));
}

/** Launches work again (undoes DisableImage). */
export async function enableImage(ec2: EC2Client, amiId: string): Promise<void> {
  await awsCall('enable', amiId, () => ec2.send(new EnableImageCommand({ ImageId: amiId })));
}

/** The AMI is no longer deprecated (undoes EnableImageDeprecation). */
export async function disableImageDeprecation(ec2: EC2Client, amiId: string): Promise<void> {
  await awsCall('undeprecate', amiId, () => ec2.send(new DisableImageDeprecationCommand({ ImageId: amiId })));
}

/**
 * DeregisterImage refuses the AMI until protection is removed. `WithCooldown` is left out: with it AWS keeps the
 * protection 24 hours after it is disabled, and retirement, which removes it as a planned step right before it
 * deregisters, would be refused for a day.
 */
export async function enableDeregistrationProtection(ec2: EC2Client, amiId: string): Promise<void> {
  await awsCall('protect', amiId, () => ec2.send(new EnableImageDeregistrationProtectionCommand({ ImageId: amiId })));
}

export async function disableDeregistrationProtection(ec2: EC2Client, amiId: string): Promise<void> {
  await awsCall('unprotect', amiId, () => ec2.send(new DisableImageDeregistrationProtectionCommand({ ImageId: amiId })));
}

export interface BinnedImage {
  readonly amiId: string;
  readonly name: string;
  /** When the Recycle Bin deletes it for good. */
  readonly leavesBinAt: string | undefined;
}

/**
 * The AMIs in this region's Recycle Bin whose name starts with `namePrefix` (gild names every AMI
 * `<image>-<version>-<runId>`; the bin keeps no tags to search by). ListImagesInRecycleBin takes no name filter and
 * answers at most 1,000 at once: the SDK's paginator reads every page.
 */
export async function listBinnedImages(ec2: EC2Client, namePrefix: string): Promise<BinnedImage[]> {
  return awsCall('list the Recycle Bin', namePrefix, async () => {
    const found: BinnedImage[] = [];
    for await (const page of paginateListImagesInRecycleBin({ client: ec2, pageSize: 1000 }, {})) {
      for (const image of page.Images ?? []) {
        if (image.ImageId && image.Name?.startsWith(namePrefix)) found.push({ amiId: image.ImageId, name: image.Name, leavesBinAt: image.RecycleBinExitTime?.toISOString() });
      }
    }
    return found;
  });
}

/** Whether the AMI is in this region's Recycle Bin now (a restore's re-check right before it asks for it back). */
export async function imageInBin(ec2: EC2Client, amiId: string): Promise<BinnedImage | undefined> {
  return awsCall('look in the Recycle Bin for', amiId, async () => {
    const answer = await ec2.send(new ListImagesInRecycleBinCommand({ ImageIds: [amiId] }));
    const image = answer.Images?.find((candidate) => candidate.ImageId === amiId);
    return image ? { amiId, name: image.Name ?? '', leavesBinAt: image.RecycleBinExitTime?.toISOString() } : undefined;
  });
}

export interface BinnedSnapshot {
  readonly snapshotId: string;
  readonly description: string;
  readonly leavesBinAt: string | undefined;
}

/**
 * The snapshots in this region's Recycle Bin whose description names one of `amiIds`: EC2 describes the snapshots it
 * makes for an AMI as `Created by CreateImage(i-…) for ami-…` and a copy's as `Copied for DestinationAmi ami-… from …`,
 * and the bin keeps no tags nor any link from an AMI to its snapshots. The SDK's paginator reads every page.
 */
export async function listBinnedSnapshotsOf(ec2: EC2Client, amiIds: readonly string[]): Promise<BinnedSnapshot[]> {
  if (amiIds.length === 0) return [];
  return awsCall('list the Recycle Bin snapshots of', amiIds.join(', '), async () => {
    const found: BinnedSnapshot[] = [];
    for await (const page of paginateListSnapshotsInRecycleBin({ client: ec2, pageSize: 1000 }, {})) {
      for (const snapshot of page.Snapshots ?? []) {
        const description = snapshot.Description ?? '';
        if (snapshot.SnapshotId && amiIds.some((amiId) => new RegExp(`\\b${amiId}\\b`).test(description)))
          found.push({ snapshotId: snapshot.SnapshotId, description, leavesBinAt: snapshot.RecycleBinExitTime?.toISOString() });
      }
    }
    return found;
  });
}

/** Brings a deleted snapshot back from the Recycle Bin (before its AMI: an AMI without its snapshots cannot launch). */
export async function restoreSnapshotFromBin(ec2: EC2Client, snapshotId: string): Promise<void> {
  await awsCall('restore from the Recycle Bin', snapshotId, () => ec2.send(new RestoreSnapshotFromRecycleBinCommand({ SnapshotId: snapshotId })));
}

/** Brings a deregistered AMI back from the Recycle Bin, under its own ID. */
export async function restoreImageFromBin(ec2: EC2Client, amiId: string): Promise<void> {
  await awsCall('restore from the Recycle Bin', amiId, () => ec2.send(new RestoreImageFromRecycleBinCommand({ ImageId: amiId })));
}
