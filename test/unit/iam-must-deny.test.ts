/**
 * What the shipped policy (pipeline/iam-policy.json) must refuse, evaluated
 * the same way as the recorded requests of the integration suite
 * (test/integration/iam-simulation.test.ts): a request → the resource
 * authorizations AWS's Service Authorization Reference lists for it → the
 * simulator (@cloud-copilot/iam-simulate: conditions, denies, resource ARNs).
 * Each must-deny request has an allowed twin that differs only in what makes
 * it gild's, so no case passes by denying everything.
 */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import type { PolicyDocument } from '../../src/iam/generate-policy.ts';
import { authorizationsOf } from '../support/iam-authorizations.ts';
import type { RecordedRequest } from '../support/iam-recorder.ts';
import { evaluate, type Verdict } from '../support/iam-simulation.ts';
import { repoRoot } from '../support/project.ts';

const account = '123456789012';
const principal = `arn:aws:iam::${account}:role/gild-pipeline`;
let policy: PolicyDocument;

beforeAll(async () => {
  policy = JSON.parse(await readFile(path.join(repoRoot, 'pipeline/iam-policy.json'), 'utf8')) as PolicyDocument;
});

type Synthetic = Partial<RecordedRequest> & Pick<RecordedRequest, 'action'>;

function request(fields: Synthetic): RecordedRequest {
  const { query, ...rest } = fields;
  return { seq: 0, sender: 'gild', service: 'ec2', region: 'us-east-1', accessKeyId: 'test', json: {}, tagsBefore: {}, status: 200, answer: '', ...rest, query: { Action: fields.action, ...query } };
}

/** Every authorization of the request, evaluated; the request is allowed only if all are. */
async function verdicts(fields: Synthetic): Promise<Verdict[]> {
  const all: Verdict[] = [];
  for (const authorization of authorizationsOf(request(fields), { accountOf: () => account })) all.push(await evaluate(policy, authorization, principal));
  return all;
}

const allowed = async (fields: Synthetic) => (await verdicts(fields)).every((verdict) => verdict.result === 'Allowed');

const gildAmi = { 'gild:image': 'web', 'gild:version': '1.0.0' };
const gildInstance = { 'gild:role': 'smoke', 'gild:run-id': 'run-1' };

