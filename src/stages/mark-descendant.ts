/**
 * Mark a descendant of a revoked version (src/plan/plan-descendants.ts): tag its AMI `gild:base-revoked`. Re-checked
 * just before: the AMI must still be there and still be that image's version (another run may have retired it since the
 * plan was made; then there is nothing left to mark, and the step says so instead of failing).
 */
import { createTags, describeImages } from '../adapters/ec2.ts';
import type { StepStage } from '../apply/step-stage.ts';

export const markDescendantStage: StepStage<'mark-descendant'> = {
  kind: 'mark-descendant',
  title: (step) => `mark ${step.descendant.image} ${step.descendant.version} in ${step.region} as built on the revoked ${step.image} ${step.version}`,
  async check(context, step) {
    const [ami] = await describeImages(context.clients.ec2(step.region), { imageIds: [step.amiId] });
    const tag = (key: string) => ami?.tags[key];
    if (!ami || ami.state === 'deregistered') return `${step.amiId} in ${step.region} is gone: nothing left to mark`;
    if (tag('gild:image') !== step.descendant.image || tag('gild:version') !== step.descendant.version)
      return `${step.amiId} in ${step.region} is no longer tagged ${step.descendant.image} ${step.descendant.version}`;
    return false;
  },
  async run(context, step, run) {
    await createTags(context.clients.ec2(step.region), [step.amiId], { 'gild:base-revoked': step.tag });
    run.summary.push(`marked ${step.descendant.image} ${step.descendant.version} in ${step.region} (${step.amiId}): built on the revoked ${step.image} ${step.version}`);
    return { amiId: step.amiId };
  },
};
