/**
 * Descendants of a revoked version, planned purely: every published version built on it (and on those) is marked
 * gild:base-revoked after the revoke is recorded; `--cascade` revokes those the project defines, each under its own
 * lock, or refuses the whole revoke saying why.
 */
import { describe, expect, it } from 'vitest';
import type { Inventory, ObservedAmi, ObservedParameter, RegionInventory } from '../../src/observe/inventory.ts';
import { assemblePlan } from '../../src/plan/assemble-plan.ts';
import { descendantsOf } from '../../src/plan/plan-descendants.ts';
import { formatRunPlan } from '../../src/plan/format-run-plan.ts';
import { planPointerChange } from '../../src/plan/plan-pointer-change.ts';
import type { PlanStep } from '../../src/plan/run-plan.ts';
import { resolvedImageFixture } from '../support/resolved-image-fixture.ts';

const now = new Date('2026-11-29T00:00:00Z');
const regions = ['us-east-1', 'us-west-2'];
const images = {
  web: resolvedImageFixture({ name: 'web', buildRegion: 'us-east-1', copyRegions: ['us-west-2'] }),
  app: resolvedImageFixture({ name: 'app', buildRegion: 'us-east-1', copyRegions: ['us-west-2'] }),
  ui: resolvedImageFixture({ name: 'ui', buildRegion: 'us-east-1', copyRegions: ['us-west-2'] }),
};
const amiOf = (image: string, version: string, region: string) => `ami-${image}${version.replaceAll('.', '')}${region === 'us-east-1' ? 'e' : 'w'}`;

interface VersionFacts {
  readonly base?: readonly [string, string];
  readonly marked?: string;
  readonly revoked?: string;
}

/** Versions per image, each published in both regions and named by `latest` and `v<major>` when newest; `base` names the image and version it was built on (its build region's AMI). */
function inventory(fleet: Record<string, Record<string, VersionFacts>>): Inventory {
  const byRegion: Record<string, RegionInventory> = {};
  for (const region of regions) {
    const parameters: ObservedParameter[] = [];
    const amis: ObservedAmi[] = [];
    for (const [image, versions] of Object.entries(fleet)) {
      const newest = Object.keys(versions)
        .filter((version) => !versions[version]!.revoked)
        .sort()
        .at(-1);
      for (const [version, facts] of Object.entries(versions)) {
        parameters.push({ name: `/golden/${image}/versions/${version}`, value: amiOf(image, version, region), version: 1, lastModified: undefined });
        if (version === newest)
          for (const pointer of ['latest', `v${version.split('.')[0]}`])
            parameters.push({ name: `/golden/${image}/${pointer}`, value: amiOf(image, version, region), version: 1, lastModified: undefined });
        amis.push({
          amiId: amiOf(image, version, region),
          name: `${image}-${version}`,
          state: 'available',
          createdAt: '2026-11-01T00:00:00.000Z',
          deprecationTime: undefined,
          snapshotIds: [],
          tags: {
            'gild:image': image,
            'gild:version': version,
            'gild:status': facts.revoked ? 'revoked' : 'published',
            'gild:published-at': '2026-11-01T00:00:00.000Z',
            ...(facts.base ? { 'gild:base-ami': amiOf(facts.base[0], facts.base[1], 'us-east-1') } : {}),
            ...(facts.marked ? { 'gild:base-revoked': facts.marked } : {}),
            ...(facts.revoked ? { 'gild:revoked-reason': facts.revoked } : {}),
          },
        });
      }
      const revoked = Object.entries(versions).filter(([, facts]) => facts.revoked);
      if (region === 'us-east-1' && revoked.length > 0) {
        const ledger = { schema: 1, built: {}, revoked: Object.fromEntries(revoked.map(([version, facts]) => [version, { reason: facts.revoked, at: now.toISOString(), by: 'ops@host' }])) };
        parameters.push({ name: `/golden/${image}/ledger`, value: JSON.stringify(ledger), version: 1, lastModified: undefined });
      }
    }
    byRegion[region] = { region, parameters, amis, instances: [], temporaryResources: [], snapshots: [], references: {} };
  }
  return { observedAt: now.toISOString(), ssmPrefix: '/golden', regions: byRegion, bases: {}, leases: {} };
}

