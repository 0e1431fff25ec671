/**
 * `gild revoke --disable` then `gild restore`: DisableImage withdrew every launch permission (AWS: accounts that lost
 * access when the AMI was disabled "do not regain access automatically" after EnableImage). The restore shares each
 * restored AMI again as the definition says, after its restore step and before latest moves back to it; so does a
 * version brought back from the Recycle Bin, and a restore that stopped half-way is finished with its shares.
 */
import { describe, expect, it } from 'vitest';
import type { Inventory, ObservedAmi, ObservedParameter, RegionInventory } from '../../src/observe/inventory.ts';
import { imageState } from '../../src/plan/image-state.ts';
import { planPointerChange } from '../../src/plan/plan-pointer-change.ts';
import { planUnfinishedRestores, type BinLookup } from '../../src/plan/plan-restore.ts';
import type { PlanStep, RunPlan } from '../../src/plan/run-plan.ts';
import { ami, inventoryFixture, parameter } from '../support/inventory-fixture.ts';
import { resolvedImageFixture } from '../support/resolved-image-fixture.ts';

const now = new Date('2026-11-29T00:00:00Z');
const consumer = '111122223333';
const shared = { kind: 'explicit', accounts: [consumer], organizationArns: [], organizationalUnitArns: [] } as const;
const web = resolvedImageFixture({ name: 'web', buildRegion: 'us-east-1', copyRegions: ['us-west-2'], launchPermissions: shared });
const privateWeb = resolvedImageFixture({ name: 'web', buildRegion: 'us-east-1', copyRegions: ['us-west-2'] });
const regions = ['us-east-1', 'us-west-2'] as const;
const amiOf = (version: string, region: string) => `ami-${version.replaceAll('.', '')}${region === 'us-east-1' ? 'e' : 'w'}`;
const revokedAt = '2026-11-20T00:00:00.000Z';
const revocation = { reason: 'false alarm CVE', at: revokedAt, by: 'ops@h', replacement: '1.0.0' };
const revokeTags = {
  'gild:status': 'revoked',
  'gild:revoked-reason': 'false alarm CVE',
  'gild:revoked-at': revokedAt,
  'gild:revoked-by': 'ops@h',
  'gild:revoked-disable': 'true',
  'gild:deprecated-at': revokedAt,
  'gild:disabled-at': revokedAt,
};

/**
 * 1.0.0 published and named by latest and v1; 1.0.1 published, then revoked with --disable (its AMIs disabled), or,
 * with `restoredTo`, already restored in the ledger while the regions listed are still revoked (a restore cut short).
 */
function world(options: { readonly stillRevokedIn?: readonly string[]; readonly restored?: boolean; readonly disabled?: boolean } = {}): Inventory {
  const stillRevokedIn = options.stillRevokedIn ?? regions;
  const entry = options.restored ? { ...revocation, restored: { reason: 'false alarm', at: '2026-11-28T00:00:00.000Z', by: 'ops@h' } } : revocation;
  return inventoryFixture({
    regions: Object.fromEntries(
      regions.map((region) => {
        const revoked = stillRevokedIn.includes(region);
        return [
          region,
          {
            parameters: [
              parameter('/golden/web/versions/1.0.0', amiOf('1.0.0', region)),
              parameter('/golden/web/versions/1.0.1', amiOf('1.0.1', region)),
              parameter('/golden/web/latest', amiOf('1.0.0', region)),
              parameter('/golden/web/v1', amiOf('1.0.0', region)),
              ...(revoked ? [parameter('/golden/web/status/1.0.1', JSON.stringify({ revoked: { reason: revocation.reason, at: revokedAt, by: 'ops@h' }, deprecationTime: revokedAt }))] : []),
              ...(region === 'us-east-1' ? [parameter('/golden/web/ledger', JSON.stringify({ schema: 1, built: { '1.0': '1.0.1' }, revoked: { '1.0.1': entry } }))] : []),
            ],
            amis: [
              ami(amiOf('1.0.0', region), { 'gild:image': 'web', 'gild:version': '1.0.0', 'gild:status': 'published', 'gild:published-at': '2026-10-01T00:00:00Z' }),
              ami(
                amiOf('1.0.1', region),
                { 'gild:image': 'web', 'gild:version': '1.0.1', 'gild:published-at': '2026-10-02T00:00:00Z', ...(revoked ? revokeTags : { 'gild:status': 'published' }) },
                revoked && options.disabled !== false ? ({ state: 'disabled', deprecationTime: revokedAt } satisfies Partial<ObservedAmi>) : {},
              ),
            ],
          },
        ];
      }),
    ),
  });
}

