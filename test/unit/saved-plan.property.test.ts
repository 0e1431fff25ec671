/**
 * For any edit of a valid saved plan (drop, add, duplicate or reorder a step; change, remove or retype one field),
 * `run --plan` either applies exactly what a fresh plan would or refuses: never anything else. At the level of the
 * schema and the comparison with the fresh plan, with the runner's stages stubbed to record what they were given.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { applyRun } from '../../src/apply/run-trip.ts';
import type { StageRow, StageTable } from '../../src/apply/step-stage.ts';
import { stepTable } from '../../src/apply/step-table.ts';
import { createContext, type Context } from '../../src/context.ts';
import { createMemoryLogger } from '../../src/logger.ts';
import type { ObservedAmi, ObservedParameter } from '../../src/observe/inventory.ts';
import { assemblePlan } from '../../src/plan/assemble-plan.ts';
import { compareSavedPlan } from '../../src/plan/compare-saved-plan.ts';
import { parseRunPlan } from '../../src/plan/run-plan-schema.ts';
import type { PlanStepKind, RunPlan } from '../../src/plan/run-plan.ts';
import { pipelineSettingsSchema } from '../../src/settings/schema.ts';
import { ami, inventoryFixture, parameter } from '../support/inventory-fixture.ts';
import { resolvedImageFixture } from '../support/resolved-image-fixture.ts';
import { noAwsClients } from '../support/no-aws-clients.ts';

const kinds: PlanStepKind[] = [
  'sweep',
  'unlock',
  'lock',
  'release',
  'cleanup',
  'build',
  'packer-exit',
  'resume',
  'smoke',
  'discard',
  'share',
  'publish',
  'retire',
  'repoint',
  'hold',
  'revoke',
  'distribute',
  'account-smoke',
  'account-publish',
  'retire-copy',
];
const runId = '20261129T120000Z-run000';
const image = resolvedImageFixture({ name: 'web', version: '1.0.0', retention: { keep: 2, minAgeDays: 0, phases: {} }, copyRegions: ['us-west-2'] });

/** A world with something of every kind to do: a forced build, a publish, retirements and a failed build to clean up. */
function freshPlan(): RunPlan {
  const regions = ['us-east-1', 'us-west-2'];
  const published = ['1.0.0', '1.0.1', '1.0.2', '1.0.3'];
  const byRegion = Object.fromEntries(regions.map((region) => [region, { parameters: [] as ObservedParameter[], amis: [] as ObservedAmi[] }]));
  for (const region of regions) {
    for (const version of published) {
      const amiId = `ami-${version.replaceAll('.', '')}${region.length}`;
      byRegion[region]!.parameters.push(parameter(`/golden/web/versions/${version}`, amiId));
      byRegion[region]!.amis.push(ami(amiId, { 'gild:image': 'web', 'gild:status': 'published', 'gild:version': version, 'gild:fingerprint': 'fp', 'gild:base-ami': 'ami-base1' }));
    }
    byRegion[region]!.parameters.push(parameter('/golden/web/latest', `ami-103${region.length}`));
  }
  byRegion['us-east-1']!.amis.push(
    ami('ami-failed1', { 'gild:image': 'web', 'gild:status': 'failed', 'gild:version': '1.0.4', 'gild:fingerprint': 'fp-old', 'gild:base-ami': 'ami-base1', 'gild:run-id': '20261120T100000Z-old000' }),
  );
  return assemblePlan({
    runId,
    now: new Date('2026-11-29T12:00:00.000Z'),
    images: [image],
    fingerprints: { web: 'fp' },
    inventory: inventoryFixture({ regions: byRegion, bases: { web: { kind: 'resolved', amiId: 'ami-base1', source: 'ssm:/aws/service/al2023' } } }),
    force: true,
    settings: { sweepAfterMinutes: 120, rebuildAfterDays: undefined },
  });
}

const fresh = freshPlan();
const saved = JSON.parse(JSON.stringify(fresh)) as { steps: Record<string, unknown>[] } & Record<string, unknown>;

/** Every path to a leaf (or an empty array/object) in the steps, the decisions and the plan's own fields. */
function leafPaths(value: unknown, path: (string | number)[] = []): (string | number)[][] {
  if (Array.isArray(value)) return value.length === 0 ? [path] : value.flatMap((item, index) => leafPaths(item, [...path, index]));
  if (value !== null && typeof value === 'object') {
    const entries = Object.entries(value);
    return entries.length === 0 ? [path] : entries.flatMap(([key, item]) => leafPaths(item, [...path, key]));
  }
  return [path];
}
const paths = leafPaths(saved);
const strings = [
  ...new Set(paths.map((path) => path.reduce<unknown>((value, key) => (value as Record<string | number, unknown>)[key], saved)).filter((value): value is string => typeof value === 'string')),
];

type Edit =
  | { kind: 'drop'; index: number }
  | { kind: 'duplicate'; index: number; at: number }
  | { kind: 'add'; from: number; id: string; at: number }
  | { kind: 'reorder'; from: number; to: number }
  | { kind: 'change'; path: (string | number)[]; value: unknown };

