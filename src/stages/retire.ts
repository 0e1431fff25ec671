/**
 * Retire: one phase of one version's retirement in one region, as planned.
 * `deregister` marks the AMI `retiring` first, so a run that stops between
 * removing `versions/<v>` and deregistering still finds the AMI by its tags
 * and finishes the job; the version's record stays in the tags and the
 * parameter history.
 */
import semver from 'semver';
import { createTags, describeImages, enableImageDeprecation, disableImage } from '../adapters/ec2.ts';
import { deleteParameterIfValue, listParametersUnder } from '../adapters/ssm.ts';
import { StepFailure, type StepRun, type StepStage } from '../apply/step-stage.ts';
import type { Context } from '../context.ts';
import { imageParameterPath, versionFromParameterName } from '../plan/parameter-names.ts';
import type { StepOfKind } from '../plan/run-plan.ts';
import { imageOf } from './build.ts';
import { whyNotRemovable } from './check-removable.ts';
import { removeAmi } from './remove-ami.ts';
import { disableDeregistrationProtection } from '../adapters/ec2-image-lifecycle.ts';
import { recordBuilt } from '../plan/version-ledger.ts';
import { recordInLedger, recordVersionStatus, removeVersionStatus } from './record-version.ts';

/**
 * Why the image's retention policy keeps this version in this region, read live; undefined when it may retire it. Only
 * the building account's retirement asks: a copy in another account follows its source's retirement.
 */
async function whyRetentionKeeps(context: Context, step: StepOfKind<'retire'>, run: StepRun): Promise<string | undefined> {
  const policy = imageOf(run).retention;
  const [ami] = await describeImages(context.clients.ec2(step.region), { imageIds: [step.amiId] });
  const tagged = ami?.tags['gild:version'];
  if (tagged !== step.version) return `${step.amiId} in ${step.region} is tagged gild:version=${tagged ?? '(none)'}, not ${step.version}`;
  // A revoked version is retired whatever its rank, and one whose retirement began is finished.
  const status = ami?.tags['gild:status'];
  if (status === 'revoked' || status === 'retiring') return undefined;
  const ageDays = ami?.createdAt ? (context.now().getTime() - Date.parse(ami.createdAt)) / 86_400_000 : Number.POSITIVE_INFINITY;
  if (policy.minAgeDays !== undefined && ageDays < policy.minAgeDays) return `${step.version} is younger than minAgeDays (${policy.minAgeDays})`;
  if (policy.maxAgeDays !== undefined && ageDays >= policy.maxAgeDays) return undefined;
  const parameters = await listParametersUnder(context.clients.ssm(step.region), `${imageParameterPath(context.settings.ssmPrefix, step.image)}/versions/`);
  const newer = parameters
    .map((parameter) => versionFromParameterName(context.settings.ssmPrefix, step.image, parameter.name))
    .filter((version): version is string => version !== undefined && semver.valid(version) !== null && semver.gt(version, step.version));
  return newer.length < policy.keep ? `${step.version} is among the newest ${policy.keep} versions in ${step.region} (keep is ${policy.keep}; ${newer.length} newer)` : undefined;
}

/** The live re-check every removal of a published AMI makes (a copy in another account too): still gild's, named by no pointer, used by nothing. */
export const whyRetirementMoved = (context: Context, step: StepOfKind<'retire'>): Promise<false | string> => whyNotRemovable(context, step.region, step.image, step.amiId, step.parameterName);

export const retireStage: StepStage<'retire'> = {
  kind: 'retire',
  title: (step) => `${step.phase} ${step.image} ${step.version} in ${step.region}`,
  async check(context, step, run) {
    const moved = await whyRetirementMoved(context, step);
    if (moved) return moved;
    // NOTE: whatever the plan says, only a version the image's retention policy retires is retired.
    const kept = await whyRetentionKeeps(context, step, run);
    if (kept) throw new StepFailure(`${step.id} refused: ${kept}`);
    return false;
  },
  async run(context, step, run) {
    const ec2 = context.clients.ec2(step.region);
    const now = context.now().toISOString();
    const deprecation = context.target.imageDeprecation;
    const canDeprecate = deprecation.available;
    if (!deprecation.available && step.phase !== 'deregister')
      run.logger.warn(
        `${deprecation.lacking(step.phase === 'deprecate' ? 'EnableImageDeprecation' : 'DisableImage')}: ${step.amiId} is only tagged ${step.phase === 'deprecate' ? 'deprecated' : 'disabled'}`,
      );
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
    // DeregisterImage refuses a protected AMI: the protection gild enabled goes first, as the plan says.
    if (step.unprotect && context.target.deregistrationProtection) await disableDeregistrationProtection(ec2, step.amiId);
    return deregisterRetired(context, step, run, now);
  },
};

/**
 * The deregister phase once the number is recorded: `versions/<v>`, the status, the AMI and its snapshots. A copy in
 * another account (retire-copy) runs only this: the ledger is the building account's, which already recorded it.
 */
export async function deregisterRetired(context: Context, step: StepOfKind<'retire'>, run: StepRun, now: string): Promise<{ removed: string[] }> {
  const ec2 = context.clients.ec2(step.region);
  await createTags(ec2, [step.amiId], { 'gild:status': 'retiring', 'gild:retired-at': now });
  // NOTE: the parameter goes first: a versions/<v> that points at a deregistered AMI would break consumers.
  if (step.parameterName) await deleteParameterIfValue(context.clients.ssm(step.region), step.parameterName, step.amiId);
  // The status goes with the version's parameter; the ledger keeps the revocation.
  await removeVersionStatus(context, step.region, step.image, step.version);
  const removed = await removeAmi(context, step.region, step.amiId, step.snapshotIds);
  run.summary.push(`retired ${step.version} in ${step.region}: deregistered ${removed.join(', ')} — ${step.reason}`);
  return { removed };
}
