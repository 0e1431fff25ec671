/**
 * The smoke test at the adapter seam, for what moto cannot show: an
 * interrupt in the middle of a check, AWS errors after launch, a launch that
 * half fails, a failing package manifest command, and a resumed AMI whose
 * built-in checks cannot be verified.
 */
import {
  CreateTagsCommand,
  DeregisterImageCommand,
  DescribeImageAttributeCommand,
  DescribeImagesCommand,
  DescribeInstanceStatusCommand,
  DescribeInstancesCommand,
  DescribeSnapshotAttributeCommand,
  EC2Client,
  RunInstancesCommand,
  TerminateInstancesCommand,
} from '@aws-sdk/client-ec2';
import { GetCommandInvocationCommand, SendCommandCommand, SSMClient } from '@aws-sdk/client-ssm';
import { mockClient } from 'aws-sdk-client-mock';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createContext, type Context } from '../../src/context.ts';
import { createMemoryLogger } from '../../src/logger.ts';
import { pipelineSettingsSchema } from '../../src/settings/schema.ts';
import { createSmokeTest } from '../../src/stages/smoke-test.ts';
import { smokeImage, smokeRun } from '../support/smoke-fixture.ts';

const ec2Mock = mockClient(EC2Client);
const ssmMock = mockClient(SSMClient);
const smokeTest = createSmokeTest({ pollMs: 10, instancePollMs: 10, registration: { attempts: 3, baseDelayMs: 5, maxDelayMs: 10 } });
const amiId = 'ami-0123456789abcdef0';
let cwd: string;
let context: Context;

beforeEach(async () => {
  ec2Mock.reset();
  ssmMock.reset();
  cwd = await mkdtemp(join(tmpdir(), 'gild-smoke-unit-'));
  context = createContext({
    cwd,
    env: { AWS_REGION: 'us-east-1', AWS_ACCESS_KEY_ID: 'test', AWS_SECRET_ACCESS_KEY: 'test' },
    logger: createMemoryLogger(),
    settings: pipelineSettingsSchema.parse({}),
    runId: 'run-1',
  });
  let next = 0;
  ec2Mock.on(RunInstancesCommand).callsFake(async () => ({ Instances: [{ InstanceId: `i-${++next}` }] }));
  ec2Mock
    .on(DescribeInstancesCommand)
    .callsFake(async (input: { InstanceIds?: string[] }) => ({ Reservations: [{ Instances: [{ InstanceId: input.InstanceIds?.[0], State: { Name: 'running' } }] }] }));
  ec2Mock.on(DescribeInstanceStatusCommand).resolves({ InstanceStatuses: [{ InstanceStatus: { Status: 'ok' }, SystemStatus: { Status: 'ok' } }] });
  ec2Mock.on(TerminateInstancesCommand).resolves({});
  ec2Mock.on(DescribeImagesCommand).resolves({ Images: [{ ImageId: amiId, Tags: [{ Key: 'gild:run-id', Value: 'run-1' }], BlockDeviceMappings: [{ Ebs: { SnapshotId: 'snap-1' } }] }] });
  ec2Mock.on(DescribeImageAttributeCommand).resolves({ LaunchPermissions: [] });
  ec2Mock.on(DescribeSnapshotAttributeCommand).resolves({ CreateVolumePermissions: [] });
  ssmMock.on(SendCommandCommand).resolves({ Command: { CommandId: 'cmd-1' } });
  ssmMock.on(GetCommandInvocationCommand).resolves({ Status: 'Success', ResponseCode: 0, StandardOutputContent: '', StandardErrorContent: '' });
});

afterEach(async () => {
  context.clients.destroy();
  await rm(cwd, { recursive: true, force: true });
});

const terminated = () => ec2Mock.commandCalls(TerminateInstancesCommand).flatMap((call) => call.args[0].input.InstanceIds ?? []);

