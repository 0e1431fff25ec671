/**
 * The smoke stage as the runner calls it: it hands the built AMIs to the smoke
 * test, turns a failed result into a StepFailure naming each failing check,
 * marks passing AMIs `tested` so that a later run may resume them, skipped
 * ones `untested`, and failed ones `failed` (removing them is the plan's).
 */
import { CreateTagsCommand, DeregisterImageCommand, DescribeImagesCommand, EC2Client } from '@aws-sdk/client-ec2';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import { StepFailure } from '../../src/apply/step-stage.ts';
import { createContext } from '../../src/context.ts';
import { createMemoryLogger } from '../../src/logger.ts';
import type { StepOfKind } from '../../src/plan/run-plan.ts';
import { pipelineSettingsSchema } from '../../src/settings/schema.ts';
import { createSmokeStage } from '../../src/stages/smoke.ts';
import type { ImageRun, SmokeResult } from '../../src/stages/stage.ts';
import { smokeImage } from '../support/smoke-fixture.ts';
import { stepRunFixture } from '../support/step-run-fixture.ts';

const ec2 = new EC2Client({ region: 'us-east-1' });
const ec2Mock = mockClient(ec2);
const clients = {
  ec2: () => ec2,
  ssm: () => {
    throw new Error('the smoke stage itself needs no SSM client');
  },
  autoscaling: () => {
    throw new Error('not used');
  },
  ec2Endpoint: undefined,
  defaultRegion: 'us-east-1',
  destroy() {},
};
const context = createContext({ cwd: '/tmp', env: {}, logger: createMemoryLogger(), settings: pipelineSettingsSchema.parse({}), clients, now: () => new Date('2026-11-29T12:00:00.000Z') });
const step: StepOfKind<'smoke'> = {
  id: 'smoke:web',
  kind: 'smoke',
  image: 'web',
  version: '1.0.1',
  amis: { from: 'build:web' },
  previousVersion: '1.0.0',
  after: ['build:web'],
  reason: 'test',
  precondition: 'test',
};
const built = { amis: { 'us-east-1': 'ami-new' }, snapshots: { 'us-east-1': ['snap-new'] }, baseAmiId: 'ami-base' };
const runOf = () => stepRunFixture(smokeImage(), { outputs: { 'build:web': { kind: 'build', output: built } } });
const builtAmi = () => ({
  ImageId: 'ami-new',
  Tags: [
    { Key: 'gild:image', Value: 'web' },
    { Key: 'gild:version', Value: '1.0.1' },
  ],
  BlockDeviceMappings: [{ Ebs: { SnapshotId: 'snap-new' } }],
});
const failed = (why: string): SmokeResult => ({
  result: 'failed',
  reason: `check "nginx" on t3.micro (i-1) ${why}`,
  checks: [
    { name: 'nginx', instanceType: 't3.micro', instanceId: 'i-1', outcome: 'failed', reason: why, status: 'Failed', exitCode: 3, stdout: '', stderr: '', durationMs: 1 },
    { name: 'disk', instanceType: 't3.micro', instanceId: 'i-1', outcome: 'passed', reason: undefined, status: 'Success', exitCode: 0, stdout: '', stderr: '', durationMs: 1 },
  ],
});

beforeEach(() => {
  ec2Mock.reset();
  ec2Mock.on(CreateTagsCommand).resolves({});
});

