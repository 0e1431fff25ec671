/**
 * The emulator's SSM Run Command stand-in (src/local/ssm-stand-in.ts) in front of real moto, driven through gild's own
 * smoke machinery (the ssm adapter, runCommand, the smoke stage): registration delay, every status AWS documents,
 * cancellation, AWS's output limits, and commands that really run in a container twin. Needs a container engine and
 * the Debian base image (bash .ci/setup-containers.sh), as CI has.
 */
import { CreateImageCommand, RunInstancesCommand, TerminateInstancesCommand } from '@aws-sdk/client-ec2';
import { GetCommandInvocationCommand, ListCommandInvocationsCommand, DescribeInstanceInformationCommand } from '@aws-sdk/client-ssm';
import { CreateBucketCommand, GetObjectCommand } from '@aws-sdk/client-s3';
import { execa } from 'execa';
import { createS3Client } from '../../src/adapters/s3.ts';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { cancelCommand, getCommandInvocation, sendCommand } from '../../src/adapters/ssm.ts';
import { createContext, type Context } from '../../src/context.ts';
import { emulatorProfile } from '../../src/target/emulator-profile.ts';
import { findContainerEngine, type ContainerEngine } from '../../src/local/container-engine.ts';
import { startSsmStandIn, type SsmStandIn, type SsmStandInOptions } from '../../src/local/ssm-stand-in.ts';
import { createMemoryLogger } from '../../src/logger.ts';
import { pipelineSettingsSchema } from '../../src/settings/schema.ts';
import { createSmokeTest } from '../../src/stages/smoke-test.ts';
import { twinTag } from '../../src/target/container-twins.ts';
import { startMoto, type MotoServer } from '../support/moto.ts';
import { smokeImage, smokeRun, type CheckInput } from '../support/smoke-fixture.ts';

const region = 'us-east-1';
const debianBase = 'localhost/debian:12';
let moto: MotoServer;
let engine: ContainerEngine;
let standIn: SsmStandIn | undefined;
let context: Context | undefined;
let cwd: string | undefined;
const twinTags: string[] = [];

beforeAll(async () => {
  const search = await findContainerEngine(process.env.PATH ?? '');
  if (!search.found) throw new Error(`no container engine answered (${search.tried.join('; ')}); run bash .ci/setup-containers.sh`);
  engine = search.found;
  const present = await execa(engine.binary, ['image', 'inspect', debianBase], { reject: false });
  if (present.exitCode !== 0) throw new Error(`${debianBase} is not present; run bash .ci/setup-containers.sh`);
  moto = await startMoto();
});
afterAll(async () => {
  await moto?.stop();
  for (const tag of twinTags) await execa(engine.binary, ['rmi', tag], { reject: false });
});
afterEach(async () => {
  context?.clients.destroy();
  await standIn?.stop();
  if (cwd) await rm(cwd, { recursive: true, force: true });
  standIn = undefined;
  context = undefined;
  cwd = undefined;
  await moto.reset();
});

async function setUp(options: Partial<SsmStandInOptions> = {}): Promise<Context> {
  standIn = await startSsmStandIn({ upstream: moto.endpoint, engine, registrationDelayMs: 0, ...options });
  cwd = await mkdtemp(join(tmpdir(), 'gild-stand-in-'));
  context = createContext({
    cwd,
    env: { ...moto.env, AWS_ENDPOINT_URL: standIn.endpoint },
    logger: createMemoryLogger(),
    settings: pipelineSettingsSchema.parse({}),
    target: emulatorProfile({ endpoint: standIn.endpoint }),
  });
  return context;
}

