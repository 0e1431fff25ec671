/**
 * removeAmi deletes only the snapshots the plan named: retirement leaves a snapshot that also backs another AMI
 * ("snapshot … is left: it also backs …"), and re-reading the AMI's block devices must not bring it back into the
 * deletes (AWS refuses it while the other AMI lives, and takes it from one in the Recycle Bin).
 */
import { DeleteSnapshotCommand, DeregisterImageCommand, DescribeImagesCommand, type Image } from '@aws-sdk/client-ec2';
import { mockClient } from 'aws-sdk-client-mock';
import { describe, expect, it } from 'vitest';
import { removeAmi } from '../../src/stages/remove-ami.ts';
import { contextOver, mockableClients } from '../support/mocked-aws-context.ts';

const image = (amiId: string, snapshotIds: readonly string[]): Image => ({
  ImageId: amiId,
  State: 'available',
  BlockDeviceMappings: snapshotIds.map((snapshotId, index) => ({ DeviceName: `/dev/xvd${'abcdef'[index]}`, Ebs: { SnapshotId: snapshotId } })),
  Tags: [],
});

function setUp() {
  const clients = mockableClients();
  const ec2 = mockClient(clients.ec2);
  ec2.on(DeregisterImageCommand).resolves({});
  ec2.on(DeleteSnapshotCommand).resolves({});
  const context = contextOver(clients);
  const deleted = () => ec2.commandCalls(DeleteSnapshotCommand).map((call) => call.args[0].input.SnapshotId);
  return { ec2, context, deleted, lines: (context.logger as unknown as { lines: string[] }).lines };
}

describe('removeAmi', () => {
  it('deletes only the snapshots the plan named, and says it left the one it did not', async () => {
    const { ec2, context, deleted, lines } = setUp();
    ec2.on(DescribeImagesCommand).resolves({ Images: [image('ami-old', ['snap-own', 'snap-shared'])] });
    // The retire step as planned: snap-shared left out because it also backs ami-other.
    const removed = await removeAmi(context, 'us-east-1', 'ami-old', ['snap-own']);
    expect(deleted()).toEqual(['snap-own']);
    expect(removed).toEqual(['ami-old', 'snap-own']);
    expect(ec2.commandCalls(DeregisterImageCommand).map((call) => call.args[0].input.ImageId)).toEqual(['ami-old']);
    expect(lines.some((line) => line.includes('snap-shared') && line.includes('left'))).toBe(true);
  });

  it('does not delete a snapshot a plan (from a file) names that the AMI does not use', async () => {
    const { ec2, context, deleted, lines } = setUp();
    ec2.on(DescribeImagesCommand).resolves({ Images: [image('ami-old', ['snap-own'])] });
    await removeAmi(context, 'us-east-1', 'ami-old', ['snap-own', 'snap-someone-elses']);
    expect(deleted()).toEqual(['snap-own']);
    expect(lines.some((line) => line.startsWith('warn: ') && line.includes('snap-someone-elses'))).toBe(true);
  });

  it('with the AMI already gone (a retry after a crash), deletes the named snapshots no AMI uses and leaves one that is used', async () => {
    const { ec2, context, deleted } = setUp();
    // The single-ID read answers the AMI gone; the read of the snapshots' users finds ami-other on snap-b.
    ec2.on(DescribeImagesCommand, { ImageIds: ['ami-old'] }).rejects(Object.assign(new Error('gone'), { name: 'InvalidAMIID.NotFound' }));
    ec2.on(DescribeImagesCommand, { Owners: ['self'] }).resolves({ Images: [image('ami-other', ['snap-b'])] });
    const removed = await removeAmi(context, 'us-east-1', 'ami-old', ['snap-a', 'snap-b']);
    expect(deleted()).toEqual(['snap-a']);
    expect(removed).toEqual(['snap-a']);
    expect(ec2.commandCalls(DeregisterImageCommand)).toEqual([]);
  });

  it('without an AMI (orphaned snapshots, checked by the cleanup step), deletes what the plan named', async () => {
    const { ec2, context, deleted } = setUp();
    await removeAmi(context, 'us-east-1', undefined, ['snap-a', 'snap-a', 'snap-b']);
    expect(deleted()).toEqual(['snap-a', 'snap-b']);
    expect(ec2.commandCalls(DescribeImagesCommand)).toEqual([]);
  });
});
