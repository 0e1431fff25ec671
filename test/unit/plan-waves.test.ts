import { describe, expect, it } from 'vitest';
import type { ImageDecision, PlanStep, RunPlan } from '../../src/plan/run-plan.ts';
import { planMatrix, planWaves } from '../../src/plan/plan-waves.ts';
import { ageBand } from '../../src/report/assemble-status.ts';

function plan(images: readonly ImageDecision[], steps: readonly Pick<PlanStep, 'id' | 'after'>[]): RunPlan {
  const withImages = steps.map((step) => ({ ...step, kind: 'build', image: step.id.split(':')[1]!, reason: '', precondition: '' }) as unknown as PlanStep);
  return { schema: 1, runId: 'r', createdAt: '', ssmPrefix: '/golden', options: { force: false, images: [] }, observed: { at: '', digests: {} }, images, steps: withImages, kept: [] };
}

const build = (image: string): ImageDecision => ({ image, action: 'build', reason: '', currentVersion: undefined, nextVersion: '1.0.0' });

describe('planWaves', () => {
  it('puts an image one wave after every image it waits for, across a chain', () => {
    const chain = plan(
      [build('base'), build('runtime'), build('app'), build('tool')],
      [
        { id: 'publish:base', after: ['lock:base'] },
        { id: 'build:runtime', after: ['lock:runtime', 'publish:base'] },
        { id: 'publish:runtime', after: ['build:runtime'] },
        { id: 'build:app', after: ['lock:app', 'publish:runtime'] },
        { id: 'build:tool', after: ['sweep:us-east-1:i-0123'] },
      ],
    );
    expect(planWaves(chain)).toEqual([['base', 'tool'], ['runtime'], ['app']]);
    expect(planMatrix(chain)).toEqual({
      engine: 'github',
      images: 4,
      jobs: 2,
      perJob: 1,
      depth: 3,
      matrices: [
        {
          include: [
            { job: 1, images: 'base runtime app', waitsFor: '' },
            { job: 2, images: 'tool', waitsFor: '' },
          ],
        },
      ],
    });
  });

  it('leaves out unchanged, locked and failed images, and keeps an image that only finishes a publish', () => {
    const mixed = plan(
      [
        { image: 'steady', action: 'unchanged', reason: '', currentVersion: '1.0.0' },
        { image: 'half', action: 'finish', reason: '', currentVersion: '1.0.0', version: '1.0.1' },
        { image: 'broken', action: 'error', kind: 'pipeline', reason: '' },
      ],
      [{ id: 'publish:half', after: ['lock:half'] }],
    );
    expect(planWaves(mixed)).toEqual([['half']]);
    expect(planMatrix(mixed).matrices).toEqual([{ include: [{ job: 1, images: 'half', waitsFor: '' }] }]);
    expect(planMatrix(plan([], [])).matrices).toEqual([]);
  });
});

describe('ageBand', () => {
  it('is fresh under 14 days, turning under 30, old from 30', () => {
    expect([0, 13, 14, 29, 30, 400].map(ageBand)).toEqual(['fresh', 'fresh', 'turning', 'turning', 'old', 'old']);
  });
});
