/**
 * The step table is the policy: the runner, the trip's outcome and the error
 * catalogue read a step's row, never its kind. Each test here changes one
 * column of one row of a fake table and shows the runner (or the outcome)
 * change with it; the stages are fakes that touch no AWS.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { applyPlan, stepsWithoutLease } from '../../src/apply/apply-plan.ts';
import { applyRun, takeTrip } from '../../src/apply/run-trip.ts';
import { StepFailure, WorldMoved, type StageRow, type StageTable } from '../../src/apply/step-stage.ts';
import { columnsOf, stepTable, type StepColumns } from '../../src/apply/step-table.ts';
import { createContext, type Context } from '../../src/context.ts';
import { catalogue } from '../../src/errors.ts';
import { createMemoryLogger } from '../../src/logger.ts';
import { planSchemaVersion, type PlanStep, type PlanStepKind, type RunPlan } from '../../src/plan/run-plan.ts';
import { pipelineSettingsSchema } from '../../src/settings/schema.ts';
import { resolvedImageFixture } from '../support/resolved-image-fixture.ts';
import { noAwsClients } from '../support/no-aws-clients.ts';

const kinds = Object.keys(stepTable) as PlanStepKind[];

type Fake = { readonly columns?: Partial<StepColumns>; readonly run?: (step: PlanStep) => Promise<unknown> };

/** The real table's rows with fake work (recorded), and the columns a test changes. */
function table(ran: string[], fakes: Partial<Record<PlanStepKind, Fake>> = {}): StageTable {
  const row = (kind: PlanStepKind): StageRow<PlanStepKind> => ({
    ...stepTable[kind],
    checkOutput: undefined,
    ...fakes[kind]?.columns,
    kind,
    title: (step) => step.id,
    async run(_context, step) {
      ran.push(step.id);
      return ((await fakes[kind]?.run?.(step)) ?? { amis: {} }) as never;
    },
  });
  return Object.fromEntries(kinds.map((kind) => [kind, row(kind)])) as unknown as StageTable;
}

const step = (id: string, after: readonly string[] = []) => {
  const [kind, image] = id.split(':') as [PlanStepKind, string];
  return { id, kind, image, after, reason: `planned ${id}`, precondition: 'test', regions: ['us-east-1'] } as unknown as PlanStep;
};

/** lock → build → smoke → publish → retire, and release after all of them. */
const chain = () => [
  step('lock:web'),
  step('build:web', ['lock:web']),
  step('smoke:web', ['lock:web', 'build:web']),
  step('publish:web', ['lock:web', 'smoke:web']),
  step('retire:web', ['lock:web', 'publish:web']),
  step('release:web', ['lock:web', 'build:web', 'smoke:web', 'publish:web', 'retire:web']),
];

const planOf = (steps: PlanStep[]): RunPlan => ({
  schema: planSchemaVersion,
  runId: '20261129T120000Z-table0',
  createdAt: '2026-11-29T12:00:00.000Z',
  ssmPrefix: '/golden',
  options: { force: false, images: ['web'] },
  observed: { at: '2026-11-29T12:00:00.000Z', digests: {} },
  images: [{ image: 'web', action: 'build', reason: 'new', currentVersion: undefined, nextVersion: '1.0.0' }],
  steps,
  kept: [],
});

let cwd: string;
let context: Context;
beforeEach(async () => {
  cwd = await mkdtemp(join(tmpdir(), 'gild-table-'));
  context = createContext({ cwd, env: {}, logger: createMemoryLogger(), settings: pipelineSettingsSchema.parse({}), clients: noAwsClients, runId: '20261129T120000Z-table0' });
});
afterEach(async () => {
  await rm(cwd, { recursive: true, force: true });
});

const images = [resolvedImageFixture({ name: 'web' })];
const apply = (stages: StageTable, steps = chain()) => applyPlan(context, planOf(steps), { stages, images, signal: new AbortController().signal, concurrency: 2 });
const failing = async (): Promise<never> => {
  throw new StepFailure('the smoke test failed');
};

