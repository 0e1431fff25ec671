/**
 * Unbin: bring one region's AMI of a deregistered version back from the Recycle Bin (src/plan/plan-restore.ts), as
 * planned. Its snapshots come back first (an AMI without them cannot launch), then the AMI under its own ID; then it is
 * tagged as the version again (`gild:status` as planned, the retirement stamp removed; a version retired while good also loses
 * its phase marks, is re-enabled, un-deprecated and tagged `gild:retain=restored: <reason>`, as no restore step follows) and `versions/<v>` names it
 * again. Only a target with a Recycle Bin plans it; moto has none, so it is proven at the adapter seam
 * (test/unit/unbin-stage.test.ts).
 *
 * Idempotent under retry: what is already back (a lost answer, a restore by hand) is not asked for again, and the
 * AMI's tags are checked once it is back, since the bin kept none to match it by before.
 */
import { ofAnotherPipeline } from '../plan/prefix-tag.ts';
import { createTags, deleteSnapshot, deregisterImage, describeImages, tagValue } from '../adapters/ec2.ts';
import { deleteTagKeys, imageInBin, listBinnedSnapshotsOf, restoreImageFromBin, restoreSnapshotFromBin } from '../adapters/ec2-image-lifecycle.ts';
import { putParameterExpecting } from '../adapters/ssm.ts';
import { StepFailure, type StepStage } from '../apply/step-stage.ts';
import { recordVersionStatus } from './record-version.ts';
import { enableAndUndeprecate, revokeTagKeys } from './restore.ts';
import { retainTag } from '../plan/plan-retirement-policy.ts';

/** The statuses an AMI can have been deregistered in by gild's retirement: anything else was never a published version. */
const retiredStatuses = new Set(['retiring', 'revoked', 'published']);

/**
 * Whether the AMI's tags show it was published: retirement tags `gild:status=retiring` and `gild:retired-at` before it
 * deregisters, so an AMI with no status (a build that died before tagging one) was never a published version.
 */
const showsPublished = (tags: Readonly<Record<string, string>>) => retiredStatuses.has(tags['gild:status'] ?? '') || tags['gild:published-at'] !== undefined || tags['gild:retired-at'] !== undefined;

