/**
 * Retirement sees fleets, on moto: an AMI named only by an EC2 Fleet (a launch template override, or its launch
 * template) or a Spot Fleet request (a launch specification) is a use, and keeps the version; an unused one beside
 * them is retired. (moto refuses to cancel a Spot Fleet request without instances, so a cancelled request is shown at
 * the adapter seam only.)
 */
import { CreateFleetCommand, CreateImageCommand, CreateLaunchTemplateCommand, RequestSpotFleetCommand, RunInstancesCommand, TerminateInstancesCommand, type EC2Client } from '@aws-sdk/client-ec2';
import { describe, expect, it } from 'vitest';
import { createAutoScalingClients } from '../../src/adapters/autoscaling.ts';
import { createAwsClients } from '../../src/adapters/aws-clients.ts';
import { createTags, describeImages } from '../../src/adapters/ec2.ts';
import { getParametersByPath, putImageParameter } from '../../src/adapters/ssm.ts';
import { observeReferences, type ReferenceClients } from '../../src/observe/observe-references.ts';
import { planRetirementPolicy, pointersIn, publishedVersionsIn, type OwnedAmi } from '../../src/plan/plan-retirement-policy.ts';
import { useMotoBehindFaultProxy } from '../support/moto.ts';

const region = 'us-east-1';
const publicAmi = 'ami-1e749f67';
const emulator = useMotoBehindFaultProxy();

function clientsFor(env: Record<string, string>): ReferenceClients & { destroy(): void } {
  const aws = createAwsClients(env);
  const autoscaling = createAutoScalingClients(env);
  return { ec2: aws.ec2, ssm: aws.ssm, autoscaling: autoscaling.autoscaling, destroy: () => (aws.destroy(), autoscaling.destroy()) };
}

async function createAmis(ec2: EC2Client, count: number): Promise<string[]> {
  const instanceId = (await ec2.send(new RunInstancesCommand({ ImageId: publicAmi, InstanceType: 't3.micro', MinCount: 1, MaxCount: 1 }))).Instances![0]!.InstanceId!;
  const amiIds: string[] = [];
  for (let index = 0; index < count; index++) amiIds.push((await ec2.send(new CreateImageCommand({ InstanceId: instanceId, Name: `web-1.${index}.0` }))).ImageId!);
  await ec2.send(new TerminateInstancesCommand({ InstanceIds: [instanceId] }));
  return amiIds;
}

describe('retirement sees fleets', () => {
  it('keeps a version an EC2 Fleet or a Spot Fleet request launches from, and retires the unused one beside them', async () => {
    const clients = clientsFor(emulator.proxy.env(emulator.moto.env));
    try {
      const ec2 = clients.ec2(region);
      const ssm = clients.ssm(region);
      const amiIds = await createAmis(ec2, 6);
      for (const [index, amiId] of amiIds.entries()) {
        await createTags(ec2, [amiId], { 'gild:image': 'web', 'gild:version': `1.${index}.0`, 'gild:status': 'published' });
        await putImageParameter(ssm, `/golden/web/versions/1.${index}.0`, amiId, { overwrite: false });
      }
      await putImageParameter(ssm, '/golden/web/latest', amiIds[5]!, { overwrite: false });
      const [byOverride, byFleetTemplate, bySpotSpecification] = amiIds as [string, string, string];

      const template = await ec2.send(new CreateLaunchTemplateCommand({ LaunchTemplateName: 'fleet-web', LaunchTemplateData: { ImageId: byFleetTemplate, InstanceType: 't3.micro' } }));
      const templateId = template.LaunchTemplate!.LaunchTemplateId!;
      const plain = await ec2.send(new CreateLaunchTemplateCommand({ LaunchTemplateName: 'fleet-plain', LaunchTemplateData: { ImageId: publicAmi, InstanceType: 't3.micro' } }));
      // Capacity 0 of type maintain: the fleet launches nothing now, but would from these at any time.
      const overrideFleet = await ec2.send(
        new CreateFleetCommand({
          Type: 'maintain',
          TargetCapacitySpecification: { TotalTargetCapacity: 0, DefaultTargetCapacityType: 'on-demand' },
          LaunchTemplateConfigs: [
            { LaunchTemplateSpecification: { LaunchTemplateId: plain.LaunchTemplate!.LaunchTemplateId!, Version: '1' }, Overrides: [{ ImageId: byOverride, InstanceType: 't3.micro' }] },
          ],
        }),
      );
      const templateFleet = await ec2.send(
        new CreateFleetCommand({
          Type: 'maintain',
          TargetCapacitySpecification: { TotalTargetCapacity: 0, DefaultTargetCapacityType: 'on-demand' },
          LaunchTemplateConfigs: [{ LaunchTemplateSpecification: { LaunchTemplateId: templateId, Version: '$Latest' } }],
        }),
      );
      const spotRequest = (imageId: string) =>
        ec2.send(
          new RequestSpotFleetCommand({
            SpotFleetRequestConfig: {
              AllocationStrategy: 'lowestPrice',
              IamFleetRole: 'arn:aws:iam::123456789012:role/spot-fleet',
              TargetCapacity: 0,
              LaunchSpecifications: [{ ImageId: imageId, InstanceType: 't3.micro' }],
            },
          }),
        );
      const spot = await spotRequest(bySpotSpecification);

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
        { ssmPrefix: '/golden', capabilities: { parameterDataTypeFilter: false, imageReferences: false } },
      );
      const plan = planRetirementPolicy({ ...input, references });

      expect(plan.steps.map((step) => `${step.version} ${step.phase}`)).toEqual(['1.3.0 deregister']);
      const due = ' (due: older than the newest 2 versions (retention keeps 2))';
      expect(plan.kept.map((entry) => `${entry.version}: ${entry.reason}`)).toEqual([
        `1.0.0: kept: in use by EC2 Fleet ${overrideFleet.FleetId} (launch template override)${due}`,
        `1.1.0: kept: in use by launch template fleet-web v1, EC2 Fleet ${templateFleet.FleetId} (launch template fleet-web v1)${due}`,
        `1.2.0: kept: in use by Spot Fleet request ${spot.SpotFleetRequestId} (launch specification)${due}`,
      ]);
    } finally {
      clients.destroy();
    }
  });
});
