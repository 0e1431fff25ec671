/**
 * Account smoke: the image's smoke test, run on the copy in another account, as that account's role, before that
 * account's parameters name the copy. It is the building account's smoke test (smoke-test.ts) with the account's
 * clients, in the account's first region, launched where the `smoke` entry says (the building account's subnet,
 * groups and instance profile do not exist there). The package manifest is left to the building account's test:
 * the copy is the same image, and its manifest is the baseline for the next version.
 */
import path from 'node:path';
import { createTags } from '../adapters/ec2.ts';
import { StepFailure, type StepStage } from '../apply/step-stage.ts';
import { describeAwsError } from '../errors.ts';
import { buildIdentityFileName } from '../render/machine-identity.ts';
import { imageOf, packerFolderOf } from './build.ts';
import { accountClientsFor, asAwsClients, copiesOf } from './distribute.ts';
import { markFailed, verdictTags } from '../smoke/fail-image.ts';
import { isFailingOutcome } from './stage.ts';
import type { SmokeTest } from './smoke-test.ts';

export function createAccountSmokeStage(smokeTest: SmokeTest): StepStage<'account-smoke'> {
  return {
    kind: 'account-smoke',
    title: (step) => `smoke test ${step.image} ${step.version} in account ${step.account}`,
    async run(context, step, run) {
      const image = imageOf(run);
      const amis = copiesOf(step.copies, run);
      const target = accountClientsFor(context, step);
      await target.confirmAccess();
      const inAccount = { ...context, clients: asAwsClients(context, target) };
      const result = await smokeTest(inAccount, {
        image: { ...image, buildRegion: step.region, smoke: { ...image.smoke, ...step.launch, securityGroupIds: step.launch.securityGroupIds, packageManifest: false } },
        version: step.version,
        currentVersion: undefined,
        amis,
        snapshots: {},
        logger: run.logger,
        logFile: run.logFile,
        // Its own folder: the building account's smoke report of the same image stays as it was.
        logDir: path.join(run.runDir, `account-${step.account}`),
        // The copy is the same image: its instances must differ from the same build instance.
        buildIdentityFile: path.join(packerFolderOf(run.runDir, step.image), buildIdentityFileName),
        signal: run.signal,
        defer: run.defer,
        summary: run.summary,
      });
      if (result.result === 'failed' || result.result === 'timed-out') {
        const failing = result.checks
          .filter((check) => isFailingOutcome(check.outcome))
          .map((check) => `check "${check.name}" on ${check.instanceType}: ${check.outcome}${check.reason ? `: ${check.reason}` : ''}`);
        if (!run.signal.aborted) {
          // NOTE: the copies are marked, not removed: the next run's plan tests a copy marked failed again before
          // anything publishes it there, and retires it with its version.
          try {
            const marked = await markFailed({
              context: inAccount,
              image,
              version: step.version,
              amis,
              snapshots: {},
              reason: `smoke test in account ${step.account} ${result.result}: ${result.reason}`,
            });
            run.summary.push(...marked.map((line) => `account ${step.account}: ${line}`));
          } catch (error) {
            failing.push(`could not tag the failed copies gild:status=failed: ${describeAwsError(error)}`);
          }
        }
        throw new StepFailure(`smoke test of the copy in account ${step.account} ${result.result}: ${result.reason}; it is not published there`, failing);
      }
      // NOTE: a skipped smoke test is never recorded as tested (see smoke.ts).
      const verdict = verdictTags(result, context.now());
      await Promise.all(Object.entries(amis).map(([region, amiId]) => createTags(target.ec2(region), [amiId], verdict)));
      run.summary.push(`smoke test in account ${step.account} ${result.result}${result.result === 'skipped' ? `: ${result.reason}` : ''}`);
      return result;
    },
  };
}
