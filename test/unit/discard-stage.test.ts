/**
 * The discard stage at the adapter seam: the planned removal of a failed smoke test's AMI. What moto cannot show:
 * grants on a resumed AMI that an earlier run shared are withdrawn first, and an AMI the smoke step did not mark
 * failed (or another image's) is never touched. The removability check against live state is proven on moto
 * (test/integration/smoke-test.test.ts).
 */
import { stepTable } from '../../src/apply/step-table.ts';
import {
  CreateTagsCommand,
  DeleteSnapshotCommand,
  DeregisterImageCommand,
  DescribeImageAttributeCommand,
  DescribeImagesCommand,
  DescribeSnapshotAttributeCommand,
  EC2Client,
  ModifyImageAttributeCommand,
  ModifySnapshotAttributeCommand,
} from '@aws-sdk/client-ec2';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import { createContext } from '../../src/context.ts';
import { createMemoryLogger } from '../../src/logger.ts';
import type { StepOfKind } from '../../src/plan/run-plan.ts';
import { pipelineSettingsSchema } from '../../src/settings/schema.ts';
import { discardStage } from '../../src/stages/discard.ts';
import { smokeImage } from '../support/smoke-fixture.ts';
import { stepRunFixture } from '../support/step-run-fixture.ts';

const ec2 = new EC2Client({ region: 'us-east-1' });
const ec2Mock = mockClient(ec2);
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
const context = createContext({
  cwd: '/tmp',
  env: {},
  logger: createMemoryLogger(),
  settings: pipelineSettingsSchema.parse({}),
  clients,
  runId: 'run-2',
  now: () => new Date('2026-11-29T12:00:00.000Z'),
});
const amiId = 'ami-0123456789abcdef0';
const step = (onFailure: 'deregister' | 'keep' = 'deregister'): StepOfKind<'discard'> => ({
  id: 'discard:web:us-east-1',
  kind: 'discard',
  image: 'web',
  version: '1.0.0',
  region: 'us-east-1',
  amis: { from: 'resume:web' },
  onFailure,
  after: ['smoke:web'],
  reason: 'if the smoke test fails: …',
  precondition: '…',
});
const runOf = () =>
  stepRunFixture(smokeImage(), { outputs: { 'resume:web': { kind: 'resume', output: { amis: { 'us-east-1': amiId }, snapshots: { 'us-east-1': ['snap-1'] }, baseAmiId: 'ami-base' } } } });
const tagged = (tags: Record<string, string>) => ({
  Images: [{ ImageId: amiId, Tags: Object.entries(tags).map(([Key, Value]) => ({ Key, Value })), BlockDeviceMappings: [{ Ebs: { SnapshotId: 'snap-1' } }] }],
});
// Run "earlier" passed its smoke test and shared the AMI, then stopped before publishing; this run resumed it, and its smoke test failed.
const failedResumed = { 'gild:run-id': 'earlier', 'gild:image': 'web', 'gild:version': '1.0.0', 'gild:status': 'failed', 'gild:failure': 'smoke test failed: …' };

beforeEach(() => {
  ec2Mock.reset();
  ec2Mock.on(DescribeImagesCommand).resolves(tagged(failedResumed));
  ec2Mock.on(DescribeImageAttributeCommand).resolves({ LaunchPermissions: [{ UserId: '111122223333' }, { OrganizationArn: 'arn:aws:organizations::123456789012:organization/o-abc' }] });
  ec2Mock.on(DescribeSnapshotAttributeCommand).resolves({ CreateVolumePermissions: [{ UserId: '111122223333' }] });
});

describe('discard stage', () => {
  it('runs only when a step it waits for failed', () => {
    expect(stepTable.discard.runsWhen).toBe('a-dependency-failed');
    expect(stepTable.discard.mutates).toBe(true);
  });

  it('withdraws every grant from a resumed AMI that an earlier run shared, then deregisters it and deletes its snapshots', async () => {
    const run = runOf();

    expect(await discardStage.run(context, step(), run)).toEqual({
      removed: [amiId, 'snap-1'],
      withdrawn: ['account 111122223333', 'organisation arn:aws:organizations::123456789012:organization/o-abc'],
    });

    expect(ec2Mock.commandCalls(ModifyImageAttributeCommand).map((call) => call.args[0].input)).toEqual([
      { ImageId: amiId, LaunchPermission: { Remove: [{ UserId: '111122223333' }, { OrganizationArn: 'arn:aws:organizations::123456789012:organization/o-abc' }] } },
    ]);
    expect(ec2Mock.commandCalls(ModifySnapshotAttributeCommand).map((call) => call.args[0].input)).toEqual([
      expect.objectContaining({ SnapshotId: 'snap-1', Attribute: 'createVolumePermission', OperationType: 'remove', UserIds: ['111122223333'] }),
    ]);
    expect(ec2Mock.commandCalls(DeregisterImageCommand).map((call) => call.args[0].input.ImageId)).toEqual([amiId]);
    expect(ec2Mock.commandCalls(DeleteSnapshotCommand).map((call) => call.args[0].input.SnapshotId)).toEqual(['snap-1']);
    expect(run.summary.join('\n')).toContain('withdrew account 111122223333');
    expect(run.summary.join('\n')).toContain(`deregistered ${amiId} and deleted snap-1 because it failed (its smoke test, or its Packer build after the AMI; smoke.onFailure is "deregister")`);
  });

  it('withdraws the grants and keeps the AMI when the image keeps failures', async () => {
    ec2Mock.on(DescribeImagesCommand).resolves(tagged({ ...failedResumed, 'gild:keep-until': '2026-12-06T12:00:00.000Z' }));
    const run = runOf();

    expect(await discardStage.check!(context, step('keep'), run)).toBe(false);
    expect(await discardStage.run(context, step('keep'), run)).toMatchObject({ removed: [] });

    expect(ec2Mock.commandCalls(ModifyImageAttributeCommand)).toHaveLength(1);
    expect(ec2Mock.commandCalls(DeregisterImageCommand)).toHaveLength(0);
    expect(ec2Mock.commandCalls(CreateTagsCommand)).toHaveLength(0);
    expect(run.summary.join('\n')).toContain('kept ami-0123456789abcdef0 unpublished, tagged gild:status=failed until 2026-12-06T12:00:00.000Z');
  });

  it('finds the world moved for an AMI its smoke step did not mark failed, of another image or version, or gone', async () => {
    ec2Mock.on(DescribeImagesCommand).resolves(tagged({ ...failedResumed, 'gild:status': 'tested' }));
    expect(await discardStage.check!(context, step(), runOf())).toBe(`${amiId} in us-east-1 is tagged gild:status=tested, not failed: only an AMI its smoke test marked failed is removed`);

    ec2Mock.on(DescribeImagesCommand).resolves(tagged({ ...failedResumed, 'gild:version': '0.9.0' }));
    expect(await discardStage.check!(context, step(), runOf())).toBe(`${amiId} in us-east-1 is not tagged gild:image=web gild:version=1.0.0: this run did not make or resume it`);

    ec2Mock.on(DescribeImagesCommand).resolves({ Images: [] });
    expect(await discardStage.check!(context, step(), runOf())).toBe(`${amiId} in us-east-1 no longer exists`);
    expect(ec2Mock.commandCalls(DeregisterImageCommand)).toHaveLength(0);
  });
});
