/**
 * The doctor's checks whose other answers moto cannot give: a subnet that
 * reaches SSM through a NAT gateway or VPC endpoints, or only through an
 * internet gateway without public IPs; a region blocking public AMI sharing
 * (moto has no GetImageBlockPublicAccessState); a key policy that does or does
 * not name a distribution account; a role equivalent to the managed SSM
 * policy. EC2 is stood in for at the adapter seam (aws-sdk-client-mock).
 */
import { DescribeRouteTablesCommand, DescribeSubnetsCommand, DescribeVpcEndpointsCommand, EC2Client, GetImageBlockPublicAccessStateCommand } from '@aws-sdk/client-ec2';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, describe, expect, it } from 'vitest';
import { GetParametersByPathCommand, SSMClient } from '@aws-sdk/client-ssm';
import { checkImageBlockPublicAccess, checkSsmPrefix } from '../../src/doctor/check-account.ts';
import { actionsAllowedBy, checkSubnets, ssmAgentActions } from '../../src/doctor/check-instances.ts';
import { keyAllowsAccount } from '../../src/doctor/check-keys.ts';
import type { DoctorInput } from '../../src/doctor/doctor-input.ts';
import { formatDoctorReport } from '../../src/doctor/format-doctor-report.ts';
import { failed, notChecked, passed } from '../../src/doctor/doctor-check.ts';
import { pipelineSettingsSchema } from '../../src/settings/schema.ts';
import { resolvedImageFixture } from '../support/resolved-image-fixture.ts';

const ec2 = new EC2Client({ region: 'us-east-1', credentials: { accessKeyId: 'test', secretAccessKey: 'test' } });
const mock = mockClient(ec2);
afterEach(() => mock.reset());

const subnetId = 'subnet-0123456789abcdef0';
const image = resolvedImageFixture({ smoke: { ...resolvedImageFixture().smoke, subnetId } });

function input(images = [image]): DoctorInput {
  const unused = () => {
    throw new Error('not used here');
  };
  return {
    settings: pipelineSettingsSchema.parse({}),
    images,
    regions: ['us-east-1'],
    homeRegion: 'us-east-1',
    runId: 'run',
    env: {},
    capabilities: { policySimulation: true, imageBlockPublicAccess: true, recycleBin: true },
    ec2: () => ec2,
    ssm: unused,
    kms: unused,
    rbin: unused,
    iam: unused as never,
  };
}

function network(options: { routes?: { DestinationCidrBlock: string; GatewayId?: string; NatGatewayId?: string }[]; endpoints?: string[]; publicIp?: boolean }) {
  mock.on(DescribeSubnetsCommand).resolves({ Subnets: [{ SubnetId: subnetId, VpcId: 'vpc-1', MapPublicIpOnLaunch: options.publicIp ?? false }] });
  mock
    .on(DescribeVpcEndpointsCommand)
    .resolves({ VpcEndpoints: (options.endpoints ?? []).map((service) => ({ ServiceName: `com.amazonaws.us-east-1.${service}`, State: 'Available', PrivateDnsEnabled: true, VpcId: 'vpc-1' })) });
  mock.on(DescribeRouteTablesCommand).resolves({
    RouteTables: [
      { RouteTableId: 'rtb-main', Associations: [{ Main: true }], Routes: [{ DestinationCidrBlock: '10.0.0.0/16', GatewayId: 'local' }] },
      { RouteTableId: 'rtb-own', Associations: [{ SubnetId: subnetId }], Routes: [{ DestinationCidrBlock: '10.0.0.0/16', GatewayId: 'local' }, ...(options.routes ?? [])] },
    ],
  });
}

describe('a subnet reaching SSM', () => {
  it('reaches it through a NAT gateway on its own route table', async () => {
    network({ routes: [{ DestinationCidrBlock: '0.0.0.0/0', NatGatewayId: 'nat-1' }] });
    expect(await checkSubnets(input())).toEqual([passed('subnet reaches SSM', `smoke ${subnetId} in us-east-1 (web)`, 'route 0.0.0.0/0 via nat-1')]);
  });

  it('reaches it through VPC endpoints for ssm, ssmmessages and ec2messages, without a route out', async () => {
    network({ endpoints: ['ssm', 'ssmmessages', 'ec2messages'] });
    expect((await checkSubnets(input()))[0]).toMatchObject({ status: 'ok', detail: 'VPC endpoints for ssm, ssmmessages, ec2messages in vpc-1' });
  });

  it('does not, through an internet gateway without public IPs, or with only some endpoints', async () => {
    network({ routes: [{ DestinationCidrBlock: '0.0.0.0/0', GatewayId: 'igw-1' }] });
    expect((await checkSubnets(input()))[0]).toMatchObject({
      status: 'failed',
      detail: 'routes to igw-1 but gives instances no public IP (MapPublicIpOnLaunch is off)',
      fix: expect.stringContaining('com.amazonaws.us-east-1.ssm, .ssmmessages and .ec2messages'),
    });
    mock.reset();
    network({ endpoints: ['ssm'] });
    expect((await checkSubnets(input()))[0]).toMatchObject({
      status: 'failed',
      detail: 'no route 0.0.0.0/0 to a NAT or internet gateway, and only ssm VPC endpoints of ssm, ssmmessages, ec2messages (with private DNS)',
    });
  });
});

