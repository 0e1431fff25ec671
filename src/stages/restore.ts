/**
 * Restore: undo a revoke in one region (src/plan/plan-restore.ts). The build region's step records the restore in the
 * version ledger first: from then on every reader treats the version as good, and a restore killed half-way is
 * finished by whatever command comes next, never taken for a revoke to finish. Then `status/<v>` goes (resolve hands
 * the version out again), the AMI is re-enabled and un-deprecated where the target can, and its tags say published.
 */
import { createTags, describeImages, tagValue, type EC2Client, type ImageSummary } from '../adapters/ec2.ts';
import { deleteTagKeys, disableImageDeprecation, enableImage } from '../adapters/ec2-image-lifecycle.ts';
import { StepFailure, type StepRun, type StepStage } from '../apply/step-stage.ts';
import type { Context } from '../context.ts';
import { recordRestored } from '../plan/version-ledger.ts';
import { recordInLedger, removeVersionStatus } from './record-version.ts';

/** The tags a revoke (and its deprecation) left, which a restore takes away. */
export const revokeTagKeys = ['gild:revoked-reason', 'gild:revoked-at', 'gild:revoked-by', 'gild:revoked-replacement', 'gild:revoked-disable', 'gild:deprecated-at', 'gild:disabled-at'] as const;

/**
 * Launches work again: the AMI is re-enabled (a revoke's or retirement's DisableImage) and un-deprecated where the target
 * can; where it cannot, the log says the AMI changes only by its tags (`onlyTagged`).
 */
export async function enableAndUndeprecate(
  context: Pick<Context, 'target'>,
  ec2: EC2Client,
  ami: Pick<ImageSummary, 'state' | 'deprecationTime'> | undefined,
  where: { amiId: string; region: string; onlyTagged: string },
  run: Pick<StepRun, 'logger'>,
): Promise<void> {
  const deprecation = context.target.imageDeprecation;
  if (!deprecation.available) {
    run.logger.warn(`${deprecation.lacking('EnableImage or DisableImageDeprecation')}: ${where.amiId} in ${where.region} ${where.onlyTagged}`);
    return;
  }
  if (ami?.state === 'disabled') await enableImage(ec2, where.amiId);
  if (ami?.deprecationTime) await disableImageDeprecation(ec2, where.amiId);
}

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
    await enableAndUndeprecate(context, ec2, ami, { amiId: step.amiId, region: step.region, onlyTagged: 'was only tagged revoked, and is only tagged published again' }, run);
    await deleteTagKeys(ec2, [step.amiId], revokeTagKeys);
    await createTags(ec2, [step.amiId], { 'gild:status': 'published', 'gild:restored-at': now, 'gild:restored-by': tagValue(step.by), 'gild:restored-reason': tagValue(step.restoredReason) });
    run.summary.push(`restored ${step.version} in ${step.region} (${step.amiId}): ${step.restoredReason}`);
    return { amiId: step.amiId };
  },
};
