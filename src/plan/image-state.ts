/**
 * One image's slice of the inventory, read into the shapes decisions need:
 * published versions per region, pointers, and the AMIs gild made for it.
 * Pure.
 */
import semver from 'semver';
import type { Inventory, ObservedAmi } from '../observe/inventory.ts';
import { isTakeoverClaimOf } from '../observe/parse-lease.ts';
import { imageAmis, imageParameters } from './inventory-slices.ts';
import { holdsPath, latestParameterName, ledgerParameterName, lockParameterName, statusPath, versionFromParameterName } from './parameter-names.ts';
import { parseVersionStatus, type VersionStatus } from './version-status.ts';
import { activeRevocation, emptyLedger, ledgerVersions, parseLedger, type Revocation, type VersionLedger } from './version-ledger.ts';

export interface PublishedVersionState {
  readonly version: string;
  /** AMI per region, from `versions/<version>`. */
  readonly amis: Readonly<Record<string, string>>;
}

/** `<prefix>/<image>/holds/<pointer>`, written by `gild rollback`, removed by `gild release`. */
export interface PointerHold {
  readonly version: string;
  readonly reason: string;
  readonly at: string;
  readonly by: string;
  /** The run that placed it: the holds one rollback placed together (latest and its v<major>) are released together. */
  readonly group?: string;
}

/** A hold someone wrote by hand or broke still holds: an unreadable one keeps the pointer where it is. */
export function parseHold(raw: string): PointerHold {
  try {
    const parsed = JSON.parse(raw) as Partial<PointerHold>;
    const text = (value: unknown) => (typeof value === 'string' ? value : '?');
    return { version: text(parsed.version), reason: text(parsed.reason), at: text(parsed.at), by: text(parsed.by), ...(typeof parsed.group === 'string' ? { group: parsed.group } : {}) };
  } catch {
    return { version: '?', reason: `unreadable hold "${raw.slice(0, 60)}"`, at: '?', by: '?' };
  }
}

/** The plan's words for a hold. */
export const describeHold = (pointer: string, hold: PointerHold) => `${pointer} held at ${hold.version} by rollback on ${hold.at.slice(0, 10)}: ${hold.reason}`;

export interface ImageState {
  /** Newest first. */
  readonly versions: readonly PublishedVersionState[];
  /** `latest` per region. */
  readonly latest: Readonly<Record<string, string | undefined>>;
  /** Every parameter under the image's path except versions and the lock (latest, major lines, channels), per region: name → AMI. */
  readonly pointers: Readonly<Record<string, Readonly<Record<string, string>>>>;
  /** Pointers a rollback holds (relative name such as `latest` or `channels/stable` → the hold): no run moves them. */
  readonly holds: Readonly<Record<string, PointerHold>>;
  /** AMIs tagged `gild:image=<image>`, per region. */
  readonly amis: Readonly<Record<string, readonly ObservedAmi[]>>;
  /** Every AMI ID any parameter of this image names, per region: these are published, whatever their tags say. */
  readonly namedAmis: Readonly<Record<string, ReadonlySet<string>>>;
  /** The version ledger (`<prefix>/<image>/ledger`, build region): numbers ever built, revocations. */
  readonly ledger: VersionLedger;
  /** region → version → its status parameter (`status/<v>`): revoked, deprecation time. */
  readonly statuses: Readonly<Record<string, Readonly<Record<string, VersionStatus>>>>;
}

