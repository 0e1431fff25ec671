/**
 * An image's history, assembled purely from what AWS holds: the gild tags on
 * its AMIs (built-at, base, commit, fingerprint, smoke verdict, revocation,
 * retirement stamps) and the parameter history of its pointers and versions,
 * whose descriptions name the version each value was. Retired versions whose
 * AMIs are gone are still there, from the pointers' history.
 */
import semver from 'semver';
import type { ObservedAmi } from '../observe/inventory.ts';

export interface PointerHistory {
  readonly region: string;
  /** Relative to the image's path: `latest`, `v2`, `channels/stable`, `versions/1.2.3`. */
  readonly pointer: string;
  readonly entries: readonly { readonly value: string; readonly lastModified: string | undefined; readonly description: string | undefined }[];
}

export interface VersionHistory {
  readonly version: string;
  /** region → AMI ID. */
  readonly amis: Readonly<Record<string, string>>;
  readonly builtAt: string | undefined;
  readonly baseAmi: string | undefined;
  readonly gitCommit: string | undefined;
  readonly fingerprint: string | undefined;
  /** `skipped`: the smoke test ran no check (`gild:smoke-skipped`), which the version's later tags must not turn into a pass. */
  readonly smoke: 'passed' | 'failed' | 'skipped' | 'unknown';
  readonly publishedAt: string | undefined;
  readonly status: 'published' | 'revoked' | 'retiring' | 'retired' | 'unpublished';
  readonly revoked: { readonly reason: string; readonly at: string | undefined; readonly by?: string; readonly replacement?: string } | undefined;
  /** Built on a revoked version (`gild:base-revoked`: which, and why). */
  readonly baseRevoked?: string;
  /** Pointer moves to this version and lifecycle stamps, oldest first. */
  readonly events: readonly { readonly at: string | undefined; readonly what: string }[];
}

export interface HistoryInput {
  readonly image: string;
  /** region → the image's AMIs that still exist. */
  readonly amis: Readonly<Record<string, readonly ObservedAmi[]>>;
  /** region → relative pointer → current value (what exists now). */
  readonly current: Readonly<Record<string, Readonly<Record<string, string>>>>;
  readonly histories: readonly PointerHistory[];
  /** The version ledger's revocations (version → reason, who, when): they outlive the AMIs and their tags. */
  readonly revocations?: Readonly<
    Record<
      string,
      {
        readonly reason: string;
        readonly at: string;
        readonly by: string;
        readonly replacement?: string;
        readonly restored?: { readonly at: string; readonly by: string; readonly reason: string } | undefined;
      }
    >
  >;
}

const versionInDescription = /: version (\S+?)\.(?: |$)/;

