/**
 * The smoke stage as the runner calls it: it hands the built AMIs to the smoke
 * test, turns a failed result into a StepFailure naming each failing check,
 * and marks passing AMIs `tested` so that a later run may resume them.
 */
import { CreateTagsCommand, DescribeImagesCommand, EC2Client } from '@aws-sdk/client-ec2';
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
const clients = { ec2: () => ec2, ssm: () => { throw new Error('the smoke stage itself needs no SSM client'); }, autoscaling: () => { throw new Error("not used"); }, ec2Endpoint: undefined, defaultRegion: 'us-east-1', destroy() {} };
const context = createContext({ cwd: '/tmp', env: {}, logger: createMemoryLogger(), settings: pipelineSettingsSchema.parse({}), clients, now: () => new Date('2026-11-29T12:00:00.000Z') });
const step: StepOfKind<'smoke'> = { id: 'smoke:web', kind: 'smoke', image: 'web', version: '1.0.1', amis: { from: 'build:web' }, previousVersion: '1.0.0', after: ['build:web'], reason: 'test', precondition: 'test' };
const built = { amis: { 'us-east-1': 'ami-new' }, snapshots: { 'us-east-1': ['snap-new'] }, baseAmiId: 'ami-base' };
const runOf = () => stepRunFixture(smokeImage(), { outputs: { 'build:web': { kind: 'build', output: built } } });

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
      { Resources: ['ami-new', 'snap-new'], Tags: [{ Key: 'gild:status', Value: 'tested' }, { Key: 'gild:tested-at', Value: '2026-11-29T12:00:00.000Z' }] },
    ]);
  });

  it('fails the step with every failing check as a detail, and marks nothing tested', async () => {
    const failed: SmokeResult = {
      result: 'failed',
      reason: 'check "nginx" on t3.micro (i-1) exited with code 3, expected 0',
      checks: [
        { name: 'nginx', instanceType: 't3.micro', instanceId: 'i-1', outcome: 'failed', reason: 'exited with code 3, expected 0', status: 'Failed', exitCode: 3, stdout: '', stderr: '', durationMs: 1 },
        { name: 'disk', instanceType: 't3.micro', instanceId: 'i-1', outcome: 'passed', reason: undefined, status: 'Success', exitCode: 0, stdout: '', stderr: '', durationMs: 1 },
      ],
    };
    const stage = createSmokeStage(async () => failed);

    const failure = await stage.run(context, step, runOf()).catch((error: unknown) => error);

    expect(failure).toBeInstanceOf(StepFailure);
    expect((failure as StepFailure).message).toBe('smoke test failed: check "nginx" on t3.micro (i-1) exited with code 3, expected 0');
    expect((failure as StepFailure).details).toEqual(['check "nginx" on t3.micro: failed: exited with code 3, expected 0']);
    expect(ec2Mock.commandCalls(CreateTagsCommand)).toHaveLength(0);
  });

  it('finds the world moved when the AMI to test is gone', async () => {
    ec2Mock.on(DescribeImagesCommand).rejects(Object.assign(new Error('gone'), { name: 'InvalidAMIID.NotFound' }));
    const stage = createSmokeStage(async () => ({ result: 'passed', checks: [] }));

    expect(await stage.check!(context, step, runOf())).toBe('ami-new no longer exists');
  });
});
