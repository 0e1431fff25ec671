/**
 * The smoke test's verdict, from what its instances found: pure. A failure outranks a timeout, and the first one
 * found is the reason. A check that was not run (no container twin on the emulator), skipped (it needs a VM), not
 * verified (a built-in new-machine check with no record of the build instance, as for a resumed AMI) or kept by choice
 * neither passes nor fails: when nothing was verified at all the smoke test is `skipped` with why, never `passed`,
 * and the report lists each check's verdict.
 */
import { isFailingOutcome, type CheckResult, type SmokeResult } from '../stages/stage.ts';

/** Something that stopped an instance from being tested, or its package manifest from being listed. */
export interface InstanceProblem {
  readonly outcome: 'failed' | 'timed-out';
  readonly reason: string;
}

export interface SmokeFindings {
  readonly checks: readonly CheckResult[];
  readonly problems: readonly InstanceProblem[];
  readonly timeoutSeconds: number;
}

const neutral = new Set<CheckResult['outcome']>(['not-run', 'skipped', 'not-verified', 'kept-by-choice']);

export function decideSmoke({ checks, problems, timeoutSeconds }: SmokeFindings): SmokeResult {
  const failures = [
    ...problems,
    ...checks
      .filter((check) => isFailingOutcome(check.outcome))
      .map((check) => ({ outcome: check.outcome as 'failed' | 'timed-out', reason: `check "${check.name}" on ${check.instanceType} (${check.instanceId}) ${check.reason ?? check.outcome}` })),
  ];
  if (failures.length === 0) {
    // The built-in new-machine checks that were not verified or kept by choice say nothing either way.
    const judged = checks.filter((check) => check.outcome !== 'not-verified' && check.outcome !== 'kept-by-choice');
    const unrun = judged.filter((check) => check.outcome === 'not-run' || check.outcome === 'skipped');
    if (judged.length > 0 && unrun.length === judged.length) {
      const notRun = unrun.filter((check) => check.outcome === 'not-run').length;
      return { result: 'skipped', reason: `no check ran: ${notRun} not run, ${unrun.length - notRun} skipped (${reasonsOf(unrun)})` };
    }
    // NOTE: a resumed AMI has no record of its build instance, so its built-in checks are not verified: without a check
    // of its own that passed, nothing was shown, and saying `passed` would be a claim no check made.
    if (judged.length === 0) return { result: 'skipped', reason: checks.length === 0 ? 'no check ran' : `nothing was verified: ${describeNeutral(checks)}` };
    return { result: 'passed', checks };
  }
  const failed = failures.filter((failure) => failure.outcome === 'failed');
  const chosen = failed[0] ?? failures[0]!;
  const more = failures.length - 1;
  const reason = `${chosen.reason}${more ? ` (and ${more} more)` : ''}`;
  if (failed.length > 0) return { result: 'failed', reason, checks };
  return { result: 'timed-out', reason: reason || `the smoke test did not finish within ${timeoutSeconds}s`, checks };
}

/** `3 not verified, 1 kept by choice (reason; reason)`: how many checks of each neutral verdict, then why, once each. */
function describeNeutral(checks: readonly CheckResult[]): string {
  const counts = [...neutral].map((outcome) => [outcome, checks.filter((check) => check.outcome === outcome).length] as const).filter(([, count]) => count > 0);
  return `${counts.map(([outcome, count]) => `${count} ${outcome.replaceAll('-', ' ')}`).join(', ')} (${reasonsOf(checks)})`;
}

const reasonsOf = (checks: readonly CheckResult[]) => [...new Set(checks.map((check) => check.reason ?? check.outcome))].join('; ');
