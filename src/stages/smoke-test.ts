/**
 * Smoke test: launch the built AMI once per smoke instance type (src/smoke/launch-instances.ts), test each instance
 * (src/smoke/test-instance.ts), decide the verdict (src/smoke/decide-smoke.ts), keep the package manifest, and
 * always terminate what was launched. The outcome is the SmokeResult it returns; it changes no AMI: the smoke step
 * (smoke.ts) records the verdict on the AMIs, and removing a failed one is a planned step of its own (discard.ts).
 *
 * One deadline bounds the whole test: `AbortSignal.timeout(smoke.timeoutSeconds)`, handed to everything that waits,
 * beside the run's own signal (SIGINT/SIGTERM, a lost lease), which stops it sooner.
 */
import type { Context } from '../context.ts';
import { decideSmoke, type InstanceProblem } from '../smoke/decide-smoke.ts';
import { keepManifest } from '../smoke/keep-manifest.ts';
import { deleteSmokeKeyPair, launchInstances, terminateLaunched, type LaunchedInstance, type SmokeKeyPair } from '../smoke/launch-instances.ts';
import { type PollSettings } from '../smoke/run-check.ts';
import type { SmokeSettings } from '../smoke/run-smoke-checks.ts';
import { testInstance, type InstanceFindings } from '../smoke/test-instance.ts';
import { defaultOutputLimitBytes } from '../smoke/truncate-output.ts';
import { writeSmokeReport, type SmokeReport } from '../smoke/write-smoke-report.ts';
import { describeAwsError } from '../errors.ts';
import type { ImageRun, SmokeResult } from './stage.ts';

export interface SmokeTestOptions {
  /** Between GetCommandInvocation calls; default 3 s (or GILD_SMOKE_POLL_MS in the context's env). */
  readonly pollMs?: number;
  /** Between the waiters' DescribeInstances/DescribeInstanceStatus calls, rounded to whole seconds (at least 1); default 5 s. */
  readonly instancePollMs?: number;
  /** SendCommand retries while the SSM agent registers; default 10 attempts, 2 s doubling to 30 s. */
  readonly registration?: PollSettings['registration'];
  /** Per stream, per check; default 24 KiB. */
  readonly outputLimitBytes?: number;
}

const noChecksReason = 'no smoke checks defined';

function positiveInt(value: string | undefined): number | undefined {
  const parsed = Number(value);
  return Number.isInteger(parsed) && parsed > 0 ? parsed : undefined;
}

/** Smoke-tests one image's AMIs: a value says how it went; the caller decides what a failure means. */
export type SmokeTest = (context: Context, run: ImageRun) => Promise<SmokeResult>;

