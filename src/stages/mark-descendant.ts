/**
 * Mark a descendant of a revoked version (src/plan/plan-descendants.ts): tag its AMI `gild:base-revoked`. Re-checked
 * just before: the AMI must still be there and still be that image's version (another run may have retired it since the
 * plan was made; then there is nothing left to mark, and the step says so instead of failing).
 */
import { createTags, describeImagesRaw } from '../adapters/ec2.ts';
import type { StepStage } from '../apply/step-stage.ts';

export const markDescendantStage: StepStage<'mark-descendant'> = {
  kind: 'mark-descendant',
  title: (step) => `mark ${step.descendant.image} ${step.descendant.version} in ${step.region} as built on the revoked ${step.image} ${step.version}`,
  mutates: true,
  heavy: false,
  async check(context, step) {
    const [ami] = await describeImagesRaw(context.clients.ec2(step.region), [step.amiId]);
    const tag = (key: string) => ami?.Tags?.find((candidate) => candidate.Key === key)?.Value;
    if (!ami || ami.State === 'deregistered') return `${step.amiId} in ${step.region} is gone: nothing left to mark`;
    if (tag('gild:image') !== step.descendant.image || tag('gild:version') !== step.descendant.version) return `${step.amiId} in ${step.region} is no longer tagged ${step.descendant.image} ${step.descendant.version}`;
    return false;
  },
  async run(context, step, run) {
    await createTags(context.clients.ec2(step.region), [step.amiId], { 'gild:base-revoked': step.tag });
    run.summary.push(`marked ${step.descendant.image} ${step.descendant.version} in ${step.region} (${step.amiId}): built on the revoked ${step.image} ${step.version}`);
    return { amiId: step.amiId };
  },
};