export function imageState(inventory: Inventory, imageName: string, regions: readonly string[]): ImageState {
  const prefix = inventory.ssmPrefix;
  const byVersion = new Map<string, Record<string, string>>();
  const latest: Record<string, string | undefined> = {};
  const pointers: Record<string, Record<string, string>> = {};
  const amis: Record<string, readonly ObservedAmi[]> = {};
  const namedAmis: Record<string, Set<string>> = {};
  const holds: Record<string, PointerHold> = {};
  const holdsHead = holdsPath(prefix, imageName);
  const ledgerName = ledgerParameterName(prefix, imageName);
  const statusHead = statusPath(prefix, imageName);
  const statuses: Record<string, Record<string, VersionStatus>> = {};
  let ledger: VersionLedger = emptyLedger;
  const lockName = lockParameterName(prefix, imageName);
  for (const region of regions) {
    pointers[region] = {};
    namedAmis[region] = new Set();
    amis[region] = imageAmis(inventory, region, imageName);
    // Only this image's parameters: every name below starts with `<prefix>/<image>/`.
    for (const parameter of imageParameters(inventory, region, imageName)) {
      // The lock and a take-over's claim on it are neither versions nor pointers.
      if (parameter.name === lockName || isTakeoverClaimOf(lockName, parameter.name)) continue;
      if (parameter.name.startsWith(statusHead)) {
        (statuses[region] ??= {})[parameter.name.slice(statusHead.length)] = parseVersionStatus(parameter.value);
        continue;
      }
      if (parameter.name === ledgerName) {
        if (ledger === emptyLedger) ledger = parseLedger(parameter.value);
        continue;
      }
      if (parameter.name.startsWith(holdsHead)) {
        holds[parameter.name.slice(holdsHead.length)] = parseHold(parameter.value);
        continue;
      }
      namedAmis[region]!.add(parameter.value);
      const version = versionFromParameterName(prefix, imageName, parameter.name);
      if (version !== undefined) {
        if (semver.valid(version)) byVersion.set(version, { ...byVersion.get(version), [region]: parameter.value });
        continue;
      }
      pointers[region]![parameter.name] = parameter.value;
      if (parameter.name === latestParameterName(prefix, imageName)) latest[region] = parameter.value;
    }
  }
  const versions = [...byVersion.entries()].map(([version, versionAmis]) => ({ version, amis: versionAmis })).sort((a, b) => semver.rcompare(a.version, b.version));
  return { versions, latest, pointers, holds, amis, namedAmis, ledger, statuses };
}

/**
 * Every version number this image ever used: published now, recorded in the ledger, or named by the tags of an AMI that
 * was published (published, revoked, retiring, or stamped by retirement). None is ever built again.
 */
export function usedVersions(state: ImageState): string[] {
  const used = new Set<string>([...state.versions.map((published) => published.version), ...ledgerVersions(state.ledger)]);
  for (const amis of Object.values(state.amis)) {
    for (const ami of amis) {
      const version = ami.tags['gild:version'];
      if (version && (['published', 'revoked', 'retiring'].includes(ami.tags['gild:status'] ?? '') || ami.tags['gild:published-at'] !== undefined)) used.add(version);
    }
  }
  return [...used].filter((version) => semver.valid(version) !== null);
}

/**
 * Why a version is revoked, or undefined: the first trace of the revoke wins, the ledger (written first) or any region's
 * AMI tags or status parameter. A revoke records itself before it moves a pointer, so a half-done revoke is still seen
 * here.
 *
 * A version the ledger says was restored is revoked again only by a trace newer than that restore: a second revoke
 * whose copy-region record ran while its ledger write did not (a plan from before the record steps were ordered, or a
 * hand tag) is still a revoke on record, and is finished as one. Traces from before the restore are the restore's
 * unfinished business (src/plan/plan-restore.ts planUnfinishedRestores), never a revoke.
 */
