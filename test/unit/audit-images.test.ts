import { describe, expect, it } from 'vitest';
import type { Inventory, ObservedAmi } from '../../src/observe/inventory.ts';
import { auditImages, type ObservedSharing } from '../../src/report/audit-images.ts';
import { resolvedImageFixture } from '../support/resolved-image-fixture.ts';

const keyArn = 'arn:aws:kms:us-east-1:123456789012:key/1111aaaa-2222-3333-4444-555566667777';

function ami(amiId: string, version: string): ObservedAmi {
  return {
    amiId,
    name: `web-${version}`,
    state: 'available',
    createdAt: '2026-11-01T00:00:00.000Z',
    deprecationTime: undefined,
    snapshotIds: [],
    tags: { 'gild:image': 'web', 'gild:version': version, 'gild:status': 'published' },
  };
}

const inventory: Inventory = {
  observedAt: '2026-11-29T00:00:00.000Z',
  ssmPrefix: '/golden',
  bases: {},
  leases: {},
  regions: {
    'us-east-1': {
      region: 'us-east-1',
      parameters: [
        { name: '/golden/web/versions/1.0.0', value: 'ami-0aaa', version: 1, lastModified: undefined },
        { name: '/golden/web/latest', value: 'ami-0aaa', version: 1, lastModified: undefined },
      ],
      amis: [ami('ami-0aaa', '1.0.0')],
      instances: [],
      temporaryResources: [],
      snapshots: [],
      references: {},
    },
  },
};

const sharing = (encrypted: boolean, kmsKeyId: string | undefined): Record<string, ObservedSharing> => ({
  'us-east-1': {
    launch: { 'ami-0aaa': { accounts: [], groups: [], organizationArns: [], organizationalUnitArns: [] } },
    volumes: {},
    otherAmis: {},
    volumeEncryption: { 'ami-0aaa': [{ device: '/dev/xvda', snapshotId: 'snap-01', encrypted, kmsKeyId }] },
  },
});

describe('auditImages: encryption', () => {
  const image = resolvedImageFixture({ encryption: { kmsKeyId: keyArn, regionKmsKeyIds: {} } });

  it('finds nothing when every volume is encrypted with the defined key, named by ARN or by ID', () => {
    expect(auditImages({ inventory, images: [image], sharing: sharing(true, keyArn) }).findings).toEqual([]);
    expect(auditImages({ inventory, images: [image], sharing: sharing(true, '1111aaaa-2222-3333-4444-555566667777') }).findings).toEqual([]);
  });

  it('reports an unencrypted volume and a volume under another key, repaired by a rebuild', () => {
    expect(auditImages({ inventory, images: [image], sharing: sharing(false, undefined) }).findings).toEqual([
      {
        image: 'web',
        region: 'us-east-1',
        resource: 'ami-0aaa /dev/xvda (snap-01)',
        difference: `not encrypted, but the definition says encrypted with ${keyArn}`,
        repairCommand: 'gild run web --force',
        repair: undefined,
      },
    ]);
    const other = 'arn:aws:kms:us-east-1:123456789012:key/9999ffff-0000-0000-0000-000000000000';
    expect(auditImages({ inventory, images: [image], sharing: sharing(true, other) }).findings.map((finding) => finding.difference)).toEqual([
      `encrypted with ${other}, but the definition says ${keyArn}`,
    ]);
  });

  it('cannot compare an alias with a key ID, so says nothing rather than guess', () => {
    const aliased = resolvedImageFixture({ encryption: { kmsKeyId: 'alias/golden', regionKmsKeyIds: {} } });
    expect(auditImages({ inventory, images: [aliased], sharing: sharing(true, keyArn) }).findings).toEqual([]);
  });
});
