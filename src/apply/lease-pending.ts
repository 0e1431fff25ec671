// TEMPORARY: stand-ins for the lease API being built on the `leases` branch (src/apply/lease.ts); replaced at merge.
import type { SSMClient } from '@aws-sdk/client-ssm';
import { setInterval as every } from 'node:timers/promises';
import { createParameterIfAbsent, deleteParameterIfValue, putParameterExpecting } from '../adapters/ssm-pending.ts';
import { getParameter } from '../adapters/ssm.ts';
import type { Lease } from '../observe/inventory.ts';
import { parseLease } from '../observe/parse-lease.ts';

export interface LeaseOwner {
  readonly runId: string;
  readonly host: string;
  readonly pid: number;
}

const serialise = (lease: Lease) => JSON.stringify(lease);

export async function acquireLease(ssm: SSMClient, name: string, owner: LeaseOwner, options: { now: Date; ttlMs: number }): Promise<{ acquired: Lease } | { heldBy: Lease | string }> {
  const lease: Lease = { ...owner, takenAt: options.now.toISOString(), expiresAt: new Date(options.now.getTime() + options.ttlMs).toISOString() };
  const created = await createParameterIfAbsent(ssm, name, serialise(lease));
  if (created === 'created') return { acquired: lease };
  return { heldBy: parseLease(created.exists.value) ?? created.exists.value };
}

export async function takeOverLease(ssm: SSMClient, name: string, observedRaw: string): Promise<'removed' | { moved: string }> {
  const removed = await deleteParameterIfValue(ssm, name, observedRaw);
  return removed === 'deleted' || removed === 'absent' ? 'removed' : removed;
}

export async function renewLease(ssm: SSMClient, name: string, lease: Lease, options: { now: Date; ttlMs: number }): Promise<{ renewed: Lease } | { lost: string }> {
  const current = await getParameter(ssm, name);
  const holder = current ? parseLease(current.value) : undefined;
  if (!current || holder?.runId !== lease.runId || holder.pid !== lease.pid) return { lost: current ? `${name} now holds ${current.value}` : `${name} was deleted` };
  const renewed = { ...holder, expiresAt: new Date(options.now.getTime() + options.ttlMs).toISOString() };
  const written = await putParameterExpecting(ssm, name, serialise(renewed), { expected: current.value });
  return written === 'written' ? { renewed } : { lost: `${name} was taken over` };
}

export function keepLeaseAlive(ssm: SSMClient, name: string, lease: Lease, options: { everyMs: number; ttlMs: number; now: () => Date; signal: AbortSignal; onLost: (reason: string) => void; onError: (error: unknown) => void }): void {
  let current = lease;
  void (async () => {
    try {
      for await (const _ of every(options.everyMs, undefined, { signal: options.signal, ref: false })) {
        try {
          const renewed = await renewLease(ssm, name, current, { now: options.now(), ttlMs: options.ttlMs });
          if ('lost' in renewed) return options.onLost(renewed.lost);
          current = renewed.renewed;
        } catch (error) {
          options.onError(error);
        }
      }
    } catch {
      // Aborted: the lease is released (or abandoned on purpose) by its owner.
    }
  })();
}

export async function releaseLease(ssm: SSMClient, name: string, lease: Lease): Promise<boolean> {
  const current = await getParameter(ssm, name);
  const holder = current ? parseLease(current.value) : undefined;
  if (!current || holder?.runId !== lease.runId || holder.pid !== lease.pid) return false;
  return (await deleteParameterIfValue(ssm, name, current.value)) === 'deleted';
}