describe('the runner reads columns', () => {
  it('gatesDependants: a failed smoke test skips the publish after it, unless its row orders without gating', async () => {
    const gated = await apply(table([], { smoke: { run: failing } }));
    expect(gated.results.get('publish:web')).toMatchObject({ status: 'skipped', reason: expect.stringContaining('smoke:web failed') });

    const ran: string[] = [];
    const ordering = await apply(table(ran, { smoke: { run: failing, columns: { gatesDependants: false } } }));
    expect(ordering.results.get('publish:web')?.status).toBe('done');
    expect(ran).toContain('publish:web');
  });

  it('runsAlways: a row that runs always runs after a failed step it waits for; the same step without it is skipped', async () => {
    const ran: string[] = [];
    await apply(table(ran, { build: { run: failing }, retire: { columns: { runsAlways: true } } }));
    expect(ran).toEqual(['lock:web', 'build:web', 'retire:web', 'release:web']);

    const without: string[] = [];
    await apply(table(without, { build: { run: failing }, release: { columns: { runsAlways: false } } }));
    expect(without).toEqual(['lock:web', 'build:web']);
  });

  it('lease: a mutating row inside the lease is refused without a lock before it; a row that takes the lease is not', async () => {
    const steps = [step('retire:web')];
    const byId = new Map(steps.map((planned) => [planned.id, planned]));
    expect(stepsWithoutLease(steps, byId, table([])).get('retire:web')).toMatch(/does not wait for web's lock/);
    expect(stepsWithoutLease(steps, byId, table([], { retire: { columns: { lease: 'takes' } } })).size).toBe(0);
    expect(stepsWithoutLease(steps, byId, table([], { retire: { columns: { mutates: false } } })).size).toBe(0);
  });

  it('checkOutput: a row whose check refuses the output fails the step, and what waits for it is skipped', async () => {
    const ran: string[] = [];
    const applied = await apply(table(ran, { build: { columns: { checkOutput: stepTable.build.checkOutput }, run: async () => ({ amis: {}, snapshots: {}, baseAmiId: 'ami-base' }) } }));
    expect(applied.results.get('build:web')).toMatchObject({ status: 'failed', reason: 'build:web did not give what it must: it returned no AMI for us-east-1' });
    expect(ran).not.toContain('smoke:web');

    const given = await apply(
      table([], { build: { columns: { checkOutput: stepTable.build.checkOutput }, run: async () => ({ amis: { 'us-east-1': 'ami-1' }, snapshots: {}, baseAmiId: 'ami-base' }) } }),
    );
    expect(given.results.get('build:web')?.status).toBe('done');
  });

  it('givesAmis: a step reads the AMIs of a step whose row gives them, and is refused those of one whose row does not', async () => {
    const seen: unknown[] = [];
    const amis = { amis: { 'us-east-1': 'ami-1' }, snapshots: {}, baseAmiId: 'ami-base' };
    const stages = table([], { build: { run: async () => amis } });
    /** The smoke row's work reads the AMIs of `from`, as amisOf does. */
    const withReader = (rows: StageTable, from: string): StageTable => ({
      ...rows,
      smoke: { ...rows.smoke, run: async (_context, _step, run) => (seen.push(run.builtAmis(from)), { outcome: 'passed' }) as never },
    });
    await apply(withReader(stages, 'build:web'));
    expect(seen).toEqual([amis]);

    const refused = await apply(withReader(table([], { build: { run: async () => amis, columns: { givesAmis: false } } }), 'build:web'));
    expect(refused.results.get('smoke:web')).toMatchObject({ status: 'failed', reason: expect.stringContaining('needs the AMIs of build:web') });
  });
});

describe('the outcome reads columns', () => {
  const moving = async (): Promise<never> => {
    throw new WorldMoved('another run retired it first');
  };

  it('yieldsWhenMoved: a moved step yields the image only when its row says so', async () => {
    const plain = await applyRun(context, planOf(chain()), images, { stages: table([], { retire: { run: moving } }), signal: new AbortController().signal });
    expect(plain.outcomes[0]?.result).not.toBe('yielded');

    const yielding = await applyRun(context, planOf(chain()), images, { stages: table([], { retire: { run: moving, columns: { yieldsWhenMoved: true } } }), signal: new AbortController().signal });
    expect(yielding.outcomes[0]).toMatchObject({ result: 'yielded', reason: 'another run retired it first' });
  });

  it('publishes: the image is published by the step whose row publishes, with its output', async () => {
    const published = { version: '1.0.0', amis: { 'us-east-1': 'ami-1' } };
    const byPublish = await applyRun(context, planOf(chain()), images, { stages: table([], { publish: { run: async () => published } }), signal: new AbortController().signal });
    expect(byPublish.outcomes[0]).toMatchObject({ result: 'published', version: '1.0.0' });

    const byRetire = await applyRun(context, planOf(chain()), images, {
      stages: table([], { publish: { columns: { publishes: false } }, retire: { run: async () => ({ version: '9.9.9', amis: {} }), columns: { publishes: true } } }),
      signal: new AbortController().signal,
    });
    expect(byRetire.outcomes[0]).toMatchObject({ result: 'published', version: '9.9.9' });
  });

  it('lease gives-back: giving the lease back is not what happened to the image, so its failure does not fail it', async () => {
    const { outcomes } = await applyRun(context, planOf(chain()), images, { stages: table([], { release: { run: failing } }), signal: new AbortController().signal });
    expect(outcomes[0]?.result).not.toBe('failed');
  });
});

describe('the error catalogue reads the phase column', () => {
  it('says the building account published when the failed step is in the distribution phase', () => {
    for (const kind of kinds.filter((candidate) => stepTable[candidate].phase === 'distribution')) {
      expect(catalogue.EPIPELINE([{ image: 'web', stage: kind }]).message).toContain('failed in a distribution account');
    }
    expect(catalogue.EPIPELINE([{ image: 'web', stage: 'smoke' }]).message).toContain('Nothing was published');
    expect(columnsOf('plan')).toBeUndefined();
  });
});

describe('a dry run is decided by the trip, after assembling', () => {
  it('shows the plan, refuses what must be refused, and never applies', async () => {
    const said: string[] = [];
    const order: string[] = [];
    const code = await takeTrip({
      heading: 'Plan for run x',
      plan: planOf([]),
      dryRun: true,
      say: (text) => void said.push(text),
      refuse: () => void order.push('refuse'),
      apply: async () => {
        order.push('apply');
        return 0;
      },
    });
    expect(code).toBe(0);
    expect(order).toEqual(['refuse']);
    expect(said.join('')).toMatch(/^Plan for run x:\n[\s\S]*Dry run: nothing was changed\.\n$/);
  });

  it('applies when it is not a dry run, and a dry run of a plan that already fails an image exits 1', async () => {
    expect(await takeTrip({ heading: 'p', plan: planOf([]), dryRun: false, say: () => {}, apply: async () => 7 })).toBe(7);
    const failing = { ...planOf([]), images: [{ image: 'web', action: 'error' as const, kind: 'pipeline' as const, reason: 'broken' }] };
    expect(await takeTrip({ heading: 'p', plan: failing, dryRun: true, say: () => {}, apply: async () => 0 })).toBe(1);
  });
});
