/**
 * The parts of the reference check only real AWS offers, tested at the
 * adapter seam: moto has no DescribeImageReferences (HTTP 500) and refuses
 * the `DataType` filter of DescribeParameters (EMULATOR.md), so no moto test
 * can show that gild uses them. The capability flags decide; nothing here
 * detects an emulator.
 */
import { AutoScalingClient, DescribeAutoScalingGroupsCommand, DescribeLaunchConfigurationsCommand } from '@aws-sdk/client-auto-scaling';
import {
  DescribeFleetsCommand,
  DescribeImageReferencesCommand,
  DescribeInstancesCommand,
  DescribeSpotFleetRequestsCommand,
  DescribeLaunchTemplatesCommand,
  DescribeLaunchTemplateVersionsCommand,
  EC2Client,
} from '@aws-sdk/client-ec2';
import { DescribeParametersCommand, GetParametersCommand, SSMClient } from '@aws-sdk/client-ssm';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, describe, expect, it } from 'vitest';
import { observeReferences } from '../../src/observe/observe-references.ts';

const config = { region: 'us-east-1', credentials: { accessKeyId: 'test', secretAccessKey: 'test' } };
const ec2 = new EC2Client(config);
const ssm = new SSMClient(config);
const autoscaling = new AutoScalingClient(config);
const clients = { ec2: () => ec2, ssm: () => ssm, autoscaling: () => autoscaling };

function mockQuietAccount() {
  const ec2Mock = mockClient(ec2);
  const ssmMock = mockClient(ssm);
  const autoscalingMock = mockClient(autoscaling);
  ec2Mock.on(DescribeInstancesCommand).resolves({ Reservations: [] });
  ec2Mock.on(DescribeLaunchTemplatesCommand).resolves({ LaunchTemplates: [] });
  ec2Mock.on(DescribeFleetsCommand).resolves({ Fleets: [] });
  ec2Mock.on(DescribeSpotFleetRequestsCommand).resolves({ SpotFleetRequestConfigs: [] });
  autoscalingMock.on(DescribeAutoScalingGroupsCommand).resolves({ AutoScalingGroups: [] });
  autoscalingMock.on(DescribeLaunchConfigurationsCommand).resolves({ LaunchConfigurations: [] });
  return { ec2Mock, ssmMock, autoscalingMock };
}

afterEach(() => {
  mockClient(ec2).restore();
  mockClient(ssm).restore();
  mockClient(autoscaling).restore();
});

