/** `gild status` lists versions in use that were built on a revoked base (tagged gild:base-revoked by the revoke), apart from revoked ones. */
import { describe, expect, it } from 'vitest';
import { assembleStatus, formatStatus } from '../../src/report/assemble-status.ts';
import { ami, inventoryFixture, parameter } from '../support/inventory-fixture.ts';
import { resolvedImageFixture } from '../support/resolved-image-fixture.ts';

describe('status of versions built on a revoked base', () => {
  it('lists them with who uses them, marked on their line, and not as revoked', () => {
    const inventory = inventoryFixture({
      regions: {
        'us-east-1': {
          parameters: [parameter('/golden/app/versions/1.0.0', 'ami-app1'), parameter('/golden/app/latest', 'ami-app1')],
          amis: [
            ami('ami-app1', { 'gild:image': 'app', 'gild:version': '1.0.0', 'gild:status': 'published', 'gild:published-at': '2026-11-20T00:00:00.000Z', 'gild:base-revoked': 'api 1.0.1: CVE-1' }),
          ],
        },
      },
    });
    const status = assembleStatus({
      inventory,
      images: [resolvedImageFixture({ name: 'app' })],
      references: { 'us-east-1': { 'ami-app1': ['instance i-1 (running)'] } },
      now: new Date('2026-11-29T00:00:00.000Z'),
    });
    expect(status.revokedInUse).toEqual([]);
    expect(status.baseRevokedInUse).toEqual([expect.objectContaining({ image: 'app', version: '1.0.0', amiId: 'ami-app1', baseRevoked: 'api 1.0.1: CVE-1', users: ['instance i-1 (running)'] })]);
    const text = formatStatus(status);
    expect(text).toMatch(/^BUILT ON A REVOKED BASE, IN USE \(1\):\n {2}! app 1\.0\.0 us-east-1 ami-app1 \(base api 1\.0\.1: CVE-1\): instance i-1 \(running\)\n/);
    expect(text).toMatch(/1\.0\.0 ami-app1: ! BASE REVOKED \(api 1\.0\.1: CVE-1\)/);
  });
});