const stepIndex = fc.nat({ max: saved.steps.length - 1 });
const edit: fc.Arbitrary<Edit> = fc.oneof(
  fc.record({ kind: fc.constant('drop' as const), index: stepIndex }),
  fc.record({ kind: fc.constant('duplicate' as const), index: stepIndex, at: stepIndex }),
  fc.record({ kind: fc.constant('add' as const), from: stepIndex, id: fc.constantFrom('retire:web:1.0.2:us-east-1', 'publish:web:again', 'x'), at: stepIndex }),
  fc.record({ kind: fc.constant('reorder' as const), from: stepIndex, to: stepIndex }),
  fc.record({
    kind: fc.constant('change' as const),
    path: fc.constantFrom(...paths),
    value: fc.oneof(fc.constantFrom(...strings), fc.constant(undefined), fc.constant(null), fc.integer(), fc.boolean(), fc.constant([]), fc.string({ maxLength: 4 })),
  }),
);

function applyEdit(plan: typeof saved, change: Edit): typeof saved {
  const copy = structuredClone(plan);
  const steps = copy.steps;
  switch (change.kind) {
    case 'drop':
      steps.splice(change.index, 1);
      break;
    case 'duplicate':
      steps.splice(change.at, 0, structuredClone(steps[change.index]!));
      break;
    case 'add':
      steps.splice(change.at, 0, { ...structuredClone(steps[change.from]!), id: change.id });
      break;
    case 'reorder': {
      const [moved] = steps.splice(change.from, 1);
      steps.splice(change.to, 0, moved!);
      break;
    }
    case 'change': {
      const parent = change.path.slice(0, -1).reduce<unknown>((value, key) => (value as Record<string | number, unknown>)[key], copy) as Record<string | number, unknown>;
      const key = change.path.at(-1);
      if (key === undefined) break;
      if (change.value === undefined && !Array.isArray(parent)) delete parent[key];
      else parent[key] = change.value;
      break;
    }
  }
  return copy;
}

/** What the runner was asked to do: each step it ran, with every argument it was given. */
async function appliedSteps(context: Context, plan: RunPlan): Promise<string[]> {
  const ran: string[] = [];
  const stage = (kind: PlanStepKind): StageRow<PlanStepKind> => ({
    kind,
    title: (step) => step.id,
    // The lifecycle table's columns: lock and unlock take the lease themselves; every kind mutates.
    ...stepTable[kind],
    checkOutput: undefined,
    async run(_context, step) {
      ran.push(stable(step));
      if (kind === 'build') return { amis: { 'us-east-1': 'ami-new1', 'us-west-2': 'ami-new2' }, snapshots: {}, baseAmiId: 'ami-base1' } as never;
      if (kind === 'smoke') return { result: 'passed' } as never;
      return {} as never;
    },
  });
  const stages = Object.fromEntries(kinds.map((kind) => [kind, stage(kind)])) as unknown as StageTable;
  await applyRun(context, plan, [image], { stages, signal: new AbortController().signal });
  return ran.sort();
}

/** JSON with keys in one order: the schema's parse orders a step's fields as the schema lists them. */
const stable = (value: unknown): string =>
  JSON.stringify(value, (_key, item: unknown) =>
    item !== null && typeof item === 'object' && !Array.isArray(item) ? Object.fromEntries(Object.entries(item).sort(([a], [b]) => a.localeCompare(b))) : item,
  );
const canonical = (plan: unknown) => (plan as { steps: unknown[] }).steps.map(stable).sort();

let cwd: string;
let context: Context;
beforeAll(async () => {
  cwd = await mkdtemp(join(tmpdir(), 'gild-saved-plan-'));
  context = createContext({ cwd, env: {}, logger: createMemoryLogger(), settings: pipelineSettingsSchema.parse({}), clients: noAwsClients, runId });
});
afterAll(async () => {
  await rm(cwd, { recursive: true, force: true });
});

describe('run --plan, for any edit of a saved plan', () => {
  it('has every kind of step to edit', () => {
    expect(new Set(fresh.steps.map((step) => step.kind))).toEqual(new Set(['lock', 'cleanup', 'build', 'packer-exit', 'smoke', 'discard', 'share', 'publish', 'retire', 'release']));
  });

  it('applies exactly what the fresh plan would, or refuses', async () => {
    const expected = await appliedSteps(context, fresh);
    let accepted = 0;
    let refused = 0;
    await fc.assert(
      fc.asyncProperty(edit, async (change) => {
        const edited = applyEdit(saved, change);
        const parsed = parseRunPlan(JSON.parse(JSON.stringify(edited)));
        const problems = parsed.plan ? compareSavedPlan(parsed.plan, fresh) : parsed.problems;
        if (problems.length > 0) {
          refused++;
          // A refusal says where: a step, a field's JSON path, or what the plan keeps.
          for (const problem of problems) expect(problem).toMatch(/^(step |steps|images|what the plan keeps|[a-zA-Z]+(\[\d+\])?[.:[ ]|\(the file\))/);
          return;
        }
        accepted++;
        // Accepted: nothing but the order of the steps changed, and the runner does with it what it does with the fresh plan.
        expect(canonical(parsed.plan)).toEqual(canonical(fresh));
        expect(await appliedSteps(context, parsed.plan!)).toEqual(expected);
      }),
      { numRuns: 300 },
    );
    expect(accepted).toBeGreaterThan(0);
    expect(refused).toBeGreaterThan(0);
  });
});
