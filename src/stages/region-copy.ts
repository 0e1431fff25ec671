/**
 * Copy: gild's own copy of the build region's AMI into another region, in place of Packer's `ami_regions`. It starts
 * as soon as the build is done and runs beside the smoke test (the smoke test needs only the build region's AMI), so
 * a night no longer waits for every copy before it starts testing. It ends only once the copy is available *and* the
 * source has passed its smoke test; a failing image is never copied: when the source is marked failed (or removed)
 * by its smoke test, the copy is cancelled (a pending copy is stopped by deregistering it, as AWS documents) and
 * removed with its snapshots. So is a copy whose smoke step (the plan's `besideSmoke`) ends without success yet without
 * tagging the source failed (it threw, or could not tag): the copy waits for that step's settling as well as the tag.
 * And so is a copy whose build's Packer failed after handing on its AMI (the plan's `besideBuild`, a `packer-exit`
 * step): the copy finishes only once that step is done.
 *
 * Resumable: the copy is tagged as gild's from its creation (image, version, run, source), its client token is a
 * function of the source and the region, and a rerun finds it again by its name (the build's AMI name), so a run
 * killed mid-copy leaves nothing the next run cannot find.
 */
import { createTags, describeImages, type ImageSummary } from '../adapters/ec2.ts';
import { startRegionCopy } from '../adapters/ec2-region-copy.ts';
import { StepFailure, type StepResult, type StepRun, type StepStage } from '../apply/step-stage.ts';
import type { StepOfKind } from '../plan/run-plan.ts';
import { amisOf } from './amis-of.ts';
import { imageOf } from './build.ts';
import { aborted, pauseUnless } from './waits.ts';
import { removeAmi } from './remove-ami.ts';
import { prefixTag } from '../plan/prefix-tag.ts';

/** Tags that describe the source's own life, not the copy's. */
const sourceOnlyTags = new Set(['gild:status', 'gild:tested-at', 'gild:published-at', 'gild:keep-reason', 'gild:keep-until', 'gild:failure']);
const hour = 3_600_000;

