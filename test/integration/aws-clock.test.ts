/**
 * The AWS-shaped clock (test/support/aws-clock-proxy.ts) does what its table says, against real moto and real
 * Packer: an AMI is `pending` for its modelled time, an instance `pending` then `running` with status checks
 * `initializing`, its SSM agent registers after its delay, a command takes its time, and Packer's own polling waits
 * the modelled copies out. Every wait is on an answer (a poll of the proxy, or its first-sighting events), never a
 * delay; the assertions compare the instants answers changed with the instants the model gives.
 */
import { CopyImageCommand, CreateImageCommand, DescribeImagesCommand, DescribeInstanceStatusCommand, DescribeInstancesCommand, RunInstancesCommand, type EC2Client } from '@aws-sdk/client-ec2';
import { GetCommandInvocationCommand, SendCommandCommand, type SSMClient } from '@aws-sdk/client-ssm';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { execa } from 'execa';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createAwsClients, type AwsClients } from '../../src/adapters/aws-clients.ts';
import { getParameter } from '../../src/adapters/ssm.ts';
import { agentRegisteredAt, commandDoneAt, defaultImageGiB, imageAvailableAt, packerPollingEnv, runningAt } from '../support/aws-clock-model.ts';
import { startClockProxy, type ClockProxy } from '../support/aws-clock-proxy.ts';
import { startMoto, type MotoServer } from '../support/moto.ts';

const pollMs = 20;
let moto: MotoServer;
let proxy: ClockProxy;
let clients: AwsClients;

beforeAll(async () => {
  moto = await startMoto();
});
afterAll(async () => {
  await moto?.stop();
});
afterEach(async () => {
  clients?.destroy();
  await proxy?.stop();
});

/**
 * A fresh emulator on a clock of `scale` AWS seconds a second: fast enough for the images' minutes, slow enough that the
 * emulator's own answer times (tens of ms) stay well inside the shortest modelled state of the test.
 */
async function onClock(scale: number, imageGiB?: number): Promise<void> {
  await moto.reset();
  proxy = await startClockProxy(moto.motoEndpoint, { scale, ...(imageGiB === undefined ? {} : { imageGiB }) });
  clients = createAwsClients(proxy.env(moto.env));
}

/** Asks again (every `pollMs`) until `read` answers `until`; returns every answer with when it came. */
async function pollUntil<T>(read: () => Promise<T>, until: (answer: T) => boolean, limitMs = 20_000): Promise<{ answer: T; at: number }[]> {
  const answers: { answer: T; at: number }[] = [];
  const giveUpAt = Date.now() + limitMs;
  for (;;) {
    const answer = await read();
    answers.push({ answer, at: Date.now() });
    if (until(answer)) return answers;
    if (Date.now() > giveUpAt) throw new Error(`no answer matched within ${limitMs} ms; last: ${JSON.stringify(answer)}`);
    await delay(pollMs);
  }
}

async function launch(ec2: EC2Client, amiId: string): Promise<string> {
  const launched = await ec2.send(new RunInstancesCommand({ ImageId: amiId, InstanceType: 't3.micro', MinCount: 1, MaxCount: 1 }));
  return launched.Instances![0]!.InstanceId!;
}

async function sourceAmi(): Promise<string> {
  const parameter = await getParameter(clients.ssm('us-east-1'), '/aws/service/ami-amazon-linux-latest/al2023-ami-kernel-default-x86_64');
  return parameter!.value;
}

const imageState = (ec2: EC2Client, amiId: string) => ec2.send(new DescribeImagesCommand({ ImageIds: [amiId] })).then((answer) => answer.Images?.[0]?.State);

