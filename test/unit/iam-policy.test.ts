/**
 * The scoping of the generated policy: resources, tag conditions and Denies.
 * moto's IAM enforcement ignores all of these (test/integration/iam-enforcement
 * proves only that the actions suffice), so a small evaluator of IAM's
 * matching rules answers "would AWS allow this request?" here.
 */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadProject } from '../../src/commands/load-project.ts';
import { formatPolicyDocument } from '../../src/commands/iam-policy.ts';
import { accountRoleScopeFromProject, generatePolicy, scopeFromProject, type PolicyDocument, type PolicyScope } from '../../src/iam/generate-policy.ts';
import { widenForEmulator } from '../support/widen-for-emulator.ts';
import { resolvedImageFixture } from '../support/resolved-image-fixture.ts';
import { repoRoot } from '../support/project.ts';

const account = '123456789012';

const scope = (overrides: Partial<PolicyScope> = {}): PolicyScope => ({
  ssmPrefix: '/golden',
  regions: ['us-east-1', 'us-west-2'],
  accountId: account,
  kmsKeys: [],
  instanceProfiles: ['gild-smoke'],
  temporaryInstanceProfile: true,
  sessionManager: false,
  spot: false,
  windows: false,
  baseParameters: [],
  distributionRoleArns: [],
  ...overrides,
});

interface Request {
  action: string;
  resource: string;
  context?: Record<string, string | readonly string[] | undefined>;
}

const glob = (pattern: string) =>
  new RegExp(
    `^${pattern
      .replace(/[.+^${}()|[\]\\]/g, '\\$&')
      .replace(/\*/g, '.*')
      .replace(/\?/g, '.')}$`,
  );

function conditionHolds(operator: string, key: string, expected: string | readonly string[], context: NonNullable<Request['context']>): boolean {
  const wanted = typeof expected === 'string' ? [expected] : expected;
  const actual = context[key];
  const values = actual === undefined ? [] : typeof actual === 'string' ? [actual] : actual;
  switch (operator) {
    case 'StringEquals':
      return values.length > 0 && values.every((value) => wanted.includes(value));
    case 'StringLike':
      return values.length > 0 && values.every((value) => wanted.some((pattern) => glob(pattern).test(value)));
    case 'ForAnyValue:StringEquals':
      return values.some((value) => wanted.includes(value));
    case 'Null':
      return (actual === undefined) === (wanted[0] === 'true');
    default:
      throw new Error(`the test evaluator does not know condition operator ${operator}`);
  }
}

/** IAM's decision for one request: an explicit Deny wins, then any Allow, else an implicit deny. */
function decide(policy: PolicyDocument, request: Request): 'allowed' | 'denied' {
  const context = { 'aws:RequestedRegion': 'us-east-1', ...request.context };
  const matching = policy.Statement.filter(
    (statement) =>
      statement.Action.some((action) => glob(action).test(request.action)) &&
      statement.Resource.some((resource) => glob(resource).test(request.resource)) &&
      Object.entries(statement.Condition ?? {}).every(([operator, keys]) => Object.entries(keys).every(([key, expected]) => conditionHolds(operator, key, expected, context))),
  );
  if (matching.some((statement) => statement.Effect === 'Deny')) return 'denied';
  return matching.some((statement) => statement.Effect === 'Allow') ? 'allowed' : 'denied';
}

const policy = generatePolicy(scope());
const ami = (id = 'ami-0abc') => `arn:aws:ec2:us-east-1::image/${id}`;
const snapshot = (id = 'snap-0abc') => `arn:aws:ec2:us-east-1::snapshot/${id}`;
const instance = (id = 'i-0abc') => `arn:aws:ec2:us-east-1:${account}:instance/${id}`;
const parameter = (name: string) => `arn:aws:ssm:us-east-1:${account}:parameter${name}`;

