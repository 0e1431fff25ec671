/**
 * The reference check against moto: each way an app team can use an AMI
 * that gild can see is reported, in words, and gild's own pointers are not
 * counted as uses. DescribeImageReferences and the DataType filter of
 * DescribeParameters are not in moto; see observe-references.test.ts (unit)
 * for those.
 */
import { CreateAutoScalingGroupCommand, CreateLaunchConfigurationCommand } from '@aws-sdk/client-auto-scaling';
import {
  CreateImageCommand,
  CreateLaunchTemplateCommand,
  CreateLaunchTemplateVersionCommand,
  RunInstancesCommand,
  StopInstancesCommand,
  TerminateInstancesCommand,
  type EC2Client,
} from '@aws-sdk/client-ec2';
import { describe, expect, it } from 'vitest';
import { createAutoScalingClients } from '../../src/adapters/autoscaling.ts';
import { createAwsClients } from '../../src/adapters/aws-clients.ts';
import { createTags, describeImages } from '../../src/adapters/ec2.ts';
import { getParametersByPath, putImageParameter } from '../../src/adapters/ssm.ts';
import { observeReferences, type ReferenceClients } from '../../src/observe/observe-references.ts';
import { planRetirementPolicy, pointersIn, publishedVersionsIn, type OwnedAmi } from '../../src/plan/plan-retirement-policy.ts';
import { useMotoBehindFaultProxy } from '../support/moto.ts';

const region = 'us-east-1';
/** moto's Ubuntu 14.04 AMI in us-east-1: the instance every test AMI is made from. */
const publicAmi = 'ami-1e749f67';
const motoCapabilities = { parameterDataTypeFilter: false, imageReferences: false };
const emulator = useMotoBehindFaultProxy();

function clientsFor(env: Record<string, string>): ReferenceClients & { destroy(): void } {
  const aws = createAwsClients(env);
  const autoscaling = createAutoScalingClients(env);
  return { ec2: aws.ec2, ssm: aws.ssm, autoscaling: autoscaling.autoscaling, destroy: () => (aws.destroy(), autoscaling.destroy()) };
}

async function launch(ec2: EC2Client, imageId: string): Promise<string> {
  const output = await ec2.send(new RunInstancesCommand({ ImageId: imageId, InstanceType: 't3.micro', MinCount: 1, MaxCount: 1 }));
  return output.Instances![0]!.InstanceId!;
}

/** Makes `count` AMIs of our own, the way Packer does: from an instance, which is then terminated. */
async function createAmis(ec2: EC2Client, count: number): Promise<string[]> {
  const instanceId = await launch(ec2, publicAmi);
  const amiIds: string[] = [];
  for (let index = 0; index < count; index++) amiIds.push((await ec2.send(new CreateImageCommand({ InstanceId: instanceId, Name: `web-1.${index}.0` }))).ImageId!);
  await ec2.send(new TerminateInstancesCommand({ InstanceIds: [instanceId] }));
  return amiIds;
}

