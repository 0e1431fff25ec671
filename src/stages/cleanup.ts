/**
 * Cleanup: an AMI gild built that will never be published (a failed smoke
 * test, a crash before publishing, a build this run does not resume) is
 * deregistered with its snapshots, so nothing gild made is left to cost money.
 */
import { describeImagesUsingSnapshots } from '../adapters/ec2.ts';
import type { StepStage } from '../apply/step-stage.ts';
import { targetCapabilities } from '../target/capabilities.ts';
import { whyNotRemovable } from './check-removable.ts';
import { removeAmi } from './remove-ami.ts';

export const cleanupStage: StepStage<'cleanup'> = {
  kind: 'cleanup',
  title: (step) => (step.amiId ? `clean up ${step.amiId} in ${step.region}` : `delete leftover snapshots in ${step.region}`),
  mutates: true,
  heavy: false,
  async check(context, step) {
    if (step.amiId) return whyNotRemovable(context, step.region, step.image, step.amiId);
    // The plan saw no AMI using these snapshots; one registered since (or one the plan could not see) keeps them.
    const users = await describeImagesUsingSnapshots(context.clients.ec2(step.region), step.snapshotIds, { snapshotFilter: targetCapabilities(context).snapshotImageFilter });
    if (users.length === 0) return false;
    const used = step.snapshotIds.filter((snapshotId) => users.some((ami) => ami.snapshotIds.includes(snapshotId)));
    return `${used.join(', ')} in ${step.region} ${used.length === 1 ? 'is' : 'are'} still used by ${users.map((ami) => ami.amiId).join(', ')}`;
  },
  async run(context, step, run) {
    const removed = await removeAmi(context, step.region, step.amiId, step.snapshotIds);
    run.summary.push(`${step.amiId ? 'cleaned up' : 'deleted leftover snapshots'} ${removed.join(', ')} in ${step.region}: ${step.reason}`);
    return { removed };
  },
};