describe('CreateTags', () => {
  it('tags an instance only in the RunInstances call that creates it', () => {
    expect(decide(policy, { action: 'ec2:CreateTags', resource: instance(), context: { 'ec2:CreateAction': 'RunInstances', 'aws:TagKeys': ['gild:image', 'gild:role'] } })).toBe('allowed');
    expect(decide(policy, { action: 'ec2:CreateTags', resource: instance(), context: { 'aws:TagKeys': ['gild:role'], 'aws:RequestTag/gild:role': 'smoke' } })).toBe('denied');
  });

  it('updates status tags on AMIs and snapshots already tagged gild:image', () => {
    for (const resource of [ami(), snapshot()]) {
      expect(decide(policy, { action: 'ec2:CreateTags', resource, context: { 'aws:ResourceTag/gild:image': 'web', 'aws:TagKeys': ['gild:status'] } })).toBe('allowed');
    }
  });

  it('never moves gild:image on a resource that has it, so one image cannot adopt or hand over an AMI', () => {
    expect(decide(policy, { action: 'ec2:CreateTags', resource: ami(), context: { 'aws:ResourceTag/gild:image': 'web', 'aws:TagKeys': ['gild:image'], 'aws:RequestTag/gild:image': 'nginx' } })).toBe(
      'denied',
    );
    expect(decide(policy, { action: 'ec2:DeleteTags', resource: ami(), context: { 'aws:ResourceTag/gild:image': 'web', 'aws:TagKeys': ['gild:image'] } })).toBe('denied');
  });

  it('lets Packer tag the untagged AMI it just made, and only with gild:image among the tags', () => {
    expect(decide(policy, { action: 'ec2:CreateTags', resource: ami(), context: { 'aws:TagKeys': ['gild:image', 'Name'], 'aws:RequestTag/gild:image': 'web' } })).toBe('allowed');
    expect(decide(policy, { action: 'ec2:CreateTags', resource: ami(), context: { 'aws:TagKeys': ['Name'], 'aws:RequestTag/Name': 'x' } })).toBe('denied');
  });

  it('does not tag existing instances, volumes, key pairs or security groups outside a create call', () => {
    for (const resource of [instance(), `arn:aws:ec2:us-east-1:${account}:volume/vol-1`, `arn:aws:ec2:us-east-1:${account}:security-group/sg-1`]) {
      expect(decide(policy, { action: 'ec2:CreateTags', resource, context: { 'aws:TagKeys': ['gild:image'], 'aws:RequestTag/gild:image': 'web' } })).toBe('denied');
    }
  });
});

