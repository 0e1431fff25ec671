/**
 * The policy with each Allow widened to every resource and no conditions, and
 * no Denies: what moto's IAM enforcement can check (it matches EC2 and SSM
 * actions against `*` only and ignores conditions). Proves the actions suffice,
 * never the scoping (test/integration/iam-simulation.test.ts proves that).
 * Test-only: gild itself never widens a policy.
 */
import type { PolicyDocument } from '../../src/iam/generate-policy.ts';

export function widenForEmulator(policy: PolicyDocument): PolicyDocument {
  return {
    Version: policy.Version,
    Statement: policy.Statement.filter((statement) => statement.Effect === 'Allow').map((statement) => ({ Sid: statement.Sid, Effect: 'Allow', Action: statement.Action, Resource: ['*'] })),
  };
}
