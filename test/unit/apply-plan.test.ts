/**
 * The runner alone decides whether and when a stage runs. Proven with a table
 * of fake stages (no AWS): each fake records its calls, and the ones a test is
 * about wait on promises the test resolves, so every assertion follows an
 * event, never a delay.
 */
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { applyPlan, detailsOf, type AppliedPlan } from '../../src/apply/apply-plan.ts';
import { StepFailure, WorldMoved, type StageRow, type StageTable, type StepOutputs, type StepRun, type StepStage } from '../../src/apply/step-stage.ts';
import { stepTable, type StepColumns } from '../../src/apply/step-table.ts';
import type { AwsClients } from '../../src/adapters/aws-clients.ts';
import { createContext, type Context } from '../../src/context.ts';
import { createMemoryLogger } from '../../src/logger.ts';
import { planSchemaVersion, type PlanStep, type PlanStepKind, type RunPlan } from '../../src/plan/run-plan.ts';
import { pipelineSettingsSchema } from '../../src/settings/schema.ts';
import { resolvedImageFixture } from '../support/resolved-image-fixture.ts';

const allKinds: readonly PlanStepKind[] = ['sweep', 'unlock', 'lock', 'release', 'cleanup', 'build', 'resume', 'smoke', 'publish', 'retire'];

/** A step has to reach a stage; no stage here touches AWS, and this proves it. */
const noClients: AwsClients = {
  ec2: () => {
    throw new Error('a fake stage asked for an EC2 client');
  },
  ssm: () => {
    throw new Error('a fake stage asked for an SSM client');
  },
  autoscaling: () => {
    throw new Error('not used');
  },
  ec2Endpoint: undefined,
  defaultRegion: undefined,
  destroy() {},
};

interface Deferred<T = void> {
  readonly promise: Promise<T>;
  resolve(value: T): void;
  reject(error: unknown): void;
}

function deferred<T = void>(): Deferred<T> {
  let resolve!: (value: T) => void;
  let reject!: (error: unknown) => void;
  const promise = new Promise<T>((resolvePromise, rejectPromise) => {
    resolve = resolvePromise;
    reject = rejectPromise;
  });
  return { promise, resolve, reject };
}

type FakeBehaviour = Partial<Pick<StepColumns, 'mutates' | 'heavy'>> &
  Pick<StepStage<PlanStepKind>, 'check'> & {
    run?: (step: PlanStep, run: StepRun) => Promise<unknown>;
  };

interface Fakes {
  readonly stages: StageTable;
  /** Step ids in the order their stage's run() was called. */
  readonly ran: string[];
  /** Step ids whose check() was called. */
  readonly checked: string[];
}

/** Every kind a non-mutating, light stage that succeeds at once, except what a test says. */
function fakeStages(behaviours: Partial<Record<PlanStepKind, FakeBehaviour>> = {}): Fakes {
  const ran: string[] = [];
  const checked: string[] = [];
  const stage = (kind: PlanStepKind): StageRow<PlanStepKind> => {
    const behaviour = behaviours[kind] ?? {};
    const check = behaviour.check;
    return {
      // The real table's columns (what orders, gates, gives back), but no output check: the fakes' outputs are not real.
      ...stepTable[kind],
      checkOutput: undefined,
      kind,
      title: (step) => `fake ${step.id}`,
      mutates: behaviour.mutates ?? false,
      heavy: behaviour.heavy ?? false,
      ...(check
        ? {
            check: (context: Context, step: PlanStep, run: StepRun) => {
              checked.push(step.id);
              return check(context, step as never, run);
            },
          }
        : {}),
      async run(_context, step, run) {
        ran.push(step.id);
        return ((await behaviour.run?.(step, run)) ?? { fake: step.id }) as StepOutputs[PlanStepKind];
      },
    };
  };
  return { stages: Object.fromEntries(allKinds.map((kind) => [kind, stage(kind)])) as unknown as StageTable, ran, checked };
}

