/**
 * One line of `gild doctor`'s answer: what was checked, for what, whether the
 * account gives a run what it needs, and how to fix it when not. A check the
 * account (or the emulator) could not answer is `not-checked`, with the reason:
 * never reported as passed.
 */
import { deniedAction } from '../adapters/aws-call.ts';

/** `advice`: the account gives a run what it needs, but lacks something that would help (a Recycle Bin rule). */
export type CheckStatus = 'ok' | 'failed' | 'not-checked' | 'advice';

export interface DoctorCheck {
  /** What is checked, e.g. `region enabled`, `KMS key`. */
  readonly check: string;
  /** What it is checked for: a region, an image, a role, a key. */
  readonly subject: string;
  readonly status: CheckStatus;
  readonly detail: string;
  /** How to fix a failed line, or how to get a line checked. */
  readonly fix?: string;
}

export const passed = (check: string, subject: string, detail: string): DoctorCheck => ({ check, subject, status: 'ok', detail });
export const failed = (check: string, subject: string, detail: string, fix: string): DoctorCheck => ({ check, subject, status: 'failed', detail, fix });
export const advice = (check: string, subject: string, detail: string, fix: string): DoctorCheck => ({ check, subject, status: 'advice', detail, fix });
export const notChecked = (check: string, subject: string, detail: string, fix: string): DoctorCheck => ({ check, subject, status: 'not-checked', detail, fix });

/**
 * Runs one check's reads. A refusal of one of the doctor's own reads is `not-checked` naming the action to grant
 * (it says nothing about what a run may do); any other failure is a failed line with AWS's message.
 */
export async function attempt(check: string, subject: string, reads: () => Promise<DoctorCheck[]>): Promise<DoctorCheck[]> {
  try {
    return await reads();
  } catch (error) {
    const cause = (error as { cause?: unknown }).cause ?? error;
    const denied = deniedAction(cause) ?? deniedAction(error);
    if (denied) return [notChecked(check, subject, `the caller may not ${denied}, which this check reads with`, `grant ${denied} to the caller (read only), or run gild doctor as someone who may`)];
    const message = error instanceof Error ? error.message : String(error);
    return [failed(check, subject, `could not be checked: ${message}`, 'fix what the error says (credentials, endpoint or network), then run gild doctor again')];
  }
}

/** The reads `gild doctor` makes beyond what a run needs: grant them (all read only) to check everything. */
export const doctorReadActions = [
  'sts:GetCallerIdentity',
  'iam:SimulatePrincipalPolicy',
  'iam:GetRole',
  'iam:GetInstanceProfile',
  'iam:ListAttachedRolePolicies',
  'iam:ListRolePolicies',
  'iam:GetRolePolicy',
  'iam:GetPolicy',
  'iam:GetPolicyVersion',
  'ec2:DescribeRegions',
  'ec2:GetImageBlockPublicAccessState',
  'ec2:DescribeSubnets',
  'ec2:DescribeRouteTables',
  'ec2:DescribeVpcEndpoints',
  'kms:DescribeKey',
  'kms:GetKeyPolicy',
  'kms:ListGrants',
  'ssm:GetParametersByPath',
  'rbin:ListRules',
  'rbin:GetRule',
] as const;
