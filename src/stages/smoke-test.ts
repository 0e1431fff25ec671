/**
 * Smoke test: launch the built AMI once per smoke instance type, run the
 * image's checks through SSM Run Command, collect the package manifest, and
 * always terminate what was launched. The outcome is the SmokeResult it
 * returns (smoke.ts turns a failure into the step's failure); a failed AMI is
 * marked, and deregistered unless the image keeps failures.
 */
import { join } from 'node:path';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import type { Context } from '../context.ts';
import { runInstance, terminateInstances, waitForInstanceRunning } from '../adapters/ec2.ts';
import type { SmokeCheck } from '../definition/schema.ts';
import { describeAwsError } from '../errors.ts';
import { diffManifests, describeManifestDiff } from '../smoke/diff-manifests.ts';
import { linuxIdentityCommands, parseMachineIdentity, windowsIdentityCommands, type MachineIdentity } from '../render/machine-identity.ts';
import { commandExecutionOf } from '../target/command-execution.ts';
import { cycloneDxSbom } from '../smoke/cyclonedx-sbom.ts';
import { readStoredManifest, storeSbom } from '../smoke/evidence-store.ts';
import { evaluateCheck } from '../smoke/evaluate-check.ts';
import { failImage } from '../smoke/fail-image.ts';
import { judgeNewMachine } from '../smoke/new-machine-checks.ts';
import { readPreviousManifest, writeManifest } from '../smoke/package-manifest.ts';
import { runCommand, type PollSettings } from '../smoke/run-check.ts';
import { defaultOutputLimitBytes, truncateOutput } from '../smoke/truncate-output.ts';
import { appendEvidence, writeSmokeReport, type SmokeReport } from '../smoke/write-smoke-report.ts';
import { isFailingOutcome, type CheckResult, type ImageRun, type SmokeResult } from './stage.ts';

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

interface LaunchedInstance {
  readonly instanceType: string;
  readonly instanceId: string;
  readonly undoDefer: () => void;
  terminated: boolean;
}

/** Something that stopped a whole instance from being tested (launch, status checks, agent). */
interface InstanceProblem {
  readonly outcome: 'failed' | 'timed-out';
  readonly reason: string;
}

interface Collected {
  readonly checks: CheckResult[];
  readonly problems: InstanceProblem[];
  manifest: string | undefined;
}

interface Settings {
  readonly poll: PollSettings;
  readonly instancePollMs: number;
  readonly outputLimitBytes: number;
}

const noChecksReason = 'no smoke checks defined';

function positiveInt(value: string | undefined): number | undefined {
  const parsed = Number(value);
  return Number.isInteger(parsed) && parsed > 0 ? parsed : undefined;
}

/** Smoke-tests one image's AMIs: a value says how it went; the caller decides what a failure means. */
export type SmokeTest = (context: Context, run: ImageRun) => Promise<SmokeResult>;

