/**
 * Distribution accounts in `gild status` and `gild verify`: each account's pointers, revoked copies and their users
 * beside the building account's; and the drift of a copy from its source (a revoke, a deprecation not followed, a
 * pointer there naming a revoked copy), each finding naming the account.
 */
import { describe, expect, it } from 'vitest';
import type { AccountInventory, Inventory } from '../../src/observe/inventory.ts';
import { auditImages } from '../../src/report/audit-images.ts';
import { assembleStatus, formatStatus } from '../../src/report/assemble-status.ts';
import { ami, inventoryFixture, parameter } from '../support/inventory-fixture.ts';
import { resolvedImageFixture } from '../support/resolved-image-fixture.ts';

const now = new Date('2026-11-29T00:00:00.000Z');
const account = '210987654321';
const roleArn = `arn:aws:iam::${account}:role/gild-distribution`;
const image = resolvedImageFixture({ name: 'web', distribution: [{ account, roleArn, regions: ['us-east-1'], kmsKeyId: undefined, smoke: false }] });
const published = { 'gild:image': 'web', 'gild:status': 'published', 'gild:published-at': '2026-11-20T00:00:00.000Z' };
const revoked = { 'gild:status': 'revoked', 'gild:revoked-reason': 'CVE-1', 'gild:deprecated-at': '2026-11-28T00:00:00.000Z' };

/** The building account: 1.0.0 and 1.0.1 published, 1.0.1 revoked (latest back on 1.0.0). The account as given. */
function world(held: AccountInventory): Inventory {
  const inventory = inventoryFixture({
    regions: {
      'us-east-1': {
        parameters: [parameter('/golden/web/versions/1.0.0', 'ami-100'), parameter('/golden/web/versions/1.0.1', 'ami-101'), parameter('/golden/web/latest', 'ami-100')],
        amis: [ami('ami-100', { ...published, 'gild:version': '1.0.0' }), ami('ami-101', { ...published, 'gild:version': '1.0.1', ...revoked })],
      },
    },
  });
  return { ...inventory, accounts: { [roleArn]: held } };
}

const accountHolding = (copies: { c100?: Record<string, string>; c101?: Record<string, string> }, pointers: Record<string, string>): AccountInventory => ({
  kind: 'observed',
  account,
  regions: {
    'us-east-1': {
      amis: [
        ami('ami-c100', { ...published, 'gild:version': '1.0.0', 'gild:source-ami': 'ami-100', ...copies.c100 }),
        ami('ami-c101', { ...published, 'gild:version': '1.0.1', 'gild:source-ami': 'ami-101', ...copies.c101 }),
      ],
      parameters: [
        parameter('/golden/web/versions/1.0.0', 'ami-c100'),
        parameter('/golden/web/versions/1.0.1', 'ami-c101'),
        ...Object.entries(pointers).map(([pointer, amiId]) => parameter(`/golden/web/${pointer}`, amiId)),
      ],
    },
  },
});

describe('distribution accounts in status', () => {
  it("shows each account's pointers and revoked copies, and a revoked copy in use there first", () => {
    const status = assembleStatus({
      inventory: world(accountHolding({ c101: revoked }, { latest: 'ami-c100', v1: 'ami-c100' })),
      images: [image],
      references: {},
      accountReferences: { [account]: { 'us-east-1': { 'ami-c101': ['instance i-9 (running)'] } } },
      now,
    });
    expect(status.revokedInUse).toEqual([expect.objectContaining({ image: 'web', account, version: '1.0.1', amiId: 'ami-c101', users: ['instance i-9 (running)'] })]);
    expect(status.images[0]!.accounts).toEqual([
      expect.objectContaining({
        account,
        regions: [expect.objectContaining({ region: 'us-east-1', latest: { name: 'latest', amiId: 'ami-c100', version: '1.0.0' }, revokedCopies: [{ version: '1.0.1', amiId: 'ami-c101' }] })],
      }),
    ]);
    const text = formatStatus(status);
    expect(text).toContain(`  ✖ web 1.0.1 account ${account} us-east-1 ami-c101 (CVE-1): instance i-9 (running)`);
    expect(text).toContain(`  account ${account} us-east-1: latest → 1.0.0 (ami-c100); /golden/web/v1 → 1.0.0 (ami-c100)\n    revoked copies: 1.0.1 (ami-c101)`);
  });

  it('says when an account could not be read', () => {
    const status = assembleStatus({ inventory: world({ kind: 'unreachable', account, reason: 'AccessDenied: no' }), images: [image], references: {}, now });
    expect(formatStatus(status)).toContain(`  account ${account}: could not be read (AccessDenied: no)`);
  });
});

describe('distribution accounts in verify', () => {
  const findings = (held: AccountInventory) => auditImages({ inventory: world(held), images: [image], sharing: {} }).findings.filter((finding) => finding.resource.startsWith('account'));

  it('finds nothing when the copies follow their sources and no pointer names a revoked copy', () => {
    expect(findings(accountHolding({ c101: revoked }, { latest: 'ami-c100', v1: 'ami-c100' }))).toEqual([]);
  });

  it('finds a copy that did not follow its source, and a pointer there naming a revoked copy', () => {
    expect(
      findings(accountHolding({ c101: { 'gild:status': 'revoked', 'gild:revoked-reason': 'CVE-1' } }, { latest: 'ami-c101' })).map(
        (finding) => `${finding.resource}: ${finding.difference} (${finding.repairCommand})`,
      ),
    ).toEqual([
      `account ${account} /golden/web/latest: names the revoked copy of 1.0.1 (ami-c101: CVE-1) (gild run web)`,
      `account ${account} ami-c101: the copy of 1.0.1 is not deprecated, but its source ami-101 is (gild run web)`,
    ]);
    expect(findings(accountHolding({}, { latest: 'ami-c100' })).map((finding) => finding.difference)).toEqual([
      'the copy of 1.0.1 is not revoked, but its source ami-101 is',
      'the copy of 1.0.1 is not deprecated, but its source ami-101 is',
    ]);
  });

  it('finds an account that could not be read, or a pointer there naming something else', () => {
    expect(findings({ kind: 'unreachable', account, reason: 'AccessDenied: no' })).toEqual([
      expect.objectContaining({ resource: `account ${account} ${roleArn}`, difference: 'could not be read: AccessDenied: no' }),
    ]);
    expect(findings(accountHolding({ c101: revoked }, { latest: 'ami-c100', 'channels/stable': 'ami-elsewhere' })).map((finding) => finding.difference)).toEqual([
      `names ami-elsewhere, which is no gild AMI of web in account ${account}`,
    ]);
  });
});
