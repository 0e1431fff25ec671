/**
 * What a lease needs to know about processes, read here once so that the
 * lease code and the observer stay pure: the runner passes these in.
 */
import { readFileSync, readlinkSync } from 'node:fs';
import { hostname } from 'node:os';
import type { LeaseOwner } from '../observe/parse-lease.ts';

/** This process as the owner of the leases a run takes. */
export const leaseOwnerOfThisProcess = (runId: string): LeaseOwner => ({ runId, host: hostname(), pid: process.pid, ...optionalBootId(readBootId()), ...optionalPidNamespace(readPidNamespace()) });

const optionalBootId = (bootId: string | undefined) => (bootId === undefined ? {} : { bootId });
const optionalPidNamespace = (pidNamespace: string | undefined) => (pidNamespace === undefined ? {} : { pidNamespace });

/**
 * The kernel's boot ID (Linux; a new one every boot), or undefined where there is none: then a lease's pid is never
 * trusted, only its expiry. Read once per process by the caller.
 */
export function readBootId(file = '/proc/sys/kernel/random/boot_id'): string | undefined {
  try {
    const bootId = readFileSync(file, 'utf8').trim();
    return bootId === '' ? undefined : bootId;
  } catch {
    return undefined;
  }
}

/**
 * This process's PID namespace (Linux: the link `/proc/self/ns/pid`, e.g. `pid:[4026531836]`), or undefined where
 * there is none: then a lease's pid is never trusted, only its expiry. Read once per process by the caller.
 */
export function readPidNamespace(link = '/proc/self/ns/pid'): string | undefined {
  try {
    const pidNamespace = readlinkSync(link).trim();
    return pidNamespace === '' ? undefined : pidNamespace;
  } catch {
    return undefined;
  }
}

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