/** A step with only what the runner reads; the stages here are fakes and read nothing else. */
function step(id: string, after: readonly string[] = []): PlanStep {
  const [kind, image] = id.split(':') as [PlanStepKind, string | undefined];
  return { id, kind, ...(kind === 'sweep' ? {} : { image }), after, reason: `test ${id}`, precondition: 'test' } as unknown as PlanStep;
}

/** One image's usual chain: lock → build → smoke → publish, and release after all of them. */
function imageSteps(image: string, options: { buildAfter?: readonly string[] } = {}): PlanStep[] {
  return [
    step(`lock:${image}`),
    step(`build:${image}`, [`lock:${image}`, ...(options.buildAfter ?? [])]),
    step(`smoke:${image}`, [`build:${image}`]),
    step(`publish:${image}`, [`smoke:${image}`]),
    step(`release:${image}`, [`lock:${image}`, `build:${image}`, `smoke:${image}`, `publish:${image}`]),
  ];
}

function planOf(steps: readonly PlanStep[]): RunPlan {
  return {
    schema: planSchemaVersion,
    runId: '20261129T120000Z-test00',
    createdAt: '2026-11-29T12:00:00.000Z',
    ssmPrefix: '/golden',
    options: { force: false, images: [] },
    observed: { at: '2026-11-29T12:00:00.000Z', digests: {} },
    images: [],
    steps,
    kept: [],
  };
}

let cwd: string;
let context: Context;

beforeEach(async () => {
  cwd = await mkdtemp(join(tmpdir(), 'gild-apply-'));
  context = createContext({ cwd, env: {}, logger: createMemoryLogger(), settings: pipelineSettingsSchema.parse({}), clients: noClients, runId: '20261129T120000Z-test00' });
});

afterEach(async () => {
  await rm(cwd, { recursive: true, force: true });
});

function apply(steps: readonly PlanStep[], fakes: Fakes, options: { concurrency?: number; signal?: AbortSignal } = {}): Promise<AppliedPlan> {
  const names = [...new Set(steps.flatMap((planned) => ('image' in planned ? [planned.image] : [])))];
  return applyPlan(context, planOf(steps), {
    stages: fakes.stages,
    images: names.map((name) => resolvedImageFixture({ name })),
    signal: options.signal ?? new AbortController().signal,
    concurrency: options.concurrency ?? 4,
  });
}

const statuses = (applied: AppliedPlan) => Object.fromEntries([...applied.results].map(([id, result]) => [id, result.status]));
const resultOf = (applied: AppliedPlan, id: string) => applied.results.get(id)!;