describe('smoke test', () => {
  it('launches with IMDSv2 required and the gild tags', async () => {
    const run = smokeRun(smokeImage(), { logDir: cwd, amis: { 'us-east-1': amiId } });
    await smokeTest(context, run);
    const input = ec2Mock.commandCalls(RunInstancesCommand)[0]!.args[0].input;
    expect(input.MetadataOptions).toMatchObject({ HttpTokens: 'required' });
    expect(input.TagSpecifications?.[0]?.Tags).toEqual(
      expect.arrayContaining([
        { Key: 'gild:run-id', Value: 'run-1' },
        { Key: 'gild:image', Value: 'web' },
        { Key: 'gild:role', Value: 'smoke' },
        // another pipeline (another SSM prefix) in the account leaves the instance alone
        { Key: 'gild:prefix', Value: '/golden' },
        { Key: 'Name', Value: 'gild-smoke-web-1.0.0' },
      ]),
    );
  });

  it('registers termination with run.defer right after launch and stops waiting on SIGINT', async () => {
    // The first poll of the check's command: by then the instance is launched and its termination registered.
    let polling!: () => void;
    const polled = new Promise<void>((resolve) => (polling = resolve));
    ssmMock.on(GetCommandInvocationCommand).callsFake(async () => {
      polling();
      return { Status: 'InProgress' };
    });
    const run = smokeRun(smokeImage({ smoke: { checkTimeoutSeconds: 600 } }), { logDir: cwd, amis: { 'us-east-1': amiId } });
    const running = smokeTest(context, run);
    await polled;
    expect([...run.pendingCleanups.values()].map((entry) => entry.description)).toEqual(['terminate smoke instance i-1 (t3.micro) in us-east-1']);

    // What the runner does on SIGINT: abort, then run the pending cleanups.
    run.abort.abort();
    await Promise.all([...run.pendingCleanups.values()].map((entry) => entry.cleanup()));
    const outcome = await running;

    expect(outcome).toMatchObject({ result: 'failed', reason: expect.stringContaining('interrupted') });
    expect(terminated()).toContain('i-1');
    expect(run.pendingCleanups.size).toBe(0);
    // An interrupted run leaves the AMI for a run that may finish.
    expect(ec2Mock.commandCalls(DeregisterImageCommand)).toHaveLength(0);
  });

  it('terminates the instance and fails the image when AWS refuses a call after launch', async () => {
    ec2Mock.on(DescribeInstanceStatusCommand).rejects(Object.assign(new Error('not authorized'), { name: 'UnauthorizedOperation' }));
    const run = smokeRun(smokeImage(), { logDir: cwd, amis: { 'us-east-1': amiId } });

    const outcome = await smokeTest(context, run);

    expect(outcome).toMatchObject({ result: 'failed', reason: expect.stringContaining('UnauthorizedOperation') });
    expect(terminated()).toEqual(['i-1']);
    expect(run.pendingCleanups.size).toBe(0);
    // The test changes no AMI: marking it is the smoke step's, removing it the plan's discard step.
    expect(ec2Mock.commandCalls(DeregisterImageCommand)).toHaveLength(0);
    expect(ec2Mock.commandCalls(CreateTagsCommand)).toHaveLength(0);
  });

  it('fails the image at once when the instance stops before it is running', async () => {
    // NOTE: the wait asks DescribeInstanceStatus with IncludeAllInstances, which reports the state of any instance.
    ec2Mock.on(DescribeInstanceStatusCommand).resolves({ InstanceStatuses: [{ InstanceId: 'i-1', InstanceState: { Name: 'stopped' } }] });
    const run = smokeRun(smokeImage(), { logDir: cwd, amis: { 'us-east-1': amiId } });

    const outcome = await smokeTest(context, run);

    expect(outcome).toMatchObject({ result: 'failed', reason: expect.stringContaining('went to "stopped" before it was running') });
    expect(terminated()).toEqual(['i-1']);
  });

  it('fails the image at once when a status check reports impaired', async () => {
    ec2Mock
      .on(DescribeInstanceStatusCommand)
      .resolves({ InstanceStatuses: [{ InstanceState: { Name: 'running' }, InstanceStatus: { Status: 'initializing' }, SystemStatus: { Status: 'impaired' } }] });
    const run = smokeRun(smokeImage(), { logDir: cwd, amis: { 'us-east-1': amiId } });

    const outcome = await smokeTest(context, run);

    expect(outcome).toMatchObject({ result: 'failed', reason: expect.stringContaining('status checks report impaired for i-1') });
    expect(terminated()).toEqual(['i-1']);
  });

  it('stops waiting for status checks on SIGINT', async () => {
    const run = smokeRun(smokeImage(), { logDir: cwd, amis: { 'us-east-1': amiId } });
    ec2Mock.on(DescribeInstanceStatusCommand).callsFake(async () => {
      run.abort.abort();
      return { InstanceStatuses: [{ InstanceState: { Name: 'running' }, InstanceStatus: { Status: 'initializing' }, SystemStatus: { Status: 'initializing' } }] };
    });

    const outcome = await smokeTest(context, run);

    expect(outcome).toMatchObject({ result: 'failed', reason: expect.stringContaining('interrupted') });
    expect(ssmMock.commandCalls(SendCommandCommand)).toHaveLength(0);
    expect(terminated()).toEqual(['i-1']);
  });

  it('terminates the instance that launched when another instance type fails to launch', async () => {
    ec2Mock
      .on(RunInstancesCommand, { InstanceType: 't3.micro' })
      .resolves({ Instances: [{ InstanceId: 'i-ok' }] })
      .on(RunInstancesCommand, { InstanceType: 'm7g.large' })
      .rejects(Object.assign(new Error('no capacity'), { name: 'InsufficientInstanceCapacity' }));
    const run = smokeRun(smokeImage({ smoke: { instanceTypes: ['t3.micro', 'm7g.large'] } }), { logDir: cwd, amis: { 'us-east-1': amiId } });

    const outcome = await smokeTest(context, run);

    expect(outcome).toMatchObject({ result: 'failed', reason: expect.stringContaining('InsufficientInstanceCapacity') });
    expect(terminated()).toEqual(['i-ok']);
  });

  it('fails the image, naming the command and the fix, when the package manifest command fails', async () => {
    ssmMock.on(SendCommandCommand).callsFake(async (input: { Comment?: string }) => ({ Command: { CommandId: input.Comment?.startsWith('gild package manifest') ? 'cmd-manifest' : 'cmd-check' } }));
    ssmMock
      .on(GetCommandInvocationCommand)
      .callsFake(async (input: { CommandId?: string }) =>
        input.CommandId === 'cmd-manifest'
          ? { Status: 'Failed', ResponseCode: 127, StandardOutputContent: '', StandardErrorContent: 'dpkg-query: not found' }
          : { Status: 'Success', ResponseCode: 0, StandardOutputContent: '', StandardErrorContent: '' },
      );
    const run = smokeRun(smokeImage({ smoke: { packageManifest: true } }), { logDir: cwd, amis: { 'us-east-1': amiId } });

    const outcome = await smokeTest(context, run);

    expect(outcome).toMatchObject({
      result: 'failed',
      reason: expect.stringMatching(
        /^the package manifest command `dpkg-query .*` failed on t3\.micro \(i-1\) \(Run Command status Failed, exit code 127: dpkg-query: not found\): fix the image's packageManifestCommand/,
      ),
    });
    expect(outcome.result !== 'skipped' && outcome.checks.map((check) => [check.name, check.outcome]).at(-1)).toEqual(['nginx answers', 'passed']);
  });

  it('says skipped, never passed, when no check of its own ran and the built-in checks could not be verified (a resumed AMI), and still keeps the package manifest', async () => {
    ssmMock.on(GetCommandInvocationCommand).resolves({ Status: 'Success', ResponseCode: 0, StandardOutputContent: 'nginx 1.24\n', StandardErrorContent: '' });
    const run = { ...smokeRun(smokeImage({ checks: [], smoke: { packageManifest: true } }), { logDir: cwd, amis: { 'us-east-1': amiId } }), buildIdentityFile: join(cwd, 'no-record.txt') };

    const outcome = await smokeTest(context, run);

    expect(outcome).toEqual({ result: 'skipped', reason: expect.stringMatching(/^nothing was verified: 3 not verified \(gild has no record of the build instance to compare with/) });
    expect(await readFile(join(context.workDir, 'manifests', 'web', '1.0.0.txt'), 'utf8')).toBe('nginx 1.24\n');
  });

  it('tries the termination once more when AWS refuses it, and settles once it is accepted', async () => {
    ec2Mock
      .on(TerminateInstancesCommand)
      .rejectsOnce(Object.assign(new Error('try later'), { name: 'IncorrectInstanceState' }))
      .resolves({});
    const settling: Promise<unknown>[] = [];
    const run = { ...smokeRun(smokeImage(), { logDir: cwd, amis: { 'us-east-1': amiId } }), settleLater: (_description: string, work: Promise<unknown>) => void settling.push(work) };

    expect((await smokeTest(context, run)).result).toBe('passed');
    await Promise.all(settling);

    expect(terminated()).toEqual(['i-1', 'i-1']);
    expect(run.pendingCleanups.size).toBe(0);
  });

  it('hands a termination refused twice to the runner as failed settle work, keeping the instance registered for cleanup', async () => {
    const refused = Object.assign(new Error('not authorized'), { name: 'UnauthorizedOperation' });
    ec2Mock.on(TerminateInstancesCommand).rejects(refused);
    const settling: Promise<unknown>[] = [];
    const run = { ...smokeRun(smokeImage(), { logDir: cwd, amis: { 'us-east-1': amiId } }), settleLater: (_description: string, work: Promise<unknown>) => void settling.push(work) };

    expect((await smokeTest(context, run)).result).toBe('passed');
    const [settled] = await Promise.allSettled(settling);

    expect(settled).toMatchObject({ status: 'rejected', reason: expect.objectContaining({ message: expect.stringContaining('UnauthorizedOperation') }) });
    expect(terminated()).toEqual(['i-1', 'i-1']);
    expect([...run.pendingCleanups.values()].map((entry) => entry.description)).toEqual(['terminate smoke instance i-1 (t3.micro) in us-east-1']);
  });

  it('is skipped, and says so, when there are no checks, no package manifest and generalization is off', async () => {
    const image = { ...smokeImage({ checks: [], smoke: { packageManifest: false } }), generalize: { kind: 'off', reason: 'forensic copy', bare: false } as const };
    const run = smokeRun(image, { logDir: cwd, amis: { 'us-east-1': amiId } });
    expect(await smokeTest(context, run)).toEqual({ result: 'skipped', reason: 'no smoke checks defined' });
    expect(ec2Mock.commandCalls(RunInstancesCommand)).toHaveLength(0);
  });
});
