/**
 * Smoke: a failing image is never published. Runs the image's checks on instances launched from the new AMI (see
 * smoke-test.ts), then records the verdict on the AMIs and their snapshots:
 * - passed: `gild:status=tested`, which makes them publishable, and resumable by a later run should this one stop;
 * - skipped (no check ran, or nothing was verified): `gild:status=untested` with `gild:smoke-skipped` saying why:
 *   publishable as before, never claimed tested;
 * - failed or timed out: `gild:status=failed` with the reason, and the step fails. Removing the AMIs is the plan's
 *   `discard` steps' work (discard.ts), which run only because this step failed.
 * An interrupted smoke test marks nothing: a run that is allowed to finish decides.
 *
 * A region's own test (`step.region`, `smoke.regions: 'all'`) runs the same checks on that region's AMI (launched in
 * its default VPC: the subnet and groups in the settings are the build region's), after the build region's passed.
 * Passing, it tags that region's AMI only; failing, it marks every AMI of the version failed, in every region (a
 * finished copy found by its name, the build's): the image failed, and the plan's discard steps remove them.
 */
import path from 'node:path';
import { createTags, describeImages } from '../adapters/ec2.ts';
import { findRegionCopy } from '../adapters/ec2-region-copy.ts';
import type { Context } from '../context.ts';
import type { ResolvedImage } from '../definition/resolved-image.ts';
import { StepFailure, type StepStage } from '../apply/step-stage.ts';
import { describeAwsError } from '../errors.ts';
import { buildIdentityFileName } from '../render/machine-identity.ts';
import { markFailed, verdictTags } from '../smoke/fail-image.ts';
import { amisOf } from './amis-of.ts';
import { imageOf, packerFolderOf } from './build.ts';
import { isFailingOutcome } from './stage.ts';
import type { SmokeTest } from './smoke-test.ts';

export function createSmokeStage(smokeTest: SmokeTest): StepStage<'smoke'> {
  return {
    kind: 'smoke',
    title: (step) => `smoke test ${step.image} ${step.version}${step.region ? ` in ${step.region}` : ''}`,
    async check(context, step, run) {
      const { amis } = amisOf(run, step.amis);
      const image = imageOf(run);
      const region = step.region ?? image.buildRegion;
      const amiId = amis[region];
      if (!amiId) return `there is no AMI in ${step.region ? '' : 'the build region '}${region}`;
      const [ami] = await describeImages(context.clients.ec2(region), { imageIds: [amiId] });
      if (!ami) return `${amiId} no longer exists`;
      // NOTE: another region's test may have failed the version meanwhile: testing this region's copy of it proves nothing.
      const source = step.region ? amis[image.buildRegion] : undefined;
      const [built] = source ? await describeImages(context.clients.ec2(image.buildRegion), { imageIds: [source] }) : [];
      return built?.tags['gild:status'] === 'failed' ? `${source} in ${image.buildRegion} is marked failed (${built.tags['gild:failure'] ?? 'no reason recorded'})` : false;
    },
    async run(context, step, run) {
      const image = imageOf(run);
      const built = amisOf(run, step.amis);
      const inRegion = step.region
        ? {
            image: { ...image, buildRegion: step.region, smoke: { ...image.smoke, subnetId: undefined, securityGroupIds: [], packageManifest: false } },
            amis: { [step.region]: built.amis[step.region]! },
            snapshots: { [step.region]: built.snapshots[step.region] ?? [] },
            // Its own folder: the build region's smoke report of the same image stays as it was.
            logDir: path.join(run.runDir, `region-${step.region}`),
          }
        : { image, amis: built.amis, snapshots: built.snapshots, logDir: run.runDir };
      const result = await smokeTest(context, {
        image: inRegion.image,
        version: step.version,
        currentVersion: step.previousVersion,
        amis: inRegion.amis,
        snapshots: inRegion.snapshots,
        logger: run.logger,
        logFile: run.logFile,
        logDir: inRegion.logDir,
        // Where the build stage's Packer folder (build.ts) received the build instance's identity.
        buildIdentityFile: path.join(packerFolderOf(run.runDir, image.name), buildIdentityFileName),
        signal: run.signal,
        defer: run.defer,
        summary: run.summary,
        settleLater: run.settleLater,
      });
      if (result.result === 'failed' || result.result === 'timed-out') {
        const failing = result.checks
          .filter((check) => isFailingOutcome(check.outcome))
          .map((check) => `check "${check.name}" on ${check.instanceType}: ${check.outcome}${check.reason ? `: ${check.reason}` : ''}`);
        const reason = `smoke test ${result.result}: ${result.reason}`;
        if (run.signal.aborted) {
          // NOTE: on an interrupt only the instances are cleaned up; marking AMIs is left to a run allowed to finish.
          run.logger.warn(`left ${Object.values(built.amis).join(', ')} unmarked because the run was interrupted; it was never published`);
        } else {
          try {
            const amis = step.region ? { ...(await copiesByName(context, image, step.version, built.amis)), ...built.amis } : built.amis;
            const marked = await markFailed({ context, image, version: step.version, amis, snapshots: built.snapshots, reason: step.region ? `in ${step.region}: ${reason}` : reason });
            for (const line of marked) run.logger.info(`because the smoke test ${result.result}: ${line}`);
            run.summary.push(...marked);
          } catch (error) {
            // NOTE: the image has already failed; not being able to mark it must not hide why. Unmarked, the next run
            // resumes and tests it again, or cleans it up.
            failing.push(`could not tag the failed AMIs gild:status=failed: ${describeAwsError(error)}`);
          }
        }
        throw new StepFailure(reason, failing);
      }
      const verdict = verdictTags(result, context.now());
      await Promise.all(Object.entries(inRegion.amis).map(([region, amiId]) => createTags(context.clients.ec2(region), [amiId, ...(built.snapshots[region] ?? [])], verdict)));
      if (result.result === 'skipped') run.summary.push(`smoke test skipped, AMIs tagged gild:status=untested: ${result.reason}`);
      return result;
    },
  };
}

/**
 * This version's AMIs in the regions the failing step was not given (gild's other copies, finished or still pending),
 * found by the build's AMI name, which every copy carries: marked failed, a pending one is cancelled by its copy step
 * and a finished one removed by its discard step. markFailed leaves alone any not tagged as this image's version.
 */
async function copiesByName(context: Context, image: ResolvedImage, version: string, known: Readonly<Record<string, string>>): Promise<Record<string, string>> {
  const sourceAmiId = known[image.buildRegion];
  if (!sourceAmiId) return {};
  const [source] = await describeImages(context.clients.ec2(image.buildRegion), { imageIds: [sourceAmiId] });
  if (!source?.name) return {};
  const name = source.name;
  const found = await Promise.all(
    image.copyRegions
      .filter((region) => !known[region])
      .map(async (region) => {
        const copy = await findRegionCopy(context.clients.ec2(region), name);
        return copy && copy.tags['gild:image'] === image.name && copy.tags['gild:version'] === version ? [[region, copy.amiId] as const] : [];
      }),
  );
  return Object.fromEntries(found.flat());
}