export function assembleHistory(input: HistoryInput): VersionHistory[] {
  const byVersion = new Map<string, { amis: Record<string, string>; tags: Record<string, string> | undefined; events: { at: string | undefined; what: string }[] }>();
  const entry = (version: string) => {
    let found = byVersion.get(version);
    if (!found) byVersion.set(version, (found = { amis: {}, tags: undefined, events: [] }));
    return found;
  };
  for (const [region, amis] of Object.entries(input.amis)) {
    for (const ami of amis) {
      const version = ami.tags['gild:version'];
      if (!version || ami.tags['gild:image'] !== input.image) continue;
      const record = entry(version);
      const status = ami.tags['gild:status'];
      // A failed or unpublished build is not a published version unless something names it.
      if (status !== 'published' && status !== 'revoked' && status !== 'retiring' && !Object.values(input.current[region] ?? {}).includes(ami.amiId)) continue;
      record.amis[region] = ami.amiId;
      record.tags ??= { ...ami.tags };
    }
  }
  for (const version of Object.keys(input.revocations ?? {})) entry(version);
  const amiVersion = new Map<string, string>();
  for (const [version, record] of byVersion) for (const [region, amiId] of Object.entries(record.amis)) amiVersion.set(`${region}/${amiId}`, version);
  for (const history of input.histories) {
    let previous: string | undefined;
    for (const change of history.entries) {
      const version = history.pointer.startsWith('versions/')
        ? history.pointer.slice('versions/'.length)
        : (versionInDescription.exec(change.description ?? '')?.[1] ?? amiVersion.get(`${history.region}/${change.value}`));
      if (!version || !semver.valid(version)) continue;
      const record = entry(version);
      record.amis[history.region] ??= change.value;
      if (change.value !== previous)
        record.events.push({
          at: change.lastModified,
          what: history.pointer.startsWith('versions/') ? `published in ${history.region} as ${change.value}` : `${history.pointer} → ${version} in ${history.region}`,
        });
      previous = change.value;
    }
  }
  return [...byVersion.entries()]
    .filter(([version]) => semver.valid(version))
    .sort(([a], [b]) => semver.rcompare(a, b))
    .map(([version, record]) => {
      const tags = record.tags ?? {};
      const ledgerRevocation = input.revocations && Object.hasOwn(input.revocations, version) && input.revocations[version]!.restored === undefined ? input.revocations[version] : undefined;
      const revokedTag =
        tags['gild:status'] === 'revoked'
          ? { reason: tags['gild:revoked-reason'] ?? 'no reason recorded', at: tags['gild:revoked-at'], ...(tags['gild:revoked-by'] ? { by: tags['gild:revoked-by'] } : {}) }
          : undefined;
      // The ledger keeps the revocation after retirement removed the AMI and its tags; it holds the full reason too.
      const revoked: VersionHistory['revoked'] = ledgerRevocation
        ? { reason: ledgerRevocation.reason, at: ledgerRevocation.at, by: ledgerRevocation.by, ...(ledgerRevocation.replacement ? { replacement: ledgerRevocation.replacement } : {}) }
        : revokedTag;
      const stillPublished = Object.values(input.current).some((pointers) => pointers[`versions/${version}`] !== undefined);
      const events = [...record.events];
      if (revoked) events.push({ at: revoked.at, what: `revoked by ${revoked.by ?? '?'}: ${revoked.reason}${revoked.replacement ? ` (pointers moved to ${revoked.replacement})` : ''}` });
      // A restored version's revoke stays in its history, with the restore after it.
      const undone = input.revocations && Object.hasOwn(input.revocations, version) ? input.revocations[version]! : undefined;
      if (undone?.restored) {
        events.push({ at: undone.at, what: `revoked by ${undone.by}: ${undone.reason}` });
        events.push({ at: undone.restored.at, what: `restored by ${undone.restored.by}: ${undone.restored.reason}` });
      }
      if (tags['gild:deprecated-at']) events.push({ at: tags['gild:deprecated-at'], what: 'deprecated by retirement' });
      if (tags['gild:retired-at']) events.push({ at: tags['gild:retired-at'], what: 'retirement began' });
      const exists = Object.values(input.amis).some((amis) => amis.some((ami) => ami.tags['gild:version'] === version && ami.tags['gild:image'] === input.image));
      const status: VersionHistory['status'] =
        tags['gild:status'] === 'revoked' || (revoked && exists) ? 'revoked' : tags['gild:status'] === 'retiring' ? 'retiring' : stillPublished ? 'published' : exists ? 'unpublished' : 'retired';
      if (status === 'retired' && !tags['gild:retired-at']) events.push({ at: undefined, what: 'retired: its AMIs and versions/' + version + ' are gone' });
      events.sort((a, b) => (a.at ?? '9999').localeCompare(b.at ?? '9999'));
      return {
        version,
        amis: record.amis,
        builtAt: tags['gild:built-at'],
        baseAmi: tags['gild:base-ami'],
        gitCommit: tags['gild:git-commit'],
        fingerprint: tags['gild:fingerprint'],
        smoke: tags['gild:failure']
          ? 'failed'
          : tags['gild:tested-at']
            ? 'passed'
            : tags['gild:smoke-skipped']
              ? 'skipped'
              : ['tested', 'published', 'revoked', 'retiring'].includes(tags['gild:status'] ?? '')
                ? 'passed'
                : 'unknown',
        publishedAt: tags['gild:published-at'] ?? events.find((event) => event.what.startsWith('published') || event.what.startsWith('latest'))?.at,
        status,
        revoked,
        ...(tags['gild:base-revoked'] ? { baseRevoked: tags['gild:base-revoked'] } : {}),
        events,
      };
    });
}

export function formatHistory(image: string, versions: readonly VersionHistory[]): string {
  if (versions.length === 0) return `${image}: nothing was ever published.`;
  const lines = [`${image}:`];
  for (const version of versions) {
    lines.push(`  ${version.version}  ${version.status}${version.revoked ? ` (${version.status === 'revoked' ? '' : 'revoked: '}${version.revoked.reason})` : ''}`);
    if (version.baseRevoked) lines.push(`    built on a revoked base: ${version.baseRevoked}`);
    lines.push(
      `    AMIs: ${
        Object.entries(version.amis)
          .map(([region, amiId]) => `${region} ${amiId}`)
          .join(', ') || '(unknown)'
      }`,
    );
    if (version.builtAt)
      lines.push(`    built ${version.builtAt} from ${version.baseAmi ?? '?'}, commit ${version.gitCommit ?? '?'}, fingerprint ${version.fingerprint ?? '?'}; smoke ${version.smoke}`);
    for (const event of version.events) lines.push(`    ${event.at ?? '(time unknown)'}  ${event.what}`);
  }
  return lines.join('\n');
}
