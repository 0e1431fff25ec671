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

function inventory(options: {
  versions: Record<string, { publishedDaysAgo: number; revoked?: string; major?: boolean }>;
  pointers: Record<string, string>;
  holds?: Record<string, unknown>;
}): Inventory {
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
        // A complete revoke: recorded, deprecated (stamped), and in the ledger below.
        ...(facts.revoked ? { 'gild:revoked-reason': facts.revoked, 'gild:deprecated-at': now.toISOString() } : {}),
      },
    }));
    const revoked = Object.entries(options.versions).filter(([, facts]) => facts.revoked);
    for (const [version, facts] of revoked)
      parameters.push({
        name: `/golden/web/status/${version}`,
        value: JSON.stringify({ revoked: { reason: facts.revoked, at: now.toISOString(), by: 'ops@host' }, deprecationTime: now.toISOString() }),
        version: 1,
        lastModified: undefined,
      });
    if (region === 'us-east-1' && revoked.length > 0) {
      const ledger = { schema: 1, built: {}, revoked: Object.fromEntries(revoked.map(([version, facts]) => [version, { reason: facts.revoked, at: now.toISOString(), by: 'ops@host' }])) };
      parameters.push({ name: '/golden/web/ledger', value: JSON.stringify(ledger), version: 1, lastModified: undefined });
    }
    byRegion[region] = { region, parameters, amis, instances: [], temporaryResources: [], snapshots: [], references: {} };
  }
  return { observedAt: now.toISOString(), ssmPrefix: '/golden', regions: byRegion, bases: {}, leases: {} };
}

/** The inventory with every AMI tagged by the run that built it, as gild's builds are (what finds a publish cut short). */
const withRunIds = (inv: Inventory): Inventory => ({
  ...inv,
  regions: Object.fromEntries(
    Object.entries(inv.regions).map(([region, regionInventory]) => [
      region,
      { ...regionInventory, amis: regionInventory.amis.map((each) => ({ ...each, tags: { ...each.tags, 'gild:run-id': `web-${each.tags['gild:version']}-run` } })) },
    ]),
  ),
});

const plan = (inv: Inventory, change: PointerChange, channels: Record<string, { soakDays: number }> = { stable: { soakDays: 0 } }) =>
  planPointerChange({ runId: 'r1', now, image, inventory: inv, channels, by: 'ops@host', change });

const moves = (steps: readonly PlanStep[]) => steps.flatMap((step) => (step.kind === 'repoint' ? step.moves.map((move) => `${step.pointer} ${move.region} ${move.previous} → ${move.amiId}`) : []));

