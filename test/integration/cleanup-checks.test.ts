/**
 * The cleanup stage's last look before it deletes, against moto: snapshots
 * planned as leftovers ("their AMI is gone") stay while any AMI this account
 * owns still uses them. moto lacks DescribeImages' `block-device-mapping.
 * snapshot-id` filter, so the emulator's capabilities read every owned AMI
 * instead; the filter real AWS gets is proven at the adapter seam in
 * test/unit/cleanup-snapshot-check.test.ts. And the sweep of a take-over
 * claim a dead taker left: removed only while it holds what was planned.
 * And an AMI Packer created that gild never tagged: observed by its name,
 * planned, tagged as gild's, then removed with its snapshots.
 */
import { CreateImageCommand, CreateTagsCommand, DeregisterImageCommand, DescribeImagesCommand, DescribeSnapshotsCommand, RunInstancesCommand, TerminateInstancesCommand } from '@aws-sdk/client-ec2';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createContext, type Context } from '../../src/context.ts';
import { emulatorProfile } from '../../src/target/emulator-profile.ts';
import { createMemoryLogger } from '../../src/logger.ts';
import type { StepOfKind } from '../../src/plan/run-plan.ts';
import { pipelineSettingsSchema } from '../../src/settings/schema.ts';
import { createParameterIfAbsent, getParameter, putParameterExpecting } from '../../src/adapters/ssm.ts';
import { observeInventory } from '../../src/observe/observe-inventory.ts';
import { assemblePlan } from '../../src/plan/assemble-plan.ts';
import { cleanupStage } from '../../src/stages/cleanup.ts';
import { sweepStage } from '../../src/stages/sweep.ts';
import { startMoto, type MotoServer } from '../support/moto.ts';
import { resolvedImageFixture } from '../support/resolved-image-fixture.ts';
import { stepRunFixture } from '../support/step-run-fixture.ts';

const region = 'us-east-1';
let moto: MotoServer;
let cwd: string;
let context: Context;

beforeAll(async () => {
  moto = await startMoto();
});
afterAll(async () => {
  await moto.stop();
});
beforeEach(async () => {
  await moto.reset();
  cwd = await mkdtemp(join(tmpdir(), 'gild-cleanup-'));
  context = createContext({
    cwd,
    env: moto.env,
    logger: createMemoryLogger(),
    settings: pipelineSettingsSchema.parse({}),
    target: emulatorProfile({ endpoint: moto.endpoint }),
  });
});
afterEach(async () => {
  context.clients.destroy();
  await rm(cwd, { recursive: true, force: true });
});

/** An AMI made from an instance, as Packer makes one: moto gives it a snapshot. */
async function createAmi(tags: Record<string, string>, name = `web-1.0.0-${Date.now()}`): Promise<{ amiId: string; snapshotIds: string[] }> {
  const ec2 = context.clients.ec2(region);
  const launched = await ec2.send(new RunInstancesCommand({ ImageId: 'ami-1e749f67', InstanceType: 't3.micro', MinCount: 1, MaxCount: 1 }));
  const instanceId = launched.Instances![0]!.InstanceId!;
  const tagSpecifications = Object.keys(tags).length > 0 ? { TagSpecifications: [{ ResourceType: 'image' as const, Tags: Object.entries(tags).map(([Key, Value]) => ({ Key, Value })) }] } : {};
  const created = await ec2.send(new CreateImageCommand({ InstanceId: instanceId, Name: name, ...tagSpecifications }));
  await ec2.send(new TerminateInstancesCommand({ InstanceIds: [instanceId] }));
  const [image] = (await ec2.send(new DescribeImagesCommand({ ImageIds: [created.ImageId!] }))).Images ?? [];
  const snapshotIds = (image?.BlockDeviceMappings ?? []).flatMap((mapping) => (mapping.Ebs?.SnapshotId ? [mapping.Ebs.SnapshotId] : []));
  expect(snapshotIds.length).toBeGreaterThan(0);
  return { amiId: created.ImageId!, snapshotIds };
}

function snapshotsStep(snapshotIds: readonly string[]): StepOfKind<'cleanup'> {
  return {
    id: `cleanup:web:${region}:snapshots`,
    kind: 'cleanup',
    image: 'web',
    region,
    amiId: undefined,
    snapshotIds,
    status: '(snapshots only)',
    after: [],
    reason: 'snapshots tagged gild:image=web whose AMI no longer exists',
    precondition: 'no AMI uses them',
  };
}

