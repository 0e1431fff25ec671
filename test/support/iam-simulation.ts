/**
 * Evaluates authorizations (test/support/iam-authorizations.ts) against a
 * policy with @cloud-copilot/iam-simulate, which evaluates conditions,
 * explicit denies and resource ARNs as IAM does, and names the statements
 * that decided. An authorization the simulator cannot evaluate (a request
 * it finds invalid) is an error, never a pass.
 */
import { runSimulation, runUnsafeSimulation, type RequestAnalysis, type Simulation } from '@cloud-copilot/iam-simulate';
import type { PolicyDocument } from '../../src/iam/generate-policy.ts';
import type { Authorization } from './iam-authorizations.ts';

export interface Verdict {
  readonly authorization: Authorization;
  readonly result: 'Allowed' | 'ExplicitlyDenied' | 'ImplicitlyDenied';
  /** Sids of the statements that decided: the Deny that matched, or the Allows that did. */
  readonly statements: readonly string[];
  /** Context keys the simulator dropped because the Service Authorization Reference does not list them for this action and resource. */
  readonly ignoredContextKeys: readonly string[];
  /**
   * Evaluated without the simulator's resource-type check: AWS-owned SSM documents and public parameters have no
   * account in their ARN (`arn:aws:ssm:us-east-1::document/AWS-RunShellScript`), which iam-data's ARN formats require.
   * The policy is still evaluated in full (statements, conditions, denies); only the decisive Sids are not reported.
   */
  readonly awsOwnedResource?: true;
}

const sidsOf = (statements: NonNullable<RequestAnalysis['identityAnalysis']>['allowStatements']) => statements.map((analysis) => analysis.statement.sid() ?? analysis.statement.index().toString());

export async function evaluate(policy: PolicyDocument, authorization: Authorization, principalArn: string): Promise<Verdict> {
  const account = /^arn:aws:(?:iam|sts)::(\d{12}):/.exec(principalArn)?.[1] ?? '123456789012';
  const simulation: Simulation = {
    request: {
      principal: principalArn,
      action: authorization.action,
      // The resource is the caller's: AMIs and snapshots carry no account in their ARN, and IAM grants within an account need no resource policy.
      resource: { resource: authorization.resource, accountId: account },
      contextVariables: Object.fromEntries(Object.entries(authorization.context).map(([key, value]) => [key, typeof value === 'string' ? value : [...value]])),
    },
    identityPolicies: [{ name: 'gild-pipeline', policy }],
    serviceControlPolicies: [],
    resourceControlPolicies: [],
  };
  const response = await runSimulation(simulation, { simulationMode: 'Strict' });
  if (response.resultType === 'error' && response.errors.message === 'no.resource.types' && /^arn:aws:ssm:[^:]+::(document|parameter)\//.test(authorization.resource)) {
    return { authorization, result: runUnsafeSimulation(simulation, { simulationMode: 'Strict' }), statements: [], ignoredContextKeys: [], awsOwnedResource: true };
  }
  if (response.resultType === 'error') {
    throw new Error(`iam simulation could not evaluate ${authorization.action} on ${authorization.resource}: ${response.errors.message} ${JSON.stringify(response.errors)}`);
  }
  const result = response.resultType === 'single' ? response.result : response.results[0]!;
  const identity = result.analysis.identityAnalysis;
  const statements = response.overallResult === 'ExplicitlyDenied' ? sidsOf(identity?.denyStatements ?? []) : sidsOf(identity?.allowStatements ?? []);
  return { authorization, result: response.overallResult, statements, ignoredContextKeys: result.ignoredContextKeys ?? [] };
}

export interface SimulationSummary {
  readonly requests: number;
  readonly authorizations: number;
  readonly denied: readonly Verdict[];
  readonly verdicts: readonly Verdict[];
}

/** One line naming a denied authorization: the request, who sent it, the resource, and the statement (or the lack of one). */
export function describeDenial(verdict: Verdict): string {
  const { authorization } = verdict;
  const request = authorization.request;
  const why = verdict.result === 'ExplicitlyDenied' ? `denied by statement ${verdict.statements.join(', ')}` : 'no statement allows it';
  const side = authorization.sideCheck ? ` (side check: ${authorization.sideCheck})` : '';
  const context = Object.entries(authorization.context)
    .filter(([key]) => key !== 'aws:RequestedRegion')
    .map(([key, value]) => `${key}=${JSON.stringify(value)}`)
    .join(' ');
  return `request #${request.seq} ${request.service}:${request.action} by ${request.sender} in ${request.region}: ${authorization.action} on ${authorization.resource}${side} ${why}${context ? ` [${context}]` : ''}`;
}