describe('the shipped policy denies', () => {
  const cases: ReadonlyArray<{ what: string; denied: Synthetic; allowedTwin: Synthetic; explicitly?: string }> = [
    {
      what: "deregistering an AMI that is not gild's",
      denied: { action: 'DeregisterImage', query: { ImageId: 'ami-0foreign' }, tagsBefore: { 'ami-0foreign': { team: 'other' } } },
      allowedTwin: { action: 'DeregisterImage', query: { ImageId: 'ami-0gild' }, tagsBefore: { 'ami-0gild': gildAmi } },
    },
    {
      what: "deleting tags of an AMI that is not gild's",
      denied: { action: 'DeleteTags', query: { 'ResourceId.1': 'ami-0foreign', 'Tag.1.Key': 'team' }, tagsBefore: { 'ami-0foreign': { team: 'other' } } },
      allowedTwin: { action: 'DeleteTags', query: { 'ResourceId.1': 'ami-0gild', 'Tag.1.Key': 'gild:status' }, tagsBefore: { 'ami-0gild': { ...gildAmi, 'gild:status': 'tested' } } },
    },
    {
      what: 'deleting gild:image from a gild AMI (moving ownership)',
      denied: { action: 'DeleteTags', query: { 'ResourceId.1': 'ami-0gild', 'Tag.1.Key': 'gild:image' }, tagsBefore: { 'ami-0gild': gildAmi } },
      allowedTwin: { action: 'DeleteTags', query: { 'ResourceId.1': 'ami-0gild', 'Tag.1.Key': 'gild:status' }, tagsBefore: { 'ami-0gild': gildAmi } },
      explicitly: 'NeverMoveOwnership',
    },
    {
      what: 'writing a parameter outside the prefix (a sibling that only starts like it)',
      denied: { service: 'ssm', action: 'PutParameter', json: { Name: '/goldenrod/web/latest', Value: 'ami-0gild', Type: 'String' } },
      allowedTwin: { service: 'ssm', action: 'PutParameter', json: { Name: '/golden/web/latest', Value: 'ami-0gild', Type: 'String' } },
    },
    {
      what: 'writing a parameter under /aws',
      denied: { service: 'ssm', action: 'PutParameter', json: { Name: '/aws/service/ami-amazon-linux-latest/al2023-ami-kernel-default-x86_64', Value: 'ami-0evil', Type: 'String' } },
      allowedTwin: { service: 'ssm', action: 'GetParameter', json: { Name: '/aws/service/ami-amazon-linux-latest/al2023-ami-kernel-default-x86_64' } },
    },
    {
      what: 'deleting a parameter outside the prefix',
      denied: { service: 'ssm', action: 'DeleteParameter', json: { Name: '/app/database-url' } },
      allowedTwin: { service: 'ssm', action: 'DeleteParameter', json: { Name: '/golden/web/versions/1.0.0' } },
    },
    {
      what: 'deleting a parameter under /aws',
      denied: { service: 'ssm', action: 'DeleteParameters', json: { Names: ['/aws/service/global-infrastructure/regions/us-east-1'] } },
      allowedTwin: { service: 'ssm', action: 'DeleteParameters', json: { Names: ['/golden/web/versions/1.0.0'] } },
    },
    {
      what: 'terminating an instance gild did not launch',
      denied: { action: 'TerminateInstances', query: { 'InstanceId.1': 'i-0app' }, tagsBefore: { 'i-0app': { 'gild:role': 'web-server' } } },
      allowedTwin: { action: 'TerminateInstances', query: { 'InstanceId.1': 'i-0smoke' }, tagsBefore: { 'i-0smoke': gildInstance } },
    },
    {
      what: 'passing an arbitrary role (through a launch with its profile)',
      denied: launch({ 'IamInstanceProfile.Name': 'admin' }),
      allowedTwin: launch({ 'IamInstanceProfile.Name': 'gild-smoke' }),
    },
    {
      what: 'assuming an arbitrary role',
      denied: { service: 'sts', action: 'AssumeRole', query: { RoleArn: 'arn:aws:iam::210987654321:role/OrganizationAccountAccessRole', RoleSessionName: 'gild' } },
      allowedTwin: { service: 'ssm', action: 'GetParameter', json: { Name: '/golden/web/latest' } },
    },
    {
      what: 'launching in a region not configured',
      denied: { ...launch({ 'IamInstanceProfile.Name': 'gild-smoke' }), region: 'ap-south-1' },
      allowedTwin: launch({ 'IamInstanceProfile.Name': 'gild-smoke' }),
    },
    {
      what: 'publishing in a region not configured',
      denied: { service: 'ssm', action: 'PutParameter', region: 'ap-south-1', json: { Name: '/golden/web/latest', Value: 'ami-0gild', Type: 'String' } },
      allowedTwin: { service: 'ssm', action: 'PutParameter', region: 'eu-west-1', json: { Name: '/golden/web/latest', Value: 'ami-0gild', Type: 'String' } },
    },
    {
      what: 'making a gild snapshot public (allowPublicImages is false)',
      denied: {
        action: 'ModifySnapshotAttribute',
        query: { SnapshotId: 'snap-0gild', Attribute: 'createVolumePermission', OperationType: 'add', 'CreateVolumePermission.Add.1.Group': 'all' },
        tagsBefore: { 'snap-0gild': gildAmi },
      },
      allowedTwin: {
        action: 'ModifySnapshotAttribute',
        query: { SnapshotId: 'snap-0gild', Attribute: 'createVolumePermission', OperationType: 'add', 'CreateVolumePermission.Add.1.UserId': '210987654321' },
        tagsBefore: { 'snap-0gild': gildAmi },
      },
      explicitly: 'NeverMakeSnapshotsPublic',
    },
    {
      what: "sending commands to an instance that is not gild's",
      denied: { service: 'ssm', action: 'SendCommand', json: { DocumentName: 'AWS-RunShellScript', InstanceIds: ['i-0app'] }, tagsBefore: { 'i-0app': { app: 'payments' } } },
      allowedTwin: { service: 'ssm', action: 'SendCommand', json: { DocumentName: 'AWS-RunShellScript', InstanceIds: ['i-0smoke'] }, tagsBefore: { 'i-0smoke': gildInstance } },
    },
    {
      what: 'sending a document other than the smoke shells, even to a gild instance',
      denied: { service: 'ssm', action: 'SendCommand', json: { DocumentName: 'AWS-RunRemoteScript', InstanceIds: ['i-0smoke'] }, tagsBefore: { 'i-0smoke': gildInstance } },
      allowedTwin: { service: 'ssm', action: 'SendCommand', json: { DocumentName: 'AWS-RunShellScript', InstanceIds: ['i-0smoke'] }, tagsBefore: { 'i-0smoke': gildInstance } },
    },
    {
      what: "opening another team's security group to the world",
      denied: {
        action: 'AuthorizeSecurityGroupIngress',
        query: { GroupId: 'sg-0proddb', 'IpPermissions.1.IpProtocol': 'tcp', 'IpPermissions.1.FromPort': '5432', 'IpPermissions.1.ToPort': '5432', 'IpPermissions.1.IpRanges.1.CidrIp': '0.0.0.0/0' },
        tagsBefore: { 'sg-0proddb': { app: 'payments' } },
      },
      allowedTwin: {
        action: 'AuthorizeSecurityGroupIngress',
        query: { GroupId: 'sg-0build', 'IpPermissions.1.IpProtocol': 'tcp', 'IpPermissions.1.FromPort': '22', 'IpPermissions.1.ToPort': '22', 'IpPermissions.1.IpRanges.1.CidrIp': '0.0.0.0/0' },
        tagsBefore: { 'sg-0build': { 'gild:role': 'build', 'gild:run-id': 'run-1' } },
      },
    },
    {
      what: "deleting another team's security group",
      denied: { action: 'DeleteSecurityGroup', query: { GroupId: 'sg-0proddb' }, tagsBefore: { 'sg-0proddb': { app: 'payments' } } },
      allowedTwin: { action: 'DeleteSecurityGroup', query: { GroupId: 'sg-0build' }, tagsBefore: { 'sg-0build': { 'gild:role': 'build', 'gild:run-id': 'run-1' } } },
    },
    {
      what: 'creating a security group not tagged gild:role',
      denied: {
        action: 'CreateSecurityGroup',
        query: {
          GroupName: 'open',
          GroupDescription: 'x',
          VpcId: 'vpc-1',
          'TagSpecification.1.ResourceType': 'security-group',
          'TagSpecification.1.Tag.1.Key': 'team',
          'TagSpecification.1.Tag.1.Value': 'x',
        },
      },
      allowedTwin: {
        action: 'CreateSecurityGroup',
        query: {
          GroupName: 'gild_run-1_web',
          GroupDescription: 'x',
          VpcId: 'vpc-1',
          'TagSpecification.1.ResourceType': 'security-group',
          'TagSpecification.1.Tag.1.Key': 'gild:role',
          'TagSpecification.1.Tag.1.Value': 'build',
        },
      },
    },
    {
      what: "deleting another team's Packer key pair",
      denied: { action: 'DeleteKeyPair', query: { KeyName: 'packer_5f3a' } },
      allowedTwin: { action: 'DeleteKeyPair', query: { KeyName: 'gild_run-1_web' } },
    },
  ];

  it.each(cases)('$what', async ({ denied, allowedTwin, explicitly }) => {
    expect(await allowed(allowedTwin), 'the allowed twin').toBe(true);
    const results = await verdicts(denied);
    expect(results.some((verdict) => verdict.result !== 'Allowed')).toBe(true);
    if (explicitly) expect(results.filter((verdict) => verdict.result === 'ExplicitlyDenied').flatMap((verdict) => verdict.statements)).toContain(explicitly);
  });
});

