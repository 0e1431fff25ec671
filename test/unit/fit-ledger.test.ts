/**
 * The version ledger stays within one parameter through a long life of revocations, and loses none. Before, it was a
 * Standard parameter (4 KB) holding every revocation's 300-character reason forever: ten revocations made it 4,319
 * bytes, and every publish of that image then failed on AWS (moto does not check the size).
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { fitLedger, ledgerBytes, ledgerReasonFloor, ledgerTier, ledgerValueLimit } from '../../src/plan/fit-ledger.ts';
import { activeRevocation, emptyLedger, ledgerReasonLimit, recordRestored, recordRevoked, type VersionLedger } from '../../src/plan/version-ledger.ts';

const longReason = (patch: number) => `CVE-2026-${String(patch).padStart(4, '0')} in openssl and glibc: ${'x'.repeat(ledgerReasonLimit)}`;
const by = 'gitlab-ci:platform-team/golden-images#12345';
const at = (patch: number) => new Date(Date.UTC(2026, 0, 1) + patch * 86_400_000).toISOString();

function revokedTimes(count: number, restoreEvery = 0): VersionLedger {
  let ledger = emptyLedger;
  for (let patch = 0; patch < count; patch++) {
    const revocation = { reason: longReason(patch), at: at(patch), by, replacement: `1.0.${patch + 1}` };
    ledger = recordRevoked(ledger, `1.0.${patch}`, revocation);
    if (restoreEvery > 0 && patch % restoreEvery === 0) ledger = recordRestored(ledger, `1.0.${patch}`, revocation, { at: at(patch + 1), by, reason: longReason(patch) });
  }
  return ledger;
}

describe('fitting the version ledger into one parameter', () => {
  it('is written Intelligent-Tiering: Standard while it fits 4 KB, Advanced (8 KB) once it needs to', () => {
    expect(ledgerTier).toBe('Intelligent-Tiering');
    expect(ledgerValueLimit).toBe(8192);
  });

  it('leaves a ledger that fits as it is (the same object)', () => {
    const ten = revokedTimes(10);
    expect(ledgerBytes(ten)).toBeGreaterThan(4096);
    expect(fitLedger(ten)).toBe(ten);
  });

  it('keeps 45 revocations with 300-character reasons within 8 KB, every one of them, cutting the oldest reasons first', () => {
    const ledger = revokedTimes(45);
    expect(ledgerBytes(ledger)).toBeGreaterThan(ledgerValueLimit);
    const fitted = fitLedger(ledger);
    expect(ledgerBytes(fitted)).toBeLessThanOrEqual(ledgerValueLimit);
    expect(Object.keys(fitted.revoked).sort()).toEqual(Object.keys(ledger.revoked).sort());
    for (let patch = 0; patch < 45; patch++) {
      const revocation = activeRevocation(fitted, `1.0.${patch}`)!;
      expect(revocation).toMatchObject({ at: at(patch), by, replacement: `1.0.${patch + 1}` });
      expect(longReason(patch).startsWith(revocation.reason.replace(/…$/, ''))).toBe(true);
    }
    expect(fitted.revoked['1.0.0']!.reason).toBe(`${longReason(0).slice(0, ledgerReasonFloor - 1)}…`);
    expect(fitted.revoked['1.0.44']!.reason).toBe(longReason(44).slice(0, ledgerReasonLimit));
    expect(fitted.built).toEqual(ledger.built);
  });

  it('keeps 25 revocations that were each restored within 8 KB, the restores too', () => {
    const fitted = fitLedger(revokedTimes(25, 1));
    expect(ledgerBytes(fitted)).toBeLessThanOrEqual(ledgerValueLimit);
    expect(Object.values(fitted.revoked).every((revocation) => revocation.restored !== undefined)).toBe(true);
  });

  it('empties the words of revocations since restored (history) before a new revoke is refused for want of room', () => {
    // 30 revoked and restored, then 6 more revoked: more than every reason cut to the floor leaves room for.
    let ledger = revokedTimes(30, 1);
    for (let patch = 30; patch < 36; patch++) ledger = recordRevoked(ledger, `1.0.${patch}`, { reason: longReason(patch), at: at(patch), by, replacement: `1.0.${patch + 1}` });
    const fitted = fitLedger(ledger);
    expect(ledgerBytes(fitted)).toBeLessThanOrEqual(ledgerValueLimit);
    expect(Object.keys(fitted.revoked)).toHaveLength(36);
    // The 6 in force keep their words, cut; only restored ones may lose them.
    for (let patch = 30; patch < 36; patch++) expect(activeRevocation(fitted, `1.0.${patch}`)!.reason.length).toBeGreaterThan(0);
  });

  it('never drops or changes a revocation but its words, whatever the ledger (property)', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 80 }), fc.integer({ min: 0, max: 5 }), fc.integer({ min: 1000, max: 9000 }), (count, restoreEvery, limit) => {
        const ledger = revokedTimes(count, restoreEvery);
        const fitted = fitLedger(ledger, limit);
        expect(Object.keys(fitted.revoked)).toEqual(Object.keys(ledger.revoked));
        for (const [version, revocation] of Object.entries(ledger.revoked)) {
          const { reason, restored, ...rest } = fitted.revoked[version]!;
          expect(rest).toEqual({ at: revocation.at, by: revocation.by, replacement: revocation.replacement });
          expect([...reason].length).toBeLessThanOrEqual([...revocation.reason].length);
          expect(restored === undefined).toBe(revocation.restored === undefined);
        }
        // It fits, unless even every reason cut to the floor, and every restored one's emptied, does not.
        const allCut = Object.values(fitted.revoked).every((revocation) => [...revocation.reason].length <= (revocation.restored ? 0 : ledgerReasonFloor));
        expect(ledgerBytes(fitted) <= limit || allCut).toBe(true);
      }),
      { numRuns: 60 },
    );
  });
});
