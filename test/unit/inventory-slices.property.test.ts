/**
 * The plan reads each image's slice of the inventory through an index built once per assembly (src/plan/inventory-slices.ts)
 * instead of scanning every region per image. The index must answer exactly what the scan answers, in the same order:
 * for any inventory (names that start alike, names with a `/`, parameters outside the prefix, AMIs and snapshots of
 * no image, repeated AMI IDs), every slice, every image's state and every image's digest are the same inside an
 * indexed assembly as outside it, where the filters run as written.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { Inventory, ObservedAmi, ObservedParameter, ObservedSnapshot, RegionInventory } from '../../src/observe/inventory.ts';
import { imageDigest } from '../../src/plan/assemble-plan.ts';
import { imageState } from '../../src/plan/image-state.ts';
import { amiById, imageAmis, imageParameters, orphanSnapshots, withInventoryIndex } from '../../src/plan/inventory-slices.ts';
import { emptyRegion } from '../support/inventory-fixture.ts';
import { resolvedImageFixture } from '../support/resolved-image-fixture.ts';

/** Names that start alike, contain one another, or span two segments: where a look-up by segment could go wrong. */
const names = ['web', 'web-api', 'webapi', 'we', 'a/b', 'a', ''];
const prefixes = ['/golden', '/golden/', '/a', '/team/images', ''];
const regions = ['us-east-1', 'us-west-2'];
const amiIds = ['ami-1', 'ami-2', 'ami-3', 'ami-4', 'ami-5'];
const snapshotIds = ['snap-1', 'snap-2', 'snap-3', 'snap-4'];

const tail = fc.constantFrom('latest', 'lock', 'lock.takeover', 'ledger', 'v1', 'versions/1.0.0', 'versions/1.0.1', 'versions/x', 'status/1.0.0', 'holds/latest', 'channels/stable', '');
const parameterName = fc.oneof(
  fc.tuple(fc.constantFrom(...names), tail).map(([name, rest]) => ({ under: true as const, name, rest })),
  fc.constantFrom('/goldenx/web/latest', '/golden', '/golden/web', '/golden//web/latest', '/other/web/latest', 'web/latest').map((raw) => ({ under: false as const, raw })),
);
const tagged = fc.option(fc.constantFrom(...names, 'other'), { nil: undefined });

const world = fc.record({
  prefix: fc.constantFrom(...prefixes),
  regions: fc.array(
    fc.record({
      region: fc.constantFrom(...regions),
      parameters: fc.array(fc.record({ name: parameterName, value: fc.constantFrom(...amiIds, '{"version":"1.0.0"}', 'not json') }), { maxLength: 25 }),
      amis: fc.array(
        fc.record({
          amiId: fc.constantFrom(...amiIds),
          image: tagged,
          status: fc.constantFrom('published', 'candidate', 'failed', 'revoked'),
          version: fc.constantFrom('1.0.0', '1.0.1', 'x'),
          state: fc.constantFrom('available', 'pending'),
          snapshots: fc.subarray(snapshotIds),
        }),
        { maxLength: 10 },
      ),
      snapshots: fc.array(fc.record({ snapshotId: fc.constantFrom(...snapshotIds), image: tagged }), { maxLength: 6 }),
    }),
    { maxLength: 2 },
  ),
});

type World = typeof world extends fc.Arbitrary<infer T> ? T : never;

