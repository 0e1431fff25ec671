/**
 * The IAM simulation over what the recorder (iam-recorder.ts) saw: every
 * recorded request → its resource authorizations (iam-authorizations.ts) →
 * the simulator's verdict under the policy of the principal that sent it
 * (the pipeline role, or a distribution account's role for credentials
 * moto's STS handed out).
 */
import type { PolicyDocument } from '../../src/iam/generate-policy.ts';
import { authorizationsOf } from './iam-authorizations.ts';
import type { IamRecorder, RecordedRequest } from './iam-recorder.ts';
import { evaluate, type SimulationSummary, type Verdict } from './iam-simulation.ts';

/** moto's default account: where the pipeline's own credentials act. */
export const pipelineAccount = '123456789012';

export interface Principals {
  /** The building account's pipeline role policy (`gild iam-policy --json`). */
  readonly pipeline: PolicyDocument;
  /** The distribution role's policy (`gild iam-policy --account-role --json`), for requests made as an assumed role. */
  readonly accountRole?: PolicyDocument;
}

export async function simulateRecorded(requests: readonly RecordedRequest[], assumedRoles: IamRecorder['assumedRoles'], principals: Principals): Promise<SimulationSummary> {
  const accountOf = (key: string) => /^arn:aws:iam::(\d{12}):/.exec(assumedRoles.get(key) ?? '')?.[1] ?? pipelineAccount;
  const verdicts: Verdict[] = [];
  // Polls and lookups repeat the same authorization many times over; the simulator's answer depends only on these.
  const decided = new Map<string, Omit<Verdict, 'authorization'>>();
  let counted = 0;
  for (const request of requests) {
    if (request.sender === 'emulator-setup') continue;
    const role = assumedRoles.get(request.accessKeyId);
    if (role && !principals.accountRole) throw new Error(`request #${request.seq} ${request.service}:${request.action} was made as ${role}, but no account-role policy was given to simulate it with`);
    const policy = role ? principals.accountRole! : principals.pipeline;
    const principal = role ?? `arn:aws:iam::${pipelineAccount}:role/gild-pipeline`;
    counted++;
    for (const authorization of authorizationsOf(request, { accountOf })) {
      const key = JSON.stringify([principal, authorization.action, authorization.resource, Object.entries(authorization.context).sort(([a], [b]) => a.localeCompare(b))]);
      let verdict = decided.get(key);
      if (!verdict) {
        const { authorization: _evaluated, ...outcome } = await evaluate(policy, authorization, principal);
        verdict = outcome;
        decided.set(key, verdict);
      }
      verdicts.push({ ...verdict, authorization });
    }
  }
  return { requests: counted, authorizations: verdicts.length, denied: verdicts.filter((verdict) => verdict.result !== 'Allowed'), verdicts };
}
