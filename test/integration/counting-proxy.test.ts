/**
 * The benchmarks' counting proxy pages moto's whole answers the way AWS
 * does, so that a paginator's calls are counted as AWS would see them.
 */
import { CreateImageCommand, CreateLaunchTemplateCommand, RunInstancesCommand, type EC2Client } from '@aws-sdk/client-ec2';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAwsClients } from '../../src/adapters/aws-clients.ts';
import { describeAllLaunchTemplateVersions, describeImages } from '../../src/adapters/ec2.ts';
import { startCountingProxy, type CountingProxy } from '../support/counting-proxy.ts';
import { startMoto, type MotoServer } from '../support/moto.ts';

let moto: MotoServer;
let proxy: CountingProxy;
beforeAll(async () => {
  moto = await startMoto();
  proxy = await startCountingProxy(moto.endpoint);
});
afterAll(async () => {
  await proxy?.stop();
  await moto?.stop();
});

async function seedImages(ec2: EC2Client, count: number): Promise<void> {
  const instance = await ec2.send(new RunInstancesCommand({ ImageId: 'ami-1e749f67', InstanceType: 't3.micro', MinCount: 1, MaxCount: 1 }));
  for (let index = 0; index < count; index++) {
    await ec2.send(
      new CreateImageCommand({
        InstanceId: instance.Instances![0]!.InstanceId!,
        Name: `paged-${index}`,
        TagSpecifications: [{ ResourceType: 'image', Tags: [{ Key: 'gild:image', Value: 'paged' }] }],
      }),
    );
  }
}

describe('counting proxy', () => {
  it('pages DescribeImages by MaxResults and launch templates past moto’s 15, counting each page', async () => {
    const clients = createAwsClients(proxy.env(moto.env));
    try {
      const ec2 = clients.ec2('us-east-1');
      await seedImages(ec2, 25);
      for (let index = 0; index < 17; index++) await ec2.send(new CreateLaunchTemplateCommand({ LaunchTemplateName: `lt-${index}`, LaunchTemplateData: { ImageId: 'ami-1e749f67' } }));
      proxy.reset();

      // describeImages pages by 1000; ask the SDK paginator for pages of 10 through the same proxy.
      const { paginateDescribeImages } = await import('@aws-sdk/client-ec2');
      let seen = 0;
      for await (const page of paginateDescribeImages({ client: ec2, pageSize: 10 }, { Owners: ['self'], Filters: [{ Name: 'tag:gild:image', Values: ['paged'] }] })) seen += page.Images?.length ?? 0;
      expect(seen).toBe(25);
      expect(proxy.calls.map((call) => call.action)).toEqual(['DescribeImages', 'DescribeImages', 'DescribeImages']);
      expect(proxy.imagesDescribed).toBe(25);

      expect(await describeImages(ec2, { owners: ['self'], filters: [{ Name: 'tag:gild:image', Values: ['paged'] }] })).toHaveLength(25);
      expect((await describeAllLaunchTemplateVersions(ec2)).map((version) => version.templateName).sort()).toHaveLength(17);
    } finally {
      clients.destroy();
    }
  });
});
