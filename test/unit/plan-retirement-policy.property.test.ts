/**
 * Retirement over generated fleets: whatever the versions, channels, holds,
 * revocations, references, ages and regions, it never touches what must stay,
 * and it always retires (or moves on through its phases) what the policy says
 * once nothing protects it.
 */
import fc from 'fast-check';
import semver from 'semver';
import { describe, expect, it } from 'vitest';
import type { RetentionPolicy } from '../../src/definition/schema.ts';
import { planRetirementPolicy, type OwnedAmi, type RetirementPolicyInput } from '../../src/plan/plan-retirement-policy.ts';

const now = Date.parse('2026-11-29T00:00:00.000Z');
const daysAgo = (days: number) => new Date(now - days * 86_400_000).toISOString();
const allRegions = ['us-east-1', 'eu-west-1', 'ap-south-1'];

type Presence = 'absent' | 'owned' | 'foreign' | 'unlisted';

interface GeneratedVersion {
  readonly version: string;
  readonly ageDays: number;
  readonly revoked: boolean;
  readonly retainTagged: boolean;
  /** Per region: absent, present and gild's, present but not tagged gild's, or gild's with its `versions/<v>` gone. */
  readonly presence: readonly Presence[];
  readonly referenced: readonly boolean[];
  readonly deprecatedDaysAgo: number | undefined;
}

const versionArbitrary = fc.record({
  ageDays: fc.integer({ min: 0, max: 200 }),
  revoked: fc.integer({ min: 0, max: 6 }).map((roll) => roll === 0),
  retainTagged: fc.integer({ min: 0, max: 9 }).map((roll) => roll === 0),
  presence: fc.array(fc.constantFrom<Presence>('owned', 'owned', 'owned', 'absent', 'foreign', 'unlisted'), { minLength: 3, maxLength: 3 }),
  referenced: fc.array(
    fc.integer({ min: 0, max: 5 }).map((roll) => roll === 0),
    { minLength: 3, maxLength: 3 },
  ),
  deprecatedDaysAgo: fc.option(fc.integer({ min: 0, max: 30 }), { nil: undefined }),
});

const policyArbitrary: fc.Arbitrary<RetentionPolicy> = fc
  .record({
    keep: fc.integer({ min: 1, max: 4 }),
    maxAgeDays: fc.option(fc.integer({ min: 30, max: 150 }), { nil: undefined }),
    minAgeDays: fc.integer({ min: 0, max: 25 }),
    keepRevokedDays: fc.integer({ min: 0, max: 40 }),
    phases: fc.oneof(
      fc.constant({}),
      fc.record({ deprecate: fc.record({ graceDays: fc.integer({ min: 0, max: 20 }) }) }),
      fc.record({ deprecate: fc.record({ graceDays: fc.integer({ min: 0, max: 20 }) }), disable: fc.record({ graceDays: fc.integer({ min: 0, max: 5 }) }) }),
    ),
  })
  // minAgeDays above maxAgeDays is refused by validation, so it never reaches the planner.
  .filter((policy) => policy.maxAgeDays === undefined || policy.minAgeDays <= policy.maxAgeDays);

const fleetArbitrary = fc
  .record({
    regionCount: fc.integer({ min: 1, max: 3 }),
    versionNames: fc.uniqueArray(
      fc.tuple(fc.integer({ min: 1, max: 3 }), fc.integer({ min: 0, max: 5 })).map(([major, minor]) => `${major}.${minor}.0`),
      { minLength: 1, maxLength: 10 },
    ),
    versions: fc.array(versionArbitrary, { minLength: 10, maxLength: 10 }),
    policy: policyArbitrary,
    /** Indexes into the versions (modulo their count) for channels, holds, pins and a rolled-back latest. */
    channelPicks: fc.array(fc.nat(), { maxLength: 3 }),
    holdPicks: fc.array(fc.nat(), { maxLength: 2 }),
    pinPicks: fc.array(fc.nat(), { maxLength: 2 }),
    latestPick: fc.option(fc.nat(), { nil: undefined }),
    servedMajors: fc.subarray([1, 2, 3]),
    /** A major line left behind on an older version of its major (a half-done publish, or written by hand). */
    staleMajorLines: fc.boolean(),
  })
  .map((generated) => {
    const regions = allRegions.slice(0, generated.regionCount);
    const versions: GeneratedVersion[] = generated.versionNames.map((version, index) => ({ version, ...generated.versions[index]! }));
    const byAge = [...versions].sort((a, b) => semver.compare(a.version, b.version));
    // Newer versions are younger, as in life.
    const aged = byAge.map((entry, index) => ({ ...entry, ageDays: (byAge.length - index) * 10 + (entry.ageDays % 10) }));
    return { regions, versions: aged, generated };
  });

