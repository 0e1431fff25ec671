/**
 * `gild doctor` through the real CLI on moto: an account made ready passes
 * every check moto can answer and says which it cannot (never as passed);
 * then each way an account is not ready — a missing instance profile, a
 * disabled KMS key, a region not enabled, a role that cannot be assumed — is
 * exactly one failed line naming the fix, and exit 1. (The caller's policy
 * is evaluated by iam:SimulatePrincipalPolicy, which moto lacks: see
 * test/unit/doctor-policy.test.ts.)
 */
import { AddRoleToInstanceProfileCommand, CreateInstanceProfileCommand, CreateRoleCommand, IAMClient, PutRolePolicyCommand } from '@aws-sdk/client-iam';
import { CreateAliasCommand, CreateKeyCommand, DescribeKeyCommand, DisableKeyCommand, KMSClient } from '@aws-sdk/client-kms';
import { AttachInternetGatewayCommand, CreateInternetGatewayCommand, CreateRouteCommand, DescribeRouteTablesCommand, DescribeVpcsCommand, EC2Client } from '@aws-sdk/client-ec2';
import { AssumeRoleCommand, STSClient } from '@aws-sdk/client-sts';
import { afterEach, describe, expect, it } from 'vitest';
import type { DoctorAnswer } from '../../src/commands/doctor.ts';
import { useMotoBehindFaultProxy } from '../support/moto.ts';
import { createTempProject, imageSource, type TempProject } from '../support/project.ts';

const distributionAccount = '210987654321';
const distributionRole = `arn:aws:iam::${distributionAccount}:role/gild-distribution`;

const config = (endpoint: string, region: string) => ({ endpoint, region, credentials: { accessKeyId: 'test', secretAccessKey: 'test' } });

/** An account ready for a run of the test image in `regions`: the smoke profile with an SSM-capable role, a way out of the default VPCs, a key per region its distribution account may use. */
async function prepareAccount(endpoint: string, regions: readonly string[], options: { instanceProfile?: boolean } = {}): Promise<Record<string, string>> {
  await prepareDistributionAccount(endpoint);
  const iam = new IAMClient(config(endpoint, 'us-east-1'));
  await iam.send(
    new CreateRoleCommand({
      RoleName: 'gild-smoke',
      AssumeRolePolicyDocument: JSON.stringify({ Version: '2012-10-17', Statement: [{ Effect: 'Allow', Principal: { Service: 'ec2.amazonaws.com' }, Action: 'sts:AssumeRole' }] }),
    }),
  );
  const agentPolicy = { Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: ['ssm:UpdateInstanceInformation', 'ssmmessages:*', 'ec2messages:*'], Resource: '*' }] };
  await iam.send(new PutRolePolicyCommand({ RoleName: 'gild-smoke', PolicyName: 'ssm-agent', PolicyDocument: JSON.stringify(agentPolicy) }));
  if (options.instanceProfile !== false) {
    await iam.send(new CreateInstanceProfileCommand({ InstanceProfileName: 'gild-smoke' }));
    await iam.send(new AddRoleToInstanceProfileCommand({ InstanceProfileName: 'gild-smoke', RoleName: 'gild-smoke' }));
  }
  iam.destroy();
  const keys: Record<string, string> = {};
  for (const region of regions) {
    const ec2 = new EC2Client(config(endpoint, region));
    // NOTE: moto's default VPC has no internet gateway, unlike AWS's: the test gives it the route out AWS's has.
    const vpcId = (await ec2.send(new DescribeVpcsCommand({ Filters: [{ Name: 'is-default', Values: ['true'] }] }))).Vpcs?.[0]?.VpcId;
    if (vpcId) {
      const gatewayId = (await ec2.send(new CreateInternetGatewayCommand({}))).InternetGateway?.InternetGatewayId;
      await ec2.send(new AttachInternetGatewayCommand({ InternetGatewayId: gatewayId, VpcId: vpcId }));
      const routeTableId = (await ec2.send(new DescribeRouteTablesCommand({ Filters: [{ Name: 'vpc-id', Values: [vpcId] }] }))).RouteTables?.[0]?.RouteTableId;
      await ec2.send(new CreateRouteCommand({ RouteTableId: routeTableId, DestinationCidrBlock: '0.0.0.0/0', GatewayId: gatewayId }));
    }
    ec2.destroy();
    const kms = new KMSClient(config(endpoint, region));
    const keyPolicy = {
      Version: '2012-10-17',
      Statement: [
        { Sid: 'Owner', Effect: 'Allow', Principal: { AWS: 'arn:aws:iam::123456789012:root' }, Action: 'kms:*', Resource: '*' },
        {
          Sid: 'Distribution',
          Effect: 'Allow',
          Principal: { AWS: `arn:aws:iam::${distributionAccount}:root` },
          Action: ['kms:Decrypt', 'kms:DescribeKey', 'kms:CreateGrant', 'kms:ReEncrypt*'],
          Resource: '*',
        },
      ],
    };
    const keyId = (await kms.send(new CreateKeyCommand({ KeyUsage: 'ENCRYPT_DECRYPT', KeySpec: 'SYMMETRIC_DEFAULT', Policy: JSON.stringify(keyPolicy) }))).KeyMetadata?.KeyId ?? '';
    await kms.send(new CreateAliasCommand({ AliasName: 'alias/gild-images', TargetKeyId: keyId }));
    kms.destroy();
    keys[region] = keyId;
  }
  return keys;
}

