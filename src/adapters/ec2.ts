/**
 * The EC2 adapter: small verbs over the SDK. Pagination and waiters live here
 * so that stages read as intent. Every call's failure is wrapped with what was
 * being done, keeping the SDK error as `cause`.
 */
import { createHash } from 'node:crypto';
import { setTimeout as delay } from 'node:timers/promises';
import type * as Ec2Sdk from '@aws-sdk/client-ec2';
import type {
  SecurityGroup,
  DescribeInstanceStatusCommandOutput,
  DescribeInstancesCommandOutput,
  EC2Client,
  Filter,
  Image,
  Instance,
  Tag,
} from '@aws-sdk/client-ec2';
// NOTE: imported by name, so that the bundle gild runs (src/bin/build-engine.js) holds only these commands, tree-shaken
// from the SDK's ES modules; the package's entry point, one CommonJS file with every command of the service, was most
// of gild's start-up.
import {
  AuthorizeSecurityGroupIngressCommand,
  CreateSecurityGroupCommand,
  CopyImageCommand,
  CreateTagsCommand,
  RegisterImageCommand,
  DeleteKeyPairCommand,
  DeleteSecurityGroupCommand,
  DeleteSnapshotCommand,
  DeregisterImageCommand,
  DescribeImageAttributeCommand,
  DescribeImagesCommand,
  DescribeKeyPairsCommand,
  DescribeSecurityGroupsCommand,
  DescribeSnapshotAttributeCommand,
  DescribeSubnetsCommand,
  DisableImageCommand,
  EC2Client as Ec2Client,
  EnableImageDeprecationCommand,
  ModifyImageAttributeCommand,
  ModifySnapshotAttributeCommand,
  paginateDescribeFleets,
  paginateDescribeImageReferences,
  paginateDescribeImages,
  paginateDescribeInstances,
  paginateDescribeLaunchTemplates,
  paginateDescribeLaunchTemplateVersions,
  paginateDescribeSecurityGroups,
  paginateDescribeSnapshots,
  paginateDescribeSpotFleetRequests,
  RunInstancesCommand,
  TerminateInstancesCommand,
  waitUntilInstanceRunning,
  waitUntilInstanceStatusOk,
  waitUntilInstanceTerminated,
  waitUntilSystemStatusOk,
} from '@aws-sdk/client-ec2';
import { awsCall, awsError, awsErrorName } from './aws-call.ts';
import { awsClientConfig, nameActionOnErrors } from './aws-client-config.ts';

/**
 * An EC2 client for one region, talking to `endpoint` when one is set (an emulator); `overrides` give another
 * account's credentials (sts.ts) or fewer attempts.
 */
export function createEc2Client(
  region: string,
  endpoint: string | undefined,
  env: Readonly<Record<string, string | undefined>>,
  overrides: Pick<Ec2Sdk.EC2ClientConfig, 'credentials' | 'maxAttempts'> = {},
): EC2Client {
  return nameActionOnErrors(new Ec2Client({ ...awsClientConfig(region, endpoint, env), ...overrides }), 'ec2');
}

export interface ImageSummary {
  readonly amiId: string;
  readonly name: string;
  readonly state: string;
  readonly createdAt: string;
  readonly deprecated: boolean;
  readonly deprecationTime: string | undefined;
  readonly snapshotIds: readonly string[];
  readonly tags: Readonly<Record<string, string>>;
}

export function tagsToRecord(tags: readonly Tag[] | undefined): Record<string, string> {
  return Object.fromEntries((tags ?? []).filter((tag) => tag.Key !== undefined).map((tag) => [tag.Key!, tag.Value ?? '']));
}

export function recordToTags(tags: Readonly<Record<string, string>>): Tag[] {
  return Object.entries(tags).map(([Key, Value]) => ({ Key, Value }));
}

function toSummary(image: Image): ImageSummary {
  return {
    amiId: image.ImageId ?? '',
    name: image.Name ?? '',
    state: image.State ?? 'unknown',
    createdAt: image.CreationDate ?? '',
    deprecated: image.DeprecationTime !== undefined && Date.parse(image.DeprecationTime) <= Date.now(),
    deprecationTime: image.DeprecationTime,
    snapshotIds: (image.BlockDeviceMappings ?? []).flatMap((mapping) => (mapping.Ebs?.SnapshotId ? [mapping.Ebs.SnapshotId] : [])),
    tags: tagsToRecord(image.Tags),
  };
}

export async function describeImages(
  ec2: EC2Client,
  query: { imageIds?: readonly string[]; owners?: readonly string[]; filters?: readonly Filter[]; includeDeprecated?: boolean },
): Promise<ImageSummary[]> {
  return awsCall('describe images', query.imageIds?.join(', ') ?? JSON.stringify(query.filters ?? []), async () => {
    const images: ImageSummary[] = [];
    // NOTE: DescribeImages with explicit ImageIds must not be paginated (AWS rejects MaxResults with ImageIds).
    if (query.imageIds) {
      const output = await ec2.send(new DescribeImagesCommand({ ImageIds: [...query.imageIds], IncludeDeprecated: query.includeDeprecated ?? true }));
      return (output.Images ?? []).map(toSummary);
    }
    const pages = paginateDescribeImages({ client: ec2, pageSize: 1000 }, {
      ...(query.owners ? { Owners: [...query.owners] } : {}),
      ...(query.filters ? { Filters: [...query.filters] } : {}),
      IncludeDeprecated: query.includeDeprecated ?? false,
    });
    for await (const page of pages) images.push(...(page.Images ?? []).map(toSummary));
    return images;
  });
}

