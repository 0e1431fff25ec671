/**
 * A version revoked, restored, then revoked again stays revoked whatever instant the second revoke dies at: its
 * copy regions are tagged only after the build region wrote the ledger, and a revoke trace newer than the ledger's
 * restore (a plan from before that order, a hand tag) is finished as a revoke, never taken for an unfinished restore
 * and undone. A restore that died half-way (traces older than it) is still finished as a restore. Pure.
 */
import { describe, expect, it } from 'vitest';
import type { Inventory, ObservedAmi, RegionInventory } from '../../src/observe/inventory.ts';
import { imageState, revocationOf } from '../../src/plan/image-state.ts';
import { planPointerChange } from '../../src/plan/plan-pointer-change.ts';
import { planUnfinishedIntents } from '../../src/plan/plan-unfinished-intents.ts';
import { resolvedImageFixture } from '../support/resolved-image-fixture.ts';

const now = new Date('2026-11-29T00:00:00Z');
const firstRevokeAt = '2026-11-01T00:00:00Z';
const restoredAt = '2026-11-02T00:00:00Z';
const image = resolvedImageFixture({ name: 'web', buildRegion: 'us-east-1', copyRegions: ['us-west-2'] });
const regions = ['us-east-1', 'us-west-2'];
const amiOf = (version: string, region: string) => `ami-${version.replaceAll('.', '')}${region === 'us-east-1' ? 'e' : 'w'}`;
const parameter = (name: string, value: string) => ({ name, value, version: 1, lastModified: undefined });

interface Traces {
  /** Regions whose AMI of 1.0.1 is tagged revoked, stamped at `at`. */
  readonly tagged?: readonly string[];
  /** Regions whose status/1.0.1 says revoked, stamped at `at`. */
  readonly status?: readonly string[];
  readonly at: string;
  /** What the traces say: by default a second revoke's own words, not the restored one's. */
  readonly said?: { readonly reason: string; readonly by: string };
}

/** 1.0.1 was revoked once and restored: the ledger says restored; `traces` are what a later revoke (or the restore's leftovers) left. */
function world(traces: Traces): Inventory {
  const byRegion: Record<string, RegionInventory> = {};
  for (const region of regions) {
    const parameters = [
      parameter('/golden/web/versions/1.0.0', amiOf('1.0.0', region)),
      parameter('/golden/web/versions/1.0.1', amiOf('1.0.1', region)),
      parameter('/golden/web/latest', amiOf('1.0.1', region)),
      parameter('/golden/web/v1', amiOf('1.0.1', region)),
    ];
    if (region === 'us-east-1')
      parameters.push(
        parameter(
          '/golden/web/ledger',
          JSON.stringify({
            schema: 1,
            built: { '1.0': '1.0.1' },
            revoked: { '1.0.1': { reason: 'first', at: firstRevokeAt, by: 'a@h', restored: { at: restoredAt, by: 'a@h', reason: 'false alarm' } } },
          }),
        ),
      );
    const said = traces.said ?? { reason: 'CVE for real', by: 'b@h' };
    if (traces.status?.includes(region)) parameters.push(parameter('/golden/web/status/1.0.1', JSON.stringify({ revoked: { reason: said.reason, at: traces.at, by: said.by } })));
    const tagged = traces.tagged?.includes(region) ?? false;
    const amis: ObservedAmi[] = ['1.0.0', '1.0.1'].map((version) => ({
      amiId: amiOf(version, region),
      name: `web-${version}`,
      state: 'available',
      createdAt: '2026-10-01T00:00:00Z',
      deprecationTime: undefined,
      snapshotIds: [],
      tags: {
        'gild:image': 'web',
        'gild:version': version,
        'gild:published-at': '2026-10-01T00:00:00Z',
        'gild:status': version === '1.0.1' && tagged ? 'revoked' : 'published',
        ...(version === '1.0.1' && tagged ? { 'gild:revoked-reason': said.reason, 'gild:revoked-at': traces.at, 'gild:revoked-by': said.by } : {}),
      },
    }));
    byRegion[region] = { region, parameters, amis, instances: [], temporaryResources: [], snapshots: [], references: {} };
  }
  return { observedAt: now.toISOString(), ssmPrefix: '/golden', regions: byRegion, bases: {}, leases: {} };
}

const nextRun = (inventory: Inventory) => {
  const state = imageState(inventory, 'web', regions);
  return { state, intents: planUnfinishedIntents({ image, state, prefix: '/golden', now, channels: {}, inventory }) };
};