describe('observeReferences on real AWS', () => {
  it('asks DescribeImageReferences, paginated, and reports what the other scans did not already find', async () => {
    const { ec2Mock, ssmMock } = mockQuietAccount();
    ssmMock.on(DescribeParametersCommand).resolves({ Parameters: [] });
    ec2Mock.on(DescribeInstancesCommand).resolves({ Reservations: [{ Instances: [{ InstanceId: 'i-0abc', ImageId: 'ami-1', State: { Name: 'running' } }] }] });
    ec2Mock
      .on(DescribeImageReferencesCommand)
      .resolvesOnce({ ImageReferences: [{ ImageId: 'ami-1', ResourceType: 'ec2:Instance', Arn: 'arn:aws:ec2:us-east-1:123456789012:instance/i-0abc' }], NextToken: 'page-2' })
      .resolvesOnce({ ImageReferences: [{ ImageId: 'ami-2', ResourceType: 'imagebuilder:ImageRecipe', Arn: 'arn:aws:imagebuilder:us-east-1:123456789012:image-recipe/web/1.0.0' }] });

    const references = await observeReferences(clients, 'us-east-1', ['ami-1', 'ami-2', 'ami-3'], { ssmPrefix: '/golden', capabilities: { parameterDataTypeFilter: true, imageReferences: true } });

    expect(references).toEqual({
      'ami-1': ['instance i-0abc (running)'],
      'ami-2': ['imagebuilder:ImageRecipe arn:aws:imagebuilder:us-east-1:123456789012:image-recipe/web/1.0.0'],
      'ami-3': [],
    });
    const calls = ec2Mock.commandCalls(DescribeImageReferencesCommand);
    expect(calls).toHaveLength(2);
    expect(calls[0]!.args[0].input).toMatchObject({ ImageIds: ['ami-1', 'ami-2', 'ami-3'], IncludeAllResourceTypes: true });
    expect(calls[1]!.args[0].input).toMatchObject({ NextToken: 'page-2' });
  });

  it('reads only aws:ec2:image parameters where the DataType filter is offered, 10 values a call, skipping gild’s own', async () => {
    const { ssmMock } = mockQuietAccount();
    const names = [...Array.from({ length: 11 }, (_, index) => `/apps/app-${index}/ami`), '/golden/web/latest'];
    ssmMock.on(DescribeParametersCommand).resolves({ Parameters: names.map((Name) => ({ Name, DataType: 'aws:ec2:image' })) });
    ssmMock
      .on(GetParametersCommand)
      .callsFake(({ Names }: { Names: string[] }) => ({ Parameters: Names.map((Name) => ({ Name, Value: Name === '/apps/app-10/ami' ? 'ami-1' : 'ami-9', Version: 1 })) }));

    const references = await observeReferences(clients, 'us-east-1', ['ami-1'], { ssmPrefix: '/golden', capabilities: { parameterDataTypeFilter: true, imageReferences: false } });

    expect(references).toEqual({ 'ami-1': ['parameter /apps/app-10/ami'] });
    expect(ssmMock.commandCalls(DescribeParametersCommand)[0]!.args[0].input).toMatchObject({ ParameterFilters: [{ Key: 'DataType', Option: 'Equals', Values: ['aws:ec2:image'] }] });
    expect(ssmMock.commandCalls(GetParametersCommand).map((call) => call.args[0].input.Names!.length)).toEqual([10, 1]);
  });

  it('counts a parameter of another gild pipeline nested below the prefix (/golden/staging) as a use: only the names gild writes under it are skipped', async () => {
    const { ssmMock } = mockQuietAccount();
    const values: Record<string, string> = {
      '/golden/web/latest': 'ami-1',
      '/golden/web/versions/1.0.0': 'ami-1',
      '/golden/web/channels/stable': 'ami-1',
      '/golden/web/v1': 'ami-1',
      '/golden/staging/web/latest': 'ami-1',
      '/golden/staging/web/versions/1.0.0': 'ami-1',
      '/golden/notes': 'ami-1',
    };
    ssmMock.on(DescribeParametersCommand).resolves({ Parameters: Object.keys(values).map((Name) => ({ Name, DataType: 'aws:ec2:image' })) });
    ssmMock.on(GetParametersCommand).callsFake(({ Names }: { Names: string[] }) => ({ Parameters: Names.map((Name) => ({ Name, Value: values[Name], Version: 1 })) }));
    const capabilities = { parameterDataTypeFilter: true, imageReferences: false };

    const references = await observeReferences(clients, 'us-east-1', ['ami-1'], { ssmPrefix: '/golden', capabilities });

    expect(references).toEqual({ 'ami-1': ['parameter /golden/staging/web/latest', 'parameter /golden/staging/web/versions/1.0.0', 'parameter /golden/notes'] });
    // /golden/web/… is gild's own (retirement weighs it): never read
    expect(ssmMock.commandCalls(GetParametersCommand).flatMap((call) => call.args[0].input.Names!)).toEqual(['/golden/staging/web/latest', '/golden/staging/web/versions/1.0.0', '/golden/notes']);
  });

  it('asks for every launch template version with aliases resolved, and follows a group to $Default', async () => {
    const { ec2Mock, ssmMock, autoscalingMock } = mockQuietAccount();
    ssmMock.on(DescribeParametersCommand).resolves({ Parameters: [] });
    ec2Mock.on(DescribeLaunchTemplatesCommand).resolves({ LaunchTemplates: [{ LaunchTemplateId: 'lt-1', LaunchTemplateName: 'web', DefaultVersionNumber: 2, LatestVersionNumber: 3 }] });
    ec2Mock.on(DescribeLaunchTemplateVersionsCommand).resolves({
      LaunchTemplateVersions: [
        { VersionNumber: 1, LaunchTemplateData: { ImageId: 'ami-old' } },
        { VersionNumber: 2, DefaultVersion: true, LaunchTemplateData: { ImageId: 'ami-1' } },
        { VersionNumber: 3, LaunchTemplateData: { ImageId: 'ami-new' } },
      ],
    });
    autoscalingMock.on(DescribeAutoScalingGroupsCommand).resolves({
      AutoScalingGroups: [
        {
          AutoScalingGroupName: 'web-asg',
          MixedInstancesPolicy: {
            LaunchTemplate: {
              LaunchTemplateSpecification: { LaunchTemplateId: 'lt-1' },
              Overrides: [{ InstanceType: 'm7g.large', LaunchTemplateSpecification: { LaunchTemplateName: 'web', Version: '1' } }],
            },
          },
        } as never,
      ],
    });

    const references = await observeReferences(clients, 'us-east-1', ['ami-1', 'ami-old'], { ssmPrefix: '/golden', capabilities: { parameterDataTypeFilter: true, imageReferences: false } });

    expect(references).toEqual({
      'ami-1': ['launch template web v2', 'auto scaling group web-asg (launch template web $Default = v2, mixed instances policy)'],
      'ami-old': ['launch template web v1', 'auto scaling group web-asg (launch template web v1, mixed instances override m7g.large)'],
    });
    const versionsAsked = ec2Mock.commandCalls(DescribeLaunchTemplateVersionsCommand)[0]!.args[0].input;
    expect(versionsAsked).toMatchObject({ LaunchTemplateId: 'lt-1', ResolveAlias: true });
    expect(versionsAsked.Versions).toBeUndefined();
  });
});