export function createSmokeTest(options: SmokeTestOptions = {}): SmokeTest {
  const settingsFor = (context: Context): Settings => ({
    poll: {
      pollMs: options.pollMs ?? positiveInt(context.env.GILD_SMOKE_POLL_MS) ?? 3000,
      registration: options.registration ?? { attempts: 10, baseDelayMs: 2000, maxDelayMs: 30_000 },
    } satisfies PollSettings,
    instancePollMs: options.instancePollMs ?? positiveInt(context.env.GILD_SMOKE_POLL_MS) ?? 5000,
    outputLimitBytes: options.outputLimitBytes ?? defaultOutputLimitBytes,
  });

  return async (context, run) => {
      const { image } = run;
      if (image.smoke.checks.length === 0 && !image.smoke.packageManifest && image.generalize.kind === 'off') return { result: 'skipped', reason: noChecksReason };
      const region = image.buildRegion;
      const amiId = run.amis[region];
      if (!amiId) return { result: 'failed', reason: `the build produced no AMI in the build region ${region}`, checks: [] };

      const settings = settingsFor(context);
      const startedAt = context.now();
      const overallDeadline = Date.now() + image.smoke.timeoutSeconds * 1000;
      const launched: LaunchedInstance[] = [];
      const collected: Collected = { checks: [], problems: [], manifest: undefined };

      try {
        await testOnInstances(context, run, amiId, overallDeadline, settings, launched, collected);
      } catch (error) {
        if (run.signal.aborted) {
          collected.problems.push({ outcome: 'failed', reason: 'interrupted by SIGINT/SIGTERM before the smoke test finished' });
        } else {
          collected.problems.push({ outcome: 'failed', reason: `the smoke test could not run: ${describeAwsError(error)}` });
          run.logger.warn(`smoke test stopped by an error: ${describeAwsError(error)}`);
        }
      }
      // NOTE: always terminated: the request is made now, and until AWS accepts it the instances stay registered for
      // cleanup on an interrupt (and at the end of the run); a crash leaves them tagged for the next run's sweep.
      const termination = Promise.allSettled([terminateLaunched(context, run, launched)]);

      const smoke = decide(collected, image.smoke.timeoutSeconds);
      const manifestInfo = await keepManifest(context, run, collected.manifest, smoke.result === 'passed');

      let failureActions: string[] = [];
      const interrupted = run.signal.aborted;
      if (smoke.result !== 'passed' && smoke.result !== 'skipped') {
        run.logger.warn(`smoke test ${smoke.result}: ${smoke.reason}`);
        run.summary.push(`smoke test ${smoke.result}: ${smoke.reason}`);
        if (interrupted) {
          // NOTE: on an interrupt only the instances are cleaned up; marking and
          // deregistering AMIs is left to a run that is allowed to finish.
          run.logger.warn(`left ${Object.values(run.amis).join(', ')} untouched because the run was interrupted; it was never published`);
        } else {
          try {
            failureActions = await failImage(context, run, `smoke test ${smoke.result}: ${smoke.reason}`);
          } catch (error) {
            // NOTE: the image has already failed; not being able to mark it must not hide why.
            failureActions = [`could not mark or deregister the failed AMI: ${describeAwsError(error)}. It is unpublished; remove it by hand or rerun.`];
          }
          for (const action of failureActions) run.logger.info(`because the smoke test ${smoke.result}: ${action}`);
          run.summary.push(...failureActions);
        }
      } else {
        run.logger.info(`smoke test passed: ${collected.checks.length} check${collected.checks.length === 1 ? '' : 's'} on ${launched.map((instance) => instance.instanceType).join(', ')}`);
      }

      const writeReport = async () => {
        const report: SmokeReport = {
        image: image.name,
        version: run.version,
        runId: context.runId,
        region,
        amiId,
        instances: launched.map(({ instanceType, instanceId, terminated }) => ({ instanceType, instanceId, terminated })),
        checks: collected.checks,
        result: smoke.result,
        reason: smoke.result === 'passed' ? undefined : smoke.reason,
        packageManifest: manifestInfo,
        failureActions,
        startedAt: startedAt.toISOString(),
        finishedAt: context.now().toISOString(),
        };
        const reportFile = await writeSmokeReport(run.logDir, report);
        run.logger.debug(`smoke report written to ${reportFile}`);
      };
      // The report says whether each instance was terminated, so it is written once that is known.
      const settled = termination.then(async ([terminated]) => {
        await writeReport();
        if (terminated.status === 'rejected') throw terminated.reason;
      });
      if (run.settleLater) run.settleLater(`terminating the smoke instances of ${image.name}`, settled);
      else await settled;

      return smoke;
  };
}