async function snapshotExists(snapshotId: string): Promise<boolean> {
  const snapshots = (await context.clients.ec2(region).send(new DescribeSnapshotsCommand({ OwnerIds: ['self'] }))).Snapshots ?? [];
  return snapshots.some((snapshot) => snapshot.SnapshotId === snapshotId);
}

describe('snapshot-only cleanup', () => {
  it('leaves snapshots an AMI still uses, even one without gild tags, as moved', async () => {
    // Not gild-tagged: an AMI someone registered from gild's snapshot, which the plan (reading gild's AMIs) never saw.
    const { amiId, snapshotIds } = await createAmi({ owner: 'someone' });
    await context.clients.ec2(region).send(new CreateTagsCommand({ Resources: snapshotIds, Tags: [{ Key: 'gild:image', Value: 'web' }] }));
    const step = snapshotsStep(snapshotIds);

    const moved = await cleanupStage.check!(context, step, stepRunFixture(resolvedImageFixture({ name: 'web' })));

    expect(moved).toBe(`${snapshotIds.join(', ')} in ${region} ${snapshotIds.length === 1 ? 'is' : 'are'} still used by ${amiId}`);
    for (const snapshotId of snapshotIds) expect(await snapshotExists(snapshotId)).toBe(true);
  });

  it('deletes them once no AMI uses them', async () => {
    const { amiId, snapshotIds } = await createAmi({ 'gild:image': 'web' });
    await context.clients.ec2(region).send(new DeregisterImageCommand({ ImageId: amiId }));
    const step = snapshotsStep(snapshotIds);
    const run = stepRunFixture(resolvedImageFixture({ name: 'web' }));

    expect(await cleanupStage.check!(context, step, run)).toBe(false);
    expect(await cleanupStage.run(context, step, run)).toEqual({ removed: snapshotIds });
    for (const snapshotId of snapshotIds) expect(await snapshotExists(snapshotId)).toBe(false);
  });
});

describe("another gild pipeline's AMI (another SSM prefix, the same image name)", () => {
  const cleanupOf = (amiId: string, snapshotIds: readonly string[]): StepOfKind<'cleanup'> => ({
    id: `cleanup:web:${region}:${amiId}`,
    kind: 'cleanup',
    image: 'web',
    region,
    amiId,
    snapshotIds,
    status: 'tested',
    after: [],
    reason: 'built by run 20261129T115000Z-stg001 (gild:status=tested, version 1.0.5) and never published',
    precondition: `${amiId} is still tagged gild:image=web, no parameter names it and nothing uses it`,
  });

  it('is refused by the live re-check of a cleanup planned when it carried no gild:prefix, and stays', async () => {
    const { amiId, snapshotIds } = await createAmi({ 'gild:image': 'web', 'gild:status': 'tested', 'gild:prefix': '/golden-staging' });
    const run = stepRunFixture(resolvedImageFixture({ name: 'web' }));

    expect(await cleanupStage.check!(context, cleanupOf(amiId, snapshotIds), run)).toBe(
      `${amiId} in ${region} is tagged gild:prefix=/golden-staging: it belongs to the gild pipeline under that prefix, not to /golden`,
    );
    const [ami] = (await context.clients.ec2(region).send(new DescribeImagesCommand({ ImageIds: [amiId] }))).Images ?? [];
    expect(ami?.State).toBe('available');
  });

  it('of this pipeline (its own prefix) passes the same re-check', async () => {
    const { amiId, snapshotIds } = await createAmi({ 'gild:image': 'web', 'gild:status': 'tested', 'gild:prefix': '/golden' });
    expect(await cleanupStage.check!(context, cleanupOf(amiId, snapshotIds), stepRunFixture(resolvedImageFixture({ name: 'web' })))).toBe(false);
  });
});