export function createSmokeTest(options: SmokeTestOptions = {}): SmokeTest {
  const settingsFor = (context: Context): SmokeSettings => ({
    poll: {
      pollMs: options.pollMs ?? positiveInt(context.env.GILD_SMOKE_POLL_MS) ?? 3000,
      registration: options.registration ?? { attempts: 10, baseDelayMs: 2000, maxDelayMs: 30_000 },
    },
    instancePollMs: options.instancePollMs ?? positiveInt(context.env.GILD_SMOKE_POLL_MS) ?? 5000,
    outputLimitBytes: options.outputLimitBytes ?? defaultOutputLimitBytes,
  });

  return async (context, run) => {
    const { image } = run;
    if (image.smoke.checks.length === 0 && !image.smoke.packageManifest && image.generalize.kind === 'off') return { result: 'skipped', reason: noChecksReason };
    const region = image.buildRegion;
    const amiId = run.amis[region];
    if (!amiId) return { result: 'failed', reason: `the build produced no AMI in the build region ${region}`, checks: [] };

    const startedAt = context.now();
    const ec2 = context.clients.ec2(region);
    const deadline = AbortSignal.timeout(image.smoke.timeoutSeconds * 1000);
    const { launched, keyPair, findings, problems } = await launchAndTest({ context, run, amiId, deadline, settings: settingsFor(context) });
    // NOTE: always terminated: the request is made now, and until AWS accepts it the instances stay registered for
    // cleanup on an interrupt (and at the end of the run); a crash leaves them tagged for the next run's sweep. The
    // key pair (Windows) goes with them, likewise.
    const termination = Promise.all([terminateLaunched({ ec2, launched, logger: run.logger }), deleteSmokeKeyPair({ ec2, keyPair, logger: run.logger })]).then(
      () => ({ terminated: true }) as const,
      (error: unknown) => ({ terminated: false, error }) as const,
    );

    const checks = findings.flatMap((found) => found.checks);
    // Instances stopped by the same interrupt say so once.
    const allProblems = [...new Map([...problems, ...findings.flatMap((found) => found.problems)].map((problem) => [problem.reason, problem])).values()];
    const smoke = decideSmoke({ checks, problems: allProblems, timeoutSeconds: image.smoke.timeoutSeconds });
    const manifest = findings.map((found) => found.manifest).find((found) => found.kind !== 'not-asked');
    if (manifest?.kind === 'not-run') run.summary.push(`package manifest not listed: not run: ${manifest.reason}`);
    const failed = smoke.result === 'failed' || smoke.result === 'timed-out';
    const packageManifest = manifest?.kind === 'listed' ? await keepManifest({ context, run, manifest: manifest.text, asBaseline: !failed }) : undefined;

    if (failed) {
      run.logger.warn(`smoke test ${smoke.result}: ${smoke.reason}`);
      run.summary.push(`smoke test ${smoke.result}: ${smoke.reason}`);
    } else if (smoke.result === 'skipped') {
      run.logger.info(`smoke test skipped: ${smoke.reason}`);
    } else {
      run.logger.info(`smoke test passed: ${checks.length} check${checks.length === 1 ? '' : 's'} on ${launched.map((instance) => instance.instanceType).join(', ')}`);
    }

    // The report says whether each instance was terminated, so it is written once that is known.
    const settled = termination.then(async (ended) => {
      const report: SmokeReport = {
        image: image.name,
        version: run.version,
        runId: context.runId,
        region,
        amiId,
        instances: launched.map(({ instanceType, instanceId }) => ({ instanceType, instanceId, terminated: ended.terminated })),
        checks,
        result: smoke.result,
        reason: smoke.result === 'passed' ? undefined : smoke.reason,
        packageManifest,
        startedAt: startedAt.toISOString(),
        finishedAt: context.now().toISOString(),
      };
      const reportFile = await writeSmokeReport(run.logDir, report);
      run.logger.debug(`smoke report written to ${reportFile}`);
      if (!ended.terminated) throw ended.error;
    });
    if (run.settleLater) run.settleLater(`terminating the smoke instances of ${image.name}`, settled);
    else await settled;
    return smoke;
  };
}

interface LaunchAndTest {
  readonly context: Context;
  readonly run: ImageRun;
  readonly amiId: string;
  readonly deadline: AbortSignal;
  readonly settings: SmokeSettings;
}

/** Launches the instances and tests each; what launched is returned whatever happened, so that it is terminated. */
async function launchAndTest({ context, run, amiId, deadline, settings }: LaunchAndTest): Promise<{
  launched: readonly LaunchedInstance[];
  keyPair: SmokeKeyPair | undefined;
  findings: readonly InstanceFindings[];
  problems: readonly InstanceProblem[];
}> {
  const interrupted: InstanceProblem = { outcome: 'failed', reason: 'interrupted by SIGINT/SIGTERM before the smoke test finished' };
  if (run.signal.aborted) return { launched: [], keyPair: undefined, findings: [], problems: [interrupted] };
  const { image } = run;
  const { launched, keyPair, failure } = await launchInstances({
    ec2: context.clients.ec2(image.buildRegion),
    image,
    version: run.version,
    runId: context.runId,
    ssmPrefix: context.settings.ssmPrefix,
    amiId,
    defer: run.defer,
    logger: run.logger,
  });
  if (failure !== undefined || run.signal.aborted) {
    if (run.signal.aborted) return { launched, keyPair, findings: [], problems: [interrupted] };
    run.logger.warn(`smoke test stopped by an error: ${describeAwsError(failure)}`);
    return { launched, keyPair, findings: [], problems: [{ outcome: 'failed', reason: `the smoke test could not run: ${describeAwsError(failure)}` }] };
  }
  const ssm = context.clients.ssm(image.buildRegion);
  const findings = await Promise.all(
    launched.map((instance, index) => testInstance({ context, run, ssm, instance, deadline, settings, collectManifest: index === 0 && image.smoke.packageManifest, keyPair: keyPair?.keyPair })),
  );
  return { launched, keyPair, findings, problems: [] };
}