describe('destructive and sharing actions', () => {
  const destructive = ['ec2:DeregisterImage', 'ec2:ModifyImageAttribute', 'ec2:EnableImageDeprecation', 'ec2:DisableImageDeprecation', 'ec2:DisableImage', 'ec2:EnableImage'];

  it.each(destructive)('%s acts only on AMIs tagged gild:image', (action) => {
    expect(decide(policy, { action, resource: ami(), context: { 'aws:ResourceTag/gild:image': 'web' } })).toBe('allowed');
    expect(decide(policy, { action, resource: ami() })).toBe('denied');
  });

  it('deletes and shares only snapshots tagged gild:image', () => {
    for (const action of ['ec2:DeleteSnapshot', 'ec2:ModifySnapshotAttribute']) {
      expect(decide(policy, { action, resource: snapshot(), context: { 'aws:ResourceTag/gild:image': 'web' } })).toBe('allowed');
      expect(decide(policy, { action, resource: snapshot() })).toBe('denied');
    }
  });

  it.each(['ec2:TerminateInstances', 'ec2:StopInstances', 'ec2:ModifyInstanceAttribute'])('%s acts only on instances tagged gild:role build or smoke', (action) => {
    expect(decide(policy, { action, resource: instance(), context: { 'aws:ResourceTag/gild:role': 'smoke' } })).toBe('allowed');
    expect(decide(policy, { action, resource: instance(), context: { 'aws:ResourceTag/gild:role': 'build' } })).toBe('allowed');
    expect(decide(policy, { action, resource: instance(), context: { 'aws:ResourceTag/gild:role': 'web' } })).toBe('denied');
    expect(decide(policy, { action, resource: instance() })).toBe('denied');
  });

  it('deletes only volumes of gild instances', () => {
    expect(decide(policy, { action: 'ec2:DeleteVolume', resource: `arn:aws:ec2:us-east-1:${account}:volume/vol-1`, context: { 'aws:ResourceTag/gild:role': 'build' } })).toBe('allowed');
    expect(decide(policy, { action: 'ec2:DeleteVolume', resource: `arn:aws:ec2:us-east-1:${account}:volume/vol-1` })).toBe('denied');
  });

  it('launches instances only when they are tagged gild:role at creation', () => {
    expect(decide(policy, { action: 'ec2:RunInstances', resource: instance(), context: { 'aws:RequestTag/gild:role': 'smoke' } })).toBe('allowed');
    expect(decide(policy, { action: 'ec2:RunInstances', resource: instance() })).toBe('denied');
    expect(decide(policy, { action: 'ec2:RunInstances', resource: 'arn:aws:ec2:us-east-1::image/ami-public' })).toBe('allowed');
  });

  it("creates and deletes only key pairs gild named (Packer gets its name), never another team's Packer key pair", () => {
    expect(decide(policy, { action: 'ec2:DeleteKeyPair', resource: `arn:aws:ec2:us-east-1:${account}:key-pair/gild_20261129T030000Z_web` })).toBe('allowed');
    expect(decide(policy, { action: 'ec2:DeleteKeyPair', resource: `arn:aws:ec2:us-east-1:${account}:key-pair/packer_6613a1` })).toBe('denied');
    expect(decide(policy, { action: 'ec2:DeleteKeyPair', resource: `arn:aws:ec2:us-east-1:${account}:key-pair/prod-admin` })).toBe('denied');
  });
});

describe('Run Command', () => {
  const shellScript = 'arn:aws:ssm:us-east-1::document/AWS-RunShellScript';

  it('sends only the shell documents, only to gild instances', () => {
    expect(decide(policy, { action: 'ssm:SendCommand', resource: instance(), context: { 'ssm:resourceTag/gild:role': 'smoke' } })).toBe('allowed');
    expect(decide(policy, { action: 'ssm:SendCommand', resource: instance() })).toBe('denied');
    expect(decide(policy, { action: 'ssm:SendCommand', resource: shellScript })).toBe('allowed');
    expect(decide(policy, { action: 'ssm:SendCommand', resource: 'arn:aws:ssm:us-east-1::document/AWS-RunPowerShellScript' })).toBe('allowed');
    expect(decide(policy, { action: 'ssm:SendCommand', resource: 'arn:aws:ssm:us-east-1::document/AWS-RunRemoteScript' })).toBe('denied');
    expect(decide(policy, { action: 'ssm:SendCommand', resource: `arn:aws:ssm:us-east-1:${account}:document/my-admin-document` })).toBe('denied');
  });

  it('may cancel a command it stopped waiting for', () => {
    expect(decide(policy, { action: 'ssm:CancelCommand', resource: '*' })).toBe('allowed');
  });
});

