import { describe, expect, it } from 'vitest';
import type { RetentionPolicy } from '../../src/definition/schema.ts';
import { planRetirementPolicy, pointersIn, publishedVersionsIn, type OwnedAmi, type RetirementPolicyInput } from '../../src/plan/plan-retirement-policy.ts';

const now = '2026-11-29T00:00:00.000Z';
const daysAgo = (days: number) => new Date(Date.parse(now) - days * 86_400_000).toISOString();
const noGrace: RetentionPolicy = { keep: 2, maxAgeDays: undefined, minAgeDays: 0, phases: {} };

function ami(amiId: string, version: string, options: { ageDays?: number; tags?: Record<string, string> } = {}): OwnedAmi {
  const at = daysAgo(options.ageDays ?? 30);
  return {
    amiId,
    state: 'available',
    createdAt: at,
    deprecationTime: undefined,
    snapshotIds: [`snap-${amiId.slice(4)}`],
    tags: { 'gild:image': 'web', 'gild:version': version, 'gild:status': 'published', 'gild:published-at': at, ...options.tags },
  };
}

/** Versions 1.0.0 … 1.3.0 in us-east-1 (ami-10 … ami-13), `latest` on the newest. */
/** Tests change one AMI of a fleet in place. */
type EditableInput = RetirementPolicyInput & { readonly ownedAmis: Record<string, Record<string, OwnedAmi>> };

function fleet(overrides: Partial<RetirementPolicyInput> = {}): EditableInput {
  const versions = ['1.0.0', '1.1.0', '1.2.0', '1.3.0'];
  const amiOf = (version: string) => `ami-1${version.split('.')[1]}`;
  return {
    image: 'web',
    ssmPrefix: '/golden',
    policy: noGrace,
    now,
    published: Object.fromEntries(versions.map((version) => [version, { 'us-east-1': amiOf(version) }])),
    pointers: { 'us-east-1': { latest: 'ami-13' } },
    held: {},
    pinned: {},
    ownedAmis: { 'us-east-1': Object.fromEntries(versions.map((version, index) => [amiOf(version), ami(amiOf(version), version, { ageDays: 40 - index * 10 })])) },
    references: {},
    ...overrides,
  } as EditableInput;
}

const retired = (input: RetirementPolicyInput) => planRetirementPolicy(input).steps.map((step) => `${step.version} ${step.region} ${step.phase}`);
const keptReasons = (input: RetirementPolicyInput) => Object.fromEntries(planRetirementPolicy(input).kept.map((entry) => [`${entry.version} ${entry.region}`, entry.reason]));