const fleet = {
  web: { '1.0.0': {}, '1.0.1': {} },
  app: { '1.0.0': { base: ['web', '1.0.0'] as const }, '1.0.1': { base: ['web', '1.0.1'] as const } },
  ui: { '2.0.0': { base: ['app', '1.0.0'] as const }, '2.0.1': { base: ['app', '1.0.1'] as const } },
};

const revoke = (inv: Inventory, options: { cascade?: boolean; images?: readonly (keyof typeof images)[] } = {}) =>
  planPointerChange({
    runId: 'r1',
    now,
    image: images.web,
    inventory: inv,
    channels: {},
    by: 'ops@host',
    change: { kind: 'revoke', version: '1.0.1', reason: 'CVE-1', disable: false, ...(options.cascade ? { cascade: true } : {}) },
    images: (options.images ?? ['web', 'app', 'ui']).map((name) => images[name]),
  });

const kinds = (steps: readonly PlanStep[]) => steps.map((step) => `${step.kind}${'image' in step ? ` ${step.image}` : ''}`);

describe('descendants of a revoked version', () => {
  it('are found through every generation, from the AMIs tags alone, with the line of descent', () => {
    expect(descendantsOf(inventory(fleet), 'web', '1.0.1').map((found) => ({ image: found.image, version: found.version, via: found.via, amis: found.amis }))).toEqual([
      { image: 'app', version: '1.0.1', via: 'web 1.0.1', amis: { 'us-east-1': amiOf('app', '1.0.1', 'us-east-1'), 'us-west-2': amiOf('app', '1.0.1', 'us-west-2') } },
      { image: 'ui', version: '2.0.1', via: 'web 1.0.1 → app 1.0.1', amis: { 'us-east-1': amiOf('ui', '2.0.1', 'us-east-1'), 'us-west-2': amiOf('ui', '2.0.1', 'us-west-2') } },
    ]);
  });

  it('a revoke marks each of their AMIs after the revoke is recorded, revokes none of them, and says so in the plan', () => {
    const planned = revoke(inventory(fleet));
    if ('refused' in planned) throw new Error(planned.refused);
    const marks = planned.plan.steps.filter((step) => step.kind === 'mark-descendant');
    expect(marks.map((step) => `${step.descendant.image} ${step.descendant.version} ${step.region} ${step.amiId}: ${step.tag}`)).toEqual([
      `app 1.0.1 us-east-1 ${amiOf('app', '1.0.1', 'us-east-1')}: web 1.0.1: CVE-1`,
      `app 1.0.1 us-west-2 ${amiOf('app', '1.0.1', 'us-west-2')}: web 1.0.1: CVE-1`,
      `ui 2.0.1 us-east-1 ${amiOf('ui', '2.0.1', 'us-east-1')}: web 1.0.1 → app 1.0.1: CVE-1`,
      `ui 2.0.1 us-west-2 ${amiOf('ui', '2.0.1', 'us-west-2')}: web 1.0.1 → app 1.0.1: CVE-1`,
    ]);
    for (const mark of marks) expect(mark.after).toEqual(['lock:web', 'revoke:web:1.0.1:us-east-1', 'revoke:web:1.0.1:us-west-2']);
    expect(planned.plan.steps.filter((step) => step.kind === 'revoke').every((step) => step.image === 'web')).toBe(true);
    expect(planned.plan.images).toEqual([
      expect.objectContaining({ image: 'web', reason: expect.stringContaining('built on it (marked gild:base-revoked, not revoked; --cascade revokes them): app 1.0.1, ui 2.0.1') }),
    ]);
    expect(planned.plan.steps.at(-1)).toMatchObject({ kind: 'release', image: 'web' });
  });

  it('an AMI already marked is not marked again; a revoke finished but for its marks is finished by the next command', () => {
    const marked = { ...fleet, web: { '1.0.0': {}, '1.0.1': { revoked: 'CVE-1' } }, app: { ...fleet.app, '1.0.1': { base: ['web', '1.0.1'] as const, marked: 'web 1.0.1: CVE-1' } } };
    const planned = revoke(inventory(marked));
    if ('refused' in planned) throw new Error(planned.refused);
    expect(planned.plan.steps.filter((step) => step.kind === 'mark-descendant').map((step) => step.id)).toEqual([
      'mark-descendant:web:1.0.1:ui:2.0.1:us-east-1',
      'mark-descendant:web:1.0.1:ui:2.0.1:us-west-2',
    ]);
    expect(planned.plan.steps.find((step) => step.kind === 'mark-descendant')?.reason).toMatch(
      /^finish the revoke that stopped half-way: ui 2\.0\.1 is built on the revoked web 1\.0\.1 → app 1\.0\.1/,
    );
  });

  it('--cascade revokes every descendant the project defines, each under its own lock, after the base is recorded; their pointers move to their newest version not revoked with them', () => {
    const planned = revoke(inventory(fleet), { cascade: true });
    if ('refused' in planned) throw new Error(planned.refused);
    const steps = planned.plan.steps;
    expect(kinds(steps).filter((kind) => kind === 'lock app' || kind === 'release app' || kind === 'lock ui' || kind === 'release ui')).toEqual(['lock app', 'release app', 'lock ui', 'release ui']);
    const appRecord = steps.find((step) => step.id === 'revoke:app:1.0.1:us-east-1');
    expect(appRecord).toMatchObject({ kind: 'revoke', phase: 'record', ledger: true, revokedReason: 'its base web 1.0.1 was revoked: CVE-1' });
    expect(appRecord?.after).toEqual(['lock:app', 'revoke:web:1.0.1:us-east-1', 'revoke:web:1.0.1:us-west-2']);
    expect(steps.find((step) => step.id === 'revoke:ui:2.0.1:us-east-1')).toMatchObject({ revokedReason: 'its base web 1.0.1 → app 1.0.1 was revoked: CVE-1' });
    const repoints = steps.flatMap((step) => (step.kind === 'repoint' ? [`${step.image} ${step.pointer} → ${step.version}`] : []));
    expect(repoints.sort()).toEqual(['app latest → 1.0.0', 'app v1 → 1.0.0', 'ui latest → 2.0.0', 'ui v2 → 2.0.0', 'web latest → 1.0.0', 'web v1 → 1.0.0']);
    // Each image's lock is given back after its own steps only.
    const releaseApp = steps.find((step) => step.id === 'release:app')!;
    expect(releaseApp.after.every((id) => id === 'lock:app' || id.includes(':app:'))).toBe(true);
    expect(planned.plan.options.images).toEqual(['web', 'app', 'ui']);
    expect(planned.plan.images.map((decision) => decision.image)).toEqual(['web', 'app', 'ui']);
  });

  it('--cascade refuses the whole revoke when a descendant is not defined here or has nowhere to move its pointers', () => {
    const undefinedHere = revoke(inventory(fleet), { cascade: true, images: ['web', 'app'] });
    expect(undefinedHere).toEqual({ refused: expect.stringMatching(/^--cascade: ui 2\.0\.1 is built on the revoked web 1\.0\.1 → app 1\.0\.1 but ui is not defined in this project/) });
    const onlyChild = revoke(inventory({ web: fleet.web, app: { '1.0.1': { base: ['web', '1.0.1'] } } }), { cascade: true, images: ['web', 'app'] });
    expect(onlyChild).toEqual({ refused: expect.stringMatching(/^--cascade: app 1\.0\.1: latest in us-east-1 names it and there is no good version to move it to; publish one first/) });
  });
});