/** An AMI as gild's build tags it, and (when `twin`) its container twin: the Debian base tagged as the twin. */
async function builtAmi(ctx: Context, imageName: string, options: { twin: boolean }): Promise<string> {
  const ec2 = ctx.clients.ec2(region);
  const launched = await ec2.send(new RunInstancesCommand({ ImageId: 'ami-1e749f67', InstanceType: 't3.micro', MinCount: 1, MaxCount: 1 }));
  const builder = launched.Instances![0]!.InstanceId!;
  const created = await ec2.send(
    new CreateImageCommand({
      InstanceId: builder,
      Name: `${imageName}-${Date.now()}`,
      TagSpecifications: [
        {
          ResourceType: 'image',
          Tags: [
            { Key: 'gild:run-id', Value: ctx.runId },
            { Key: 'gild:image', Value: imageName },
            { Key: 'gild:version', Value: '1.0.0' },
          ],
        },
      ],
    }),
  );
  await ec2.send(new TerminateInstancesCommand({ InstanceIds: [builder] }));
  if (options.twin) {
    const reference = twinTag(imageName, '1.0.0', ctx.runId).reference;
    await execa(engine.binary, ['tag', debianBase, reference]);
    twinTags.push(reference);
  }
  return created.ImageId!;
}

async function launch(ctx: Context, amiId: string): Promise<string> {
  const launched = await ctx.clients.ec2(region).send(new RunInstancesCommand({ ImageId: amiId, InstanceType: 't3.micro', MinCount: 1, MaxCount: 1 }));
  return launched.Instances![0]!.InstanceId!;
}

const noRetry = { attempts: 1, baseDelayMs: 10, maxDelayMs: 10 };

async function send(ctx: Context, instanceId: string, commands: string[], executionTimeout = 30): Promise<string> {
  const sent = await sendCommand(ctx.clients.ssm(region), { instanceId, document: 'AWS-RunShellScript', commands, timeoutSeconds: executionTimeout, comment: 'test' }, noRetry);
  if (!('commandId' in sent)) throw new Error('not registered');
  return sent.commandId;
}

/** Polls GetCommandInvocation until `until` holds, recording every status seen on the way. */
async function watch(ctx: Context, commandId: string, instanceId: string, until: (status: string) => boolean) {
  const seen: string[] = [];
  for (;;) {
    const invocation = await getCommandInvocation(ctx.clients.ssm(region), commandId, instanceId);
    if (invocation && seen.at(-1) !== invocation.status) seen.push(invocation.status);
    if (invocation && until(invocation.status)) return { invocation, seen };
    // NOTE: no timer: each answer is the next event; the stand-in moves the command on by itself.
  }
}
const terminal = (status: string) => ['Success', 'Failed', 'TimedOut', 'Cancelled'].includes(status);

