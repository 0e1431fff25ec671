/**
 * Retire: one phase of one version's retirement in one region, as planned.
 * `deregister` marks the AMI `retiring` first, so a run that stops between
 * removing `versions/<v>` and deregistering still finds the AMI by its tags
 * and finishes the job; the version's record stays in the tags and the
 * parameter history.
 */
import { createTags, enableImageDeprecation, disableImage } from '../adapters/ec2.ts';
import { deleteParameterIfValue } from '../adapters/ssm.ts';
import type { StepStage } from '../apply/step-stage.ts';
import { targetCapabilities } from '../target/capabilities.ts';
import { whyNotRemovable } from './check-removable.ts';
import { removeAmi } from './remove-ami.ts';
import { recordBuilt } from '../plan/version-ledger.ts';
import { recordInLedger, recordVersionStatus, removeVersionStatus } from './record-version.ts';

export const retireStage: StepStage<'retire'> = {
  kind: 'retire',
  title: (step) => `${step.phase} ${step.image} ${step.version} in ${step.region}`,
  mutates: true,
  heavy: false,
  check: (context, step) => whyNotRemovable(context, step.region, step.image, step.amiId, step.parameterName),
  async run(context, step, run) {
    const ec2 = context.clients.ec2(step.region);
    const now = context.now().toISOString();
    const canDeprecate = targetCapabilities(context).imageDeprecation;
    if (!canDeprecate && step.phase !== 'deregister') run.logger.warn(`the emulator has no ${step.phase === 'deprecate' ? 'EnableImageDeprecation' : 'DisableImage'}: ${step.amiId} is only tagged ${step.phase === 'deprecate' ? 'deprecated' : 'disabled'}`);
    if (step.phase === 'deprecate') {
      if (canDeprecate) await enableImageDeprecation(ec2, step.amiId, context.now());
      await createTags(ec2, [step.amiId], { 'gild:deprecated-at': now });
      if (step.parameterName) await recordVersionStatus(context, step.region, step.image, step.version, (status) => (status.deprecationTime ? status : { ...status, deprecationTime: now }));
      run.summary.push(`deprecated ${step.version} in ${step.region} (${step.amiId}): ${step.reason}`);
      return { removed: [] };
    }
    if (step.phase === 'disable') {
      if (canDeprecate) await disableImage(ec2, step.amiId);
      await createTags(ec2, [step.amiId], { 'gild:disabled-at': now });
      run.summary.push(`disabled ${step.version} in ${step.region} (${step.amiId}): ${step.reason}`);
      return { removed: [] };
    }
    // The number outlives the AMI: recorded before the last traces of the version (its parameter, its tags) go.
    if (run.image) await recordInLedger(context, run.image, (ledger) => recordBuilt(ledger, step.version));
    await createTags(ec2, [step.amiId], { 'gild:status': 'retiring', 'gild:retired-at': now });
    // NOTE: the parameter goes first: a versions/<v> that points at a deregistered AMI would break consumers.
    if (step.parameterName) await deleteParameterIfValue(context.clients.ssm(step.region), step.parameterName, step.amiId);
    // The status goes with the version's parameter; the ledger keeps the revocation.
    await removeVersionStatus(context, step.region, step.image, step.version);
    const removed = await removeAmi(context, step.region, step.amiId, step.snapshotIds);
    run.summary.push(`retired ${step.version} in ${step.region}: deregistered ${removed.join(', ')} — ${step.reason}`);
    return { removed };
  },
};
