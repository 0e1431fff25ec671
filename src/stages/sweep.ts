/**
 * Sweep: remove what a run that is gone left behind — build and smoke
 * instances, Packer's key pairs, gild's build security groups, take-over
 * claims on locks — as the plan
 * lists them. Right before each, it checks that the resource still exists and
 * that its run has not (again) got a live lock.
 */
import { deleteKeyPair, deleteSecurityGroup, describeInstances, terminateInstances, waitForInstanceTerminated } from '../adapters/ec2.ts';
import { deleteParameterIfValue, getParameter } from '../adapters/ssm.ts';
import type { StepStage } from '../apply/step-stage.ts';
import { observeLeaseState, staleLeaseReason } from '../observe/parse-lease.ts';
import { lockParameterName } from '../plan/parameter-names.ts';
import type { Context } from '../context.ts';
import type { StepOfKind } from '../plan/run-plan.ts';
import { accountClientsFor } from './distribute.ts';

/** The building account's EC2, or the distribution account's (as its role) for a leftover there. */
const ec2Of = (context: Context, step: StepOfKind<'sweep'>) => (step.account ? accountClientsFor(context, step.account).ec2(step.region) : context.clients.ec2(step.region));

export const sweepStage: StepStage<'sweep'> = {
  kind: 'sweep',
  title: (step) => `sweep ${step.resource.kind} ${step.resource.id} in ${step.region}`,
  async check(context, step) {
    let image: string | undefined;
    if (step.resource.kind === 'takeover-claim') {
      const current = await getParameter(context.clients.ssm(step.region), step.resource.name);
      if (!current) return `${step.resource.name} is already gone`;
      return current.value === step.resource.value ? false : `${step.resource.name} changed since the plan: it now holds ${current.value}`;
    }
    if (step.resource.kind === 'instance') {
      const [instance] = await describeInstances(ec2Of(context, step), [{ Name: 'instance-id', Values: [step.resource.id] }]);
      if (!instance || instance.state === 'terminated' || instance.state === 'shutting-down') return `${step.resource.id} is already ${instance?.state ?? 'gone'}`;
      image = instance.tags['gild:image'];
    } else {
      // Key pairs and build security groups are named `gild_<runId>_<image>`: their run may have taken its lock again too.
      image = /^gild_.+?_([a-z][a-z0-9-]*)$/.exec(step.resource.name)?.[1];
    }
    if (!image || !step.runId) return false;
    // NOTE: the lock lives in the image's build region; an instance runs there too (builds and smoke tests do), except
    // an account smoke test's, whose lock is the building account's.
    const lock = await getParameter(context.clients.ssm(step.account?.lockRegion ?? step.region), lockParameterName(context.settings.ssmPrefix, image));
    if (!lock) return false;
    const state = observeLeaseState(lock.value, context.processInfo);
    if (state.kind === 'held' && state.lease.runId === step.runId && !staleLeaseReason(state, context.now())) return `run ${step.runId} holds a live lock on ${image} again`;
    return false;
  },
  async run(context, step, run) {
    const ec2 = ec2Of(context, step);
    switch (step.resource.kind) {
      case 'instance':
        await terminateInstances(ec2, [step.resource.id]);
        // Its security group can only go once it is terminated (the SDK's waiter, bounded).
        await waitForInstanceTerminated(ec2, step.resource.id, run.signal);
        break;
      case 'key-pair':
        await deleteKeyPair(ec2, step.resource.name);
        break;
      case 'security-group':
        await deleteSecurityGroup(ec2, step.resource.id);
        break;
      case 'takeover-claim':
        // Conditional: a claim someone wrote again since the check is theirs.
        await deleteParameterIfValue(context.clients.ssm(step.region), step.resource.name, step.resource.value);
        break;
    }
    run.summary.push(`swept ${step.resource.kind} ${step.resource.id} in ${step.region}: ${step.reason}`);
    return { done: step.resource.id };
  },
};
