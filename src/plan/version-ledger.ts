/**
 * The version ledger: `<prefix>/<image>/ledger` in the image's build region, one small JSON parameter per image that
 * says which version numbers were ever built and which were revoked (why, when, by whom, in favour of what). Pure:
 * parsing and merging here, the writes in src/stages/record-version.ts.
 *
 * NOTE: why one parameter per image, and not tags, parameter history or a tombstone per version:
 * - tags die with the AMI and `versions/<v>`'s history dies with the parameter, which is exactly what retirement
 *   removes; `latest`'s history keeps only its last 100 values and dies if `latest` is deleted;
 * - a tombstone parameter per version would grow by one every nightly build, forever, against Parameter Store's
 *   10,000 standard parameters per account and region;
 * - the ledger keeps the highest patch per major.minor (a handful of entries) and the revocations (rare), so it stays
 *   small; it is read with everything else under the prefix (no extra call), and only a run holding the image's lock
 *   writes it, each write re-checking the value it read (src/adapters/ssm.ts putParameterExpecting).
 * Every step that could remove the last trace of a version raises the ledger first: publish before `versions/<v>`,
 * retirement before deregistering, revoke before anything else.
 */
import semver from 'semver';
import { z } from 'zod';

/** Kept short so the ledger stays a standard parameter (4 KB) through many revocations. */
export const ledgerReasonLimit = 300;

const revocationSchema = z.object({
  reason: z.string(),
  at: z.string(),
  by: z.string(),
  /** The version the pointers moved to (`latest`'s), when there was one. */
  replacement: z.string().optional(),
  /**
   * `--disable` was asked: the AMIs are disabled, not only deprecated. Here, in the revoke's first write, so that a
   * revoke killed before any AMI carries `gild:revoked-disable` is still finished as asked. Absent in ledgers written
   * before it was recorded (and for a revoke without `--disable`).
   */
  disable: z.boolean().optional(),
  /** `gild restore` un-revoked it: when, by whom, why. */
  restored: z.object({ at: z.string(), by: z.string(), reason: z.string() }).optional(),
});

export const versionLedgerSchema = z.object({
  schema: z.literal(1),
  /** `<major>.<minor>` → the highest version of that line ever published. */
  built: z.record(z.string(), z.string()),
  /** version → its revocation. */
  revoked: z.record(z.string(), revocationSchema),
});

export type VersionLedger = z.infer<typeof versionLedgerSchema>;
export type Revocation = z.infer<typeof revocationSchema>;

export const emptyLedger: VersionLedger = { schema: 1, built: {}, revoked: {} };

/**
 * What the parameter holds. A ledger someone broke is not trusted and not thrown away: the versions it names stay
 * used (found by pattern), and the next write replaces it with a valid one that keeps them.
 */
export function parseLedger(raw: string | undefined): VersionLedger {
  if (raw === undefined) return emptyLedger;
  try {
    const parsed = versionLedgerSchema.safeParse(JSON.parse(raw));
    if (parsed.success) return parsed.data;
  } catch {
    // fall through: salvage the version numbers
  }
  const built: Record<string, string> = {};
  for (const match of raw.matchAll(/\d+\.\d+\.\d+/g)) raiseBuilt(built, match[0]);
  return { schema: 1, built, revoked: {} };
}

function raiseBuilt(built: Record<string, string>, version: string): void {
  const parsed = semver.parse(version);
  if (!parsed) return;
  const line = `${parsed.major}.${parsed.minor}`;
  const current = built[line];
  if (current === undefined || semver.gt(version, current)) built[line] = version;
}

/** Every version number the ledger says is taken: the highest of each line (all below it were taken or skipped) and the revoked ones. */
export function ledgerVersions(ledger: VersionLedger): string[] {
  return [...Object.values(ledger.built), ...Object.keys(ledger.revoked)].filter((version) => semver.valid(version) !== null);
}

/** The ledger with `version` recorded as built. Unchanged (same object) when it already was. */
export function recordBuilt(ledger: VersionLedger, version: string): VersionLedger {
  const built = { ...ledger.built };
  raiseBuilt(built, version);
  return built[lineOf(version)] === ledger.built[lineOf(version)] ? ledger : { ...ledger, built };
}

/**
 * The ledger with `version` recorded as revoked (and built). The first record of a revocation wins: a retry does not
 * rewrite who and when. A `--disable` asked of a version already revoked is added to it: a revoke only ever hardens.
 */
export function recordRevoked(ledger: VersionLedger, version: string, revocation: Revocation): VersionLedger {
  const withBuilt = recordBuilt(ledger, version);
  const existing = withBuilt.revoked[version];
  if (existing && existing.restored === undefined) {
    if (revocation.disable !== true || existing.disable === true) return withBuilt;
    return { ...withBuilt, revoked: { ...withBuilt.revoked, [version]: { ...existing, disable: true } } };
  }
  return { ...withBuilt, revoked: { ...withBuilt.revoked, [version]: { ...revocation, reason: revocation.reason.slice(0, ledgerReasonLimit) } } };
}

export function serializeLedger(ledger: VersionLedger): string {
  return JSON.stringify(ledger);
}

/** The revocation in force for a version (not restored since), if any. */
export function activeRevocation(ledger: VersionLedger, version: string): Revocation | undefined {
  const revocation = Object.hasOwn(ledger.revoked, version) ? ledger.revoked[version] : undefined;
  return revocation && revocation.restored === undefined ? revocation : undefined;
}

const lineOf = (version: string) => {
  const parsed = semver.parse(version);
  return parsed ? `${parsed.major}.${parsed.minor}` : version;
};

/**
 * The ledger with `version`'s revocation marked restored (`gild restore`). The revocation stays, for the history; a
 * version revoked only in its AMIs' tags (by a gild before the ledger) gets its entry here, so that the restore, not
 * the tags it has yet to change, is what every reader believes. Unchanged (same object) when already restored.
 */
export function recordRestored(ledger: VersionLedger, version: string, revocation: Revocation, restored: NonNullable<Revocation['restored']>): VersionLedger {
  const existing = Object.hasOwn(ledger.revoked, version) ? ledger.revoked[version]! : { ...revocation, reason: revocation.reason.slice(0, ledgerReasonLimit) };
  if (existing.restored !== undefined) return ledger;
  return { ...recordBuilt(ledger, version), revoked: { ...ledger.revoked, [version]: { ...existing, restored: { ...restored, reason: restored.reason.slice(0, ledgerReasonLimit) } } } };
}

/** When and why a version's revocation was undone, if it was. */
export function restorationOf(ledger: VersionLedger, version: string): Revocation['restored'] {
  return Object.hasOwn(ledger.revoked, version) ? ledger.revoked[version]!.restored : undefined;
}
