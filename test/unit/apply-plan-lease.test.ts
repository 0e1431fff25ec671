import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { applyRun } from '../../src/apply/run-trip.ts';
import type { StageRow, StageTable } from '../../src/apply/step-stage.ts';
import { stepTable } from '../../src/apply/step-table.ts';
import { createContext, type Context } from '../../src/context.ts';
import { createMemoryLogger } from '../../src/logger.ts';
import { planSchemaVersion, type PlanStep, type PlanStepKind, type RunPlan } from '../../src/plan/run-plan.ts';
import { pipelineSettingsSchema } from '../../src/settings/schema.ts';
import { resolvedImageFixture } from '../support/resolved-image-fixture.ts';
import { noAwsClients } from '../support/no-aws-clients.ts';

const kinds: PlanStepKind[] = [
  'sweep',
  'unlock',
  'lock',
  'release',
  'cleanup',
  'build',
  'resume',
  'smoke',
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

/** Stages that record what ran; lock and unlock take or clear the lease themselves, as in the lifecycle table. */
function recordingStages(ran: string[]): StageTable {
  const stage = (kind: PlanStepKind): StageRow<PlanStepKind> => ({
    kind,
    title: (step) => step.id,
    // The lifecycle table's columns: lock and unlock take the lease themselves; every kind mutates.
    ...stepTable[kind],
    checkOutput: undefined,
    async run(_context, step) {
      ran.push(step.id);
      return {} as never;
    },
  });
  return Object.fromEntries(kinds.map((kind) => [kind, stage(kind)])) as unknown as StageTable;
}

const step = (id: string, after: readonly string[] = []) => {
  const [kind, image] = id.split(':') as [PlanStepKind, string];
  return { id, kind, image, after, reason: `planned ${id}`, precondition: 'test' } as unknown as PlanStep;
};

const planOf = (steps: PlanStep[]): RunPlan => ({
  schema: planSchemaVersion,
  runId: '20261129T120000Z-lease0',
  createdAt: '2026-11-29T12:00:00.000Z',
  ssmPrefix: '/golden',
  options: { force: false, images: ['web'] },
  observed: { at: '2026-11-29T12:00:00.000Z', digests: {} },
  images: [{ image: 'web', action: 'unchanged', reason: 'nothing changed', currentVersion: '1.0.0' }],
  steps,
  kept: [],
});

let cwd: string;
let context: Context;
beforeEach(async () => {
  cwd = await mkdtemp(join(tmpdir(), 'gild-lease-'));
  context = createContext({ cwd, env: {}, logger: createMemoryLogger(), settings: pipelineSettingsSchema.parse({}), clients: noAwsClients, runId: '20261129T120000Z-lease0' });
});
afterEach(async () => {
  await rm(cwd, { recursive: true, force: true });
});

describe("no step of an image runs without that image's lease", () => {
  it('refuses, unrun, a retire step that does not wait for the lock, and runs the ones that do', async () => {
    const ran: string[] = [];
    const plan = planOf([step('lock:web'), step('retire:web:bypass'), step('retire:web:ok', ['lock:web']), step('release:web', ['lock:web', 'retire:web:bypass', 'retire:web:ok'])]);

    const { applied, outcomes } = await applyRun(context, plan, [resolvedImageFixture({ name: 'web' })], { stages: recordingStages(ran), signal: new AbortController().signal });

    expect(ran).not.toContain('retire:web:bypass');
    expect(ran).toEqual(['lock:web', 'retire:web:ok', 'release:web']);
    expect(applied.results.get('retire:web:bypass')).toMatchObject({ status: 'failed', reason: expect.stringContaining("does not wait for web's lock") });
    expect(outcomes[0]).toMatchObject({ result: 'failed', stage: 'retire' });
  });

  it("does not take another image's lock for this image's", async () => {
    const ran: string[] = [];
    const plan = planOf([step('lock:other'), step('publish:web', ['lock:other'])]);
    const { applied } = await applyRun(context, plan, [resolvedImageFixture({ name: 'web' }), resolvedImageFixture({ name: 'other' })], {
      stages: recordingStages(ran),
      signal: new AbortController().signal,
    });
    expect(ran).toEqual(['lock:other']);
    expect(applied.results.get('publish:web')).toMatchObject({ status: 'failed' });
  });
});