export const unbinStage: StepStage<'unbin'> = {
  kind: 'unbin',
  title: (step) => `bring ${step.image} ${step.version} back from the Recycle Bin in ${step.region}`,
  async check(context, step) {
    const ec2 = context.clients.ec2(step.region);
    const [ami] = await describeImages(ec2, { imageIds: [step.amiId] });
    if (ami && ami.state !== 'deregistered') {
      if (ami.tags['gild:image'] === step.image && ami.tags['gild:version'] === step.version) return false;
      throw new StepFailure(`${step.id} refused: ${step.amiId} in ${step.region} exists and is not tagged ${step.image} ${step.version}`);
    }
    if (!(await imageInBin(ec2, step.amiId)))
      throw new StepFailure(`${step.id} refused: ${step.amiId} is no longer in the Recycle Bin of ${step.region} (its retention period ended, or someone restored and deregistered it again)`);
    return false;
  },
  async run(context, step, run) {
    const ec2 = context.clients.ec2(step.region);
    const [before] = await describeImages(ec2, { imageIds: [step.amiId] });
    // What this step itself brought back: all it may send back when the AMI turns out not to be the version.
    const restoredSnapshots: string[] = [];
    let restoredAmi = false;
    if (!before || before.state === 'deregistered') {
      // Snapshots first: still in the bin ones only (a retry finds those it already brought back gone from it).
      const binned = new Set((await listBinnedSnapshotsOf(ec2, [step.amiId])).map((snapshot) => snapshot.snapshotId));
      for (const snapshotId of step.snapshotIds) {
        if (!binned.has(snapshotId)) continue;
        await restoreSnapshotFromBin(ec2, snapshotId);
        restoredSnapshots.push(snapshotId);
      }
      if (await imageInBin(ec2, step.amiId)) {
        await restoreImageFromBin(ec2, step.amiId);
        restoredAmi = true;
      }
    }
    const [ami] = await describeImages(ec2, { imageIds: [step.amiId] });
    if (!ami || ami.state === 'deregistered') throw new StepFailure(`${step.amiId} in ${step.region} is not back after RestoreImageFromRecycleBin`);
    const status = ami.tags['gild:status'];
    // NOTE: the bin is matched by name, and another pipeline in the account (another ssmPrefix) names its AMIs alike.
    if (ami.tags['gild:image'] !== step.image || ami.tags['gild:version'] !== step.version || !showsPublished(ami.tags) || ofAnotherPipeline(ami.tags, context.settings.ssmPrefix)) {
      // The bin keeps no tags to match by, so only now can it tell. What this step brought back goes back where it
      // was (deregistered, deleted: the bin's retention rule keeps them again); nothing it did not bring back is touched.
      // NOTE: IAM lets gild deregister and delete only what is tagged gild:image (ShareAndRetireOnlyGildImages): one
      // that is not stays back, and the message says so and how to send it back by hand, rather than hiding the refusal.
      const undone: string[] = [];
      const left: string[] = [];
      const sendBack = async (id: string, write: () => Promise<void>, byHand: string) => {
        try {
          await write();
          undone.push(id);
        } catch (error) {
          left.push(`${id} (${error instanceof Error ? error.message : String(error)}; \`${byHand}\`)`);
        }
      };
      if (restoredAmi) await sendBack(step.amiId, () => deregisterImage(ec2, step.amiId), `aws ec2 deregister-image --region ${step.region} --image-id ${step.amiId}`);
      for (const snapshotId of restoredSnapshots) await sendBack(snapshotId, () => deleteSnapshot(ec2, snapshotId), `aws ec2 delete-snapshot --region ${step.region} --snapshot-id ${snapshotId}`);
      throw new StepFailure(
        `${step.amiId} in ${step.region} came back from the Recycle Bin tagged ${ami.tags['gild:image'] ?? '(no image)'} ${ami.tags['gild:version'] ?? '(no version)'} gild:status=${status ?? '(none)'}: not the published ${step.image} ${step.version}; nothing is published` +
          (undone.length > 0 ? `; what this step brought back is deregistered or deleted again (${undone.join(', ')})` : '') +
          (left.length > 0 ? `; it could not send back ${left.join(', ')}` : '') +
          `. Restore the right AMI by hand (\`aws ec2 restore-image-from-recycle-bin\`), or leave it`,
      );
    }
    const now = context.now().toISOString();
    const good = step.status === 'published';
    if (good) {
      // A version retired while good has no restore step after this one: its retirement's phase marks (deprecated,
      // disabled) come off here, or the next nightly would take them for retirement under way and go on with it.
      await enableAndUndeprecate(context, ec2, ami, { amiId: step.amiId, region: step.region, onlyTagged: 'is only tagged published again' }, run);
    }
    await deleteTagKeys(ec2, [step.amiId], good ? ['gild:retired-at', ...revokeTagKeys] : ['gild:retired-at']);
    await createTags(ec2, [step.amiId], {
      'gild:status': step.status,
      'gild:unbinned-at': now,
      'gild:unbinned-by': tagValue(step.by),
      'gild:unbinned-reason': tagValue(step.restoredReason),
      // Retention pins a version any of whose AMIs carries gild:retain: the restore is what keeps it from being retired again.
      ...(good ? { [retainTag]: tagValue(`restored: ${step.restoredReason}`) } : {}),
    });
    // NOTE: the revocation first: a versions/<v> naming a revoked AMI without its status would be handed out by resolve.
    if (step.revoked) {
      const revoked = step.revoked;
      await recordVersionStatus(context, step.region, step.image, step.version, (current) => (current.revoked ? current : { ...current, revoked }));
    }
    const ssm = context.clients.ssm(step.region);
    const written = await putParameterExpecting(ssm, step.parameterName, step.amiId, {
      expected: undefined,
      dataType: 'aws:ec2:image',
      description: `${step.image} ${step.version}, brought back from the Recycle Bin`,
    });
    if (written !== 'written') throw new StepFailure(`${step.parameterName} in ${step.region} names ${written.moved ?? 'nothing'} since the plan was made, not ${step.amiId}; left as it is`);
    run.summary.push(`brought ${step.version} back from the Recycle Bin in ${step.region} (${[...step.snapshotIds, step.amiId].join(', ')}): ${step.restoredReason}`);
    return { amiId: step.amiId, snapshotIds: step.snapshotIds };
  },
};
