/**
 * Discard: the removal of a failed smoke test's AMI in one region, planned before the test ran ("if the smoke test
 * fails: remove …") and run by the runner only when it failed (the row's `runsWhen`). Every grant on the AMI and its
 * snapshots is withdrawn first (a failing image is never shared); then it is deregistered with its snapshots, or, when
 * the image keeps failures (`smoke.onFailure: 'keep'`), left marked failed until its `gild:keep-until`, when the next
 * run's plan cleans it up.
 *
 * Right before, against live state, as for any removal (check-removable.ts): the AMI is still this image's, of this
 * version, marked failed by the smoke step, named by no parameter and used by nothing.
 */
import { describeImages } from '../adapters/ec2.ts';
import type { StepRun, StepStage } from '../apply/step-stage.ts';
import type { StepOfKind } from '../plan/run-plan.ts';
import { withdrawGrants } from '../smoke/fail-image.ts';
import { amisOf } from './amis-of.ts';
import { whyNotRemovable } from './check-removable.ts';
import { removeAmi } from './remove-ami.ts';
import { anotherPipelinesAmi } from '../plan/prefix-tag.ts';

export const discardStage: StepStage<'discard'> = {
  kind: 'discard',
  title: (step) => `${step.onFailure === 'keep' ? 'withdraw the grants on' : 'remove'} the failed ${step.image} ${step.version} in ${step.region}`,
  async check(context, step, run) {
    // NOTE: a copy step that did not finish left no copy to remove (it removes its own when the smoke test fails).
    const unfinishedCopy = 'from' in step.amis ? Object.values(step.amis.copies ?? {}).find((copyStepId) => !copyFinished(run, copyStepId)) : undefined;
    if (unfinishedCopy) return `${unfinishedCopy} did not finish: it removed its own copy, there is none of ${step.image} ${step.version} in ${step.region} to remove`;
    const amiId = amiOf(step, run);
    if (!amiId) return `there is no AMI of ${step.image} ${step.version} in ${step.region} to remove`;
    const [ami] = await describeImages(context.clients.ec2(step.region), { imageIds: [amiId] });
    if (!ami) return `${amiId} in ${step.region} no longer exists`;
    if (ami.tags['gild:image'] !== step.image || ami.tags['gild:version'] !== step.version)
      return `${amiId} in ${step.region} is not tagged gild:image=${step.image} gild:version=${step.version}: this run did not make or resume it`;
    // NOTE: another pipeline's AMI (another SSM prefix, src/plan/prefix-tag.ts) is never this run's to withdraw or remove.
    const another = anotherPipelinesAmi(ami.tags, context.settings.ssmPrefix, amiId, step.region);
    if (another) return another;
    // NOTE: only what the smoke step marked failed goes; unmarked (the marking failed), the next run decides again.
    if (ami.tags['gild:status'] !== 'failed')
      return `${amiId} in ${step.region} is tagged gild:status=${ami.tags['gild:status'] ?? '(none)'}, not failed: only an AMI its smoke test marked failed is removed`;
    return step.onFailure === 'keep' ? false : whyNotRemovable(context, step.region, step.image, amiId);
  },
  async run(context, step, run) {
    const amiId = amiOf(step, run)!;
    const ec2 = context.clients.ec2(step.region);
    const [ami] = await describeImages(ec2, { imageIds: [amiId] });
    const snapshotIds = [...new Set([...(ami?.snapshotIds ?? []), ...(amisOf(run, step.amis).snapshots[step.region] ?? [])])];
    const withdrawn = await withdrawGrants(ec2, amiId, snapshotIds);
    if (withdrawn.length > 0) run.summary.push(`${step.region}: withdrew ${withdrawn.join(', ')} from ${amiId} and its snapshots: a failing image is never shared`);
    if (step.onFailure === 'keep') {
      run.summary.push(`${step.region}: kept ${amiId} unpublished, tagged gild:status=failed until ${ami?.tags['gild:keep-until'] ?? '(no gild:keep-until)'} (smoke.onFailure is "keep")`);
      return { removed: [], withdrawn };
    }
    const removed = await removeAmi(context, step.region, amiId, snapshotIds);
    run.summary.push(
      `${step.region}: deregistered ${amiId}${removed.length > 1 ? ` and deleted ${removed.slice(1).join(', ')}` : ''} because it failed (its smoke test, or its Packer build after the AMI; smoke.onFailure is "deregister")`,
    );
    return { removed, withdrawn };
  },
};

function amiOf(step: StepOfKind<'discard'>, run: StepRun): string | undefined {
  return amisOf(run, step.amis).amis[step.region];
}

/** Whether that copy step finished with a copy (the runner answers only a step that is done, and throws otherwise). */
function copyFinished(run: StepRun, copyStepId: string): boolean {
  try {
    return run.output(copyStepId, 'copy') !== undefined;
  } catch {
    return false;
  }
}