type Fleet = typeof fleetArbitrary extends fc.Arbitrary<infer T> ? T : never;

function buildInput({ regions, versions, generated }: Fleet): RetirementPolicyInput {
  const amiId = (version: string, region: string) => `ami-${version.replaceAll('.', '')}${regions.indexOf(region)}`;
  const published: Record<string, Record<string, string>> = {};
  const ownedAmis: Record<string, Record<string, OwnedAmi>> = Object.fromEntries(regions.map((region) => [region, {}]));
  const references: Record<string, string[]> = {};
  for (const entry of versions) {
    regions.forEach((region, regionIndex) => {
      const presence = entry.presence[regionIndex]!;
      if (presence === 'absent') return;
      const id = amiId(entry.version, region);
      if (presence !== 'unlisted') (published[entry.version] ??= {})[region] = id;
      if (entry.referenced[regionIndex]) references[id] = [`instance i-${id.slice(4)} (running)`];
      if (presence === 'foreign') return;
      ownedAmis[region]![id] = {
        amiId: id,
        state: 'available',
        createdAt: daysAgo(entry.ageDays),
        deprecationTime: undefined,
        snapshotIds: [`snap-${id.slice(4)}`],
        tags: {
          'gild:image': 'web',
          'gild:version': entry.version,
          'gild:status': entry.revoked ? 'revoked' : 'published',
          'gild:published-at': daysAgo(entry.ageDays),
          // Revoked at most as long ago as it was published.
          ...(entry.revoked ? { 'gild:revoked-at': daysAgo(Math.floor(entry.ageDays / 2)) } : {}),
          ...(entry.retainTagged ? { 'gild:retain': 'kept for audit' } : {}),
          ...(entry.deprecatedDaysAgo !== undefined ? { 'gild:deprecated-at': daysAgo(entry.deprecatedDaysAgo) } : {}),
        },
      };
    });
  }
  const pick = (index: number) => versions[index % versions.length]!.version;
  const good = versions
    .filter((entry) => !entry.revoked)
    .map((entry) => entry.version)
    .sort(semver.rcompare);
  const pointers: Record<string, Record<string, string>> = {};
  for (const region of regions) {
    const inRegion = (version: string | undefined) => (version ? published[version]?.[region] : undefined);
    const names: Record<string, string> = {};
    const latest = inRegion(generated.latestPick === undefined ? good[0] : pick(generated.latestPick));
    if (latest) names.latest = latest;
    generated.channelPicks.forEach((channel, index) => {
      const target = inRegion(pick(channel));
      if (target) names[`channels/c${index}`] = target;
    });
    for (const major of generated.servedMajors) {
      const ofMajor = good.filter((version) => semver.major(version) === major);
      const target = inRegion(ofMajor[generated.staleMajorLines && ofMajor.length > 1 ? 1 : 0]);
      if (target) names[`v${major}`] = target;
    }
    pointers[region] = names;
  }
  return {
    image: 'web',
    ssmPrefix: '/golden',
    policy: generated.policy,
    now: new Date(now).toISOString(),
    published,
    pointers,
    held: Object.fromEntries(generated.holdPicks.map((index) => [pick(index), 'rollback'])),
    pinned: Object.fromEntries(generated.pinPicks.map((index) => [pick(index), 'gild pin'])),
    ownedAmis,
    references,
  };
}