describe('planRetirementPolicy', () => {
  it('deregisters what is beyond keep in the run that retires it, by default (no grace)', () => {
    const { steps, kept } = planRetirementPolicy(fleet());
    expect(kept).toEqual([]);
    expect(steps).toEqual([
      expect.objectContaining({
        id: 'retire:web:1.0.0:us-east-1:deregister',
        phase: 'deregister',
        amiId: 'ami-10',
        snapshotIds: ['snap-10'],
        parameterName: '/golden/web/versions/1.0.0',
        reason: 'older than the newest 2 versions (retention keeps 2)',
      }),
      expect.objectContaining({ id: 'retire:web:1.1.0:us-east-1:deregister', amiId: 'ami-11' }),
    ]);
    expect(steps[0]!.precondition).toContain('still tagged gild:image=web');
  });

  it('finishes a deregistration that stopped after versions/<v> went, even when the AMI never got its published tag', () => {
    // The `published` tag settles off the critical path: a run killed before it landed leaves the AMI `tested`; a later
    // retirement marks it `retiring` and removes versions/<v>; killed there, only that mark says it was published.
    const input = fleet();
    const { ['1.0.0']: _removed, ...published } = input.published;
    const stopped = ami('ami-10', '1.0.0', { ageDays: 40, tags: { 'gild:status': 'retiring', 'gild:retired-at': daysAgo(0) } });
    const { ['gild:published-at']: _neverTagged, ...tags } = stopped.tags;
    input.ownedAmis['us-east-1']!['ami-10'] = { ...stopped, tags };

    expect(retired({ ...input, published })).toContain('1.0.0 us-east-1 deregister');
  });

  it('retires anything older than maxAgeDays, even within keep', () => {
    expect(retired(fleet({ policy: { ...noGrace, keep: 4, maxAgeDays: 25 } }))).toEqual(['1.0.0 us-east-1 deregister', '1.1.0 us-east-1 deregister']);
    expect(planRetirementPolicy(fleet({ policy: { ...noGrace, keep: 4, maxAgeDays: 25 } })).steps[0]!.reason).toBe('40 days old, beyond maxAgeDays 25');
  });

  it('never retires anything younger than minAgeDays', () => {
    expect(retired(fleet({ policy: { ...noGrace, keep: 1, minAgeDays: 25 } }))).toEqual(['1.0.0 us-east-1 deregister', '1.1.0 us-east-1 deregister']);
    expect(keptReasons(fleet({ policy: { ...noGrace, keep: 1, minAgeDays: 25 } }))['1.2.0 us-east-1']).toBe(
      'kept: only 20 days old (minAgeDays 25) (due: older than the newest 1 version (retention keeps 1))',
    );
  });

  it('keeps what any pointer or channel names, in any region', () => {
    const input = fleet({
      pointers: { 'us-east-1': { latest: 'ami-13', 'channels/stable': 'ami-10' }, 'eu-west-1': { 'channels/slow': 'ami-e11' } },
      published: { ...fleet().published, '1.1.0': { 'us-east-1': 'ami-11', 'eu-west-1': 'ami-e11' } },
    });
    expect(retired(input)).toEqual([]);
    expect(keptReasons(input)).toEqual({
      '1.0.0 us-east-1': 'kept: channels/stable points to it in us-east-1 (due: older than the newest 2 versions (retention keeps 2))',
      '1.1.0 eu-west-1': expect.stringMatching(/^kept: it is not tagged gild:image=web .*; channels\/slow points to it in eu-west-1/),
      '1.1.0 us-east-1': 'kept: channels/slow points to it in eu-west-1 (due: older than the newest 2 versions (retention keeps 2))',
    });
  });

  it('keeps a version latest was rolled back to and held at', () => {
    const input = fleet({ pointers: { 'us-east-1': { latest: 'ami-11' } }, held: { '1.1.0': 'rollback of latest on 2026-11-28: broken nginx' } });
    expect(retired(input)).toEqual(['1.0.0 us-east-1 deregister']);
    expect(keptReasons(input)['1.1.0 us-east-1']).toBe(
      'kept: latest points to it in us-east-1; held: rollback of latest on 2026-11-28: broken nginx (due: older than the newest 2 versions (retention keeps 2))',
    );
  });

  it('keeps pinned versions and AMIs tagged gild:retain', () => {
    const input = fleet({ pinned: { '1.0.0': 'pinned by ops for the audit' } });
    input.ownedAmis['us-east-1']!['ami-11'] = ami('ami-11', '1.1.0', { ageDays: 30, tags: { 'gild:retain': 'legal hold' } });
    expect(retired(input)).toEqual([]);
    expect(keptReasons(input)).toEqual({
      '1.0.0 us-east-1': 'kept: pinned: pinned by ops for the audit (due: older than the newest 2 versions (retention keeps 2))',
      '1.1.0 us-east-1': 'kept: tagged gild:retain=legal hold in us-east-1 (due: older than the newest 2 versions (retention keeps 2))',
    });
  });

  it('keeps the newest version of each major line a v<major> pointer serves', () => {
    const published = { '1.0.0': { 'us-east-1': 'ami-10' }, '1.1.0': { 'us-east-1': 'ami-11' }, '2.0.0': { 'us-east-1': 'ami-20' }, '2.1.0': { 'us-east-1': 'ami-21' } };
    const ownedAmis = {
      'us-east-1': {
        'ami-10': ami('ami-10', '1.0.0', { ageDays: 40 }),
        'ami-11': ami('ami-11', '1.1.0', { ageDays: 30 }),
        'ami-20': ami('ami-20', '2.0.0', { ageDays: 20 }),
        'ami-21': ami('ami-21', '2.1.0', { ageDays: 10 }),
      },
    };
    // v1 still names the older 1.0.0 (a stale pointer): both what it names and the newest 1.x stay.
    const input = fleet({ published, ownedAmis, policy: { ...noGrace, keep: 1 }, pointers: { 'us-east-1': { latest: 'ami-21', v1: 'ami-10', v2: 'ami-21' } } });
    expect(retired(input)).toEqual(['2.0.0 us-east-1 deregister']);
    expect(keptReasons(input)['1.1.0 us-east-1']).toBe('kept: newest 1.x, which the v1 line serves (due: older than the newest 1 version (retention keeps 1))');
  });

  it('keeps an AMI something still uses, saying who', () => {
    const input = fleet({ references: { 'ami-10': ['auto scaling group web-asg (launch configuration web-lc)', 'parameter /apps/web/ami'] } });
    expect(retired(input)).toEqual(['1.1.0 us-east-1 deregister']);
    expect(keptReasons(input)['1.0.0 us-east-1']).toBe(
      'kept: in use by auto scaling group web-asg (launch configuration web-lc), parameter /apps/web/ami (due: older than the newest 2 versions (retention keeps 2))',
    );
  });

  it('never touches an AMI that is not tagged as this image’s', () => {
    const input = fleet();
    delete input.ownedAmis['us-east-1']!['ami-10'];
    expect(retired(input)).toEqual(['1.1.0 us-east-1 deregister']);
    expect(keptReasons(input)['1.0.0 us-east-1']).toMatch(/^kept: it is not tagged gild:image=web \(or no longer exists\), so gild did not make it and will not delete it/);
  });

  it('never touches an AMI tagged as another image’s, even when passed among the owned ones', () => {
    const input = fleet();
    input.ownedAmis['us-east-1']!['ami-10'] = { ...ami('ami-10', '1.0.0', { ageDays: 40 }), tags: { ...ami('ami-10', '1.0.0').tags, 'gild:image': 'api' } };
    expect(retired(input)).toEqual(['1.1.0 us-east-1 deregister']);
  });

  it('does not count revoked versions towards keep, and retires them once keepRevokedDays have passed since the revoke', () => {
    const input = fleet();
    input.ownedAmis['us-east-1']!['ami-12'] = ami('ami-12', '1.2.0', { ageDays: 20, tags: { 'gild:status': 'revoked', 'gild:revoked-reason': 'CVE-2026-1', 'gild:revoked-at': daysAgo(31) } });
    expect(retired(input)).toEqual(['1.0.0 us-east-1 deregister', '1.2.0 us-east-1 deregister']);
    expect(planRetirementPolicy(input).steps[1]!.reason).toBe('revoked (CVE-2026-1)');
  });

  it('keeps a revoked version keepRevokedDays (default 30) from its revoke, whatever keep says, and says so', () => {
    const input = fleet();
    input.ownedAmis['us-east-1']!['ami-12'] = ami('ami-12', '1.2.0', { ageDays: 20, tags: { 'gild:status': 'revoked', 'gild:revoked-reason': 'CVE-2026-1', 'gild:revoked-at': daysAgo(2) } });
    expect(retired(input)).toEqual(['1.0.0 us-east-1 deregister']);
    expect(keptReasons(input)['1.2.0 us-east-1']).toBe(
      'kept: revoked on 2026-11-27: kept deprecated for inspection and restore until 2026-12-27 (retention.keepRevokedDays 30) (due: revoked (CVE-2026-1))',
    );
    expect(retired({ ...input, policy: { ...input.policy, keepRevokedDays: 1 } })).toEqual(['1.0.0 us-east-1 deregister', '1.2.0 us-east-1 deregister']);
  });

  it('goes through configured phases, each after the previous one’s grace', () => {
    const policy: RetentionPolicy = { ...noGrace, keep: 3, phases: { deprecate: { graceDays: 14 }, disable: { graceDays: 7 } } };
    const stamped = (tags: Record<string, string>) => {
      const input = fleet({ policy });
      input.ownedAmis['us-east-1']!['ami-10'] = ami('ami-10', '1.0.0', { ageDays: 40, tags });
      return input;
    };
    expect(retired(stamped({}))).toEqual(['1.0.0 us-east-1 deprecate']);
    expect(retired(stamped({ 'gild:deprecated-at': daysAgo(3) }))).toEqual([]);
    expect(keptReasons(stamped({ 'gild:deprecated-at': daysAgo(3) }))['1.0.0 us-east-1']).toBe(
      'retiring: deprecated on 2026-11-26; disable is due after 2026-12-10 (14 days of grace) (due: older than the newest 3 versions (retention keeps 3))',
    );
    expect(retired(stamped({ 'gild:deprecated-at': daysAgo(15) }))).toEqual(['1.0.0 us-east-1 disable']);
    expect(planRetirementPolicy(stamped({ 'gild:deprecated-at': daysAgo(15) })).steps[0]!.reason).toBe(
      'older than the newest 3 versions (retention keeps 3); deprecated on 2026-11-14, 14 days of grace over',
    );
    expect(retired(stamped({ 'gild:deprecated-at': daysAgo(20), 'gild:disabled-at': daysAgo(2) }))).toEqual([]);
    expect(retired(stamped({ 'gild:deprecated-at': daysAgo(30), 'gild:disabled-at': daysAgo(8) }))).toEqual(['1.0.0 us-east-1 deregister']);
  });

  it('counts AWS’s own deprecation time, once passed, as the deprecate stamp', () => {
    const policy: RetentionPolicy = { ...noGrace, keep: 3, phases: { deprecate: { graceDays: 7 } } };
    const input = fleet({ policy });
    input.ownedAmis['us-east-1']!['ami-10'] = { ...ami('ami-10', '1.0.0', { ageDays: 40 }), deprecationTime: daysAgo(10) };
    expect(retired(input)).toEqual(['1.0.0 us-east-1 deregister']);
    input.ownedAmis['us-east-1']!['ami-10'] = { ...ami('ami-10', '1.0.0', { ageDays: 40 }), deprecationTime: daysAgo(-30) };
    expect(retired(input)).toEqual(['1.0.0 us-east-1 deprecate']);
  });

  it('skips phases that are not configured, and plans a phase again when its stamp is missing', () => {
    const disableOnly: RetentionPolicy = { ...noGrace, keep: 3, phases: { disable: { graceDays: 0 } } };
    const input = fleet({ policy: disableOnly });
    expect(retired(input)).toEqual(['1.0.0 us-east-1 disable']);
    // Disabled by an earlier run that crashed before stamping: disable again (idempotent), which stamps it.
    input.ownedAmis['us-east-1']!['ami-10'] = { ...ami('ami-10', '1.0.0', { ageDays: 40 }), state: 'disabled' };
    expect(retired(input)).toEqual(['1.0.0 us-east-1 disable']);
    input.ownedAmis['us-east-1']!['ami-10'] = ami('ami-10', '1.0.0', { ageDays: 40, tags: { 'gild:disabled-at': daysAgo(0) } });
    expect(retired(input)).toEqual(['1.0.0 us-east-1 deregister']);
  });

  it('finishes a half-done retirement whose versions/<v> parameter is already gone, even if retention would now keep it', () => {
    const input = fleet({ policy: { ...noGrace, keep: 4 } });
    const { '1.0.0': _gone, ...published } = input.published;
    const { steps } = planRetirementPolicy({ ...input, published });
    expect(steps).toEqual([
      expect.objectContaining({
        version: '1.0.0',
        amiId: 'ami-10',
        phase: 'deregister',
        parameterName: undefined,
        reason: 'its retirement already began (/golden/web/versions/1.0.0 is gone in us-east-1)',
      }),
    ]);
  });

  it('keeps, and shows, a versions/<v> whose AMI is not among the owned ones: deregistration removes the parameter first, so gild never left it', () => {
    const input = fleet();
    delete input.ownedAmis['us-east-1']!['ami-10'];
    const { steps, kept } = planRetirementPolicy(input);
    expect(steps.map((step) => step.version)).toEqual(['1.1.0']);
    expect(kept).toContainEqual(
      expect.objectContaining({
        version: '1.0.0',
        amiId: 'ami-10',
        reason: expect.stringMatching(/^kept: it is not tagged gild:image=web \(or no longer exists\), so gild did not make it and will not delete it/),
      }),
    );
  });

  it('treats a copy without its parameter like its version while the version is published elsewhere', () => {
    const input = fleet({ policy: { ...noGrace, keep: 4 } });
    input.ownedAmis['eu-west-1'] = { 'ami-e13': ami('ami-e13', '1.3.0', { ageDays: 10 }), 'ami-e10': ami('ami-e10', '1.0.0', { ageDays: 40 }) };
    expect(retired(input)).toEqual([]);
    expect(retired({ ...input, policy: { ...noGrace, keep: 3 } })).toEqual(['1.0.0 eu-west-1 deregister', '1.0.0 us-east-1 deregister']);
  });

  it('leaves never-published candidates to cleanup', () => {
    const input = fleet();
    input.ownedAmis['us-east-1']!['ami-99'] = { ...ami('ami-99', '0.9.0', { ageDays: 90 }), tags: { 'gild:image': 'web', 'gild:version': '0.9.0', 'gild:status': 'candidate' } };
    expect(retired(input)).not.toContain('0.9.0 us-east-1 deregister');
  });

  it('keeps every region’s copy of a version it keeps, and retires each unreferenced copy of one it retires', () => {
    const input = fleet({
      published: { ...fleet().published, '1.0.0': { 'us-east-1': 'ami-10', 'eu-west-1': 'ami-e10' } },
      ownedAmis: { ...fleet().ownedAmis, 'eu-west-1': { 'ami-e10': ami('ami-e10', '1.0.0', { ageDays: 40 }) } },
      references: { 'ami-10': ['instance i-1 (stopped)'] },
    });
    expect(retired(input)).toEqual(['1.0.0 eu-west-1 deregister', '1.1.0 us-east-1 deregister']);
    expect(keptReasons(input)['1.0.0 us-east-1']).toMatch(/^kept: in use by instance i-1 \(stopped\)/);
  });

  it('reads published versions and pointers from the parameters under the prefix', () => {
    const parameters = [
      { name: '/golden/web/versions/1.0.0', value: 'ami-10' },
      { name: '/golden/web/latest', value: 'ami-10' },
      { name: '/golden/web/v1', value: 'ami-10' },
      { name: '/golden/web/channels/stable', value: 'ami-10' },
      { name: '/golden/web/lock', value: '{}' },
      { name: '/golden/web-api/latest', value: 'ami-20' },
    ];
    expect(publishedVersionsIn('/golden', 'web', parameters)).toEqual({ '1.0.0': 'ami-10' });
    expect(pointersIn('/golden', 'web', parameters)).toEqual({ latest: 'ami-10', v1: 'ami-10', 'channels/stable': 'ami-10' });
  });
});