function inventoryOf(generated: World): Inventory {
  const byRegion: Record<string, RegionInventory> = {};
  for (const generatedRegion of generated.regions) {
    const parameters: ObservedParameter[] = generatedRegion.parameters.map(({ name, value }) => ({
      name: name.under ? `${generated.prefix}/${name.name}/${name.rest}` : name.raw,
      value,
      version: 1,
      lastModified: undefined,
    }));
    const amis: ObservedAmi[] = generatedRegion.amis.map((ami) => ({
      amiId: ami.amiId,
      name: `${ami.image ?? 'x'}-${ami.amiId}`,
      state: ami.state,
      createdAt: '2026-11-01T00:00:00.000Z',
      deprecationTime: undefined,
      snapshotIds: ami.snapshots,
      tags: { ...(ami.image === undefined ? {} : { 'gild:image': ami.image }), 'gild:status': ami.status, 'gild:version': ami.version },
    }));
    const snapshots: ObservedSnapshot[] = generatedRegion.snapshots.map((snapshot) => ({
      snapshotId: snapshot.snapshotId,
      startTime: undefined,
      tags: snapshot.image === undefined ? ({} as Record<string, string>) : { 'gild:image': snapshot.image },
    }));
    byRegion[generatedRegion.region] = emptyRegion(generatedRegion.region, { parameters, amis, snapshots });
  }
  return { observedAt: '2026-11-29T12:00:00.000Z', ssmPrefix: generated.prefix, regions: byRegion, bases: {}, leases: {} };
}

/** A name the types promise but an unchecked cast may not give (a test's base of an unknown kind): the filters compare it as it is. */
const notAName = undefined as unknown as string;

/** Everything the plan asks of the inventory, per image and region (a region not observed included). */
function everyAnswer(inventory: Inventory) {
  const asked = [...regions, 'eu-north-1'];
  return [...names, notAName].map((name) => ({
    name,
    slices: asked.map((region) => ({
      parameters: imageParameters(inventory, region, name),
      amis: imageAmis(inventory, region, name),
      orphans: orphanSnapshots(inventory, region, name),
      byId: amiIds.map((amiId) => amiById(inventory, region, amiId)),
    })),
    state: imageState(inventory, name, asked),
    digest: name === '' || name === notAName ? undefined : imageDigest(inventory, resolvedImageFixture({ name, copyRegions: ['us-west-2'] })),
  }));
}

describe('the inventory index of an assembly', () => {
  it('answers every slice, state and digest as the scans do, in the same order and with the same objects', () => {
    fc.assert(
      fc.property(world, (generated) => {
        const inventory = inventoryOf(generated);
        const scanned = everyAnswer(inventory);
        const indexed = withInventoryIndex(inventory, () => everyAnswer(inventory));
        expect(indexed).toEqual(scanned);
        // The same objects, not copies: a slice is the inventory's own entries.
        indexed.forEach((image, imageIndex) =>
          image.slices.forEach((slice, sliceIndex) => {
            const scan = scanned[imageIndex]!.slices[sliceIndex]!;
            slice.parameters.forEach((parameter, at) => expect(parameter).toBe(scan.parameters[at]));
            slice.amis.forEach((ami, at) => expect(ami).toBe(scan.amis[at]));
            slice.byId.forEach((ami, at) => expect(ami).toBe(scan.byId[at]));
          }),
        );
      }),
      { numRuns: 300 },
    );
  });

  it('lives only while the assembly runs: afterwards, and for another inventory, the scans answer', () => {
    const region = emptyRegion('us-east-1', { parameters: [{ name: '/golden/web/latest', value: 'ami-1', version: 1, lastModified: undefined }] });
    const inventory: Inventory = { observedAt: '2026-11-29T12:00:00.000Z', ssmPrefix: '/golden', regions: { 'us-east-1': region }, bases: {}, leases: {} };
    const other: Inventory = { ...inventory, regions: { 'us-east-1': emptyRegion('us-east-1') } };
    withInventoryIndex(inventory, () => {
      expect(imageParameters(inventory, 'us-east-1', 'web')).toHaveLength(1);
      expect(imageParameters(other, 'us-east-1', 'web')).toHaveLength(0);
    });
    // An inventory built anew after the assembly (a later observation) is read as it is, not through an index of the old one.
    (region.parameters as ObservedParameter[]).push({ name: '/golden/web/v1', value: 'ami-1', version: 1, lastModified: undefined });
    expect(imageParameters(inventory, 'us-east-1', 'web')).toHaveLength(2);
  });
});