/** The distribution account, through its role (moto keeps each account's resources apart): the key its copies are encrypted with and its smoke profile. */
async function prepareDistributionAccount(endpoint: string): Promise<void> {
  const sts = new STSClient(config(endpoint, 'us-east-1'));
  const session = (await sts.send(new AssumeRoleCommand({ RoleArn: distributionRole, RoleSessionName: 'test-setup' }))).Credentials;
  sts.destroy();
  const credentials = { accessKeyId: session?.AccessKeyId ?? '', secretAccessKey: session?.SecretAccessKey ?? '', sessionToken: session?.SessionToken ?? '' };
  const kms = new KMSClient({ ...config(endpoint, 'us-east-1'), credentials });
  const keyId = (await kms.send(new CreateKeyCommand({ KeyUsage: 'ENCRYPT_DECRYPT', KeySpec: 'SYMMETRIC_DEFAULT' }))).KeyMetadata?.KeyId ?? '';
  await kms.send(new CreateAliasCommand({ AliasName: 'alias/gild-copies', TargetKeyId: keyId }));
  kms.destroy();
  const iam = new IAMClient({ ...config(endpoint, 'us-east-1'), credentials });
  await iam.send(
    new CreateRoleCommand({
      RoleName: 'gild-smoke',
      AssumeRolePolicyDocument: JSON.stringify({ Version: '2012-10-17', Statement: [{ Effect: 'Allow', Principal: { Service: 'ec2.amazonaws.com' }, Action: 'sts:AssumeRole' }] }),
    }),
  );
  await iam.send(
    new PutRolePolicyCommand({
      RoleName: 'gild-smoke',
      PolicyName: 'ssm-agent',
      PolicyDocument: JSON.stringify({ Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: ['ssm:*', 'ssmmessages:*', 'ec2messages:*'], Resource: '*' }] }),
    }),
  );
  await iam.send(new CreateInstanceProfileCommand({ InstanceProfileName: 'gild-smoke' }));
  await iam.send(new AddRoleToInstanceProfileCommand({ InstanceProfileName: 'gild-smoke', RoleName: 'gild-smoke' }));
  iam.destroy();
}

/** The test image: built in us-east-1, copied to `copies`, encrypted with alias/gild-images, distributed to one account. */
const doctorImage = (copies: readonly string[]) =>
  imageSource({
    name: 'web',
    regions: `{ build: 'us-east-1', copies: ${JSON.stringify(copies)} }`,
    extra: `encryption: { kmsKeyId: 'alias/gild-images', regionKmsKeyIds: { ${copies.map((region) => `'${region}': 'alias/gild-images'`).join(', ')} } },
  distribution: { accounts: [{ account: '${distributionAccount}', roleArn: '${distributionRole}', regions: ['us-east-1'], kmsKeyId: 'alias/gild-copies', smoke: { instanceProfile: 'gild-smoke' } }] },`,
  });

