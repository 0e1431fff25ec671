/**
 * gild's built-in new-machine checks: the pure verdicts, and the smoke stage running them through Run Command
 * (stubbed at the SDK seam, since moto's Run Command runs nothing and answers empty output).
 */
import {
  DescribeImageAttributeCommand,
  DescribeImagesCommand,
  DescribeInstancesCommand,
  DescribeInstanceStatusCommand,
  DescribeSnapshotAttributeCommand,
  EC2Client,
  RunInstancesCommand,
  TerminateInstancesCommand,
} from '@aws-sdk/client-ec2';
import { GetCommandInvocationCommand, SendCommandCommand, SSMClient } from '@aws-sdk/client-ssm';
import { mockClient } from 'aws-sdk-client-mock';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createContext, type Context } from '../../src/context.ts';
import type { Generalize } from '../../src/definition/resolved-image.ts';
import { createMemoryLogger } from '../../src/logger.ts';
import { parseMachineIdentity } from '../../src/render/machine-identity.ts';
import { pipelineSettingsSchema } from '../../src/settings/schema.ts';
import { judgeNewMachine } from '../../src/smoke/new-machine-checks.ts';
import { createSmokeTest } from '../../src/stages/smoke-test.ts';
import { smokeImage, smokeRun } from '../support/smoke-fixture.ts';

const buildRecord = [
  'machine-id 0123456789abcdef0123456789abcdef',
  'host-key SHA256:buildEd25519',
  'host-key SHA256:buildEcdsa',
  'authorized-key SHA256:packerTemporaryKey /home/admin/.ssh/authorized_keys',
].join('\n');
const newInstance = ['machine-id fedcba9876543210fedcba9876543210', 'host-key SHA256:newEd25519', 'host-key SHA256:newEcdsa'].join('\n');
const clonedInstance = [
  'machine-id 0123456789abcdef0123456789abcdef',
  'host-key SHA256:buildEd25519',
  'host-key SHA256:newEcdsa',
  'authorized-key SHA256:packerTemporaryKey /home/admin/.ssh/authorized_keys',
].join('\n');
const on = (keep: Extract<Generalize, { kind: 'on' }>['keep'] = [], reason?: string): Generalize => ({ kind: 'on', keep, reason, launchAgent: undefined });
const linux = (generalize: Generalize) => ({ platform: 'linux' as const, generalize });

describe('judgeNewMachine', () => {
  it('passes an instance whose host keys, machine-id and authorized keys are its own', () => {
    expect(judgeNewMachine(linux(on()), parseMachineIdentity(buildRecord), parseMachineIdentity(newInstance), '').map((check) => [check.name, check.verdict])).toEqual([
      ["new machine: SSH host keys differ from the build instance's", 'passed'],
      ['new machine: no key from the build in any authorized_keys', 'passed'],
      ["new machine: machine-id differs from the build instance's", 'passed'],
    ]);
  });

  it("fails an instance that carries the build's host key, key or machine-id, saying which", () => {
    expect(judgeNewMachine(linux(on()), parseMachineIdentity(buildRecord), parseMachineIdentity(clonedInstance), '').map((check) => [check.verdict, check.reason])).toEqual([
      ['failed', "the instance has the build instance's host key SHA256:buildEd25519"],
      ['failed', "the build's key SHA256:packerTemporaryKey in /home/admin/.ssh/authorized_keys is still authorized"],
      ['failed', "the instance has the build instance's machine-id 0123456789abcdef0123456789abcdef"],
    ]);
  });

  it('fails an instance left without host keys, since sshd cannot start', () => {
    const [hostKeys] = judgeNewMachine(linux(on()), parseMachineIdentity(buildRecord), parseMachineIdentity('machine-id abc'), '');
    expect(hostKeys).toMatchObject({ verdict: 'failed', reason: 'the instance has no SSH host keys: nothing made new ones at boot, so sshd cannot start' });
  });

  it('shows a check the definition keeps as kept-by-choice, with the reason, never as passed or failed', () => {
    const checks = judgeNewMachine(linux(on(['ssh-host-keys'], 'clients pin the host key')), parseMachineIdentity(buildRecord), parseMachineIdentity(clonedInstance), '');
    expect(checks[0]).toEqual({
      name: "new machine: SSH host keys differ from the build instance's",
      verdict: 'kept-by-choice',
      reason: 'the definition keeps ssh-host-keys: clients pin the host key',
    });
    expect(checks.slice(1).map((check) => check.verdict)).toEqual(['failed', 'failed']);
    const off = judgeNewMachine(linux({ kind: 'off', reason: 'forensic copy', bare: false }), undefined, parseMachineIdentity(''), 'no record');
    expect(off.map((check) => [check.verdict, check.reason])).toEqual(Array(3).fill(['kept-by-choice', 'generalize is turned off: forensic copy']));
  });

  it('says not-verified, with why, when there is no record of the build instance', () => {
    const checks = judgeNewMachine(linux(on()), undefined, parseMachineIdentity(newInstance), 'no record: resumed');
    expect(checks.map((check) => [check.verdict, check.reason])).toEqual(Array(3).fill(['not-verified', 'no record: resumed']));
  });

  it('compares the computer name on Windows', () => {
    const windows = { platform: 'windows' as const, generalize: on() };
    expect(judgeNewMachine(windows, parseMachineIdentity('computer-name EC2AMAZ-BUILD'), parseMachineIdentity('computer-name EC2AMAZ-NEW1'), '')).toEqual([
      { name: "new machine: computer name differs from the build instance's", verdict: 'passed', reason: undefined },
    ]);
    expect(judgeNewMachine(windows, parseMachineIdentity('computer-name EC2AMAZ-BUILD'), parseMachineIdentity('computer-name EC2AMAZ-BUILD\r\n'), '')[0]).toMatchObject({ verdict: 'failed' });
  });
});

