/**
 * A run-wide step (a sweep of a dead run's leftovers) belongs to no image, so
 * no image's outcome shows it when it fails. The run itself does: it fails
 * (EPIPELINE, exit 1), and the summary and the report name the step and its
 * error, while every image's own steps went on. Fake stages, no AWS.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { applyRun } from '../../src/apply/run-trip.ts';
import { StepFailure, type StageRow, type StageTable } from '../../src/apply/step-stage.ts';
import { stepTable } from '../../src/apply/step-table.ts';
import { formatOutcomes } from '../../src/commands/run.ts';
import { createContext, type Context } from '../../src/context.ts';
import { catalogue } from '../../src/errors.ts';
import { createMemoryLogger } from '../../src/logger.ts';
import { planSchemaVersion, type PlanStep, type PlanStepKind, type RunPlan } from '../../src/plan/run-plan.ts';
import { buildRunReport } from '../../src/report/build-run-report.ts';
import { renderReportMarkdown } from '../../src/report/render-report-markdown.ts';
import { runReportSchema } from '../../src/report/report-schema.ts';
import { pipelineSettingsSchema } from '../../src/settings/schema.ts';
import { resolvedImageFixture } from '../support/resolved-image-fixture.ts';
import { noAwsClients } from '../support/no-aws-clients.ts';

const kinds: readonly PlanStepKind[] = ['sweep', 'lock', 'build', 'smoke', 'publish', 'release'];

/** Stages that succeed at once, but the sweep, which AWS refuses. */
function stages(): StageTable {
  const stage = (kind: PlanStepKind): StageRow<PlanStepKind> => ({
    kind,
    title: (step) => step.id,
    // The lifecycle table's columns: lock and unlock take the lease themselves; every kind mutates.
    ...stepTable[kind],
    checkOutput: undefined,
    async run(_context, step) {
      if (kind === 'sweep') throw new StepFailure('could not terminate i-0dead', ['UnauthorizedOperation: not allowed'], { cause: new Error('UnauthorizedOperation') });
      if (kind === 'build') return { amis: { 'us-east-1': 'ami-new' }, snapshots: {}, baseAmiId: 'ami-base' };
      if (kind === 'publish') return { version: '1.0.1', amis: { 'us-east-1': 'ami-new' } };
      return { step: step.id } as never;
    },
  });
  return Object.fromEntries(kinds.map((kind) => [kind, stage(kind)])) as unknown as StageTable;
}

const step = (id: string, after: readonly string[] = []) => {
  const [kind, image] = id.split(':') as [PlanStepKind, string];
  return { id, kind, ...(kind === 'sweep' ? { region: 'us-east-1' } : { image }), after, reason: `planned ${id}`, precondition: 'test' } as unknown as PlanStep;
};

const sweepId = 'sweep:us-east-1:i-0dead';
const plan: RunPlan = {
  schema: planSchemaVersion,
  runId: '20261129T120000Z-test00',
  createdAt: '2026-11-29T12:00:00.000Z',
  ssmPrefix: '/golden',
  options: { force: false, images: ['web'] },
  observed: { at: '2026-11-29T12:00:00.000Z', digests: {} },
  images: [{ image: 'web', action: 'build', reason: 'first build', currentVersion: '1.0.0', nextVersion: '1.0.1' }],
  steps: [
    step(sweepId),
    step('lock:web', [sweepId]),
    step('build:web', ['lock:web']),
    step('smoke:web', ['build:web']),
    { ...step('publish:web', ['smoke:web']), writes: [] } as PlanStep,
    step('release:web', ['lock:web', 'build:web', 'smoke:web', 'publish:web']),
  ],
  kept: [],
};

let cwd: string;
let context: Context;

beforeEach(async () => {
  cwd = await mkdtemp(join(tmpdir(), 'gild-run-steps-'));
  context = createContext({ cwd, env: {}, logger: createMemoryLogger(), settings: pipelineSettingsSchema.parse({}), clients: noAwsClients, runId: plan.runId });
});

afterEach(async () => {
  await rm(cwd, { recursive: true, force: true });
});

