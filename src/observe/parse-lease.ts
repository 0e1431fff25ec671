/**
 * Reading a lease parameter's value, with no I/O: whether the owner still
 * runs is asked of a function the caller passes (the runner passes a
 * `process.kill(pid, 0)` check), so observing stays pure and testable.
 */
import { createHash } from 'node:crypto';
import type { Lease, LeaseState } from './inventory.ts';

/** Who holds a lease: unique per run, since the run ID is. */
export interface LeaseOwner {
  readonly runId: string;
  readonly host: string;
  readonly pid: number;
  /** The kernel's boot ID, where there is one (Linux): see `Lease.bootId`. */
  readonly bootId?: string | undefined;
  /** The PID namespace, where there is one (Linux): see `Lease.pidNamespace`. */
  readonly pidNamespace?: string | undefined;
}

/** Where a lease is observed from: this host, this boot, this PID namespace, and a way to ask whether a pid runs here. */
export interface LeaseObserver {
  readonly host: string;
  readonly bootId?: string | undefined;
  readonly pidNamespace?: string | undefined;
  readonly isPidAlive: (pid: number) => boolean;
}

const isIsoTime = (value: unknown): value is string => typeof value === 'string' && Number.isFinite(Date.parse(value));

/** The lease a parameter holds, or `undefined` when it is not one (written by hand, or by an older gild). */
export function parseLease(raw: string): Lease | undefined {
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw);
  } catch {
    return undefined;
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) return undefined;
  const { runId, host, pid, bootId, pidNamespace, takenAt, expiresAt } = parsed as Record<string, unknown>;
  if (typeof runId !== 'string' || runId === '' || typeof host !== 'string' || host === '') return undefined;
  if (typeof pid !== 'number' || !Number.isSafeInteger(pid) || pid <= 0) return undefined;
  if (!isIsoTime(takenAt) || !isIsoTime(expiresAt)) return undefined;
  // NOTE: a lease without a boot ID (an older gild's, or one taken where there is none) is still a lease.
  if (bootId !== undefined && (typeof bootId !== 'string' || bootId === '')) return undefined;
  if (pidNamespace !== undefined && (typeof pidNamespace !== 'string' || pidNamespace === '')) return undefined;
  return { runId, host, pid, ...(bootId !== undefined ? { bootId } : {}), ...(pidNamespace !== undefined ? { pidNamespace } : {}), takenAt, expiresAt };
}

/** The stored form. Field order is fixed so that the same lease always serialises to the same string. */
export function formatLease(lease: Lease): string {
  return JSON.stringify({
    runId: lease.runId,
    host: lease.host,
    pid: lease.pid,
    ...(lease.bootId !== undefined ? { bootId: lease.bootId } : {}),
    ...(lease.pidNamespace !== undefined ? { pidNamespace: lease.pidNamespace } : {}),
    takenAt: lease.takenAt,
    expiresAt: lease.expiresAt,
  });
}

export function isLeaseOwnedBy(lease: Lease, owner: LeaseOwner): boolean {
  return lease.runId === owner.runId && lease.host === owner.host && lease.pid === owner.pid;
}

/**
 * What a lock parameter means to a run on `host`. A pid is only meaningful
 * on its own host in the same boot and the same PID namespace: the host name
 * alone does not say so (a machine rebooted since, or a container on another
 * machine with the same host name), so the boot IDs must match; nor does the
 * boot (sibling containers on one machine share it and the host name, but
 * each has its own pids), so the PID namespaces must match too. Anywhere
 * else, or without either on either side (an older gild's lease), only the
 * expiry tells.
 */
export function observeLeaseState(raw: string | undefined, here: LeaseObserver): LeaseState {
  if (raw === undefined) return { kind: 'free' };
  const lease = parseLease(raw);
  if (!lease) return { kind: 'unreadable', raw };
  return { kind: 'held', lease, raw, ownerAlive: isSamePidSpace(lease, here) ? here.isPidAlive(lease.pid) : undefined };
}

const isSamePidSpace = (lease: Lease, here: LeaseObserver) =>
  lease.host === here.host && lease.bootId !== undefined && lease.bootId === here.bootId && lease.pidNamespace !== undefined && lease.pidNamespace === here.pidNamespace;

/**
 * Why a held lease may be taken over now, or `undefined` while it must be
 * respected. An unreadable lock is never taken over by itself: someone wrote
 * it on purpose, and `gild unlock` is the way to break it.
 */
export function staleLeaseReason(state: LeaseState, now: Date): string | undefined {
  if (state.kind !== 'held') return undefined;
  const { lease } = state;
  if (state.ownerAlive === false) return `its owner, run ${lease.runId} (pid ${lease.pid} on ${lease.host}, same boot and PID namespace), is no longer running`;
  if (Date.parse(lease.expiresAt) <= now.getTime()) return `it expired at ${lease.expiresAt} (run ${lease.runId} on ${lease.host} stopped renewing it)`;
  return undefined;
}

/**
 * How long a lock's lease stays valid without renewal (src/stages/lock.ts): long enough to ride out slow renewals,
 * short enough that a crashed CI runner's lock frees itself soon.
 */
export const leaseTtlMs = 15 * 60_000;

/**
 * Publish writes only with at least this long left on its lease, renewed just before: its writes, and their undo
 * should one fail, fit well within it (retries included), so no take-over can start while they are made.
 */
export const publishLeaseMarginMs = 2 * 60_000;

const claimMarker = '.takeover-';

/**
 * The claim a take-over holds while it replaces one particular stale value of
 * the lock `name` (see `takeOverLease` in src/apply/lease.ts): a lease-shaped
 * parameter beside the lock, e.g. `/golden/web/lock.takeover-3f9a…`.
 */
export const takeoverClaimName = (name: string, staleRaw: string) => `${name}${claimMarker}${createHash('sha256').update(staleRaw).digest('hex').slice(0, 16)}`;

/**
 * Whether a parameter is a take-over claim on the lock `name`. An observer
 * lists these under the image's path: they are neither versions nor pointers,
 * and one whose lease is stale is a leftover of a take-over that crashed.
 */
export const isTakeoverClaimOf = (name: string, parameterName: string) => parameterName.startsWith(`${name}${claimMarker}`);
