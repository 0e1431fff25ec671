import fc from 'fast-check';
import { describe, expectTypeOf, it, expect } from 'vitest';
import type { z } from 'zod';
import { notifySettingsSchema } from '../../src/notify/notify-settings.ts';
import { assemblePlan } from '../../src/plan/assemble-plan.ts';
import { parseRunPlan, runPlanSchema } from '../../src/plan/run-plan-schema.ts';
import type { RunPlan } from '../../src/plan/run-plan.ts';
import { baseAndAppInventory } from '../support/inventory-fixture.ts';
import { resolvedImageFixture } from '../support/resolved-image-fixture.ts';

/** A type as JSON carries it: no readonly, and a field that may be undefined may be left out. */
type Json<T> = T extends readonly (infer Item)[]
  ? Json<Item>[]
  : T extends object
    ? { -readonly [K in keyof T as undefined extends T[K] ? never : K]: Json<T[K]> } & { -readonly [K in keyof T as undefined extends T[K] ? K : never]?: Json<Exclude<T[K], undefined>> }
    : T;
type Flatten<T> = T extends readonly (infer Item)[] ? Flatten<Item>[] : T extends object ? { [K in keyof T]: Flatten<T[K]> } : T;

describe('the plan file schema', () => {
  it('describes exactly the plan type, field for field', () => {
    type Parsed = Flatten<z.infer<typeof runPlanSchema>>;
    type Written = Flatten<Json<RunPlan>>;
    expectTypeOf<Parsed>().toMatchTypeOf<Written>();
    expectTypeOf<Written>().toMatchTypeOf<Parsed>();
    // Assignability forgives an optional field on one side only: the fields of every step kind are the same too.
    type FieldsByKind<Step extends { kind: string }> = { [K in Step['kind']]: keyof Extract<Step, { kind: K }> };
    expectTypeOf<FieldsByKind<Parsed['steps'][number]>>().toEqualTypeOf<FieldsByKind<Written['steps'][number]>>();
    type FieldsByAction<Decision extends { action: string }> = { [K in Decision['action']]: keyof Extract<Decision, { action: K }> };
    expectTypeOf<FieldsByAction<Parsed['images'][number]>>().toEqualTypeOf<FieldsByAction<Written['images'][number]>>();
    expectTypeOf<keyof Parsed>().toEqualTypeOf<keyof Written>();
  });

  it('names every problem with its JSON path', () => {
    const result = parseRunPlan({
      schema: 1,
      runId: 'r1',
      createdAt: '2026-01-01T00:00:00.000Z',
      ssmPrefix: '/golden',
      options: { force: false, images: [] },
      observed: { at: 'x', digests: {} },
      images: [],
      kept: [],
      steps: [
        { id: 'a', kind: 'teleport', after: [], reason: '', precondition: '' },
        { id: 'lock:web', kind: 'lock', after: [], reason: '', precondition: '', image: 'web', region: 7 },
        { id: 'release:web', kind: 'release', after: [], reason: '', precondition: '', image: 'web', region: 'us-east-1', parameterName: '/golden/web/lock', writes: [] },
      ],
    });
    expect(result.plan).toBeUndefined();
    expect(result.problems).toEqual([
      expect.stringMatching(/^steps\[0\]\.kind: .*none of the kinds gild plans/),
      expect.stringMatching(/^steps\[1\]\.region: /),
      expect.stringMatching(/^steps\[1\]\.parameterName: /),
      expect.stringMatching(/^steps\[2\]: "writes": no such field/),
    ]);
  });

  it('refuses a dangling after, a repeated ID and a circle, naming the steps', () => {
    const step = (id: string, after: string[]) => ({ id, kind: 'lock', after, reason: '', precondition: '', image: 'web', region: 'us-east-1', parameterName: '/golden/web/lock' });
    const result = parseRunPlan({
      schema: 1,
      runId: 'r1',
      createdAt: '2026-01-01T00:00:00.000Z',
      ssmPrefix: '/golden',
      options: { force: false, images: [] },
      observed: { at: 'x', digests: {} },
      images: [],
      kept: [],
      steps: [step('a', ['b']), step('b', ['a']), step('b', []), step('c', ['nowhere'])],
    });
    expect(result.problems).toEqual([
      'steps[2].id: "b" is also the ID of steps[1]; every step has its own ID',
      'steps[3].after[0]: step c waits for "nowhere", which is no step of the plan',
      'steps: a → b → a wait for each other in a circle (a after b, b after a), so none of them could ever end; a plan gild makes has none: make a new plan rather than editing one',
    ]);
  });

  it('refuses a copy beside a smoke step that is no step of the plan', () => {
    const copy = {
      id: 'copy:web:eu-west-1',
      kind: 'copy',
      after: [],
      reason: '',
      precondition: '',
      image: 'web',
      version: '1.0.0',
      region: 'eu-west-1',
      sourceRegion: 'us-east-1',
      source: { amis: { 'us-east-1': 'ami-0aaaaaaaaaaaaaaa1' } },
      besideSmoke: 'smoke:nowhere',
    };
    const result = parseRunPlan({
      schema: 1,
      runId: 'r1',
      createdAt: '2026-01-01T00:00:00.000Z',
      ssmPrefix: '/golden',
      options: { force: false, images: [] },
      observed: { at: 'x', digests: {} },
      images: [],
      kept: [],
      steps: [copy],
    });
    expect(result.problems).toEqual(['steps[0].besideSmoke: copy copy:web:eu-west-1 runs beside "smoke:nowhere", which is no step of the plan; name the image\'s smoke step or leave it out']);
  });
});

