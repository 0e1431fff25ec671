/**
 * Smoke: a failing image is never published. Runs the image's checks on instances launched from the new AMI (see
 * smoke-test.ts), then records the verdict on the AMIs and their snapshots:
 * - passed: `gild:status=tested`, which makes them publishable, and resumable by a later run should this one stop;
 * - skipped (no check ran, or nothing was verified): `gild:status=untested` with `gild:smoke-skipped` saying why:
 *   publishable as before, never claimed tested;
 * - failed or timed out: `gild:status=failed` with the reason, and the step fails. Removing the AMIs is the plan's
 *   `discard` steps' work (discard.ts), which run only because this step failed.
 * An interrupted smoke test marks nothing: a run that is allowed to finish decides.
 */
import path from 'node:path';
import { createTags, describeImages } from '../adapters/ec2.ts';
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
    title: (step) => `smoke test ${step.image} ${step.version}`,
    async check(context, step, run) {
      const { amis } = amisOf(run, step.amis);
      const image = imageOf(run);
      const amiId = amis[image.buildRegion];
      if (!amiId) return `there is no AMI in the build region ${image.buildRegion}`;
      const [ami] = await describeImages(context.clients.ec2(image.buildRegion), { imageIds: [amiId] });
      return ami ? false : `${amiId} no longer exists`;
    },
    async run(context, step, run) {
      const image = imageOf(run);
      const built = amisOf(run, step.amis);
      const result = await smokeTest(context, {
        image,
        version: step.version,
        currentVersion: step.previousVersion,
        amis: built.amis,
        snapshots: built.snapshots,
        logger: run.logger,
        logFile: run.logFile,
        logDir: run.runDir,
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
            const marked = await markFailed({ context, image, version: step.version, amis: built.amis, snapshots: built.snapshots, reason });
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
      await Promise.all(Object.entries(built.amis).map(([region, amiId]) => createTags(context.clients.ec2(region), [amiId, ...(built.snapshots[region] ?? [])], verdict)));
      if (result.result === 'skipped') run.summary.push(`smoke test skipped, AMIs tagged gild:status=untested: ${result.reason}`);
      return result;
    },
  };
}