export const regionCopyStage: StepStage<'copy'> = {
  kind: 'copy',
  title: (step) => `copy ${step.image} ${step.version} to ${step.region}`,
  async check(context, step, run) {
    const sourceAmiId = sourceOf(step, run);
    const [source] = await describeImages(context.clients.ec2(step.sourceRegion), { imageIds: [sourceAmiId] });
    if (!source) return `the source ${sourceAmiId} no longer exists in ${step.sourceRegion}`;
    const status = source.tags['gild:status'];
    return source.state === 'available' && status !== 'failed' ? false : `the source ${sourceAmiId} is ${source.state}${status ? ` (gild:status=${status})` : ''}`;
  },
  async run(context, step, run) {
    const image = imageOf(run);
    const sourceAmiId = sourceOf(step, run);
    const sourceEc2 = context.clients.ec2(step.sourceRegion);
    const ec2 = context.clients.ec2(step.region);
    const [source] = await describeImages(sourceEc2, { imageIds: [sourceAmiId] });
    if (!source?.name) throw new StepFailure(`the source ${sourceAmiId} no longer exists in ${step.sourceRegion}`);
    const sourceTags = Object.fromEntries(Object.entries(source.tags).filter(([key]) => !sourceOnlyTags.has(key)));
    // NOTE: gild:image, gild:run-id and gild:version are on the copy from its first instant: a run killed now leaves a
    // copy the next run's plan sees as this build's (resumed or cleaned up), never an unknown leftover.
    const copyTags = {
      ...sourceTags,
      'gild:image': step.image,
      'gild:version': step.version,
      'gild:status': 'candidate',
      'gild:source-ami': sourceAmiId,
      'gild:copied-at': context.now().toISOString(),
      // The pipeline that makes the copy owns it, whether or not its source (built before the tag existed) says so.
      ...prefixTag(context.settings.ssmPrefix),
    };
    const started = await startRegionCopy({
      ec2,
      region: step.region,
      sourceRegion: step.sourceRegion,
      sourceAmiId,
      name: source.name,
      description: source.description,
      kmsKeyId: step.kmsKeyId,
      tags: copyTags,
    });
    run.logger.info(`${started.outcome === 'found' ? 'found the copy an earlier attempt started' : 'started the copy'}: ${sourceAmiId} (${step.sourceRegion}) → ${started.amiId} (${step.region})`);
    const [begun] = await describeImages(ec2, { imageIds: [started.amiId] });
    if (begun && begun.tags['gild:image'] === undefined) {
      // NOTE: AWS tags a copy at its creation (TagSpecifications); a copy that came without them is tagged now, and until
      // then the next run's plan recognises it by its name, the build's. Never re-sent to a copy that has them: the
      // policy's NeverMoveOwnership deny refuses a gild:image sent again.
      await createTags(ec2, [begun.amiId, ...begun.snapshotIds], copyTags);
      run.logger.info(`the copy ${begun.amiId} came without the tags asked for at its creation: tagged it as ${step.image} ${step.version}'s now`);
    }
    const pollMs = Number(context.env.GILD_COPY_POLL_MS ?? '') || 15_000;
    // NOTE: bounded: a copy takes minutes to an hour, and the smoke test its own timeout on top; a run whose smoke test
    // never decided (killed, or a plan without `besideSmoke`) leaves the copy tagged candidate, which the next run's plan cleans up.
    const deadline = Date.now() + 2 * hour + image.smoke.timeoutSeconds * 1000;
    let copyState = 'pending';
    // NOTE: the smoke step runs beside the copy, not before it, so its end is awaited here rather than through `after`:
    // a smoke step that ends without success and without tagging the source failed (it threw, or could not tag) ends
    // the copy at once, instead of leaving it to poll the source's tag until its deadline, holding the lease and the job.
    const smokeSettled = step.besideSmoke ? settledResult(run, step.besideSmoke) : undefined;
    let smokeOutcome: StepResult | undefined;
    void smokeSettled?.then((result) => (smokeOutcome = result));
    // Packer exits seconds after the AMI a copy starts from, long before the copy is done: its failure ends the copy
    // at the next poll, and the copy finishes only once it is known to be done.
    const packerSettled = step.besideBuild ? settledResult(run, step.besideBuild) : undefined;
    let packerOutcome: StepResult | undefined;
    void packerSettled?.then((result) => (packerOutcome = result));
    // NOTE: the source's verdict is the smoke step's to write, and that step settles (waking this loop) only after it
    // wrote it. So beside a smoke step the source is read at the first poll, at the first poll after the step settled,
    // and once more when the copy is available, just before the copy takes its verdict: not at every poll of a copy
    // that takes minutes to an hour (one DescribeImages of the source every 15 s, for nothing). Without a smoke step
    // beside, every poll reads it, as anyone else may change it.
    let current: ImageSummary | undefined;
    let readAfterSmoke = false;
    /** Cancels the copy (deregistering a pending copy is how AWS stops one), removes it with its snapshots, and fails saying why. */
    const cancel = async (why: string, snapshotIds: readonly string[]): Promise<never> => {
      const removed = await removeAmi(context, step.region, started.amiId, snapshotIds);
      run.logger.warn(`${why}: cancelled and removed the copy ${removed.join(', ')} in ${step.region}`);
      throw new StepFailure(`${why}: its copy in ${step.region} was cancelled and removed`);
    };
    const cancelForPacker = async (outcome: Exclude<StepResult, { status: 'done' }>, snapshotIds: readonly string[]): Promise<never> => {
      // NOTE: interrupted (or never run), Packer's exit says nothing about the image: the copy stays tagged candidate,
      // as the build's AMI does, for the next run to resume or clean up.
      if (run.signal.aborted || outcome.status === 'skipped')
        throw new StepFailure(`${step.besideBuild} did not finish (${outcome.reason}): the copy ${started.amiId} in ${step.region} stays tagged candidate for the next run`);
      return cancel(`${step.besideBuild} ended ${outcome.status} (${outcome.reason})`, snapshotIds);
    };
    for (let poll = 0; ; poll++) {
      const smokeEnded = smokeOutcome !== undefined;
      const readSource = step.besideSmoke === undefined || poll === 0 || (smokeEnded && !readAfterSmoke);
      const readCopy = describeImages(ec2, { imageIds: [started.amiId] });
      const readTheSource = () => describeImages(sourceEc2, { imageIds: [sourceAmiId] });
      const [[copy], source] = await Promise.all([readCopy, readSource ? readTheSource() : undefined]);
      if (source) [current] = source;
      else if (copy?.state === 'available') [current] = await readTheSource();
      if (smokeEnded) readAfterSmoke = true;
      const verdict = current?.tags['gild:status'];
      if (!current || verdict === 'failed')
        return cancel(
          current
            ? `the source ${sourceAmiId} failed its smoke test (${current.tags['gild:failure'] ?? 'no reason recorded'})`
            : `the source ${sourceAmiId} is gone (removed once its smoke test or its Packer build failed)`,
          copy?.snapshotIds ?? [],
        );
      if (smokeOutcome && smokeOutcome.status !== 'done')
        return cancel(`the smoke step ${step.besideSmoke} ended ${smokeOutcome.status} (${smokeOutcome.reason}) without marking the source ${sourceAmiId} failed`, copy?.snapshotIds ?? []);
      if (packerOutcome && packerOutcome.status !== 'done') await cancelForPacker(packerOutcome, copy?.snapshotIds ?? []);
      if (!copy) throw new StepFailure(`the copy ${started.amiId} in ${step.region} disappeared while it was being made`);
      if (copy.state !== 'pending' && copy.state !== 'available') {
        await removeAmi(context, step.region, started.amiId, copy.snapshotIds);
        throw new StepFailure(`the copy ${started.amiId} in ${step.region} ended ${copy.state}; removed it, the next run copies again`);
      }
      if (copy.state !== copyState)
        run.logger.info(`the copy ${started.amiId} in ${step.region} is ${copy.state}${verdict === 'tested' || verdict === 'untested' ? '' : '; waiting for the smoke test'}`);
      copyState = copy.state;
      // NOTE: a smoke test that could verify nothing (src/smoke/decide-smoke.ts) leaves its AMI `untested`; the copy says the same.
      if (copy.state === 'available' && (verdict === 'tested' || verdict === 'untested' || verdict === 'published')) {
        const packerExit = packerSettled ? await Promise.race([packerSettled, aborted(run.signal).then((): StepResult => ({ status: 'skipped', reason: 'the run was interrupted' }))]) : undefined;
        if (packerExit && packerExit.status !== 'done') await cancelForPacker(packerExit, copy.snapshotIds);
        const untested = verdict === 'untested' ? { 'gild:status': 'untested', 'gild:smoke-skipped': current.tags['gild:smoke-skipped'] ?? 'the smoke test verified nothing' } : undefined;
        await createTags(ec2, [copy.amiId, ...copy.snapshotIds], untested ?? { 'gild:status': 'tested', 'gild:tested-at': current.tags['gild:tested-at'] ?? context.now().toISOString() });
        run.summary.push(`${step.region}: ${copy.amiId} (copy of ${sourceAmiId})`);
        return { region: step.region, amiId: copy.amiId, snapshotIds: copy.snapshotIds };
      }
      if (Date.now() > deadline)
        throw new StepFailure(
          `the copy ${started.amiId} in ${step.region} is ${copy.state} and the smoke test of ${sourceAmiId} has not decided in time; the copy stays tagged candidate, and the next run finds it again`,
        );
      const pause = copyPause({ copyAvailable: copy.state === 'available', smokeBeside: smokeSettled !== undefined, smokeEnded, pollMs, msToDeadline: deadline - Date.now() });
      await pauseUnless(pause.ms, run.signal, pause.untilSmokeSettles ? smokeSettled : undefined);
    }
  },
};

