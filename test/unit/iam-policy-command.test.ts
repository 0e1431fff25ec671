import { describe, expect, it } from 'vitest';
import { runCli } from '../../src/cli.ts';
import type { PolicyDocument } from '../../src/iam/generate-policy.ts';
import { repoRoot } from '../support/project.ts';

async function gild(argv: readonly string[]) {
  let stdout = '';
  let stderr = '';
  const exitCode = await runCli(argv, { cwd: repoRoot, env: {}, stdout: (text) => (stdout += text), stderr: (text) => (stderr += text), isTTY: false, exit: () => undefined as never });
  return { exitCode, stdout, stderr };
}

describe('gild iam-policy', () => {
  it('prints each statement with its reason, then the document', async () => {
    const result = await gild(['iam-policy']);
    expect(result.exitCode).toBe(0);
    expect(result.stdout).toMatch(/^Least-privilege policy for the gild pipeline role \(5 images, prefix \/golden, regions eu-west-1, us-east-1, us-west-2/);
    expect(result.stdout).toContain('  deny NeverMoveOwnership: ');
    expect(result.stdout).toContain('"Version": "2012-10-17"');
  });

  it('--json prints only the document, and --assume-role adds the distribution roles', async () => {
    const result = await gild(['iam-policy', '--json', '--assume-role', 'arn:aws:iam::210987654321:role/gild-distribution']);
    expect(result.exitCode).toBe(0);
    const policy = JSON.parse(result.stdout) as PolicyDocument;
    expect(policy.Statement.find((statement) => statement.Sid === 'AssumeDistributionRoles')).toEqual({
      Sid: 'AssumeDistributionRoles',
      Effect: 'Allow',
      Action: ['sts:AssumeRole'],
      Resource: ['arn:aws:iam::210987654321:role/gild-distribution'],
    });
  });

  it("--account-role prints the distribution role's policy, and refuses --assume-role beside it", async () => {
    const printed = await gild(['iam-policy', '--account-role']);
    expect(printed.exitCode).toBe(0);
    expect(printed.stdout).toMatch(/^Least-privilege policy for the role gild assumes in each distribution account \(no image names distribution.accounts yet; prefix \/golden/);
    expect(printed.stdout).toContain('gild iam-policy --account-role --json');
    const both = await gild(['iam-policy', '--account-role', '--assume-role', 'arn:aws:iam::210987654321:role/gild-distribution']);
    expect(both.exitCode).toBe(2);
    expect(both.stderr).toContain('--account-role and --assume-role');
  });

  it('refuses an --assume-role that is not a role ARN with exit code 2, naming the flag', async () => {
    const result = await gild(['iam-policy', '--assume-role', 'gild-distribution']);
    expect(result.exitCode).toBe(2);
    expect(result.stderr).toContain('--assume-role "gild-distribution": not an IAM role ARN');
    expect(result.stderr).not.toMatch(/internal error|\n\s+at /);
  });
});
