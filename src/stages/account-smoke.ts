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
import { isFailingOutcome, type SmokeResult } from './stage.ts';
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
      // NOTE: the launch settings are the first region's (subnets and groups are regional); the other regions of
      // `smoke.regions: 'all'` launch in their default VPC. All at once: each region's test is independent.
      const regions = step.regions ?? [step.region];
      // NOTE: allSettled, not all: a region whose test throws must not end the step while another region's test still
      // has instances (or a Windows key pair) to remove; the first failure is the step's once every region has ended.
      const settled = await Promise.allSettled(
        regions.map((region) =>
          smokeTest(inAccount, {
            image: {
              ...image,
              buildRegion: region,
              smoke: {
                ...image.smoke,
                ...(region === step.region ? step.launch : { subnetId: undefined, instanceProfile: step.launch.instanceProfile }),
                securityGroupIds: region === step.region ? step.launch.securityGroupIds : [],
                packageManifest: false,
              },
            },
            version: step.version,
            currentVersion: undefined,
            amis: { [region]: amis[region]! },
            snapshots: {},
            logger: run.logger,
            logFile: run.logFile,
            // Its own folder: the building account's smoke report of the same image stays as it was.
            logDir: path.join(run.runDir, region === step.region ? `account-${step.account}` : `account-${step.account}-${region}`),
            // The copy is the same image: its instances must differ from the same build instance.
            buildIdentityFile: path.join(packerFolderOf(run.runDir, step.image), buildIdentityFileName),
            signal: run.signal,
            defer: run.defer,
            summary: run.summary,
          }),
        ),
      );
      const thrown = settled.find((result) => result.status === 'rejected');
      if (thrown) throw thrown.reason;
      const results = settled.flatMap((result) => (result.status === 'fulfilled' ? [result.value] : []));
      const result = combineRegions(regions, results);
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
      // Each region's copy carries its own region's verdict: a region whose test was skipped stays untested even
      // when another region passed.
      const verdicts = regionVerdicts(amis, regions, results, result, context.now());
      await Promise.all(Object.entries(amis).map(([region, amiId]) => createTags(target.ec2(region), [amiId], verdicts[region]!)));
      const skipped = regions.filter((_, index) => results[index]!.result === 'skipped');
      const skippedNote = result.result === 'passed' && skipped.length > 0 ? ` (skipped in ${skipped.join(', ')}; those copies stay untested)` : '';
      run.summary.push(`smoke test in account ${step.account} ${result.result}${result.result === 'skipped' ? `: ${result.reason}` : ''}${skippedNote}`);
      return result;
    },
  };
}

/** One verdict for the account: the first region's failure (named), else passed if any passed, else skipped. */
function combineRegions(regions: readonly string[], results: readonly SmokeResult[]): SmokeResult {
  if (results.length === 1) return results[0]!;
  const failing = results.findIndex((result) => result.result === 'failed' || result.result === 'timed-out');
  const checks = results.flatMap((result) => ('checks' in result ? result.checks : []));
  if (failing >= 0) {
    const failed = results[failing] as Extract<SmokeResult, { result: 'failed' | 'timed-out' }>;
    return { result: failed.result, reason: `in ${regions[failing]}: ${failed.reason}`, checks };
  }
  if (results.some((result) => result.result === 'passed')) return { result: 'passed', checks };
  return results[0]!;
}

/**
 * The verdict tags of each region's copy: a tested region's copy from that region's own result; a copy in a region
 * not tested on its own (`smoke.regions` is the first region only) from the account's verdict, as the one test
 * covers them all.
 */
export function regionVerdicts(
  amis: Readonly<Record<string, string>>,
  regions: readonly string[],
  results: readonly SmokeResult[],
  combined: Exclude<SmokeResult, { result: 'failed' | 'timed-out' }>,
  now: Date,
): Record<string, Record<string, string>> {
  return Object.fromEntries(
    Object.keys(amis).map((region) => {
      const index = regions.indexOf(region);
      const own = index >= 0 ? results[index]! : combined;
      // A region's own failure would have failed the account (combineRegions): only passed and skipped reach here.
      return [region, verdictTags(own.result === 'failed' || own.result === 'timed-out' ? combined : own, now)];
    }),
  );
}