describe('smoke stage', () => {
  it('smoke-tests the AMIs the build made, then marks them and their snapshots tested', async () => {
    const given: ImageRun[] = [];
    const stage = createSmokeStage(async (_context, imageRun) => {
      given.push(imageRun);
      return { result: 'passed', checks: [] };
    });

    expect(await stage.run(context, step, runOf())).toEqual({ result: 'passed', checks: [] });

    expect(given[0]).toMatchObject({ version: '1.0.1', currentVersion: '1.0.0', amis: built.amis, snapshots: built.snapshots });
    expect(ec2Mock.commandCalls(CreateTagsCommand).map((call) => call.args[0].input)).toEqual([
      {
        Resources: ['ami-new', 'snap-new'],
        Tags: [
          { Key: 'gild:status', Value: 'tested' },
          { Key: 'gild:tested-at', Value: '2026-11-29T12:00:00.000Z' },
        ],
      },
    ]);
  });

  it('fails the step with every failing check as a detail, and marks the AMIs and their snapshots failed, removing nothing', async () => {
    ec2Mock.on(DescribeImagesCommand).resolves({ Images: [builtAmi()] });
    const stage = createSmokeStage(async () => failed('exited with code 3, expected 0'));
    const run = runOf();

    const failure = await stage.run(context, step, run).catch((error: unknown) => error);

    expect(failure).toBeInstanceOf(StepFailure);
    expect((failure as StepFailure).message).toBe('smoke test failed: check "nginx" on t3.micro (i-1) exited with code 3, expected 0');
    expect((failure as StepFailure).details).toEqual(['check "nginx" on t3.micro: failed: exited with code 3, expected 0']);
    expect(ec2Mock.commandCalls(CreateTagsCommand).map((call) => call.args[0].input)).toEqual([
      {
        Resources: ['ami-new', 'snap-new'],
        Tags: [
          { Key: 'gild:status', Value: 'failed' },
          { Key: 'gild:failure', Value: 'smoke test failed: check "nginx" on t3.micro (i-1) exited with code 3, expected 0' },
        ],
      },
    ]);
    // Removing it is the plan's discard step, run only because this step failed.
    expect(ec2Mock.commandCalls(DeregisterImageCommand)).toHaveLength(0);
    expect(run.summary.join('\n')).toContain('us-east-1: tagged ami-new, snap-new gild:status=failed');
  });

  it('marks a failed AMI with a reason of at most 256 characters, and how long it is kept when the image keeps failures', async () => {
    ec2Mock.on(DescribeImagesCommand).resolves({ Images: [builtAmi()] });
    const keeping = { ...smokeImage(), smoke: { ...smokeImage().smoke, onFailure: 'keep' as const } };
    const stage = createSmokeStage(async () => failed('x'.repeat(400)));

    await stage.run(context, step, stepRunFixture(keeping, { outputs: { 'build:web': { kind: 'build', output: built } } })).catch(() => undefined);

    const tags = Object.fromEntries(ec2Mock.commandCalls(CreateTagsCommand)[0]!.args[0].input.Tags!.map((tag) => [tag.Key, tag.Value]));
    expect(tags['gild:status']).toBe('failed');
    expect(tags['gild:failure']!.length).toBeLessThanOrEqual(256);
    expect(tags['gild:keep-reason']).toMatch(/^smoke.onFailure is "keep": smoke test failed/);
    expect(tags['gild:keep-until']).toBe('2026-12-06T12:00:00.000Z');
  });

  it('marks nothing of another image or version, whatever the plan named', async () => {
    ec2Mock.on(DescribeImagesCommand).resolves({
      Images: [
        {
          ...builtAmi(),
          Tags: [
            { Key: 'gild:image', Value: 'web' },
            { Key: 'gild:version', Value: '0.9.0' },
          ],
        },
      ],
    });
    const run = runOf();

    await createSmokeStage(async () => failed('exited with code 3, expected 0'))
      .run(context, step, run)
      .catch(() => undefined);

    expect(ec2Mock.commandCalls(CreateTagsCommand)).toHaveLength(0);
    expect(run.summary.join('\n')).toContain('left ami-new alone: it is not tagged gild:image=web gild:version=1.0.1');
  });

  it('marks nothing when the run was interrupted: a run allowed to finish decides', async () => {
    const run = runOf();
    run.abort.abort();

    await createSmokeStage(async () => failed('interrupted by SIGINT/SIGTERM before the smoke test finished'))
      .run(context, step, run)
      .catch(() => undefined);

    expect(ec2Mock.commandCalls(CreateTagsCommand)).toHaveLength(0);
    expect(ec2Mock.commandCalls(DescribeImagesCommand)).toHaveLength(0);
  });

  it('never tags a skipped smoke test tested: the AMIs say untested, and why', async () => {
    const stage = createSmokeStage(async () => ({ result: 'skipped', reason: 'nothing was verified: 3 not verified (no record)' }));

    expect(await stage.run(context, step, runOf())).toMatchObject({ result: 'skipped' });

    expect(ec2Mock.commandCalls(CreateTagsCommand).map((call) => call.args[0].input)).toEqual([
      {
        Resources: ['ami-new', 'snap-new'],
        Tags: [
          { Key: 'gild:status', Value: 'untested' },
          { Key: 'gild:smoke-skipped', Value: 'nothing was verified: 3 not verified (no record)' },
        ],
      },
    ]);
  });

  it('finds the world moved when the AMI to test is gone', async () => {
    ec2Mock.on(DescribeImagesCommand).rejects(Object.assign(new Error('gone'), { name: 'InvalidAMIID.NotFound' }));
    const stage = createSmokeStage(async () => ({ result: 'passed', checks: [] }));

    expect(await stage.check!(context, step, runOf())).toBe('ami-new no longer exists');
  });
});