/** The plan gild makes for a base and an image built on it, copied to two regions, every region tested or only the build's, with notifications. */
function planned(regionCopies: 'gild' | 'packer', smokeRegions: 'build' | 'all'): RunPlan {
  const copyRegions = ['us-west-2', 'eu-west-1'];
  const smoke = (image: ReturnType<typeof resolvedImageFixture>) => ({ ...image, smoke: { ...image.smoke, regions: smokeRegions } });
  const base = smoke(resolvedImageFixture({ name: 'base', copyRegions }));
  const app = smoke(resolvedImageFixture({ name: 'app', copyRegions, base: { kind: 'image', image: 'base', range: undefined }, dependsOn: ['base'] }));
  return assemblePlan({
    runId: '20261129T120000Z-run000',
    now: new Date('2026-11-29T12:00:00.000Z'),
    images: [base, app],
    fingerprints: { base: 'fp', app: 'fp' },
    inventory: baseAndAppInventory(copyRegions),
    force: false,
    // Notifications too: a notification waits for the step it reads its AMIs from, and for the publish.
    settings: { sweepAfterMinutes: 120, rebuildAfterDays: undefined, regionCopies, notify: notifySettingsSchema.parse({ sns: ['arn:aws:sns:us-east-1:123456789012:a'], eventBridge: {} }) },
  });
}

/** The plan as a file holds it, with one step edited by hand. */
function edited(plan: RunPlan, id: string, edit: (step: Record<string, unknown>) => Record<string, unknown>): unknown {
  const file = JSON.parse(JSON.stringify(plan)) as { steps: Record<string, unknown>[] };
  if (!file.steps.some((step) => step.id === id)) throw new Error(`no step ${id} in the plan`);
  return { ...file, steps: file.steps.map((step) => (step.id === id ? edit(step) : step)) };
}

