/**
 * AMIs and their snapshots: the one DescribeImages every question about AMIs goes through, and the verbs that change
 * an AMI's life (deprecate, disable, deregister, delete its snapshots).
 */
import type { EC2Client, Image } from '@aws-sdk/client-ec2';
import {
  DeleteSnapshotCommand,
  DeregisterImageCommand,
  DescribeImagesCommand,
  DisableImageCommand,
  EnableImageDeprecationCommand,
  ModifyImageAttributeCommand,
  paginateDescribeImages,
  paginateDescribeSnapshots,
} from '@aws-sdk/client-ec2';
import { awsCall, awsErrorName } from '../aws-call.ts';
import { chunk, maxFilterValues, tagsToRecord, toSdkFilters, type Ec2Filter } from './client.ts';

/** A volume an AMI launches with. */
export interface ImageVolume {
  readonly device: string;
  readonly snapshotId: string | undefined;
  readonly encrypted: boolean;
  readonly kmsKeyId: string | undefined;
}

/** What gild knows of an AMI: the only shape of an AMI above the adapters. */
export interface ImageSummary {
  readonly amiId: string;
  readonly name: string;
  readonly description: string;
  /** The account that owns it (a shared or public AMI is another account's). */
  readonly ownerId: string | undefined;
  /** `pending`, `available`, `failed`, `disabled`, …; `unknown` when AWS says nothing. */
  readonly state: string;
  /** Why the AMI is in its state (a failed copy's cause), as AWS says it. */
  readonly stateReason: string | undefined;
  readonly createdAt: string;
  /** Whether the deprecation time has passed. */
  readonly deprecated: boolean;
  /** When the AMI is (or was) deprecated, as AWS reports it. */
  readonly deprecationTime: string | undefined;
  readonly volumes: readonly ImageVolume[];
  /** The EBS snapshots behind its volumes. */
  readonly snapshotIds: readonly string[];
  readonly tags: Readonly<Record<string, string>>;
}

/** gild's summary of an AMI as the SDK describes it (for answers other verbs in this folder already hold). */
export function imageSummaryOf(image: Image): ImageSummary {
  const volumes = (image.BlockDeviceMappings ?? []).flatMap((mapping) =>
    mapping.Ebs ? [{ device: mapping.DeviceName ?? '?', snapshotId: mapping.Ebs.SnapshotId, encrypted: mapping.Ebs.Encrypted === true, kmsKeyId: mapping.Ebs.KmsKeyId }] : [],
  );
  return {
    amiId: image.ImageId ?? '',
    name: image.Name ?? '',
    description: image.Description ?? '',
    ownerId: image.OwnerId,
    state: image.State ?? 'unknown',
    stateReason: image.StateReason?.Message,
    createdAt: image.CreationDate ?? '',
    deprecated: image.DeprecationTime !== undefined && Date.parse(image.DeprecationTime) <= Date.now(),
    deprecationTime: image.DeprecationTime,
    volumes,
    snapshotIds: volumes.flatMap((volume) => (volume.snapshotId ? [volume.snapshotId] : [])),
    tags: tagsToRecord(image.Tags),
  };
}

export interface ImageQuery {
  /** These AMIs, whoever owns them. One that no longer exists is absent from the answer, never an error. */
  readonly imageIds?: readonly string[];
  readonly owners?: readonly string[];
  /** A filter with more values than AWS takes in one (200) is asked in batches. */
  readonly filters?: readonly Ec2Filter[];
  /** Default: true when asked by ID (an AMI named outright is wanted in any state), else false, AWS's default. */
  readonly includeDeprecated?: boolean;
  readonly includeDisabled?: boolean;
}

/**
 * The AMIs a query matches, every page. One AMI by ID is asked with `ImageIds` (AWS refuses MaxResults beside it, and
 * fails the whole call for an unknown ID); several by the `image-id` filter, so that one unknown ID hides no other.
 */
export async function describeImages(ec2: EC2Client, query: ImageQuery): Promise<ImageSummary[]> {
  const ids = query.imageIds === undefined ? undefined : [...new Set(query.imageIds)];
  const include = { IncludeDeprecated: query.includeDeprecated ?? ids !== undefined, IncludeDisabled: query.includeDisabled ?? ids !== undefined };
  const filters = [...(query.filters ?? []), ...(ids && ids.length !== 1 ? [{ Name: 'image-id', Values: ids }] : [])];
  // NOTE: a filter without values matches nothing; AWS would refuse it rather than say so.
  if (filters.some((filter) => filter.Values.length === 0)) return [];
  return awsCall('describe images', ids?.join(', ') ?? JSON.stringify(filters), async () => {
    if (ids?.length === 1) {
      try {
        const output = await ec2.send(
          new DescribeImagesCommand({ ImageIds: ids, ...(query.owners ? { Owners: [...query.owners] } : {}), ...(filters.length > 0 ? { Filters: toSdkFilters(filters) } : {}), ...include }),
        );
        return (output.Images ?? []).map(imageSummaryOf);
      } catch (error) {
        // A deregistered AMI is an answer ("it is gone"), not a failure.
        if (awsErrorName(error) === 'InvalidAMIID.NotFound' || awsErrorName(error) === 'InvalidAMIID.Unavailable') return [];
        throw error;
      }
    }
    const images: ImageSummary[] = [];
    for (const batch of filterBatches(filters)) {
      const pages = paginateDescribeImages(
        { client: ec2, pageSize: 1000 },
        { ...(query.owners ? { Owners: [...query.owners] } : {}), ...(batch.length > 0 ? { Filters: toSdkFilters(batch) } : {}), ...include },
      );
      for await (const page of pages) images.push(...(page.Images ?? []).map(imageSummaryOf));
    }
    return images;
  });
}

