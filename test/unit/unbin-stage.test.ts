/**
 * The unbin stage on real AWS, at the adapter seam (aws-sdk-client-mock): moto has no Recycle Bin (EMULATOR.md), so no
 * moto test can show that gild brings an AMI back from it, nor in which order (snapshots before the AMI, the revocation
 * before versions/<v>). The requests themselves are held to AWS's model in test/unit/ec2-image-lifecycle.test.ts.
 */
import {
  CreateTagsCommand,
  DeleteSnapshotCommand,
  DeleteTagsCommand,
  DeregisterImageCommand,
  DescribeImagesCommand,
  DisableImageDeprecationCommand,
  EnableImageCommand,
  ListImagesInRecycleBinCommand,
  ListSnapshotsInRecycleBinCommand,
  RestoreImageFromRecycleBinCommand,
  RestoreSnapshotFromRecycleBinCommand,
  type Image,
} from '@aws-sdk/client-ec2';
import { GetParameterCommand, ParameterNotFound, PutParameterCommand } from '@aws-sdk/client-ssm';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, describe, expect, it } from 'vitest';
import { StepFailure } from '../../src/apply/step-stage.ts';
import type { StepOfKind } from '../../src/plan/run-plan.ts';
import { unbinStage } from '../../src/stages/unbin.ts';
import { contextOver, mockableClients } from '../support/mocked-aws-context.ts';
import { resolvedImageFixture } from '../support/resolved-image-fixture.ts';
import { stepRunFixture } from '../support/step-run-fixture.ts';

const { ec2, ssm } = mockableClients();
const context = contextOver({ ec2, ssm });
const image = resolvedImageFixture({ name: 'web', version: '1.0.0' });
const amiId = 'ami-0123456789abcdef0';
const step: StepOfKind<'unbin'> = {
  id: `unbin:web:1.0.1:us-east-1`,
  kind: 'unbin',
  image: 'web',
  version: '1.0.1',
  region: 'us-east-1',
  amiId,
  snapshotIds: ['snap-1', 'snap-2'],
  parameterName: '/golden/web/versions/1.0.1',
  status: 'revoked',
  revoked: { reason: 'CVE-1', at: '2026-10-01T00:00:00.000Z', by: 'me@host' },
  by: 'you@host',
  restoredReason: 'retired by mistake',
  after: ['lock:web'],
  reason: 'r',
  precondition: 'p',
};

afterEach(() => {
  mockClient(ec2).restore();
  mockClient(ssm).restore();
});

const back = (tags: Record<string, string>): { Images: Image[] } => ({
  Images: [{ ImageId: amiId, State: 'available', Tags: Object.entries({ 'gild:image': 'web', 'gild:version': '1.0.1', ...tags }).map(([Key, Value]) => ({ Key, Value })) }],
});
const calls = (mock: ReturnType<typeof mockClient>) => mock.calls().map((call) => call.args[0].constructor.name.replace(/Command$/, ''));
const inBin = { Images: [{ ImageId: amiId, Name: 'web-1.0.1-run' }] };
const snapshotsInBin = { Snapshots: ['snap-1', 'snap-2'].map((SnapshotId) => ({ SnapshotId, Description: `Created by CreateImage(i-1) for ${amiId}` })) };

