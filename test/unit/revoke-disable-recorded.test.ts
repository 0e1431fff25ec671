/**
 * `gild revoke … --disable` is an intent like the revoke itself: written in the version ledger with it, before any AMI
 * carries `gild:revoked-disable`, so a revoke killed right after its ledger write is finished disabled, as asked.
 * Ledgers written before the field existed still read. Pure.
 */
import { describe, expect, it } from 'vitest';
import type { Inventory } from '../../src/observe/inventory.ts';
import { imageState } from '../../src/plan/image-state.ts';
import { planUnfinishedIntents } from '../../src/plan/plan-unfinished-intents.ts';
import { activeRevocation, parseLedger, recordRestored, recordRevoked, serializeLedger } from '../../src/plan/version-ledger.ts';
import { resolvedImageFixture } from '../support/resolved-image-fixture.ts';

const now = new Date('2026-11-29T00:00:00Z');
const image = resolvedImageFixture({ name: 'web', buildRegion: 'us-east-1' });
const parameter = (name: string, value: string) => ({ name, value, version: 1, lastModified: undefined });
const ami = (amiId: string, version: string) => ({
  amiId,
  name: amiId,
  state: 'available',
  createdAt: '2026-10-01T00:00:00Z',
  deprecationTime: undefined,
  snapshotIds: [],
  tags: { 'gild:image': 'web', 'gild:version': version, 'gild:status': 'published', 'gild:published-at': '2026-10-01T00:00:00Z' },
});

/** The revoke of 1.0.1 died right after its ledger write: no status parameter, no tag says revoked yet. */
function killedAfterLedger(revocation: Record<string, unknown>): Inventory {
  return {
    observedAt: now.toISOString(),
    ssmPrefix: '/golden',
    bases: {},
    leases: {},
    regions: {
      'us-east-1': {
        region: 'us-east-1',
        instances: [],
        temporaryResources: [],
        snapshots: [],
        references: {},
        parameters: [
          parameter('/golden/web/versions/1.0.0', 'ami-100'),
          parameter('/golden/web/versions/1.0.1', 'ami-101'),
          parameter('/golden/web/latest', 'ami-101'),
          parameter('/golden/web/ledger', JSON.stringify({ schema: 1, built: { '1.0': '1.0.1' }, revoked: { '1.0.1': revocation } })),
        ],
        amis: [ami('ami-100', '1.0.0'), ami('ami-101', '1.0.1')],
      },
    },
  };
}

const finishingSteps = (inventory: Inventory) => planUnfinishedIntents({ image, state: imageState(inventory, 'web', ['us-east-1']), prefix: '/golden', now, channels: {}, inventory }).steps;
const revocation = { reason: 'CVE-2026-1', at: now.toISOString(), by: 'ops@h' };

describe('a --disable revoke killed right after its ledger write', () => {
  it('is finished with the AMI disabled, as the ledger says was asked', () => {
    const steps = finishingSteps(killedAfterLedger({ ...revocation, disable: true }));
    const record = steps.find((step) => step.id === 'revoke:web:1.0.1:us-east-1');
    const deprecate = steps.find((step) => step.id === 'revoke:web:1.0.1:us-east-1:deprecate');
    // Both carry it: the record tags gild:revoked-disable, the deprecate disables.
    expect(record).toMatchObject({ kind: 'revoke', phase: 'record', disable: true });
    expect(deprecate).toMatchObject({ kind: 'revoke', phase: 'deprecate', disable: true });
  });

  it('without --disable (or from a ledger written before it was recorded) is finished deprecated only', () => {
    const deprecate = finishingSteps(killedAfterLedger(revocation)).find((step) => step.id === 'revoke:web:1.0.1:us-east-1:deprecate');
    expect(deprecate).toMatchObject({ kind: 'revoke', phase: 'deprecate', disable: false });
  });
});

describe('the ledger records --disable', () => {
  it('reads a ledger written before the field existed, and round-trips it once written', () => {
    const old = parseLedger(JSON.stringify({ schema: 1, built: { '1.0': '1.0.1' }, revoked: { '1.0.1': revocation } }));
    expect(activeRevocation(old, '1.0.1')).toEqual(revocation);
    const written = parseLedger(serializeLedger(recordRevoked(old, '1.0.2', { ...revocation, disable: true })));
    expect(activeRevocation(written, '1.0.2')?.disable).toBe(true);
  });

  it('adds a later --disable to a revocation in force, never takes one away, and a re-revoke after a restore starts afresh', () => {
    const revoked = recordRevoked(parseLedger(undefined), '1.0.1', revocation);
    const hardened = recordRevoked(revoked, '1.0.1', { ...revocation, at: '2026-11-30T00:00:00Z', disable: true });
    expect(activeRevocation(hardened, '1.0.1')).toEqual({ ...revocation, disable: true });
    expect(recordRevoked(hardened, '1.0.1', { ...revocation, at: '2026-12-01T00:00:00Z' })).toBe(hardened);
    const restored = recordRestored(hardened, '1.0.1', revocation, { at: '2026-12-02T00:00:00Z', by: 'ops@h', reason: 'fixed' });
    const again = recordRevoked(restored, '1.0.1', { reason: 'again', at: '2026-12-03T00:00:00Z', by: 'ops@h' });
    expect(activeRevocation(again, '1.0.1')).toEqual({ reason: 'again', at: '2026-12-03T00:00:00Z', by: 'ops@h' });
  });
});