describe('the saved plan\u2019s circle check, counting the steps a step waits for beside it', () => {
  it('reads every plan gild makes without a problem', () => {
    for (const regionCopies of ['gild', 'packer'] as const) {
      for (const smokeRegions of ['build', 'all'] as const) {
        const plan = planned(regionCopies, smokeRegions);
        // Every kind of wait beside a step is in these plans.
        const kinds = new Set(plan.steps.map((step) => step.kind));
        expect([...kinds].filter((kind) => ['packer-exit', 'notify', 'notify-failure', ...(regionCopies === 'gild' ? ['copy'] : [])].includes(kind))).toHaveLength(regionCopies === 'gild' ? 4 : 3);
        expect(parseRunPlan(JSON.parse(JSON.stringify(plan))).problems).toEqual([]);
      }
    }
  });

  it('refuses each field that names no step of the plan in its own words, and a step waiting for itself', () => {
    let file = edited(planned('gild', 'all'), 'copy:base:us-west-2', (step) => ({ ...step, besideBuild: 'packer-exit:nowhere', besideSmoke: 'smoke:nowhere' }));
    file = edited(file as RunPlan, 'packer-exit:base', (step) => ({ ...step, build: 'build:nowhere', besideSmoke: ['smoke:nowhere', ...(step.besideSmoke as string[])] }));
    file = edited(file as RunPlan, 'publish:base', (step) => ({ ...step, after: [...(step.after as string[]), 'publish:base', 'lock:nowhere'] }));
    const steps = (file as RunPlan).steps;
    const at = (id: string) => steps.findIndex((step) => step.id === id);
    const after = steps[at('publish:base')]!.after.length;
    expect(parseRunPlan(file).problems).toEqual([
      ...[
        `steps[${at('copy:base:us-west-2')}].besideSmoke: copy copy:base:us-west-2 runs beside "smoke:nowhere", which is no step of the plan; name the image's smoke step or leave it out`,
        `steps[${at('copy:base:us-west-2')}].besideBuild: copy copy:base:us-west-2 runs beside "packer-exit:nowhere", which is no step of the plan; name the image's packer-exit step or leave it out`,
        `steps[${at('packer-exit:base')}].build: packer-exit:base waits for the Packer of "build:nowhere", which is no step of the plan; name the image's build step`,
        `steps[${at('packer-exit:base')}].besideSmoke[0]: packer-exit:base runs beside "smoke:nowhere", which is no step of the plan; name the image's smoke steps`,
        `steps[${at('publish:base')}].after[${after - 2}]: step publish:base waits for itself`,
        `steps[${at('publish:base')}].after[${after - 1}]: step publish:base waits for "lock:nowhere", which is no step of the plan`,
      ].sort((a, b) => Number(/\[(\d+)\]/.exec(a)![1]) - Number(/\[(\d+)\]/.exec(b)![1])),
    ]);
  });

  it('refuses a notification reading a step that is not in the plan, and a step beside itself (the runner would answer it nothing)', () => {
    const plan = planned('gild', 'build');
    const notify = plan.steps.find((step) => step.kind === 'notify' && 'from' in step.amis)!;
    const failure = plan.steps.find((step) => step.kind === 'notify-failure' && step.publishStep !== undefined)!;
    let file = edited(plan, notify.id, (step) => ({ ...step, amis: { from: 'publish:nowhere' } }));
    file = edited(file as RunPlan, failure.id, (step) => ({ ...step, publishStep: failure.id }));
    file = edited(file as RunPlan, 'copy:base:us-west-2', (step) => ({ ...step, besideSmoke: 'copy:base:us-west-2' }));
    const steps = (file as RunPlan).steps;
    const at = (id: string) => steps.findIndex((step) => step.id === id);
    expect(parseRunPlan(file).problems.sort()).toEqual(
      [
        `steps[${at(notify.id)}].amis.from: ${notify.id} reads its AMIs from "publish:nowhere", which is no step of the plan; name the step that gives them, or list the AMIs`,
        `steps[${at(failure.id)}].publishStep: ${failure.id} names itself as its publish step`,
        `steps[${at('copy:base:us-west-2')}].besideSmoke: step copy:base:us-west-2 runs beside itself`,
      ].sort(),
    );
  });

  it('refuses a packer-exit waiting beside the smoke test of a copy that waits for it, naming the steps and the fields', () => {
    // Session 10's deadlock, hand-made: a region's smoke test tests a copy, which finishes only after packer-exit.
    const plan = edited(planned('gild', 'all'), 'packer-exit:base', (step) => ({ ...step, besideSmoke: [...(step.besideSmoke as string[]), 'smoke:base:us-west-2'] }));
    expect(parseRunPlan(plan).problems).toEqual([
      'steps: packer-exit:base → smoke:base:us-west-2 → copy:base:us-west-2 → packer-exit:base wait for each other in a circle ' +
        '(packer-exit:base besideSmoke smoke:base:us-west-2, smoke:base:us-west-2 after copy:base:us-west-2, copy:base:us-west-2 besideBuild packer-exit:base), ' +
        'so none of them could ever end; a plan gild makes has none: make a new plan rather than editing one',
    ]);
  });

  it('refuses a smoke test waiting for a copy that runs beside it, in one message for the one tangle', () => {
    const plan = edited(planned('gild', 'build'), 'smoke:base', (step) => ({ ...step, after: [...(step.after as string[]), 'copy:base:eu-west-1'] }));
    expect(parseRunPlan(plan).problems).toEqual([
      expect.stringMatching(
        /^steps: smoke:base → copy:base:eu-west-1 → smoke:base wait for each other in a circle \(smoke:base after copy:base:eu-west-1, copy:base:eu-west-1 besideSmoke smoke:base\)/,
      ),
    ]);
  });

  it('refuses a circle through 50,000 steps in one message naming its first 20, without overflowing the stack', () => {
    const count = 50_000;
    const lock = (index: number) => ({
      id: `lock:${index}`,
      kind: 'lock',
      after: [`lock:${(index + 1) % count}`],
      reason: '',
      precondition: '',
      image: 'web',
      region: 'us-east-1',
      parameterName: '/golden/web/lock',
    });
    const file = { ...JSON.parse(JSON.stringify(planned('packer', 'build'))), steps: Array.from({ length: count }, (_, index) => lock(index)) };
    const problems = parseRunPlan(file).problems;
    expect(problems).toHaveLength(1);
    expect(problems[0]).toMatch(/^steps: lock:0 → lock:1 → .* → lock:19 → … \(49980 more\) wait for each other in a circle \(lock:0 after lock:1, .*, lock:19 after lock:20, …\)/);
  });

  it('refuses a notification whose AMIs come from a step that waits for it', () => {
    const notify = {
      id: 'notify:base',
      kind: 'notify',
      image: 'base',
      event: 'published',
      version: '1.0.0',
      target: { kind: 'sns', topicArn: 'arn:aws:sns:us-east-1:123456789012:t' },
      regions: ['us-east-1'],
      amis: { from: 'publish:base' },
      message: '',
      details: {},
      after: [],
      reason: '',
      precondition: '',
    };
    const file = edited(planned('gild', 'build'), 'publish:base', (step) => ({ ...step, after: [...(step.after as string[]), 'notify:base'] })) as { steps: unknown[] };
    expect(parseRunPlan({ ...file, steps: [...file.steps, notify] }).problems).toEqual([
      expect.stringMatching(/^steps: .*wait for each other in a circle \(.*publish:base after notify:base.*notify:base amis\.from publish:base/),
    ]);
  });

  /** A step of the kinds that wait beside others, each wait to another step of the plan (by index). */
  type Drawn = { kind: 'lock' | 'copy' | 'packer-exit'; after: number[]; beside: number[] };
  // NOTE: at least two steps, so that a packer-exit's build names another step (one naming itself is refused as such).
  const drawnSteps = fc.integer({ min: 2, max: 7 }).chain((count) =>
    fc.array(
      fc.record({
        kind: fc.constantFrom('lock' as const, 'copy' as const, 'packer-exit' as const),
        after: fc.uniqueArray(fc.nat(count - 1), { maxLength: 2 }),
        beside: fc.uniqueArray(fc.nat(count - 1), { maxLength: 2 }),
      }),
      { minLength: count, maxLength: count },
    ),
  );
  const common = { reason: '', precondition: '' };
  /** A drawn step as a plan file holds it: a lock waits only through `after`, a copy also beside a smoke step and its build's packer-exit, a packer-exit beside smoke steps. */
  const asFileStep = (drawn: Drawn, index: number, ids: readonly string[]) => {
    const others = (indexes: number[]) => indexes.filter((other) => other !== index).map((other) => ids[other]!);
    const after = others(drawn.after);
    const beside = others(drawn.beside);
    const id = ids[index]!;
    if (drawn.kind === 'lock') return { ...common, id, kind: 'lock', after, image: 'web', region: 'us-east-1', parameterName: '/golden/web/lock' };
    if (drawn.kind === 'packer-exit') return { ...common, id, kind: 'packer-exit', after, image: 'web', version: '1.0.0', build: ids[index === 0 ? 1 : 0]!, besideSmoke: beside };
    return {
      ...common,
      id,
      kind: 'copy',
      after,
      image: 'web',
      version: '1.0.0',
      region: 'eu-west-1',
      sourceRegion: 'us-east-1',
      source: { from: ids[0]! },
      ...(beside[0] !== undefined ? { besideSmoke: beside[0] } : {}),
      ...(beside[1] !== undefined ? { besideBuild: beside[1] } : {}),
    };
  };

  it('refuses exactly the plans whose waits, beside ones included, form a circle, naming only real circles', () => {
    fc.assert(
      fc.property(drawnSteps, (drawn) => {
        const ids = drawn.map((step, index) => `${step.kind}:${index}`);
        const steps = drawn.map((step, index) => asFileStep(step, index, ids));
        const file = { ...JSON.parse(JSON.stringify(planned('packer', 'build'))), steps };
        // The waits, read from the file's fields here rather than by the code under test.
        const waitsOf = new Map(
          steps.map((step) => [
            step.id,
            [...step.after, ...('besideSmoke' in step ? [step.besideSmoke].flat() : []), ...('besideBuild' in step ? [step.besideBuild] : [])].filter((id): id is string => id !== undefined),
          ]),
        );
        // Kahn: peel off steps that wait for none left; a circle is what cannot be peeled.
        const left = new Set(ids);
        for (let peeled = true; peeled;) {
          peeled = false;
          for (const id of left) if (waitsOf.get(id)!.every((waited) => !left.has(waited))) peeled = left.delete(id) || peeled;
        }
        const problems = parseRunPlan(file).problems;
        expect(problems.length > 0, problems.join('\n')).toBe(left.size > 0);
        for (const problem of problems) {
          const circle = /^steps: (.*) wait for each other in a circle/.exec(problem)?.[1]?.split(' → ');
          expect(circle, problem).toBeDefined();
          expect(circle![0]).toBe(circle!.at(-1));
          for (let index = 0; index + 1 < circle!.length; index++) expect(waitsOf.get(circle![index]!), problem).toContain(circle![index + 1]);
        }
      }),
      { numRuns: 300 },
    );
  });
});