/** The inventory with each region's part changed as `change` says. */
const inRegions = (inventory: Inventory, change: (region: string, store: RegionInventory) => RegionInventory): Inventory => ({
  ...inventory,
  regions: Object.fromEntries(Object.entries(inventory.regions).map(([region, store]) => [region, change(region, store)])),
});

function restore(inventory: Inventory, image = web, version = '1.0.1', bin?: Record<string, BinLookup>): RunPlan {
  const planned = planPointerChange({ runId: 'r', now, image, inventory, channels: {}, by: 'ops@h', change: { kind: 'restore', version, reason: 'false alarm' }, ...(bin ? { bin } : {}) });
  if ('refused' in planned) throw new Error(planned.refused);
  return planned.plan;
}

const byId = (plan: RunPlan, id: string): PlanStep => {
  const step = plan.steps.find((candidate) => candidate.id === id);
  if (!step) throw new Error(`no step ${id} in ${plan.steps.map((candidate) => candidate.id).join(', ')}`);
  return step;
};

describe('restore of a version revoked with --disable', () => {
  it('shares each restored AMI again as the definition says, after its restore and before latest and v1 move back to it', () => {
    const plan = restore(world());
    expect(plan.steps.map((step) => step.id)).toEqual([
      'lock:web',
      'restore:web:1.0.1:us-east-1',
      'restore:web:1.0.1:us-west-2',
      'share:web:us-east-1:ami-101e',
      'share:web:us-west-2:ami-101w',
      'repoint:web:latest',
      'repoint:web:v1',
      'release:web',
    ]);
    for (const region of regions) {
      const share = byId(plan, `share:web:${region}:${amiOf('1.0.1', region)}`);
      expect(share).toMatchObject({
        kind: 'share',
        version: '1.0.1',
        region,
        amis: { amis: { 'us-east-1': 'ami-101e', 'us-west-2': 'ami-101w' } },
        launchPermissions: { accounts: [consumer], groups: [], organizationArns: [], organizationalUnitArns: [] },
        volumePermissions: { accounts: [consumer], groups: [] },
        after: ['lock:web', `restore:web:1.0.1:${region}`],
      });
      expect(share.reason).toContain('DisableImage');
      expect(share.reason).toContain(`share with account ${consumer}`);
      expect(share.reason).toContain('nothing changes');
    }
    for (const pointer of ['latest', 'v1'])
      expect(byId(plan, `repoint:web:${pointer}`).after).toEqual(expect.arrayContaining(['share:web:us-east-1:ami-101e', 'share:web:us-west-2:ami-101w', 'restore:web:1.0.1:us-east-1']));
  });

  it('plans the same share after a revoke that only deprecated: the share reads the grants live and changes nothing where they are there', () => {
    const plan = restore(world({ disabled: false }));
    expect(plan.steps.filter((step) => step.kind === 'share').map((step) => step.id)).toEqual(['share:web:us-east-1:ami-101e', 'share:web:us-west-2:ami-101w']);
  });

  it('plans no share for a private image: the definition grants nobody anything', () => {
    const plan = restore(world(), privateWeb);
    expect(plan.steps.filter((step) => step.kind === 'share')).toEqual([]);
    expect(plan.steps.map((step) => step.id)).toContain('repoint:web:latest');
  });

  it('a restore that stopped half-way (us-west-2 still revoked) is finished with its share there, and every region shared again before the pointers move', () => {
    const plan = restore(world({ restored: true, stillRevokedIn: ['us-west-2'] }));
    const ids = plan.steps.map((step) => step.id);
    expect(ids).toEqual(expect.arrayContaining(['restore:web:1.0.1:us-west-2', 'share:web:us-east-1:ami-101e', 'share:web:us-west-2:ami-101w', 'repoint:web:latest']));
    expect(ids).not.toContain('restore:web:1.0.1:us-east-1');
    expect(byId(plan, 'share:web:us-west-2:ami-101w').after).toEqual(['lock:web', 'restore:web:1.0.1:us-west-2']);
    expect(byId(plan, 'share:web:us-east-1:ami-101e').after).toEqual(['lock:web']);
    expect(byId(plan, 'share:web:us-east-1:ami-101e').reason).toContain('finish the restore that stopped half-way');
    expect(byId(plan, 'repoint:web:latest').after).toEqual(expect.arrayContaining(['share:web:us-east-1:ami-101e', 'share:web:us-west-2:ami-101w']));
  });

  it('a restore that finished, pointers and all, plans no share again; one whose pointers have yet to move does', () => {
    const restored = world({ restored: true, stillRevokedIn: [] });
    const unfinished = (inventory: Inventory) => planUnfinishedRestores({ image: web, state: imageState(inventory, 'web', web.regions), prefix: '/golden', inventory });
    expect(unfinished(restored).steps.map((step) => step.id)).toEqual(['share:web:us-east-1:ami-101e', 'share:web:us-west-2:ami-101w', 'repoint:web:latest', 'repoint:web:v1']);
    const onIt = (entry: ObservedParameter, region: string) => (entry.name === '/golden/web/latest' || entry.name === '/golden/web/v1' ? { ...entry, value: amiOf('1.0.1', region) } : entry);
    const done = inRegions(restored, (region, store) => ({ ...store, parameters: store.parameters.map((entry) => onIt(entry, region)) }));
    expect(unfinished(done)).toEqual({ steps: [], versions: [] });
  });
});

