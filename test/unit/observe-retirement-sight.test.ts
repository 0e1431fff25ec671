/**
 * What retirement looks at beyond who launches an AMI, at the adapter seam (aws-sdk-client-mock): whom each candidate
 * is shared with, and which AMIs of the account its snapshots back, asked with AWS's `block-device-mapping.snapshot-id`
 * filter. moto's RegisterImage ignores BlockDeviceMappings, so an AMI on another's snapshot cannot be made there.
 */
import { DescribeImageAttributeCommand, DescribeImagesCommand, EC2Client } from '@aws-sdk/client-ec2';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, describe, expect, it } from 'vitest';
import { createContext } from '../../src/context.ts';
import { createMemoryLogger } from '../../src/logger.ts';
import { observeRetirementSight, withRetirementSight } from '../../src/observe/observe-retirement-sight.ts';
import { pipelineSettingsSchema } from '../../src/settings/schema.ts';
import { ami, emptyRegion, inventoryFixture } from '../support/inventory-fixture.ts';

const ec2 = new EC2Client({ region: 'us-east-1', credentials: { accessKeyId: 'test', secretAccessKey: 'test' } });
const clients = {
  ec2: () => ec2,
  ssm: () => {
    throw new Error('not used');
  },
  autoscaling: () => {
    throw new Error('not used');
  },
  ec2Endpoint: undefined,
  defaultRegion: 'us-east-1',
  destroy() {},
};

afterEach(() => {
  mockClient(ec2).restore();
});

describe('observeRetirementSight', () => {
  it('says whom a candidate is shared with and which other AMIs back onto its snapshots', async () => {
    const ec2Mock = mockClient(ec2);
    ec2Mock.on(DescribeImageAttributeCommand, { ImageId: 'ami-old' }).resolves({ LaunchPermissions: [{ UserId: '111122223333' }, { Group: 'all' }] });
    ec2Mock.on(DescribeImageAttributeCommand, { ImageId: 'ami-mid' }).resolves({ LaunchPermissions: [] });
    ec2Mock.on(DescribeImagesCommand).resolves({
      Images: [
        { ImageId: 'ami-old', State: 'available', BlockDeviceMappings: [{ Ebs: { SnapshotId: 'snap-old' } }] },
        { ImageId: 'ami-team', State: 'available', BlockDeviceMappings: [{ Ebs: { SnapshotId: 'snap-old' } }] },
      ],
    });
    const context = createContext({ cwd: '/tmp', env: {}, logger: createMemoryLogger(), settings: pipelineSettingsSchema.parse({}), clients });
    const inventory = inventoryFixture({
      regions: {
        'us-east-1': emptyRegion('us-east-1', {
          amis: [ami('ami-old', { 'gild:image': 'web' }, { snapshotIds: ['snap-old'] }), ami('ami-mid', { 'gild:image': 'web' }, { snapshotIds: ['snap-mid'] })],
        }),
      },
    });

    const sight = await observeRetirementSight(context, inventory, { 'us-east-1': ['ami-old', 'ami-mid'] });

    expect(sight).toEqual({ 'us-east-1': { sharing: { 'ami-old': ['account 111122223333', 'everyone (public)'] }, snapshotUsers: { 'snap-old': ['ami-old', 'ami-team'] } } });
    const asked = ec2Mock.commandCalls(DescribeImagesCommand)[0]!.args[0].input;
    expect(asked).toMatchObject({ Owners: ['self'], Filters: [{ Name: 'block-device-mapping.snapshot-id', Values: ['snap-old', 'snap-mid'] }] });
    expect(withRetirementSight(inventory, sight).regions['us-east-1']!.snapshotUsers).toEqual({ 'snap-old': ['ami-old', 'ami-team'] });
  });
});
