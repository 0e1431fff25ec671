/**
 * The Windows smoke test's temporary key pair and password check against moto. moto implements CreateKeyPair (RSA,
 * tags), RunInstances with KeyName, DeleteKeyPair and GetPasswordData, but its GetPasswordData answers 128 random
 * characters for any instance whose AMI has platform `windows` (and '' otherwise), encrypted with nothing: what this
 * proves is the key pair's life (created tagged, launched with, deleted when the smoke test ends, swept after a
 * crash), the requests (every one checked against botocore's EC2 model by the wire checker), and that the check says
 * not-verified there. Decryption of a real ciphertext is proven in test/unit/smoke-new-machine.test.ts.
 */
import {
  CreateImageCommand,
  CreateKeyPairCommand,
  DescribeImagesCommand,
  DescribeInstancesCommand,
  DescribeKeyPairsCommand,
  RunInstancesCommand,
  TerminateInstancesCommand,
} from '@aws-sdk/client-ec2';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createTemporaryKeyPair } from '../../src/adapters/ec2.ts';
import { applyPlan } from '../../src/apply/apply-plan.ts';
import { createContext, type Context } from '../../src/context.ts';
import { createMemoryLogger } from '../../src/logger.ts';
import { observeInventory } from '../../src/observe/observe-inventory.ts';
import { planSweep } from '../../src/plan/plan-sweep.ts';
import { planSchemaVersion, type RunPlan } from '../../src/plan/run-plan.ts';
import { pipelineSettingsSchema } from '../../src/settings/schema.ts';
import { smokeKeyPairName } from '../../src/smoke/launch-instances.ts';
import { createLifecycle } from '../../src/stages/lifecycle.ts';
import { createSmokeTest } from '../../src/stages/smoke-test.ts';
import { emulatorProfile } from '../../src/target/emulator-profile.ts';
import { useMotoBehindFaultProxy } from '../support/moto.ts';
import { smokeImage, smokeRun } from '../support/smoke-fixture.ts';

const region = 'us-east-1';
const emulator = useMotoBehindFaultProxy();
let cwd: string;
let context: Context;

/** A context on the emulator; `hoursLater` moves its clock on, so that what moto stamped now is that old. */
const contextOnMoto = (hoursLater = 0) =>
  createContext({
    cwd,
    env: emulator.proxy.env(emulator.moto.env),
    logger: createMemoryLogger(),
    settings: pipelineSettingsSchema.parse({ sweepAfterMinutes: 120 }),
    target: emulatorProfile({ endpoint: emulator.moto.endpoint, why: 'the test started it', standInSources: {}, twins: undefined }),
    runId: '20261207T120000Z-abc123',
    now: () => new Date(Date.now() + hoursLater * 3_600_000),
  });

beforeEach(async () => {
  cwd = await mkdtemp(join(tmpdir(), 'gild-windows-smoke-'));
  context = contextOnMoto();
});
afterEach(async () => {
  context.clients.destroy();
  await rm(cwd, { recursive: true, force: true });
});

const windowsImage = () => ({ ...smokeImage({ checks: [] }), platform: 'windows' as const });

/** A Windows AMI as gild's build leaves it: imaged from an instance of one of moto's public Windows AMIs. */
async function builtWindowsAmi(): Promise<string> {
  const ec2 = context.clients.ec2(region);
  const [source] = (await ec2.send(new DescribeImagesCommand({ Filters: [{ Name: 'platform', Values: ['windows'] }] }))).Images ?? [];
  const launched = await ec2.send(new RunInstancesCommand({ ImageId: source!.ImageId!, InstanceType: 'm6i.large', MinCount: 1, MaxCount: 1 }));
  const instanceId = launched.Instances![0]!.InstanceId!;
  const created = await ec2.send(
    new CreateImageCommand({
      InstanceId: instanceId,
      Name: `web-${Date.now()}`,
      TagSpecifications: [
        {
          ResourceType: 'image',
          Tags: [
            { Key: 'gild:run-id', Value: context.runId },
            { Key: 'gild:image', Value: 'web' },
            { Key: 'gild:version', Value: '1.0.0' },
          ],
        },
      ],
    }),
  );
  await ec2.send(new TerminateInstancesCommand({ InstanceIds: [instanceId] }));
  return created.ImageId!;
}

const gildKeyPairs = async () =>
  ((await context.clients.ec2(region).send(new DescribeKeyPairsCommand({}))).KeyPairs ?? [])
    .filter((keyPair) => keyPair.KeyName?.startsWith('gild_'))
    .map((keyPair) => ({ name: keyPair.KeyName, tags: Object.fromEntries((keyPair.Tags ?? []).map((tag) => [tag.Key, tag.Value])) }));

