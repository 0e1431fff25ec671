/**
 * What holds for every plan, whatever was observed: the runner can apply it
 * (step ids are unique, every `after` names a step of the plan, the lock comes
 * first and the release last), an image another run holds gets no step, and
 * the same input gives the same plan.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { ObservedAmi, ObservedParameter } from '../../src/observe/inventory.ts';
import { observeLeaseState } from '../../src/observe/parse-lease.ts';
import { assemblePlan, type AssembleInput } from '../../src/plan/assemble-plan.ts';
import { ami, inventoryFixture, parameter } from '../support/inventory-fixture.ts';
import { resolvedImageFixture } from '../support/resolved-image-fixture.ts';

const now = new Date('2026-11-29T12:00:00.000Z');
const versions = ['1.0.0', '1.0.1', '1.0.2', '1.0.3'];

const extraAmi = fc.record({
  version: fc.constantFrom(...versions),
  status: fc.constantFrom('candidate', 'tested', 'failed', 'published', 'retiring'),
  fingerprint: fc.constantFrom('fp-current', 'fp-old'),
  runId: fc.constantFrom('20261129T100000Z-aaaaaa', '20261129T110000Z-bbbbbb', '20261128T100000Z-cccccc'),
  keep: fc.boolean(),
  region: fc.constantFrom('us-east-1', 'us-west-2'),
});

const world = fc.record({
  published: fc.subarray(versions, { minLength: 0 }),
  extra: fc.array(extraAmi, { maxLength: 5 }),
  keep: fc.integer({ min: 1, max: 3 }),
  force: fc.boolean(),
  fingerprint: fc.constantFrom('fp-current', 'fp-old'),
  lease: fc.constantFrom('free', 'live', 'expired'),
  copied: fc.boolean(),
});

type World = typeof world extends fc.Arbitrary<infer T> ? T : never;

function inputOf(generated: World): AssembleInput {
  const regions = generated.copied ? ['us-east-1', 'us-west-2'] : ['us-east-1'];
  const image = resolvedImageFixture({ name: 'web', version: '1.0.0', retention: { keep: generated.keep, minAgeDays: 0, phases: {} }, copyRegions: generated.copied ? ['us-west-2'] : [] });
  const amiIdOf = (version: string, region: string) => `ami-pub-${version.replaceAll('.', '')}-${region}`;
  const byRegion = Object.fromEntries(regions.map((region) => [region, { parameters: [] as ObservedParameter[], amis: [] as ObservedAmi[] }]));
  for (const region of regions) {
    const regionInventory = byRegion[region]!;
    for (const version of generated.published) {
      regionInventory.parameters.push(parameter(`/golden/web/versions/${version}`, amiIdOf(version, region)));
      regionInventory.amis.push(
        ami(amiIdOf(version, region), { 'gild:image': 'web', 'gild:status': 'published', 'gild:version': version, 'gild:fingerprint': 'fp-current', 'gild:base-ami': 'ami-base1' }),
      );
    }
    if (generated.published.length > 0) regionInventory.parameters.push(parameter('/golden/web/latest', amiIdOf(generated.published.at(-1)!, region)));
  }
  generated.extra.forEach((extra, index) => {
    byRegion[regions.includes(extra.region) ? extra.region : 'us-east-1']!.amis.push(
      ami(`ami-extra${index}`, {
        'gild:image': 'web',
        'gild:status': extra.status,
        'gild:version': extra.version,
        'gild:fingerprint': extra.fingerprint,
        'gild:base-ami': 'ami-base1',
        'gild:run-id': extra.runId,
        ...(extra.keep ? { 'gild:keep-reason': 'kept for a test' } : {}),
      }),
    );
  });
  const expiresAt = generated.lease === 'live' ? '2026-11-29T12:30:00.000Z' : '2026-11-29T11:00:00.000Z';
  const raw = JSON.stringify({ runId: '20261129T090000Z-other0', host: 'ci-2', pid: 7, takenAt: '2026-11-29T09:00:00.000Z', expiresAt });
  return {
    runId: '20261129T120000Z-run000',
    now,
    images: [image],
    fingerprints: { web: generated.fingerprint },
    inventory: inventoryFixture({
      regions: byRegion,
      bases: { web: { kind: 'resolved', amiId: 'ami-base1', source: 'ssm:/aws/service/al2023' } },
      leases: generated.lease === 'free' ? {} : { web: observeLeaseState(raw, { host: 'this-host', isPidAlive: () => true }) },
    }),
    force: generated.force,
    settings: { sweepAfterMinutes: 120, rebuildAfterDays: undefined },
  };
}

describe('assemblePlan, for any observed world', () => {
  it('gives a plan the runner can apply, the same one every time', () => {
    fc.assert(
      fc.property(world, (generated) => {
        const input = inputOf(generated);
        const plan = assemblePlan(input);
        const ids = plan.steps.map((step) => step.id);

        expect(assemblePlan(input)).toEqual(plan);
        expect(new Set(ids).size).toBe(ids.length);
        for (const step of plan.steps) for (const dependency of step.after) expect(ids).toContain(dependency);
        if (generated.lease === 'live') expect(plan.steps).toEqual([]);
        if (plan.steps.length > 0) {
          expect(plan.steps.filter((step) => step.kind !== 'unlock')[0]!.kind).toBe('lock');
          expect(plan.steps.at(-1)!.kind).toBe('release');
        }
        // Nothing is both deleted and kept, and no AMI a parameter names is deleted.
        const deleted = plan.steps.flatMap((step) => ((step.kind === 'cleanup' || step.kind === 'retire') && step.amiId ? [step.amiId] : []));
        expect(new Set(deleted).size).toBe(deleted.length);
        for (const kept of plan.kept) expect(deleted).not.toContain(kept.amiId);
        const cleaned = plan.steps.flatMap((step) => (step.kind === 'cleanup' && step.amiId ? [step.amiId] : []));
        const named = new Set(Object.values(input.inventory.regions).flatMap((regionInventory) => regionInventory.parameters.map((named) => named.value)));
        for (const amiId of cleaned) expect(named.has(amiId)).toBe(false);
      }),
      { numRuns: 300 },
    );
  });
});
