import { describe, expect, it } from 'vitest';
import type { RetentionRule } from '../../src/adapters/rbin.ts';
import { assemblePlan } from '../../src/plan/assemble-plan.ts';
import { binVerdict, ruleKeeping } from '../../src/plan/recycle-bin.ts';
import { ami, inventoryFixture, parameter } from '../support/inventory-fixture.ts';
import { resolvedImageFixture } from '../support/resolved-image-fixture.ts';

const rule = (id: string, overrides: Partial<RetentionRule> = {}): RetentionRule => ({
  id,
  description: undefined,
  resourceType: 'EC2_IMAGE',
  retentionDays: 7,
  resourceTags: [],
  available: true,
  lockState: undefined,
  ...overrides,
});
const gildTags = { 'gild:image': 'web', 'gild:version': '1.0.0', team: 'platform' };

describe('which Recycle Bin rule keeps an AMI', () => {
  it('a region-level rule keeps every AMI; a tag-level one only those with one of its tags (no value: any value)', () => {
    expect(ruleKeeping([rule('region0000a')], 'EC2_IMAGE', {})?.id).toBe('region0000a');
    const byKey = rule('bykey00000a', { resourceTags: [{ key: 'gild:image', value: undefined }] });
    const byValue = rule('byvalue000a', { resourceTags: [{ key: 'team', value: 'web-team' }] });
    expect(ruleKeeping([byKey, byValue], 'EC2_IMAGE', gildTags)?.id).toBe('bykey00000a');
    expect(ruleKeeping([byValue], 'EC2_IMAGE', gildTags)).toBeUndefined();
    expect(ruleKeeping([byValue], 'EC2_IMAGE', { ...gildTags, team: 'web-team' })?.id).toBe('byvalue000a');
  });

  it('keeps nothing with a pending rule or a rule for another resource type; of several, the longest retention wins', () => {
    expect(ruleKeeping([rule('pending000a', { available: false })], 'EC2_IMAGE', gildTags)).toBeUndefined();
    expect(ruleKeeping([rule('snapshot00a', { resourceType: 'EBS_SNAPSHOT' })], 'EC2_IMAGE', gildTags)).toBeUndefined();
    expect(ruleKeeping([rule('short00000a', { retentionDays: 3 }), rule('long000000a', { retentionDays: 30 })], 'EC2_IMAGE', gildTags)?.id).toBe('long000000a');
  });

  it('says restorable only when both the AMI and its snapshots are kept, for the shorter of the two periods', () => {
    const both = binVerdict({ rules: [rule('image00000a', { retentionDays: 30 }), rule('snaps00000a', { resourceType: 'EBS_SNAPSHOT', retentionDays: 10 })] }, gildTags);
    expect(both).toMatchObject({ kind: 'kept', days: 10 });
    expect(both.text).toContain('`gild restore` can bring it back');
    expect(binVerdict({ rules: [rule('image00000a')] }, gildTags)).toMatchObject({ kind: 'partly', text: expect.stringContaining('no EBS_SNAPSHOT rule keeps its snapshots') });
    expect(binVerdict({ rules: [] }, gildTags)).toEqual({ kind: 'final', text: 'no Recycle Bin retention rule keeps it: deregistration is final' });
    expect(binVerdict({ unknown: 'rbin:ListRules was refused' }, gildTags)).toMatchObject({ kind: 'unknown', text: expect.stringContaining('rbin:ListRules was refused') });
  });
});

describe('retirement says what the Recycle Bin will keep', () => {
  const web = resolvedImageFixture({ name: 'web', version: '1.0.0', retention: { keep: 1, minAgeDays: 0, phases: {} } });
  const published = (recycleBin?: { rules: RetentionRule[] }) =>
    inventoryFixture({
      regions: {
        'us-east-1': {
          parameters: [parameter('/golden/web/versions/1.0.0', 'ami-web-100'), parameter('/golden/web/versions/1.0.1', 'ami-web-101'), parameter('/golden/web/latest', 'ami-web-101')],
          amis: ['1.0.0', '1.0.1'].map((version) =>
            ami(`ami-web-${version.replaceAll('.', '')}`, { 'gild:image': 'web', 'gild:version': version, 'gild:status': 'published', 'gild:fingerprint': 'fp', 'gild:base-ami': 'ami-base1' }),
          ),
          ...(recycleBin ? { recycleBin } : {}),
        },
      },
      bases: { web: { kind: 'resolved', amiId: 'ami-base1', source: 'ssm:/aws/service/al2023' } },
    });
  const retireReason = (recycleBin?: { rules: RetentionRule[] }) =>
    assemblePlan({
      runId: '20261129T120000Z-run000',
      now: new Date('2026-11-29T12:00:00.000Z'),
      images: [web],
      fingerprints: { web: 'fp' },
      inventory: published(recycleBin),
      force: false,
      settings: { sweepAfterMinutes: 120, rebuildAfterDays: undefined },
    }).steps.find((step) => step.kind === 'retire')?.reason;

  it('names the rules that keep the deregistered AMI and its snapshots, and when they do not', () => {
    expect(retireReason({ rules: [rule('image00000a', { retentionDays: 14 }), rule('snaps00000a', { resourceType: 'EBS_SNAPSHOT', retentionDays: 14 })] })).toBe(
      'older than the newest 1 version (retention keeps 1); the Recycle Bin keeps it 14 days (the AMI 14 days by rule image00000a (region-level; its exclusion tags are not read); its snapshots 14 days by rule snaps00000a (region-level; its exclusion tags are not read)): `gild restore` can bring it back until then',
    );
    expect(retireReason({ rules: [] })).toBe('older than the newest 1 version (retention keeps 1); no Recycle Bin retention rule keeps it: deregistration is final');
  });

  it('says nothing of a Recycle Bin where the target has none to ask', () => {
    expect(retireReason()).toBe('older than the newest 1 version (retention keeps 1)');
  });
});