const restore = (inv: Inventory) =>
  planPointerChange({ runId: 'r2', now, image: images.web, inventory: inv, channels: {}, by: 'ops@host', change: { kind: 'restore', version: '1.0.1', reason: 'false alarm' } });

describe('descendants of a restored version', () => {
  const revokedWeb = {
    web: { '1.0.0': {}, '1.0.1': { revoked: 'CVE-1' } },
    app: { '1.0.0': { base: ['web', '1.0.0'] as const, marked: 'web 1.0.0: other' }, '1.0.1': { base: ['web', '1.0.1'] as const, marked: 'web 1.0.1: CVE-1' } },
    ui: { '2.0.0': { base: ['app', '1.0.0'] as const }, '2.0.1': { base: ['app', '1.0.1'] as const, marked: 'web 1.0.1 → app 1.0.1: CVE-1' } },
  };

  it('a restore un-marks every AMI whose mark names it, through every generation, after the restore is recorded, and says so', () => {
    const planned = restore(inventory(revokedWeb));
    if ('refused' in planned) throw new Error(planned.refused);
    const unmarks = planned.plan.steps.filter((step) => step.kind === 'unmark-descendant');
    expect(unmarks.map((step) => `${step.descendant.image} ${step.descendant.version} ${step.region} ${step.amiId}: ${step.tag}`)).toEqual([
      `app 1.0.1 us-east-1 ${amiOf('app', '1.0.1', 'us-east-1')}: web 1.0.1: CVE-1`,
      `app 1.0.1 us-west-2 ${amiOf('app', '1.0.1', 'us-west-2')}: web 1.0.1: CVE-1`,
      `ui 2.0.1 us-east-1 ${amiOf('ui', '2.0.1', 'us-east-1')}: web 1.0.1 → app 1.0.1: CVE-1`,
      `ui 2.0.1 us-west-2 ${amiOf('ui', '2.0.1', 'us-west-2')}: web 1.0.1 → app 1.0.1: CVE-1`,
    ]);
    for (const step of unmarks) {
      expect(step.after).toEqual(['lock:web', 'restore:web:1.0.1:us-east-1']);
      expect(step.reason).toMatch(/is restored, and on no other revoked version: delete gild:base-revoked from ami-/);
    }
    expect(planned.plan.images).toEqual([expect.objectContaining({ image: 'web', reason: expect.stringContaining('built on it, un-marked gild:base-revoked: app 1.0.1, ui 2.0.1') })]);
    expect(planned.plan.steps.at(-1)).toMatchObject({ kind: 'release', image: 'web' });
  });

  it('a descendant also built on another version still revoked keeps its mark', () => {
    const alsoRevoked = { ...revokedWeb, app: { ...revokedWeb.app, '1.0.1': { ...revokedWeb.app['1.0.1'], revoked: 'CVE-2' } } };
    const planned = restore(inventory(alsoRevoked));
    if ('refused' in planned) throw new Error(planned.refused);
    expect(planned.plan.steps.filter((step) => step.kind === 'unmark-descendant').map((step) => step.id)).toEqual([
      'unmark-descendant:web:1.0.1:app:1.0.1:us-east-1',
      'unmark-descendant:web:1.0.1:app:1.0.1:us-west-2',
    ]);
  });

  it('a restore that stopped before its un-marks is finished by the next command', () => {
    const inv = inventory(revokedWeb);
    const ledger = {
      schema: 1,
      built: {},
      revoked: { '1.0.1': { reason: 'CVE-1', at: now.toISOString(), by: 'ops@host', restored: { reason: 'false alarm', at: now.toISOString(), by: 'ops@host' } } },
    };
    const east = inv.regions['us-east-1']!;
    const restored: Inventory = {
      ...inv,
      regions: {
        ...inv.regions,
        'us-east-1': { ...east, parameters: east.parameters.map((parameter) => (parameter.name === '/golden/web/ledger' ? { ...parameter, value: JSON.stringify(ledger) } : parameter)) },
      },
    };
    for (const region of regions) for (const ami of restored.regions[region]!.amis) if (ami.tags['gild:image'] === 'web') (ami.tags as Record<string, string>)['gild:status'] = 'published';
    const planned = restore(restored);
    if ('refused' in planned) throw new Error(planned.refused);
    const unmarks = planned.plan.steps.filter((step) => step.kind === 'unmark-descendant');
    expect(unmarks.map((step) => step.id)).toEqual([
      'unmark-descendant:web:1.0.1:app:1.0.1:us-east-1',
      'unmark-descendant:web:1.0.1:app:1.0.1:us-west-2',
      'unmark-descendant:web:1.0.1:ui:2.0.1:us-east-1',
      'unmark-descendant:web:1.0.1:ui:2.0.1:us-west-2',
    ]);
    expect(unmarks[0]?.reason).toMatch(/^finish the restore that stopped half-way/);
  });
});

