/**
 * Un-mark a descendant of a restored version (src/plan/plan-descendants.ts): delete `gild:base-revoked` from its AMI.
 * Re-checked just before: the AMI must still be there, still be that image's version, and still carry the very mark the
 * plan saw (a later revoke may have marked it anew, naming another pulled base: that mark stays). Already gone is done.
 */
import { describeImages } from '../adapters/ec2.ts';
import { deleteTagKeys } from '../adapters/ec2-image-lifecycle.ts';
import type { StepStage } from '../apply/step-stage.ts';

export const unmarkDescendantStage: StepStage<'unmark-descendant'> = {
  kind: 'unmark-descendant',
  title: (step) => `un-mark ${step.descendant.image} ${step.descendant.version} in ${step.region}: its base ${step.image} ${step.version} is restored`,
  async check(context, step) {
    const [ami] = await describeImages(context.clients.ec2(step.region), { imageIds: [step.amiId] });
    const tag = (key: string) => ami?.tags[key];
    if (!ami || ami.state === 'deregistered') return `${step.amiId} in ${step.region} is gone: nothing left to un-mark`;
    if (tag('gild:image') !== step.descendant.image || tag('gild:version') !== step.descendant.version)
      return `${step.amiId} in ${step.region} is no longer tagged ${step.descendant.image} ${step.descendant.version}`;
    const mark = tag('gild:base-revoked');
    if (mark !== undefined && mark !== step.tag) return `${step.amiId} in ${step.region} now carries another gild:base-revoked mark (${mark}); it stays`;
    return false;
  },
  async run(context, step, run) {
    const [ami] = await describeImages(context.clients.ec2(step.region), { imageIds: [step.amiId] });
    // Idempotent: a retry after a lost answer finds the mark already gone and writes nothing.
    const unmarked = ami?.tags['gild:base-revoked'] !== undefined;
    if (unmarked) await deleteTagKeys(context.clients.ec2(step.region), [step.amiId], ['gild:base-revoked']);
    run.summary.push(
      `${unmarked ? 'un-marked' : 'already un-marked:'} ${step.descendant.image} ${step.descendant.version} in ${step.region} (${step.amiId}): its base ${step.image} ${step.version} is restored`,
    );
    return { amiId: step.amiId, unmarked };
  },
};
