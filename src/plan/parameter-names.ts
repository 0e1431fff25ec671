/** Where an image's AMIs are published in Parameter Store. */
export const imageParameterPath = (prefix: string, image: string) => `${prefix}/${image}`;
export const latestParameterName = (prefix: string, image: string) => `${prefix}/${image}/latest`;
export const versionParameterName = (prefix: string, image: string, version: string) => `${prefix}/${image}/versions/${version}`;
export const lockParameterName = (prefix: string, image: string) => `${prefix}/${image}/lock`;
/** The newest good version of one major: app teams take patches and minors without a new major. */
export const majorParameterName = (prefix: string, image: string, major: number) => `${prefix}/${image}/v${major}`;
/** A channel moves only when told (`gild promote`, `gild rollback`, `gild revoke`), never on publish. */
export const channelParameterName = (prefix: string, image: string, channel: string) => `${prefix}/${image}/channels/${channel}`;
/** Why a pointer is held where a rollback put it: JSON {version, reason, at, by}. Not a pointer itself. */
export const holdParameterName = (prefix: string, image: string, pointer: string) => `${prefix}/${image}/holds/${pointer}`;
export const holdsPath = (prefix: string, image: string) => `${prefix}/${image}/holds/`;
/** Which version numbers were ever built, and which revoked (src/plan/version-ledger.ts). Not a pointer. */
export const ledgerParameterName = (prefix: string, image: string) => `${prefix}/${image}/ledger`;

/**
 * What consumers must know about a version, per region, beside its `versions/<v>`: JSON `{ revoked?, deprecationTime? }`
 * (src/plan/version-status.ts), written by revoke and retirement, read by `resolve` with Parameter Store alone. Not a pointer.
 */
export const statusParameterName = (prefix: string, image: string, version: string) => `${prefix}/${image}/status/${version}`;
export const statusPath = (prefix: string, image: string) => `${prefix}/${image}/status/`;

/** `/golden/web/versions/1.2.3` → `1.2.3`; anything else → undefined. */
export function versionFromParameterName(prefix: string, image: string, name: string): string | undefined {
  const head = `${prefix}/${image}/versions/`;
  return name.startsWith(head) ? name.slice(head.length) : undefined;
}

/**
 * Whether a name under the prefix is one gild writes for an image (`<prefix>/<image>/` then latest, v<major>,
 * versions/<v>, channels/<name>, lock and its take-over claims, ledger, status/<v>, holds/…) or for a job
 * (`<prefix>/_jobs/<image>/ended`). Anything else under the prefix is not this pipeline's own: another gild pipeline's
 * prefix may be nested below it (`/golden/staging/web/latest` under `/golden`: one level more than gild's own names).
 */
export function isOwnParameterName(prefix: string, name: string): boolean {
  const head = `${prefix}/`;
  if (!name.startsWith(head)) return false;
  const rest = name.slice(head.length);
  return /^[^/]+\/(?:latest|v\d+|versions\/[^/]+|channels\/[^/]+|ledger|lock|lock\.takeover-[^/]+|status\/[^/]+|holds\/.+)$/.test(rest) || /^_jobs\/[^/]+\/ended$/.test(rest);
}
