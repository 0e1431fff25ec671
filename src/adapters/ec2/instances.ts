/** EC2 instances: the smoke test's launch, its wait for a ready instance, the reads of who still runs an AMI. */
import type { EC2Client, Instance, InstanceStatus } from '@aws-sdk/client-ec2';
import { DescribeInstanceStatusCommand, paginateDescribeInstances, RunInstancesCommand, TerminateInstancesCommand, waitUntilInstanceTerminated } from '@aws-sdk/client-ec2';
import { createWaiter, WaiterState, type WaiterResult } from '@smithy/core/client';
import { awsCall, awsError, awsErrorName } from '../aws-call.ts';
import { chunk, maxFilterValues, recordToTags, tagsToRecord, toSdkFilters, type Ec2Filter } from './client.ts';

export interface LaunchRequest {
  readonly amiId: string;
  readonly instanceType: string;
  readonly subnetId: string | undefined;
  readonly securityGroupIds: readonly string[];
  readonly instanceProfile: string | undefined;
  readonly userData: string | undefined;
  /** The key pair whose public key the instance gets (a Windows smoke instance's, for its password); none otherwise. */
  readonly keyName?: string | undefined;
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
        ...(request.keyName ? { KeyName: request.keyName } : {}),
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

export async function describeInstances(ec2: EC2Client, filters: readonly Ec2Filter[]): Promise<InstanceSummary[]> {
  return awsCall('describe instances', JSON.stringify(filters), async () => {
    const instances: InstanceSummary[] = [];
    for await (const page of paginateDescribeInstances({ client: ec2, pageSize: 1000 }, { Filters: toSdkFilters(filters) })) {
      for (const reservation of page.Reservations ?? []) instances.push(...(reservation.Instances ?? []).map(toInstanceSummary));
    }
    return instances;
  });
}

/** Instance states that still hold an AMI in use (and that a sweep must look at). */
export const liveInstanceStates = ['pending', 'running', 'stopping', 'stopped'];

/** Every instance state but `terminated` still holds its AMI in use (a stopped instance starts again from it). */
export const nonTerminatedInstanceStates = ['pending', 'running', 'shutting-down', 'stopping', 'stopped'];

/** Instances in any state but terminated launched from any of the given AMIs; one filter per 200 AMIs. */
export async function describeInstancesUsingImages(ec2: EC2Client, amiIds: readonly string[]): Promise<InstanceSummary[]> {
  const instances: InstanceSummary[] = [];
  for (const ids of chunk([...new Set(amiIds)], maxFilterValues)) {
    instances.push(
      ...(await describeInstances(ec2, [
        { Name: 'image-id', Values: ids },
        { Name: 'instance-state-name', Values: nonTerminatedInstanceStates },
      ])),
    );
  }
  return instances;
}

export type InstanceReadiness = 'running' | 'timed-out' | 'interrupted' | { failed: string };

/** States from which an instance never becomes running on its own. */
const lostInstanceStates = new Set(['shutting-down', 'terminated', 'stopped', 'stopping']);

type Readiness = WaiterResult<{ failed: string } | { error: unknown } | 'ready'>;

/**
 * Waits until the instance is running and both its status checks pass. The polling, its backoff, the deadline and the
 * abort are the SDK's waiter (`createWaiter`, which its own `waitUntilInstanceStatusOk` is made of); the acceptors are
 * gild's, because the SDK's instance waiters keep waiting on answers gild knows are final (the instance stopped, a
 * status check impaired, AWS refusing the call) and would only end at the deadline. One DescribeInstanceStatus with
 * IncludeAllInstances answers all three questions (state, instance check, system check) in each poll.
 */
export async function waitForInstanceRunning(ec2: EC2Client, instanceId: string, options: { timeoutMs: number; pollMs?: number; signal: AbortSignal }): Promise<InstanceReadiness> {
  const seconds = options.timeoutMs / 1000;
  if (seconds <= 0) return 'timed-out';
  if (options.signal.aborted) return 'interrupted';
  const checkReady = async (client: EC2Client, input: { InstanceIds: string[]; IncludeAllInstances: boolean }): Promise<Readiness> => {
    try {
      const statuses = (await client.send(new DescribeInstanceStatusCommand(input))).InstanceStatuses ?? [];
      const lost = statuses.map((status) => status.InstanceState?.Name ?? '').find((state) => lostInstanceStates.has(state));
      if (lost) return { state: WaiterState.FAILURE, reason: { failed: `instance ${instanceId} went to "${lost}" before it was running` } };
      if (statuses.some(impaired)) return { state: WaiterState.FAILURE, reason: { failed: `status checks report impaired for ${instanceId}` } };
      const ready = statuses.length > 0 && statuses.every((status) => status.InstanceStatus?.Status === 'ok' && status.SystemStatus?.Status === 'ok');
      return ready ? { state: WaiterState.SUCCESS, reason: 'ready' } : { state: WaiterState.RETRY };
    } catch (error) {
      // NOTE: right after RunInstances, AWS may not know the ID yet: the SDK's waiters retry that, and so does this one.
      if (awsErrorName(error) === 'InvalidInstanceID.NotFound') return { state: WaiterState.RETRY };
      return { state: WaiterState.FAILURE, reason: { error } };
    }
  };
  const result = await createWaiter(
    { client: ec2, abortSignal: options.signal, maxWaitTime: seconds, ...waiterDelays(options.pollMs ?? 5000, seconds) },
    { InstanceIds: [instanceId], IncludeAllInstances: true },
    checkReady,
  );
  if (result.state === WaiterState.SUCCESS) return 'running';
  if (result.state === WaiterState.ABORTED) return 'interrupted';
  if (result.state === WaiterState.TIMEOUT) return 'timed-out';
  // NOTE: the waiter hands back what an acceptor gave as `reason` as the result's `final`.
  const final = result.final;
  if (final && typeof final === 'object' && 'error' in final) throw awsError('wait for running and passing status checks of', instanceId, final.error);
  return final && typeof final === 'object' ? final : { failed: `the wait for ${instanceId} ended in ${result.state}` };
}

const impaired = (status: InstanceStatus) => status.InstanceStatus?.Status === 'impaired' || status.SystemStatus?.Status === 'impaired';

/**
 * The waiter's delays in seconds, from gild's poll interval in ms (GILD_SMOKE_POLL_MS): constant, as gild polls, and
 * below the time left (the SDK requires it). Fractions of a second are fine: the emulator answers at once.
 */
export function waiterDelays(pollMs: number, secondsLeft: number): { minDelay: number; maxDelay: number } {
  const delay = Math.min(pollMs / 1000, secondsLeft / 2);
  return { minDelay: delay, maxDelay: delay };
}

export async function terminateInstances(ec2: EC2Client, instanceIds: readonly string[]): Promise<void> {
  if (instanceIds.length === 0) return;
  await awsCall('terminate', instanceIds.join(', '), () => ec2.send(new TerminateInstancesCommand({ InstanceIds: [...instanceIds] })));
}

/** Waits, bounded (10 minutes), until the instance is terminated: only then can its security group go. */
export async function waitForInstanceTerminated(ec2: EC2Client, instanceId: string, signal: AbortSignal): Promise<void> {
  await waitUntilInstanceTerminated({ client: ec2, maxWaitTime: 600, minDelay: 5, maxDelay: 30, abortSignal: signal }, { InstanceIds: [instanceId] });
}
