/**
 * copyImageIntoAccount on its real-AWS path, at the adapter seam: moto cannot CopyImage an AMI shared from another
 * account (each account's AMIs are a separate store; it answers InvalidAMIID.NotFound), so the emulator stands in a
 * RegisterImage for that call and CopyImage itself is proven here with stubbed EC2 clients for the two accounts.
 */
import { CopyImageCommand, CreateTagsCommand, DescribeImagesCommand, EC2Client, ModifyImageAttributeCommand, ModifySnapshotAttributeCommand, RegisterImageCommand } from '@aws-sdk/client-ec2';
import { mockClient } from 'aws-sdk-client-mock';
import { describe, expect, it } from 'vitest';
import { copyImageIntoAccount, withdrawShareFromAccount } from '../../src/adapters/ec2.ts';

const account = '210987654321';
const sourceImage = {
  ImageId: 'ami-source',
  Name: 'web-1.0.0-run1',
  Description: 'web 1.0.0',
  State: 'available' as const,
  OwnerId: '123456789012',
  BlockDeviceMappings: [{ DeviceName: '/dev/xvda', Ebs: { SnapshotId: 'snap-source' } }],
};
const copyImage = { ImageId: 'ami-copy', Name: 'web-1.0.0-run1', State: 'available' as const, OwnerId: account, BlockDeviceMappings: [{ DeviceName: '/dev/xvda', Ebs: { SnapshotId: 'snap-copy' } }] };

function setup(options: { existing?: boolean; loseCopyAnswer?: boolean; failedCopy?: boolean } = {}) {
  const source = new EC2Client({ region: 'us-east-1' });
  const target = new EC2Client({ region: 'us-east-1' });
  const singleAttempt = new EC2Client({ region: 'us-east-1' });
  const sourceMock = mockClient(source);
  sourceMock.on(DescribeImagesCommand).resolves({ Images: [sourceImage] });
  sourceMock.on(ModifyImageAttributeCommand).resolves({});
  sourceMock.on(ModifySnapshotAttributeCommand).resolves({});
  let copied = options.existing ?? false;
  const targetMock = mockClient(target);
  const failed = { ...copyImage, ImageId: 'ami-failed', State: 'failed' as const, CreationDate: '2026-11-01T00:00:00.000Z' };
  targetMock.on(DescribeImagesCommand).callsFake(async (input: { ImageIds?: string[] }) => {
    const images = [...(options.failedCopy ? [failed] : []), ...(copied ? [{ ...copyImage, CreationDate: '2026-11-02T00:00:00.000Z' }] : [])];
    return { Images: input.ImageIds ? images.filter((image) => input.ImageIds!.includes(image.ImageId)) : images };
  });
  targetMock.on(CreateTagsCommand).resolves({});
  const copyMock = mockClient(singleAttempt);
  let lost = options.loseCopyAnswer ?? false;
  copyMock.on(CopyImageCommand).callsFake(async () => {
    copied = true;
    if (lost) {
      lost = false;
      throw Object.assign(new Error('We encountered an internal error'), { name: 'InternalError', $metadata: { httpStatusCode: 500 } });
    }
    return { ImageId: 'ami-copy' };
  });
  return { source, target, singleAttempt, sourceMock, targetMock, copyMock };
}

const request = (clients: ReturnType<typeof setup>, overrides: { kmsKeyId?: string; keepSharing?: boolean } = {}) => ({
  source: { ec2: clients.source, region: 'us-east-1', amiId: 'ami-source' },
  target: { account, ec2: clients.target, singleAttemptEc2: clients.singleAttempt },
  kmsKeyId: overrides.kmsKeyId,
  tags: { 'gild:image': 'web', 'gild:source-ami': 'ami-source' },
  keepSharing: overrides.keepSharing ?? false,
  method: 'copy-image' as const,
  signal: new AbortController().signal,
  pollMs: 1,
});