describe('Parameter Store', () => {
  it('writes, labels and deletes only under the prefix', () => {
    for (const action of ['ssm:PutParameter', 'ssm:DeleteParameter', 'ssm:DeleteParameters', 'ssm:LabelParameterVersion', 'ssm:GetParameterHistory']) {
      expect(decide(policy, { action, resource: parameter('/golden/web/latest') })).toBe('allowed');
      expect(decide(policy, { action, resource: parameter('/goldenrod/web/latest') })).toBe('denied');
      expect(decide(policy, { action, resource: parameter('/prod/database/password') })).toBe('denied');
    }
  });

  it('follows the prefix setting', () => {
    const images = generatePolicy(scope({ ssmPrefix: '/org/images' }));
    expect(decide(images, { action: 'ssm:PutParameter', resource: parameter('/org/images/web/latest') })).toBe('allowed');
    expect(decide(images, { action: 'ssm:PutParameter', resource: parameter('/golden/web/latest') })).toBe('denied');
  });

  it('reads but never writes the public base-image parameters', () => {
    const base = 'arn:aws:ssm:us-east-1::parameter/aws/service/ami-amazon-linux-latest/al2023-ami-kernel-default-x86_64';
    expect(decide(policy, { action: 'ssm:GetParameter', resource: base })).toBe('allowed');
    expect(decide(policy, { action: 'ssm:PutParameter', resource: base })).toBe('denied');
  });
});

describe('regions and optional grants', () => {
  it('acts only in the configured regions, except for global IAM calls', () => {
    expect(decide(policy, { action: 'ec2:DescribeImages', resource: '*', context: { 'aws:RequestedRegion': 'ap-south-1' } })).toBe('denied');
    expect(decide(policy, { action: 'ec2:DescribeImages', resource: '*', context: { 'aws:RequestedRegion': 'us-west-2' } })).toBe('allowed');
    expect(
      decide(policy, { action: 'iam:PassRole', resource: `arn:aws:iam::${account}:role/gild-smoke`, context: { 'aws:RequestedRegion': 'aws-global', 'iam:PassedToService': 'ec2.amazonaws.com' } }),
    ).toBe('allowed');
  });

  it('passes the smoke role to EC2 only', () => {
    const role = `arn:aws:iam::${account}:role/gild-smoke`;
    expect(decide(policy, { action: 'iam:PassRole', resource: role, context: { 'iam:PassedToService': 'lambda.amazonaws.com' } })).toBe('denied');
    expect(decide(policy, { action: 'iam:PassRole', resource: `arn:aws:iam::${account}:role/admin`, context: { 'iam:PassedToService': 'ec2.amazonaws.com' } })).toBe('denied');
  });

  it("manages only Packer's temporary packer-* role and profile, and only when an image uses one", () => {
    expect(decide(policy, { action: 'iam:CreateRole', resource: `arn:aws:iam::${account}:role/packer-61a3` })).toBe('allowed');
    expect(decide(policy, { action: 'iam:CreateRole', resource: `arn:aws:iam::${account}:role/admin` })).toBe('denied');
    const noTemporary = generatePolicy(scope({ temporaryInstanceProfile: false }));
    expect(decide(noTemporary, { action: 'iam:CreateRole', resource: `arn:aws:iam::${account}:role/packer-61a3` })).toBe('denied');
  });

  it('grants KMS through EC2 only, on the named key ARNs', () => {
    expect(policy.Statement.some((statement) => statement.Action.some((action) => action.startsWith('kms:')))).toBe(false);
    const key = `arn:aws:kms:us-east-1:${account}:key/0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0`;
    const encrypted = generatePolicy(scope({ kmsKeys: [key] }));
    expect(decide(encrypted, { action: 'kms:CreateGrant', resource: key, context: { 'kms:ViaService': 'ec2.us-east-1.amazonaws.com' } })).toBe('allowed');
    expect(decide(encrypted, { action: 'kms:Decrypt', resource: key, context: { 'kms:ViaService': 's3.us-east-1.amazonaws.com' } })).toBe('denied');
    expect(decide(encrypted, { action: 'kms:Decrypt', resource: `arn:aws:kms:us-east-1:${account}:key/other`, context: { 'kms:ViaService': 'ec2.us-east-1.amazonaws.com' } })).toBe('denied');
  });

  it('adds Windows, spot, Session Manager and distribution grants only when asked for', () => {
    const actionsOf = (document: PolicyDocument) => document.Statement.flatMap((statement) => statement.Action);
    expect(actionsOf(policy)).not.toContain('ec2:GetPasswordData');
    expect(actionsOf(policy)).not.toContain('ec2:CreateFleet');
    expect(actionsOf(policy)).not.toContain('ssm:StartSession');
    expect(actionsOf(policy)).not.toContain('sts:AssumeRole');
    const everything = generatePolicy(scope({ windows: true, spot: true, sessionManager: true, distributionRoleArns: ['arn:aws:iam::210987654321:role/gild-distribution'] }));
    expect(actionsOf(everything)).toEqual(expect.arrayContaining(['ec2:GetPasswordData', 'ec2:CreateFleet', 'ssm:StartSession', 'sts:AssumeRole']));
    expect(decide(everything, { action: 'sts:AssumeRole', resource: 'arn:aws:iam::210987654321:role/gild-distribution' })).toBe('allowed');
    expect(decide(everything, { action: 'sts:AssumeRole', resource: 'arn:aws:iam::210987654321:role/admin' })).toBe('denied');
    expect(decide(everything, { action: 'ssm:StartSession', resource: instance(), context: { 'ssm:resourceTag/gild:role': 'build' } })).toBe('allowed');
    expect(decide(everything, { action: 'ssm:StartSession', resource: instance() })).toBe('denied');
  });
});