export async function createTags(ec2: EC2Client, resourceIds: readonly string[], tags: Readonly<Record<string, string>>): Promise<void> {
  if (resourceIds.length === 0) return;
  await awsCall('tag', resourceIds.join(', '), () => ec2.send(new CreateTagsCommand({ Resources: [...resourceIds], Tags: recordToTags(tags) })));
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

export interface LaunchRequest {
  readonly amiId: string;
  readonly instanceType: string;
  readonly subnetId: string | undefined;
  readonly securityGroupIds: readonly string[];
  readonly instanceProfile: string | undefined;
  readonly userData: string | undefined;
  readonly tags: Readonly<Record<string, string>>;
}

export async function runInstance(ec2: EC2Client, request: LaunchRequest): Promise<string> {
  return awsCall('launch an instance from', request.amiId, async () => {
    const output = await ec2.send(
      new RunInstancesCommand({
        ImageId: request.amiId,
        InstanceType: request.instanceType as never,
        MinCount: 1,
        MaxCount: 1,
        ...(request.subnetId ? { SubnetId: request.subnetId } : {}),
        ...(request.securityGroupIds.length ? { SecurityGroupIds: [...request.securityGroupIds] } : {}),
        ...(request.instanceProfile ? { IamInstanceProfile: request.instanceProfile.startsWith('arn:') ? { Arn: request.instanceProfile } : { Name: request.instanceProfile } } : {}),
        ...(request.userData ? { UserData: Buffer.from(request.userData).toString('base64') } : {}),
        MetadataOptions: { HttpTokens: 'required', HttpEndpoint: 'enabled' },
        TagSpecifications: [
          { ResourceType: 'instance', Tags: recordToTags(request.tags) },
          { ResourceType: 'volume', Tags: recordToTags(request.tags) },
        ],
      }),
    );
    const instanceId = output.Instances?.[0]?.InstanceId;
    if (!instanceId) throw new Error('RunInstances returned no instance');
    return instanceId;
  });
}

export interface InstanceSummary {
  readonly instanceId: string;
  readonly state: string;
  readonly launchedAt: Date | undefined;
  readonly imageId: string;
  readonly tags: Readonly<Record<string, string>>;
}

function toInstanceSummary(instance: Instance): InstanceSummary {
  return {
    instanceId: instance.InstanceId ?? '',
    state: instance.State?.Name ?? 'unknown',
    launchedAt: instance.LaunchTime,
    imageId: instance.ImageId ?? '',
    tags: tagsToRecord(instance.Tags),
  };
}

export async function describeInstances(ec2: EC2Client, filters: readonly Filter[]): Promise<InstanceSummary[]> {
  return awsCall('describe instances', JSON.stringify(filters), async () => {
    const instances: InstanceSummary[] = [];
    for await (const page of paginateDescribeInstances({ client: ec2, pageSize: 1000 }, { Filters: [...filters] })) {
      for (const reservation of page.Reservations ?? []) instances.push(...(reservation.Instances ?? []).map(toInstanceSummary));
    }
    return instances;
  });
}

/** Instance states that still hold an AMI in use (and that a sweep must look at). */
export const liveInstanceStates = ['pending', 'running', 'stopping', 'stopped'];

type WaiterConfiguration = Parameters<typeof waitUntilInstanceRunning>[0];

export type InstanceReadiness = 'running' | 'timed-out' | 'interrupted' | { failed: string };

/** States from which an instance never becomes running on its own. */
const lostInstanceStates = new Set(['shutting-down', 'terminated', 'stopped', 'stopping']);

/**
 * Waits until the instance is running and both its status checks pass, with
 * the SDK's waiters doing the polling, backoff, deadline and abort. The waiters
 * treat some answers as "keep waiting" that gild knows are final (the instance
 * stopped, a status check impaired, AWS refusing the call); those are watched on
 * the way through and end the wait at once, as a value or the wrapped error.
 */
export async function waitForInstanceRunning(ec2: EC2Client, instanceId: string, options: { timeoutMs: number; pollMs?: number; signal: AbortSignal }): Promise<InstanceReadiness> {
  const deadline = Date.now() + options.timeoutMs;
  const stop = new AbortController();
  let final: { failed: string } | { error: unknown } | undefined;
  const end = (outcome: NonNullable<typeof final>) => {
    final ??= outcome;
    stop.abort();
  };
  const watched = watchInstanceAnswers(ec2, (answer) => {
    const lost = instanceStatesIn(answer).find((state) => lostInstanceStates.has(state));
    if (lost) end({ failed: `instance ${instanceId} went to "${lost}" before it was running` });
    else if (impairedIn(answer)) end({ failed: `status checks report impaired for ${instanceId}` });
  }, (error) => end({ error }));
  const signal = AbortSignal.any([options.signal, stop.signal]);
  const input = { InstanceIds: [instanceId] };
  const waits = [
    (config: WaiterConfiguration) => waitUntilInstanceRunning(config, input),
    (config: WaiterConfiguration) => waitUntilInstanceStatusOk(config, { ...input, IncludeAllInstances: true }),
    (config: WaiterConfiguration) => waitUntilSystemStatusOk(config, { ...input, IncludeAllInstances: true }),
  ];
  const seconds = (deadline - Date.now()) / 1000;
  if (seconds <= 0) return 'timed-out';
  // NOTE: the three waits run together, not one after another: on AWS the status checks pass minutes after the
  // instance runs either way, and against an emulator that answers at once each wait in turn cost a round trip before
  // the first check could start. The first to fail stops the others and is the one reported.
  let firstError: unknown;
  const outcomes = await Promise.allSettled(
    waits.map((wait) =>
      wait({ client: watched, abortSignal: signal, maxWaitTime: seconds, ...waiterDelays(options.pollMs ?? 5000, seconds) }).catch((error: unknown) => {
        firstError ??= error;
        stop.abort();
        throw error;
      }),
    ),
  );
  if (outcomes.every((outcome) => outcome.status === 'fulfilled')) return 'running';
  if (final && 'error' in final) throw awsError('wait for running and passing status checks of', instanceId, final.error);
  if (final) return final;
  if (options.signal.aborted) return 'interrupted';
  if ((firstError as Error).name === 'TimeoutError') return 'timed-out';
  throw awsError('wait for running and passing status checks of', instanceId, firstError);
}

/**
 * The waiters count in whole seconds (at least one); gild's poll interval is in
 * ms (GILD_SMOKE_POLL_MS). A constant delay, as before; the SDK needs it below
 * the time left.
 */
function waiterDelays(pollMs: number, secondsLeft: number): { minDelay: number; maxDelay: number } {
  const delay = Math.min(Math.max(1, Math.round(pollMs / 1000)), secondsLeft / 2);
  return { minDelay: delay, maxDelay: delay };
}

/**
 * The same client, except that every answer is shown to `onAnswer` and every
 * error other than "not visible yet" to `onError` before the waiter sees it.
 */
function watchInstanceAnswers(ec2: EC2Client, onAnswer: (answer: unknown) => void, onError: (error: unknown) => void): EC2Client {
  const watched = Object.create(ec2) as EC2Client;
  const send = (async (command: Parameters<EC2Client['send']>[0]) => {
    try {
      const answer: unknown = await ec2.send(command);
      onAnswer(answer);
      return answer;
    } catch (error) {
      // NOTE: right after RunInstances, AWS may not know the ID yet; the waiters retry that, and so do we.
      if (awsErrorName(error) !== 'InvalidInstanceID.NotFound') onError(error);
      throw error;
    }
  }) as unknown as EC2Client['send'];
  watched.send = send;
  return watched;
}

function instanceStatesIn(answer: unknown): string[] {
  const { Reservations, InstanceStatuses } = answer as DescribeInstancesCommandOutput & DescribeInstanceStatusCommandOutput;
  return [
    ...(Reservations ?? []).flatMap((reservation) => (reservation.Instances ?? []).map((instance) => instance.State?.Name ?? '')),
    ...(InstanceStatuses ?? []).map((status) => status.InstanceState?.Name ?? ''),
  ];
}

function impairedIn(answer: unknown): boolean {
  const { InstanceStatuses } = answer as DescribeInstanceStatusCommandOutput;
  return (InstanceStatuses ?? []).some((status) => status.InstanceStatus?.Status === 'impaired' || status.SystemStatus?.Status === 'impaired');
}

export async function terminateInstances(ec2: EC2Client, instanceIds: readonly string[]): Promise<void> {
  if (instanceIds.length === 0) return;
  await awsCall('terminate', instanceIds.join(', '), () => ec2.send(new TerminateInstancesCommand({ InstanceIds: [...instanceIds] })));
}

/** Waits, bounded (10 minutes), until the instance is terminated: only then can its security group go. */
export async function waitForInstanceTerminated(ec2: EC2Client, instanceId: string, signal: AbortSignal): Promise<void> {
  await waitUntilInstanceTerminated({ client: ec2, maxWaitTime: 600, minDelay: 5, maxDelay: 30, abortSignal: signal }, { InstanceIds: [instanceId] });
}

/**
 * Every AMI this account owns that carries `gild:image`, in any state, for all
 * images at once: one paginated read per region, so the cost of observing grows
 * with pages, not with images.
 */
export async function describeAllGildImages(ec2: EC2Client): Promise<ImageSummary[]> {
  return awsCall('describe gild AMIs', '(tag-key gild:image)', async () => {
    const images: ImageSummary[] = [];
    const pages = paginateDescribeImages({ client: ec2, pageSize: 1000 }, {
      Owners: ['self'],
      Filters: [{ Name: 'tag-key', Values: ['gild:image'] }],
      IncludeDeprecated: true,
      IncludeDisabled: true,
    });
    for await (const page of pages) images.push(...(page.Images ?? []).map(toSummary));
    return images;
  });
}

/**
 * AMIs this account owns whose name matches any of these patterns (`web-*`), in any state, tagged or not: the
 * build step names each AMI `<image>-<version>-<runId>`, so one Packer made but never got to tag is found by name.
 */
export async function describeOwnedImagesNamed(ec2: EC2Client, namePatterns: readonly string[]): Promise<ImageSummary[]> {
  if (namePatterns.length === 0) return [];
  return awsCall('describe owned AMIs named', namePatterns.join(', '), async () => {
    const images: ImageSummary[] = [];
    for (const patterns of chunk([...new Set(namePatterns)], maxFilterValues)) {
      const pages = paginateDescribeImages({ client: ec2, pageSize: 1000 }, { Owners: ['self'], Filters: [{ Name: 'name', Values: patterns }], IncludeDeprecated: true, IncludeDisabled: true });
      for await (const page of pages) images.push(...(page.Images ?? []).map(toSummary));
    }
    return images;
  });
}

/** The deprecation time an AMI carries, if any (ImageSummary only says whether it has passed). */
export async function describeImagesRaw(ec2: EC2Client, imageIds: readonly string[]): Promise<Image[]> {
  if (imageIds.length === 0) return [];
  return awsCall('describe images', imageIds.join(', '), async () => {
    try {
      const output = await ec2.send(new DescribeImagesCommand({ ImageIds: [...imageIds], IncludeDeprecated: true, IncludeDisabled: true }));
      return output.Images ?? [];
    } catch (error) {
      // A deregistered AMI is an answer ("it is gone"), not a failure.
      if (awsErrorName(error) === 'InvalidAMIID.NotFound' || awsErrorName(error) === 'InvalidAMIID.Unavailable') return [];
      throw error;
    }
  });
}

export interface TemporaryResourceSummary {
  readonly kind: 'key-pair' | 'security-group';
  readonly id: string;
  readonly name: string;
  readonly createdAt: string | undefined;
  readonly tags: Readonly<Record<string, string>>;
}

/** Key pairs named `gild_*` (Packer's temporary key pair, named by gild) and security groups gild created and tagged. */
export async function describeTemporaryResources(ec2: EC2Client): Promise<TemporaryResourceSummary[]> {
  const [keyPairs, groups] = await Promise.all([
    awsCall('describe key pairs', 'gild_*', () => ec2.send(new DescribeKeyPairsCommand({ Filters: [{ Name: 'key-name', Values: ['gild_*'] }] }))),
    awsCall('describe security groups', '(tag-key gild:run-id)', async () => {
      const found: SecurityGroup[] = [];
      for await (const page of paginateDescribeSecurityGroups({ client: ec2, pageSize: 1000 }, { Filters: [{ Name: 'tag-key', Values: ['gild:run-id'] }] })) found.push(...(page.SecurityGroups ?? []));
      return found;
    }),
  ]);
  return [
    ...(keyPairs.KeyPairs ?? [])
      // NOTE: not every emulator honours the key-name wildcard filter; the name decides.
      .filter((keyPair) => keyPair.KeyName?.startsWith('gild_'))
      .map((keyPair) => ({ kind: 'key-pair' as const, id: keyPair.KeyPairId ?? keyPair.KeyName ?? '', name: keyPair.KeyName ?? '', createdAt: keyPair.CreateTime?.toISOString(), tags: tagsToRecord(keyPair.Tags) })),
    ...groups.map((group) => ({ kind: 'security-group' as const, id: group.GroupId ?? '', name: group.GroupName ?? '', createdAt: undefined, tags: tagsToRecord(group.Tags) })),
  ];
}

/**
 * A security group for one build, created and tagged by gild so that Packer
 * creates none of its own (Packer's `packer_<uuid>` groups carry no tags, so a
 * crashed build's group could never be told apart from someone else's).
 */
export async function createBuildSecurityGroup(
  ec2: EC2Client,
  request: { name: string; description: string; vpcId: string | undefined; ingressPorts: readonly number[]; sourceCidrs: readonly string[]; tags: Readonly<Record<string, string>> },
): Promise<string> {
  return awsCall('create security group', request.name, async () => {
    let groupId: string | undefined;
    try {
      const created = await ec2.send(
        new CreateSecurityGroupCommand({
          GroupName: request.name,
          Description: request.description,
          ...(request.vpcId ? { VpcId: request.vpcId } : {}),
          TagSpecifications: [{ ResourceType: 'security-group', Tags: recordToTags(request.tags) }],
        }),
      );
      groupId = created.GroupId;
    } catch (error) {
      // A lost answer to an applied create: the group is ours if its name and run tag say so.
      if (awsErrorName(error) !== 'InvalidGroup.Duplicate') throw error;
      const existing = await ec2.send(new DescribeSecurityGroupsCommand({ Filters: [{ Name: 'group-name', Values: [request.name] }, ...(request.vpcId ? [{ Name: 'vpc-id', Values: [request.vpcId] }] : [])] }));
      const group = existing.SecurityGroups?.find((candidate) => tagsToRecord(candidate.Tags)['gild:run-id'] === request.tags['gild:run-id']);
      if (!group?.GroupId) throw error;
      groupId = group.GroupId;
    }
    if (!groupId) throw new Error('CreateSecurityGroup returned no group ID');
    if (request.ingressPorts.length > 0) {
      try {
        await ec2.send(
          new AuthorizeSecurityGroupIngressCommand({
            GroupId: groupId,
            IpPermissions: request.ingressPorts.map((port) => ({ IpProtocol: 'tcp', FromPort: port, ToPort: port, IpRanges: request.sourceCidrs.map((CidrIp) => ({ CidrIp })) })),
          }),
        );
      } catch (error) {
        if (awsErrorName(error) !== 'InvalidPermission.Duplicate') throw error;
      }
    }
    return groupId;
  });
}

/** Deletes a security group; gone already is the outcome wanted. */
export async function deleteSecurityGroup(ec2: EC2Client, groupId: string): Promise<void> {
  await awsCall('delete security group', groupId, async () => {
    try {
      await ec2.send(new DeleteSecurityGroupCommand({ GroupId: groupId }));
    } catch (error) {
      if (awsErrorName(error) === 'InvalidGroup.NotFound') return;
      throw error;
    }
  });
}

export async function deleteKeyPair(ec2: EC2Client, keyName: string): Promise<void> {
  await awsCall('delete key pair', keyName, () => ec2.send(new DeleteKeyPairCommand({ KeyName: keyName })));
}

/** The VPC of a subnet (a build security group must live in the build subnet's VPC). */
export async function subnetVpc(ec2: EC2Client, subnetId: string): Promise<string | undefined> {
  const output = await awsCall('describe subnet', subnetId, () => ec2.send(new DescribeSubnetsCommand({ SubnetIds: [subnetId] })));
  return output.Subnets?.[0]?.VpcId;
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
 * The AMIs this account owns (any state) that still use any of these snapshots. AWS filters on
 * `block-device-mapping.snapshot-id`; without that filter (the emulator) every owned AMI is read and matched here.
 * Matched here in both cases, so only the snapshots asked about count.
 */
export async function describeImagesUsingSnapshots(ec2: EC2Client, snapshotIds: readonly string[], options: { readonly snapshotFilter: boolean }): Promise<ImageSummary[]> {
  const wanted = new Set(snapshotIds);
  if (wanted.size === 0) return [];
  const images: ImageSummary[] = [];
  for (const ids of options.snapshotFilter ? chunk([...wanted], maxFilterValues) : [undefined]) {
    await awsCall('describe images using snapshots', [...wanted].join(', '), async () => {
      const pages = paginateDescribeImages({ client: ec2, pageSize: 1000 }, { Owners: ['self'], ...(ids ? { Filters: [{ Name: 'block-device-mapping.snapshot-id', Values: ids }] } : {}), IncludeDeprecated: true, IncludeDisabled: true });
      for await (const page of pages) images.push(...(page.Images ?? []).map(toSummary).filter((image) => image.snapshotIds.some((snapshotId) => wanted.has(snapshotId))));
    });
  }
  return images;
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

/** AWS takes at most 200 values in one filter. */
const maxFilterValues = 200;

function chunk<T>(items: readonly T[], size: number): T[][] {
  const chunks: T[][] = [];
  for (let start = 0; start < items.length; start += size) chunks.push(items.slice(start, start + size));
  return chunks;
}

export interface OwnedImageSummary extends ImageSummary {
  /** When the AMI is (or was) deprecated, as AWS reports it. */
  readonly deprecationTime: string | undefined;
}

/**
 * The given AMIs, by ID, in any state (deprecated and disabled too). An AMI that no longer exists is simply absent:
 * asked by `image-id` filter rather than `ImageIds`, which fails the whole call for one unknown ID.
 */
export async function describeImagesById(ec2: EC2Client, amiIds: readonly string[]): Promise<OwnedImageSummary[]> {
  const images: OwnedImageSummary[] = [];
  for (const ids of chunk([...new Set(amiIds)], maxFilterValues)) {
    await awsCall('describe images', ids.join(', '), async () => {
      const pages = paginateDescribeImages({ client: ec2, pageSize: 1000 }, { Filters: [{ Name: 'image-id', Values: ids }], IncludeDeprecated: true, IncludeDisabled: true });
      for await (const page of pages) images.push(...(page.Images ?? []).map((image) => ({ ...toSummary(image), deprecationTime: image.DeprecationTime })));
    });
  }
  return images;
}

/** Every instance state but `terminated` still holds its AMI in use (a stopped instance starts again from it). */
export const nonTerminatedInstanceStates = ['pending', 'running', 'shutting-down', 'stopping', 'stopped'];

/** Instances in any state but terminated launched from any of the given AMIs; one filter per 200 AMIs. */
export async function describeInstancesUsingImages(ec2: EC2Client, amiIds: readonly string[]): Promise<InstanceSummary[]> {
  const instances: InstanceSummary[] = [];
  for (const ids of chunk([...new Set(amiIds)], maxFilterValues)) {
    instances.push(...(await describeInstances(ec2, [{ Name: 'image-id', Values: ids }, { Name: 'instance-state-name', Values: nonTerminatedInstanceStates }])));
  }
  return instances;
}

export interface LaunchTemplateVersionSummary {
  readonly templateId: string;
  readonly templateName: string;
  readonly versionNumber: number;
  /** The AMI with `resolve:ssm:` aliases resolved where AWS resolves them; a literal `resolve:ssm:…` where it does not. */
  readonly imageId: string | undefined;
  readonly isDefault: boolean;
  readonly isLatest: boolean;
}

/**
 * Every version of every launch template in the region, not only `$Latest`
 * and `$Default`: an Auto Scaling group or a team's script may launch any
 * version by number.
 */
export async function describeAllLaunchTemplateVersions(ec2: EC2Client): Promise<LaunchTemplateVersionSummary[]> {
  return awsCall('describe', 'launch template versions', async () => {
    const summaries: LaunchTemplateVersionSummary[] = [];
    for await (const page of paginateDescribeLaunchTemplates({ client: ec2, pageSize: 200 }, {})) {
      for (const template of page.LaunchTemplates ?? []) {
        const versions = paginateDescribeLaunchTemplateVersions({ client: ec2, pageSize: 200 }, { LaunchTemplateId: template.LaunchTemplateId, ResolveAlias: true });
        for await (const versionPage of versions) {
          for (const version of versionPage.LaunchTemplateVersions ?? []) {
            summaries.push({
              templateId: template.LaunchTemplateId ?? '',
              templateName: template.LaunchTemplateName ?? template.LaunchTemplateId ?? '',
              versionNumber: version.VersionNumber ?? 0,
              imageId: version.LaunchTemplateData?.ImageId,
              isDefault: version.DefaultVersion ?? version.VersionNumber === template.DefaultVersionNumber,
              isLatest: version.VersionNumber === template.LatestVersionNumber,
            });
          }
        }
      }
    }
    return summaries;
  });
}

/** What an EC2 Fleet or a Spot Fleet request launches from: AMIs named outright, and launch templates (by ID or name, and version). */
export interface FleetLaunchUse {
  /** `EC2 Fleet fleet-…` or `Spot Fleet request sfr-…`. */
  readonly fleet: string;
  readonly images: readonly { readonly amiId: string; readonly via: string }[];
  readonly launchTemplates: readonly { readonly id: string | undefined; readonly name: string | undefined; readonly version: string | undefined }[];
}

/**
 * Every EC2 Fleet and Spot Fleet request that may still launch instances (not deleted, cancelled or failed): their
 * launch specifications, launch template overrides and launch templates. A fleet of type `maintain` replaces
 * instances from them at any time, so an AMI they name is in use even while no instance runs it.
 */
export async function describeFleetLaunchUses(ec2: EC2Client): Promise<FleetLaunchUse[]> {
  const uses: FleetLaunchUse[] = [];
  const templateOf = (specification: { LaunchTemplateId?: string | undefined; LaunchTemplateName?: string | undefined; Version?: string | undefined } | undefined) =>
    specification ? [{ id: specification.LaunchTemplateId, name: specification.LaunchTemplateName, version: specification.Version }] : [];
  await awsCall('describe', 'EC2 Fleets', async () => {
    for await (const page of paginateDescribeFleets({ client: ec2 }, {})) {
      for (const fleet of page.Fleets ?? []) {
        if (fleet.FleetState === 'deleted' || fleet.FleetState === 'failed') continue;
        const configs = fleet.LaunchTemplateConfigs ?? [];
        uses.push({
          fleet: `EC2 Fleet ${fleet.FleetId ?? '?'}`,
          images: configs.flatMap((config) => (config.Overrides ?? []).flatMap((override) => (override.ImageId ? [{ amiId: override.ImageId, via: 'launch template override' }] : []))),
          launchTemplates: configs.flatMap((config) => templateOf(config.LaunchTemplateSpecification)),
        });
      }
    }
  });
  await awsCall('describe', 'Spot Fleet requests', async () => {
    for await (const page of paginateDescribeSpotFleetRequests({ client: ec2 }, {})) {
      for (const request of page.SpotFleetRequestConfigs ?? []) {
        if (request.SpotFleetRequestState === 'cancelled' || request.SpotFleetRequestState === 'failed') continue;
        const config = request.SpotFleetRequestConfig;
        uses.push({
          fleet: `Spot Fleet request ${request.SpotFleetRequestId ?? '?'}`,
          images: (config?.LaunchSpecifications ?? []).flatMap((specification) => (specification.ImageId ? [{ amiId: specification.ImageId, via: 'launch specification' }] : [])),
          launchTemplates: (config?.LaunchTemplateConfigs ?? []).flatMap((templateConfig) => templateOf(templateConfig.LaunchTemplateSpecification)),
        });
      }
    }
  });
  return uses;
}

export interface ImageReferenceSummary {
  readonly amiId: string;
  /** ec2:Instance, ec2:LaunchTemplate, ssm:Parameter, imagebuilder:ImageRecipe, … */
  readonly resourceType: string;
  readonly arn: string;
}

/** DescribeImageReferences takes at most 10 ImageIds a call (EC2 model: DescribeImageReferencesImageIdStringList). */
const maxImageReferenceIds = 10;
/** A page size the call takes (EC2 model: MaxResults at least 5; the API reference gives 1000 as the most). */
const imageReferencePageSize = 1000;

/** What AWS itself knows uses each AMI (DescribeImageReferences, all resource types), 10 AMIs a call, every page. */
export async function describeImageReferences(ec2: EC2Client, amiIds: readonly string[]): Promise<ImageReferenceSummary[]> {
  const references: ImageReferenceSummary[] = [];
  for (const ids of chunk([...new Set(amiIds)], maxImageReferenceIds)) {
    await awsCall('describe image references of', ids.join(', '), async () => {
      for await (const page of paginateDescribeImageReferences({ client: ec2, pageSize: imageReferencePageSize }, { ImageIds: ids, IncludeAllResourceTypes: true })) {
        for (const reference of page.ImageReferences ?? []) references.push({ amiId: reference.ImageId ?? '', resourceType: reference.ResourceType ?? 'unknown', arn: reference.Arn ?? '' });
      }
    });
  }
  return references;
}

/** Who may launch an AMI, or create volumes from a snapshot: accounts, groups (`all` = public), organisations and OUs. */
export interface SharingPermissions {
  readonly accounts: readonly string[];
  readonly groups: readonly string[];
  readonly organizationArns: readonly string[];
  readonly organizationalUnitArns: readonly string[];
}

export async function describeLaunchPermissions(ec2: EC2Client, amiId: string): Promise<SharingPermissions> {
  return awsCall('describe launch permissions of', amiId, async () => {
    const output = await ec2.send(new DescribeImageAttributeCommand({ ImageId: amiId, Attribute: 'launchPermission' }));
    const permissions = output.LaunchPermissions ?? [];
    return {
      accounts: permissions.flatMap((permission) => (permission.UserId ? [permission.UserId] : [])),
      groups: permissions.flatMap((permission) => (permission.Group ? [permission.Group] : [])),
      organizationArns: permissions.flatMap((permission) => (permission.OrganizationArn ? [permission.OrganizationArn] : [])),
      organizationalUnitArns: permissions.flatMap((permission) => (permission.OrganizationalUnitArn ? [permission.OrganizationalUnitArn] : [])),
    };
  });
}

/** Adding what is already there and removing what is not are both no-ops in EC2, so a retry is harmless. */
export async function modifyLaunchPermissions(ec2: EC2Client, amiId: string, change: { readonly add: SharingPermissions; readonly remove: SharingPermissions }): Promise<void> {
  const entries = (permissions: SharingPermissions) => [
    ...permissions.accounts.map((UserId) => ({ UserId })),
    ...permissions.groups.map((Group) => ({ Group: Group as 'all' })),
    ...permissions.organizationArns.map((OrganizationArn) => ({ OrganizationArn })),
    ...permissions.organizationalUnitArns.map((OrganizationalUnitArn) => ({ OrganizationalUnitArn })),
  ];
  const [add, remove] = [entries(change.add), entries(change.remove)];
  if (add.length + remove.length === 0) return;
  await awsCall('change launch permissions of', amiId, () =>
    ec2.send(new ModifyImageAttributeCommand({ ImageId: amiId, LaunchPermission: { ...(add.length > 0 ? { Add: add } : {}), ...(remove.length > 0 ? { Remove: remove } : {}) } })),
  );
}

/** Setting the same description again changes nothing, so a retry after a lost answer is harmless. */
export async function setImageDescription(ec2: EC2Client, amiId: string, description: string): Promise<void> {
  await awsCall('set the description of', amiId, () => ec2.send(new ModifyImageAttributeCommand({ ImageId: amiId, Description: { Value: description } })));
}

export async function describeCreateVolumePermissions(ec2: EC2Client, snapshotId: string): Promise<Pick<SharingPermissions, 'accounts' | 'groups'>> {
  return awsCall('describe create-volume permissions of', snapshotId, async () => {
    const output = await ec2.send(new DescribeSnapshotAttributeCommand({ SnapshotId: snapshotId, Attribute: 'createVolumePermission' }));
    const permissions = output.CreateVolumePermissions ?? [];
    return {
      accounts: permissions.flatMap((permission) => (permission.UserId ? [permission.UserId] : [])),
      groups: permissions.flatMap((permission) => (permission.Group ? [permission.Group] : [])),
    };
  });
}

export async function modifyCreateVolumePermissions(
  ec2: EC2Client,
  snapshotId: string,
  change: { readonly add: Pick<SharingPermissions, 'accounts' | 'groups'>; readonly remove: Pick<SharingPermissions, 'accounts' | 'groups'> },
): Promise<void> {
  // NOTE: the OperationType form (which AWS accepts too) because moto ignores the CreateVolumePermission structure.
  for (const [operation, permissions] of [['remove', change.remove], ['add', change.add]] as const) {
    if (permissions.accounts.length + permissions.groups.length === 0) continue;
    await awsCall(`${operation === 'add' ? 'grant' : 'revoke'} create-volume permissions of`, snapshotId, () =>
      ec2.send(
        new ModifySnapshotAttributeCommand({
          SnapshotId: snapshotId,
          Attribute: 'createVolumePermission',
          OperationType: operation,
          ...(permissions.accounts.length > 0 ? { UserIds: [...permissions.accounts] } : {}),
          ...(permissions.groups.length > 0 ? { GroupNames: [...permissions.groups] } : {}),
        }),
      ),
    );
  }
}

export interface AccountCopyRequest {
  /** The building account's AMI, in the region the copy is made in. */
  readonly source: { readonly ec2: EC2Client; readonly region: string; readonly amiId: string };
  /**
   * The target account's EC2 in the same region. `singleAttemptEc2` sends the copy call once (no SDK retry), so that
   * gild itself reads back before it tries again.
   */
  readonly target: { readonly account: string; readonly ec2: EC2Client; readonly singleAttemptEc2: EC2Client };
  /** The target account's key to encrypt the copy with; left out, the copy is encrypted as its source is. */
  readonly kmsKeyId: string | undefined;
  /** Put on the copy and its snapshots: a copy carries none of its source's tags. */
  readonly tags: Readonly<Record<string, string>>;
  /**
   * Leave the source shared with the account once the copy is available (its launch permissions grant the account
   * anyway). Otherwise the share, needed only while copying, is withdrawn: the account has its own AMI now.
   */
  readonly keepSharing: boolean;
  /**
   * `copy-image`: CopyImage in the target account (real AWS). `register-stand-in`: RegisterImage of an empty image
   * with the source's name and description, for an emulator that cannot copy an AMI shared from another account.
   */
  readonly method: 'copy-image' | 'register-stand-in';
  readonly signal: AbortSignal;
  /** How long to wait for the copy to become available (CopyImage takes minutes); default 60 minutes. */
  readonly timeoutMs?: number;
  readonly pollMs?: number;
}

export interface AccountCopy {
  readonly amiId: string;
  readonly snapshotIds: readonly string[];
  /** `found`: a copy of this source already existed there (a lost answer, or a run that stopped before tagging it). */
  readonly outcome: 'copied' | 'found';
}

const copyAttempts = 4;

/**
 * Gives another account its own copy of an AMI: shares the AMI and its snapshots with the account (in the source
 * region), has the account copy it (the copy is the account's, and outlives the source), waits until it is
 * available, withdraws the share (unless `keepSharing`), and tags it. Idempotent, and safe under a lost answer:
 * - the copy keeps the source's name, which is unique per run and per account and region, so a copy made by an
 *   earlier attempt (whose answer was lost, or whose run stopped before tagging) is found by name and finished,
 *   never made twice;
 * - CopyImage carries a ClientToken derived from the source AMI, the account and the region, so AWS itself returns
 *   the same copy to a retry;
 * - sharing an AMI or snapshot with an account it is already shared with changes nothing.
 */
export async function copyImageIntoAccount(request: AccountCopyRequest): Promise<AccountCopy> {
  const { source, target } = request;
  const [sourceImage] = await describeImagesRaw(source.ec2, [source.amiId]);
  if (!sourceImage?.Name) throw awsError('copy', `${source.amiId} into account ${target.account}`, new Error(`${source.amiId} does not exist in ${source.region}`));
  const name = sourceImage.Name;
  const sourceSnapshots = (sourceImage.BlockDeviceMappings ?? []).flatMap((mapping) => (mapping.Ebs?.SnapshotId ? [mapping.Ebs.SnapshotId] : []));

  let copyId = await findOwnImageByName(target.ec2, name);
  const outcome = copyId ? 'found' : 'copied';
  if (!copyId) {
    await modifyLaunchPermissions(source.ec2, source.amiId, { add: { accounts: [target.account], groups: [], organizationArns: [], organizationalUnitArns: [] }, remove: noSharing });
    for (const snapshotId of sourceSnapshots) await modifyCreateVolumePermissions(source.ec2, snapshotId, { add: { accounts: [target.account], groups: [] }, remove: { accounts: [], groups: [] } });
    copyId = await createCopy(request, name, sourceImage.Description);
  }
  const copy = await waitForImageAvailable(target.ec2, copyId, request);
  const snapshotIds = (copy.BlockDeviceMappings ?? []).flatMap((mapping) => (mapping.Ebs?.SnapshotId ? [mapping.Ebs.SnapshotId] : []));
  // NOTE: the share goes before the tags: until tagged, a rerun finds this copy by name and comes back here, so a
  // crash between the two still ends with the share withdrawn; once tagged, nothing would come back for it.
  if (!request.keepSharing) await withdrawShareFromAccount(source.ec2, source.amiId, target.account, sourceSnapshots);
  // NOTE: a copy CopyImage tagged at creation already carries gild:image, and its snapshots with it (one call); sending
  // it again is what the policy's NeverMoveOwnership deny refuses on AWS (the IAM simulation shows it), so only a copy
  // without it (a stand-in on the emulator) gets it here.
  const ownedAlready = copy.Tags?.some((tag) => tag.Key === 'gild:image' && tag.Value === request.tags['gild:image']);
  const { 'gild:image': _ownership, ...retag } = request.tags;
  await createTags(target.ec2, [copyId, ...snapshotIds], ownedAlready ? retag : request.tags);
  return { amiId: copyId, snapshotIds, outcome };
}

/**
 * Withdraws the share of an AMI and its snapshots from an account (the temporary share a copy into it needed).
 * Removing a permission that is not there changes nothing, so this is safe to repeat.
 */
export async function withdrawShareFromAccount(ec2: EC2Client, amiId: string, account: string, snapshotIds?: readonly string[]): Promise<void> {
  const snapshots = snapshotIds ?? ((await describeImagesRaw(ec2, [amiId]))[0]?.BlockDeviceMappings ?? []).flatMap((mapping) => (mapping.Ebs?.SnapshotId ? [mapping.Ebs.SnapshotId] : []));
  await modifyLaunchPermissions(ec2, amiId, { add: noSharing, remove: { ...noSharing, accounts: [account] } });
  for (const snapshotId of snapshots) await modifyCreateVolumePermissions(ec2, snapshotId, { add: { accounts: [], groups: [] }, remove: { accounts: [account], groups: [] } });
}

const noSharing: SharingPermissions = { accounts: [], groups: [], organizationArns: [], organizationalUnitArns: [] };

/**
 * The account's own AMI of that name (AMI names are unique per account and region), if any. A failed copy is not
 * one to finish: waiting on it would fail every run (the plan deregisters it before copying again).
 */
async function findOwnImageByName(ec2: EC2Client, name: string): Promise<string | undefined> {
  const found = await describeImages(ec2, { owners: ['self'], filters: [{ Name: 'name', Values: [name] }], includeDeprecated: true });
  return found.filter((image) => image.state !== 'failed').sort((a, b) => a.createdAt.localeCompare(b.createdAt))[0]?.amiId;
}

async function createCopy(request: AccountCopyRequest, name: string, description: string | undefined): Promise<string> {
  const { source, target } = request;
  // NOTE: deterministic, so that AWS answers a retried CopyImage with the copy the first attempt started.
  const clientToken = createHash('sha256').update(`${source.amiId} ${target.account} ${source.region}`).digest('hex').slice(0, 64);
  // NOTE: tagged from the moment it exists, so that a copy a run never got to finish is gild's and seen as such by the
  // next run's plan (retired with its version), even once a newer version is distributed. Tagged again when available.
  const tagList = Object.entries(request.tags).map(([Key, Value]) => ({ Key, Value }));
  const tagSpecifications = [
    { ResourceType: 'image' as const, Tags: tagList },
    { ResourceType: 'snapshot' as const, Tags: tagList },
  ];
  const send = async () =>
    request.method === 'copy-image'
      ? (
          await target.singleAttemptEc2.send(
            new CopyImageCommand({
              SourceRegion: source.region,
              SourceImageId: source.amiId,
              Name: name,
              ...(description ? { Description: description } : {}),
              ClientToken: clientToken,
              TagSpecifications: tagSpecifications,
              ...(request.kmsKeyId ? { Encrypted: true, KmsKeyId: request.kmsKeyId } : {}),
            }),
          )
        ).ImageId
      : // NOTE: moto (5.2.1) ignores RegisterImage's TagSpecifications; on it, the tags after the wait are the only ones.
        (await target.singleAttemptEc2.send(new RegisterImageCommand({ Name: name, ...(description ? { Description: description } : {}), TagSpecifications: tagSpecifications.slice(0, 1) }))).ImageId;
  for (let attempt = 1; ; attempt++) {
    try {
      const amiId = await send();
      if (!amiId) throw new Error('the answer named no AMI');
      return amiId;
    } catch (error) {
      // A lost answer: the copy may exist although the call failed. Read back before anything else.
      const found = await findOwnImageByName(target.ec2, name).catch(() => undefined);
      if (found) return found;
      const status = (error as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode ?? 0;
      const transient = status >= 500 || ['RequestLimitExceeded', 'Throttling', 'ThrottlingException', 'InternalError', 'ServiceUnavailable'].includes(awsErrorName(error) ?? '');
      if (!transient || attempt >= copyAttempts || request.signal.aborted) throw awsError(request.method === 'copy-image' ? 'copy' : 'register a stand-in copy of', `${source.amiId} (${source.region}) into account ${target.account}`, error);
      await delay(500 * 2 ** attempt, undefined, { signal: request.signal });
    }
  }
}

async function waitForImageAvailable(ec2: EC2Client, amiId: string, request: AccountCopyRequest): Promise<Image> {
  const deadline = Date.now() + (request.timeoutMs ?? 60 * 60_000);
  for (;;) {
    const [image] = await describeImagesRaw(ec2, [amiId]);
    if (image?.State === 'available') return image;
    if (image && image.State !== 'pending') throw awsError('copy', `${request.source.amiId} into account ${request.target.account}`, new Error(`the copy ${amiId} is ${image.State}: ${image.StateReason?.Message ?? 'no reason given'}`));
    if (Date.now() > deadline) throw awsError('copy', `${request.source.amiId} into account ${request.target.account}`, new Error(`the copy ${amiId} was not available after ${Math.round((request.timeoutMs ?? 3_600_000) / 60_000)} minutes; the next run waits for it again`));
    await delay(request.pollMs ?? 15_000, undefined, { signal: request.signal });
  }
}