describe('the AWS-shaped clock in front of moto', () => {
  it('keeps a created AMI pending for its modelled time, then available, and a copy pending for longer', async () => {
    // 1 AWS minute = 0.2 s: a CreateImage of the 15 GiB moto names (120 s + 15 s/GiB: 5 min 45 s) is pending 1.15 s, its copy
    // (300 s + 75 s/GiB: 23 min 45 s) 4.75 s.
    await onClock(300);
    const ec2 = clients.ec2('us-east-1');
    const instanceId = await launch(ec2, await sourceAmi());
    const created = await ec2.send(new CreateImageCommand({ InstanceId: instanceId, Name: 'clock-created' }));
    const amiId = created.ImageId!;
    const answers = await pollUntil(
      () => imageState(ec2, amiId),
      (state) => state === 'available',
    );
    const availableAt = imageAvailableAt(proxy.clock, proxy.images.get(amiId)!);

    expect(answers[0]!.answer).toBe('pending');
    expect(answers.at(-1)!.at).toBeGreaterThanOrEqual(availableAt);
    const [pending, available] = await Promise.all([proxy.waitFor(amiId, 'pending'), proxy.waitFor(amiId, 'available')]);
    // At least the modelled time passed between the request and the first `available` answer.
    expect(available.at - proxy.images.get(amiId)!.startedAt).toBeGreaterThanOrEqual(proxy.clock.ms('createImage', proxy.images.get(amiId)!.sizeGiB));
    expect(pending.at).toBeLessThan(availableAt);
    expect(available.at).toBeGreaterThanOrEqual(availableAt);

    // A filter on `state=available` does not find it while pending: the emulator's own answer is not trusted.
    const copy = await clients.ec2('us-west-2').send(new CopyImageCommand({ SourceImageId: amiId, SourceRegion: 'us-east-1', Name: 'clock-copy' }));
    const copyId = copy.ImageId!;
    const filtered = await clients.ec2('us-west-2').send(new DescribeImagesCommand({ ImageIds: [copyId], Filters: [{ Name: 'state', Values: ['available'] }] }));
    expect(filtered.Images ?? []).toEqual([]);
    await pollUntil(
      () => imageState(clients.ec2('us-west-2'), copyId),
      (state) => state === 'available',
    );
    const copied = proxy.images.get(copyId)!;
    expect(copied.kind).toBe('copyImage');
    expect((await proxy.waitFor(copyId, 'available')).at).toBeGreaterThanOrEqual(imageAvailableAt(proxy.clock, copied));
    expect(proxy.clock.ms('copyImage', copied.sizeGiB)).toBeGreaterThan(proxy.clock.ms('createImage', copied.sizeGiB));
  });

  it('shows an instance pending, then running with status checks initializing, then ok', async () => {
    // 1 AWS minute = 1 s: pending 0.5 s, status checks initializing 2 s more.
    await onClock(60);
    const ec2 = clients.ec2('us-east-1');
    const instanceId = await launch(ec2, await sourceAmi());
    const states = await pollUntil(
      () => ec2.send(new DescribeInstancesCommand({ InstanceIds: [instanceId] })).then((answer) => answer.Reservations?.[0]?.Instances?.[0]?.State?.Name),
      (state) => state === 'running',
    );
    const modelled = proxy.instances.get(instanceId)!;
    expect(states[0]!.answer).toBe('pending');
    // The proxy decided `running` no earlier than the model says, and `pending` before it.
    const [pending, running] = await Promise.all([proxy.waitFor(instanceId, 'pending'), proxy.waitFor(instanceId, 'running')]);
    expect(pending.at).toBeLessThan(runningAt(proxy.clock, modelled));
    expect(running.at).toBeGreaterThanOrEqual(runningAt(proxy.clock, modelled));
    expect(states.at(-1)!.at).toBeGreaterThanOrEqual(runningAt(proxy.clock, modelled));

    const checks = await pollUntil(
      () => ec2.send(new DescribeInstanceStatusCommand({ InstanceIds: [instanceId], IncludeAllInstances: true })).then((answer) => answer.InstanceStatuses?.[0]?.InstanceStatus?.Status),
      (status) => status === 'ok',
    );
    expect(checks.map(({ answer }) => answer)).toContain('initializing');
    expect((await proxy.waitFor(instanceId, 'status ok')).at).toBeGreaterThanOrEqual(runningAt(proxy.clock, modelled) + proxy.clock.ms('statusChecksInitializing'));
    expect(checks.at(-1)!.at).toBeGreaterThanOrEqual(runningAt(proxy.clock, modelled) + proxy.clock.ms('statusChecksInitializing'));
  });

  it('answers InvalidInstanceId until the SSM agent registers, then runs the command for its modelled time', async () => {
    // 1 AWS minute = 3 s: the agent registers 4.5 s after launch; a command runs 0.25 s.
    await onClock(20);
    const instanceId = await launch(clients.ec2('us-east-1'), await sourceAmi());
    const ssm: SSMClient = clients.ssm('us-east-1');
    const attempts = await pollUntil(
      () =>
        ssm.send(new SendCommandCommand({ InstanceIds: [instanceId], DocumentName: 'AWS-RunShellScript', Parameters: { commands: ['true'] } })).then(
          (answer) => ({ commandId: answer.Command?.CommandId, error: undefined as string | undefined }),
          (error: Error) => ({ commandId: undefined, error: error.name }),
        ),
      (attempt) => attempt.commandId !== undefined,
    );
    const registeredAt = agentRegisteredAt(proxy.clock, proxy.instances.get(instanceId)!);
    expect(attempts[0]!.answer.error).toBe('InvalidInstanceId');
    expect(attempts.filter(({ answer }) => answer.error !== undefined).every(({ answer }) => answer.error === 'InvalidInstanceId')).toBe(true);
    expect(attempts.at(-1)!.at).toBeGreaterThanOrEqual(registeredAt);

    const commandId = attempts.at(-1)!.answer.commandId!;
    const statuses = await pollUntil(
      () => ssm.send(new GetCommandInvocationCommand({ CommandId: commandId, InstanceId: instanceId })).then((answer) => answer.Status),
      (status) => status !== 'InProgress',
    );
    expect(statuses[0]!.answer).toBe('InProgress');
    expect(statuses.at(-1)!.answer).toBe('Success');
    expect(statuses.at(-1)!.at).toBeGreaterThanOrEqual(commandDoneAt(proxy.clock, proxy.commands.get(commandId)!.sentAt));
  });

  it("makes Packer's own polling wait out the modelled build and copy (AWS_POLL_DELAY_SECONDS, AWS_MAX_ATTEMPTS)", async () => {
    // Every AMI modelled at 8 GiB (what packerPollingEnv sizes Packer's attempts for): its copy is pending 3 s, not
    // the 4.75 s of the 15 GiB moto names; the first test above is the one that reads the size from moto's answer.
    await onClock(300, defaultImageGiB);
    const dir = await mkdtemp(path.join(tmpdir(), 'gild-clock-packer-'));
    try {
      await writeFile(
        path.join(dir, 'build.pkr.hcl'),
        `source "amazon-ebs" "clock" {
  region                 = "us-east-1"
  source_ami             = "${await sourceAmi()}"
  instance_type          = "t3.micro"
  ami_name               = "clock-packer"
  ami_regions            = ["us-west-2"]
  communicator           = "none"
  custom_endpoint_ec2    = "${proxy.endpoint}"
  skip_region_validation = true
}
build { sources = ["source.amazon-ebs.clock"] }
`,
      );
      const startedAt = Date.now();
      const build = await execa('packer', ['build', '-machine-readable', '.'], { cwd: dir, env: { ...proxy.env(moto.env), ...packerPollingEnv(proxy.clock) }, reject: false });
      expect(build.exitCode, String(build.stdout).slice(-2000)).toBe(0);
      const artifact = /artifact,0,id,(\S+)/.exec(String(build.stdout))?.[1]?.split('%!(PACKER_COMMA)') ?? [];
      const amis = Object.fromEntries(artifact.map((entry) => entry.split(':') as [string, string]));
      const built = proxy.images.get(amis['us-east-1']!)!;
      const copied = proxy.images.get(amis['us-west-2']!)!;
      // Packer saw each pending, and returned only once each was available in the model.
      const shown = (amiId: string) => proxy.events.filter((event) => event.resource === amiId).map((event) => event.state);
      expect(shown(amis['us-east-1']!)).toEqual(['requested', 'pending', 'available']);
      expect(shown(amis['us-west-2']!)).toEqual(['requested', 'pending', 'available']);
      expect(built.kind).toBe('createImage');
      expect(copied.kind).toBe('copyImage');
      expect(Date.now()).toBeGreaterThanOrEqual(imageAvailableAt(proxy.clock, copied));
      expect(Date.now() - startedAt).toBeGreaterThanOrEqual(proxy.clock.ms('instancePending') + proxy.clock.ms('createImage', built.sizeGiB) + proxy.clock.ms('copyImage', copied.sizeGiB));
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
