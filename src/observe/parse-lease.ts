/**
 * Reads a lock parameter's value as a lease. Pure, given how to ask whether a
 * pid is alive: a lease whose owner is this host and a dead pid is stale at
 * once; another host's lease is judged by its expiry alone.
 */
import type { ProcessInfo } from '../context.ts';
import type { Lease, LeaseState } from './inventory.ts';

export function parseLease(raw: string): Lease | undefined {
  let value: unknown;
  try {
    value = JSON.parse(raw);
  } catch {
    return undefined;
  }
  if (typeof value !== 'object' || value === null) return undefined;
  const { runId, host, pid, takenAt, expiresAt } = value as Record<string, unknown>;
  if (typeof runId !== 'string' || typeof host !== 'string' || typeof pid !== 'number' || typeof takenAt !== 'string' || typeof expiresAt !== 'string') return undefined;
  if (!Number.isFinite(Date.parse(takenAt)) || !Number.isFinite(Date.parse(expiresAt))) return undefined;
  return { runId, host, pid, takenAt, expiresAt };
}

export function parseLeaseState(raw: string, processInfo: Pick<ProcessInfo, 'host' | 'isPidAlive'>): LeaseState {
  const lease = parseLease(raw);
  if (!lease) return { kind: 'unreadable', raw };
  const ownerAlive = lease.host === processInfo.host ? processInfo.isPidAlive(lease.pid) : undefined;
  return { kind: 'held', lease, raw, ownerAlive };
}

/** Why a held lease may be taken over, or undefined while its owner may still be working. */
export function staleLeaseReason(state: Extract<LeaseState, { kind: 'held' }>, now: Date): string | undefined {
  if (state.ownerAlive === false) return `its owner, pid ${state.lease.pid} on ${state.lease.host} (run ${state.lease.runId}), is no longer running`;
  if (Date.parse(state.lease.expiresAt) <= now.getTime()) return `its lease expired at ${state.lease.expiresAt} (run ${state.lease.runId} on ${state.lease.host} stopped renewing it)`;
  return undefined;
}