/** The filters as AWS takes them: the one filter with more than 200 values split into calls of 200. */
function filterBatches(filters: readonly Ec2Filter[]): (readonly Ec2Filter[])[] {
  const wide = filters.findIndex((filter) => filter.Values.length > maxFilterValues);
  if (wide < 0) return [filters];
  return chunk([...new Set(filters[wide]!.Values)], maxFilterValues).map((values) => filters.map((filter, index) => (index === wide ? { Name: filter.Name, Values: values } : filter)));
}

/**
 * Every AMI this account owns that carries `gild:image`, in any state, for all images at once: one paginated read per
 * region, so the cost of observing grows with pages, not with images.
 */
export const allGildImages: ImageQuery = { owners: ['self'], filters: [{ Name: 'tag-key', Values: ['gild:image'] }], includeDeprecated: true, includeDisabled: true };

/**
 * AMIs this account owns whose name matches any of these patterns (`web-*`), in any state, tagged or not: the build
 * step names each AMI `<image>-<version>-<runId>`, so one Packer made but never got to tag is found by name.
 */
export const ownedImagesNamed = (namePatterns: readonly string[]): ImageQuery => ({
  owners: ['self'],
  filters: [{ Name: 'name', Values: namePatterns }],
  includeDeprecated: true,
  includeDisabled: true,
});

/**
 * The AMIs this account owns (any state) that still use any of these snapshots. AWS filters on
 * `block-device-mapping.snapshot-id`; without that filter (the emulator) every owned AMI is read and matched here.
 * Matched here in both cases, so only the snapshots asked about count.
 */
export async function describeImagesUsingSnapshots(ec2: EC2Client, snapshotIds: readonly string[], options: { readonly snapshotFilter: boolean }): Promise<ImageSummary[]> {
  const wanted = new Set(snapshotIds);
  if (wanted.size === 0) return [];
  const owned = await describeImages(ec2, {
    owners: ['self'],
    ...(options.snapshotFilter ? { filters: [{ Name: 'block-device-mapping.snapshot-id', Values: [...wanted] }] } : {}),
    includeDeprecated: true,
    includeDisabled: true,
  });
  return owned.filter((image) => image.snapshotIds.some((snapshotId) => wanted.has(snapshotId)));
}

export async function deregisterImage(ec2: EC2Client, amiId: string): Promise<void> {
  await awsCall('deregister', amiId, async () => {
    try {
      await ec2.send(new DeregisterImageCommand({ ImageId: amiId }));
    } catch (error) {
      // A retry of a deregistration whose answer was lost meets the AMI gone: the outcome we wanted.
      if (awsErrorName(error) === 'InvalidAMIID.NotFound' || awsErrorName(error) === 'InvalidAMIID.Unavailable') return;
      throw error;
    }
  });
}

export async function deleteSnapshot(ec2: EC2Client, snapshotId: string): Promise<void> {
  await awsCall('delete snapshot', snapshotId, async () => {
    try {
      await ec2.send(new DeleteSnapshotCommand({ SnapshotId: snapshotId }));
    } catch (error) {
      // Already gone is the outcome we wanted.
      if (awsErrorName(error) === 'InvalidSnapshot.NotFound') return;
      throw error;
    }
  });
}

export interface SnapshotSummary {
  readonly snapshotId: string;
  readonly startTime: string | undefined;
  readonly tags: Readonly<Record<string, string>>;
}

/** Snapshots this account owns that carry `gild:image`: one paginated read per region. */
export async function describeGildSnapshots(ec2: EC2Client): Promise<SnapshotSummary[]> {
  return awsCall('describe gild snapshots', '(tag-key gild:image)', async () => {
    const snapshots: SnapshotSummary[] = [];
    for await (const page of paginateDescribeSnapshots({ client: ec2, pageSize: 1000 }, { OwnerIds: ['self'], Filters: [{ Name: 'tag-key', Values: ['gild:image'] }] })) {
      for (const snapshot of page.Snapshots ?? []) snapshots.push({ snapshotId: snapshot.SnapshotId ?? '', startTime: snapshot.StartTime?.toISOString(), tags: tagsToRecord(snapshot.Tags) });
    }
    return snapshots;
  });
}

/**
 * Deprecates an AMI as soon as AWS allows: it leaves casual listings, and launches by ID keep working. AWS refuses a
 * `DeprecateAt` in the past and rounds seconds to the nearest minute, so "now" can arrive in the past; the time sent
 * is the first whole minute at least a minute after `now` (see `earliestDeprecationTime`).
 */
export async function enableImageDeprecation(ec2: EC2Client, amiId: string, now: Date): Promise<void> {
  await awsCall('deprecate', amiId, () => ec2.send(new EnableImageDeprecationCommand({ ImageId: amiId, DeprecateAt: earliestDeprecationTime(now) })));
}

/** The first whole minute at least 60 s after `now`: in the future when it arrives, and unchanged by AWS's rounding. */
export function earliestDeprecationTime(now: Date): Date {
  return new Date(Math.ceil((now.getTime() + 60_000) / 60_000) * 60_000);
}

/** Disables an AMI: nobody can launch it any more until it is enabled again. */
export async function disableImage(ec2: EC2Client, amiId: string): Promise<void> {
  await awsCall('disable', amiId, () => ec2.send(new DisableImageCommand({ ImageId: amiId })));
}

/** Setting the same description again changes nothing, so a retry after a lost answer is harmless. */
export async function setImageDescription(ec2: EC2Client, amiId: string, description: string): Promise<void> {
  await awsCall('set the description of', amiId, () => ec2.send(new ModifyImageAttributeCommand({ ImageId: amiId, Description: { Value: description } })));
}
