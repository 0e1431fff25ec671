/**
 * gild's built-in new-machine checks: the pure verdicts, and the smoke stage running them through Run Command
 * (stubbed at the SDK seam, since moto's Run Command runs nothing and answers empty output).
 */
import {
  CreateKeyPairCommand,
  DeleteKeyPairCommand,
  DescribeKeyPairsCommand,
  GetPasswordDataCommand,
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
import { constants, generateKeyPairSync, publicEncrypt } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createContext, type Context } from '../../src/context.ts';
import type { Generalize, ResolvedSmoke } from '../../src/definition/resolved-image.ts';
import { createMemoryLogger } from '../../src/logger.ts';
import { smokeStep } from '../../src/plan/plan-smoke.ts';
import { parseMachineIdentity } from '../../src/render/machine-identity.ts';
import { pipelineSettingsSchema } from '../../src/settings/schema.ts';
import { decryptWindowsPassword } from '../../src/smoke/decrypt-windows-password.ts';
import { judgeNewMachine, judgeWindowsPassword, newMachineCheckNames } from '../../src/smoke/new-machine-checks.ts';
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

describe('decryptWindowsPassword', () => {
  const { publicKey, privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048, publicKeyEncoding: { type: 'spki', format: 'pem' }, privateKeyEncoding: { type: 'pkcs1', format: 'pem' } });
  const encrypt = (password: string, key = publicKey) => publicEncrypt({ key, padding: constants.RSA_PKCS1_PADDING }, Buffer.from(password)).toString('base64');

  it('reads back the password EC2Launch encrypted with the launch key pair (RSA, PKCS#1 v1.5)', () => {
    for (const password of ['N3w-pass', 'p@ss=(w0rd)%!;&"\'', 'ä€'.repeat(20)]) expect(decryptWindowsPassword(encrypt(password), privateKey)).toEqual({ ok: true, password });
  });

  it('refuses a password encrypted with another key pair, random characters, and a key that is not RSA', () => {
    const other = generateKeyPairSync('rsa', { modulusLength: 2048, publicKeyEncoding: { type: 'spki', format: 'pem' }, privateKeyEncoding: { type: 'pkcs1', format: 'pem' } });
    expect(decryptWindowsPassword(encrypt('N3w-pass', other.publicKey), privateKey)).toEqual({ ok: false, reason: expect.stringMatching(/^PasswordData does not decrypt with the launch key pair/) });
    expect(decryptWindowsPassword('a1B2'.repeat(32), privateKey)).toEqual({
      ok: false,
      reason: 'PasswordData is 96 bytes once base64-decoded, not the 256 bytes of a ciphertext under the launch key pair',
    });
    const ed25519 = generateKeyPairSync('ed25519', { privateKeyEncoding: { type: 'pkcs8', format: 'pem' }, publicKeyEncoding: { type: 'spki', format: 'pem' } });
    expect(decryptWindowsPassword(encrypt('x'), ed25519.privateKey)).toEqual({ ok: false, reason: 'the launch key pair is ed25519, not RSA' });
  });
});

describe('judgeWindowsPassword', () => {
  it('passes a password that decrypts, fails one that does not or never came, and never passes what the target cannot prove', () => {
    const image = { generalize: on() };
    expect(judgeWindowsPassword(image, { kind: 'decrypted' })).toMatchObject({ name: 'new machine: GetPasswordData returns a new Administrator password', verdict: 'passed' });
    expect(judgeWindowsPassword(image, { kind: 'undecryptable', reason: 'bad padding' })).toMatchObject({ verdict: 'failed', reason: 'bad padding' });
    expect(judgeWindowsPassword(image, { kind: 'none', waitedSeconds: 900 })).toMatchObject({
      verdict: 'failed',
      reason: expect.stringMatching(/^GetPasswordData stayed empty for 900s: .* Sysprep did not run/),
    });
    expect(judgeWindowsPassword(image, { kind: 'unprovable', why: 'stand-in', answered: true })).toMatchObject({
      verdict: 'not-verified',
      reason: 'GetPasswordData answered a PasswordData, which proves nothing here: stand-in',
    });
    expect(judgeWindowsPassword({ generalize: { kind: 'off', reason: 'forensic copy', bare: false } }, { kind: 'decrypted' })).toMatchObject({
      verdict: 'kept-by-choice',
      reason: 'generalize is turned off: forensic copy',
    });
  });

  it('lists the password check after the computer name for Windows images only', () => {
    expect(newMachineCheckNames({ platform: 'windows' })).toEqual([
      "new machine: computer name differs from the build instance's",
      'new machine: GetPasswordData returns a new Administrator password',
    ]);
    expect(newMachineCheckNames({ platform: 'linux' })).not.toContain('new machine: GetPasswordData returns a new Administrator password');
  });
});

