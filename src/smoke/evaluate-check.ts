/**
 * Pure evaluation of one smoke check's finished invocation against what the
 * check expects. The first unmet expectation is the reason it failed.
 */
import type { SmokeCheck } from '../definition/schema.ts';

export interface FinishedInvocation {
  /** A terminal Run Command status: Success, Cancelled, TimedOut or Failed. */
  readonly status: string;
  readonly exitCode: number;
  readonly stdout: string;
  readonly stderr: string;
}

export type CheckEvaluation = { readonly outcome: 'passed' } | { readonly outcome: 'failed'; readonly reason: string };

type Expectations = Pick<SmokeCheck, 'stdoutMatches' | 'stdoutNotMatches' | 'stderrMatches' | 'stderrNotMatches'> & {
  readonly expectExitCode?: number | undefined;
};

const toRegExp = (pattern: string | RegExp) => (typeof pattern === 'string' ? new RegExp(pattern, 'm') : pattern);

// A RegExp with the g or y flag keeps lastIndex between test() calls; reset it so evaluation stays pure.
function matches(pattern: string | RegExp, text: string): boolean {
  const regExp = toRegExp(pattern);
  regExp.lastIndex = 0;
  return regExp.test(text);
}

const show = (pattern: string | RegExp) => (typeof pattern === 'string' ? `/${pattern}/` : String(pattern));

export function evaluateCheck(check: Readonly<Expectations>, invocation: FinishedInvocation): CheckEvaluation {
  const expectedExitCode = check.expectExitCode ?? 0;
  // NOTE: a non-zero exit makes Run Command report Failed. When the check
  // expects that exit code, Failed is the expected outcome, not a failure.
  switch (invocation.status) {
    case 'Success':
      break;
    case 'Failed':
      if (expectedExitCode !== 0 && invocation.exitCode === expectedExitCode) break;
      return {
        outcome: 'failed',
        reason:
          invocation.exitCode >= 0 && invocation.exitCode !== expectedExitCode
            ? `exited with code ${invocation.exitCode}, expected ${expectedExitCode} (Run Command status Failed)`
            : 'Run Command reported status Failed',
      };
    case 'TimedOut':
      return { outcome: 'failed', reason: 'Run Command reported status TimedOut: the command ran past its execution timeout on the instance' };
    case 'Cancelled':
      return { outcome: 'failed', reason: 'Run Command reported status Cancelled' };
    default:
      return { outcome: 'failed', reason: `Run Command reported unexpected status ${invocation.status}` };
  }
  if (invocation.exitCode !== expectedExitCode) return { outcome: 'failed', reason: `exited with code ${invocation.exitCode}, expected ${expectedExitCode}` };

  const streams = [
    ['stdout', invocation.stdout, check.stdoutMatches, check.stdoutNotMatches],
    ['stderr', invocation.stderr, check.stderrMatches, check.stderrNotMatches],
  ] as const;
  for (const [stream, text, required, forbidden] of streams) {
    for (const pattern of required ?? []) {
      if (!matches(pattern, text)) return { outcome: 'failed', reason: `${stream} does not match ${show(pattern)}` };
    }
    for (const pattern of forbidden ?? []) {
      if (matches(pattern, text)) return { outcome: 'failed', reason: `${stream} matches ${show(pattern)}, which it must not` };
    }
  }
  return { outcome: 'passed' };
}
