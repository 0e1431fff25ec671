/**
 * Retirement says what it cannot see and leaves what it must: an AMI shared with other accounts is retired with a
 * note that their use is invisible (or held by `retention.keepShared`), and a snapshot that also backs another AMI is
 * left out of the deregistration, with the reason.
 */
import { describe, expect, it } from 'vitest';
import { planRetirementPolicy, type OwnedAmi, type RetirementPolicyInput } from '../../src/plan/plan-retirement-policy.ts';

const now = '2026-11-29T00:00:00.000Z';
const daysAgo = (days: number) => new Date(Date.parse(now) - days * 86_400_000).toISOString();

function ami(amiId: string, version: string, ageDays: number): OwnedAmi {
  return {
    amiId,
    state: 'available',
    createdAt: daysAgo(ageDays),
    deprecationTime: undefined,
    snapshotIds: [`snap-${amiId.slice(4)}`],
    tags: { 'gild:image': 'web', 'gild:version': version, 'gild:status': 'published', 'gild:published-at': daysAgo(ageDays) },
  };
}

/** 1.0.0 (40 days old) is beyond keep 2; 1.1.0 and 1.2.0 are kept. */
function input(overrides: Partial<RetirementPolicyInput> = {}): RetirementPolicyInput {
  const versions = ['1.0.0', '1.1.0', '1.2.0'];
  const amiOf = (version: string) => `ami-1${version.split('.')[1]}`;
  return {
    image: 'web',
    ssmPrefix: '/golden',
    policy: { keep: 2, maxAgeDays: undefined, minAgeDays: 0, phases: {} },
    now,
    published: Object.fromEntries(versions.map((version) => [version, { 'us-east-1': amiOf(version) }])),
    pointers: { 'us-east-1': { latest: 'ami-12' } },
    held: {},
    pinned: {},
    ownedAmis: { 'us-east-1': Object.fromEntries(versions.map((version, index) => [amiOf(version), ami(amiOf(version), version, 40 - index * 10)])) },
    references: {},
    ...overrides,
  };
}

describe('retirement and what it cannot see', () => {
  it('retires a shared AMI saying whom it is shared with and that their use is not visible', () => {
    const { steps } = planRetirementPolicy(input({ sharedWith: { 'ami-10': ['account 111122223333', 'organization arn:aws:organizations::123456789012:organization/o-abc'] } }));
    expect(steps.map((step) => [step.version, step.reason])).toEqual([
      [
        '1.0.0',
        'older than the newest 2 versions (retention keeps 2); shared with account 111122223333, organization arn:aws:organizations::123456789012:organization/o-abc: their use is not visible to this account',
      ],
    ]);
  });

  it('holds a shared AMI younger than retention.keepShared, and lets it go once older', () => {
    const held = planRetirementPolicy(input({ policy: { keep: 2, maxAgeDays: undefined, minAgeDays: 0, keepShared: 60, phases: {} }, sharedWith: { 'ami-10': ['account 111122223333'] } }));
    expect(held.steps).toEqual([]);
    expect(held.kept.map((entry) => entry.reason)).toEqual([
      'kept: shared with account 111122223333: their use is not visible to this account; retention.keepShared holds it 60 days (40 days old) (due: older than the newest 2 versions (retention keeps 2))',
    ]);
    const released = planRetirementPolicy(input({ policy: { keep: 2, maxAgeDays: undefined, minAgeDays: 0, keepShared: 30, phases: {} }, sharedWith: { 'ami-10': ['account 111122223333'] } }));
    expect(released.steps.map((step) => step.version)).toEqual(['1.0.0']);
  });

  it('leaves a snapshot that also backs another AMI, and says so', () => {
    const { steps } = planRetirementPolicy(input({ snapshotUsers: { 'snap-10': ['ami-10', 'ami-team0001'] } }));
    expect(steps).toHaveLength(1);
    expect(steps[0]!.snapshotIds).toEqual([]);
    expect(steps[0]!.reason).toBe('older than the newest 2 versions (retention keeps 2); snapshot snap-10 is left: it also backs ami-team0001');
  });

  it('deletes a snapshot only this AMI uses', () => {
    const { steps } = planRetirementPolicy(input({ snapshotUsers: { 'snap-10': ['ami-10'] } }));
    expect(steps[0]!.snapshotIds).toEqual(['snap-10']);
  });
});