describe('applyPlan', () => {
  it('runs every step once, each after the steps it depends on, and hands each its output', async () => {
    const seen: unknown[] = [];
    const fakes = fakeStages({
      build: { run: async () => ({ amis: { 'us-east-1': 'ami-new' }, snapshots: {}, baseAmiId: 'ami-base' }) },
      smoke: { run: async (_step, run) => void seen.push(run.output('build:web', 'build')) },
    });

    const applied = await apply(imageSteps('web'), fakes);

    expect(fakes.ran).toEqual(['lock:web', 'build:web', 'smoke:web', 'publish:web', 'release:web']);
    expect(seen).toEqual([{ amis: { 'us-east-1': 'ami-new' }, snapshots: {}, baseAmiId: 'ami-base' }]);
    expect(Object.values(statuses(applied))).toEqual(['done', 'done', 'done', 'done', 'done']);
  });

  it('never runs more heavy stages at once than the concurrency allows', async () => {
    let active = 0;
    let mostActive = 0;
    const started = new Map<string, Deferred>();
    const finish = new Map<string, Deferred>();
    for (const image of ['a', 'b', 'c']) {
      started.set(image, deferred());
      finish.set(image, deferred());
    }
    const fakes = fakeStages({
      build: {
        heavy: true,
        run: async (planned) => {
          const image = (planned as { image: string }).image;
          active++;
          mostActive = Math.max(mostActive, active);
          started.get(image)!.resolve();
          await finish.get(image)!.promise;
          active--;
        },
      },
    });

    const applying = apply([...imageSteps('a'), ...imageSteps('b'), ...imageSteps('c')], fakes, { concurrency: 2 });
    await Promise.all([started.get('a')!.promise, started.get('b')!.promise]);
    expect(fakes.ran.filter((id) => id.startsWith('build:'))).toEqual(['build:a', 'build:b']);

    // c gets the slot a gives back.
    finish.get('a')!.resolve();
    await started.get('c')!.promise;
    finish.get('b')!.resolve();
    finish.get('c')!.resolve();
    const applied = await applying;

    expect(mostActive).toBe(2);
    expect(Object.values(statuses(applied)).every((status) => status === 'done')).toBe(true);
  });

  it('holds no slot while a step waits for its dependency', async () => {
    const basePublished = deferred();
    const otherBuilding = deferred();
    const fakes = fakeStages({
      build: {
        heavy: true,
        run: async (planned) => {
          if (planned.id === 'build:other') otherBuilding.resolve();
        },
      },
      publish: {
        run: async (planned) => {
          if (planned.id === 'publish:base') await basePublished.promise;
        },
      },
    });

    // One slot. app's build waits for base's publish; other's build must get the slot meanwhile.
    const applying = apply([...imageSteps('base'), ...imageSteps('app', { buildAfter: ['publish:base'] }), ...imageSteps('other')], fakes, { concurrency: 1 });
    await otherBuilding.promise;
    expect(fakes.ran).not.toContain('build:app');
    basePublished.resolve();
    const applied = await applying;

    expect(fakes.ran.indexOf('build:app')).toBeGreaterThan(fakes.ran.indexOf('publish:base'));
    expect(resultOf(applied, 'build:app').status).toBe('done');
  });

  it('skips the steps after a failed one, saying which step failed and why', async () => {
    const fakes = fakeStages({ build: { run: async () => Promise.reject(new StepFailure('Packer build failed for image "web"', ['exit code 1'])) } });

    const applied = await apply(imageSteps('web'), fakes);

    expect(resultOf(applied, 'build:web')).toMatchObject({ status: 'failed', reason: 'Packer build failed for image "web"' });
    expect(resultOf(applied, 'smoke:web')).toEqual({ status: 'skipped', reason: 'build:web failed: Packer build failed for image "web"' });
    expect(resultOf(applied, 'publish:web')).toEqual({ status: 'skipped', reason: 'smoke:web did not run: build:web failed: Packer build failed for image "web"' });
    expect(fakes.ran).not.toContain('smoke:web');
    expect(fakes.ran).not.toContain('publish:web');
  });

  it('keeps one image failing from touching another', async () => {
    const fakes = fakeStages({
      smoke: {
        run: async (planned) => {
          if (planned.id === 'smoke:bad') throw new StepFailure('smoke test failed: check "nginx" exited 3');
        },
      },
    });

    const applied = await apply([...imageSteps('bad'), ...imageSteps('good')], fakes);

    expect(statuses(applied)).toMatchObject({ 'smoke:bad': 'failed', 'publish:bad': 'skipped', 'release:bad': 'done', 'smoke:good': 'done', 'publish:good': 'done', 'release:good': 'done' });
  });

  it('lets images go on when a sweep of leftovers fails, after it has run', async () => {
    const fakes = fakeStages({
      sweep: {
        run: async (planned) => {
          if (planned.id === 'sweep:us-east-1:i-1') throw new StepFailure('AWS refused to terminate i-1: UnauthorizedOperation');
        },
      },
    });
    const sweeps = [step('sweep:us-east-1:i-1'), step('sweep:us-east-1:sg-1', ['sweep:us-east-1:i-1'])];
    const [lock, ...rest] = imageSteps('web');

    const applied = await apply([...sweeps, { ...lock!, after: sweeps.map((sweep) => sweep.id) }, ...rest], fakes);

    expect(resultOf(applied, 'sweep:us-east-1:i-1').status).toBe('failed');
    // A sweep after a failed sweep is still skipped: a group cannot go while its instance lives.
    expect(resultOf(applied, 'sweep:us-east-1:sg-1')).toEqual({ status: 'skipped', reason: 'sweep:us-east-1:i-1 failed: AWS refused to terminate i-1: UnauthorizedOperation' });
    expect(fakes.ran.indexOf('lock:web')).toBeGreaterThan(fakes.ran.indexOf('sweep:us-east-1:i-1'));
    expect(resultOf(applied, 'publish:web').status).toBe('done');
  });

  it('reports a thrown error as failed with the error whole, cause included, never as skipped', async () => {
    const cause = Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:4566'), { name: 'NetworkingError' });
    const thrown = new Error('could not read the AMI', { cause });
    const fakes = fakeStages({ build: { run: async () => Promise.reject(thrown) } });

    const applied = await apply(imageSteps('web'), fakes);

    const result = resultOf(applied, 'build:web');
    expect(result).toMatchObject({ status: 'failed', reason: 'could not read the AMI' });
    expect(result.status === 'failed' && result.error).toBe(thrown);
    expect(detailsOf(thrown)).toEqual(['caused by NetworkingError: connect ECONNREFUSED 127.0.0.1:4566']);
  });

  it('gives the lock back after a failed step, but not a lock it never took', async () => {
    const fakes = fakeStages({
      lock: {
        run: async (planned) => {
          if (planned.id === 'lock:taken-elsewhere') throw new WorldMoved('run 20261129T110000Z-other0 took the lock first');
        },
      },
      build: {
        run: async (planned) => {
          if (planned.id === 'build:failing') throw new StepFailure('Packer build failed');
        },
      },
    });

    const applied = await apply([...imageSteps('failing'), ...imageSteps('taken-elsewhere')], fakes);

    expect(resultOf(applied, 'release:failing').status).toBe('done');
    expect(fakes.ran).toContain('release:failing');
    expect(resultOf(applied, 'lock:taken-elsewhere')).toEqual({ status: 'moved', reason: 'run 20261129T110000Z-other0 took the lock first' });
    expect(resultOf(applied, 'release:taken-elsewhere')).toEqual({ status: 'skipped', reason: 'the lock was never taken' });
    expect(fakes.ran).not.toContain('release:taken-elsewhere');
  });

  it('does not run a step whose precondition no longer holds, and says what moved', async () => {
    const fakes = fakeStages({
      publish: { check: async (_context, planned) => (planned.id === 'publish:web' ? '/golden/web/latest was moved to ami-theirs' : false) },
    });

    const applied = await apply(imageSteps('web'), fakes);

    expect(fakes.checked).toEqual(['publish:web']);
    expect(fakes.ran).not.toContain('publish:web');
    expect(resultOf(applied, 'publish:web')).toEqual({ status: 'moved', reason: '/golden/web/latest was moved to ami-theirs' });
    expect(resultOf(applied, 'release:web').status).toBe('done');
  });

  it('skips the rest of an image whose lease was lost, and only that image', async () => {
    const lockRuns = new Map<string, StepRun>();
    const building = deferred();
    const buildMayFinish = deferred();
    let buildSignal: AbortSignal | undefined;
    const fakes = fakeStages({
      lock: { run: async (planned, run) => void lockRuns.set(planned.id, run) },
      build: {
        run: async (planned, run) => {
          if (planned.id !== 'build:web') return;
          buildSignal = run.signal;
          building.resolve();
          await buildMayFinish.promise;
        },
      },
    });

    const applying = apply([...imageSteps('web'), ...imageSteps('api')], fakes);
    await building.promise;
    // What the lock stage's renewal does when another run took the lease over.
    lockRuns.get('lock:web')!.onLeaseLost('run 20261129T130000Z-other1 holds it now');
    expect(buildSignal?.aborted).toBe(true);
    buildMayFinish.resolve();
    const applied = await applying;

    expect(resultOf(applied, 'smoke:web')).toEqual({ status: 'skipped', reason: "the image's lock was lost: run 20261129T130000Z-other1 holds it now" });
    expect(fakes.ran).not.toContain('smoke:web');
    expect(statuses(applied)).toMatchObject({ 'smoke:api': 'done', 'publish:api': 'done' });
  });

  it('starts nothing new once the run is interrupted', async () => {
    const interrupt = new AbortController();
    const fakes = fakeStages({ build: { run: async () => void interrupt.abort() } });

    const applied = await apply(imageSteps('web'), fakes, { signal: interrupt.signal });

    expect(resultOf(applied, 'build:web').status).toBe('done');
    expect(resultOf(applied, 'smoke:web')).toEqual({ status: 'skipped', reason: 'interrupted before it started' });
    expect(resultOf(applied, 'release:web').status).toBe('done');
  });

  it('gives a step running beside another that step’s result once it settles, without waiting for it first', async () => {
    const besideStarted = deferred();
    const seen: unknown[] = [];
    const fakes = fakeStages({
      smoke: {
        run: async () => {
          // The smoke step ends only once the step beside it is running: `settled` never orders the two.
          await besideStarted.promise;
          throw new StepFailure('could not tag the AMI failed');
        },
      },
      retire: {
        run: async (_step, run) => {
          const smoke = run.settled('smoke:web');
          seen.push(run.settled('retire:web'), run.settled('no-such-step'));
          besideStarted.resolve();
          seen.push(await smoke);
          return { removed: [] };
        },
      },
    });

    const applied = await apply([step('lock:web'), step('build:web', ['lock:web']), step('smoke:web', ['build:web']), step('retire:web', ['lock:web', 'build:web'])], fakes);

    expect(seen).toEqual([undefined, undefined, expect.objectContaining({ status: 'failed', reason: 'could not tag the AMI failed' })]);
    expect(seen[2]).toBe(resultOf(applied, 'smoke:web'));
    expect(statuses(applied)).toMatchObject({ 'smoke:web': 'failed', 'retire:web': 'done' });
  });

  it('lets the steps after a step go on while what it left to settle finishes, and returns only once that has', async () => {
    const termination = deferred();
    const released = deferred();
    const fakes = fakeStages({
      smoke: { run: async (_step, run) => void run.settleLater('terminating the smoke instance', termination.promise) },
      release: { run: async () => released.resolve() },
    });
    let returned = false;

    const applying = apply(imageSteps('web'), fakes).finally(() => (returned = true));
    await released.promise;
    // Every step ran while the termination was pending; one turn of the event loop later, the run still waits for it.
    await new Promise((resolve) => setImmediate(resolve));
    expect(fakes.ran).toEqual(['lock:web', 'build:web', 'smoke:web', 'publish:web', 'release:web']);
    expect(returned).toBe(false);

    termination.resolve();
    const applied = await applying;
    expect(Object.values(statuses(applied)).every((status) => status === 'done')).toBe(true);
  });

  it('records what failed to settle as a failure of the run, with its error, while the step that left it stays done', async () => {
    const refused = new Error('TerminateInstances refused');
    const fakes = fakeStages({ smoke: { run: async (_step, run) => void run.settleLater('terminating the smoke instance', Promise.reject(refused)) } });

    const applied = await apply(imageSteps('web'), fakes);

    expect(resultOf(applied, 'smoke:web').status).toBe('done');
    expect(resultOf(applied, 'publish:web').status).toBe('done');
    expect(applied.settleFailures).toEqual([{ stepId: 'smoke:web', description: 'terminating the smoke instance', reason: 'TerminateInstances refused', error: refused }]);
    expect(await readFile(applied.logFiles.get('web')!, 'utf8')).toContain('terminating the smoke instance failed: TerminateInstances refused');
  });

  it('records nothing to settle as failed when the settle work succeeds', async () => {
    const fakes = fakeStages({ smoke: { run: async (_step, run) => void run.settleLater('terminating the smoke instance', Promise.resolve()) } });

    const applied = await apply(imageSteps('web'), fakes);

    expect(applied.settleFailures).toEqual([]);
  });
});
