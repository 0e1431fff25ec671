/**
 * The protect, retire (unprotect) and restore stages on real AWS, at the adapter seam (aws-sdk-client-mock): moto has
 * no deregistration protection, EnableImage or DisableImageDeprecation (EMULATOR.md), so no moto test can show that
 * gild sends them, nor in which order. On the emulator target the same stages say what they could not do.
 */
import {
  CreateTagsCommand,
  DeleteTagsCommand,
  DeregisterImageCommand,
  DescribeImagesCommand,
  DisableImageDeprecationCommand,
  DisableImageDeregistrationProtectionCommand,
  EnableImageCommand,
  EnableImageDeregistrationProtectionCommand,
  type Image,
} from '@aws-sdk/client-ec2';
import { DeleteParameterCommand, GetParameterCommand, PutParameterCommand } from '@aws-sdk/client-ssm';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, describe, expect, it } from 'vitest';
import type { StepOfKind } from '../../src/plan/run-plan.ts';
import { protectStage } from '../../src/stages/protect.ts';
import { restoreStage } from '../../src/stages/restore.ts';
import { retireStage } from '../../src/stages/retire.ts';
import { emulatorProfile } from '../../src/target/emulator-profile.ts';
import { contextOver, mockableClients } from '../support/mocked-aws-context.ts';
import { resolvedImageFixture } from '../support/resolved-image-fixture.ts';
import { stepRunFixture } from '../support/step-run-fixture.ts';

const { ec2, ssm } = mockableClients();
const image = resolvedImageFixture({ name: 'web', version: '1.0.0' });
const contextFor = (emulated: boolean) => contextOver({ ec2, ssm }, emulated ? emulatorProfile({ endpoint: 'http://127.0.0.1:1', why: 'a test', standInSources: {}, twins: undefined }) : undefined);

afterEach(() => {
  mockClient(ec2).restore();
  mockClient(ssm).restore();
});

const tagged = (tags: Record<string, string>, extra: Partial<Image> = {}): { Images: Image[] } => ({
  Images: [{ ImageId: 'ami-1', State: 'available', Tags: Object.entries({ 'gild:image': 'web', 'gild:version': '1.0.1', ...tags }).map(([Key, Value]) => ({ Key, Value })), ...extra }],
});
/** The EC2 calls made, in order, with what matters of each. */
const ec2Calls = (ec2Mock: ReturnType<typeof mockClient>) => ec2Mock.calls().map((call) => call.args[0].constructor.name.replace(/Command$/, ''));

describe('protect', () => {
  const step: StepOfKind<'protect'> = {
    id: 'protect:web:1.0.1:us-east-1',
    kind: 'protect',
    image: 'web',
    version: '1.0.1',
    region: 'us-east-1',
    amis: { from: 'publish:web' },
    after: ['publish:web'],
    reason: 'r',
    precondition: 'p',
  };
  const run = () => stepRunFixture(image, { outputs: { 'publish:web': { kind: 'publish', output: { version: '1.0.1', amis: { 'us-east-1': 'ami-1' } } } } });

  it("on AWS: enables protection on the publish's AMI, then tags it protected", async () => {
    const ec2Mock = mockClient(ec2);
    ec2Mock.on(DescribeImagesCommand).resolves(tagged({ 'gild:status': 'published' }));
    expect(await protectStage.run(contextFor(false), step, run())).toEqual({ amiId: 'ami-1', protected: true });
    expect(ec2Calls(ec2Mock)).toEqual(['DescribeImages', 'CreateTags', 'EnableImageDeregistrationProtection']);
    expect(ec2Mock.commandCalls(EnableImageDeregistrationProtectionCommand)[0]!.args[0].input).toEqual({ ImageId: 'ami-1' });
    expect(ec2Mock.commandCalls(CreateTagsCommand)[0]!.args[0].input.Tags).toEqual([{ Key: 'gild:protected', Value: 'true' }]);
  });

  it('on the emulator: says it cannot, and tags it so that no plan asks again', async () => {
    const ec2Mock = mockClient(ec2);
    ec2Mock.on(DescribeImagesCommand).resolves(tagged({ 'gild:status': 'published' }));
    const stepRun = run();
    expect(await protectStage.run(contextFor(true), step, stepRun)).toEqual({ amiId: 'ami-1', protected: false });
    expect(ec2Calls(ec2Mock)).toEqual(['DescribeImages', 'CreateTags']);
    expect(stepRun.logger.lines.join('\n')).toMatch(/the target has no image deregistration protection: ami-1 in us-east-1 is not protected/);
  });

  it("refuses an AMI that is not the version's any more", async () => {
    mockClient(ec2)
      .on(DescribeImagesCommand)
      .resolves(tagged({ 'gild:version': '9.9.9' }));
    await expect(protectStage.run(contextFor(false), step, run())).rejects.toThrow(/is not web 1\.0\.1 any more/);
  });
});

