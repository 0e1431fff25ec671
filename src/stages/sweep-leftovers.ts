/**
 * Runs at the start of every run: terminates gild's build and smoke instances
 * that an earlier run left behind (a crash, a kill -9, a lost network), found
 * by the tags every temporary instance carries.
 */
import type { Context } from '../context.ts';
import { describeInstances, liveInstanceStates, terminateInstances, type InstanceSummary } from '../adapters/ec2.ts';

export interface SweptInstance {
  readonly region: string;
  readonly instanceId: string;
  readonly role: string;
  readonly runId: string | undefined;
  readonly ageMinutes: number;
  readonly reason: string;
}

const sweptRoles = ['build', 'smoke'];

/** Pure: which of these instances are leftovers, and why. */
export function selectLeftovers(instances: readonly InstanceSummary[], region: string, currentRunId: string, now: Date, sweepAfterMinutes: number): SweptInstance[] {
  const leftovers: SweptInstance[] = [];
  for (const instance of instances) {
    const role = instance.tags['gild:role'];
    const runId = instance.tags['gild:run-id'];
    if (!role || !sweptRoles.includes(role) || !liveInstanceStates.includes(instance.state)) continue;
    if (runId === currentRunId || !instance.launchedAt) continue;
    const ageMinutes = Math.floor((now.getTime() - instance.launchedAt.getTime()) / 60_000);
    if (ageMinutes < sweepAfterMinutes) continue;
    leftovers.push({
      region,
      instanceId: instance.instanceId,
      role,
      runId,
      ageMinutes,
      reason: `gild:role=${role} instance from run ${runId ?? '(no run id)'}, ${instance.state} for ${ageMinutes} min (longer than sweepAfterMinutes=${sweepAfterMinutes})`,
    });
  }
  return leftovers;
}

export async function sweepLeftovers(context: Context, regions: readonly string[]): Promise<SweptInstance[]> {
  const swept: SweptInstance[] = [];
  for (const region of new Set(regions)) {
    const ec2 = context.clients.ec2(region);
    const instances = await describeInstances(ec2, [
      { Name: 'tag:gild:role', Values: sweptRoles },
      { Name: 'instance-state-name', Values: liveInstanceStates },
    ]);
    const leftovers = selectLeftovers(instances, region, context.runId, context.now(), context.settings.sweepAfterMinutes);
    if (leftovers.length === 0) continue;
    for (const leftover of leftovers) {
      context.logger.info(`${context.options.dryRun ? 'would terminate' : 'terminating'} leftover ${leftover.instanceId} in ${region}: ${leftover.reason}`);
    }
    if (!context.options.dryRun) {
      await terminateInstances(ec2, leftovers.map((leftover) => leftover.instanceId));
      context.logger.info(`terminated ${leftovers.length} leftover instance${leftovers.length === 1 ? '' : 's'} in ${region}`);
    }
    swept.push(...leftovers);
  }
  return swept;
}