describe('scopeFromProject', () => {
  it('collects regions, keys, profiles and platforms from the images', () => {
    const web = resolvedImageFixture({ copyRegions: ['eu-west-1'], encryption: { kmsKeyId: 'alias/images', regionKmsKeyIds: {} } });
    const windows = resolvedImageFixture({ name: 'win', platform: 'windows', buildInfrastructure: { temporaryInstanceProfile: false, sessionManager: true }, packerSource: { spot_price: 'auto' } });
    const derived = scopeFromProject(
      {
        ssmPrefix: '/golden',
        retention: { keep: 3 },
        concurrency: 2,
        requiredTags: [],
        allowPublicImages: false,
        smoke: { instanceTypes: ['t3.micro'], checkTimeoutSeconds: 300, timeoutSeconds: 1800 },
        sweepAfterMinutes: 120,
      } as never,
      [web, windows],
    );
    expect(derived).toMatchObject({ regions: ['eu-west-1', 'us-east-1'], accountId: '*', kmsKeys: ['alias/images'], windows: true, spot: true, sessionManager: true });
  });
});

describe('scopeFromProject: distribution roles', () => {
  it('takes the roles from distribution.accounts, adds --assume-role ones, and grants sts:AssumeRole on exactly those', () => {
    const role = (account: string) => `arn:aws:iam::${account}:role/gild-distribution`;
    const web = resolvedImageFixture({ distribution: [{ account: '210987654321', roleArn: role('210987654321'), regions: ['us-east-1'], kmsKeyId: undefined, smoke: false }] });
    const api = resolvedImageFixture({ name: 'api', distribution: [{ account: '210987654321', roleArn: role('210987654321'), regions: ['us-east-1'], kmsKeyId: undefined, smoke: false }] });
    const settings = {
      ssmPrefix: '/golden',
      retention: { keep: 3 },
      concurrency: 2,
      requiredTags: [],
      allowPublicImages: false,
      smoke: { instanceTypes: ['t3.micro'], checkTimeoutSeconds: 300, timeoutSeconds: 1800 },
      sweepAfterMinutes: 120,
    } as never;
    const scope = scopeFromProject(settings, [web, api], { distributionRoleArns: [role('111111111111')] });
    expect(scope.distributionRoleArns).toEqual([role('111111111111'), role('210987654321')]);
    const assume = generatePolicy(scope).Statement.find((statement) => statement.Sid === 'AssumeDistributionRoles');
    expect(assume).toEqual({ Sid: 'AssumeDistributionRoles', Effect: 'Allow', Action: ['sts:AssumeRole'], Resource: [role('111111111111'), role('210987654321')] });
  });
});