describe('the SSM Run Command stand-in', () => {
  it('answers InvalidInstanceId until the agent registers, then accepts the command; DescribeInstanceInformation agrees', async () => {
    const ctx = await setUp({ registrationDelayMs: 3000 });
    const instanceId = await launch(ctx, await builtAmi(ctx, 'reg', { twin: true }));
    const ssm = ctx.clients.ssm(region);
    const early = await sendCommand(ssm, { instanceId, document: 'AWS-RunShellScript', commands: ['true'], timeoutSeconds: 30, comment: 'early' }, noRetry);
    expect(early).toEqual({ notRegistered: true });
    expect((await ssm.send(new DescribeInstanceInformationCommand({}))).InstanceInformationList).toEqual([]);
    // The adapter's own retry waits for the registration, as it does on AWS.
    const attempts: number[] = [];
    const sent = await sendCommand(
      ssm,
      { instanceId, document: 'AWS-RunShellScript', commands: ['true'], timeoutSeconds: 30, comment: 'later' },
      {
        attempts: 40,
        baseDelayMs: 250,
        maxDelayMs: 250,
        // The retry's wait ends when the agent is Online (the stand-in's own answer), not after a fixed time.
        sleep: async (ms) => {
          attempts.push(ms);
          while (!((await ssm.send(new DescribeInstanceInformationCommand({}))).InstanceInformationList ?? []).some((entry) => entry.InstanceId === instanceId && entry.PingStatus === 'Online'));
        },
      },
    );
    expect(sent).toHaveProperty('commandId');
    expect(attempts.length).toBeGreaterThan(0);
    const information = (await ssm.send(new DescribeInstanceInformationCommand({}))).InstanceInformationList ?? [];
    expect(information.map((entry) => [entry.InstanceId, entry.PingStatus])).toEqual([[instanceId, 'Online']]);
  });

  it('runs the script for real in the twin: Pending → InProgress → Failed with the exit code and both streams', async () => {
    const ctx = await setUp({ deliveryDelayMs: 300 });
    const instanceId = await launch(ctx, await builtAmi(ctx, 'statuses', { twin: true }));
    const commandId = await send(ctx, instanceId, ['. /etc/os-release', 'echo "running on $ID $VERSION_ID"', 'echo oops >&2', 'sleep 1', 'exit 3']);
    const { invocation, seen } = await watch(ctx, commandId, instanceId, terminal);
    expect(seen).toEqual(['Pending', 'InProgress', 'Failed']);
    expect(invocation).toMatchObject({ status: 'Failed', statusDetails: 'Failed', exitCode: 3, stdout: 'running on debian 12\n', stderr: 'oops\n' });
  });

  it('reports Success for exit code 0', async () => {
    const ctx = await setUp();
    const instanceId = await launch(ctx, await builtAmi(ctx, 'success', { twin: true }));
    const { invocation } = await watch(ctx, await send(ctx, instanceId, ['echo fine']), instanceId, terminal);
    expect(invocation).toMatchObject({ status: 'Success', statusDetails: 'Success', exitCode: 0, stdout: 'fine\n' });
  });

  it('ends a command that runs past executionTimeout TimedOut (ExecutionTimedOut), exit code 137', async () => {
    const ctx = await setUp();
    const instanceId = await launch(ctx, await builtAmi(ctx, 'slow', { twin: true }));
    const { invocation, seen } = await watch(ctx, await send(ctx, instanceId, ['echo started', 'sleep 60'], 2), instanceId, terminal);
    expect(seen).toContain('InProgress');
    expect(invocation).toMatchObject({ status: 'TimedOut', statusDetails: 'ExecutionTimedOut', exitCode: 137, stdout: 'started\n' });
  });

  it('cancels a running command: CancelCommand ends it Cancelled and stops the container', async () => {
    const ctx = await setUp();
    const instanceId = await launch(ctx, await builtAmi(ctx, 'cancel', { twin: true }));
    const commandId = await send(ctx, instanceId, ['echo started', 'sleep 60']);
    await watch(ctx, commandId, instanceId, (status) => status === 'InProgress');
    const started = Date.now();
    await cancelCommand(ctx.clients.ssm(region), commandId, instanceId);
    const { invocation } = await watch(ctx, commandId, instanceId, terminal);
    expect(invocation).toMatchObject({ status: 'Cancelled', statusDetails: 'Cancelled', exitCode: 137 });
    expect(Date.now() - started).toBeLessThan(30_000);
  });

  it('ends a command the agent never received TimedOut (DeliveryTimedOut)', async () => {
    const ctx = await setUp({ deliveryDelayMs: 800, deliveryTimeoutMs: 200 });
    const instanceId = await launch(ctx, await builtAmi(ctx, 'undelivered', { twin: true }));
    const { invocation } = await watch(ctx, await send(ctx, instanceId, ['echo never']), instanceId, terminal);
    expect(invocation).toMatchObject({ status: 'TimedOut', statusDetails: 'DeliveryTimedOut', exitCode: -1, stdout: '' });
  });

  it('truncates output as AWS does: 24,000 characters of stdout, 8,000 of stderr, 2,500 in ListCommandInvocations', async () => {
    const ctx = await setUp();
    const instanceId = await launch(ctx, await builtAmi(ctx, 'loud', { twin: true }));
    const commandId = await send(ctx, instanceId, ["head -c 100000 /dev/zero | tr '\\0' a", "head -c 20000 /dev/zero | tr '\\0' b >&2"]);
    const { invocation } = await watch(ctx, commandId, instanceId, terminal);
    expect(invocation.stdout).toBe('a'.repeat(24_000));
    expect(invocation.stderr).toBe('b'.repeat(8_000));
    const listed = await ctx.clients.ssm(region).send(new ListCommandInvocationsCommand({ CommandId: commandId, Details: true }));
    expect(listed.CommandInvocations?.[0]?.CommandPlugins?.[0]?.Output).toBe('a'.repeat(2_500));
  });

  it('says "not run" for an instance whose AMI has no twin: Failed with StatusDetails NotRun, never Success', async () => {
    const ctx = await setUp();
    const instanceId = await launch(ctx, await builtAmi(ctx, 'twinless', { twin: false }));
    const { invocation } = await watch(ctx, await send(ctx, instanceId, ['true']), instanceId, terminal);
    expect(invocation).toMatchObject({ status: 'Failed', statusDetails: 'NotRun', exitCode: -1 });
    expect(invocation.stderr).toMatch(/^not run: twinless 1\.0\.0 \(ami-\w+\) has no container twin \(localhost\/gild-twin\/twinless:1\.0\.0-.* is not present locally\)$/);
  });

  it('looks a twin up once for all its commands, looks again only when a container could not start, and ends a command NotRun when its twin is gone', async () => {
    // The engine through a shim that records each call, so the look-ups (`image exists` / `image inspect`) are counted.
    const shimDir = await mkdtemp(join(tmpdir(), 'gild-engine-calls-'));
    try {
      const shim = join(shimDir, engine.kind);
      await writeFile(shim, `#!/bin/sh\nprintf '%s\\n' "$*" >> ${join(shimDir, 'calls')}\nexec ${engine.binary} "$@"\n`, { mode: 0o755 });
      const lookUps = async () => (await readFile(join(shimDir, 'calls'), 'utf8')).split('\n').filter((call) => call.startsWith('image ')).length;
      const ctx = await setUp({ engine: { ...engine, binary: shim } });
      const instanceId = await launch(ctx, await builtAmi(ctx, 'shared', { twin: true }));
      for (const word of ['one', 'two'])
        expect((await watch(ctx, await send(ctx, instanceId, [`echo ${word}`]), instanceId, terminal)).invocation).toMatchObject({ status: 'Success', stdout: `${word}\n` });
      expect(await lookUps()).toBe(1);
      // A script may exit 125 too: the twin is looked up again, found, and the command keeps its own result.
      expect((await watch(ctx, await send(ctx, instanceId, ['exit 125']), instanceId, terminal)).invocation).toMatchObject({ status: 'Failed', statusDetails: 'Failed', exitCode: 125 });
      expect(await lookUps()).toBe(2);
      // The twin removed behind the stand-in's back: the container cannot start, and the command is not run (NotRun), not a failure of its script.
      await execa(engine.binary, ['rmi', twinTag('shared', '1.0.0', ctx.runId).reference]);
      const three = await send(ctx, instanceId, ['echo three']);
      const { invocation } = await watch(ctx, three, instanceId, terminal);
      expect(invocation).toMatchObject({ status: 'Failed', statusDetails: 'NotRun', exitCode: -1 });
      expect(invocation.stderr).toMatch(/^not run: shared 1\.0\.0 \(ami-\w+\) has no container twin \(localhost\/gild-twin\/shared:1\.0\.0-.* is not present locally\)$/);
      // As for a twin missing at delivery: the command never started.
      const raw = await ctx.clients.ssm(region).send(new GetCommandInvocationCommand({ CommandId: three, InstanceId: instanceId }));
      expect({ start: raw.ExecutionStartDateTime, end: raw.ExecutionEndDateTime }).toEqual({ start: '', end: expect.stringMatching(/^\d{4}-/) });
      expect(await lookUps()).toBe(3);
    } finally {
      await rm(shimDir, { recursive: true, force: true });
    }
  });

  it("keeps a script's own exit code 125 when the container engine cannot say whether the twin is there: only a twin surely gone is NotRun", async () => {
    // The engine through a shim that answers look-ups as Podman does when its store cannot be read (125, a problem)
    // once `unsure` exists; until then a look-up is the real engine's.
    const shimDir = await mkdtemp(join(tmpdir(), 'gild-engine-unsure-'));
    try {
      const shim = join(shimDir, 'podman');
      const unsure = join(shimDir, 'unsure');
      await writeFile(
        shim,
        [
          '#!/bin/sh',
          `printf '%s\\n' "$*" >> ${join(shimDir, 'calls')}`,
          'if [ "$1" = image ]; then',
          `  if [ -e ${unsure} ]; then echo 'Error: the image store cannot be read' >&2; exit 125; fi`,
          `  ${engine.binary} image inspect "$3" >/dev/null 2>&1 && exit 0`,
          '  exit 1',
          'fi',
          `exec ${engine.binary} "$@"`,
          '',
        ].join('\n'),
        { mode: 0o755 },
      );
      const lookUps = async () => (await readFile(join(shimDir, 'calls'), 'utf8')).split('\n').filter((call) => call.startsWith('image ')).length;
      const ctx = await setUp({ engine: { kind: 'podman', binary: shim } });
      const instanceId = await launch(ctx, await builtAmi(ctx, 'unsure', { twin: true }));
      expect((await watch(ctx, await send(ctx, instanceId, ['echo one']), instanceId, terminal)).invocation).toMatchObject({ status: 'Success', stdout: 'one\n' });
      expect(await lookUps()).toBe(1);
      await writeFile(unsure, '');
      const { invocation } = await watch(ctx, await send(ctx, instanceId, ['echo ran; exit 125']), instanceId, terminal);
      expect(invocation).toMatchObject({ status: 'Failed', statusDetails: 'Failed', exitCode: 125, stdout: 'ran\n' });
      expect(await lookUps()).toBe(2);
    } finally {
      await rm(shimDir, { recursive: true, force: true });
    }
  });
});