/**
 * How long a copy waits before its next poll, and whether the smoke step beside it settling ends the wait early.
 * Until that step has settled (as of the poll just made), its settling wakes the copy; once it has, the copy polls every
 * `pollMs`: a settled promise ends every wait at once, and a copy still pending after its smoke test passed polled as
 * fast as the answers came (two DescribeImages a round trip, for as long as the copy took). An available copy beside a smoke step still running waits
 * for that step alone (up to the deadline): nothing about the copy changes until it settles.
 */
export function copyPause(input: { readonly copyAvailable: boolean; readonly smokeBeside: boolean; readonly smokeEnded: boolean; readonly pollMs: number; readonly msToDeadline: number }): {
  readonly ms: number;
  readonly untilSmokeSettles: boolean;
} {
  if (!input.smokeBeside || input.smokeEnded) return { ms: input.pollMs, untilSmokeSettles: false };
  return { ms: input.copyAvailable ? Math.max(0, input.msToDeadline) : input.pollMs, untilSmokeSettles: true };
}

/** Another step's result once it settled (a rejection read as a failure), or undefined when it is not in this process. */
function settledResult(run: StepRun, stepId: string): Promise<StepResult> | undefined {
  return run.settled(stepId)?.then(
    (result) => result,
    (error: unknown): StepResult => ({ status: 'failed', reason: error instanceof Error ? error.message : String(error), error, durationMs: 0 }),
  );
}

function sourceOf(step: StepOfKind<'copy'>, run: StepRun): string {
  const amiId = amisOf(run, step.source).amis[step.sourceRegion];
  if (!amiId) throw new StepFailure(`${'from' in step.source ? step.source.from : 'the plan'} made no AMI in ${step.sourceRegion} to copy to ${step.region}`);
  return amiId;
}
