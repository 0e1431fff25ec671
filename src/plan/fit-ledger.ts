/**
 * Keeps the version ledger (src/plan/version-ledger.ts) within what one SSM parameter holds. The ledger is written
 * with Tier Intelligent-Tiering (src/stages/record-version.ts): Standard (4 KB, free) while it fits, Advanced (8 KB)
 * once it needs to. It is never pruned: a revocation is an intent, and dropping one would let a later run publish the
 * revoked version again. What it may lose is words: when the ledger would pass 8 KB, the reasons of the oldest
 * revocations (and of their restores) are cut to `ledgerReasonFloor` characters, oldest first, until it fits; then
 * those of revocations since restored (history, not intents) are emptied, oldest first. The
 * whole reason stays where it was written besides: the version's status parameter and the AMIs' tags (256 characters).
 *
 * NOTE: why 8 KB holds a realistic life: a revocation with a 300-character reason is ~450 bytes, one cut to the floor
 * ~170 (~300 with its restore); so ~17 revocations keep every word, and ~45 (or ~25 revoked and restored) fit cut.
 * An image revoked more often than that has bigger problems, and the write then fails with what to do
 * (src/stages/record-version.ts), before AWS refuses it.
 */
import { serializeLedger, type VersionLedger } from './version-ledger.ts';

/** PutParameter's Value documentation: "Advanced parameters have a value limit of 8 KB". */
export const ledgerValueLimit = 8192;
/** A cut reason keeps this many characters (the last one "…"): enough for a CVE or a ticket number. */
export const ledgerReasonFloor = 40;
/** Standard while the ledger fits 4 KB, Advanced once it does not (AWS decides, per write). */
export const ledgerTier = 'Intelligent-Tiering';

export const ledgerBytes = (ledger: VersionLedger) => Buffer.byteLength(serializeLedger(ledger), 'utf8');

const cut = (text: string) => {
  const characters = [...text];
  return characters.length > ledgerReasonFloor ? `${characters.slice(0, ledgerReasonFloor - 1).join('')}…` : text;
};

/** The ledger, unchanged (same object) when it fits `limit` bytes; otherwise with the oldest revocations' reasons cut until it does (or all are). */
export function fitLedger(ledger: VersionLedger, limit: number = ledgerValueLimit): VersionLedger {
  if (ledgerBytes(ledger) <= limit) return ledger;
  const oldestFirst = Object.entries(ledger.revoked)
    .sort(([versionA, a], [versionB, b]) => a.at.localeCompare(b.at) || versionA.localeCompare(versionB))
    .map(([version]) => version);
  let fitted = ledger;
  for (const version of oldestFirst) {
    const revocation = fitted.revoked[version]!;
    const shortened = { ...revocation, reason: cut(revocation.reason), ...(revocation.restored ? { restored: { ...revocation.restored, reason: cut(revocation.restored.reason) } } : {}) };
    fitted = { ...fitted, revoked: { ...fitted.revoked, [version]: shortened } };
    if (ledgerBytes(fitted) <= limit) return fitted;
  }
  // NOTE: a revocation since restored is history, not an intent: its words go before a new revoke (an intent, in
  // every region after this write) could be refused for want of room.
  for (const version of oldestFirst) {
    const revocation = fitted.revoked[version]!;
    if (!revocation.restored) continue;
    fitted = { ...fitted, revoked: { ...fitted.revoked, [version]: { ...revocation, reason: '', restored: { ...revocation.restored, reason: '' } } } };
    if (ledgerBytes(fitted) <= limit) return fitted;
  }
  return fitted;
}
