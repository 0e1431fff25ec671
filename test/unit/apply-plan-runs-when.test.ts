/**
 * The runner reads a row's `runsWhen`: a step whose stage says `a-dependency-failed` (the planned removal of a failed
 * smoke test's AMIs, src/stages/discard.ts) runs only when a step it waits for failed, and is skipped as not needed
 * otherwise; an interrupt or a dry run still stops it. Fake stages, no AWS; every assertion follows the run's end.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { applyPlan, type AppliedPlan } from '../../src/apply/apply-plan.ts';
import { StepFailure, type StageRow, type StageTable } from '../../src/apply/step-stage.ts';
import { stepTable } from '../../src/apply/step-table.ts';
import { createContext, type Context } from '../../src/context.ts';
import { createMemoryLogger } from '../../src/logger.ts';
import { planSchemaVersion, type PlanStep, type PlanStepKind } from '../../src/plan/run-plan.ts';
import { pipelineSettingsSchema } from '../../src/settings/schema.ts';
import { resolvedImageFixture } from '../support/resolved-image-fixture.ts';

const step = (id: string, after: readonly string[] = []): PlanStep => {
  const [kind, image] = id.split(':') as [PlanStepKind, string];
  return { id, kind, image, after, reason: `test ${id}`, precondition: 'test' } as unknown as PlanStep;
};
const steps = [
  step('lock:web'),
  step('build:web', ['lock:web']),
  step('smoke:web', ['build:web']),
  step('discard:web:us-east-1', ['smoke:web']),
  step('publish:web', ['smoke:web']),
  step('release:web', ['lock:web', 'build:web', 'smoke:web', 'discard:web:us-east-1', 'publish:web']),
];

let cwd: string;
let context: Context;
beforeEach(async () => {
  cwd = await mkdtemp(join(tmpdir(), 'gild-runs-when-'));
  context = createContext({ cwd, env: {}, logger: createMemoryLogger(), settings: pipelineSettingsSchema.parse({}), runId: '20261129T120000Z-test00' });
});
afterEach(async () => {
  context.clients.destroy();
  await rm(cwd, { recursive: true, force: true });
});

/** The real step table's rows as the runner reads them (runsWhen among them), with fake work. */
function stagesWhere(smoke: 'passes' | 'fails' | 'fails-on-interrupt', ran: string[], abort?: AbortController): StageTable {
  return Object.fromEntries(
    (Object.keys(stepTable) as PlanStepKind[]).map((kind) => {
      const fake: StageRow<PlanStepKind> = {
        ...stepTable[kind],
        checkOutput: undefined,
        kind,
        title: (planned) => planned.id,
        async run(_context, planned) {
          ran.push(planned.id);
          if (kind === 'smoke' && smoke !== 'passes') {
            if (smoke === 'fails-on-interrupt') abort?.abort();
            throw new StepFailure('smoke test failed: check "nginx" exited with code 3');
          }
          return {} as never;
        },
      };
      return [kind, fake];
    }),
  ) as unknown as StageTable;
}

function apply(stages: StageTable, options: { signal?: AbortSignal } = {}): Promise<AppliedPlan> {
  return applyPlan(
    context,
    {
      schema: planSchemaVersion,
      runId: '20261129T120000Z-test00',
      createdAt: '2026-11-29T12:00:00.000Z',
      ssmPrefix: '/golden',
      options: { force: false, images: ['web'] },
      observed: { at: '2026-11-29T12:00:00.000Z', digests: {} },
      images: [],
      steps,
      kept: [],
    },
    {
      stages,
      images: [resolvedImageFixture({ name: 'web' })],
      signal: options.signal ?? new AbortController().signal,
      concurrency: 2,
    },
  );
}

const statusOf = (applied: AppliedPlan, id: string) => applied.results.get(id);

describe('a step that runs only when a dependency failed', () => {
  it('is skipped as not needed when the smoke test passed', async () => {
    const ran: string[] = [];
    const applied = await apply(stagesWhere('passes', ran));

    expect(ran).toEqual(['lock:web', 'build:web', 'smoke:web', 'publish:web', 'release:web']);
    expect(statusOf(applied, 'discard:web:us-east-1')).toEqual({ status: 'skipped', reason: 'not needed: it runs only when smoke:web fails, and smoke:web succeeded' });
  });

  it('runs when the smoke test failed, while everything else after it is skipped, and the lock is released after it', async () => {
    const ran: string[] = [];
    const applied = await apply(stagesWhere('fails', ran));

    expect(ran).toEqual(['lock:web', 'build:web', 'smoke:web', 'discard:web:us-east-1', 'release:web']);
    expect(statusOf(applied, 'discard:web:us-east-1')).toMatchObject({ status: 'done' });
    expect(statusOf(applied, 'publish:web')).toMatchObject({ status: 'skipped', reason: expect.stringContaining('smoke:web failed') });
  });

  it('is not run when the smoke test failed because the run was interrupted: a run allowed to finish decides', async () => {
    const ran: string[] = [];
    const abort = new AbortController();
    const applied = await apply(stagesWhere('fails-on-interrupt', ran, abort), { signal: abort.signal });

    expect(ran).not.toContain('discard:web:us-east-1');
    expect(statusOf(applied, 'discard:web:us-east-1')).toEqual({ status: 'skipped', reason: 'interrupted before it started' });
  });
});
