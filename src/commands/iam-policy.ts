/**
 * `gild iam-policy`: prints the least-privilege policy for the pipeline role,
 * from the settings and image definitions. Reads no AWS.
 */
import { catalogue } from '../errors.ts';
import { accountRoleScopeFromProject, describeGrants, generatePolicy, scopeFromProject, type PolicyDocument } from '../iam/generate-policy.ts';
import { loadProject } from './load-project.ts';

export interface IamPolicyOptions {
  /** Print only the policy document (what `aws iam put-role-policy` takes). */
  readonly json: boolean;
  /** Roles in distribution accounts the pipeline assumes. */
  readonly assumeRole: readonly string[];
  /** Print the policy of the role gild assumes in the distribution accounts instead of the pipeline role's. */
  readonly accountRole?: boolean;
}

export interface IamPolicyIo {
  readonly cwd: string;
  readonly stdout: (text: string) => void;
  readonly stderr: (text: string) => void;
}

const roleArnPattern = /^arn:aws[a-z-]*:iam::\d{12}:role\/[\w+=,.@/-]+$/;

/** The policy document as `pipeline/iam-policy.json` holds it. */
export function formatPolicyDocument(policy: PolicyDocument): string {
  return `${JSON.stringify(policy, null, 2)}\n`;
}

export async function iamPolicyCommand(options: IamPolicyOptions, io: IamPolicyIo): Promise<number> {
  const badRoles = options.assumeRole.filter((arn) => !roleArnPattern.test(arn));
  if (badRoles.length > 0) {
    throw catalogue.EUSAGE(
      `--assume-role ${badRoles.map((arn) => `"${arn}"`).join(', ')}: not an IAM role ARN. Pass the distribution role's ARN, e.g. arn:aws:iam::210987654321:role/gild-distribution.`,
    );
  }
  if (options.accountRole && options.assumeRole.length > 0) {
    throw catalogue.EUSAGE(
      "--account-role and --assume-role: the distribution role assumes no other role. Use --assume-role for the pipeline role's policy, --account-role alone for the role in the distribution accounts.",
    );
  }
  const project = await loadProject(io.cwd);
  const scope = options.accountRole ? accountRoleScopeFromProject(project.settings, project.images) : scopeFromProject(project.settings, project.images, { distributionRoleArns: options.assumeRole });
  const policy = generatePolicy(scope);
  if (options.json) {
    io.stdout(formatPolicyDocument(policy));
    return 0;
  }
  const why = new Map(describeGrants().map((grant) => [grant.sid, grant.why]));
  const targets = [...new Set(project.images.flatMap((image) => image.distribution.map((target) => target.roleArn)))];
  const lines = [
    options.accountRole
      ? `Least-privilege policy for the role gild assumes in each distribution account (${targets.join(', ') || 'no image names distribution.accounts yet'}; prefix ${scope.ssmPrefix}, regions ${scope.regions.join(', ') || 'any'}):`
      : `Least-privilege policy for the gild pipeline role (${project.images.length} images, prefix ${scope.ssmPrefix}, regions ${scope.regions.join(', ') || 'any'}, account ${scope.accountId === '*' ? 'any (set accountId in pipeline/settings.ts to pin it)' : scope.accountId}):`,
    ...policy.Statement.map((statement) => `  ${statement.Effect === 'Deny' ? 'deny ' : ''}${statement.Sid}: ${why.get(statement.Sid) ?? ''}`),
    '',
    `Policy document (also: \`gild iam-policy ${options.accountRole ? '--account-role ' : ''}--json\`):`,
    formatPolicyDocument(policy),
  ];
  io.stdout(lines.join('\n'));
  return 0;
}
