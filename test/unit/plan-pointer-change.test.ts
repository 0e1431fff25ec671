/** The lifecycle commands' plans, decided purely from an inventory: what moves, and what is refused and why. */
import { describe, expect, it } from 'vitest';
import type { Inventory, ObservedAmi, RegionInventory } from '../../src/observe/inventory.ts';
import { planPointerChange, type PointerChange } from '../../src/plan/plan-pointer-change.ts';
import type { PlanStep } from '../../src/plan/run-plan.ts';
import { resolvedImageFixture } from '../support/resolved-image-fixture.ts';

const now = new Date('2026-11-29T00:00:00Z');
const image = resolvedImageFixture({ name: 'web', buildRegion: 'us-east-1', copyRegions: ['us-west-2'] });
const regions = ['us-east-1', 'us-west-2'];
const ami = (version: string, region: string) => `ami-${version.replaceAll('.', '')}${region === 'us-east-1' ? 'e' : 'w'}`;

function inventory(options: { versions: Record<string, { publishedDaysAgo: number; revoked?: string; major?: boolean }>; pointers: Record<string, string>; holds?: Record<string, unknown> }): Inventory {
  const byRegion: Record<string, RegionInventory> = {};
  for (const region of regions) {
    const parameters = [
      ...Object.keys(options.versions).map((version) => ({ name: `/golden/web/versions/${version}`, value: ami(version, region), version: 1, lastModified: undefined })),
      ...Object.entries(options.pointers).map(([pointer, version]) => ({ name: `/golden/web/${pointer}`, value: ami(version, region), version: 1, lastModified: undefined })),
      ...Object.entries(options.holds ?? {}).map(([pointer, hold]) => ({ name: `/golden/web/holds/${pointer}`, value: JSON.stringify(hold), version: 1, lastModified: undefined })),
    ];
    const amis: ObservedAmi[] = Object.entries(options.versions).map(([version, facts]) => ({
      amiId: ami(version, region),
      name: `web-${version}`,
      state: 'available',
      createdAt: new Date(now.getTime() - facts.publishedDaysAgo * 86_400_000).toISOString(),
      deprecationTime: undefined,
      snapshotIds: [],
      tags: {
        'gild:image': 'web',
        'gild:version': version,
        'gild:status': facts.revoked ? 'revoked' : 'published',
        'gild:published-at': new Date(now.getTime() - facts.publishedDaysAgo * 86_400_000).toISOString(),
        ...(facts.revoked ? { 'gild:revoked-reason': facts.revoked } : {}),
      },
    }));
    byRegion[region] = { region, parameters, amis, instances: [], temporaryResources: [], snapshots: [], references: {} };
  }
  return { observedAt: now.toISOString(), ssmPrefix: '/golden', regions: byRegion, bases: {}, leases: {} };
}

const plan = (inv: Inventory, change: PointerChange, channels: Record<string, { soakDays: number }> = { stable: { soakDays: 0 } }) =>
  planPointerChange({ runId: 'r1', now, image, inventory: inv, channels, by: 'ops@host', change });

const moves = (steps: readonly PlanStep[]) =>
  steps.flatMap((step) => (step.kind === 'repoint' ? step.moves.map((move) => `${step.pointer} ${move.region} ${move.previous} → ${move.amiId}`) : []));

describe('planPointerChange', () => {
  const fleet = { versions: { '1.0.0': { publishedDaysAgo: 30 }, '1.0.1': { publishedDaysAgo: 10, revoked: 'broken' }, '1.0.2': { publishedDaysAgo: 2 } }, pointers: { latest: '1.0.2', v1: '1.0.2' } };

  it('rolls latest back past a revoked version to the previous good one, in every region, and records the hold after the move', () => {
    const planned = plan(inventory(fleet), { kind: 'rollback', pointer: 'latest', to: undefined, reason: 'boot loops' });
    if ('refused' in planned) throw new Error(planned.refused);
    expect(moves(planned.plan.steps)).toEqual([`latest us-east-1 ${ami('1.0.2', 'us-east-1')} → ${ami('1.0.0', 'us-east-1')}`, `latest us-west-2 ${ami('1.0.2', 'us-west-2')} → ${ami('1.0.0', 'us-west-2')}`]);
    const hold = planned.plan.steps.find((step) => step.kind === 'hold')!;
    expect(hold.after).toContain('repoint:web:latest');
    expect(JSON.parse((hold as { value: string }).value)).toEqual({ version: '1.0.0', reason: 'boot loops', at: now.toISOString(), by: 'ops@host' });
    expect(planned.plan.steps.map((step) => step.kind)).toEqual(['lock', 'repoint', 'hold', 'release']);
  });

  it('refuses a promotion younger than the channel soak, a revoked version, and a held channel', () => {
    expect(plan(inventory(fleet), { kind: 'promote', channel: 'stable', version: undefined }, { stable: { soakDays: 7 } })).toEqual({ refused: '1.0.2 has been published for 2 days; stable requires a soak of 7 days' });
    expect(plan(inventory(fleet), { kind: 'promote', channel: 'stable', version: '1.0.1' })).toEqual({ refused: 'web 1.0.1 is revoked (broken)' });
    const held = inventory({ ...fleet, pointers: { ...fleet.pointers, 'channels/stable': '1.0.0' }, holds: { 'channels/stable': { version: '1.0.0', reason: 'wait', at: '2026-11-20T00:00:00Z', by: 'x' } } });
    expect(plan(held, { kind: 'promote', channel: 'stable', version: '1.0.2' })).toEqual({ refused: 'channels/stable held at 1.0.0 by rollback on 2026-11-20: wait; run `gild release web --channel stable` first' });
    const old = plan(inventory(fleet), { kind: 'promote', channel: 'stable', version: '1.0.0' }, { stable: { soakDays: 7 } });
    expect('plan' in old).toBe(true);
  });

  it('revokes: moves latest and the major line to the newest good version, then tags every region', () => {
    const planned = plan(inventory({ versions: { '1.0.0': { publishedDaysAgo: 30 }, '1.0.1': { publishedDaysAgo: 2 } }, pointers: { latest: '1.0.1', v1: '1.0.1', 'channels/stable': '1.0.0' } }), { kind: 'revoke', version: '1.0.1', reason: 'CVE', disable: false });
    if ('refused' in planned) throw new Error(planned.refused);
    expect(moves(planned.plan.steps).map((line) => line.split(' ')[0])).toEqual(['latest', 'latest', 'v1', 'v1']);
    const revokes = planned.plan.steps.filter((step) => step.kind === 'revoke');
    expect(revokes.map((step) => step.kind === 'revoke' && step.region)).toEqual(regions);
    for (const step of revokes) expect(step.after).toEqual(['lock:web', 'repoint:web:latest', 'repoint:web:v1']);
  });

  it('refuses a revocation that would leave a pointer with nowhere to go', () => {
    const planned = plan(inventory({ versions: { '2.0.0': { publishedDaysAgo: 3 } }, pointers: { latest: '2.0.0', v2: '2.0.0' } }), { kind: 'revoke', version: '2.0.0', reason: 'bad', disable: false });
    expect(planned).toEqual({ refused: expect.stringMatching(/latest in us-east-1 names it and there is no good version to move it to; publish one first; .*v2 in us-east-1 names it and there is no good version of 2\.x/) });
  });
});