async function testOnInstances(
  context: Context,
  run: ImageRun,
  amiId: string,
  overallDeadline: number,
  settings: Settings,
  launched: LaunchedInstance[],
  collected: Collected,
): Promise<void> {
  const { image } = run;
  const region = image.buildRegion;
  const ec2 = context.clients.ec2(region);
  const tags = {
    'gild:run-id': context.runId,
    'gild:image': image.name,
    'gild:role': 'smoke',
    Name: `gild-smoke-${image.name}-${run.version}`,
  };

  run.signal.throwIfAborted();
  // NOTE: allSettled, not all: a launch that fails must not hide one still in
  // flight, or that instance would never be terminated.
  const launches = await Promise.allSettled(
    image.smoke.instanceTypes.map(async (instanceType) => {
      const instanceId = await runInstance(ec2, {
        amiId,
        instanceType,
        subnetId: image.smoke.subnetId,
        securityGroupIds: image.smoke.securityGroupIds,
        instanceProfile: image.smoke.instanceProfile,
        userData: image.smoke.userData,
        tags,
      });
      // Registered before anything else can throw or wait, so SIGINT/SIGTERM terminates it.
      const undoDefer = run.defer(`terminate smoke instance ${instanceId} (${instanceType}) in ${region}`, () => terminateInstances(ec2, [instanceId]));
      launched.push({ instanceType, instanceId, undoDefer, terminated: false });
      run.logger.info(`launched smoke instance ${instanceId} (${instanceType}) from ${amiId} in ${region}`);
      return instanceId;
    }),
  );
  const launchFailure = launches.find((launch): launch is PromiseRejectedResult => launch.status === 'rejected');
  if (launchFailure) throw launchFailure.reason;
  run.signal.throwIfAborted();

  const ssm = context.clients.ssm(region);
  const instances = [...launched];
  const results = await Promise.allSettled(
    instances.map((instance, index) => testOneInstance(context, run, ssm, instance, overallDeadline, settings, collected, index === 0)),
  );
  const failure = results.find((result): result is PromiseRejectedResult => result.status === 'rejected');
  if (failure) throw failure.reason;
}

async function testOneInstance(
  context: Context,
  run: ImageRun,
  ssm: ReturnType<Context['clients']['ssm']>,
  instance: LaunchedInstance,
  overallDeadline: number,
  settings: Settings,
  collected: Collected,
  collectManifest: boolean,
): Promise<void> {
  const { image } = run;
  const ec2 = context.clients.ec2(image.buildRegion);
  const where = `${instance.instanceType} (${instance.instanceId})`;
  const ready = await waitForInstanceRunning(ec2, instance.instanceId, {
    timeoutMs: Math.max(0, overallDeadline - Date.now()),
    pollMs: settings.instancePollMs,
    signal: run.signal,
  });
  // NOTE: whatever is thrown after an abort is reported as the interrupt by the catch in the stage.
  if (ready === 'interrupted') throw run.signal.reason;
  if (ready === 'timed-out') {
    collected.problems.push({ outcome: 'timed-out', reason: `${where} was not running with passing status checks before the overall smoke timeout` });
    return;
  }
  if (ready !== 'running') {
    collected.problems.push({ outcome: 'failed', reason: `${where}: ${ready.failed}` });
    return;
  }
  run.logger.info(`smoke instance ${where} is running and its status checks pass`);

  // NOTE: the package manifest is listed while the checks run, not after them: it reads the package database and
  // changes nothing, and the agent runs commands side by side, so the smoke test takes as long as its checks alone.
  const manifest = collectManifest && image.smoke.packageManifest ? collectPackageManifest(context, run, ssm, instance, where, overallDeadline, settings, collected) : Promise.resolve();
  const checks = (async () => {
    for (const result of await checkNewMachine(context, run, ssm, instance, overallDeadline, settings)) {
      collected.checks.push(result);
      const line = `check "${result.name}" on ${where}: ${result.outcome}${result.reason ? ` (${result.reason})` : ''}`;
      if (isFailingOutcome(result.outcome)) run.logger.warn(line);
      else run.logger.info(line);
      await appendEvidence(run.logFile, [result]);
    }
    for (const check of image.smoke.checks) {
      const result = await runOneCheck(context, run, ssm, instance, check, overallDeadline, settings);
      collected.checks.push(result);
      const line = `check "${check.name}" on ${where}: ${result.outcome}${result.reason ? ` (${result.reason})` : ''}`;
      if (result.outcome !== 'failed' && result.outcome !== 'timed-out') run.logger.info(line);
      else run.logger.warn(line);
      if (result.stdout) run.logger.debug(`check "${check.name}" stdout:\n${result.stdout}`);
      if (result.stderr) run.logger.debug(`check "${check.name}" stderr:\n${result.stderr}`);
      await appendEvidence(run.logFile, [result]);
    }
  })();
  const [checked, listed] = await Promise.allSettled([checks, manifest]);
  if (checked.status === 'rejected') throw checked.reason;
  if (listed.status === 'rejected') throw listed.reason;
}

