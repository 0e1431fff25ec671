/**
 * Two gild pipelines in one account with different ssmPrefix (staging `/golden-staging`, prod `/golden`) and the same
 * image name: AMIs are found by the `gild:image` tag alone, which does not say which prefix (which lock) they belong
 * to. The prod run plans to deregister the staging pipeline's in-flight, tested AMI (its lock is under another
 * prefix, invisible here), and the stage's live re-check (whyNotRemovable) passes: no /golden/web parameter names it.
 */
import { describe, expect, it } from 'vitest';
import { assemblePlan } from '../../src/plan/assemble-plan.ts';
import { ami, inventoryFixture, parameter } from '../support/inventory-fixture.ts';
import { resolvedImageFixture } from '../support/resolved-image-fixture.ts';

const now = new Date('2026-11-29T12:00:00.000Z');
const web = resolvedImageFixture({ name: 'web', version: '1.0.0' });
const tags = (extra: Record<string, string>) => ({ 'gild:image': 'web', 'gild:fingerprint': 'fp-prod', 'gild:base-ami': 'ami-base1', 'gild:built-at': '2026-11-01T00:00:00.000Z', ...extra });

describe('a second gild pipeline (another ssmPrefix) in the same account', () => {
  it('its in-flight tested AMI is not planned for removal by this pipeline', () => {
    const inventory = inventoryFixture({
      regions: {
        'us-east-1': {
          parameters: [
            parameter('/golden/web/versions/1.0.0', 'ami-p100'),
            parameter('/golden/web/latest', 'ami-p100'),
            // the staging pipeline's own parameters and lock live under /golden-staging (not under this prefix)
            parameter('/golden-staging/web/lock', JSON.stringify({ runId: '20261129T115000Z-stg001', host: 'ci-2', pid: 7, takenAt: '2026-11-29T11:50:00.000Z', expiresAt: '2026-11-29T12:20:00.000Z' })),
          ],
          amis: [
            ami('ami-p100', tags({ 'gild:status': 'published', 'gild:version': '1.0.0', 'gild:run-id': '20261101T000000Z-prd001' })),
            // staging's build, smoke test passed minutes ago, being shared / published right now under /golden-staging
            ami('ami-s105', tags({ 'gild:status': 'tested', 'gild:version': '1.0.5', 'gild:fingerprint': 'fp-staging', 'gild:prefix': '/golden-staging', 'gild:run-id': '20261129T115000Z-stg001', 'gild:built-at': '2026-11-29T11:55:00.000Z' }), { createdAt: '2026-11-29T11:55:00.000Z' }),
          ],
        },
      },
      bases: { web: { kind: 'resolved', amiId: 'ami-base1', source: 'ssm:/aws/service/al2023' } },
      leases: {},
    });
    const plan = assemblePlan({ runId: '20261129T120000Z-prd002', now, images: [web], fingerprints: { web: 'fp-prod' }, inventory, force: false, settings: { sweepAfterMinutes: 120, rebuildAfterDays: undefined } });
    const touching = plan.steps.filter((step) => JSON.stringify(step).includes('ami-s105')).map((step) => `${step.kind} ${step.id}: ${step.reason}`);
    expect(touching).toEqual([]);
  });
});
