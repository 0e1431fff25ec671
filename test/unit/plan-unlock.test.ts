/**
 * `gild unlock` is a plan like every change: the assembler (src/plan/plan-unlock.ts) decides from the lock's observed
 * value alone, and the runner applies it with the real lock rows against an in-memory Parameter Store behind the SDK
 * client (aws-sdk-client-mock, at the adapter seam): the take-over re-reads the lock right before it, so a lock that
 * changed since the plan is left alone, and the release that follows removes what was taken over.
 */
import { DeleteParameterCommand, GetParameterCommand, ParameterAlreadyExists, ParameterNotFound, PutParameterCommand, SSMClient } from '@aws-sdk/client-ssm';
import { mockClient } from 'aws-sdk-client-mock';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { applyRun } from '../../src/apply/run-trip.ts';
import { withColumns, type StageTable } from '../../src/apply/step-stage.ts';
import { createContext, type Context } from '../../src/context.ts';
import { createMemoryLogger } from '../../src/logger.ts';
import type { Lease, LeaseState } from '../../src/observe/inventory.ts';
import { formatLease, observeLeaseState, takeoverClaimName } from '../../src/observe/parse-lease.ts';
import { formatRunPlan } from '../../src/plan/format-run-plan.ts';
import { parseRunPlan } from '../../src/plan/run-plan-schema.ts';
import { planUnlock, type UnlockInput } from '../../src/plan/plan-unlock.ts';
import type { RunPlan } from '../../src/plan/run-plan.ts';
import { pipelineSettingsSchema } from '../../src/settings/schema.ts';
import { lockStage, releaseStage, unlockStage } from '../../src/stages/lock.ts';
import { resolvedImageFixture } from '../support/resolved-image-fixture.ts';

const lockName = '/golden/web/lock';
const now = new Date('2026-11-29T12:00:00.000Z');
const here = { host: 'this-host', bootId: 'boot-1', pidNamespace: 'pid:[1]', isPidAlive: (pid: number) => pid === 4242 };

const lease = (fields: Partial<Lease> = {}): Lease => ({
  runId: '20261129T110000Z-other0',
  host: 'ci-runner-7',
  pid: 777,
  takenAt: '2026-11-29T11:00:00.000Z',
  expiresAt: '2026-11-29T11:15:00.000Z',
  ...fields,
});
const observed = (raw: string | undefined): LeaseState => observeLeaseState(raw, here);
const live = lease({ expiresAt: '2026-11-29T12:10:00.000Z' });

const input = (state: LeaseState, force = false): UnlockInput => ({
  runId: '20261129T120000Z-unlck0',
  now,
  image: { name: 'web', buildRegion: 'us-east-1' },
  ssmPrefix: '/golden',
  parameterName: lockName,
  lease: state,
  observedAt: now.toISOString(),
  force,
});

const planOf = (state: LeaseState, force = false): RunPlan & { confirm: string } => {
  const planned = planUnlock(input(state, force));
  if (!('plan' in planned)) throw new Error(`expected a plan, got ${JSON.stringify(planned)}`);
  return { ...planned.plan, confirm: planned.confirm };
};