async function collectPackageManifest(
  context: Context,
  run: ImageRun,
  ssm: ReturnType<Context['clients']['ssm']>,
  instance: LaunchedInstance,
  where: string,
  overallDeadline: number,
  settings: Settings,
  collected: Collected,
): Promise<void> {
  const { image } = run;
  if (Date.now() >= overallDeadline) return;
  const outcome = await runCommand(
    ssm,
    {
      instanceId: instance.instanceId,
      document: image.smoke.documentName,
      commands: [image.packageManifestCommand],
      timeoutSeconds: image.smoke.checkTimeoutSeconds,
      comment: `gild package manifest ${image.name} ${run.version}`,
      overallDeadline,
    },
    settings.poll,
    run.signal,
    run.logger,
  );
  const notRun = outcome.kind === 'finished' ? commandExecutionOf(context).notRunReason(outcome) : undefined;
  if (notRun) run.logger.info(`package manifest not collected on ${where}: not run: ${notRun}`);
  else if (outcome.kind === 'finished' && outcome.status === 'Success') collected.manifest = outcome.stdout;
  else if (outcome.kind === 'not-registered') collected.problems.push({ outcome: 'failed', reason: outcome.reason });
  else run.logger.warn(`could not collect the package manifest on ${where}: ${outcome.kind === 'finished' ? `status ${outcome.status}, exit code ${outcome.exitCode}: ${outcome.stderr.slice(0, 500)}` : outcome.reason}`);
}

async function readBuildIdentity(file: string | undefined): Promise<{ identity: MachineIdentity } | { missing: string }> {
  const because = 'gild has no record of the build instance to compare with: the AMI was resumed from an earlier run, or its build ran no provisioners, so nothing was recorded';
  if (file === undefined) return { missing: because };
  try {
    return { identity: parseMachineIdentity(await readFile(file, 'utf8')) };
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return { missing: `${because}; ${file} does not exist` };
    throw error;
  }
}

/**
 * gild's built-in checks that the instance is a new machine (src/smoke/new-machine-checks.ts): one Run Command that
 * prints the instance's identity, compared with what the build recorded. Reported like any check; a failure fails
 * the image, kept-by-choice and not-verified do not.
 */