describe('sweeping a take-over claim left behind', () => {
  const claimName = '/golden/web/lock.takeover-0123456789abcdef';
  const claim = JSON.stringify({ runId: '20261129T010000Z-taker0', host: 'ci-3', pid: 31, takenAt: '2026-11-29T01:00:00.000Z', expiresAt: '2026-11-29T01:02:00.000Z' });
  const step: StepOfKind<'sweep'> = {
    id: `sweep:${region}:${claimName}`,
    kind: 'sweep',
    region,
    resource: { kind: 'takeover-claim', id: claimName, name: claimName, value: claim },
    runId: '20261129T010000Z-taker0',
    after: [],
    reason: 'test',
    precondition: `${claimName} still holds the value observed`,
  };

  it('removes it while it holds what the plan saw', async () => {
    const ssm = context.clients.ssm(region);
    await createParameterIfAbsent(ssm, claimName, claim);
    const run = stepRunFixture(undefined);

    expect(await sweepStage.check!(context, step, run)).toBe(false);
    await sweepStage.run(context, step, run);
    expect(await getParameter(ssm, claimName)).toBeUndefined();
  });

  it('leaves it, as moved, when someone wrote it again since', async () => {
    const ssm = context.clients.ssm(region);
    await createParameterIfAbsent(ssm, claimName, claim);
    const fresh = claim.replace('taker0', 'taker1');
    await putParameterExpecting(ssm, claimName, fresh, { expected: claim });

    expect(await sweepStage.check!(context, step, stepRunFixture(undefined))).toBe(`${claimName} changed since the plan: it now holds ${fresh}`);
    expect((await getParameter(ssm, claimName))?.value).toBe(fresh);
  });
});

describe('an AMI Packer created that gild never tagged', () => {
  it("is found by the build step's name, tagged as gild's, then deregistered with its snapshots", async () => {
    const image = resolvedImageFixture({ name: 'web' });
    const leaked = await createAmi({}, 'web-1.0.1-20261129T100000Z-crash0');
    const decoy = await createAmi({}, 'web-api-1.0.1-20261129T100000Z-crash0');

    const inventory = await observeInventory(context, [image], { baseOverrides: { web: 'ami-1e749f67' }, retentionRules: true });
    expect(inventory.regions[region]!.untaggedAmis!.map((ami) => ami.amiId).sort()).toEqual([leaked.amiId, decoy.amiId].sort());
    const plan = assemblePlan({
      runId: context.runId,
      now: context.now(),
      images: [image],
      fingerprints: { web: 'fp' },
      inventory,
      force: false,
      settings: { sweepAfterMinutes: 120, rebuildAfterDays: undefined },
    });
    const cleanups = plan.steps.filter((step): step is StepOfKind<'cleanup'> => step.kind === 'cleanup');
    expect(cleanups.map((step) => [step.amiId, step.untagged, step.snapshotIds])).toEqual([
      [leaked.amiId, { runId: '20261129T100000Z-crash0', version: '1.0.1', name: 'web-1.0.1-20261129T100000Z-crash0' }, leaked.snapshotIds],
    ]);

    const run = stepRunFixture(image);
    expect(await cleanupStage.check!(context, cleanups[0]!, run)).toBe(false);
    expect(await cleanupStage.run(context, cleanups[0]!, run)).toEqual({ removed: [leaked.amiId, ...leaked.snapshotIds] });

    const ec2 = context.clients.ec2(region);
    const left = (await ec2.send(new DescribeImagesCommand({ Owners: ['self'] }))).Images ?? [];
    expect(left.map((ami) => ami.ImageId)).toEqual([decoy.amiId]);
    for (const snapshotId of leaked.snapshotIds) expect(await snapshotExists(snapshotId)).toBe(false);
  });

  it('is left alone, as moved, once a parameter names it', async () => {
    const leaked = await createAmi({}, 'web-1.0.1-20261129T100000Z-crash0');
    await createParameterIfAbsent(context.clients.ssm(region), '/golden/web/channels/hand', leaked.amiId);
    const step: StepOfKind<'cleanup'> = {
      id: `cleanup:web:${region}:${leaked.amiId}`,
      kind: 'cleanup',
      image: 'web',
      region,
      amiId: leaked.amiId,
      snapshotIds: leaked.snapshotIds,
      status: '(untagged)',
      untagged: { runId: '20261129T100000Z-crash0', version: '1.0.1', name: 'web-1.0.1-20261129T100000Z-crash0' },
      after: [],
      reason: 'test',
      precondition: 'test',
    };

    expect(await cleanupStage.check!(context, step, stepRunFixture(resolvedImageFixture({ name: 'web' })))).toBe(`/golden/web/channels/hand now names ${leaked.amiId}`);
  });
});
