import { describe, expectTypeOf, it, expect } from 'vitest';
import type { z } from 'zod';
import { parseRunPlan, runPlanSchema } from '../../src/plan/run-plan-schema.ts';
import type { RunPlan } from '../../src/plan/run-plan.ts';

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
      'steps: a → b → a wait for each other in a circle',
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