async function checkNewMachine(context: Context, run: ImageRun, ssm: ReturnType<Context['clients']['ssm']>, instance: LaunchedInstance, overallDeadline: number, settings: Settings): Promise<CheckResult[]> {
  const { image } = run;
  const started = Date.now();
  const base = { instanceType: instance.instanceType, instanceId: instance.instanceId };
  const recorded = await readBuildIdentity(run.buildIdentityFile);
  const judgeWith = (identity: MachineIdentity) => judgeNewMachine(image, 'identity' in recorded ? recorded.identity : undefined, identity, 'missing' in recorded ? recorded.missing : '');
  // Nothing to ask the instance when no answer could change a verdict: every check is kept by choice, or there is no
  // record of the build to compare with (a resumed AMI; an emulator build that ran no provisioners).
  const unasked = judgeWith(parseMachineIdentity(''));
  const unjudged = (check: (typeof unasked)[number]) => ({ ...base, name: check.name, outcome: check.verdict, reason: check.reason, status: 'NotRun', exitCode: -1, stdout: '', stderr: '', durationMs: 0 });
  if (unasked.every((check) => check.verdict === 'kept-by-choice' || check.verdict === 'not-verified')) return unasked.map(unjudged);
  const outcome = Date.now() >= overallDeadline
    ? ({ kind: 'timed-out', reason: `not run: the overall smoke timeout (${image.smoke.timeoutSeconds}s) was reached`, status: 'NotRun', stdout: '', stderr: '' } as const)
    : await runCommand(
        ssm,
        {
          instanceId: instance.instanceId,
          document: image.smoke.documentName,
          commands: image.platform === 'windows' ? windowsIdentityCommands : linuxIdentityCommands,
          timeoutSeconds: image.smoke.checkTimeoutSeconds,
          comment: `gild new-machine checks ${image.name} ${run.version}`,
          overallDeadline,
        },
        settings.poll,
        run.signal,
        run.logger,
      );
  const durationMs = Date.now() - started;
  const output = (stdout: string, stderr: string) => ({ stdout: truncateOutput(stdout, settings.outputLimitBytes), stderr: truncateOutput(stderr, settings.outputLimitBytes), durationMs });
  // A target that could not run the command (the emulator's stand-in without a container twin) verifies nothing.
  const notRun = outcome.kind === 'finished' ? commandExecutionOf(context).notRunReason(outcome) : undefined;
  if (notRun) return unasked.map((check) => (check.verdict === 'kept-by-choice' ? unjudged(check) : { ...unjudged(check), outcome: 'not-verified' as const, reason: `not run: ${notRun}` }));
  if (outcome.kind === 'finished' && outcome.status === 'Success') {
    return judgeWith(parseMachineIdentity(outcome.stdout)).map((check) => ({ ...base, name: check.name, outcome: check.verdict, reason: check.reason, status: outcome.status, exitCode: outcome.exitCode, ...output(outcome.stdout, outcome.stderr) }));
  }
  const failure =
    outcome.kind === 'finished'
      ? { outcome: 'failed' as const, reason: `could not read the instance's identity: Run Command status ${outcome.status}, exit code ${outcome.exitCode}`, status: outcome.status, exitCode: outcome.exitCode, ...output(outcome.stdout, outcome.stderr) }
      : outcome.kind === 'timed-out'
        ? { outcome: 'timed-out' as const, reason: outcome.reason, status: outcome.status, exitCode: -1, ...output(outcome.stdout, outcome.stderr) }
        : { outcome: 'failed' as const, reason: outcome.reason, status: 'NotSent', exitCode: -1, ...output('', '') };
  // A check kept by choice stays so; the others could not be judged, which fails them like any check that cannot run.
  return unasked.map((check) => (check.verdict === 'kept-by-choice' ? unjudged(check) : { ...base, name: check.name, ...failure }));
}

