import { describe, expect, it } from 'vitest';
import { planRetirement, type RetirementInput } from '../../src/plan/plan-retirement.ts';

const versions = ['1.0.3', '1.0.2', '1.0.1', '1.0.0'].map((version) => ({ version, amis: { 'us-east-1': `ami-${version.replace(/\./g, '')}`, 'eu-west-1': `ami-eu${version.replace(/\./g, '')}` } }));

function input(overrides: Partial<RetirementInput> = {}): RetirementInput {
  return {
    image: 'web',
    keep: 3,
    ssmPrefix: '/golden',
    versions,
    latest: { 'us-east-1': 'ami-103', 'eu-west-1': 'ami-eu103' },
    ownedAmis: { 'us-east-1': { 'ami-100': ['snap-a'] }, 'eu-west-1': { 'ami-eu100': ['snap-b'] } },
    usage: {},
    ...overrides,
  };
}

describe('planRetirement', () => {
  it('retires versions beyond the newest N in every region, with the parameter and snapshots', () => {
    expect(planRetirement(input())).toEqual([
      { action: 'retire', image: 'web', version: '1.0.0', region: 'us-east-1', amiId: 'ami-100', snapshotIds: ['snap-a'], parameterName: '/golden/web/versions/1.0.0', reason: 'older than the newest 3 versions (retention keeps 3)' },
      { action: 'retire', image: 'web', version: '1.0.0', region: 'eu-west-1', amiId: 'ami-eu100', snapshotIds: ['snap-b'], parameterName: '/golden/web/versions/1.0.0', reason: 'older than the newest 3 versions (retention keeps 3)' },
    ]);
  });

  it('retires nothing while there are no more than N versions', () => {
    expect(planRetirement(input({ versions: versions.slice(0, 3) }))).toEqual([]);
  });

  it('never retires the AMI that latest points to', () => {
    const [action] = planRetirement(input({ keep: 1, latest: { 'us-east-1': 'ami-100', 'eu-west-1': 'ami-eu103' } })).filter((entry) => entry.amiId === 'ami-100');
    expect(action).toMatchObject({ action: 'keep', reason: 'latest still points to it' });
  });

  it('keeps AMIs gild did not tag', () => {
    const actions = planRetirement(input({ ownedAmis: { 'us-east-1': {}, 'eu-west-1': { 'ami-eu100': [] } } }));
    expect(actions[0]).toMatchObject({ action: 'keep', amiId: 'ami-100', reason: 'it is not tagged gild:image=web, so gild did not make it and will not delete it' });
    expect(actions[1]).toMatchObject({ action: 'retire', amiId: 'ami-eu100' });
  });

  it('keeps AMIs still in use, naming what uses them', () => {
    const actions = planRetirement(input({ usage: { 'ami-100': ['instance i-123 (running)', 'launch template web v4'] } }));
    expect(actions[0]).toMatchObject({ action: 'keep', reason: 'still in use by instance i-123 (running), launch template web v4' });
  });

  it('orders by semantic version, not by the order AWS returned them', () => {
    const shuffled = [versions[3]!, versions[0]!, versions[2]!, versions[1]!];
    expect(planRetirement(input({ versions: shuffled })).map((action) => action.version)).toEqual(['1.0.0', '1.0.0']);
  });
});
