/**
 * Smoke: a failing image is never published. Runs the image's checks on
 * instances launched from the new AMI (see smoke-test.ts), then marks the AMIs
 * `gild:status=tested`, which makes them resumable by a later run should this
 * one stop before publishing.
 */
import path from 'node:path';
import { createTags, describeImagesRaw } from '../adapters/ec2.ts';
import { StepFailure, type StepStage } from '../apply/step-stage.ts';
import { buildIdentityFileName } from '../render/machine-identity.ts';
import { amisOf } from './amis-of.ts';
import { imageOf, packerFolderOf } from './build.ts';
import { isFailingOutcome } from './stage.ts';
import type { SmokeTest } from './smoke-test.ts';

export function createSmokeStage(smokeTest: SmokeTest): StepStage<'smoke'> {
  return {
    kind: 'smoke',
    title: (step) => `smoke test ${step.image} ${step.version}`,
    mutates: true,
    heavy: true,
    async check(context, step, run) {
      const { amis } = amisOf(run, step.amis);
      const image = imageOf(run);
      const amiId = amis[image.buildRegion];
      if (!amiId) return `there is no AMI in the build region ${image.buildRegion}`;
      const [ami] = await describeImagesRaw(context.clients.ec2(image.buildRegion), [amiId]);
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
        const failing = result.checks.filter((check) => isFailingOutcome(check.outcome)).map((check) => `check "${check.name}" on ${check.instanceType}: ${check.outcome}${check.reason ? `: ${check.reason}` : ''}`);
        throw new StepFailure(`smoke test ${result.result}: ${result.reason}`, failing);
      }
      await Promise.all(
        Object.entries(built.amis).map(([region, amiId]) => createTags(context.clients.ec2(region), [amiId, ...(built.snapshots[region] ?? [])], { 'gild:status': 'tested', 'gild:tested-at': context.now().toISOString() })),
      );
      if (result.result === 'skipped') run.logger.info(`smoke test skipped: ${result.reason}`);
      return result;
    },
  };
}