function launch(extra: Record<string, string>): Synthetic {
  return {
    action: 'RunInstances',
    query: {
      ImageId: 'ami-0base',
      SubnetId: 'subnet-0build',
      'SecurityGroupId.1': 'sg-0build',
      'TagSpecification.1.ResourceType': 'instance',
      'TagSpecification.1.Tag.1.Key': 'gild:role',
      'TagSpecification.1.Tag.1.Value': 'smoke',
      'TagSpecification.2.ResourceType': 'volume',
      'TagSpecification.2.Tag.1.Key': 'gild:role',
      'TagSpecification.2.Tag.1.Value': 'smoke',
      ...extra,
    },
    answer: '<instanceId>i-0new</instanceId>',
  };
}

describe('the calls gild makes only on AWS (moto lacks them, so no recording holds them)', () => {
  const cases: ReadonlyArray<{ what: string; gilds: Synthetic; foreign: Synthetic }> = [
    {
      what: 'EnableImageDeprecation (retire, revoke)',
      gilds: { action: 'EnableImageDeprecation', query: { ImageId: 'ami-0gild', DeprecateAt: '2026-12-07T06:01:00Z' }, tagsBefore: { 'ami-0gild': gildAmi } },
      foreign: { action: 'EnableImageDeprecation', query: { ImageId: 'ami-0foreign', DeprecateAt: '2026-12-07T06:01:00Z' }, tagsBefore: { 'ami-0foreign': { team: 'other' } } },
    },
    {
      what: 'DisableImage (revoke)',
      gilds: { action: 'DisableImage', query: { ImageId: 'ami-0gild' }, tagsBefore: { 'ami-0gild': gildAmi } },
      foreign: { action: 'DisableImage', query: { ImageId: 'ami-0foreign' }, tagsBefore: { 'ami-0foreign': {} } },
    },
  ];

  it.each(cases)('$what: allowed on gild AMIs, denied on others', async ({ gilds, foreign }) => {
    expect(await allowed(gilds)).toBe(true);
    expect(await allowed(foreign)).toBe(false);
  });

  it('DescribeImageReferences (the in-use check before a retirement; no resource-level scoping exists)', async () => {
    expect(await allowed({ action: 'DescribeImageReferences', query: { 'ImageId.1': 'ami-0gild', MaxResults: '5' } })).toBe(true);
    expect(await allowed({ action: 'DescribeImageReferences', region: 'ap-south-1', query: { 'ImageId.1': 'ami-0gild', MaxResults: '5' } })).toBe(false);
  });
});

