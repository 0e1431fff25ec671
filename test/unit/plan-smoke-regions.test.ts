/**
 * Smoke where it is published (`smoke.regions: 'all'`) in the plan: one more smoke step per copy region, after the
 * build region's test and, with gild's copies, after that region's copy; shares and the publish wait for them; the
 * discard steps run if any of them fails. The default stays the build region, and the plan says what is published
 * without being launched.
 */
import { describe, expect, it } from 'vitest';
import { assemblePlan } from '../../src/plan/assemble-plan.ts';
import { formatRunPlan } from '../../src/plan/format-run-plan.ts';
import type { PlanStep, RunPlan } from '../../src/plan/run-plan.ts';
import { runPlanSchema } from '../../src/plan/run-plan-schema.ts';
import type { ResolvedImage } from '../../src/definition/resolved-image.ts';
import { inventoryFixture } from '../support/inventory-fixture.ts';
import { resolvedImageFixture } from '../support/resolved-image-fixture.ts';

const now = new Date('2026-12-07T12:00:00.000Z');
const copyRegions = ['us-west-2', 'eu-west-1'];

function imageWith(regions: 'build' | 'all', extra: Partial<ResolvedImage> = {}): ResolvedImage {
  const image = resolvedImageFixture({ name: 'web', copyRegions, ...extra });
  return { ...image, smoke: { ...image.smoke, regions } };
}

function plan(image: ResolvedImage, regionCopies: 'gild' | 'packer'): RunPlan {
  return assemblePlan({
    runId: '20261207T120000Z-run000',
    now,
    images: [image],
    fingerprints: { [image.name]: 'fp' },
    inventory: inventoryFixture({
      regions: Object.fromEntries(['us-east-1', ...copyRegions].map((region) => [region, {}])),
      bases: { [image.name]: { kind: 'resolved', amiId: 'ami-al2023', source: 'ssm:/aws/service/al2023' } },
      leases: {},
    }),
    force: false,
    settings: { sweepAfterMinutes: 120, rebuildAfterDays: undefined, regionCopies },
  });
}

const step = <K extends PlanStep['kind']>(planned: RunPlan, id: string, kind: K) => {
  const found = planned.steps.find((candidate) => candidate.id === id);
  if (found?.kind !== kind) throw new Error(`no ${kind} step ${id}: ${planned.steps.map((candidate) => candidate.id).join(', ')}`);
  return found as Extract<PlanStep, { kind: K }>;
};