describe('planUnlock', () => {
  it('has nothing to do when the lock is free, and says so', () => {
    expect(planUnlock(input(observed(undefined)))).toEqual({ free: 'web is not locked (/golden/web/lock does not exist in us-east-1).' });
  });

  it('refuses a lease whose owner may still be working unless forced, naming the holder and the command', () => {
    expect(planUnlock(input(observed(formatLease(live))))).toEqual({
      refused:
        '/golden/web/lock is held by run 20261129T110000Z-other0 (pid 777 on ci-runner-7, since 2026-11-29T11:00:00.000Z, expires 2026-11-29T12:10:00.000Z), which may still be working. Wait for it; if you know it is gone, run `gild unlock web --yes --force`.',
    });
    // On this host, in this boot and PID namespace, a dead pid is gone whatever the expiry says.
    const dead = lease({ host: 'this-host', bootId: 'boot-1', pidNamespace: 'pid:[1]', pid: 999, expiresAt: live.expiresAt });
    expect(planUnlock(input(observed(formatLease(dead))))).toHaveProperty('plan');
  });

  it('plans a stale lease as a take-over, re-checked against what was read, then a release; every step with its reason', () => {
    const raw = formatLease(lease());
    const plan = planOf(observed(raw));
    expect(plan.steps).toEqual([
      expect.objectContaining({
        id: 'unlock:web',
        kind: 'unlock',
        parameterName: lockName,
        observedValue: raw,
        after: [],
        precondition: `${lockName} still holds what was read at ${now.toISOString()}`,
      }),
      expect.objectContaining({ id: 'release:web', kind: 'release', parameterName: lockName, after: ['unlock:web'] }),
    ]);
    expect(plan.steps[0]).not.toHaveProperty('breakReason');
    expect(plan.steps.every((step) => step.reason.length > 0)).toBe(true);
    expect(plan.images).toEqual([expect.objectContaining({ image: 'web', action: 'change', reason: expect.stringContaining('it expired at 2026-11-29T11:15:00.000Z') })]);
    expect(plan.confirm).toBe(
      '/golden/web/lock is held by run 20261129T110000Z-other0 (pid 777 on ci-runner-7, since 2026-11-29T11:00:00.000Z, expires 2026-11-29T11:15:00.000Z) (it expired at 2026-11-29T11:15:00.000Z (run 20261129T110000Z-other0 on ci-runner-7 stopped renewing it)). Run `gild unlock web --yes` to remove it.',
    );
    expect(formatRunPlan(plan)).toContain('unlock /golden/web/lock (stale lease of run 20261129T110000Z-other0) — remove the lock held by run 20261129T110000Z-other0');
    // A plan is a JSON document like any other: the schema takes it back unchanged.
    const { confirm: _confirm, ...document } = plan;
    expect(parseRunPlan(JSON.parse(JSON.stringify(document))).plan).toEqual(document);
  });

  it('breaks a live lease only with --force, and a value that is not a gild lease with --yes alone, saying why on the step', () => {
    const forced = planOf(observed(formatLease(live)), true);
    expect(forced.steps[0]).toMatchObject({ kind: 'unlock', breakReason: '--force: its owner may still be working' });
    expect(forced.confirm).toMatch(/Run `gild unlock web --yes --force` to remove it\.$/);
    expect(formatRunPlan(forced)).toContain('unlock /golden/web/lock (lease of run 20261129T110000Z-other0)');
    const byHand = planOf(observed('held by hand for maintenance'));
    expect(byHand.steps[0]).toMatchObject({ kind: 'unlock', observedValue: 'held by hand for maintenance', lease: undefined, breakReason: expect.stringContaining('not a gild lease') });
    expect(byHand.confirm).toBe('/golden/web/lock is held by "held by hand for maintenance" (it is not a gild lease). Run `gild unlock web --yes` to remove it.');
    expect(formatRunPlan(byHand)).toContain('unlock /golden/web/lock (not a gild lease)');
  });
});

function parameterStore(store: Map<string, string>, beforeRead: (name: string) => void = () => {}): SSMClient {
  const ssm = new SSMClient({ region: 'us-east-1' });
  const mock = mockClient(ssm);
  mock.on(GetParameterCommand).callsFake(({ Name }: { Name: string }) => {
    beforeRead(Name);
    const value = store.get(Name);
    if (value === undefined) throw new ParameterNotFound({ message: Name, $metadata: {} });
    return { Parameter: { Name, Value: value, Version: 1 } };
  });
  mock.on(PutParameterCommand).callsFake(({ Name, Value, Overwrite }: { Name: string; Value: string; Overwrite?: boolean }) => {
    if (store.has(Name) && !Overwrite) throw new ParameterAlreadyExists({ message: Name, $metadata: {} });
    store.set(Name, Value);
    return { Version: 1 };
  });
  mock.on(DeleteParameterCommand).callsFake(({ Name }: { Name: string }) => {
    if (!store.delete(Name)) throw new ParameterNotFound({ message: Name, $metadata: {} });
    return {};
  });
  return ssm;
}

