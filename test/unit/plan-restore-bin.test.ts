/**
 * `gild restore` of a version retirement deregistered, planned purely from what the Recycle Bin holds (the command asks
 * ListImagesInRecycleBin and ListSnapshotsInRecycleBin; moto has neither, see test/unit/unbin-stage.test.ts for the
 * stage): the AMI and its snapshots come back as `unbin` steps first, then a revoked version's restore, then pointers.
 */
import { describe, expect, it } from 'vitest';
import type { ObservedAmi } from '../../src/observe/inventory.ts';
import { planPointerChange } from '../../src/plan/plan-pointer-change.ts';
import type { BinLookup } from '../../src/plan/plan-restore.ts';
import { ami, inventoryFixture, parameter } from '../support/inventory-fixture.ts';
import { resolvedImageFixture } from '../support/resolved-image-fixture.ts';

const web = resolvedImageFixture({ name: 'web', buildRegion: 'us-east-1', copyRegions: ['us-west-2'] });
const regions = ['us-east-1', 'us-west-2'] as const;
const amiOf = (version: string, region: string) => `ami-${version.replaceAll('.', '')}${region === 'us-east-1' ? 'e' : 'w'}`;
const revocation = { reason: 'CVE-1', at: '2026-10-01T00:00:00.000Z', by: 'me@host', replacement: '1.0.0' };

/** `standing` published in both regions (the last named by latest and v1); the ledger has built up to `built` and `revoked`. */
function world(standing: readonly string[], ledger: { built: string; revoked?: Record<string, typeof revocation> }) {
  return inventoryFixture({
    regions: Object.fromEntries(
      regions.map((region) => [
        region,
        {
          parameters: [
            ...standing.map((version) => parameter(`/golden/web/versions/${version}`, amiOf(version, region))),
            parameter('/golden/web/latest', amiOf(standing.at(-1)!, region)),
            parameter('/golden/web/v1', amiOf(standing.at(-1)!, region)),
            ...(region === 'us-east-1' ? [parameter('/golden/web/ledger', JSON.stringify({ schema: 1, built: { '1.0': ledger.built }, revoked: ledger.revoked ?? {} }))] : []),
          ],
          amis: standing.map((version): ObservedAmi => ami(amiOf(version, region), { 'gild:image': 'web', 'gild:version': version, 'gild:status': 'published' })),
        },
      ]),
    ),
  });
}
const binHolds = (version: string, snapshots = true): Record<string, BinLookup> =>
  Object.fromEntries(
    regions.map((region) => [
      region,
      {
        found: [
          {
            amiId: amiOf(version, region),
            name: `web-${version}-20261001T000000Z-a1b2c3`,
            leavesBinAt: '2026-12-20T00:00:00.000Z',
            snapshotIds: snapshots ? [`snap-${amiOf(version, region).slice(4)}`] : [],
          },
        ],
      },
    ]),
  );
const restore = (inventory: ReturnType<typeof world>, version: string, bin?: Record<string, BinLookup>) =>
  planPointerChange({
    runId: 'run',
    now: new Date('2026-11-29T00:00:00.000Z'),
    image: web,
    inventory,
    channels: {},
    by: 'you@host',
    change: { kind: 'restore', version, reason: 'retired by mistake' },
    ...(bin ? { bin } : {}),
  });

