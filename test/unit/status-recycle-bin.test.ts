/** `gild status` says per image and region whether a retired version could be brought back from the Recycle Bin. */
import { describe, expect, it } from 'vitest';
import type { RetentionRule } from '../../src/adapters/rbin.ts';
import { assembleStatus, formatStatus } from '../../src/report/assemble-status.ts';
import { inventoryFixture } from '../support/inventory-fixture.ts';
import { resolvedImageFixture } from '../support/resolved-image-fixture.ts';

const rule = (id: string, resourceType: RetentionRule['resourceType'], resourceTags: RetentionRule['resourceTags'] = []): RetentionRule => ({
  id,
  description: undefined,
  resourceType,
  retentionDays: 21,
  resourceTags,
  available: true,
  lockState: 'locked',
});

describe('status of the Recycle Bin', () => {
  it("says, per region, whether the rules keep the image's retired AMIs and snapshots, judged with the image's own tags", () => {
    const inventory = inventoryFixture({
      regions: {
        'us-east-1': { recycleBin: { rules: [rule('image00000a', 'EC2_IMAGE', [{ key: 'team', value: 'platform' }]), rule('snaps00000a', 'EBS_SNAPSHOT')] } },
        'us-west-2': { recycleBin: { unknown: 'the retention rules could not be read in us-west-2 (rbin:ListRules refused)' } },
        'eu-west-1': {},
      },
    });
    const status = assembleStatus({
      inventory,
      images: [resolvedImageFixture({ name: 'app', regions: ['us-east-1', 'us-west-2', 'eu-west-1'], tags: { team: 'platform' } }), resolvedImageFixture({ name: 'web', regions: ['us-east-1'] })],
      references: {},
      now: new Date('2026-11-29T00:00:00.000Z'),
    });
    const [app, web] = status.images;
    expect(app!.regions.map((region) => [region.region, region.recycleBin?.kind])).toEqual([
      ['us-east-1', 'kept'],
      ['us-west-2', 'unknown'],
      ['eu-west-1', undefined],
    ]);
    expect(web!.regions[0]!.recycleBin).toEqual({ kind: 'partly', text: expect.stringContaining('no EC2_IMAGE rule keeps the AMI: deregistration is final') });
    const text = formatStatus(status);
    expect(text).toContain('    Recycle Bin: a retired version: the Recycle Bin keeps it 21 days');
    expect(text).toContain('    Recycle Bin: a retired version: whether a Recycle Bin rule keeps it is not known: the retention rules could not be read in us-west-2 (rbin:ListRules refused)');
    expect(text.match(/Recycle Bin:/g)).toHaveLength(3);
  });
});
