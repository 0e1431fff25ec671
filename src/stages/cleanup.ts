/**
 * Cleanup: an AMI gild built that will never be published (a failed smoke
 * test, a crash before publishing, a build this run does not resume) is
 * deregistered with its snapshots, so nothing gild made is left to cost money.
 * So are snapshots whose AMI is gone, once no AMI uses them, and an AMI
 * Packer made that gild never tagged (recognised by its name), once tagged.
 */
import { createTags, describeImages } from '../adapters/ec2.ts';
import { WorldMoved, type StepStage } from '../apply/step-stage.ts';
import type { Context } from '../context.ts';
import { shortReason } from '../smoke/fail-image.ts';
import { whyNotRemovable } from './check-removable.ts';
import { removeAmi, snapshotsInUse } from './remove-ami.ts';
import { prefixTag } from '../plan/prefix-tag.ts';

export const cleanupStage: StepStage<'cleanup'> = {
  kind: 'cleanup',
  title: (step) => (step.amiId ? `clean up ${step.amiId} in ${step.region}` : `delete leftover snapshots in ${step.region}`),
  async check(context, step) {
    if (step.amiId && step.untagged) return whyNotAdoptable(context, step.region, step.image, step.amiId, step.untagged.runId);
    if (step.amiId) return whyNotRemovable(context, step.region, step.image, step.amiId);
    // The plan saw no AMI using these snapshots; one registered since (or one the plan could not see) keeps them.
    const { users, used } = await snapshotsInUse(context, step.region, step.snapshotIds);
    if (users.length === 0) return false;
    return `${used.join(', ')} in ${step.region} ${used.length === 1 ? 'is' : 'are'} still used by ${users.map((ami) => ami.amiId).join(', ')}`;
  },
  async run(context, step, run) {
    if (step.amiId && step.untagged) {
      // NOTE: destructive actions only ever touch gild-tagged resources: the AMI and its snapshots are tagged first,
      // then checked again as any gild AMI is, right before they go.
      const ec2 = context.clients.ec2(step.region);
      const [ami] = await describeImages(ec2, { imageIds: [step.amiId] });
      const snapshotIds = [...new Set([...step.snapshotIds, ...(ami?.snapshotIds ?? [])])];
      await createTags(ec2, [step.amiId, ...snapshotIds], {
        'gild:image': step.image,
        'gild:version': step.untagged.version,
        'gild:run-id': step.untagged.runId,
        'gild:status': 'failed',
        'gild:failure': shortReason(`found untagged by run ${context.runId}: named ${step.untagged.name}, as the build step names its AMIs; run ${step.untagged.runId} is gone`),
        ...prefixTag(context.settings.ssmPrefix),
      });
      const moved = await whyNotRemovable(context, step.region, step.image, step.amiId);
      if (moved) throw new WorldMoved(`${moved} (tagged gild:image=${step.image}; the next run decides again)`);
    }
    const removed = await removeAmi(context, step.region, step.amiId, step.snapshotIds);
    run.summary.push(`${step.amiId ? 'cleaned up' : 'deleted leftover snapshots'} ${removed.join(', ')} in ${step.region}: ${step.reason}`);
    return { removed };
  },
};

/** An AMI recognised by name: still without gild tags (or tagged by an earlier attempt of this step), unused, unnamed. */
async function whyNotAdoptable(context: Context, region: string, imageName: string, amiId: string, runId: string): Promise<false | string> {
  const [ami] = await describeImages(context.clients.ec2(region), { imageIds: [amiId] });
  const runTag = ami?.tags['gild:run-id'];
  if (ami && runTag !== undefined && runTag !== runId) return `${amiId} in ${region} is now tagged gild:run-id=${runTag}`;
  return whyNotRemovable(context, region, imageName, amiId, undefined, true);
}