describe('observeReferences against moto', () => {
  it('reports a launch configuration and its group, a team’s parameter, a non-default template version and a stopped instance', async () => {
    const clients = clientsFor(emulator.proxy.env(emulator.moto.env));
    try {
      const ec2 = clients.ec2(region);
      const autoscaling = clients.autoscaling(region);
      const ssm = clients.ssm(region);
      const [byGroup, byParameter, byTemplateVersion, byStoppedInstance, byLatestTemplate, unused, terminatedOnly] = (await createAmis(ec2, 7)) as [
        string,
        string,
        string,
        string,
        string,
        string,
        string,
      ];

      await autoscaling.send(new CreateLaunchConfigurationCommand({ LaunchConfigurationName: 'web-lc', ImageId: byGroup, InstanceType: 't3.micro' }));
      await autoscaling.send(new CreateAutoScalingGroupCommand({ AutoScalingGroupName: 'web-asg', LaunchConfigurationName: 'web-lc', MinSize: 0, MaxSize: 0, AvailabilityZones: ['us-east-1a'] }));

      await putImageParameter(ssm, '/apps/web/ami', byParameter, { overwrite: false });
      // gild's own pointers are weighed by retirement itself, not reported as uses.
      await putImageParameter(ssm, '/golden/web/latest', unused, { overwrite: false });

      // v2 is neither $Default (v1) nor $Latest (v3): only a scan of every version finds it.
      const template = await ec2.send(new CreateLaunchTemplateCommand({ LaunchTemplateName: 'web', LaunchTemplateData: { ImageId: publicAmi } }));
      const templateId = template.LaunchTemplate!.LaunchTemplateId!;
      await ec2.send(new CreateLaunchTemplateVersionCommand({ LaunchTemplateId: templateId, LaunchTemplateData: { ImageId: byTemplateVersion } }));
      await ec2.send(new CreateLaunchTemplateVersionCommand({ LaunchTemplateId: templateId, LaunchTemplateData: { ImageId: publicAmi } }));
      // moto does not resolve `resolve:ssm:` (EMULATOR.md); the check reads the parameter itself then.
      await ec2.send(new CreateLaunchTemplateCommand({ LaunchTemplateName: 'web-alias', LaunchTemplateData: { ImageId: 'resolve:ssm:/apps/web/ami' } }));
      const api = await ec2.send(new CreateLaunchTemplateCommand({ LaunchTemplateName: 'api', LaunchTemplateData: { ImageId: publicAmi } }));
      await ec2.send(new CreateLaunchTemplateVersionCommand({ LaunchTemplateId: api.LaunchTemplate!.LaunchTemplateId!, LaunchTemplateData: { ImageId: byLatestTemplate } }));
      await autoscaling.send(
        new CreateAutoScalingGroupCommand({
          AutoScalingGroupName: 'api-asg',
          LaunchTemplate: { LaunchTemplateName: 'api', Version: '$Latest' },
          MinSize: 0,
          MaxSize: 0,
          AvailabilityZones: ['us-east-1a'],
        }),
      );

      const stoppedId = await launch(ec2, byStoppedInstance);
      await ec2.send(new StopInstancesCommand({ InstanceIds: [stoppedId] }));
      const terminatedId = await launch(ec2, terminatedOnly);
      await ec2.send(new TerminateInstancesCommand({ InstanceIds: [terminatedId] }));

      emulator.proxy.calls.length = 0;
      const references = await observeReferences(clients, region, [byGroup, byParameter, byTemplateVersion, byStoppedInstance, byLatestTemplate, unused, terminatedOnly], {
        ssmPrefix: '/golden',
        capabilities: motoCapabilities,
      });

      expect(references).toEqual({
        [byGroup]: ['auto scaling group web-asg (launch configuration web-lc)', 'launch configuration web-lc'],
        [byParameter]: ['launch template web-alias v1 (resolve:ssm:/apps/web/ami)', 'parameter /apps/web/ami'],
        [byTemplateVersion]: ['launch template web v2'],
        [byStoppedInstance]: [`instance ${stoppedId} (stopped)`],
        [byLatestTemplate]: ['launch template api v2', 'auto scaling group api-asg (launch template api $Latest = v2)'],
        [unused]: [],
        [terminatedOnly]: [],
      });
    } finally {
      clients.destroy();
    }
  });

  it('asks once per kind of user however many AMIs it is asked about', async () => {
    const clients = clientsFor(emulator.proxy.env(emulator.moto.env));
    try {
      const ec2 = clients.ec2(region);
      const amiIds = await createAmis(ec2, 3);
      const fakeIds = Array.from({ length: 197 }, (_, index) => `ami-${index.toString(16).padStart(17, '0')}`);
      const callsFor = async (ids: readonly string[]) => {
        emulator.proxy.calls.length = 0;
        await observeReferences(clients, region, ids, { ssmPrefix: '/golden', capabilities: motoCapabilities });
        return emulator.proxy.actions().sort();
      };
      const few = await callsFor(amiIds);
      expect(await callsFor([...amiIds, ...fakeIds])).toEqual(few);
      expect(few).toEqual([
        'DescribeAutoScalingGroups',
        'DescribeFleets',
        'DescribeInstances',
        'DescribeLaunchConfigurations',
        'DescribeLaunchTemplates',
        'DescribeParameters',
        'DescribeSpotFleetRequests',
      ]);
    } finally {
      clients.destroy();
    }
  });

  it('keeps each used AMI with who uses it while the unused older versions are retired', async () => {
    const clients = clientsFor(emulator.proxy.env(emulator.moto.env));
    try {
      const ec2 = clients.ec2(region);
      const ssm = clients.ssm(region);
      const autoscaling = clients.autoscaling(region);
      const amiIds = await createAmis(ec2, 8);
      for (const [index, amiId] of amiIds.entries()) {
        await createTags(ec2, [amiId], { 'gild:image': 'web', 'gild:version': `1.${index}.0`, 'gild:status': 'published', 'gild:published-at': new Date(Date.UTC(2026, 0, 1 + index)).toISOString() });
        await putImageParameter(ssm, `/golden/web/versions/1.${index}.0`, amiId, { overwrite: false });
      }
      await putImageParameter(ssm, '/golden/web/latest', amiIds[7]!, { overwrite: false });
      await autoscaling.send(new CreateLaunchConfigurationCommand({ LaunchConfigurationName: 'web-lc', ImageId: amiIds[0]!, InstanceType: 't3.micro' }));
      await autoscaling.send(new CreateAutoScalingGroupCommand({ AutoScalingGroupName: 'web-asg', LaunchConfigurationName: 'web-lc', MinSize: 0, MaxSize: 0, AvailabilityZones: ['us-east-1a'] }));
      await putImageParameter(ssm, '/apps/web/ami', amiIds[1]!, { overwrite: false });
      const template = await ec2.send(new CreateLaunchTemplateCommand({ LaunchTemplateName: 'web', LaunchTemplateData: { ImageId: publicAmi } }));
      await ec2.send(new CreateLaunchTemplateVersionCommand({ LaunchTemplateId: template.LaunchTemplate!.LaunchTemplateId!, LaunchTemplateData: { ImageId: amiIds[2]! } }));
      await ec2.send(new CreateLaunchTemplateVersionCommand({ LaunchTemplateId: template.LaunchTemplate!.LaunchTemplateId!, LaunchTemplateData: { ImageId: publicAmi } }));
      const stoppedId = await launch(ec2, amiIds[3]!);
      await ec2.send(new StopInstancesCommand({ InstanceIds: [stoppedId] }));

      // What an engine does for one image: parameters, the AMIs they name, a draft plan, then who uses its candidates.
      const parameters = await getParametersByPath(ssm, '/golden/web');
      const published = publishedVersionsIn('/golden', 'web', parameters);
      const described = await describeImages(ec2, { imageIds: Object.values(published) });
      const input = {
        image: 'web',
        ssmPrefix: '/golden',
        policy: { keep: 2, maxAgeDays: undefined, minAgeDays: 0, phases: {} },
        now: '2026-11-29T00:00:00.000Z',
        published: Object.fromEntries(Object.entries(published).map(([version, amiId]) => [version, { [region]: amiId }])),
        pointers: { [region]: pointersIn('/golden', 'web', parameters) },
        held: {},
        pinned: {},
        ownedAmis: { [region]: Object.fromEntries(described.map((ami): [string, OwnedAmi] => [ami.amiId, ami])) },
        references: {},
      };
      const draft = planRetirementPolicy(input);
      const references = await observeReferences(
        clients,
        region,
        draft.steps.map((step) => step.amiId),
        { ssmPrefix: '/golden', capabilities: motoCapabilities },
      );
      const plan = planRetirementPolicy({ ...input, references });

      expect(plan.steps.map((step) => `${step.version} ${step.phase}`)).toEqual(['1.4.0 deregister', '1.5.0 deregister']);
      const due = ' (due: older than the newest 2 versions (retention keeps 2))';
      expect(plan.kept.map((entry) => `${entry.version}: ${entry.reason}`)).toEqual([
        `1.0.0: kept: in use by auto scaling group web-asg (launch configuration web-lc), launch configuration web-lc${due}`,
        `1.1.0: kept: in use by parameter /apps/web/ami${due}`,
        `1.2.0: kept: in use by launch template web v2${due}`,
        `1.3.0: kept: in use by instance ${stoppedId} (stopped)${due}`,
      ]);
    } finally {
      clients.destroy();
    }
  });
});
