/**
 * Restore: undo a revoke in one region (src/plan/plan-restore.ts). The build region's step records the restore in the
 * version ledger first: from then on every reader treats the version as good, and a restore killed half-way is
 * finished by whatever command comes next, never taken for a revoke to finish. Then `status/<v>` goes (resolve hands
 * the version out again), the AMI is re-enabled and un-deprecated where the target can, and its tags say published.
 */
import { createTags, describeImages, tagValue } from '../adapters/ec2.ts';
import { deleteTagKeys, disableImageDeprecation, enableImage } from '../adapters/ec2-image-lifecycle.ts';
import { StepFailure, type StepStage } from '../apply/step-stage.ts';
import { recordRestored } from '../plan/version-ledger.ts';
import { recordInLedger, removeVersionStatus } from './record-version.ts';

/** The tags a revoke (and its deprecation) left, which a restore takes away. */
export const revokeTagKeys = ['gild:revoked-reason', 'gild:revoked-at', 'gild:revoked-by', 'gild:revoked-replacement', 'gild:revoked-disable', 'gild:deprecated-at', 'gild:disabled-at'] as const;

export const restoreStage: StepStage<'restore'> = {
  kind: 'restore',
  title: (step) => `restore ${step.image} ${step.version} in ${step.region}`,
  // A restore that cannot happen fails: the pointers planned to move back to it must not move.
  async check(context, step) {
    const [ami] = await describeImages(context.clients.ec2(step.region), { imageIds: [step.amiId] });
    const tag = (key: string) => ami?.tags[key];
    if (!ami || ami.state === 'deregistered') throw new StepFailure(`${step.id} refused: ${step.amiId} in ${step.region} is gone; nothing to restore`);
    if (tag('gild:image') !== step.image || tag('gild:version') !== step.version)
      throw new StepFailure(`${step.id} refused: ${step.amiId} in ${step.region} is no longer tagged ${step.image} ${step.version}`);
    if (tag('gild:status') === 'retiring') throw new StepFailure(`${step.id} refused: retirement began deregistering ${step.amiId} in ${step.region} since the plan was made`);
    return false;
  },
  async run(context, step, run) {
    const ec2 = context.clients.ec2(step.region);
    const now = context.now().toISOString();
    if (step.ledger && run.image) {
      await recordInLedger(context, run.image, (ledger) => recordRestored(ledger, step.version, step.revoked, { at: now, by: step.by, reason: step.restoredReason }));
    }
    await removeVersionStatus(context, step.region, step.image, step.version);
    const [ami] = await describeImages(ec2, { imageIds: [step.amiId] });
    const deprecation = context.target.imageDeprecation;
    if (deprecation.available) {
      if (ami?.state === 'disabled') await enableImage(ec2, step.amiId);
      if (ami?.deprecationTime) await disableImageDeprecation(ec2, step.amiId);
    } else {
      run.logger.warn(`${deprecation.lacking('EnableImage or DisableImageDeprecation')}: ${step.amiId} in ${step.region} was only tagged revoked, and is only tagged published again`);
    }
    await deleteTagKeys(ec2, [step.amiId], revokeTagKeys);
    await createTags(ec2, [step.amiId], { 'gild:status': 'published', 'gild:restored-at': now, 'gild:restored-by': tagValue(step.by), 'gild:restored-reason': tagValue(step.restoredReason) });
    run.summary.push(`restored ${step.version} in ${step.region} (${step.amiId}): ${step.restoredReason}`);
    return { amiId: step.amiId };
  },
};