describe('planPointerChange', () => {
  const fleet = { versions: { '1.0.0': { publishedDaysAgo: 30 }, '1.0.1': { publishedDaysAgo: 10, revoked: 'broken' }, '1.0.2': { publishedDaysAgo: 2 } }, pointers: { latest: '1.0.2', v1: '1.0.2' } };

  it('rolls latest back past a revoked version to the previous good one, in every region, with the v<major> line naming the same version, recording both holds before any move', () => {
    const planned = plan(inventory(fleet), { kind: 'rollback', pointer: 'latest', to: undefined, reason: 'boot loops' });
    if ('refused' in planned) throw new Error(planned.refused);
    expect(moves(planned.plan.steps)).toEqual([
      `latest us-east-1 ${ami('1.0.2', 'us-east-1')} → ${ami('1.0.0', 'us-east-1')}`,
      `latest us-west-2 ${ami('1.0.2', 'us-west-2')} → ${ami('1.0.0', 'us-west-2')}`,
      `v1 us-east-1 ${ami('1.0.2', 'us-east-1')} → ${ami('1.0.0', 'us-east-1')}`,
      `v1 us-west-2 ${ami('1.0.2', 'us-west-2')} → ${ami('1.0.0', 'us-west-2')}`,
    ]);
    const holds = planned.plan.steps.filter((step) => step.kind === 'hold');
    expect(holds.map((step) => step.id)).toEqual(['hold:web:latest', 'hold:web:v1']);
    for (const hold of holds) expect(JSON.parse((hold as { value: string }).value)).toEqual({ version: '1.0.0', reason: 'boot loops', at: now.toISOString(), by: 'ops@host', group: 'r1' });
    for (const repoint of planned.plan.steps.filter((step) => step.kind === 'repoint')) expect(repoint.after).toEqual(['lock:web', 'hold:web:latest', 'hold:web:v1']);
    expect(planned.plan.steps.map((step) => step.kind)).toEqual(['lock', 'hold', 'hold', 'repoint', 'repoint', 'release']);
  });

  it('rolls back a v<major> line within its major, and a channel; --to of another major is refused for v<major>', () => {
    const lines = inventory({
      versions: { '1.0.0': { publishedDaysAgo: 30 }, '1.0.1': { publishedDaysAgo: 9 }, '2.0.0': { publishedDaysAgo: 2 } },
      pointers: { latest: '2.0.0', v1: '1.0.1', v2: '2.0.0', 'channels/stable': '1.0.1' },
    });
    const v1 = plan(lines, { kind: 'rollback', pointer: 'v1', to: undefined, reason: 'regression' });
    if ('refused' in v1) throw new Error(v1.refused);
    expect(moves(v1.plan.steps)).toEqual([`v1 us-east-1 ${ami('1.0.1', 'us-east-1')} → ${ami('1.0.0', 'us-east-1')}`, `v1 us-west-2 ${ami('1.0.1', 'us-west-2')} → ${ami('1.0.0', 'us-west-2')}`]);
    expect(v1.plan.steps.filter((step) => step.kind === 'hold').map((step) => step.id)).toEqual(['hold:web:v1']);
    expect(plan(lines, { kind: 'rollback', pointer: 'v1', to: '2.0.0', reason: 'x' })).toEqual({ refused: '--to 2.0.0 is not a 1.x version: v1 names only versions of major 1' });
    expect(plan(lines, { kind: 'rollback', pointer: 'v2', to: undefined, reason: 'x' })).toEqual({ refused: 'web has no good version of 2.x older than 2.0.0 to roll v2 back to; give one with --to' });
    const channel = plan(lines, { kind: 'rollback', pointer: 'channels/stable', to: undefined, reason: 'x' });
    if ('refused' in channel) throw new Error(channel.refused);
    expect(moves(channel.plan.steps).map((line) => line.split(' ')[0])).toEqual(['channels/stable', 'channels/stable']);
  });

  it('releases every hold one rollback placed, and names the next run a catch-up', () => {
    const hold = { version: '1.0.0', reason: 'boot loops', at: '2026-11-20T00:00:00Z', by: 'x', group: 'r0' };
    const held = inventory({ ...fleet, pointers: { latest: '1.0.0', v1: '1.0.0' }, holds: { latest: hold, v1: hold } });
    const planned = plan(held, { kind: 'release', pointer: 'latest' });
    if ('refused' in planned) throw new Error(planned.refused);
    const releases = planned.plan.steps.filter((step) => step.kind === 'hold');
    expect(releases.map((step) => step.id)).toEqual(['hold:web:latest', 'hold:web:v1']);
    expect(releases[0]!.reason).toMatch(/catch-up: the next `gild run` moves latest and v1 to the newest good version \(1\.0\.2 now\), without building/);
  });

  it('refuses promote --to latest or v<major> clearly, and channel names that are not declared (constructor, __proto__, toString)', () => {
    expect(plan(inventory(fleet), { kind: 'promote', channel: 'latest', version: undefined })).toEqual({
      refused: expect.stringMatching(/^--to latest: latest is not a channel\. Publishing moves latest and v<major>; to move one back, run `gild rollback web --reason …`/),
    });
    expect(plan(inventory(fleet), { kind: 'promote', channel: 'v1', version: undefined })).toEqual({ refused: expect.stringMatching(/^--to v1: v1 is not a channel/) });
    for (const name of ['constructor', '__proto__', 'toString', 'hasOwnProperty']) {
      expect(plan(inventory(fleet), { kind: 'promote', channel: name, version: undefined })).toEqual({
        refused: `"${name}" is not a channel in pipeline/settings.ts (declared: stable); add it under \`channels\``,
      });
      expect(plan(inventory(fleet), { kind: 'rollback', pointer: `channels/${name}`, to: undefined, reason: 'x' })).toEqual({ refused: expect.stringContaining(`"${name}" is not a channel`) });
    }
  });

  it('refuses to promote or roll back to a version whose AMI is not this image’s own (a hand-written versions/<v>)', () => {
    const foreign = inventory(fleet);
    const east = foreign.regions['us-east-1']!;
    const west = foreign.regions['us-west-2']!;
    const forged: Inventory = {
      ...foreign,
      regions: {
        'us-east-1': {
          ...east,
          parameters: [...east.parameters, { name: '/golden/web/versions/1.0.9', value: 'ami-0other000000000a', version: 1, lastModified: undefined }],
          amis: [...east.amis, { ...east.amis[0]!, amiId: 'ami-0other000000000a', tags: { 'gild:image': 'other', 'gild:version': '1.0.9', 'gild:status': 'published' } }],
        },
        'us-west-2': { ...west, parameters: [...west.parameters, { name: '/golden/web/versions/1.0.9', value: ami('1.0.2', 'us-west-2'), version: 1, lastModified: undefined }] },
      },
    };
    expect(plan(forged, { kind: 'promote', channel: 'stable', version: '1.0.9' })).toEqual({
      refused: expect.stringMatching(/^versions\/1\.0\.9 of web in us-east-1 names ami-0other000000000a, which is not an available AMI tagged gild:image=web and gild:version=1\.0\.9/),
    });
    expect(plan(forged, { kind: 'rollback', pointer: 'latest', to: '1.0.9', reason: 'x' })).toEqual({
      refused: expect.stringContaining('names ami-0other000000000a, which is not an available AMI tagged gild:image=web'),
    });
  });

  it('refuses a promotion younger than the channel soak, a revoked version, and a held channel', () => {
    expect(plan(inventory(fleet), { kind: 'promote', channel: 'stable', version: undefined }, { stable: { soakDays: 7 } })).toEqual({
      refused: '1.0.2 has been published for 2 days; stable requires a soak of 7 days',
    });
    expect(plan(inventory(fleet), { kind: 'promote', channel: 'stable', version: '1.0.1' })).toEqual({ refused: 'web 1.0.1 is revoked (broken)' });
    const held = inventory({
      ...fleet,
      pointers: { ...fleet.pointers, 'channels/stable': '1.0.0' },
      holds: { 'channels/stable': { version: '1.0.0', reason: 'wait', at: '2026-11-20T00:00:00Z', by: 'x' } },
    });
    expect(plan(held, { kind: 'promote', channel: 'stable', version: '1.0.2' })).toEqual({
      refused: 'channels/stable held at 1.0.0 by rollback on 2026-11-20: wait; run `gild release web --channel stable` first',
    });
    const old = plan(inventory(fleet), { kind: 'promote', channel: 'stable', version: '1.0.0' }, { stable: { soakDays: 7 } });
    expect('plan' in old).toBe(true);
  });

  it('revokes intent first: records on every region’s AMI (and the ledger) before any pointer moves, then moves latest and the major line, then deprecates', () => {
    const planned = plan(inventory({ versions: { '1.0.0': { publishedDaysAgo: 30 }, '1.0.1': { publishedDaysAgo: 2 } }, pointers: { latest: '1.0.1', v1: '1.0.1', 'channels/stable': '1.0.0' } }), {
      kind: 'revoke',
      version: '1.0.1',
      reason: 'CVE',
      disable: false,
    });
    if ('refused' in planned) throw new Error(planned.refused);
    expect(moves(planned.plan.steps).map((line) => line.split(' ')[0])).toEqual(['latest', 'latest', 'v1', 'v1']);
    const records = planned.plan.steps.filter((step) => step.kind === 'revoke' && step.phase === 'record');
    expect(records.map((step) => step.kind === 'revoke' && [step.region, step.ledger ?? false, step.replacement, step.by])).toEqual([
      ['us-east-1', true, '1.0.0', 'ops@host'],
      ['us-west-2', false, '1.0.0', 'ops@host'],
    ]);
    // The build region's record (the ledger) first: another region is tagged revoked only once the ledger says so.
    expect(records.map((step) => step.after)).toEqual([['lock:web'], ['lock:web', 'revoke:web:1.0.1:us-east-1']]);
    for (const step of planned.plan.steps.filter((candidate) => candidate.kind === 'repoint')) expect(step.after).toEqual(['lock:web', 'revoke:web:1.0.1:us-east-1', 'revoke:web:1.0.1:us-west-2']);
    const deprecations = planned.plan.steps.filter((step) => step.kind === 'revoke' && step.phase === 'deprecate');
    expect(deprecations).toHaveLength(2);
    for (const step of deprecations) expect(step.after).toEqual(['lock:web', 'revoke:web:1.0.1:us-east-1', 'revoke:web:1.0.1:us-west-2', 'repoint:web:latest', 'repoint:web:v1']);
  });

  it('moves a channel only to a version that has soaked; otherwise leaves it, said in the plan with the promote command', () => {
    const soaking = inventory({
      versions: { '1.0.0': { publishedDaysAgo: 30 }, '1.0.1': { publishedDaysAgo: 10 }, '1.0.2': { publishedDaysAgo: 2 } },
      pointers: { latest: '1.0.2', v1: '1.0.2', 'channels/stable': '1.0.1' },
    });
    const planned = plan(soaking, { kind: 'revoke', version: '1.0.1', reason: 'CVE', disable: false }, { stable: { soakDays: 7 } });
    if ('refused' in planned) throw new Error(planned.refused);
    // 1.0.0 has soaked 30 days: stable goes there, not to the 2-day-old 1.0.2.
    expect(moves(planned.plan.steps)).toEqual([
      `channels/stable us-east-1 ${ami('1.0.1', 'us-east-1')} → ${ami('1.0.0', 'us-east-1')}`,
      `channels/stable us-west-2 ${ami('1.0.1', 'us-west-2')} → ${ami('1.0.0', 'us-west-2')}`,
    ]);
    const onlyNew = inventory({ versions: { '1.0.1': { publishedDaysAgo: 10 }, '1.0.2': { publishedDaysAgo: 2 } }, pointers: { latest: '1.0.2', v1: '1.0.2', 'channels/stable': '1.0.1' } });
    const left = plan(onlyNew, { kind: 'revoke', version: '1.0.1', reason: 'CVE', disable: false }, { stable: { soakDays: 7 } });
    if ('refused' in left) throw new Error(left.refused);
    expect(moves(left.plan.steps)).toEqual([]);
    expect(left.plan.kept.map((entry) => `${entry.region}: ${entry.reason}`)).toEqual(
      regions.map(
        (region) =>
          `${region}: channels/stable still names the revoked 1.0.1: no good version has soaked the 7 days stable asks (1.0.2 was published 2 days ago); run \`gild promote web --to stable --version 1.0.2\` once it has`,
      ),
    );
  });

  it('refuses a promote while a publish cut short leaves v1 on the new version in one region only; a catch-up alike everywhere does not', () => {
    const promote: PointerChange = { kind: 'promote', channel: 'stable', version: '1.0.0' };
    const published = withRunIds(inventory({ versions: { '1.0.0': { publishedDaysAgo: 30 }, '1.0.1': { publishedDaysAgo: 3 } }, pointers: { latest: '1.0.0', v1: '1.0.0' } }));
    // 1.0.1's publish was killed after moving v1 in us-east-1: versions/1.0.1 everywhere, v1 in one region, latest in none.
    const east = published.regions['us-east-1']!;
    const half: Inventory = {
      ...published,
      regions: {
        ...published.regions,
        'us-east-1': { ...east, parameters: east.parameters.map((parameter) => (parameter.name === '/golden/web/v1' ? { ...parameter, value: ami('1.0.1', 'us-east-1') } : parameter)) },
      },
    };
    expect(plan(half, promote)).toEqual({
      refused: 'the publish of web 1.0.1 stopped halfway: v1 in us-west-2, latest in us-east-1, latest in us-west-2 not written yet; run `gild run web` to finish it first, then try again',
    });
    // v1 on 1.0.1 everywhere and latest behind everywhere alike (a release's catch-up): the regions agree, the promote goes ahead.
    const behind = withRunIds(inventory({ versions: { '1.0.0': { publishedDaysAgo: 30 }, '1.0.1': { publishedDaysAgo: 3 } }, pointers: { latest: '1.0.0', v1: '1.0.1' } }));
    const promoted = plan(behind, promote);
    if ('refused' in promoted) throw new Error(promoted.refused);
    expect(moves(promoted.plan.steps).sort()).toEqual([`channels/stable us-east-1 undefined → ${ami('1.0.0', 'us-east-1')}`, `channels/stable us-west-2 undefined → ${ami('1.0.0', 'us-west-2')}`]);
  });

  it('finishes a revoke that stopped half-way, from its record, whatever command comes next; never moves a pointer back', () => {
    // The record is on the AMIs; latest moved in us-east-1 only.
    const recorded = inventory({ versions: { '1.0.0': { publishedDaysAgo: 30 }, '1.0.1': { publishedDaysAgo: 2, revoked: 'CVE' } }, pointers: { latest: '1.0.1', v1: '1.0.1' } });
    const east = recorded.regions['us-east-1']!;
    const half: Inventory = {
      ...recorded,
      regions: {
        ...recorded.regions,
        'us-east-1': { ...east, parameters: east.parameters.map((parameter) => (parameter.name === '/golden/web/latest' ? { ...parameter, value: ami('1.0.0', 'us-east-1') } : parameter)) },
      },
    };
    const promote = plan(half, { kind: 'promote', channel: 'stable', version: '1.0.0' });
    if ('refused' in promote) throw new Error(promote.refused);
    expect(moves(promote.plan.steps).sort()).toEqual(
      [
        `latest us-west-2 ${ami('1.0.1', 'us-west-2')} → ${ami('1.0.0', 'us-west-2')}`,
        `v1 us-east-1 ${ami('1.0.1', 'us-east-1')} → ${ami('1.0.0', 'us-east-1')}`,
        `v1 us-west-2 ${ami('1.0.1', 'us-west-2')} → ${ami('1.0.0', 'us-west-2')}`,
        `channels/stable us-east-1 undefined → ${ami('1.0.0', 'us-east-1')}`,
        `channels/stable us-west-2 undefined → ${ami('1.0.0', 'us-west-2')}`,
      ].sort(),
    );
    expect(promote.plan.images[0]!.reason).toMatch(/^finish the half-done revoke of 1\.0\.1 first; then promote 1\.0\.0 to channels\/stable/);
    // latest apart between the regions here is the revoke's to finish, not a publish cut short: not refused for that.
    const tagged = plan(withRunIds(half), { kind: 'promote', channel: 'stable', version: '1.0.0' });
    if ('refused' in tagged) throw new Error(tagged.refused);
    expect(moves(tagged.plan.steps)).toHaveLength(5);
    const again = plan(half, { kind: 'revoke', version: '1.0.1', reason: 'another reason', disable: false });
    if ('refused' in again) throw new Error(again.refused);
    expect(again.plan.images[0]!.reason).toMatch(/^finish the revoke of 1\.0\.1 \(CVE\)/);
    expect(moves(again.plan.steps)).toHaveLength(3);
  });

  it('refuses a revocation that would leave a pointer with nowhere to go', () => {
    const planned = plan(inventory({ versions: { '2.0.0': { publishedDaysAgo: 3 } }, pointers: { latest: '2.0.0', v2: '2.0.0' } }), {
      kind: 'revoke',
      version: '2.0.0',
      reason: 'bad',
      disable: false,
    });
    expect(planned).toEqual({
      refused: expect.stringMatching(/latest in us-east-1 names it and there is no good version to move it to; publish one first; .*v2 in us-east-1 names it and there is no good version of 2\.x/),
    });
  });
});