describe('the Windows smoke test on moto', () => {
  it('launches with a tagged temporary key pair, asks GetPasswordData, says not-verified, and deletes the key pair', async () => {
    const amiId = await builtWindowsAmi();
    const run = smokeRun(windowsImage(), { logDir: join(cwd, 'logs'), amis: { [region]: amiId } });
    emulator.proxy.calls.length = 0;
    const result = await createSmokeTest({ pollMs: 25, instancePollMs: 25 })(context, run);

    const name = smokeKeyPairName(context.runId, 'web');
    const keyPairLife = emulator.proxy.actions('ec2').filter((action) => ['CreateKeyPair', 'RunInstances', 'GetPasswordData', 'DeleteKeyPair', 'TerminateInstances'].includes(action));
    // The instances' termination and the key pair's deletion are sent together, in either order (AWS deletes a key
    // pair that instances still name: they keep their authorized key).
    expect(keyPairLife.slice(0, 3)).toEqual(['CreateKeyPair', 'RunInstances', 'GetPasswordData']);
    expect(keyPairLife.slice(3).sort()).toEqual(['DeleteKeyPair', 'TerminateInstances']);
    const instances = (await context.clients.ec2(region).send(new DescribeInstancesCommand({ Filters: [{ Name: 'tag:gild:role', Values: ['smoke'] }] }))).Reservations!.flatMap(
      (reservation) => reservation.Instances ?? [],
    );
    expect(instances.map((instance) => [instance.KeyName, instance.State?.Name])).toEqual([[name, 'terminated']]);
    expect(await gildKeyPairs()).toEqual([]);
    // No record of the build (its provisioners did not run here) and moto's password proves nothing: nothing verified,
    // so the AMI would be tagged untested, never tested.
    expect(result).toMatchObject({ result: 'skipped' });
    const report = JSON.parse(await readFile(join(cwd, 'logs', 'web.smoke.json'), 'utf8')) as { checks: { name: string; outcome: string; reason: string }[] };
    expect(report.checks.map((check) => [check.name, check.outcome])).toEqual([
      ["new machine: computer name differs from the build instance's", 'not-verified'],
      ['new machine: GetPasswordData returns a new Administrator password', 'not-verified'],
    ]);
    expect(run.logger.lines).toEqual(
      expect.arrayContaining([`info: created smoke key pair ${name} in us-east-1, to read the password EC2Launch sets at first boot`, `info: deleted smoke key pair ${name}`]),
    );
    expect(run.logger.lines.find((line) => line.includes('GetPasswordData returns a new Administrator password'))).toBe(
      'info: check "new machine: GetPasswordData returns a new Administrator password" on t3.micro (' +
        instances[0]!.InstanceId +
        "): not-verified (GetPasswordData answered a PasswordData, which proves nothing here: the emulator's GetPasswordData answers 128 random characters for any Windows instance, not a password encrypted with its key pair, and nothing boots there to set one)",
    );
  });

  it("sweeps a crashed run's smoke key pair by its tags, and leaves this run's and someone else's alone", async () => {
    context.clients.destroy();
    context = contextOnMoto(3);
    const ec2 = context.clients.ec2(region);
    const crashed = '20261206T080000Z-dead01';
    await createTemporaryKeyPair(ec2, { name: smokeKeyPairName(crashed, 'web'), tags: { 'gild:run-id': crashed, 'gild:image': 'web', 'gild:role': 'smoke' } });
    await createTemporaryKeyPair(ec2, { name: smokeKeyPairName(context.runId, 'web'), tags: { 'gild:run-id': context.runId, 'gild:image': 'web', 'gild:role': 'smoke' } });
    await ec2.send(new CreateKeyPairCommand({ KeyName: 'gild_ci' }));

    const inventory = await observeInventory(context, [smokeImage({ region })], { baseOverrides: {}, retentionRules: true });
    const steps = planSweep({ inventory, runId: context.runId, now: context.now(), sweepAfterMinutes: 120 });
    expect(steps.map((step) => [step.resource.kind, 'name' in step.resource ? step.resource.name : step.resource.id, step.runId])).toEqual([['key-pair', smokeKeyPairName(crashed, 'web'), crashed]]);
    expect(steps[0]!.reason).toMatch(/^delete leftover key-pair gild_20261206T080000Z-dead01-smoke_web: its run 20261206T080000Z-dead01 holds no lock and it is 18\d min old/);

    const plan: RunPlan = {
      schema: planSchemaVersion,
      runId: context.runId,
      createdAt: context.now().toISOString(),
      ssmPrefix: inventory.ssmPrefix,
      options: { force: false, images: [] },
      observed: { at: inventory.observedAt, digests: {} },
      images: [],
      steps,
      kept: [],
    };
    const applied = await applyPlan(context, plan, { stages: createLifecycle(context), images: [], signal: new AbortController().signal, concurrency: 1 });
    expect([...applied.results.values()].map((outcome) => outcome.status)).toEqual(['done']);
    expect((await gildKeyPairs()).map((keyPair) => keyPair.name).sort()).toEqual([smokeKeyPairName(context.runId, 'web'), 'gild_ci'].sort());
  });
});
