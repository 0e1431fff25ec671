/**
 * gild-owned region copies in the plan (settings `regionCopies: 'gild'`): the build makes the build region's AMI only,
 * a copy step per other region runs beside the smoke test, each region's share and the publish wait for their copies,
 * and an image built on another of this run starts from its base's tested AMI and publishes after its base.
 */
import { describe, expect, it } from 'vitest';
import { assemblePlan, type AssembleInput } from '../../src/plan/assemble-plan.ts';
import { formatRunPlan } from '../../src/plan/format-run-plan.ts';
import type { PlanStep, RunPlan } from '../../src/plan/run-plan.ts';
import { runPlanSchema } from '../../src/plan/run-plan-schema.ts';
import { baseAndAppInventory } from '../support/inventory-fixture.ts';
import { resolvedImageFixture } from '../support/resolved-image-fixture.ts';

const now = new Date('2026-11-29T12:00:00.000Z');
const copyRegions = ['us-west-2', 'eu-west-1'];
const base = resolvedImageFixture({ name: 'base', copyRegions, encryption: { kmsKeyId: 'alias/gild', regionKmsKeyIds: { 'eu-west-1': 'alias/gild-eu' } } });
const app = resolvedImageFixture({ name: 'app', copyRegions, base: { kind: 'image', image: 'base', range: undefined }, dependsOn: ['base'] });

function plan(regionCopies: 'gild' | 'packer' | undefined, images = [base, app]): RunPlan {
  const input: AssembleInput = {
    runId: '20261129T120000Z-run000',
    now,
    images,
    fingerprints: { base: 'fp', app: 'fp' },
    inventory: baseAndAppInventory(copyRegions),
    force: false,
    settings: { sweepAfterMinutes: 120, rebuildAfterDays: undefined, ...(regionCopies ? { regionCopies } : {}) },
  };
  return assemblePlan(input);
}

const step = <K extends PlanStep['kind']>(planned: RunPlan, id: string, kind: K) => {
  const found = planned.steps.find((candidate) => candidate.id === id);
  if (found?.kind !== kind) throw new Error(`no ${kind} step ${id}: ${planned.steps.map((candidate) => candidate.id).join(', ')}`);
  return found as Extract<PlanStep, { kind: K }>;
};