describe('the smoke stage on a Windows image', () => {
  const ec2Mock = mockClient(EC2Client);
  const ssmMock = mockClient(SSMClient);
  const smokeTest = createSmokeTest({ pollMs: 10, instancePollMs: 10, registration: { attempts: 3, baseDelayMs: 5, maxDelayMs: 10 } });
  const amiId = 'ami-0123456789abcdef0';
  const { publicKey, privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048, publicKeyEncoding: { type: 'spki', format: 'pem' }, privateKeyEncoding: { type: 'pkcs1', format: 'pem' } });
  const encrypted = publicEncrypt({ key: publicKey, padding: constants.RSA_PKCS1_PADDING }, Buffer.from('N3w-pass')).toString('base64');
  let cwd: string;
  let context: Context;

  beforeEach(async () => {
    ec2Mock.reset();
    ssmMock.reset();
    cwd = await mkdtemp(join(tmpdir(), 'gild-windows-password-'));
    context = createContext({
      cwd,
      env: { AWS_REGION: 'us-east-1', AWS_ACCESS_KEY_ID: 'test', AWS_SECRET_ACCESS_KEY: 'test' },
      logger: createMemoryLogger(),
      settings: pipelineSettingsSchema.parse({}),
      runId: '20261207T120000Z-abc123',
    });
    ec2Mock.on(CreateKeyPairCommand).resolves({ KeyName: 'gild_20261207T120000Z-abc123-smoke_web', KeyMaterial: privateKey });
    ec2Mock.on(DeleteKeyPairCommand).resolves({});
    ec2Mock.on(RunInstancesCommand).resolves({ Instances: [{ InstanceId: 'i-1' }] });
    ec2Mock.on(DescribeInstanceStatusCommand).resolves({ InstanceStatuses: [{ InstanceStatus: { Status: 'ok' }, SystemStatus: { Status: 'ok' } }] });
    ec2Mock.on(TerminateInstancesCommand).resolves({});
    ssmMock.on(SendCommandCommand).resolves({ Command: { CommandId: 'cmd' } });
    ssmMock.on(GetCommandInvocationCommand).resolves({ Status: 'Success', ResponseCode: 0, StandardOutputContent: 'computer-name EC2AMAZ-NEW1', StandardErrorContent: '' });
    await writeFile(join(cwd, 'build-identity.txt'), 'computer-name EC2AMAZ-BUILD');
  });
  afterEach(async () => {
    context.clients.destroy();
    await rm(cwd, { recursive: true, force: true });
  });

  const windowsRun = (smoke: Partial<ResolvedSmoke> = {}) => {
    const image = smokeImage({ checks: [], smoke });
    return { ...smokeRun({ ...image, platform: 'windows', generalize: on() }, { logDir: cwd, amis: { 'us-east-1': amiId } }), buildIdentityFile: join(cwd, 'build-identity.txt') };
  };

  it('launches with a tagged temporary key pair, passes when the password decrypts, and deletes the key pair with the instance', async () => {
    // Empty twice, as AWS answers while EC2Launch has not set the password yet.
    ec2Mock
      .on(GetPasswordDataCommand)
      .resolvesOnce({ PasswordData: '' })
      .resolvesOnce({ PasswordData: '' })
      .resolves({ PasswordData: `\n${encrypted}\n` });
    const run = windowsRun();
    const result = await smokeTest(context, run);
    expect(result.result).toBe('passed');
    expect(result.result !== 'skipped' && result.checks.map((check) => [check.name, check.outcome])).toEqual([
      ["new machine: computer name differs from the build instance's", 'passed'],
      ['new machine: GetPasswordData returns a new Administrator password', 'passed'],
    ]);
    expect(ec2Mock.commandCalls(CreateKeyPairCommand).map((call) => call.args[0].input)).toEqual([
      {
        KeyName: 'gild_20261207T120000Z-abc123-smoke_web',
        KeyType: 'rsa',
        KeyFormat: 'pem',
        TagSpecifications: [
          {
            ResourceType: 'key-pair',
            Tags: expect.arrayContaining([
              { Key: 'gild:run-id', Value: '20261207T120000Z-abc123' },
              { Key: 'gild:image', Value: 'web' },
              { Key: 'gild:role', Value: 'smoke' },
            ]),
          },
        ],
      },
    ]);
    expect(ec2Mock.commandCalls(RunInstancesCommand)[0]!.args[0].input.KeyName).toBe('gild_20261207T120000Z-abc123-smoke_web');
    expect(ec2Mock.commandCalls(GetPasswordDataCommand)).toHaveLength(3);
    expect(ec2Mock.commandCalls(DeleteKeyPairCommand).map((call) => call.args[0].input)).toEqual([{ KeyName: 'gild_20261207T120000Z-abc123-smoke_web' }]);
    // Nothing left for an interrupt to clean up, and the password is nowhere in the log or the report.
    expect([...run.pendingCleanups.values()]).toEqual([]);
    expect(run.logger.lines.join('\n')).not.toContain('N3w-pass');
    expect(await readFile(join(cwd, 'web.smoke.json'), 'utf8')).not.toContain('N3w-pass');
  });

  it('fails the image when the password does not decrypt with the launch key pair', async () => {
    const other = generateKeyPairSync('rsa', { modulusLength: 2048, publicKeyEncoding: { type: 'spki', format: 'pem' }, privateKeyEncoding: { type: 'pkcs1', format: 'pem' } });
    ec2Mock.on(GetPasswordDataCommand).resolves({ PasswordData: publicEncrypt({ key: other.publicKey, padding: constants.RSA_PKCS1_PADDING }, Buffer.from('old')).toString('base64') });
    const result = await smokeTest(context, windowsRun());
    expect(result).toMatchObject({ result: 'failed', reason: expect.stringContaining('new machine: GetPasswordData returns a new Administrator password') });
    expect(ec2Mock.commandCalls(DeleteKeyPairCommand)).toHaveLength(1);
  });

  it('times out, saying Sysprep did not run, when no password comes before the smoke deadline', async () => {
    ec2Mock.on(GetPasswordDataCommand).resolves({ PasswordData: '' });
    const result = await smokeTest(context, windowsRun({ timeoutSeconds: 1 }));
    expect(result.result).toBe('timed-out');
    const password = result.result !== 'skipped' ? result.checks.find((check) => check.name.includes('GetPasswordData')) : undefined;
    expect(password).toMatchObject({
      outcome: 'timed-out',
      reason: expect.stringMatching(/GetPasswordData stayed empty for \d+s: no new Administrator password was set at first boot, so Sysprep did not run/),
    });
    expect(ec2Mock.commandCalls(DeleteKeyPairCommand)).toHaveLength(1);
  });

  it('makes the key pair again when the answer to its creation was lost, and refuses one of the same name that is not this run’s', async () => {
    const duplicate = Object.assign(new Error('The keypair already exists'), { name: 'InvalidKeyPair.Duplicate', $metadata: { httpStatusCode: 400 } });
    ec2Mock.on(GetPasswordDataCommand).resolves({ PasswordData: encrypted });
    ec2Mock.on(CreateKeyPairCommand).rejectsOnce(duplicate).resolves({ KeyMaterial: privateKey });
    ec2Mock.on(DescribeKeyPairsCommand).resolves({ KeyPairs: [{ KeyName: 'gild_20261207T120000Z-abc123-smoke_web', Tags: [{ Key: 'gild:run-id', Value: '20261207T120000Z-abc123' }] }] });
    expect((await smokeTest(context, windowsRun())).result).toBe('passed');
    expect(ec2Mock.commandCalls(DeleteKeyPairCommand)).toHaveLength(2);

    ec2Mock.on(CreateKeyPairCommand).rejects(duplicate);
    ec2Mock.on(DescribeKeyPairsCommand).resolves({ KeyPairs: [{ KeyName: 'gild_20261207T120000Z-abc123-smoke_web', Tags: [] }] });
    const refused = await smokeTest(context, windowsRun());
    expect(refused).toMatchObject({ result: 'failed', reason: expect.stringContaining('create key pair gild_20261207T120000Z-abc123-smoke_web') });
    expect(ec2Mock.commandCalls(RunInstancesCommand)).toHaveLength(1);
  });
});

describe("the smoke step's reason in the plan", () => {
  it('says a generalized Windows image launches with a temporary key pair, and only then', () => {
    const windows = { ...smokeImage(), platform: 'windows' as const, generalize: on() };
    expect(smokeStep(windows, '1.0.0', 'build:web', undefined).reason).toBe(
      'a failing image is never published: 1 check on t3.micro; launched with a temporary key pair (gild_<run>-smoke_<image>, deleted when the smoke test ends) whose private key decrypts the new Administrator password',
    );
    expect(smokeStep({ ...windows, generalize: { kind: 'off', reason: 'forensic copy', bare: false } }, '1.0.0', 'build:web', undefined).reason).toBe(
      'a failing image is never published: 1 check on t3.micro',
    );
    expect(smokeStep({ ...windows, platform: 'linux' }, '1.0.0', 'build:web', undefined).reason).not.toContain('key pair');
  });
});