describe("a fleet job's own requests (recorded runs hold no fan-out job: test/integration/fleet-jobs.test.ts makes them)", () => {
  it('writes and reads its end marker under the prefix, never outside it', async () => {
    const marker = JSON.stringify({ runId: 'run-1', version: '1.0.0', result: 'refused', reason: 'the plan moved', at: '2026-12-07T06:00:00Z' });
    expect(await allowed({ service: 'ssm', action: 'PutParameter', json: { Name: '/golden/_jobs/web/ended', Value: marker, Type: 'String', Overwrite: true } })).toBe(true);
    expect(await allowed({ service: 'ssm', action: 'GetParameter', json: { Name: '/golden/_jobs/web/ended' } })).toBe(true);
    expect(await allowed({ service: 'ssm', action: 'PutParameter', json: { Name: '/goldenrod/_jobs/web/ended', Value: marker, Type: 'String', Overwrite: true } })).toBe(false);
  });

  it("reads a base's version, status and AMI before building on it", async () => {
    expect(await allowed({ service: 'ssm', action: 'GetParameters', json: { Names: ['/golden/base/versions/1.0.0', '/golden/base/status/1.0.0'] } })).toBe(true);
    expect(await allowed({ action: 'DescribeImages', query: { 'Filter.1.Name': 'image-id', 'Filter.1.Value.1': 'ami-0gild', IncludeDeprecated: 'true', IncludeDisabled: 'true' } })).toBe(true);
  });
});