describe('observeReferences and fleets', () => {
  // moto cannot cancel a Spot Fleet request that has no instances, so the states that end a fleet are shown here.
  it('counts fleets that may still launch and leaves deleted fleets and cancelled requests out', async () => {
    const { ec2Mock, ssmMock } = mockQuietAccount();
    ssmMock.on(DescribeParametersCommand).resolves({ Parameters: [] });
    ec2Mock.on(DescribeFleetsCommand).resolves({
      Fleets: [
        { FleetId: 'fleet-live', FleetState: 'active', LaunchTemplateConfigs: [{ Overrides: [{ ImageId: 'ami-1' }] }] },
        { FleetId: 'fleet-gone', FleetState: 'deleted', LaunchTemplateConfigs: [{ Overrides: [{ ImageId: 'ami-2' }] }] },
      ],
    });
    ec2Mock.on(DescribeSpotFleetRequestsCommand).resolves({
      SpotFleetRequestConfigs: [
        { SpotFleetRequestId: 'sfr-live', SpotFleetRequestState: 'cancelled_running', SpotFleetRequestConfig: { IamFleetRole: 'r', TargetCapacity: 1, LaunchSpecifications: [{ ImageId: 'ami-3' }] } },
        { SpotFleetRequestId: 'sfr-gone', SpotFleetRequestState: 'cancelled', SpotFleetRequestConfig: { IamFleetRole: 'r', TargetCapacity: 1, LaunchSpecifications: [{ ImageId: 'ami-4' }] } },
      ],
    });

    const references = await observeReferences(clients, 'us-east-1', ['ami-1', 'ami-2', 'ami-3', 'ami-4'], {
      ssmPrefix: '/golden',
      capabilities: { parameterDataTypeFilter: true, imageReferences: false },
    });

    expect(references).toEqual({
      'ami-1': ['EC2 Fleet fleet-live (launch template override)'],
      'ami-2': [],
      'ami-3': ['Spot Fleet request sfr-live (launch specification)'],
      'ami-4': [],
    });
  });
});
