/**
 * A version's status parameter (`<prefix>/<image>/status/<version>`, in every region it is published in): what a
 * consumer resolving the version must know and Parameter Store alone cannot say otherwise, so that `gild resolve`
 * needs no EC2 call. Written by revoke (first, before any pointer moves) and by retirement's deprecate phase; removed
 * with `versions/<v>` when the version is deregistered. Parsed without zod: `resolve` loads as little as it can.
 */
export interface VersionStatus {
  readonly revoked?: { readonly reason: string; readonly at: string; readonly by: string; readonly replacement?: string };
  /** When the AMI was (or will be) deprecated (EnableImageDeprecation, or only tagged where the target has none). */
  readonly deprecationTime?: string;
}

const text = (value: unknown): string | undefined => (typeof value === 'string' ? value : undefined);

/** An unreadable status is taken as revoked: a consumer is never handed a version whose status cannot be read. */
export function parseVersionStatus(raw: string | undefined): VersionStatus {
  if (raw === undefined) return {};
  try {
    const parsed = JSON.parse(raw) as { revoked?: Record<string, unknown>; deprecationTime?: unknown } | null;
    if (!parsed || typeof parsed !== 'object') throw new Error('not an object');
    const revoked = parsed.revoked && typeof parsed.revoked === 'object' ? parsed.revoked : undefined;
    const replacement = text(revoked?.replacement);
    const deprecationTime = text(parsed.deprecationTime);
    return {
      ...(revoked ? { revoked: { reason: text(revoked.reason) ?? 'no reason recorded', at: text(revoked.at) ?? '?', by: text(revoked.by) ?? '?', ...(replacement ? { replacement } : {}) } } : {}),
      ...(deprecationTime ? { deprecationTime } : {}),
    };
  } catch {
    return { revoked: { reason: `its status parameter is unreadable ("${raw.slice(0, 60)}")`, at: '?', by: '?' } };
  }
}

export const serializeVersionStatus = (status: VersionStatus) => JSON.stringify(status);
