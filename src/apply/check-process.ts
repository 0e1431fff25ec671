/**
 * What a lease needs to know about processes, read here once so that the
 * lease code and the observer stay pure: the runner passes these in.
 */
import { hostname } from 'node:os';
import type { LeaseOwner } from '../observe/parse-lease.ts';

/** This process as the owner of the leases a run takes. */
export const leaseOwnerOfThisProcess = (runId: string): LeaseOwner => ({ runId, host: hostname(), pid: process.pid });

/**
 * Whether a process with this pid runs on this host. Signal 0 checks without
 * signalling; EPERM means it exists but belongs to another user, so it is alive.
 */
export function isPidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}