/** An independent statement of what must stay, per version and per AMI. */
function mustStay(input: RetirementPolicyInput, version: string, region: string, amiId: string): string | undefined {
  const amisOfVersion = new Set([
    ...Object.values(input.published[version] ?? {}),
    ...Object.values(input.ownedAmis).flatMap((amis) =>
      Object.values(amis)
        .filter((ami) => ami.tags['gild:version'] === version)
        .map((ami) => ami.amiId),
    ),
  ]);
  const owned = input.ownedAmis[region]?.[amiId];
  if (!owned) return 'not gild’s';
  if ((input.references[amiId] ?? []).length > 0) return 'referenced';
  if (version in input.held) return 'held';
  if (version in input.pinned) return 'pinned';
  if (Object.values(input.ownedAmis).some((amis) => Object.values(amis).some((ami) => ami.tags['gild:version'] === version && ami.tags['gild:retain'] !== undefined))) return 'retain-tagged';
  for (const pointers of Object.values(input.pointers)) {
    for (const [name, pointed] of Object.entries(pointers)) {
      if (amisOfVersion.has(pointed)) return `named by ${name}`;
      const major = /^v(\d+)$/.exec(name)?.[1];
      if (major !== undefined && newestGoodOfMajor(input, Number(major)) === version) return `newest of major ${major}`;
    }
  }
  const ageDays = Math.floor((now - Date.parse(owned.tags['gild:published-at']!)) / 86_400_000);
  if (ageDays < input.policy.minAgeDays) return 'too young';
  const revokedAt = Object.values(input.ownedAmis)
    .flatMap((amis) => Object.values(amis))
    .find((ami) => ami.tags['gild:version'] === version && ami.tags['gild:revoked-at'])?.tags['gild:revoked-at'];
  if (
    isRevoked(input, version) &&
    owned.tags['gild:status'] === 'revoked' &&
    Date.parse(owned.tags['gild:revoked-at'] ?? revokedAt ?? new Date(now).toISOString()) + (input.policy.keepRevokedDays ?? 30) * 86_400_000 > now
  )
    return 'revoked within keepRevokedDays';
  return undefined;
}

const isRevoked = (input: RetirementPolicyInput, version: string) =>
  Object.values(input.ownedAmis).some((amis) => Object.values(amis).some((ami) => ami.tags['gild:version'] === version && ami.tags['gild:status'] === 'revoked'));

function newestGoodOfMajor(input: RetirementPolicyInput, major: number): string | undefined {
  return Object.keys(input.published)
    .filter((version) => semver.major(version) === major && !isRevoked(input, version))
    .sort(semver.rcompare)[0];
}

function isDue(input: RetirementPolicyInput, version: string, region: string, amiId: string): boolean {
  const good = Object.keys(input.published)
    .filter((candidate) => !isRevoked(input, candidate))
    .sort(semver.rcompare);
  if (isRevoked(input, version) || !good.slice(0, input.policy.keep).includes(version)) return true;
  const owned = input.ownedAmis[region]?.[amiId];
  const ageDays = owned ? Math.floor((now - Date.parse(owned.tags['gild:published-at']!)) / 86_400_000) : 0;
  return input.policy.maxAgeDays !== undefined && ageDays > input.policy.maxAgeDays;
}

describe('planRetirementPolicy over generated fleets', () => {
  it('never touches a referenced, held, pinned, pointer-named, newest-of-major, too young or foreign AMI', () => {
    fc.assert(
      fc.property(fleetArbitrary, (fleet) => {
        const input = buildInput(fleet);
        for (const step of planRetirementPolicy(input).steps) {
          expect(mustStay(input, step.version, step.region, step.amiId), `${step.id} ${step.reason}`).toBeUndefined();
        }
      }),
      { numRuns: 500 },
    );
  });

  it('always retires what the policy says once nothing protects it, and accounts for every due AMI once', () => {
    fc.assert(
      fc.property(fleetArbitrary, (fleet) => {
        const input = buildInput(fleet);
        const plan = planRetirementPolicy(input);
        const noPhases = !input.policy.phases.deprecate && !input.policy.phases.disable;
        for (const [version, amis] of Object.entries(input.published)) {
          for (const [region, amiId] of Object.entries(amis)) {
            const steps = plan.steps.filter((step) => step.amiId === amiId);
            const kept = plan.kept.filter((entry) => entry.amiId === amiId);
            expect(steps.length + kept.length, `${amiId} appears once at most`).toBeLessThanOrEqual(1);
            if (!isDue(input, version, region, amiId)) {
              expect(steps, `${amiId} (${version}) is within retention`).toEqual([]);
              continue;
            }
            const blocker = mustStay(input, version, region, amiId);
            if (blocker) {
              expect(kept, `${amiId} stays: ${blocker}`).toHaveLength(1);
            } else if (noPhases) {
              expect(
                steps.map((step) => step.phase),
                `${amiId} (${version}) is due and unprotected`,
              ).toEqual(['deregister']);
            } else {
              expect(steps.length === 1 || kept[0]?.reason.startsWith('retiring:'), `${amiId} moves on or waits out its grace`).toBe(true);
            }
          }
        }
      }),
      { numRuns: 500 },
    );
  });
});