describe('unbin', () => {
  it('brings the snapshots back before the AMI, tags it as the version again, writes its revocation before versions/<v>', async () => {
    const ec2Mock = mockClient(ec2);
    ec2Mock
      .on(DescribeImagesCommand)
      .rejectsOnce(Object.assign(new Error('gone'), { name: 'InvalidAMIID.NotFound' }))
      .resolves(back({ 'gild:status': 'retiring', 'gild:retired-at': 'x' }));
    ec2Mock.on(ListSnapshotsInRecycleBinCommand).resolves(snapshotsInBin);
    ec2Mock.on(ListImagesInRecycleBinCommand).resolves(inBin);
    const ssmMock = mockClient(ssm);
    ssmMock.on(GetParameterCommand).rejects(new ParameterNotFound({ message: 'none', $metadata: {} }));
    ssmMock.on(PutParameterCommand).resolves({ Version: 1 });

    expect(await unbinStage.run(context, step, stepRunFixture(image))).toEqual({ amiId, snapshotIds: ['snap-1', 'snap-2'] });
    expect(calls(ec2Mock)).toEqual([
      'DescribeImages',
      'ListSnapshotsInRecycleBin',
      'RestoreSnapshotFromRecycleBin',
      'RestoreSnapshotFromRecycleBin',
      'ListImagesInRecycleBin',
      'RestoreImageFromRecycleBin',
      'DescribeImages',
      'DeleteTags',
      'CreateTags',
    ]);
    expect(ec2Mock.commandCalls(RestoreImageFromRecycleBinCommand)[0]!.args[0].input).toEqual({ ImageId: amiId });
    expect(ec2Mock.commandCalls(RestoreSnapshotFromRecycleBinCommand).map((call) => call.args[0].input.SnapshotId)).toEqual(['snap-1', 'snap-2']);
    expect(ec2Mock.commandCalls(DeleteTagsCommand)[0]!.args[0].input.Tags).toEqual([{ Key: 'gild:retired-at' }]);
    expect(ec2Mock.commandCalls(CreateTagsCommand)[0]!.args[0].input.Tags).toEqual(
      expect.arrayContaining([
        { Key: 'gild:status', Value: 'revoked' },
        { Key: 'gild:unbinned-reason', Value: 'retired by mistake' },
      ]),
    );
    const puts = ssmMock.commandCalls(PutParameterCommand).map((call) => call.args[0].input);
    expect(puts.map((put) => put.Name)).toEqual(['/golden/web/status/1.0.1', '/golden/web/versions/1.0.1']);
    expect(JSON.parse(puts[0]!.Value!)).toMatchObject({ revoked: { reason: 'CVE-1', by: 'me@host' } });
    expect(puts[1]).toMatchObject({ Value: amiId, DataType: 'aws:ec2:image' });
  });

  it('a retry after the AMI came back asks the bin for nothing again', async () => {
    const ec2Mock = mockClient(ec2);
    ec2Mock.on(DescribeImagesCommand).resolves(back({ 'gild:status': 'retiring' }));
    const ssmMock = mockClient(ssm);
    ssmMock.on(GetParameterCommand).resolves({ Parameter: { Name: step.parameterName, Value: amiId } });
    await unbinStage.run(context, { ...step, status: 'published', revoked: undefined } as StepOfKind<'unbin'>, stepRunFixture(image));
    expect(calls(ec2Mock)).toEqual(['DescribeImages', 'DescribeImages', 'DeleteTags', 'CreateTags']);
    expect(ssmMock.commandCalls(PutParameterCommand)).toEqual([]);
  });

  it('an AMI back from the bin that is not the published version (a failed build of that name) publishes nothing', async () => {
    const ec2Mock = mockClient(ec2);
    ec2Mock
      .on(DescribeImagesCommand)
      .rejectsOnce(Object.assign(new Error('gone'), { name: 'InvalidAMIID.NotFound' }))
      .resolves(back({ 'gild:status': 'failed' }));
    ec2Mock.on(ListSnapshotsInRecycleBinCommand).resolves(snapshotsInBin);
    ec2Mock.on(ListImagesInRecycleBinCommand).resolves(inBin);
    const ssmMock = mockClient(ssm);
    await expect(unbinStage.run(context, step, stepRunFixture(image))).rejects.toThrow(
      /not the published web 1\.0\.1; nothing is published; what this step brought back is deregistered or deleted again \(ami-0123456789abcdef0, snap-1, snap-2\)/,
    );
    expect(ssmMock.commandCalls(PutParameterCommand)).toEqual([]);
    expect(ec2Mock.commandCalls(CreateTagsCommand)).toEqual([]);
    // What it brought back goes back: the AMI deregistered, its snapshots deleted (an untagged AMI no later run removes).
    expect(ec2Mock.commandCalls(DeregisterImageCommand).map((call) => call.args[0].input)).toEqual([{ ImageId: amiId }]);
    expect(ec2Mock.commandCalls(DeleteSnapshotCommand).map((call) => call.args[0].input.SnapshotId)).toEqual(['snap-1', 'snap-2']);
  });

  it('an AMI back from the bin tagged as the version but with nothing saying it was published (no status) is sent back', async () => {
    const ec2Mock = mockClient(ec2);
    ec2Mock
      .on(DescribeImagesCommand)
      .rejectsOnce(Object.assign(new Error('gone'), { name: 'InvalidAMIID.NotFound' }))
      .resolves(back({}));
    ec2Mock.on(ListSnapshotsInRecycleBinCommand).resolves(snapshotsInBin);
    ec2Mock.on(ListImagesInRecycleBinCommand).resolves(inBin);
    const ssmMock = mockClient(ssm);
    await expect(unbinStage.run(context, step, stepRunFixture(image))).rejects.toThrow(/gild:status=\(none\): not the published web 1\.0\.1/);
    expect(ec2Mock.commandCalls(DeregisterImageCommand).map((call) => call.args[0].input)).toEqual([{ ImageId: amiId }]);
    expect(ssmMock.commandCalls(PutParameterCommand)).toEqual([]);
  });

  it('an AMI back from the bin that another pipeline of the account published (another ssmPrefix, same name) is sent back and publishes nothing', async () => {
    const ec2Mock = mockClient(ec2);
    ec2Mock
      .on(DescribeImagesCommand)
      .rejectsOnce(Object.assign(new Error('gone'), { name: 'InvalidAMIID.NotFound' }))
      .resolves(back({ 'gild:status': 'retiring', 'gild:retired-at': 'x', 'gild:prefix': '/golden-staging' }));
    ec2Mock.on(ListSnapshotsInRecycleBinCommand).resolves(snapshotsInBin);
    ec2Mock.on(ListImagesInRecycleBinCommand).resolves(inBin);
    const ssmMock = mockClient(ssm);
    await expect(unbinStage.run(context, step, stepRunFixture(image))).rejects.toThrow(StepFailure);
    expect(ec2Mock.commandCalls(DeregisterImageCommand).map((call) => call.args[0].input)).toEqual([{ ImageId: amiId }]);
    expect(ssmMock.commandCalls(PutParameterCommand)).toEqual([]);
  });

  it('what IAM will not let it send back (an AMI not tagged gild:image) is named in the failure with the command to do it by hand', async () => {
    const ec2Mock = mockClient(ec2);
    ec2Mock
      .on(DescribeImagesCommand)
      .rejectsOnce(Object.assign(new Error('gone'), { name: 'InvalidAMIID.NotFound' }))
      .resolves({ Images: [{ ImageId: amiId, State: 'available', Tags: [] }] });
    ec2Mock.on(ListSnapshotsInRecycleBinCommand).resolves(snapshotsInBin);
    ec2Mock.on(ListImagesInRecycleBinCommand).resolves(inBin);
    ec2Mock.on(DeregisterImageCommand).rejects(Object.assign(new Error('not authorized'), { name: 'UnauthorizedOperation' }));
    mockClient(ssm);
    await expect(unbinStage.run(context, step, stepRunFixture(image))).rejects.toThrow(
      /deleted again \(snap-1, snap-2\); it could not send back ami-0123456789abcdef0 \(.*not authorized.*aws ec2 deregister-image --region us-east-1 --image-id ami-0123456789abcdef0/,
    );
  });

  it('an AMI not brought back by this step (restored by hand) is never sent back when its tags do not match', async () => {
    const ec2Mock = mockClient(ec2);
    ec2Mock.on(DescribeImagesCommand).resolves({ Images: [{ ImageId: amiId, State: 'available', Tags: [] }] });
    mockClient(ssm);
    await expect(unbinStage.run(context, step, stepRunFixture(image))).rejects.toThrow(/not the published web 1\.0\.1; nothing is published\./);
    expect(ec2Mock.commandCalls(DeregisterImageCommand)).toEqual([]);
    expect(ec2Mock.commandCalls(DeleteSnapshotCommand)).toEqual([]);
  });

  it('a version retired while good comes back without its retirement marks, enabled, un-deprecated, and retained as restored', async () => {
    const ec2Mock = mockClient(ec2);
    const retired = back({ 'gild:status': 'retiring', 'gild:retired-at': 'x', 'gild:deprecated-at': 'y', 'gild:disabled-at': 'z' });
    ec2Mock
      .on(DescribeImagesCommand)
      .rejectsOnce(Object.assign(new Error('gone'), { name: 'InvalidAMIID.NotFound' }))
      .resolves({ Images: [{ ...retired.Images[0]!, State: 'disabled', DeprecationTime: '2026-11-01T00:00:00.000Z' }] });
    ec2Mock.on(ListSnapshotsInRecycleBinCommand).resolves(snapshotsInBin);
    ec2Mock.on(ListImagesInRecycleBinCommand).resolves(inBin);
    const ssmMock = mockClient(ssm);
    ssmMock.on(GetParameterCommand).rejects(new ParameterNotFound({ message: 'none', $metadata: {} }));
    ssmMock.on(PutParameterCommand).resolves({ Version: 1 });
    await unbinStage.run(context, { ...step, status: 'published', revoked: undefined } as StepOfKind<'unbin'>, stepRunFixture(image));
    expect(ec2Mock.commandCalls(EnableImageCommand).map((call) => call.args[0].input)).toEqual([{ ImageId: amiId }]);
    expect(ec2Mock.commandCalls(DisableImageDeprecationCommand).map((call) => call.args[0].input)).toEqual([{ ImageId: amiId }]);
    const removed = ec2Mock.commandCalls(DeleteTagsCommand)[0]!.args[0].input.Tags!.map((tag) => tag.Key);
    expect(removed).toEqual(expect.arrayContaining(['gild:retired-at', 'gild:deprecated-at', 'gild:disabled-at']));
    expect(ec2Mock.commandCalls(CreateTagsCommand)[0]!.args[0].input.Tags).toEqual(
      expect.arrayContaining([
        { Key: 'gild:status', Value: 'published' },
        { Key: 'gild:retain', Value: 'restored: retired by mistake' },
      ]),
    );
  });

  it('the check refuses an AMI that left the bin and is not back', async () => {
    const ec2Mock = mockClient(ec2);
    ec2Mock.on(DescribeImagesCommand).rejects(Object.assign(new Error('gone'), { name: 'InvalidAMIID.NotFound' }));
    ec2Mock.on(ListImagesInRecycleBinCommand).resolves({ Images: [] });
    await expect(unbinStage.check!(context, step, stepRunFixture(image))).rejects.toThrow(/no longer in the Recycle Bin of us-east-1/);
  });
});
