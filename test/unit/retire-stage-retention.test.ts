/**
 * The retire stage holds retention itself, whatever plan it is given, at the adapter seam (aws-sdk-client-mock): a
 * version among the newest `keep` is refused before anything is touched; one beyond it, or revoked, may go.
 */
import {
  DescribeFleetsCommand,
  DescribeImageReferencesCommand,
  DescribeImagesCommand,
  DescribeInstancesCommand,
  DescribeLaunchTemplatesCommand,
  DescribeSpotFleetRequestsCommand,
  EC2Client,
} from '@aws-sdk/client-ec2';
import { AutoScalingClient, DescribeAutoScalingGroupsCommand, DescribeLaunchConfigurationsCommand } from '@aws-sdk/client-auto-scaling';
import { DescribeParametersCommand, GetParametersByPathCommand, SSMClient } from '@aws-sdk/client-ssm';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, describe, expect, it } from 'vitest';
import { createContext } from '../../src/context.ts';
import { createMemoryLogger } from '../../src/logger.ts';
import type { StepOfKind } from '../../src/plan/run-plan.ts';
import { pipelineSettingsSchema } from '../../src/settings/schema.ts';
import { retireStage } from '../../src/stages/retire.ts';
import { resolvedImageFixture } from '../support/resolved-image-fixture.ts';
import { stepRunFixture } from '../support/step-run-fixture.ts';

const config = { region: 'us-east-1', credentials: { accessKeyId: 'test', secretAccessKey: 'test' } };
const ec2 = new EC2Client(config);
const ssm = new SSMClient(config);
const autoscaling = new AutoScalingClient(config);
const clients = { ec2: () => ec2, ssm: () => ssm, autoscaling: () => autoscaling, ec2Endpoint: undefined, defaultRegion: 'us-east-1', destroy() {} };

afterEach(() => {
  mockClient(ec2).restore();
  mockClient(ssm).restore();
  mockClient(autoscaling).restore();
});

function world(status: string) {
  const ec2Mock = mockClient(ec2);
  const ssmMock = mockClient(ssm);
  const autoscalingMock = mockClient(autoscaling);
  ec2Mock.on(DescribeImagesCommand).resolves({
    Images: [
      {
        ImageId: 'ami-11',
        State: 'available',
        CreationDate: '2026-01-01T00:00:00.000Z',
        Tags: [
          { Key: 'gild:image', Value: 'web' },
          { Key: 'gild:version', Value: '1.1.0' },
          { Key: 'gild:status', Value: status },
        ],
      },
    ],
  });
  ec2Mock.on(DescribeInstancesCommand).resolves({ Reservations: [] });
  ec2Mock.on(DescribeLaunchTemplatesCommand).resolves({ LaunchTemplates: [] });
  ec2Mock.on(DescribeFleetsCommand).resolves({ Fleets: [] });
  ec2Mock.on(DescribeImageReferencesCommand).resolves({ ImageReferences: [] });
  ec2Mock.on(DescribeSpotFleetRequestsCommand).resolves({ SpotFleetRequestConfigs: [] });
  autoscalingMock.on(DescribeAutoScalingGroupsCommand).resolves({ AutoScalingGroups: [] });
  autoscalingMock.on(DescribeLaunchConfigurationsCommand).resolves({ LaunchConfigurations: [] });
  ssmMock.on(DescribeParametersCommand).resolves({ Parameters: [] });
  // versions 1.0.0 … 1.3.0; latest on 1.3.0. With keep 3, 1.1.0 is kept.
  ssmMock.on(GetParametersByPathCommand).resolves({
    Parameters: ['1.0.0', '1.1.0', '1.2.0', '1.3.0'].map((version, index) => ({ Name: `/golden/web/versions/${version}`, Value: `ami-1${index}`, Version: 1 })),
  });
  return { ec2Mock, ssmMock };
}

const step: StepOfKind<'retire'> = {
  id: 'retire:web:1.1.0:us-east-1:deregister',
  kind: 'retire',
  image: 'web',
  version: '1.1.0',
  region: 'us-east-1',
  amiId: 'ami-11',
  phase: 'deregister',
  snapshotIds: [],
  parameterName: '/golden/web/versions/1.1.0',
  after: ['lock:web'],
  reason: 'tampered',
  precondition: 'none',
};

describe('retire, whatever plan it came from', () => {
  const context = createContext({ cwd: '/tmp', env: {}, logger: createMemoryLogger(), settings: pipelineSettingsSchema.parse({}), clients, now: () => new Date('2026-11-29T00:00:00.000Z') } as never);

  it('refuses a version retention keeps (among the newest keep), before touching it', async () => {
    world('published');
    const run = stepRunFixture(resolvedImageFixture({ name: 'web', retention: { keep: 3, maxAgeDays: undefined, minAgeDays: 0, phases: {} } }));
    await expect(retireStage.check!(context, step, run)).rejects.toMatchObject({
      message: 'retire:web:1.1.0:us-east-1:deregister refused: 1.1.0 is among the newest 3 versions in us-east-1 (keep is 3; 2 newer)',
    });
  });

  it('lets go a version beyond keep, and a revoked one within it', async () => {
    world('published');
    expect(await retireStage.check!(context, step, stepRunFixture(resolvedImageFixture({ name: 'web', retention: { keep: 2, maxAgeDays: undefined, minAgeDays: 0, phases: {} } })))).toBe(false);
    mockClient(ec2).restore();
    mockClient(ssm).restore();
    mockClient(autoscaling).restore();
    world('revoked');
    expect(await retireStage.check!(context, step, stepRunFixture(resolvedImageFixture({ name: 'web', retention: { keep: 3, maxAgeDays: undefined, minAgeDays: 0, phases: {} } })))).toBe(false);
  });
});