describe('a version brought back from the Recycle Bin', () => {
  const binHolds = (version: string): Record<string, BinLookup> =>
    Object.fromEntries(
      regions.map((region) => [
        region,
        { found: [{ amiId: amiOf(version, region), name: `web-${version}-20261001T000000Z-a1b2c3`, leavesBinAt: undefined, snapshotIds: [`snap-${amiOf(version, region).slice(4)}`] }] },
      ]),
    );

  it('retired while good (its disable phase withdrew the grants): shared again after its unbin, before latest moves to it', () => {
    // 1.0.2 retired into the bin while good; 1.0.0 is what is left published, so latest and v1 come back to 1.0.2.
    const inventory = inventoryFixture({
      regions: Object.fromEntries(
        regions.map((region) => [
          region,
          {
            parameters: [
              parameter('/golden/web/versions/1.0.0', amiOf('1.0.0', region)),
              parameter('/golden/web/latest', amiOf('1.0.0', region)),
              parameter('/golden/web/v1', amiOf('1.0.0', region)),
              ...(region === 'us-east-1' ? [parameter('/golden/web/ledger', JSON.stringify({ schema: 1, built: { '1.0': '1.0.2' }, revoked: {} }))] : []),
            ],
            amis: [ami(amiOf('1.0.0', region), { 'gild:image': 'web', 'gild:version': '1.0.0', 'gild:status': 'published' })],
          },
        ]),
      ),
    });
    const plan = restore(inventory, web, '1.0.2', binHolds('1.0.2'));
    expect(plan.steps.map((step) => step.id)).toEqual([
      'lock:web',
      'unbin:web:1.0.2:us-east-1',
      'unbin:web:1.0.2:us-west-2',
      'share:web:us-east-1:ami-102e',
      'share:web:us-west-2:ami-102w',
      'repoint:web:latest',
      'repoint:web:v1',
      'release:web',
    ]);
    expect(byId(plan, 'share:web:us-west-2:ami-102w')).toMatchObject({ after: ['lock:web', 'unbin:web:1.0.2:us-west-2'], reason: expect.stringContaining('brought back from the Recycle Bin') });
    expect(byId(plan, 'repoint:web:latest').after).toEqual(expect.arrayContaining(['share:web:us-east-1:ami-102e', 'share:web:us-west-2:ami-102w']));
  });

  it('revoked, then retired: unbin, restore, then share, then the pointers', () => {
    const inventory = inRegions(world(), (region, store) => ({
      ...store,
      amis: store.amis.filter((candidate) => candidate.amiId !== amiOf('1.0.1', region)),
      parameters: store.parameters.filter((entry) => !entry.name.endsWith('/1.0.1')),
    }));
    const plan = restore(inventory, web, '1.0.1', binHolds('1.0.1'));
    const ids = plan.steps.map((step) => step.id);
    expect(ids.indexOf('share:web:us-east-1:ami-101e')).toBeGreaterThan(ids.indexOf('restore:web:1.0.1:us-west-2'));
    expect(byId(plan, 'share:web:us-east-1:ami-101e').after).toEqual(['lock:web', 'restore:web:1.0.1:us-east-1']);
    expect(byId(plan, 'repoint:web:latest').after).toEqual(expect.arrayContaining(['share:web:us-east-1:ami-101e', 'share:web:us-west-2:ami-101w']));
  });
});

describe('gild restore run again after it died before its shares and pointer moves', () => {
  it('finishes them, the command the operator just ran, rather than refusing as already restored', () => {
    const inventory = world({ restored: true, stillRevokedIn: [] });
    const planned = planPointerChange({ runId: 'r', now, image: web, inventory, channels: {}, by: 'ops@h', change: { kind: 'restore', version: '1.0.1', reason: 'false alarm' } });
    expect('refused' in planned ? planned.refused : undefined).toBeUndefined();
  });
});