describe('the smoke stage runs the new-machine checks', () => {
  const ec2Mock = mockClient(EC2Client);
  const ssmMock = mockClient(SSMClient);
  const smokeTest = createSmokeTest({ pollMs: 10, instancePollMs: 10, registration: { attempts: 3, baseDelayMs: 5, maxDelayMs: 10 } });
  const amiId = 'ami-0123456789abcdef0';
  let cwd: string;
  let context: Context;

  /** Answers the identity command with `identity` and every other command (the definition's checks) with success. */
  function answer(identity: string) {
    ssmMock.on(SendCommandCommand).callsFake(async (input: { Comment?: string }) => ({ Command: { CommandId: input.Comment?.startsWith('gild new-machine') ? 'cmd-identity' : 'cmd-check' } }));
    ssmMock.on(GetCommandInvocationCommand).callsFake(async (input: { CommandId?: string }) => ({
      Status: 'Success',
      ResponseCode: 0,
      StandardOutputContent: input.CommandId === 'cmd-identity' ? identity : 'ok',
      StandardErrorContent: '',
    }));
  }

  beforeEach(async () => {
    ec2Mock.reset();
    ssmMock.reset();
    cwd = await mkdtemp(join(tmpdir(), 'gild-new-machine-'));
    context = createContext({
      cwd,
      env: { AWS_REGION: 'us-east-1', AWS_ACCESS_KEY_ID: 'test', AWS_SECRET_ACCESS_KEY: 'test' },
      logger: createMemoryLogger(),
      settings: pipelineSettingsSchema.parse({}),
      runId: 'run-1',
    });
    ec2Mock.on(RunInstancesCommand).resolves({ Instances: [{ InstanceId: 'i-1' }] });
    ec2Mock.on(DescribeInstancesCommand).resolves({ Reservations: [{ Instances: [{ InstanceId: 'i-1', State: { Name: 'running' } }] }] });
    ec2Mock.on(DescribeInstanceStatusCommand).resolves({ InstanceStatuses: [{ InstanceStatus: { Status: 'ok' }, SystemStatus: { Status: 'ok' } }] });
    ec2Mock.on(TerminateInstancesCommand).resolves({});
    ec2Mock.on(DescribeImagesCommand).resolves({ Images: [{ ImageId: amiId, Tags: [{ Key: 'gild:run-id', Value: 'run-1' }], BlockDeviceMappings: [{ Ebs: { SnapshotId: 'snap-1' } }] }] });
    ec2Mock.on(DescribeImageAttributeCommand).resolves({ LaunchPermissions: [] });
    ec2Mock.on(DescribeSnapshotAttributeCommand).resolves({ CreateVolumePermissions: [] });
    await writeFile(join(cwd, 'build-identity.txt'), buildRecord);
  });
  afterEach(async () => {
    context.clients.destroy();
    await rm(cwd, { recursive: true, force: true });
  });

  const runFor = (generalize: Generalize, buildIdentityFile = join(cwd, 'build-identity.txt')) => ({
    ...smokeRun({ ...smokeImage(), generalize }, { logDir: cwd, amis: { 'us-east-1': amiId } }),
    buildIdentityFile,
  });

  it("passes a new machine and reports the built-in checks before the definition's own", async () => {
    answer(newInstance);
    const result = await smokeTest(context, runFor(on()));
    expect(result.result).toBe('passed');
    expect(result.result !== 'skipped' && result.checks.map((check) => [check.name, check.outcome])).toEqual([
      ["new machine: SSH host keys differ from the build instance's", 'passed'],
      ['new machine: no key from the build in any authorized_keys', 'passed'],
      ["new machine: machine-id differs from the build instance's", 'passed'],
      ['nginx answers', 'passed'],
    ]);
    const report = JSON.parse(await readFile(join(cwd, 'web.smoke.json'), 'utf8')) as { checks: { name: string; outcome: string }[] };
    expect(report.checks.map((check) => check.outcome)).toEqual(['passed', 'passed', 'passed', 'passed']);
  });

  it('fails the image like any check when the instance is a copy of the build instance', async () => {
    answer(clonedInstance);
    const result = await smokeTest(context, runFor(on()));
    expect(result).toMatchObject({
      result: 'failed',
      reason: expect.stringMatching(
        /^check "new machine: SSH host keys differ from the build instance's" on t3\.micro \(i-1\) the instance has the build instance's host key SHA256:buildEd25519 \(and 2 more\)$/,
      ),
    });
  });

  it('shows kept host keys as kept-by-choice, not passed, and the image passes', async () => {
    answer(['machine-id fedcba9876543210fedcba9876543210', 'host-key SHA256:buildEd25519', 'host-key SHA256:buildEcdsa'].join('\n'));
    const result = await smokeTest(context, runFor(on(['ssh-host-keys'], 'clients pin the host key')));
    expect(result.result).toBe('passed');
    expect(result.result !== 'skipped' && result.checks.slice(0, 3).map((check) => [check.outcome, check.reason])).toEqual([
      ['kept-by-choice', 'the definition keeps ssh-host-keys: clients pin the host key'],
      ['passed', undefined],
      ['passed', undefined],
    ]);
  });

  it('fails the checks it could not judge when the identity command fails, keeping a kept item as kept', async () => {
    ssmMock.on(SendCommandCommand).callsFake(async (input: { Comment?: string }) => ({ Command: { CommandId: input.Comment?.startsWith('gild new-machine') ? 'cmd-identity' : 'cmd-check' } }));
    ssmMock
      .on(GetCommandInvocationCommand)
      .callsFake(async (input: { CommandId?: string }) =>
        input.CommandId === 'cmd-identity'
          ? { Status: 'Failed', ResponseCode: 127, StandardOutputContent: '', StandardErrorContent: 'sh: 1: awk: not found' }
          : { Status: 'Success', ResponseCode: 0, StandardOutputContent: 'ok', StandardErrorContent: '' },
      );
    const result = await smokeTest(context, runFor(on(['machine-id'], 'a licensed appliance keyed to it')));
    expect(result.result).toBe('failed');
    expect(result.result !== 'skipped' && result.checks.slice(0, 3).map((check) => [check.outcome, check.reason])).toEqual([
      ['failed', "could not read the instance's identity: Run Command status Failed, exit code 127"],
      ['failed', "could not read the instance's identity: Run Command status Failed, exit code 127"],
      ['kept-by-choice', 'the definition keeps machine-id: a licensed appliance keyed to it'],
    ]);
  });

  it('asks the instance nothing when generalization is off, and reports every check kept-by-choice', async () => {
    answer(clonedInstance);
    const result = await smokeTest(context, runFor({ kind: 'off', reason: 'forensic copy', bare: false }));
    expect(result.result).toBe('passed');
    expect(result.result !== 'skipped' && result.checks.slice(0, 3).map((check) => check.outcome)).toEqual(['kept-by-choice', 'kept-by-choice', 'kept-by-choice']);
    expect(ssmMock.commandCalls(SendCommandCommand).map((call) => call.args[0].input.Comment)).toEqual(['gild smoke web nginx answers']);
  });

  it('says not-verified when the build left no record, and does not fail the image for it', async () => {
    answer(newInstance);
    const result = await smokeTest(context, runFor(on(), join(cwd, 'missing.txt')));
    expect(result.result).toBe('passed');
    expect(result.result !== 'skipped' && result.checks[0]).toMatchObject({ outcome: 'not-verified', reason: expect.stringContaining('gild has no record of the build instance to compare with') });
  });
});
