/**
 * Fault injection over the runner: whatever steps of an image fail, and whichever notifications fail, the image's
 * outcome is what it is without notifications, the failure notification is sent exactly when a step of the image
 * failed, and the publish notification exactly when the publish was done.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { applyRun } from '../../src/apply/run-trip.ts';
import { StepFailure, type StageRow, type StageTable } from '../../src/apply/step-stage.ts';
import { stepTable } from '../../src/apply/step-table.ts';
import { createContext, type Context } from '../../src/context.ts';
import { createMemoryLogger } from '../../src/logger.ts';
import { notifySettingsSchema } from '../../src/notify/notify-settings.ts';
import { assemblePlan } from '../../src/plan/assemble-plan.ts';
import type { PlanStep, PlanStepKind, RunPlan } from '../../src/plan/run-plan.ts';
import { pipelineSettingsSchema } from '../../src/settings/schema.ts';
import { inventoryFixture } from '../support/inventory-fixture.ts';
import { noAwsClients } from '../support/no-aws-clients.ts';
import { resolvedImageFixture } from '../support/resolved-image-fixture.ts';

const web = resolvedImageFixture({ name: 'web' });
const amis = { 'us-east-1': 'ami-0aaaaaaaaaaaaaaa1' };

function planWith(notify: boolean): RunPlan {
  return assemblePlan({
    runId: 'r1',
    now: new Date('2026-11-29T12:00:00.000Z'),
    images: [web],
    fingerprints: { web: 'fp' },
    inventory: inventoryFixture({ bases: { web: { kind: 'resolved', amiId: 'ami-base1', source: 'ssm:/aws/service/al2023' } } }),
    force: false,
    settings: {
      sweepAfterMinutes: 120,
      rebuildAfterDays: undefined,
      ...(notify ? { notify: notifySettingsSchema.parse({ sns: ['arn:aws:sns:us-east-1:123456789012:a'], eventBridge: {} }) } : {}),
    },
  });
}

/** Every kind's row with a stage that fails when told to, and otherwise gives what the next steps read. */
function stagesFailing(failing: ReadonlySet<string>): StageTable {
  const stage = (kind: PlanStepKind): StageRow<PlanStepKind> => ({
    ...stepTable[kind],
    kind,
    title: (step: PlanStep) => step.id,
    async run(_context: Context, step: PlanStep) {
      if (failing.has(step.id) || failing.has(step.kind)) throw new StepFailure(`${step.id} failed (injected)`);
      if (kind === 'build') return { amis, snapshots: {}, baseAmiId: 'ami-base1' } as never;
      if (kind === 'publish') return { version: '1.0.0', amis } as never;
      if (kind === 'smoke') return { result: 'passed', checks: [] } as never;
      return { target: step.id, messageId: 'm' } as never;
    },
  });
  return Object.fromEntries((Object.keys(stepTable) as PlanStepKind[]).map((kind) => [kind, stage(kind)])) as unknown as StageTable;
}

let cwd: string;
let context: Context;
beforeAll(async () => {
  cwd = await mkdtemp(path.join(tmpdir(), 'gild-notify-prop-'));
  context = createContext({ cwd, env: {}, logger: createMemoryLogger(), settings: pipelineSettingsSchema.parse({}), clients: noAwsClients, runId: 'r1' });
});
afterAll(async () => {
  await rm(cwd, { recursive: true, force: true });
});

describe('notifications under injected faults', () => {
  it('never change the image’s outcome; the failure is told exactly when a step failed, the publish exactly when it was done', async () => {
    const withNotify = planWith(true);
    const without = planWith(false);
    const imageSteps = without.steps.filter((step) => step.kind !== 'release').map((step) => step.id);
    const notifySteps = withNotify.steps.filter((step) => step.kind === 'notify' || step.kind === 'notify-failure').map((step) => step.id);
    expect(notifySteps.length).toBe(4);
    await fc.assert(
      fc.asyncProperty(fc.subarray(imageSteps), fc.subarray(notifySteps), async (failingSteps, failingNotifications) => {
        const signal = new AbortController().signal;
        const plain = await applyRun(context, without, [web], { stages: stagesFailing(new Set(failingSteps)), signal });
        const told = await applyRun(context, withNotify, [web], { stages: stagesFailing(new Set([...failingSteps, ...failingNotifications])), signal });
        const { summary: _plainSummary, ...plainOutcome } = plain.outcomes[0]! as { summary?: unknown };
        const { summary: _toldSummary, ...toldOutcome } = told.outcomes[0]! as { summary?: unknown };
        expect(toldOutcome).toEqual(plainOutcome);
        const aStepFailed = imageSteps.some((id) => plain.applied.results.get(id)?.status === 'failed');
        const published = plain.applied.results.get('publish:web')?.status === 'done';
        for (const step of withNotify.steps.filter((candidate) => notifySteps.includes(candidate.id))) {
          const ran = told.applied.results.get(step.id)!.status !== 'skipped';
          expect(ran, step.id).toBe(step.kind === 'notify-failure' ? aStepFailed : published);
        }
      }),
      { numRuns: 60 },
    );
  });
});