describe('AMI block public access', () => {
  const publicImage = resolvedImageFixture({ launchPermissions: { kind: 'public', reason: 'community image' } });

  it('fails a public image in a region that blocks public sharing, saying how to unblock it', async () => {
    mock.on(GetImageBlockPublicAccessStateCommand).resolves({ ImageBlockPublicAccessState: 'block-new-sharing' });
    expect(await checkImageBlockPublicAccess(input([publicImage]))).toEqual([
      failed(
        'AMI block public access',
        'us-east-1',
        'block-new-sharing, but web is public (launchPermissions)',
        'unblock it (aws ec2 disable-image-block-public-access --region us-east-1), or make the images private in their launchPermissions',
      ),
    ]);
  });

  it('passes private images whatever the state', async () => {
    mock.on(GetImageBlockPublicAccessStateCommand).resolves({ ImageBlockPublicAccessState: 'block-new-sharing' });
    expect((await checkImageBlockPublicAccess(input()))[0]?.status).toBe('ok');
  });
});

describe('the SSM prefix', () => {
  const ssm = new SSMClient({ region: 'us-east-1', credentials: { accessKeyId: 'test', secretAccessKey: 'test' } });
  const ssmMock = mockClient(ssm);
  afterEach(() => ssmMock.reset());
  const names = (...found: string[]) => ssmMock.on(GetParametersByPathCommand).resolves({ Parameters: found.map((Name) => ({ Name, Value: 'ami-0123456789abcdef0', Version: 1 })) });

  it('passes what gild writes: pointers, versions, channels, holds and locks', async () => {
    names('/golden/web/latest', '/golden/web/v2', '/golden/web/versions/2.1.3', '/golden/web/channels/stable', '/golden/web/holds/latest', '/golden/web/lock');
    expect((await checkSsmPrefix({ ...input(), ssm: () => ssm }))[0]).toMatchObject({ status: 'ok' });
  });

  it('fails on a parameter gild would not write, naming it and the fix', async () => {
    names('/golden/web/latest', '/golden/notes', '/golden/web/versions/next');
    expect(await checkSsmPrefix({ ...input(), ssm: () => ssm })).toEqual([
      failed(
        "SSM prefix only gild's",
        '/golden in us-east-1',
        'parameters gild did not write: /golden/notes, /golden/web/versions/next',
        'move them out of /golden, or set ssmPrefix in pipeline/settings.ts to a path only gild writes',
      ),
    ]);
  });
});

describe('what policies allow', () => {
  it('finds a key policy or grant naming the distribution account, and no other', () => {
    const policy = { Statement: [{ Effect: 'Allow', Principal: { AWS: ['arn:aws:iam::111122223333:root'] }, Action: 'kms:Decrypt' }] };
    expect(keyAllowsAccount(policy, [], '111122223333')).toBe(true);
    expect(keyAllowsAccount(policy, [], '444455556666')).toBe(false);
    expect(keyAllowsAccount({ Statement: [] }, [{ principal: 'arn:aws:iam::444455556666:role/copier' }], '444455556666')).toBe(true);
    expect(keyAllowsAccount({ Statement: [{ Effect: 'Deny', Principal: '*' }] }, [], '444455556666')).toBe(false);
  });

  it("counts wildcards of Allow statements toward the SSM agent's actions, and ignores Denies", () => {
    expect(actionsAllowedBy([{ Statement: { Effect: 'Allow', Action: ['ssm:UpdateInstanceInformation', 'ssmmessages:*', 'ec2messages:*'] } }], ssmAgentActions).size).toBe(ssmAgentActions.length);
    expect([
      ...actionsAllowedBy(
        [
          {
            Statement: [
              { Effect: 'Allow', Action: 'ssm:*' },
              { Effect: 'Deny', Action: '*' },
            ],
          },
        ],
        ssmAgentActions,
      ),
    ]).toEqual(['ssm:UpdateInstanceInformation']);
  });
});

describe('the doctor table', () => {
  it('prints every line, the fix under each one that needs it, and the verdict', () => {
    const text = formatDoctorReport(
      [
        passed('region enabled', 'us-east-1', 'opt-in-not-required'),
        failed('KMS key usable for EBS', 'alias/k in us-east-1 (web)', 'key is Disabled', 'enable it'),
        notChecked('AMI block public access', 'us-east-1', 'the emulator cannot answer it', 'run against AWS'),
      ],
      'AWS',
    );
    expect(text).toMatchInlineSnapshot(`
      "gild doctor: AWS

      status       check                    for                         detail
      ok           region enabled           us-east-1                   opt-in-not-required
      FAILED       KMS key usable for EBS   alias/k in us-east-1 (web)  key is Disabled
                   fix: enable it
      not checked  AMI block public access  us-east-1                   the emulator cannot answer it
                   to check it: run against AWS

      Not ready: 1 of 3 checks failed, 1 not checked. Fix the lines marked FAILED and run gild doctor again.
      "
    `);
  });
});
