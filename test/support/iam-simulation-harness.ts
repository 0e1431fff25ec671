/**
 * What the IAM simulation test files (test/integration/iam-simulation*.test.ts) share: the policy `gild iam-policy`
 * prints, a gild command that must pass without any refusal, the summary line each simulation logs, and the check
 * that nothing was denied and no condition read a context key the simulator dropped.
 */
import { expect } from 'vitest';
import type { PolicyDocument } from '../../src/iam/generate-policy.ts';
import { describeDenial, type SimulationSummary } from './iam-simulation.ts';
import type { TempProject } from './project.ts';

export function report(label: string, summary: SimulationSummary): string {
  const bySender = (sender: string) => new Set(summary.verdicts.filter((verdict) => verdict.authorization.request.sender === sender).map((verdict) => verdict.authorization.request.seq)).size;
  const awsOwned = summary.verdicts.filter((verdict) => verdict.awsOwnedResource).length;
  return `${label}: ${summary.requests} requests (gild ${bySender('gild')}, Packer ${bySender('packer')}), ${summary.authorizations} resource authorizations evaluated (${awsOwned} on AWS-owned documents and parameters), ${summary.denied.length} denied`;
}

export function expectNothingDenied(summary: SimulationSummary): void {
  expect(summary.denied.map(describeDenial)).toEqual([]);
  // A context key the simulator drops (not listed for the action and resource) would leave a condition reading nothing.
  expect(
    summary.verdicts
      .filter((verdict) => verdict.ignoredContextKeys.length > 0)
      .map((verdict) => `request #${verdict.authorization.request.seq} ${verdict.authorization.action} on ${verdict.authorization.resource}: ignored ${verdict.ignoredContextKeys.join(', ')}`),
  ).toEqual([]);
}

export async function policyOf(project: TempProject, args: string[] = []): Promise<PolicyDocument> {
  const printed = await project.gild(['iam-policy', '--json', ...args], {});
  expect(printed.exitCode, printed.stderr).toBe(0);
  return JSON.parse(printed.stdout) as PolicyDocument;
}

/** Runs gild and fails on any refusal, internal error or stack trace in its output, or an exit code not in `exitCodes`. */
export async function gildOk(project: TempProject, args: string[], env: Record<string, string>, exitCodes: readonly number[] = [0]): Promise<string> {
  const result = await project.gild(args, env);
  const output = result.stdout + result.stderr;
  expect(output, `gild ${args.join(' ')}`).not.toMatch(/AccessDenied|not authorized|internal error|\n\s+at /);
  expect(exitCodes, `gild ${args.join(' ')} exited ${result.exitCode}:\n${output}`).toContain(result.exitCode);
  return output;
}
