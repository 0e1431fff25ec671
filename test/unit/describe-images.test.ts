/**
 * The one DescribeImages at the adapter seam: how each kind of question is asked (by one ID, by several, by filter in
 * batches of AWS's 200 values) and that the answer is gild's ImageSummary, never the SDK's Image.
 */
import { DescribeImagesCommand, EC2Client } from '@aws-sdk/client-ec2';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import { describeImages, describeImagesUsingSnapshots } from '../../src/adapters/ec2.ts';

const ec2 = new EC2Client({ region: 'us-east-1', credentials: { accessKeyId: 'test', secretAccessKey: 'test' } });
const ec2Mock = mockClient(ec2);
const image = (amiId: string, snapshotIds: string[] = []) => ({
  ImageId: amiId,
  Name: `web-1.0.0-${amiId}`,
  State: 'available' as const,
  OwnerId: '123456789012',
  CreationDate: '2026-12-01T00:00:00.000Z',
  BlockDeviceMappings: [
    { DeviceName: '/dev/xvdz' },
    ...snapshotIds.map((SnapshotId, index) => ({ DeviceName: `/dev/xvd${'abc'[index]}`, Ebs: { SnapshotId, Encrypted: index === 0, ...(index === 0 ? { KmsKeyId: 'alias/golden' } : {}) } })),
  ],
  Tags: [{ Key: 'gild:image', Value: 'web' }],
});

beforeEach(() => ec2Mock.reset());

describe('describeImages', () => {
  it('answers with ImageSummary: snapshots and volumes read once from the block devices, tags as a record', async () => {
    ec2Mock.on(DescribeImagesCommand).resolves({ Images: [image('ami-1', ['snap-1', 'snap-2'])] });
    const [summary] = await describeImages(ec2, { imageIds: ['ami-1'] });
    expect(summary).toMatchObject({
      amiId: 'ami-1',
      state: 'available',
      ownerId: '123456789012',
      snapshotIds: ['snap-1', 'snap-2'],
      volumes: [
        { device: '/dev/xvda', snapshotId: 'snap-1', encrypted: true, kmsKeyId: 'alias/golden' },
        { device: '/dev/xvdb', snapshotId: 'snap-2', encrypted: false, kmsKeyId: undefined },
      ],
      tags: { 'gild:image': 'web' },
    });
  });

  it('asks one AMI by ImageIds in any state, and answers none for one that is gone', async () => {
    ec2Mock.on(DescribeImagesCommand).rejects(Object.assign(new Error('gone'), { name: 'InvalidAMIID.NotFound' }));
    expect(await describeImages(ec2, { imageIds: ['ami-gone'] })).toEqual([]);
    expect(ec2Mock.commandCalls(DescribeImagesCommand)[0]!.args[0].input).toEqual({ ImageIds: ['ami-gone'], IncludeDeprecated: true, IncludeDisabled: true });
  });

  it('asks several AMIs by the image-id filter, so one gone hides no other', async () => {
    ec2Mock.on(DescribeImagesCommand).resolves({ Images: [image('ami-1')] });
    expect((await describeImages(ec2, { imageIds: ['ami-1', 'ami-gone', 'ami-1'] })).map((summary) => summary.amiId)).toEqual(['ami-1']);
    expect(ec2Mock.commandCalls(DescribeImagesCommand)[0]!.args[0].input).toMatchObject({
      Filters: [{ Name: 'image-id', Values: ['ami-1', 'ami-gone'] }],
      IncludeDeprecated: true,
      IncludeDisabled: true,
    });
  });

  it('splits a filter of more than 200 values into calls of 200 and keeps the other filters in each', async () => {
    ec2Mock.on(DescribeImagesCommand).resolves({ Images: [] });
    const names = Array.from({ length: 450 }, (_, index) => `web-${index}-*`);
    await describeImages(ec2, {
      owners: ['self'],
      filters: [
        { Name: 'state', Values: ['available'] },
        { Name: 'name', Values: names },
      ],
    });
    const inputs = ec2Mock.commandCalls(DescribeImagesCommand).map((call) => call.args[0].input);
    expect(inputs.map((input) => input.Filters?.[1]?.Values?.length)).toEqual([200, 200, 50]);
    expect(inputs.every((input) => input.Filters?.[0]?.Name === 'state' && input.Owners?.[0] === 'self' && input.IncludeDeprecated === false)).toBe(true);
  });

  it('asks nothing for a filter without values or no IDs', async () => {
    expect(await describeImages(ec2, { imageIds: [] })).toEqual([]);
    expect(await describeImages(ec2, { filters: [{ Name: 'name', Values: [] }] })).toEqual([]);
    expect(ec2Mock.commandCalls(DescribeImagesCommand)).toHaveLength(0);
  });

  it('finds the owned AMIs using given snapshots, matched here whether or not AWS filtered', async () => {
    ec2Mock.on(DescribeImagesCommand).resolves({ Images: [image('ami-1', ['snap-1']), image('ami-2', ['snap-2'])] });
    expect((await describeImagesUsingSnapshots(ec2, ['snap-2'], { snapshotFilter: false })).map((summary) => summary.amiId)).toEqual(['ami-2']);
    await describeImagesUsingSnapshots(ec2, ['snap-2'], { snapshotFilter: true });
    expect(ec2Mock.commandCalls(DescribeImagesCommand)[1]!.args[0].input.Filters).toEqual([{ Name: 'block-device-mapping.snapshot-id', Values: ['snap-2'] }]);
  });
});