describe('gild doctor', () => {
  const harness = useMotoBehindFaultProxy();
  let project: TempProject | undefined;
  afterEach(async () => {
    await project?.remove();
    project = undefined;
  });

  /** `gild doctor --json`, and the table too when asked: both exit alike. */
  async function doctor(copies: readonly string[] = ['us-west-2'], options: { table?: boolean } = {}): Promise<{ exitCode: number; stdout: string; answer: DoctorAnswer }> {
    project = await createTempProject({ images: { 'web.ts': doctorImage(copies) } });
    const env = harness.proxy.env(harness.moto.env);
    const [json, table] = await Promise.all([project.gild(['doctor', '--json'], env), options.table ? project.gild(['doctor'], env) : undefined]);
    expect(json.stderr + json.stdout).not.toMatch(/internal error/);
    if (table) expect(table.exitCode, table.stderr).toBe(json.exitCode);
    return { exitCode: json.exitCode, stdout: table?.stdout ?? '', answer: JSON.parse(json.stdout) as DoctorAnswer };
  }
  const failures = (answer: DoctorAnswer) => answer.checks.filter((check) => check.status === 'failed');

  it('passes every check moto can answer on a ready account, and says which it cannot answer', async () => {
    await prepareAccount(harness.moto.endpoint, ['us-east-1', 'us-west-2']);
    const { exitCode, stdout, answer } = await doctor(['us-west-2'], { table: true });
    expect(failures(answer), stdout).toEqual([]);
    expect(exitCode).toBe(0);
    expect(answer.ready).toBe(true);
    const lines = (status: string) => answer.checks.filter((check) => check.status === status).map((check) => `${check.check}: ${check.subject}`);
    expect(lines('ok')).toEqual([
      'caller identity: arn:aws:sts::123456789012:user/moto',
      'region enabled: us-east-1',
      'region enabled: us-west-2',
      expect.stringMatching(/^Packer: Packer v\d+\.\d+\.\d+/),
      'smoke instance profile: gild-smoke (web)',
      'subnet reaches SSM: smoke default VPC in us-east-1 (web)',
      'KMS key usable for EBS: alias/gild-images in us-east-1 (web)',
      expect.stringMatching(/^KMS key shared with distribution account: arn:aws:kms:us-east-1:123456789012:key\/.+ → 210987654321$/),
      'KMS key usable for EBS: alias/gild-images in us-west-2 (web)',
      "SSM prefix only gild's: /golden in us-east-1",
      "SSM prefix only gild's: /golden in us-west-2",
      `distribution role assumable: ${distributionRole}`,
      `KMS key usable for EBS: alias/gild-copies in us-east-1 (account ${distributionAccount})`,
      `smoke instance profile: gild-smoke (account ${distributionAccount})`,
    ]);
    const gaps = answer.checks.filter((check) => check.status === 'not-checked');
    expect(gaps.map((check) => check.check)).toEqual(['IAM policy (simulated by AWS)', 'AMI block public access', 'Recycle Bin keeps retired AMIs']);
    expect(gaps[0]?.detail).toContain('the emulator cannot answer iam:SimulatePrincipalPolicy');
    expect(gaps[1]?.detail).toContain('the emulator cannot answer ec2:GetImageBlockPublicAccessState');
    expect(gaps[2]?.detail).toContain('the emulator has no Recycle Bin');
    expect(stdout).toMatch(/^not checked +IAM policy \(simulated by AWS\) .*the emulator cannot answer iam:SimulatePrincipalPolicy/m);
    expect(stdout).toContain('Ready, with 3 of 17 checks not made (see why above).');
  });

  it('fails on a missing smoke instance profile, saying how to create it', async () => {
    await prepareAccount(harness.moto.endpoint, ['us-east-1', 'us-west-2'], { instanceProfile: false });
    const { exitCode, stdout, answer } = await doctor(['us-west-2'], { table: true });
    expect(exitCode).toBe(1);
    expect(failures(answer)).toEqual([
      expect.objectContaining({
        check: 'smoke instance profile',
        subject: 'gild-smoke (web)',
        detail: 'no such instance profile in this account',
        fix: expect.stringContaining('aws iam create-instance-profile --instance-profile-name gild-smoke'),
      }),
    ]);
    expect(stdout).toMatch(/^FAILED +smoke instance profile +gild-smoke \(web\) +no such instance profile/m);
    expect(stdout).toMatch(/^ +fix: create it with a role that has AmazonSSMManagedInstanceCore/m);
  });

  it('fails on a disabled KMS key, saying how to enable it', async () => {
    const keys = await prepareAccount(harness.moto.endpoint, ['us-east-1', 'us-west-2']);
    const kms = new KMSClient(config(harness.moto.endpoint, 'us-west-2'));
    await kms.send(new DisableKeyCommand({ KeyId: keys['us-west-2'] }));
    kms.destroy();
    const { exitCode, answer } = await doctor();
    expect(exitCode).toBe(1);
    expect(failures(answer)).toEqual([
      expect.objectContaining({
        check: 'KMS key usable for EBS',
        subject: 'alias/gild-images in us-west-2 (web)',
        detail: expect.stringMatching(/is Disabled: EBS cannot encrypt with it$/),
        fix: expect.stringMatching(/^enable it: aws kms enable-key --key-id arn:aws:kms:us-west-2:123456789012:key\/\S+ --region us-west-2$/),
      }),
    ]);
  });

  it('reads the distribution account through its role: a disabled key there is a failed line too', async () => {
    await prepareAccount(harness.moto.endpoint, ['us-east-1', 'us-west-2']);
    const sts = new STSClient(config(harness.moto.endpoint, 'us-east-1'));
    const session = (await sts.send(new AssumeRoleCommand({ RoleArn: distributionRole, RoleSessionName: 'test-fault' }))).Credentials;
    sts.destroy();
    const kms = new KMSClient({
      ...config(harness.moto.endpoint, 'us-east-1'),
      credentials: { accessKeyId: session?.AccessKeyId ?? '', secretAccessKey: session?.SecretAccessKey ?? '', sessionToken: session?.SessionToken ?? '' },
    });
    // NOTE: DisableKey takes a key ID or ARN, not an alias (as on AWS).
    const keyId = (await kms.send(new DescribeKeyCommand({ KeyId: 'alias/gild-copies' }))).KeyMetadata?.KeyId;
    await kms.send(new DisableKeyCommand({ KeyId: keyId }));
    kms.destroy();
    const { exitCode, answer } = await doctor();
    expect(exitCode).toBe(1);
    expect(failures(answer)).toEqual([
      expect.objectContaining({
        check: 'KMS key usable for EBS',
        subject: `alias/gild-copies in us-east-1 (account ${distributionAccount})`,
        fix: expect.stringMatching(/^enable it: aws kms enable-key --key-id arn:aws:kms:us-east-1:210987654321:key\/\S+ --region us-east-1$/),
      }),
    ]);
  });

  it('fails on a region the account has not enabled, saying how to enable it', async () => {
    // moto reports ap-east-1 as an opt-in region this account has not opted in to, as a new AWS account does.
    await prepareAccount(harness.moto.endpoint, ['us-east-1', 'ap-east-1']);
    const { exitCode, answer } = await doctor(['ap-east-1']);
    expect(exitCode).toBe(1);
    expect(failures(answer)).toEqual([
      expect.objectContaining({
        check: 'region enabled',
        subject: 'ap-east-1',
        detail: 'opt-in status not-opted-in: the region is not enabled for this account',
        fix: expect.stringContaining('aws account enable-region --region-name ap-east-1'),
      }),
    ]);
  });

  it('fails on a distribution role it cannot assume, saying what must trust what', async () => {
    await prepareAccount(harness.moto.endpoint, ['us-east-1', 'us-west-2']);
    harness.proxy.setRules({ deniedRoles: [distributionRole] });
    const { exitCode, answer } = await doctor();
    expect(exitCode).toBe(1);
    expect(failures(answer)).toEqual([
      expect.objectContaining({
        check: 'distribution role assumable',
        subject: distributionRole,
        detail: expect.stringMatching(/^sts:AssumeRole refused: .*AccessDenied|not authorized/),
        fix: expect.stringContaining('statement AssumeDistributionRoles of `gild iam-policy`'),
      }),
    ]);
  });
});