describe('the distribution-account role (gild iam-policy --account-role)', () => {
  const role = 'arn:aws:iam::210987654321:role/gild-distribution';
  const settings = {
    ssmPrefix: '/golden',
    retention: { keep: 3 },
    concurrency: 2,
    requiredTags: [],
    allowPublicImages: false,
    smoke: { instanceTypes: ['t3.micro'], checkTimeoutSeconds: 300, timeoutSeconds: 1800 },
    sweepAfterMinutes: 120,
  } as never;
  const sids = (document: PolicyDocument) => document.Statement.map((statement) => statement.Sid);

  it("copies, tags, publishes and retires in the targets' regions and builds nothing; smoke grants only when an account smoke-tests", () => {
    const web = resolvedImageFixture({ distribution: [{ account: '210987654321', roleArn: role, regions: ['us-east-1', 'eu-west-1'], kmsKeyId: undefined, smoke: false }] });
    const policy = generatePolicy(accountRoleScopeFromProject(settings, [web]));
    expect(sids(policy)).toEqual([
      'ReadInventory',
      'TagWhatGildCreates',
      'RetagGildResources',
      'NeverMoveOwnership',
      'NeverMakeSnapshotsPublic',
      'CreateAndCopyImages',
      'ShareAndRetireOnlyGildImages',
      'PublishUnderThePrefix',
    ]);
    const actions = policy.Statement.filter((statement) => statement.Effect === 'Allow').flatMap((statement) => statement.Action);
    expect(actions).toEqual(expect.arrayContaining(['ec2:CopyImage', 'ec2:CreateTags', 'ec2:DeregisterImage', 'ec2:DeleteSnapshot', 'ssm:PutParameter', 'ssm:DeleteParameter']));
    expect(actions).not.toEqual(expect.arrayContaining(['ec2:CreateImage']));
    expect(actions.filter((action) => ['ec2:RunInstances', 'ec2:CreateImage', 'ec2:ModifyImageAttribute', 'ec2:ModifySnapshotAttribute', 'sts:AssumeRole', 'iam:PassRole'].includes(action))).toEqual(
      [],
    );
    expect(policy.Statement.find((statement) => statement.Sid === 'CreateAndCopyImages')?.Condition).toEqual({ StringEquals: { 'aws:RequestedRegion': ['eu-west-1', 'us-east-1'] } });

    const tested = resolvedImageFixture({ distribution: [{ account: '210987654321', roleArn: role, regions: ['us-east-1'], kmsKeyId: undefined, smoke: { instanceProfile: 'copy-smoke' } }] });
    const smoking = generatePolicy(accountRoleScopeFromProject(settings, [tested]));
    expect(sids(smoking)).toEqual(expect.arrayContaining(['LaunchTaggedInstances', 'SmokeTestGildInstances', 'SmokeTestDocuments', 'PassInstanceProfiles']));
    expect(smoking.Statement.find((statement) => statement.Sid === 'PassInstanceProfiles')?.Resource).toEqual(['arn:aws:iam::*:role/copy-smoke']);
    expect(smoking.Statement.find((statement) => statement.Sid === 'ControlGildInstances')?.Action).toEqual(['ec2:TerminateInstances']);
    expect(sids(smoking)).not.toContain('SmokeKeyPairsInAccounts');
  });

  it('grants GetPasswordData in the account only for a Windows image smoke-tested there, as the building account gates it on Windows', () => {
    const inAccount = (resource: string) => resource.replace(account, '210987654321');
    const smokeInstance = { action: 'ec2:GetPasswordData', resource: inAccount(instance()), context: { 'aws:ResourceTag/gild:role': 'smoke' } };
    const target = (smoke: false | { instanceProfile: string }) => [{ account: '210987654321', roleArn: role, regions: ['us-east-1'], kmsKeyId: undefined, smoke }];
    const linuxSmoked = resolvedImageFixture({ distribution: target({ instanceProfile: 'copy-smoke' }) });
    // A Windows image copied there but not smoke-tested there reads no password there either.
    const windowsUntested = { ...resolvedImageFixture({ name: 'win', distribution: target(false) }), platform: 'windows' as const };
    for (const images of [[linuxSmoked], [linuxSmoked, windowsUntested]]) {
      const policy = generatePolicy(accountRoleScopeFromProject(settings, images));
      expect(policy.Statement.flatMap((statement) => statement.Action)).not.toContain('ec2:GetPasswordData');
      expect(decide(policy, smokeInstance)).toBe('denied');
    }
    const windowsSmoked = { ...resolvedImageFixture({ name: 'win', distribution: target({ instanceProfile: 'copy-smoke' }) }), platform: 'windows' as const };
    expect(decide(generatePolicy(accountRoleScopeFromProject(settings, [linuxSmoked, windowsSmoked])), smokeInstance)).toBe('allowed');
  });

  it("lets a Windows copy's smoke test make, use and delete its temporary key pair and read the password, and nothing more", () => {
    const windows = {
      ...resolvedImageFixture({ distribution: [{ account: '210987654321', roleArn: role, regions: ['us-east-1'], kmsKeyId: undefined, smoke: { instanceProfile: 'copy-smoke' } }] }),
      platform: 'windows' as const,
    };
    const policy = generatePolicy(accountRoleScopeFromProject(settings, [windows]));
    const inAccount = (resource: string) => resource.replace(account, '210987654321');
    const smokeKeyPair = 'arn:aws:ec2:us-east-1:210987654321:key-pair/gild_20261207T120000Z-abc123-smoke_web';
    expect(decide(policy, { action: 'ec2:CreateKeyPair', resource: smokeKeyPair })).toBe('allowed');
    expect(decide(policy, { action: 'ec2:CreateTags', resource: smokeKeyPair, context: { 'ec2:CreateAction': 'CreateKeyPair' } })).toBe('allowed');
    expect(decide(policy, { action: 'ec2:RunInstances', resource: smokeKeyPair })).toBe('allowed');
    expect(decide(policy, { action: 'ec2:DeleteKeyPair', resource: smokeKeyPair })).toBe('allowed');
    expect(decide(policy, { action: 'ec2:GetPasswordData', resource: inAccount(instance()), context: { 'aws:ResourceTag/gild:role': 'smoke' } })).toBe('allowed');
    expect(decide(policy, { action: 'ec2:GetPasswordData', resource: inAccount(instance()) })).toBe('denied');
    expect(decide(policy, { action: 'ec2:DeleteKeyPair', resource: 'arn:aws:ec2:us-east-1:210987654321:key-pair/team-admin' })).toBe('denied');
    expect(decide(policy, { action: 'ec2:CreateKeyPair', resource: 'arn:aws:ec2:us-east-1:210987654321:key-pair/packer_1' })).toBe('denied');
  });
});

describe('widenForEmulator', () => {
  it('keeps every Allowed action, on every resource, with no conditions and no Denies', () => {
    const widened = widenForEmulator(policy);
    expect(widened.Statement.every((statement) => statement.Effect === 'Allow' && statement.Resource.join() === '*' && statement.Condition === undefined)).toBe(true);
    const allowed = (document: PolicyDocument) => new Set(document.Statement.filter((statement) => statement.Effect === 'Allow').flatMap((statement) => statement.Action));
    expect(allowed(widened)).toEqual(allowed(policy));
  });
});

describe('pipeline/iam-policy.json', () => {
  it('is exactly what `gild iam-policy --json` prints for the shipped project (regenerate with `npm run iam-policy`)', async () => {
    const project = await loadProject(repoRoot);
    const shipped = await readFile(path.join(repoRoot, 'pipeline/iam-policy.json'), 'utf8');
    expect(shipped).toBe(formatPolicyDocument(generatePolicy(scopeFromProject(project.settings, project.images))));
  });
});