describe('an unlock plan through the runner', () => {
  let cwd: string;
  let store: Map<string, string>;
  let beforeRead: (name: string) => void;
  let context: Context;
  beforeEach(async () => {
    cwd = await mkdtemp(join(tmpdir(), 'gild-unlock-'));
    store = new Map();
    beforeRead = () => {};
    const ssm = parameterStore(store, (name) => beforeRead(name));
    const clients = { ssm: () => ssm, destroy: () => {} } as unknown as Context['clients'];
    context = createContext({
      cwd,
      env: {},
      logger: createMemoryLogger(),
      settings: pipelineSettingsSchema.parse({}),
      clients,
      runId: '20261129T120000Z-unlck0',
      now: () => now,
      processInfo: { ...here, pid: 4242 },
    });
  });
  afterEach(async () => {
    await rm(cwd, { recursive: true, force: true });
  });

  const stages = withColumns({ lock: lockStage, unlock: unlockStage, release: releaseStage } as never) as StageTable;
  const apply = (plan: RunPlan) => applyRun(context, plan, [resolvedImageFixture({ name: 'web' })], { stages, signal: new AbortController().signal });

  it('removes a stale lease, leaving no take-over claim behind', async () => {
    store.set(lockName, formatLease(lease()));
    const { applied, outcomes } = await apply(planOf(observed(store.get(lockName))));
    expect(applied.results.get('unlock:web')).toMatchObject({ status: 'done' });
    expect(applied.results.get('release:web')).toMatchObject({ status: 'done', output: { released: true } });
    expect(outcomes).toEqual([expect.objectContaining({ image: 'web', result: 'unchanged' })]);
    expect([...store.keys()]).toEqual([]);
  });

  it('removes a live lease with --force, and a value that is not a lease', async () => {
    store.set(lockName, formatLease(live));
    await apply(planOf(observed(store.get(lockName)), true));
    expect(store.has(lockName)).toBe(false);
    store.set(lockName, 'held by hand');
    await apply(planOf(observed('held by hand')));
    expect([...store.keys()]).toEqual([]);
  });

  it('leaves the lock alone when it changed after the plan was made: the image yields, with what it now holds', async () => {
    store.set(lockName, formatLease(lease()));
    const plan = planOf(observed(store.get(lockName)));
    const renewed = formatLease(lease({ expiresAt: '2026-11-29T12:20:00.000Z' }));
    // The owner renewed its lease between the plan and the step's re-check.
    beforeRead = (name) => {
      if (name === lockName) store.set(lockName, renewed);
    };
    const { applied, outcomes } = await apply(plan);
    expect(applied.results.get('unlock:web')).toEqual({ status: 'moved', reason: `${lockName} changed since the plan: it now holds ${renewed}` });
    expect(applied.results.get('release:web')).toEqual({ status: 'skipped', reason: 'the lock was never taken' });
    expect(outcomes).toEqual([expect.objectContaining({ image: 'web', result: 'yielded' })]);
    expect(store.get(lockName)).toBe(renewed);
  });

  it('breaks a live lease with --force, but never another taker’s live claim on it: that taker is left to finish', async () => {
    store.set(lockName, formatLease(live));
    const claim = takeoverClaimName(lockName, formatLease(live));
    const otherTaker = formatLease(lease({ runId: '20261129T115900Z-taker0', expiresAt: '2026-11-29T12:01:00.000Z' }));
    store.set(claim, otherTaker);
    const { outcomes } = await apply(planOf(observed(formatLease(live)), true));
    expect(outcomes).toEqual([expect.objectContaining({ result: 'yielded', reason: expect.stringMatching(/another run is taking over the stale lock of web \(run 20261129T115900Z-taker0/) })]);
    expect(Object.fromEntries(store)).toEqual({ [lockName]: formatLease(live), [claim]: otherTaker });
  });

  it('takes no live lease over in a plan without breakReason (a run’s take-over of what it found stale)', async () => {
    store.set(lockName, formatLease(live));
    const stalePlan = planOf(observed(formatLease(live)), true);
    const { breakReason: _dropped, ...runStep } = stalePlan.steps[0] as Extract<RunPlan['steps'][number], { kind: 'unlock' }>;
    const { outcomes } = await apply({ ...stalePlan, steps: [runStep, stalePlan.steps[1]!] });
    expect(outcomes).toEqual([expect.objectContaining({ result: 'yielded', reason: expect.stringMatching(/is held by run 20261129T110000Z-other0/) })]);
    expect(store.get(lockName)).toBe(formatLease(live));
  });
});