describe('planRegionCopies', () => {
  it('leaves the copies to Packer unless settings say gild', () => {
    for (const planned of [plan(undefined), plan('packer')]) {
      expect(planned.steps.some((candidate) => candidate.kind === 'copy')).toBe(false);
      expect(step(planned, 'build:base', 'build').regions).toEqual(['us-east-1', ...copyRegions]);
    }
  });

  it('builds in the build region only and copies beside the smoke test, each with its region\u2019s key', () => {
    const planned = plan('gild');
    expect(step(planned, 'build:base', 'build').regions).toEqual(['us-east-1']);
    const west = step(planned, 'copy:base:us-west-2', 'copy');
    const eu = step(planned, 'copy:base:eu-west-1', 'copy');
    expect(west).toMatchObject({ sourceRegion: 'us-east-1', source: { from: 'build:base' }, after: ['build:base'], kmsKeyId: 'alias/gild' });
    expect(eu.kmsKeyId).toBe('alias/gild-eu');
    // Beside, not after, the smoke test: neither waits for the other.
    expect(step(planned, 'smoke:base', 'smoke').after).toEqual(['build:base']);
    expect(west.after).not.toContain('smoke:base');
    // …but it names the smoke step it runs beside, whose ending without success ends the copy at once.
    expect([west.besideSmoke, eu.besideSmoke]).toEqual(['smoke:base', 'smoke:base']);
    // Each region's share waits for its own copy; the build region's for none; the publish for all.
    expect(step(planned, 'share:base:us-west-2', 'share')).toMatchObject({ amis: { from: 'build:base', copies: { 'us-west-2': 'copy:base:us-west-2' } } });
    expect(step(planned, 'share:base:us-west-2', 'share').after).toContain('copy:base:us-west-2');
    expect(step(planned, 'share:base:us-east-1', 'share').after.some((id) => id.startsWith('copy:'))).toBe(false);
    const publish = step(planned, 'publish:base', 'publish');
    expect(publish.amis).toEqual({ from: 'build:base', copies: { 'us-west-2': 'copy:base:us-west-2', 'eu-west-1': 'copy:base:eu-west-1' } });
    expect(publish.after).toEqual(expect.arrayContaining(['copy:base:us-west-2', 'copy:base:eu-west-1', 'smoke:base']));
    // The lock is given back only after the copies.
    expect(step(planned, 'release:base', 'release').after).toEqual(expect.arrayContaining(['copy:base:us-west-2', 'copy:base:eu-west-1']));
    expect(formatRunPlan(planned)).toMatch(/copy 1\.0\.0 from us-east-1 to eu-west-1 \(encrypted with alias\/gild-eu\), beside the smoke test; cancelled and removed if the smoke test fails/);
  });

  it("builds a dependant from its base's tested AMI, and publishes it only after its base", () => {
    const planned = plan('gild');
    const build = step(planned, 'build:app', 'build');
    expect(build.base).toMatchObject({ kind: 'published-in-run', from: 'smoke:base', image: 'base' });
    expect(build.after).toContain('smoke:base');
    expect(build.after).not.toContain('publish:base');
    expect(step(planned, 'publish:app', 'publish').after).toContain('publish:base');
    // Nor is it shared before its base published: the base may still fail (a copy, or its Packer after the AMI).
    for (const region of ['us-east-1', ...copyRegions]) expect(step(planned, `share:app:${region}`, 'share').after).toContain('publish:base');
  });

  it("says on a dependant's build that its base's other regions are still being tested (smoke.regions 'all')", () => {
    const testedEverywhere = { ...base, smoke: { ...base.smoke, regions: 'all' as const } };
    const planned = plan('gild', [testedEverywhere, app]);
    const build = step(planned, 'build:app', 'build');
    expect(build.reason).toContain("builds on base's tested us-east-1 AMI; base's other regions (us-west-2, eu-west-1) are still being tested, and its publish waits for base's");
    expect(formatRunPlan(planned)).toContain("base's other regions (us-west-2, eu-west-1) are still being tested");
    // The dependant's publish still waits for the base's, which waits for every region's smoke test.
    expect(step(planned, 'publish:app', 'publish').after).toContain('publish:base');
    expect(step(planned, 'publish:base', 'publish').after).toEqual(expect.arrayContaining(['smoke:base:us-west-2', 'smoke:base:eu-west-1']));
    expect(step(plan('gild'), 'build:app', 'build').reason).not.toContain('still being tested');
  });

  it("waits for Packer's exit before sharing, publishing or finishing a copy, but not before the smoke test or a dependant's build", () => {
    for (const regionCopies of ['gild', 'packer'] as const) {
      const planned = plan(regionCopies);
      const exit = step(planned, 'packer-exit:base', 'packer-exit');
      expect(exit).toMatchObject({ build: 'build:base', after: ['build:base'], besideSmoke: ['smoke:base'], version: '1.0.0' });
      // Listed right after the build it waits for.
      const ids = planned.steps.map((candidate) => candidate.id);
      expect(ids.indexOf('packer-exit:base')).toBe(ids.indexOf('build:base') + 1);
      expect(step(planned, 'smoke:base', 'smoke').after).not.toContain('packer-exit:base');
      for (const region of ['us-east-1', ...copyRegions]) expect(step(planned, `share:base:${region}`, 'share').after).toContain('packer-exit:base');
      expect(step(planned, 'publish:base', 'publish').after).toContain('packer-exit:base');
      for (const discard of planned.steps.filter((candidate) => candidate.kind === 'discard' && candidate.image === 'base')) expect(discard.after).toContain('packer-exit:base');
      // A dependant builds on the base's tested AMI without waiting for the base's Packer, as a CI job of its own would.
      expect(step(planned, 'build:app', 'build').after).not.toContain('packer-exit:base');
      expect(step(planned, 'packer-exit:app', 'packer-exit').build).toBe('build:app');
    }
    const copies = plan('gild').steps.filter((candidate) => candidate.kind === 'copy' && candidate.image === 'base');
    expect(copies.map((copy) => [copy.id, copy.kind === 'copy' ? copy.besideBuild : undefined, copy.after])).toEqual(
      copyRegions.map((region) => [`copy:base:${region}`, 'packer-exit:base', ['build:base']]),
    );
  });

  it('waits in no circle, counting the steps a copy or packer-exit runs beside, for every way of copying and testing regions', () => {
    for (const regionCopies of ['gild', 'packer', undefined] as const) {
      for (const regions of ['build', 'all'] as const) {
        const planned = plan(regionCopies, [
          { ...base, smoke: { ...base.smoke, regions } },
          { ...app, smoke: { ...app.smoke, regions } },
        ]);
        const waitsFor = new Map(
          planned.steps.map((candidate) => [
            candidate.id,
            [
              ...candidate.after,
              ...(candidate.kind === 'copy' ? [candidate.besideSmoke, candidate.besideBuild].filter((id): id is string => id !== undefined) : []),
              ...(candidate.kind === 'packer-exit' ? candidate.besideSmoke : []),
            ],
          ]),
        );
        const reaches = (from: string, target: string, seen = new Set<string>()): boolean =>
          (waitsFor.get(from) ?? []).some((next) => next === target || (!seen.has(next) && (seen.add(next), reaches(next, target, seen))));
        const circles = [...waitsFor.keys()].filter((id) => reaches(id, id));
        expect(circles, `${regionCopies ?? 'default'} copies, smoke.regions ${regions}`).toEqual([]);
      }
    }
  });

  it('writes a plan its own schema reads back', () => {
    const planned = plan('gild');
    expect(runPlanSchema.parse(JSON.parse(JSON.stringify(planned)))).toEqual(planned);
  });
});
