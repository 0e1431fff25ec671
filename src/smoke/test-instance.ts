/**
 * Tests one launched instance: wait until it runs with passing status checks, then run the built-in new-machine
 * checks and the definition's checks one after another, listing the package manifest beside them when asked. Returns
 * what it found; it never throws for AWS's answers or an interrupt, which are problems of this instance.
 */
import { waitForInstanceRunning, type TemporaryKeyPair } from '../adapters/ec2.ts';
import { describeAwsError } from '../errors.ts';
import { commandExecutionOf } from '../target/command-execution.ts';
import { isFailingOutcome, type CheckResult } from '../stages/stage.ts';
import type { InstanceProblem } from './decide-smoke.ts';
import { checkWindowsPassword } from './check-windows-password.ts';
import { runCommand } from './run-check.ts';
import { checkNewMachine, runDefinedCheck, type CheckTarget } from './run-smoke-checks.ts';
import { appendEvidence } from './write-smoke-report.ts';

export interface InstanceTest extends CheckTarget {
  /** The first instance lists the package manifest (it reads the package database and changes nothing). */
  readonly collectManifest: boolean;
  /** The key pair the instance was launched with (Windows images): its private key decrypts the instance's password. */
  readonly keyPair: TemporaryKeyPair | undefined;
}

/** The package manifest of one instance: listed, not asked for, or not run on this target (said, never a pass). */
export type ManifestFinding = { readonly kind: 'listed'; readonly text: string } | { readonly kind: 'not-asked' } | { readonly kind: 'not-run'; readonly reason: string };

export interface InstanceFindings {
  readonly checks: readonly CheckResult[];
  readonly problems: readonly InstanceProblem[];
  readonly manifest: ManifestFinding;
}

const interrupted: InstanceProblem = { outcome: 'failed', reason: 'interrupted by SIGINT/SIGTERM before the smoke test finished' };

export async function testInstance(test: InstanceTest): Promise<InstanceFindings> {
  const { context, run, instance, settings } = test;
  const where = `${instance.instanceType} (${instance.instanceId})`;
  const checks: CheckResult[] = [];
  const problemOf = (error: unknown): InstanceProblem => {
    if (run.signal.aborted) return interrupted;
    run.logger.warn(`smoke test stopped by an error: ${describeAwsError(error)}`);
    return { outcome: 'failed', reason: `the smoke test could not run: ${describeAwsError(error)}` };
  };
  try {
    const ready = await waitForInstanceRunning(context.clients.ec2(run.image.buildRegion), instance.instanceId, {
      timeoutMs: run.image.smoke.timeoutSeconds * 1000,
      pollMs: settings.instancePollMs,
      // NOTE: the smoke test's deadline ends the wait as the interrupt does; which one it was is read below.
      signal: AbortSignal.any([run.signal, test.deadline]),
    });
    if (ready === 'interrupted' && run.signal.aborted) return { checks, problems: [interrupted], manifest: { kind: 'not-asked' } };
    if (ready === 'timed-out' || ready === 'interrupted') {
      return { checks, problems: [{ outcome: 'timed-out', reason: `${where} was not running with passing status checks before the overall smoke timeout` }], manifest: { kind: 'not-asked' } };
    }
    if (ready !== 'running') return { checks, problems: [{ outcome: 'failed', reason: `${where}: ${ready.failed}` }], manifest: { kind: 'not-asked' } };
    run.logger.info(`smoke instance ${where} is running and its status checks pass`);

    // NOTE: the package manifest is listed while the checks run, not after them: the agent runs commands side by side,
    // so the smoke test takes as long as its checks alone.
    // Ends the wait for the Windows password once the checks end without it (an identity check threw): the instance
    // is being terminated, and nothing may poll on until the smoke deadline.
    const stopPasswordWait = new AbortController();
    const manifest = test.collectManifest ? listPackageManifest(test, where) : Promise.resolve({ kind: 'not-asked' } as const);
    const checked = (async () => {
      const record = async (result: CheckResult) => {
        checks.push(result);
        const line = `check "${result.name}" on ${where}: ${result.outcome}${result.reason ? ` (${result.reason})` : ''}`;
        if (isFailingOutcome(result.outcome)) run.logger.warn(line);
        else run.logger.info(line);
        if (result.stdout) run.logger.debug(`check "${result.name}" stdout:\n${result.stdout}`);
        if (result.stderr) run.logger.debug(`check "${result.name}" stderr:\n${result.stderr}`);
        await appendEvidence(run.logFile, [result]);
      };
      // NOTE: the Windows password is waited for beside the identity checks (EC2Launch may take minutes to set it), and
      // reported after them; it never rejects but for an interrupt, which the identity checks also see.
      const password = run.image.platform === 'windows' ? checkWindowsPassword(test, test.keyPair, stopPasswordWait.signal) : undefined;
      password?.catch(() => undefined);
      for (const result of await checkNewMachine(test)) await record(result);
      if (password) await record(await password);
      for (const check of run.image.smoke.checks) await record(await runDefinedCheck(test, check));
    })().finally(() => stopPasswordWait.abort());
    const [checksDone, listed] = await Promise.allSettled([checked, manifest]);
    const problems = [checksDone, listed].flatMap((settled) => (settled.status === 'rejected' ? [problemOf(settled.reason)] : []));
    if (listed.status === 'fulfilled' && 'problem' in listed.value) problems.push(listed.value.problem);
    return { checks, problems, manifest: listed.status === 'fulfilled' && !('problem' in listed.value) ? listed.value : { kind: 'not-asked' } };
  } catch (error) {
    return { checks, problems: [problemOf(error)], manifest: { kind: 'not-asked' } };
  }
}