describe('copyImageIntoAccount (real AWS)', () => {
  it('shares the source, copies it in the account with a ClientToken and its key, withdraws the share, then tags the copy', async () => {
    const clients = setup();
    const copy = await copyImageIntoAccount(request(clients, { kmsKeyId: 'alias/golden' }));
    expect(copy).toEqual({ amiId: 'ami-copy', snapshotIds: ['snap-copy'], outcome: 'copied' });

    const copyCalls = clients.copyMock.commandCalls(CopyImageCommand);
    expect(copyCalls).toHaveLength(1);
    const input = copyCalls[0]!.args[0].input;
    expect(input).toMatchObject({ SourceRegion: 'us-east-1', SourceImageId: 'ami-source', Name: 'web-1.0.0-run1', Description: 'web 1.0.0', Encrypted: true, KmsKeyId: 'alias/golden' });
    expect(input.ClientToken).toMatch(/^[0-9a-f]{64}$/);
    // Tagged from the start: a copy a crash leaves pending or untagged is still gild's, and the next plan sees it.
    const tags = [
      { Key: 'gild:image', Value: 'web' },
      { Key: 'gild:source-ami', Value: 'ami-source' },
    ];
    expect(input.TagSpecifications).toEqual([
      { ResourceType: 'image', Tags: tags },
      { ResourceType: 'snapshot', Tags: tags },
    ]);
    expect(clients.singleAttempt).not.toBe(clients.target);
    expect(clients.copyMock.commandCalls(RegisterImageCommand)).toHaveLength(0);

    const shares = clients.sourceMock.commandCalls(ModifyImageAttributeCommand).map((call) => call.args[0].input.LaunchPermission);
    expect(shares).toEqual([{ Add: [{ UserId: account }] }, { Remove: [{ UserId: account }] }]);
    const snapshotShares = clients.sourceMock.commandCalls(ModifySnapshotAttributeCommand).map((call) => `${call.args[0].input.OperationType} ${call.args[0].input.UserIds?.join(',')}`);
    expect(snapshotShares).toEqual([`add ${account}`, `remove ${account}`]);
    expect(clients.targetMock.commandCalls(CreateTagsCommand)[0]!.args[0].input).toEqual({
      Resources: ['ami-copy', 'snap-copy'],
      Tags: [
        { Key: 'gild:image', Value: 'web' },
        { Key: 'gild:source-ami', Value: 'ami-source' },
      ],
    });
  });

  it('does not send gild:image again to a copy that carries it from creation (the policy denies re-sending it on AWS)', async () => {
    const clients = setup();
    // As AWS answers once the copy is available: the TagSpecifications of CopyImage are on it.
    clients.targetMock.on(DescribeImagesCommand).resolves({
      Images: [
        {
          ...copyImage,
          Tags: [
            { Key: 'gild:image', Value: 'web' },
            { Key: 'gild:source-ami', Value: 'ami-source' },
          ],
        },
      ],
    });
    await copyImageIntoAccount(request(clients));
    expect(clients.targetMock.commandCalls(CreateTagsCommand).map((call) => call.args[0].input)).toEqual([
      { Resources: ['ami-copy', 'snap-copy'], Tags: [{ Key: 'gild:source-ami', Value: 'ami-source' }] },
    ]);
  });

  it('uses the same ClientToken for the same source, account and region, and another for another account', async () => {
    const first = setup();
    await copyImageIntoAccount(request(first));
    const second = setup();
    await copyImageIntoAccount(request(second));
    const other = setup();
    await copyImageIntoAccount({ ...request(other), target: { ...request(other).target, account: '111111111111' } });
    const token = (clients: ReturnType<typeof setup>) => clients.copyMock.commandCalls(CopyImageCommand)[0]!.args[0].input.ClientToken;
    expect(token(first)).toBe(token(second));
    expect(token(other)).not.toBe(token(first));
  });

  it('recognises a copy whose answer was lost by reading back, and copies once', async () => {
    const clients = setup({ loseCopyAnswer: true });
    const copy = await copyImageIntoAccount(request(clients));
    expect(copy.amiId).toBe('ami-copy');
    expect(clients.copyMock.commandCalls(CopyImageCommand)).toHaveLength(1);
  });

  it('finishes a copy an earlier attempt made (found by its name) without sharing or copying again, and keeps a share the definition grants', async () => {
    const clients = setup({ existing: true });
    const copy = await copyImageIntoAccount(request(clients, { keepSharing: true }));
    expect(copy.outcome).toBe('found');
    expect(clients.copyMock.commandCalls(CopyImageCommand)).toHaveLength(0);
    expect(clients.sourceMock.commandCalls(ModifyImageAttributeCommand)).toHaveLength(0);
    expect(clients.targetMock.commandCalls(CreateTagsCommand)).toHaveLength(1);
  });

  it('withdraws the share before tagging the copy: a crash before the tags (a rerun finds the copy by name) leaves no share behind', async () => {
    const clients = setup();
    clients.targetMock.on(CreateTagsCommand).rejects(Object.assign(new Error('connection reset'), { name: 'TimeoutError' }));
    await expect(copyImageIntoAccount(request(clients))).rejects.toThrow();
    expect(clients.sourceMock.commandCalls(ModifyImageAttributeCommand).map((call) => call.args[0].input.LaunchPermission)).toEqual([
      { Add: [{ UserId: account }] },
      { Remove: [{ UserId: account }] },
    ]);
    expect(clients.sourceMock.commandCalls(ModifySnapshotAttributeCommand).map((call) => call.args[0].input.OperationType)).toEqual(['add', 'remove']);
  });

  it('withdraws a share left behind from the AMI and the snapshots it reads from the AMI (distribute, when the copy is already there)', async () => {
    const clients = setup();
    await withdrawShareFromAccount(clients.source, 'ami-source', account);
    expect(clients.sourceMock.commandCalls(ModifyImageAttributeCommand).map((call) => call.args[0].input.LaunchPermission)).toEqual([{ Remove: [{ UserId: account }] }]);
    expect(
      clients.sourceMock.commandCalls(ModifySnapshotAttributeCommand).map((call) => `${call.args[0].input.SnapshotId} ${call.args[0].input.OperationType} ${call.args[0].input.UserIds?.join(',')}`),
    ).toEqual([`snap-source remove ${account}`]);
  });

  it('does not take a failed copy of the same name for one to finish: it copies again', async () => {
    const clients = setup({ failedCopy: true });
    const copy = await copyImageIntoAccount(request(clients));
    expect(copy).toMatchObject({ amiId: 'ami-copy', outcome: 'copied' });
    expect(clients.copyMock.commandCalls(CopyImageCommand)).toHaveLength(1);
  });
});