async function runOneCheck(
  context: Context,
  run: ImageRun,
  ssm: ReturnType<Context['clients']['ssm']>,
  instance: LaunchedInstance,
  check: Readonly<SmokeCheck>,
  overallDeadline: number,
  settings: Settings,
): Promise<CheckResult> {
  const started = Date.now();
  const base = { name: check.name, instanceType: instance.instanceType, instanceId: instance.instanceId };
  const finish = (fields: Pick<CheckResult, 'outcome' | 'reason' | 'status' | 'exitCode' | 'stdout' | 'stderr'>): CheckResult => ({
    ...base,
    ...fields,
    stdout: truncateOutput(fields.stdout, settings.outputLimitBytes),
    stderr: truncateOutput(fields.stderr, settings.outputLimitBytes),
    durationMs: Date.now() - started,
  });
  const execution = commandExecutionOf(context);
  const skipped = execution.skipReason(check);
  if (skipped) return finish({ outcome: 'skipped', reason: skipped, status: 'NotSent', exitCode: -1, stdout: '', stderr: '' });
  if (Date.now() >= overallDeadline) {
    return finish({ outcome: 'timed-out', reason: `not run: the overall smoke timeout (${run.image.smoke.timeoutSeconds}s) was reached`, status: 'NotRun', exitCode: -1, stdout: '', stderr: '' });
  }
  const outcome = await runCommand(
    ssm,
    {
      instanceId: instance.instanceId,
      document: run.image.smoke.documentName,
      commands: typeof check.run === 'string' ? [check.run] : check.run,
      timeoutSeconds: check.timeoutSeconds ?? run.image.smoke.checkTimeoutSeconds,
      comment: `gild smoke ${run.image.name} ${check.name}`,
      overallDeadline,
    },
    settings.poll,
    run.signal,
    run.logger,
  );
  switch (outcome.kind) {
    case 'not-registered':
      return finish({ outcome: 'failed', reason: outcome.reason, status: 'NotSent', exitCode: -1, stdout: '', stderr: '' });
    case 'timed-out':
      return finish({ outcome: 'timed-out', reason: outcome.reason, status: outcome.status, exitCode: -1, stdout: outcome.stdout, stderr: outcome.stderr });
    case 'finished': {
      const notRun = execution.notRunReason(outcome);
      if (notRun) return finish({ outcome: 'not-run', reason: `not run: ${notRun}`, status: outcome.status, exitCode: outcome.exitCode, stdout: outcome.stdout, stderr: outcome.stderr });
      const evaluation = evaluateCheck(check, outcome);
      // NOTE: Run Command's own TimedOut (the document's executionTimeout) is a timeout, as gild's own deadline is.
      return finish({
        outcome: evaluation.outcome === 'failed' && outcome.status === 'TimedOut' ? 'timed-out' : evaluation.outcome,
        reason: evaluation.outcome === 'failed' ? evaluation.reason : undefined,
        status: outcome.status,
        exitCode: outcome.exitCode,
        stdout: outcome.stdout,
        stderr: outcome.stderr,
      });
    }
  }
}

/**
 * A failure outranks a timeout; the first one found is the reason. Checks that were not run (no container twin on
 * the emulator) or skipped (they need a VM) neither pass nor fail: when no check ran at all, the smoke test is
 * skipped with that reason, as for an image without checks, and the report lists each check's verdict.
 */
function decide(collected: Collected, timeoutSeconds: number): SmokeResult {
  const checks = collected.checks;
  // NOTE: a built-in new-machine check that was not verified or kept by choice says nothing either way, as an image
  // without checks; among the rest, when none ran (no twin, or all need a VM), the smoke test is skipped, never passed.
  const judged = checks.filter((check) => check.outcome !== 'not-verified' && check.outcome !== 'kept-by-choice');
  const unrun = judged.filter((check) => check.outcome === 'not-run' || check.outcome === 'skipped');
  const failures = [
    ...collected.problems,
    ...checks.filter((check) => isFailingOutcome(check.outcome)).map((check) => ({ outcome: check.outcome as 'failed' | 'timed-out', reason: `check "${check.name}" on ${check.instanceType} (${check.instanceId}) ${check.reason ?? check.outcome}` })),
  ];
  if (failures.length === 0 && judged.length > 0 && unrun.length === judged.length) {
    const notRun = unrun.filter((check) => check.outcome === 'not-run');
    const reasons = [...new Set(unrun.map((check) => check.reason ?? check.outcome))];
    return { result: 'skipped', reason: `no check ran: ${notRun.length} not run, ${unrun.length - notRun.length} skipped (${reasons.join('; ')})` };
  }
  if (failures.length === 0) return { result: 'passed', checks };
  const failed = failures.filter((failure) => failure.outcome === 'failed');
  const chosen = failed[0] ?? failures[0]!;
  const more = failures.length - 1;
  const reason = `${chosen.reason}${more ? ` (and ${more} more)` : ''}`;
  if (failed.length > 0) return { result: 'failed', reason, checks };
  return { result: 'timed-out', reason: reason || `the smoke test did not finish within ${timeoutSeconds}s`, checks };
}