/**
 * The package manifest, or a problem that fails the smoke test: with `smoke.packageManifest` on, the package list is
 * part of the image's evidence (its SBOM, the next version's diff), and an image whose list cannot be read is not
 * published without it. A target that cannot run the command says so instead.
 */
async function listPackageManifest(test: InstanceTest, where: string): Promise<ManifestFinding | { readonly problem: InstanceProblem }> {
  const { context, run, instance } = test;
  const { image } = run;
  const fix = "fix the image's packageManifestCommand (or its preset's), or set smoke.packageManifest: false to publish without a package list";
  if (test.deadline.aborted)
    return { problem: { outcome: 'timed-out', reason: `the package manifest was not listed on ${where}: the overall smoke timeout (${image.smoke.timeoutSeconds}s) was reached` } };
  const outcome = await runCommand(
    test.ssm,
    {
      instanceId: instance.instanceId,
      document: image.smoke.documentName,
      commands: [image.packageManifestCommand],
      timeoutSeconds: image.smoke.checkTimeoutSeconds,
      comment: `gild package manifest ${image.name} ${run.version}`,
    },
    test.settings.poll,
    { interrupt: run.signal, deadline: test.deadline },
    run.logger,
  );
  switch (outcome.kind) {
    case 'not-registered':
      return { problem: { outcome: 'failed', reason: outcome.reason } };
    case 'timed-out':
      return { problem: { outcome: 'timed-out', reason: `the package manifest command on ${where} ${outcome.reason}` } };
    case 'finished': {
      const notRun = commandExecutionOf(context).notRunReason(outcome);
      if (notRun) {
        run.logger.info(`package manifest not listed on ${where}: not run: ${notRun}`);
        return { kind: 'not-run', reason: notRun };
      }
      if (outcome.status === 'Success') return { kind: 'listed', text: outcome.stdout };
      const stderr = outcome.stderr.trim().slice(0, 500);
      return {
        problem: {
          outcome: 'failed',
          reason: `the package manifest command \`${image.packageManifestCommand}\` failed on ${where} (Run Command status ${outcome.status}, exit code ${outcome.exitCode}${stderr ? `: ${stderr}` : ''}): ${fix}`,
        },
      };
    }
  }
}
