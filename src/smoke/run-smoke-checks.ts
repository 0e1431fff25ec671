/**
 * One instance's checks as verdicts: gild's built-in new-machine checks (one Run Command that prints the instance's
 * identity, compared with what the build recorded) and each of the definition's own checks. A command that could not
 * run on this target (the emulator without a container twin) verifies nothing and says so.
 */
import { readFile } from 'node:fs/promises';
import type { Context } from '../context.ts';
import type { SmokeCheck } from '../definition/schema.ts';
import { linuxIdentityCommands, parseMachineIdentity, windowsIdentityCommands, type MachineIdentity } from '../render/machine-identity.ts';
import { commandExecutionOf } from '../target/command-execution.ts';
import type { CheckResult, ImageRun } from '../stages/stage.ts';
import { evaluateCheck } from './evaluate-check.ts';
import type { LaunchedInstance } from './launch-instances.ts';
import { judgeNewMachine } from './new-machine-checks.ts';
import { runCommand, type PollSettings } from './run-check.ts';
import { truncateOutput } from './truncate-output.ts';

export interface SmokeSettings {
  readonly poll: PollSettings;
  /** Between the instance waiters' calls. */
  readonly instancePollMs: number;
  /** Per stream, per check. */
  readonly outputLimitBytes: number;
}

/** Where and within what a check runs: `deadline` is the whole smoke test's, aborted when it is reached. */
export interface CheckTarget {
  readonly context: Context;
  readonly run: ImageRun;
  readonly ssm: ReturnType<Context['clients']['ssm']>;
  readonly instance: LaunchedInstance;
  readonly deadline: AbortSignal;
  readonly settings: SmokeSettings;
}

type Fields = Pick<CheckResult, 'outcome' | 'reason' | 'status' | 'exitCode' | 'stdout' | 'stderr'>;

const overallTimeoutReached = (target: CheckTarget): Fields => ({
  outcome: 'timed-out',
  reason: `not run: the overall smoke timeout (${target.run.image.smoke.timeoutSeconds}s) was reached`,
  status: 'NotRun',
  exitCode: -1,
  stdout: '',
  stderr: '',
});

/** What gild recorded of the build instance's identity, or why there is no record (a resumed AMI, no provisioners). */
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
 * gild's built-in checks that the instance is a new machine (src/smoke/new-machine-checks.ts), reported like any
 * check; a failure fails the image, kept-by-choice and not-verified do not.
 */
export async function checkNewMachine(target: CheckTarget): Promise<CheckResult[]> {
  const { context, run, instance, settings } = target;
  const { image } = run;
  const started = Date.now();
  const base = { instanceType: instance.instanceType, instanceId: instance.instanceId };
  const recorded = await readBuildIdentity(run.buildIdentityFile);
  const judgeWith = (identity: MachineIdentity) => judgeNewMachine(image, 'identity' in recorded ? recorded.identity : undefined, identity, 'missing' in recorded ? recorded.missing : '');
  // Nothing to ask the instance when no answer could change a verdict: every check is kept by choice, or there is no
  // record of the build to compare with (a resumed AMI; an emulator build that ran no provisioners).
  const unasked = judgeWith(parseMachineIdentity(''));
  const unjudged = (check: (typeof unasked)[number]) => ({
    ...base,
    name: check.name,
    outcome: check.verdict,
    reason: check.reason,
    status: 'NotRun',
    exitCode: -1,
    stdout: '',
    stderr: '',
    durationMs: 0,
  });
  if (unasked.every((check) => check.verdict === 'kept-by-choice' || check.verdict === 'not-verified')) return unasked.map(unjudged);
  const outcome = target.deadline.aborted
    ? ({ kind: 'timed-out', reason: overallTimeoutReached(target).reason!, status: 'NotRun', stdout: '', stderr: '' } as const)
    : await runCommand(
        target.ssm,
        {
          instanceId: instance.instanceId,
          document: image.smoke.documentName,
          commands: image.platform === 'windows' ? windowsIdentityCommands : linuxIdentityCommands,
          timeoutSeconds: image.smoke.checkTimeoutSeconds,
          comment: `gild new-machine checks ${image.name} ${run.version}`,
        },
        settings.poll,
        { interrupt: run.signal, deadline: target.deadline },
        run.logger,
      );
  const durationMs = Date.now() - started;
  const output = (stdout: string, stderr: string) => ({ stdout: truncateOutput(stdout, settings.outputLimitBytes), stderr: truncateOutput(stderr, settings.outputLimitBytes), durationMs });
  const notRun = outcome.kind === 'finished' ? commandExecutionOf(context).notRunReason(outcome) : undefined;
  if (notRun) return unasked.map((check) => (check.verdict === 'kept-by-choice' ? unjudged(check) : { ...unjudged(check), outcome: 'not-verified' as const, reason: `not run: ${notRun}` }));
  if (outcome.kind === 'finished' && outcome.status === 'Success') {
    return judgeWith(parseMachineIdentity(outcome.stdout)).map((check) => ({
      ...base,
      name: check.name,
      outcome: check.verdict,
      reason: check.reason,
      status: outcome.status,
      exitCode: outcome.exitCode,
      ...output(outcome.stdout, outcome.stderr),
    }));
  }
  const failure =
    outcome.kind === 'finished'
      ? {
          outcome: 'failed' as const,
          reason: `could not read the instance's identity: Run Command status ${outcome.status}, exit code ${outcome.exitCode}`,
          status: outcome.status,
          exitCode: outcome.exitCode,
          ...output(outcome.stdout, outcome.stderr),
        }
      : outcome.kind === 'timed-out'
        ? { outcome: 'timed-out' as const, reason: outcome.reason, status: outcome.status, exitCode: -1, ...output(outcome.stdout, outcome.stderr) }
        : { outcome: 'failed' as const, reason: outcome.reason, status: 'NotSent', exitCode: -1, ...output('', '') };
  // A check kept by choice stays so; the others could not be judged, which fails them like any check that cannot run.
  return unasked.map((check) => (check.verdict === 'kept-by-choice' ? unjudged(check) : { ...base, name: check.name, ...failure }));
}

/** One of the definition's checks on one instance, as a verdict with its (truncated) output. */
export async function runDefinedCheck(target: CheckTarget, check: Readonly<SmokeCheck>): Promise<CheckResult> {
  const { context, run, instance, settings } = target;
  const started = Date.now();
  const finish = (fields: Fields): CheckResult => ({
    name: check.name,
    instanceType: instance.instanceType,
    instanceId: instance.instanceId,
    ...fields,
    stdout: truncateOutput(fields.stdout, settings.outputLimitBytes),
    stderr: truncateOutput(fields.stderr, settings.outputLimitBytes),
    durationMs: Date.now() - started,
  });
  const execution = commandExecutionOf(context);
  const skipped = execution.skipReason(check);
  if (skipped) return finish({ outcome: 'skipped', reason: skipped, status: 'NotSent', exitCode: -1, stdout: '', stderr: '' });
  if (target.deadline.aborted) return finish(overallTimeoutReached(target));
  const outcome = await runCommand(
    target.ssm,
    {
      instanceId: instance.instanceId,
      document: run.image.smoke.documentName,
      commands: typeof check.run === 'string' ? [check.run] : check.run,
      timeoutSeconds: check.timeoutSeconds ?? run.image.smoke.checkTimeoutSeconds,
      comment: `gild smoke ${run.image.name} ${check.name}`,
    },
    settings.poll,
    { interrupt: run.signal, deadline: target.deadline },
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
