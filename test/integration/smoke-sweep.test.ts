/**
 * The leftover sweep against moto: observed, planned and applied as a run
 * does it. moto stamps every instance with the
 * current time, so the fault proxy ages chosen instances in DescribeInstances
 * answers.
 */
import { RunInstancesCommand, TerminateInstancesCommand } from '@aws-sdk/client-ec2';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { describeInstances, recordToTags } from '../../src/adapters/ec2.ts';
import { createContext, type Context } from '../../src/context.ts';
import { createMemoryLogger } from '../../src/logger.ts';
import { pipelineSettingsSchema } from '../../src/settings/schema.ts';
import { applyPlan, type AppliedPlan } from '../../src/apply/apply-plan.ts';
import { takeTrip } from '../../src/apply/run-trip.ts';
import { observeInventory } from '../../src/observe/observe-inventory.ts';
import { formatRunPlan } from '../../src/plan/format-run-plan.ts';
import { planSweep } from '../../src/plan/plan-sweep.ts';
import { planSchemaVersion, type RunPlan } from '../../src/plan/run-plan.ts';
import { createLifecycle } from '../../src/stages/lifecycle.ts';
import { smokeImage } from '../support/smoke-fixture.ts';
import { useMotoBehindFaultProxy } from '../support/moto.ts';

const region = 'us-east-1';
const emulator = useMotoBehindFaultProxy();
let cwd: string;

beforeEach(async () => {
  cwd = await mkdtemp(join(tmpdir(), 'gild-sweep-'));
});

afterEach(async () => {
  await rm(cwd, { recursive: true, force: true });
});

function newContext() {
  const logger = createMemoryLogger();
  const context = createContext({ cwd, env: emulator.proxy.env(emulator.moto.env), logger, settings: pipelineSettingsSchema.parse({ sweepAfterMinutes: 120 }) });
  return { context };
}

async function launch(context: Context, tags: Record<string, string>): Promise<string> {
  const output = await context.clients.ec2(region).send(
    new RunInstancesCommand({
      ImageId: 'ami-1e749f67',
      InstanceType: 't3.micro',
      MinCount: 1,
      MaxCount: 1,
      ...(Object.keys(tags).length ? { TagSpecifications: [{ ResourceType: 'instance', Tags: recordToTags(tags) }] } : {}),
    }),
  );
  return output.Instances![0]!.InstanceId!;
}

async function expectNoLiveGildInstances(context: Context) {
  const live = await describeInstances(context.clients.ec2(region), [
    { Name: 'tag-key', Values: ['gild:run-id'] },
    { Name: 'instance-state-name', Values: ['pending', 'running'] },
  ]);
  expect(live).toEqual([]);
}

async function states(context: Context): Promise<Record<string, string>> {
  const instances = await describeInstances(context.clients.ec2(region), []);
  return Object.fromEntries(instances.map((instance) => [instance.instanceId, instance.state]));
}

/** Observe, plan the sweep, apply it (unless a dry run stops the trip): the sweep's part of a run's trip. */
async function sweepLeftovers(context: Context, options: { dryRun: boolean } = { dryRun: false }) {
  const inventory = await observeInventory(context, [smokeImage({ region })], { baseOverrides: {}, retentionRules: true });
  const steps = planSweep({ inventory, runId: context.runId, now: context.now(), sweepAfterMinutes: context.settings.sweepAfterMinutes });
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
  const said: string[] = [];
  let applied: AppliedPlan | undefined;
  await takeTrip({
    heading: 'Sweep',
    plan,
    dryRun: options.dryRun,
    say: (text) => void said.push(text),
    apply: async () => {
      applied = await applyPlan(context, plan, { stages: createLifecycle(context), images: [], signal: new AbortController().signal, concurrency: 2 });
      return 0;
    },
  });
  return { plan, steps, said: said.join(''), results: applied?.results ?? new Map(), runLog: applied?.logFiles.get('(run)') };
}

describe('the leftover sweep against moto', () => {
  async function scene(context: Context) {
    const threeHoursAgo = new Date(Date.now() - 3 * 60 * 60_000);
    const oldSmoke = await launch(context, { 'gild:role': 'smoke', 'gild:run-id': 'old-run', 'gild:image': 'web' });
    const oldBuild = await launch(context, { 'gild:role': 'build', 'gild:run-id': 'old-run' });
    const fresh = await launch(context, { 'gild:role': 'smoke', 'gild:run-id': 'other-run' });
    const untagged = await launch(context, {});
    const current = await launch(context, { 'gild:role': 'smoke', 'gild:run-id': context.runId });
    emulator.proxy.setRules({ launchTimes: { [oldSmoke]: threeHoursAgo, [oldBuild]: threeHoursAgo, [untagged]: threeHoursAgo, [current]: threeHoursAgo } });
    return { oldSmoke, oldBuild, fresh, untagged, current };
  }

  it('terminates old gild build and smoke instances, but not fresh, untagged or current-run ones', async () => {
    const { context } = newContext();
    const ids = await scene(context);

    const { steps, results, runLog } = await sweepLeftovers(context);

    expect(steps.map((step) => step.resource.id).sort()).toEqual([ids.oldSmoke, ids.oldBuild].sort());
    expect([...results.values()].map((result) => result.status)).toEqual(['done', 'done']);
    const after = await states(context);
    expect(after[ids.oldSmoke]).toBe('terminated');
    expect(after[ids.oldBuild]).toBe('terminated');
    expect(after[ids.fresh]).toBe('running');
    expect(after[ids.untagged]).toBe('running');
    expect(after[ids.current]).toBe('running');
    expect(steps.find((step) => step.resource.id === ids.oldSmoke)!.reason).toMatch(
      new RegExp(`terminate leftover smoke instance ${ids.oldSmoke} \\(running\\): its run old-run holds no lock and it is 18\\d min old`),
    );
    expect(await readFile(runLog!, 'utf8')).toContain(`sweep:us-east-1:${ids.oldSmoke}: sweep instance ${ids.oldSmoke} in us-east-1 — terminate leftover smoke instance`);

    await context.clients.ec2(region).send(new TerminateInstancesCommand({ InstanceIds: [ids.fresh, ids.untagged, ids.current] }));
    await expectNoLiveGildInstances(context);
    context.clients.destroy();
  });

  it('only says what it would terminate in a dry run', async () => {
    const { context } = newContext();
    const ids = await scene(context);

    const { plan, steps, results, said } = await sweepLeftovers(context, { dryRun: true });

    expect(steps).toHaveLength(2);
    // The trip stops after assembling: the runner never sees a dry run's plan.
    expect(results.size).toBe(0);
    expect(said).toContain(`sweep us-east-1 instance ${ids.oldSmoke}`);
    expect(said).toMatch(/Dry run: nothing was changed\.\n$/);
    expect(emulator.proxy.actions('ec2')).not.toContain('TerminateInstances');
    expect(formatRunPlan(plan)).toContain(`sweep us-east-1 instance ${ids.oldSmoke} — terminate leftover smoke instance`);
    expect((await states(context))[ids.oldSmoke]).toBe('running');

    await context.clients.ec2(region).send(new TerminateInstancesCommand({ InstanceIds: Object.values(ids) }));
    await expectNoLiveGildInstances(context);
    context.clients.destroy();
  });
});
