/**
 * Version numbers are forever: the ledger (`<prefix>/<image>/ledger`) and the AMIs' own tags keep every number ever
 * used, and the next version is computed past all of them, whatever was deleted since. Pure.
 */
import { describe, expect, it } from 'vitest';
import { assemblePlan, type AssembleInput } from '../../src/plan/assemble-plan.ts';
import { imageState, usedVersions } from '../../src/plan/image-state.ts';
import { activeRevocation, parseLedger, recordBuilt, recordRestored, recordRevoked, serializeLedger } from '../../src/plan/version-ledger.ts';
import { revocationOf } from '../../src/plan/image-state.ts';
import { ami, inventoryFixture, parameter } from '../support/inventory-fixture.ts';
import { resolvedImageFixture } from '../support/resolved-image-fixture.ts';

const web = resolvedImageFixture({ name: 'web', version: '1.0.0' });
const now = new Date('2026-11-29T12:00:00.000Z');

function planWith(parameters: ReturnType<typeof parameter>[], amis: ReturnType<typeof ami>[]): AssembleInput {
  return {
    runId: '20261129T120000Z-run000',
    now,
    images: [web],
    fingerprints: { web: 'fp-new' },
    inventory: inventoryFixture({ regions: { 'us-east-1': { parameters, amis } }, bases: { web: { kind: 'resolved', amiId: 'ami-base1', source: 'ssm:/x' } } }),
    force: true,
    settings: { sweepAfterMinutes: 120, rebuildAfterDays: undefined },
  };
}

const buildVersion = (input: AssembleInput) => {
  const build = assemblePlan(input).steps.find((step) => step.kind === 'build');
  return build?.kind === 'build' ? build.version : undefined;
};

describe('the version ledger', () => {
  it('keeps the highest version of each line and every revocation; a retry does not rewrite who and when', () => {
    let ledger = recordBuilt(parseLedger(undefined), '1.0.1');
    ledger = recordBuilt(ledger, '1.0.0');
    ledger = recordBuilt(ledger, '2.3.4');
    expect(ledger.built).toEqual({ '1.0': '1.0.1', '2.3': '2.3.4' });
    expect(recordBuilt(ledger, '1.0.1')).toBe(ledger);
    const revoked = recordRevoked(ledger, '1.0.2', { reason: 'CVE', at: '2026-11-29T00:00:00Z', by: 'ops@host' });
    expect(revoked.built['1.0']).toBe('1.0.2');
    expect(recordRevoked(revoked, '1.0.2', { reason: 'again', at: 'later', by: 'someone' }).revoked['1.0.2']).toEqual({ reason: 'CVE', at: '2026-11-29T00:00:00Z', by: 'ops@host' });
    expect(parseLedger(serializeLedger(revoked))).toEqual(revoked);
  });

  it('keeps the numbers a broken ledger names, rather than forgetting them', () => {
    expect(parseLedger('{"built": {"1.0": "1.0.7"}, oops').built).toEqual({ '1.0': '1.0.7' });
  });

  it('never builds a number again once it was published, even after its AMIs and versions/<v> are gone (revoked, then retired)', () => {
    // 1.0.0 is published; 1.0.1 and 1.0.2 were published, 1.0.2 revoked, both retired: only the ledger remembers them.
    const published = [parameter('/golden/web/versions/1.0.0', 'ami-100'), parameter('/golden/web/latest', 'ami-100')];
    const publishedAmi = ami('ami-100', { 'gild:image': 'web', 'gild:version': '1.0.0', 'gild:status': 'published' });
    expect(buildVersion(planWith(published, [publishedAmi]))).toBe('1.0.1');
    const ledger = recordRevoked(recordBuilt(parseLedger(undefined), '1.0.1'), '1.0.2', { reason: 'CVE', at: '2026-11-20T00:00:00Z', by: 'ops@host' });
    expect(buildVersion(planWith([...published, parameter('/golden/web/ledger', serializeLedger(ledger))], [publishedAmi]))).toBe('1.0.3');
  });

  it('counts a version whose AMI still says it was published (retiring) though its parameter is gone', () => {
    const published = [parameter('/golden/web/versions/1.0.0', 'ami-100'), parameter('/golden/web/latest', 'ami-100')];
    const amis = [
      ami('ami-100', { 'gild:image': 'web', 'gild:version': '1.0.0', 'gild:status': 'published' }),
      ami('ami-105', { 'gild:image': 'web', 'gild:version': '1.0.5', 'gild:status': 'retiring' }),
    ];
    expect(usedVersions(imageState(planWith(published, amis).inventory, 'web', ['us-east-1'])).sort()).toEqual(['1.0.0', '1.0.5']);
    expect(buildVersion(planWith(published, amis))).toBe('1.0.6');
  });

  it('is not a pointer: the ledger is never moved, retired or shown as one', () => {
    const state = imageState(planWith([parameter('/golden/web/ledger', serializeLedger(recordBuilt(parseLedger(undefined), '1.0.0')))], []).inventory, 'web', ['us-east-1']);
    expect(state.pointers['us-east-1']).toEqual({});
    expect(state.ledger.built).toEqual({ '1.0': '1.0.0' });
  });

  it('a restore keeps the revocation for the history, marks it undone (first record wins), and a later revoke counts again', () => {
    const revocation = { reason: 'CVE', at: '2026-11-20T00:00:00Z', by: 'ops@host' };
    const revoked = recordRevoked(parseLedger(undefined), '1.0.1', revocation);
    const restored = recordRestored(revoked, '1.0.1', revocation, { at: '2026-11-21T00:00:00Z', by: 'ops@host', reason: 'false alarm' });
    expect(restored.revoked['1.0.1']).toEqual({ ...revocation, restored: { at: '2026-11-21T00:00:00Z', by: 'ops@host', reason: 'false alarm' } });
    expect(activeRevocation(restored, '1.0.1')).toBeUndefined();
    expect(recordRestored(restored, '1.0.1', revocation, { at: 'later', by: 'x', reason: 'retry' })).toBe(restored);
    expect(activeRevocation(recordRevoked(restored, '1.0.1', { ...revocation, reason: 'really' }), '1.0.1')?.reason).toBe('really');
  });

  it('a restore of a version revoked only in its tags records it: the AMI still tagged revoked in another region no longer counts', () => {
    const revocation = { reason: 'CVE', at: '2026-11-20T00:00:00Z', by: 'ops@host' };
    const restored = recordRestored(parseLedger(undefined), '1.0.1', revocation, { at: '2026-11-21T00:00:00Z', by: 'ops@host', reason: 'false alarm' });
    const amis = [ami('ami-101', { 'gild:image': 'web', 'gild:version': '1.0.1', 'gild:status': 'revoked', 'gild:revoked-reason': 'CVE' })];
    const tagsOnly = imageState(planWith([], amis).inventory, 'web', ['us-east-1']);
    expect(revocationOf(tagsOnly, '1.0.1')?.reason).toBe('CVE');
    const withRestore = imageState(planWith([parameter('/golden/web/ledger', serializeLedger(restored))], amis).inventory, 'web', ['us-east-1']);
    expect(revocationOf(withRestore, '1.0.1')).toBeUndefined();
    expect(usedVersions(withRestore)).toContain('1.0.1');
  });
});