describe("a run finishes a revoke's missing marks", () => {
  /** web 1.0.1 revoked and every part of the revoke done (recorded in the ledger, on the AMIs and in the status parameters; pointers moved; deprecated) but `only`: what is left out. */
  function revokedWorld(missing: 'marks' | 'marks and the status parameters'): Inventory {
    const world = inventory({ ...fleet, web: { '1.0.0': {}, '1.0.1': { revoked: 'CVE-1' } } });
    for (const region of regions) {
      const regionInventory = world.regions[region]!;
      const amis = regionInventory.amis.map((ami) => (ami.tags['gild:status'] === 'revoked' ? { ...ami, tags: { ...ami.tags, 'gild:deprecated-at': now.toISOString() } } : ami));
      const status = { name: '/golden/web/status/1.0.1', value: JSON.stringify({ revoked: { reason: 'CVE-1', at: now.toISOString(), by: 'ops@host' } }), version: 1, lastModified: undefined };
      const parameters = missing === 'marks' ? [...regionInventory.parameters, status] : regionInventory.parameters;
      (world.regions as Record<string, RegionInventory>)[region] = { ...regionInventory, amis, parameters } as RegionInventory;
    }
    return { ...world, bases: { web: { kind: 'resolved', amiId: 'ami-base1', source: 'ssm:/aws/service/al2023' } } };
  }
  const run = (world: Inventory) =>
    assemblePlan({ runId: 'r2', now, images: [images.web], fingerprints: { web: 'fp-new' }, inventory: world, force: false, settings: { sweepAfterMinutes: 120, rebuildAfterDays: undefined } });

  it('marks every descendant under the revoked image’s lock, beside its build: the build, publish and retirement wait for none of the marks', () => {
    const plan = run(revokedWorld('marks'));
    const marks = plan.steps.filter((step) => step.kind === 'mark-descendant');
    expect(marks.map((step) => `${step.id} after ${step.after.join(',')}`)).toEqual(
      ['app:1.0.1:us-east-1', 'app:1.0.1:us-west-2', 'ui:2.0.1:us-east-1', 'ui:2.0.1:us-west-2'].map((of) => `mark-descendant:web:1.0.1:${of} after lock:web`),
    );
    expect(marks.every((step) => step.reason.startsWith('finish the revoke that stopped half-way: '))).toBe(true);
    expect(plan.images).toEqual([
      expect.objectContaining({ image: 'web', action: 'build', reason: expect.stringMatching(/; and finish the revoke of 1\.0\.1: mark what was built on it gild:base-revoked$/) }),
    ]);
    const markIds = new Set(marks.map((step) => step.id));
    const others = plan.steps.filter((step) => step.kind !== 'mark-descendant' && step.kind !== 'release');
    expect(kinds(others)).toEqual(expect.arrayContaining(['build web', 'smoke web', 'publish web']));
    expect(others.filter((step) => step.after.some((id) => markIds.has(id)))).toEqual([]);
    // The lock is given back only once every mark is done.
    expect(plan.steps.find((step) => step.kind === 'release')?.after).toEqual(expect.arrayContaining([...markIds]));
    expect(formatRunPlan(plan)).toContain(`mark app 1.0.1 in us-west-2: tag ${amiOf('app', '1.0.1', 'us-west-2')} gild:base-revoked (built on the revoked web 1.0.1)`);
  });

  it('marks them with the rest of a revoke that stopped half-way, which holds the build back as before', () => {
    const plan = run(revokedWorld('marks and the status parameters'));
    expect(plan.images).toEqual([expect.objectContaining({ image: 'web', action: 'finish', reason: expect.stringContaining('finish the revoke of 1.0.1') })]);
    expect(kinds(plan.steps).filter((kind) => kind !== 'lock web' && kind !== 'release web')).toEqual([...Array(2).fill('revoke web'), ...Array(4).fill('mark-descendant web')]);
  });

  it('plans no mark once every descendant carries one', () => {
    const world = revokedWorld('marks');
    for (const region of regions) {
      const regionInventory = world.regions[region]!;
      const amis = regionInventory.amis.map((ami) => (ami.tags['gild:image'] === 'web' ? ami : { ...ami, tags: { ...ami.tags, 'gild:base-revoked': 'web 1.0.1: CVE-1' } }));
      (world.regions as Record<string, RegionInventory>)[region] = { ...regionInventory, amis } as RegionInventory;
    }
    const plan = run(world);
    expect(plan.steps.filter((step) => step.kind === 'mark-descendant')).toEqual([]);
    expect(plan.images[0]?.reason).not.toMatch(/finish the revoke/);
  });
});