export function revocationOf(state: ImageState, version: string): Revocation | undefined {
  const recorded = activeRevocation(state.ledger, version);
  if (recorded) return recorded;
  const restoredRevoke = Object.hasOwn(state.ledger.revoked, version) ? state.ledger.revoked[version] : undefined;
  const restored = restoredRevoke?.restored;
  const restoredAt = restored ? Date.parse(restored.at) : undefined;
  // Without a restore any trace counts; after one, only a trace stamped later (an unreadable stamp is not later). A
  // trace saying what the restored revoke said (its reason, as far as both kept it, and who) is that revoke's leftover
  // unless stamped well after the restore: the two stamps may come from machines whose clocks differ by minutes.
  const counts = (trace: { readonly at: string | undefined; readonly reason: string | undefined; readonly by: string | undefined }) => {
    if (restoredAt === undefined) return true;
    const at = Date.parse(trace.at ?? '');
    return isSameRevoke(trace, restoredRevoke) ? at > restoredAt + clockSkewMs : at > restoredAt;
  };
  for (const amis of Object.values(state.amis)) {
    for (const ami of amis) {
      if (ami.tags['gild:version'] !== version || ami.tags['gild:status'] !== 'revoked') continue;
      if (!counts({ at: ami.tags['gild:revoked-at'], reason: ami.tags['gild:revoked-reason'], by: ami.tags['gild:revoked-by'] })) continue;
      const replacement = ami.tags['gild:revoked-replacement'];
      return {
        reason: ami.tags['gild:revoked-reason'] ?? 'no reason recorded',
        at: ami.tags['gild:revoked-at'] ?? '?',
        by: ami.tags['gild:revoked-by'] ?? '?',
        ...(replacement ? { replacement } : {}),
        ...(ami.tags['gild:revoked-disable'] === 'true' ? { disable: true } : {}),
      };
    }
  }
  if (restoredAt === undefined) return undefined;
  // The status parameter is written before the tags: a second revoke killed between the two left only it.
  for (const statuses of Object.values(state.statuses)) {
    const revoked = statuses[version]?.revoked;
    if (revoked && counts(revoked)) return revoked;
  }
  return undefined;
}

/** How far apart two machines' clocks may be when their stamps of one intent are compared. */
const clockSkewMs = 10 * 60_000;

/** Whether a revoke's trace says what the ledger's revocation says: who, and the reason as far as both kept it (tags and the ledger cut it short). */
function isSameRevoke(trace: { readonly reason: string | undefined; readonly by: string | undefined }, recorded: { readonly reason: string; readonly by: string } | undefined): boolean {
  if (!recorded || trace.by === undefined || trace.reason === undefined || trace.by.replace(/…$/, '') !== recorded.by.replace(/…$/, '')) return false;
  const [shorter, longer] = [trace.reason.replace(/…$/, ''), recorded.reason.replace(/…$/, '')].sort((a, b) => a.length - b.length);
  return longer!.startsWith(shorter!);
}

/** AMIs an earlier run built for one image and did not publish, grouped by that run. */
export interface UnpublishedBuild {
  readonly runId: string;
  readonly version: string | undefined;
  readonly fingerprint: string | undefined;
  readonly baseAmiId: string | undefined;
  readonly status: string | undefined;
  readonly amis: Readonly<Record<string, ObservedAmi>>;
}

export function unpublishedBuilds(state: ImageState): UnpublishedBuild[] {
  const byRun = new Map<string, Record<string, ObservedAmi>>();
  for (const [region, regionAmis] of Object.entries(state.amis)) {
    for (const ami of regionAmis) {
      if (state.namedAmis[region]?.has(ami.amiId)) continue;
      const status = ami.tags['gild:status'];
      // Published once and no longer named by any parameter: retirement's business, not a failed build's.
      if (status === 'published' || status === 'revoked' || status === 'retiring') continue;
      const runId = ami.tags['gild:run-id'] ?? `(no run id: ${ami.amiId})`;
      byRun.set(runId, { ...byRun.get(runId), [region]: ami });
    }
  }
  return [...byRun.entries()].map(([runId, amis]) => {
    const first = Object.values(amis)[0]!;
    return { runId, version: first.tags['gild:version'], fingerprint: first.tags['gild:fingerprint'], baseAmiId: first.tags['gild:base-ami'], status: first.tags['gild:status'], amis };
  });
}

/** The AMI of this image with that ID in that region, as observed. */
export function findAmi(state: ImageState, region: string, amiId: string | undefined): ObservedAmi | undefined {
  return amiId === undefined ? undefined : state.amis[region]?.find((ami) => ami.amiId === amiId);
}