describe('the smoke stage through the stand-in', () => {
  const runSmokeTest = createSmokeTest({ pollMs: 100, instancePollMs: 100, registration: { attempts: 30, baseDelayMs: 200, maxDelayMs: 500 } });

  async function smoke(imageName: string, checks: CheckInput[], twin: boolean) {
    const ctx = await setUp({ registrationDelayMs: 1000 });
    const amiId = await builtAmi(ctx, imageName, { twin });
    const run = smokeRun(smokeImage({ name: imageName, checks, smoke: { packageManifest: true } }), { logDir: join(cwd!, '.gild', 'logs', ctx.runId), amis: { [region]: amiId } });
    const result = await runSmokeTest(ctx, run);
    const report = JSON.parse(await readFile(join(run.logDir, `${imageName}.smoke.json`), 'utf8')) as {
      checks: { name: string; outcome: string; reason?: string }[];
      packageManifest?: { packages: number };
    };
    return { result, report, run };
  }

  it('runs each check in a fresh container of the twin: a pass, a failure, a VM-only check skipped, and the real package manifest', async () => {
    const { result, report } = await smoke(
      'checked',
      [
        { name: 'is debian', run: 'grep -q "^ID=debian" /etc/os-release' },
        { name: 'a fresh container each time', run: 'test ! -e /tmp/left-behind && touch /tmp/left-behind' },
        { name: 'a fresh container each time, again', run: 'test ! -e /tmp/left-behind' },
        { name: 'expects the wrong thing', run: 'echo 1.2.3', stdoutMatches: ['^9\\.'] },
        { name: 'systemd unit', run: 'systemctl is-enabled ssh', needs: 'vm' },
      ],
      true,
    );
    expect(result.result).toBe('failed');
    // gild's built-in new-machine checks (src/smoke/new-machine-checks.ts) are judged in twins-e2e, where a build records them.
    expect(Object.fromEntries(report.checks.filter((check) => !check.name.startsWith('new machine: ')).map((check) => [check.name, check.outcome]))).toEqual({
      'is debian': 'passed',
      'a fresh container each time': 'passed',
      'a fresh container each time, again': 'passed',
      'expects the wrong thing': 'failed',
      'systemd unit': 'skipped',
    });
    expect(report.checks.find((check) => check.name === 'systemd unit')?.reason).toMatch(/^skipped: needs a VM/);
    expect(report.packageManifest?.packages).toBeGreaterThan(50);
  });

  it("stores each passing version's SBOM in the evidence bucket, and the next version diffs against it from another machine", async () => {
    const ctx = await setUp({ registrationDelayMs: 0 });
    const s3 = createS3Client(region, ctx.env);
    await s3.send(new CreateBucketCommand({ Bucket: 'evidence' }));
    const withEvidence = { ...ctx, settings: pipelineSettingsSchema.parse({ evidence: { bucket: 'evidence' } }) };
    const amiId = await builtAmi(ctx, 'sbom', { twin: true });
    const check = [{ name: 'true', run: 'true' }];
    const first = smokeRun(smokeImage({ name: 'sbom', checks: check, smoke: { packageManifest: true } }), { logDir: join(cwd!, 'first'), amis: { [region]: amiId }, nextVersion: '1.0.0' });
    expect((await runSmokeTest(withEvidence, first)).result).toBe('passed');
    const stored = JSON.parse(await (await s3.send(new GetObjectCommand({ Bucket: 'evidence', Key: 'gild/evidence/sbom/1.0.0/sbom.cdx.json' }))).Body!.transformToString()) as {
      bomFormat: string;
      components: { name: string; purl: string }[];
    };
    expect(stored.bomFormat).toBe('CycloneDX');
    // The package URL names the distribution of the image's preset (the smoke fixture's is ubuntu-24.04).
    expect(stored.components.find((component) => component.name === 'dpkg')?.purl).toMatch(/^pkg:deb\/ubuntu\/dpkg@1\./);
    expect(JSON.parse(await readFile(join(cwd!, 'first', 'sbom-1.0.0.cdx.json'), 'utf8'))).toEqual(stored);

    // Another machine: no local manifests, only the bucket.
    const elsewhere = { ...withEvidence, workDir: join(cwd!, 'elsewhere', '.gild') };
    const second = smokeRun(smokeImage({ name: 'sbom', checks: check, smoke: { packageManifest: true } }), {
      logDir: join(cwd!, 'second'),
      amis: { [region]: amiId },
      currentVersion: '1.0.0',
      nextVersion: '1.0.1',
    });
    expect((await runSmokeTest(elsewhere, second)).result).toBe('passed');
    expect(second.summary).toContain('packages: unchanged since 1.0.0');
    s3.destroy();
  });

  it('reports every check "not run" when the AMI has no twin, and the smoke test skipped with that reason, never passed', async () => {
    const { result, report } = await smoke('no-twin', [{ name: 'anything', run: 'true' }], false);
    expect(result).toMatchObject({ result: 'skipped', reason: expect.stringMatching(/^no check ran: 1 not run, 0 skipped \(not run: no-twin 1\.0\.0/) });
    // The built-in new-machine checks have no build record to compare with here, so they verify nothing either.
    expect(report.checks.map((check) => `${check.name.startsWith('new machine: ') ? 'built-in ' : ''}${check.outcome}`)).toEqual([
      'built-in not-verified',
      'built-in not-verified',
      'built-in not-verified',
      'not-run',
    ]);
  });
});