describe('smoke.regions in the plan', () => {
  it('tests in the build region only by default, and says which regions are published without being launched', () => {
    for (const regionCopies of ['gild', 'packer'] as const) {
      const planned = plan(imageWith('build'), regionCopies);
      expect(planned.steps.filter((candidate) => candidate.kind === 'smoke').map((candidate) => candidate.id)).toEqual(['smoke:web']);
      expect(step(planned, 'smoke:web', 'smoke').reason).toContain(
        'launched in us-east-1 only: us-west-2, eu-west-1 get their copies published without launching (smoke.regions: "all" launches them too)',
      );
    }
  });

  it("with gild's copies, tests each region's copy after it is made and the build region's test passed, before that region is shared and anything published", () => {
    const planned = plan(imageWith('all'), 'gild');
    expect(runPlanSchema.safeParse(planned).success).toBe(true);
    expect(step(planned, 'smoke:web', 'smoke').reason).toContain('launched in us-east-1 first, then in us-west-2, eu-west-1 (smoke.regions is "all")');
    for (const region of copyRegions) {
      const regionSmoke = step(planned, `smoke:web:${region}`, 'smoke');
      expect(regionSmoke).toMatchObject({ region, amis: { from: 'build:web', copies: { [region]: `copy:web:${region}` } } });
      expect(regionSmoke.after).toEqual(['smoke:web', `copy:web:${region}`]);
      // Never shared before its own region's test passed.
      expect(step(planned, `share:web:${region}`, 'share').after).toEqual(expect.arrayContaining([`smoke:web:${region}`, `copy:web:${region}`]));
      // If any test fails, the copy here goes too (the copy step itself is done by then).
      const discard = step(planned, `discard:web:${region}`, 'discard');
      expect(discard.amis).toEqual({ from: 'build:web', copies: { [region]: `copy:web:${region}` } });
      expect(discard.after).toEqual(['smoke:web', 'smoke:web:us-west-2', 'smoke:web:eu-west-1', 'packer-exit:web']);
    }
    // The build region's share does not wait for the other regions; the publish waits for every test.
    expect(step(planned, 'share:web:us-east-1', 'share').after.some((id) => id.startsWith('smoke:web:'))).toBe(false);
    expect(step(planned, 'publish:web', 'publish').after).toEqual(expect.arrayContaining(['smoke:web', 'smoke:web:us-west-2', 'smoke:web:eu-west-1']));
    expect(step(planned, 'discard:web:us-east-1', 'discard').after).toEqual(['smoke:web', 'smoke:web:us-west-2', 'smoke:web:eu-west-1', 'packer-exit:web']);
    // The copies still run beside the build region's test, not after it.
    expect(step(planned, 'copy:web:us-west-2', 'copy').after).toEqual(['build:web']);
    expect(formatRunPlan(planned)).toMatch(/smoke test 1\.0\.0 in eu-west-1, on its copy there — smoke\.regions is "all"/);
  });

  it("with Packer's copies, tests every region's AMI from the build, after the build region's test", () => {
    const planned = plan(imageWith('all'), 'packer');
    expect(planned.steps.some((candidate) => candidate.kind === 'copy')).toBe(false);
    for (const region of copyRegions) {
      expect(step(planned, `smoke:web:${region}`, 'smoke')).toMatchObject({ region, amis: { from: 'build:web' }, after: ['smoke:web'] });
      expect(step(planned, `discard:web:${region}`, 'discard').after).toEqual(['smoke:web', 'smoke:web:us-west-2', 'smoke:web:eu-west-1', 'packer-exit:web']);
    }
  });

  it("says a region's test launches in its default VPC when the subnet and groups given are the build region's", () => {
    const image = imageWith('all');
    const planned = plan({ ...image, smoke: { ...image.smoke, subnetId: 'subnet-0123456789abcdef0' } }, 'gild');
    expect(step(planned, 'smoke:web:us-west-2', 'smoke').reason).toContain("in the region's default VPC: smoke.subnetId and securityGroupIds are us-east-1's");
  });

  it('launches the copies in a distribution account in all its regions when the account (or else the image) says so', () => {
    const account = { account: '111111111111', roleArn: 'arn:aws:iam::111111111111:role/gild-distribution', regions: ['us-east-1', 'us-west-2'], kmsKeyId: undefined };
    const cases = [
      { image: imageWith('build'), smoke: { instanceProfile: 'ssm' }, regions: undefined },
      { image: imageWith('all'), smoke: { instanceProfile: 'ssm' }, regions: ['us-east-1', 'us-west-2'] },
      { image: imageWith('build'), smoke: { instanceProfile: 'ssm', regions: 'all' as const }, regions: ['us-east-1', 'us-west-2'] },
      { image: imageWith('all'), smoke: { instanceProfile: 'ssm', regions: 'first' as const }, regions: undefined },
    ];
    for (const { image, smoke, regions } of cases) {
      const planned = plan({ ...image, distribution: [{ ...account, smoke }] }, 'gild');
      const accountSmoke = step(planned, 'account-smoke:web:111111111111', 'account-smoke');
      expect(accountSmoke.regions).toEqual(regions);
      expect(accountSmoke.region).toBe('us-east-1');
      expect(formatRunPlan(planned)).toContain(`smoke test the copy of 1.0.0 in account 111111111111 in ${(regions ?? ['us-east-1']).join(', ')}`);
    }
  });
});