describe('restore from the Recycle Bin', () => {
  it('a revoked version retired after keepRevokedDays: unbin in each region first (still revoked), then the restore, then latest and v1 back', () => {
    const planned = restore(world(['1.0.0'], { built: '1.0.1', revoked: { '1.0.1': revocation } }), '1.0.1', binHolds('1.0.1'));
    if ('refused' in planned) throw new Error(planned.refused);
    const steps = planned.plan.steps;
    expect(steps.map((step) => step.id)).toEqual([
      'lock:web',
      'unbin:web:1.0.1:us-east-1',
      'unbin:web:1.0.1:us-west-2',
      'restore:web:1.0.1:us-east-1',
      'restore:web:1.0.1:us-west-2',
      'repoint:web:latest',
      'repoint:web:v1',
      'release:web',
    ]);
    expect(steps[1]).toMatchObject({
      kind: 'unbin',
      amiId: 'ami-101e',
      snapshotIds: ['snap-101e'],
      parameterName: '/golden/web/versions/1.0.1',
      status: 'revoked',
      revoked: revocation,
      after: ['lock:web'],
      reason: expect.stringContaining('a Recycle Bin retention rule kept it'),
    });
    expect(steps[3]).toMatchObject({ kind: 'restore', amiId: 'ami-101e', ledger: true, after: ['lock:web', 'unbin:web:1.0.1:us-east-1', 'unbin:web:1.0.1:us-west-2'] });
    expect(steps[5]).toMatchObject({
      kind: 'repoint',
      moves: [expect.objectContaining({ region: 'us-east-1', amiId: 'ami-101e' }), expect.objectContaining({ region: 'us-west-2', amiId: 'ami-101w' })],
    });
  });

  it('a version retired while good comes back published, pointers left on the newer version, and the plan says retention would retire it again', () => {
    const planned = restore(world(['1.0.1', '1.0.2'], { built: '1.0.2' }), '1.0.0', binHolds('1.0.0'));
    if ('refused' in planned) throw new Error(planned.refused);
    expect(planned.plan.steps.map((step) => step.id)).toEqual(['lock:web', 'unbin:web:1.0.0:us-east-1', 'unbin:web:1.0.0:us-west-2', 'release:web']);
    expect(planned.plan.steps[1]).toMatchObject({ status: 'published' });
    expect(planned.plan.steps[1]).not.toHaveProperty('revoked');
    expect(planned.plan.images).toEqual([expect.objectContaining({ reason: 'bring 1.0.0 back from the Recycle Bin in us-east-1, us-west-2: retired by mistake' })]);
    expect(planned.plan.kept).toEqual([expect.objectContaining({ reason: expect.stringContaining('tagged gild:retain=restored: retired by mistake, so retention keeps it') })]);
    expect(planned.plan.steps[1]).toMatchObject({ reason: expect.stringContaining("take off retirement's marks (re-enable and un-deprecate it), tag it gild:retain=restored: retired by mistake") });
  });

  it("takes from the bin only an AMI named as gild names the version: one named by hand with the same prefix is not gild's", () => {
    const retired = world(['1.0.1'], { built: '1.0.1' });
    const byHand: Record<string, BinLookup> = {
      ...binHolds('1.0.0'),
      'us-west-2': { found: [{ amiId: 'ami-777w', name: 'web-1.0.0-copy-by-hand', leavesBinAt: undefined, snapshotIds: ['snap-c'] }] },
    };
    expect(restore(retired, '1.0.0', byHand)).toEqual({
      refused: expect.stringContaining("us-west-2: not in the Recycle Bin either (it holds ami-777w named web-1.0.0-copy-by-hand, not named as gild names 1.0.0's AMI: web-1.0.0-<run ID>)"),
    });
    // Beside gild's own AMI, a look-alike is left alone rather than making the choice ambiguous.
    const beside: Record<string, BinLookup> = {
      ...binHolds('1.0.0'),
      'us-west-2': {
        found: [
          { amiId: 'ami-100w', name: 'web-1.0.0-20261001T000000Z-a1b2c3', leavesBinAt: undefined, snapshotIds: ['snap-a'] },
          { amiId: 'ami-777w', name: 'web-1.0.0-copy', leavesBinAt: undefined, snapshotIds: ['snap-c'] },
        ],
      },
    };
    const planned = restore(retired, '1.0.0', beside);
    if ('refused' in planned) throw new Error(planned.refused);
    expect(planned.plan.steps.find((step) => step.id === 'unbin:web:1.0.0:us-west-2')).toMatchObject({ amiId: 'ami-100w' });
  });

  it('refuses, saying why, where the bin holds the AMI but not its snapshots, or several AMIs of that name, or where the number was never published', () => {
    const retired = world(['1.0.1'], { built: '1.0.1' });
    expect(restore(retired, '1.0.0', binHolds('1.0.0', false))).toEqual({ refused: expect.stringMatching(/none of its snapshots is \(no EBS_SNAPSHOT retention rule kept them.*cannot launch/) });
    const twice: Record<string, BinLookup> = {
      ...binHolds('1.0.0'),
      'us-west-2': {
        found: [
          { amiId: 'ami-100w', name: 'web-1.0.0-20261001T000000Z-a1b2c3', leavesBinAt: undefined, snapshotIds: ['snap-a'] },
          { amiId: 'ami-999w', name: 'web-1.0.0-20261002T000000Z-d4e5f6', leavesBinAt: undefined, snapshotIds: ['snap-b'] },
        ],
      },
    };
    expect(restore(retired, '1.0.0', twice)).toEqual({
      refused: expect.stringContaining('us-west-2: the Recycle Bin holds 2 AMIs named web-1.0.0-… (ami-100w, ami-999w) and keeps no tags to tell the published one'),
    });
    expect(restore(retired, '1.0.5', binHolds('1.0.5'))).toEqual({ refused: 'web 1.0.5 is not revoked nor retired; nothing to restore' });
    expect(restore(retired, '1.0.0', { 'us-east-1': { unknown: 'this target has no Recycle Bin' }, 'us-west-2': { found: [] } })).toEqual({
      refused: expect.stringContaining('us-east-1: this target has no Recycle Bin; us-west-2: not in the Recycle Bin either'),
    });
  });
});