async function terminateLaunched(context: Context, run: ImageRun, launched: LaunchedInstance[]): Promise<void> {
  const pending = launched.filter((instance) => !instance.terminated);
  if (pending.length === 0) return;
  const instanceIds = pending.map((instance) => instance.instanceId);
  const ec2 = context.clients.ec2(run.image.buildRegion);
  try {
    await terminateInstances(ec2, instanceIds);
  } catch (error) {
    // NOTE: the SDK has retried what it deems transient; one more try, then the failure fails the run (settleLater):
    // an instance left running costs until a later sweep, so it must not pass as a warning.
    run.logger.warn(`could not terminate ${instanceIds.join(', ')}: ${describeAwsError(error)}; trying once more`);
    await terminateInstances(ec2, instanceIds);
  }
  for (const instance of pending) {
    instance.terminated = true;
    instance.undoDefer();
  }
  run.logger.info(`terminated smoke instance${instanceIds.length === 1 ? '' : 's'} ${instanceIds.join(', ')} (TerminateInstances accepted)`);
}

async function keepManifest(context: Context, run: ImageRun, manifest: string | undefined, passed: boolean): Promise<SmokeReport['packageManifest']> {
  if (manifest === undefined) return undefined;
  const { image } = run;
  await mkdir(run.logDir, { recursive: true });
  const file = join(run.logDir, `${image.name}.packages.txt`);
  await writeFile(file, manifest);
  const packages = manifest.split(/\r?\n/).filter((line) => line.trim()).length;
  // The same manifest as a CycloneDX SBOM, next to the run report.
  const sbomFile = join(run.logDir, `${image.name}-${run.version}.cdx.json`);
  const amiId = run.amis[image.buildRegion] ?? '';
  const sbomJson = `${JSON.stringify(cycloneDxSbom({ image: image.name, version: run.version, runId: context.runId, amiId, preset: image.preset, packageManifestCommand: image.packageManifestCommand, createdAt: context.now() }, manifest), null, 2)}\n`;
  await writeFile(sbomFile, sbomJson);
  run.logger.info(`package manifest: ${packages} packages, saved to ${file}; SBOM (CycloneDX): ${sbomFile}`);
  const stored = run.currentVersion ? await readStoredManifest(context, image.buildRegion, image.name, run.currentVersion).catch((error: unknown) => {
    run.logger.warn(`could not read the SBOM of ${image.name} ${run.currentVersion} from the evidence bucket: ${describeAwsError(error)}`);
    return undefined;
  }) : undefined;
  const previous = stored !== undefined && run.currentVersion ? { version: run.currentVersion, text: stored } : await readPreviousManifest(context.workDir, image.name, run.currentVersion, run.version);
  if (previous) {
    const lines = describeManifestDiff(diffManifests(previous.text, manifest), previous.version);
    run.summary.push(...lines);
    for (const line of lines) run.logger.info(line);
  } else {
    run.summary.push(`packages: ${packages} (no earlier manifest to compare with)`);
  }
  // NOTE: only a passing image's manifest is kept as the baseline for the next version.
  if (passed) await writeManifest(context.workDir, image.name, run.version, manifest);
  if (passed && context.settings.evidence) {
    try {
      const where = await storeSbom(context, image.buildRegion, image.name, run.version, sbomJson);
      if (where) run.logger.info(`SBOM stored in the evidence bucket: ${where}`);
    } catch (error) {
      // NOTE: the image itself passed; evidence that could not be stored is said, in the log and the summary.
      run.logger.warn(`could not store the SBOM in the evidence bucket: ${describeAwsError(error)}`);
      run.summary.push(`SBOM not stored in the evidence bucket: ${describeAwsError(error)}`);
    }
  }
  return { file, packages, comparedWith: previous?.version };
}