describe('retire of a protected AMI', () => {
  it('removes the protection right before deregistering, never after', async () => {
    const ec2Mock = mockClient(ec2);
    const ssmMock = mockClient(ssm);
    ec2Mock.on(DescribeImagesCommand).resolves(tagged({ 'gild:status': 'revoked', 'gild:protected': 'true' }, { BlockDeviceMappings: [] }));
    ssmMock.on(GetParameterCommand).rejects(Object.assign(new Error('not found'), { name: 'ParameterNotFound' }));
    ssmMock.on(PutParameterCommand).resolves({ Version: 1 });
    ssmMock.on(DeleteParameterCommand).resolves({});
    const step: StepOfKind<'retire'> = {
      id: 'retire:web:1.0.1:us-east-1:deregister',
      kind: 'retire',
      image: 'web',
      version: '1.0.1',
      region: 'us-east-1',
      amiId: 'ami-1',
      phase: 'deregister',
      snapshotIds: [],
      parameterName: undefined,
      unprotect: true,
      after: [],
      reason: 'r',
      precondition: 'p',
    };
    await retireStage.run(contextFor(false), step, stepRunFixture(image));
    const calls = ec2Calls(ec2Mock);
    expect(calls.indexOf('DisableImageDeregistrationProtection')).toBeGreaterThanOrEqual(0);
    expect(calls.indexOf('DisableImageDeregistrationProtection')).toBeLessThan(calls.indexOf('DeregisterImage'));
    expect(ec2Mock.commandCalls(DisableImageDeregistrationProtectionCommand)[0]!.args[0].input).toEqual({ ImageId: 'ami-1' });
    expect(ec2Mock.commandCalls(DeregisterImageCommand)).toHaveLength(1);
  });
});

describe('restore in a region', () => {
  const step: StepOfKind<'restore'> = {
    id: 'restore:web:1.0.1:us-west-2',
    kind: 'restore',
    image: 'web',
    version: '1.0.1',
    region: 'us-east-1',
    amiId: 'ami-1',
    restoredReason: 'false alarm',
    by: 'ops@host',
    revoked: { reason: 'bad', at: '2026-11-28T00:00:00.000Z', by: 'ops@host' },
    after: [],
    reason: 'r',
    precondition: 'p',
  };

  it('on AWS: re-enables and un-deprecates a disabled, deprecated AMI, then untags the revoke and tags it published', async () => {
    const ec2Mock = mockClient(ec2);
    const ssmMock = mockClient(ssm);
    ec2Mock.on(DescribeImagesCommand).resolves(tagged({ 'gild:status': 'revoked', 'gild:revoked-reason': 'bad' }, { State: 'disabled' as const, DeprecationTime: '2026-11-28T00:01:00.000Z' }));
    ssmMock.on(GetParameterCommand).rejects(Object.assign(new Error('not found'), { name: 'ParameterNotFound' }));
    await restoreStage.run(contextFor(false), step, stepRunFixture(image));
    expect(ec2Calls(ec2Mock)).toEqual(['DescribeImages', 'EnableImage', 'DisableImageDeprecation', 'DeleteTags', 'CreateTags']);
    expect(ec2Mock.commandCalls(EnableImageCommand)[0]!.args[0].input).toEqual({ ImageId: 'ami-1' });
    expect(ec2Mock.commandCalls(DisableImageDeprecationCommand)[0]!.args[0].input).toEqual({ ImageId: 'ami-1' });
    expect(ec2Mock.commandCalls(DeleteTagsCommand)[0]!.args[0].input.Tags?.map((tag) => tag.Key)).toContain('gild:revoked-reason');
    expect(ec2Mock.commandCalls(CreateTagsCommand)[0]!.args[0].input.Tags).toEqual(
      expect.arrayContaining([
        { Key: 'gild:status', Value: 'published' },
        { Key: 'gild:restored-reason', Value: 'false alarm' },
      ]),
    );
  });

  it('fails, rather than move pointers back, when retirement began on the AMI since the plan', async () => {
    mockClient(ec2)
      .on(DescribeImagesCommand)
      .resolves(tagged({ 'gild:status': 'retiring' }));
    await expect(restoreStage.check!(contextFor(false), step, stepRunFixture(image))).rejects.toThrow(/retirement began deregistering ami-1/);
  });
});