describe('a second revoke of a restored version', () => {
  it('tags a copy region only after the build region recorded it in the ledger', () => {
    const planned = planPointerChange({
      runId: 'r2',
      now,
      image,
      inventory: world({ at: now.toISOString() }),
      channels: {},
      by: 'b@h',
      change: { kind: 'revoke', version: '1.0.1', reason: 'CVE for real', disable: false },
    });
    if ('refused' in planned) throw new Error(planned.refused);
    const east = planned.plan.steps.find((step) => step.id === 'revoke:web:1.0.1:us-east-1');
    const west = planned.plan.steps.find((step) => step.id === 'revoke:web:1.0.1:us-west-2');
    expect(east).toMatchObject({ kind: 'revoke', phase: 'record', ledger: true });
    // Were they both only after the lock, us-west-2 could be tagged revoked while the ledger still says restored.
    expect(west?.after).toContain('revoke:web:1.0.1:us-east-1');
  });

  // Every instant the re-revoke can die at once the copy region went first (a plan from an older gild): after its
  // status parameter, and after its tags.
  for (const traces of [
    { name: 'killed after the copy region status parameter', status: ['us-west-2'] },
    { name: 'killed after the copy region tags', status: ['us-west-2'], tagged: ['us-west-2'] },
  ]) {
    it(`${traces.name}, ledger not yet written: is still a revoke, and the next run finishes it as one`, () => {
      const { state, intents } = nextRun(world({ ...traces, at: now.toISOString() }));
      expect(revocationOf(state, '1.0.1')).toMatchObject({ reason: 'CVE for real', by: 'b@h' });
      expect(intents.steps.filter((step) => step.kind === 'restore').map((step) => step.id)).toEqual([]);
      // The finish writes the ledger (the build region's record) and moves latest and v1 off 1.0.1.
      expect(intents.steps.find((step) => step.id === 'revoke:web:1.0.1:us-east-1')).toMatchObject({ phase: 'record', ledger: true });
      expect(
        intents.steps
          .filter((step) => step.kind === 'repoint')
          .map((step) => step.kind === 'repoint' && step.pointer)
          .sort(),
      ).toEqual(['latest', 'v1']);
    });
  }
});

describe('a restore that died half-way', () => {
  it('is still finished as a restore: its leftover revoke traces are older than the ledger says it was restored', () => {
    const { state, intents } = nextRun(world({ tagged: ['us-west-2'], status: ['us-west-2'], at: firstRevokeAt }));
    expect(revocationOf(state, '1.0.1')).toBeUndefined();
    expect(intents.steps.filter((step) => step.kind === 'restore').map((step) => step.id)).toEqual(['restore:web:1.0.1:us-west-2']);
    expect(intents.steps.filter((step) => step.kind === 'revoke')).toEqual([]);
  });

  it("is finished as a restore when the revoked traces are the restored revoke's own, stamped minutes after the restore by a machine whose clock ran ahead", () => {
    // The revoking runner's clock 5 minutes fast: its stamps read after the restore, which a laptop stamped at 02T00:00.
    const skewed = world({ tagged: ['us-west-2'], status: ['us-west-2'], at: '2026-11-02T00:05:00Z', said: { reason: 'first', by: 'a@h' } });
    const { state, intents } = nextRun(skewed);
    expect(revocationOf(state, '1.0.1')).toBeUndefined();
    expect(intents.steps.filter((step) => step.kind === 'restore').map((step) => step.id)).toEqual(['restore:web:1.0.1:us-west-2']);
    // The same words stamped well after the restore are a second revoke, as are other words minutes after it.
    expect(revocationOf(nextRun({ ...skewed, ...world({ tagged: ['us-west-2'], at: '2026-11-02T01:00:00Z', said: { reason: 'first', by: 'a@h' } }) }).state, '1.0.1')).toMatchObject({
      reason: 'first',
    });
    expect(revocationOf(nextRun(world({ tagged: ['us-west-2'], at: '2026-11-02T00:05:00Z' })).state, '1.0.1')).toMatchObject({ reason: 'CVE for real' });
  });

  it('is finished as a restore when a trace carries no readable stamp (nothing shows it is newer)', () => {
    const { state } = nextRun(world({ tagged: ['us-west-2'], status: ['us-west-2'], at: '?' }));
    expect(revocationOf(state, '1.0.1')).toBeUndefined();
  });
});