describe('a failed run-wide sweep step', () => {
  it('fails the run and is named with its error in the summary and the report, while the image is still published', async () => {
    const { applied, outcomes, runFailures } = await applyRun(context, plan, [resolvedImageFixture({ name: 'web' })], { stages: stages(), signal: new AbortController().signal });

    expect(outcomes.map((outcome) => outcome.result)).toEqual(['published']);
    expect(runFailures).toEqual([{ stepId: sweepId, reason: 'could not terminate i-0dead', details: ['UnauthorizedOperation: not allowed', 'caused by UnauthorizedOperation'] }]);

    const summary = formatOutcomes(plan.runId, applied.runDir, outcomes, context, runFailures);
    expect(summary).toContain(`✖ ${sweepId} failed: could not terminate i-0dead (log: .gild/runs/${plan.runId}/run.log)`);
    expect(summary).toContain('- UnauthorizedOperation: not allowed');

    const error = catalogue.EPIPELINE(
      outcomes.filter((outcome) => outcome.result === 'failed').map((outcome) => outcome.image),
      runFailures.map((failure) => failure.stepId),
    );
    expect(error.kind).toBe('pipeline');
    expect(error.message).toBe(`1 run-wide step failed: ${sweepId}. The images' own steps went on; the next run plans it again (see the run log).`);

    const report = runReportSchema.parse(buildRunReport({ applied, outcomes, command: 'gild run', startedAt: new Date(0), finishedAt: new Date(1000), cwd, smokeReports: {}, logTails: {} }));
    expect(report.result).toBe('failed');
    expect(report.images.map((image) => image.result)).toEqual(['published']);
    expect(report.runSteps).toEqual([
      expect.objectContaining({
        id: sweepId,
        status: 'failed',
        reason: `planned ${sweepId}`,
        outcome: 'could not terminate i-0dead',
        details: ['UnauthorizedOperation: not allowed', 'caused by UnauthorizedOperation'],
      }),
    ]);
    expect(renderReportMarkdown(report)).toContain(`- \`${sweepId}\` (planned ${sweepId}): could not terminate i-0dead\n  - UnauthorizedOperation: not allowed`);
  });

  it('fails the run, naming it with its error in the summary and the report, when a smoke instance could not be terminated', async () => {
    const refused = Object.assign(new Error('You are not authorized to perform this operation.'), { name: 'UnauthorizedOperation' });
    const smoke: StageTable['smoke'] = {
      ...stages().smoke,
      async run(_context, _step, run) {
        run.settleLater('terminating the smoke instances of web', Promise.reject(refused));
        return { result: 'passed', checks: [] };
      },
    };
    const terminating: StageTable = { ...stages(), smoke };
    const { applied, outcomes, runFailures } = await applyRun(context, plan, [resolvedImageFixture({ name: 'web' })], { stages: terminating, signal: new AbortController().signal });

    expect(outcomes.map((outcome) => outcome.result)).toEqual(['published']);
    const settling = runFailures.find((failure) => failure.stepId === 'smoke:web (settling)');
    expect(settling).toMatchObject({ reason: expect.stringContaining('terminating the smoke instances of web: UnauthorizedOperation') });

    expect(formatOutcomes(plan.runId, applied.runDir, outcomes, context, runFailures)).toContain('✖ smoke:web (settling) failed: terminating the smoke instances of web: UnauthorizedOperation');
    expect(
      catalogue.EPIPELINE(
        [],
        runFailures.map((failure) => failure.stepId),
      ).message,
    ).toContain('smoke:web (settling)');

    const report = runReportSchema.parse(buildRunReport({ applied, outcomes, command: 'gild run', startedAt: new Date(0), finishedAt: new Date(1000), cwd, smokeReports: {}, logTails: {} }));
    expect(report.result).toBe('failed');
    expect(report.runSteps).toContainEqual(
      expect.objectContaining({
        id: 'smoke:web (settling)',
        kind: 'settle',
        status: 'failed',
        reason: 'terminating the smoke instances of web',
        outcome: expect.stringContaining('UnauthorizedOperation'),
      }),
    );
    expect(renderReportMarkdown(report)).toContain('- `smoke:web (settling)` (terminating the smoke instances of web): UnauthorizedOperation');
  });

  it('names a failed image and a failed run-wide step together', () => {
    expect(catalogue.EPIPELINE(['web'], ['sweep:us-east-1:sg-1']).message).toBe(
      "1 image failed: web. Nothing was published for it; see the logs above. 1 run-wide step failed: sweep:us-east-1:sg-1. The images' own steps went on; the next run plans it again (see the run log).",
    );
  });
});
