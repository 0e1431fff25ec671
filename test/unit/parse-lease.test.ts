import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { Lease } from '../../src/observe/inventory.ts';
import { formatLease, isTakeoverClaimOf, observeLeaseState, parseLease, staleLeaseReason, takeoverClaimName } from '../../src/observe/parse-lease.ts';

const bootId = '0f4d5c2e-6b1a-4c3e-9a8b-1d2e3f4a5b6c';
const pidNamespace = 'pid:[4026531836]';
const lease: Lease = { runId: '20261129T030000Z-ab12', host: 'ci-1', pid: 4242, bootId, pidNamespace, takenAt: '2026-11-29T03:00:00.000Z', expiresAt: '2026-11-29T03:10:00.000Z' };
const here = (alive: readonly number[] = []) => ({ host: 'ci-1', bootId, pidNamespace, isPidAlive: (pid: number) => alive.includes(pid) });

describe('parseLease', () => {
  it('reads back every lease it formats', () => {
    const isoTime = fc.date({ min: new Date('2000-01-01T00:00:00Z'), max: new Date('2100-01-01T00:00:00Z'), noInvalidDate: true }).map((date) => date.toISOString());
    fc.assert(
      fc.property(
        fc.string({ minLength: 1 }),
        fc.string({ minLength: 1 }),
        fc.integer({ min: 1, max: 2 ** 31 }),
        fc.option(fc.string({ minLength: 1 }), { nil: undefined }),
        fc.option(fc.string({ minLength: 1 }), { nil: undefined }),
        isoTime,
        isoTime,
        (runId, host, pid, bootId, pidNamespace, takenAt, expiresAt) => {
          const original = { runId, host, pid, ...(bootId !== undefined ? { bootId } : {}), ...(pidNamespace !== undefined ? { pidNamespace } : {}), takenAt, expiresAt };
          expect(parseLease(formatLease(original))).toEqual(original);
        },
      ),
    );
  });

  it.each([
    ['not JSON', 'locked by alice'],
    ['the lock of an older gild', JSON.stringify({ runId: 'r1', since: '2026-11-29T03:00:00Z' })],
    ['an array', '[]'],
    ['null', 'null'],
    ['an empty run ID', formatLease({ ...lease, runId: '' })],
    ['a pid that is not a positive integer', JSON.stringify({ ...lease, pid: 1.5 })],
    ['a pid given as a string', JSON.stringify({ ...lease, pid: '4242' })],
    ['an expiry that is not a time', JSON.stringify({ ...lease, expiresAt: 'tomorrow' })],
    ['a boot ID that is not a string', JSON.stringify({ ...lease, bootId: 7 })],
    ['a PID namespace that is not a string', JSON.stringify({ ...lease, pidNamespace: 4026531836 })],
    ['an empty PID namespace', JSON.stringify({ ...lease, pidNamespace: '' })],
  ])('refuses %s', (_case, raw) => {
    expect(parseLease(raw)).toBeUndefined();
  });
});

describe('observeLeaseState', () => {
  it('is free when there is no lock parameter', () => {
    expect(observeLeaseState(undefined, here())).toEqual({ kind: 'free' });
  });

  it('keeps a value that is not a lease as unreadable, with its text', () => {
    expect(observeLeaseState('locked by alice', here())).toEqual({ kind: 'unreadable', raw: 'locked by alice' });
  });

  it('asks about the pid only on the owner’s own host', () => {
    const raw = formatLease(lease);
    expect(observeLeaseState(raw, here([4242]))).toEqual({ kind: 'held', lease, raw, ownerAlive: true });
    expect(observeLeaseState(raw, here([]))).toEqual({ kind: 'held', lease, raw, ownerAlive: false });
    const asked: number[] = [];
    const elsewhere = observeLeaseState(raw, { host: 'ci-2', isPidAlive: (pid) => (asked.push(pid), true) });
    expect(elsewhere).toEqual({ kind: 'held', lease, raw, ownerAlive: undefined });
    expect(asked).toEqual([]);
  });

  it('does not ask about a pid from another boot of this host name: a reboot since, or a container elsewhere named alike', () => {
    const raw = formatLease(lease);
    const asked: number[] = [];
    const otherBoot = observeLeaseState(raw, { host: 'ci-1', bootId: '9a8b7c6d-0000-4000-8000-000000000000', isPidAlive: (pid) => (asked.push(pid), false) });
    expect(otherBoot).toEqual({ kind: 'held', lease, raw, ownerAlive: undefined });
    expect(asked).toEqual([]);
    expect(staleLeaseReason(otherBoot, new Date('2026-11-29T03:05:00.000Z'))).toBeUndefined();
  });

  it('does not ask about a pid from a sibling container: same host name and boot, another PID namespace', () => {
    const raw = formatLease(lease);
    const asked: number[] = [];
    const sibling = observeLeaseState(raw, { host: 'ci-1', bootId, pidNamespace: 'pid:[4026532999]', isPidAlive: (pid) => (asked.push(pid), false) });
    expect(sibling).toEqual({ kind: 'held', lease, raw, ownerAlive: undefined });
    expect(asked).toEqual([]);
    expect(staleLeaseReason(sibling, new Date('2026-11-29T03:05:00.000Z'))).toBeUndefined();
  });

  it('reads an older lease with a boot ID but no PID namespace, and trusts only its expiry', () => {
    const { pidNamespace: _pidNamespace, ...older } = lease;
    const raw = JSON.stringify({ runId: older.runId, host: older.host, pid: older.pid, bootId: older.bootId, takenAt: older.takenAt, expiresAt: older.expiresAt });
    expect(parseLease(raw)).toEqual(older);
    expect(formatLease(older)).toBe(raw);
    expect(observeLeaseState(raw, here([]))).toEqual({ kind: 'held', lease: older, raw, ownerAlive: undefined });
  });

  it('reads an older lease without a boot ID, and trusts only its expiry', () => {
    const { bootId: _bootId, pidNamespace: _pidNamespace, ...older } = lease;
    const raw = JSON.stringify({ runId: older.runId, host: older.host, pid: older.pid, takenAt: older.takenAt, expiresAt: older.expiresAt });
    expect(parseLease(raw)).toEqual(older);
    expect(observeLeaseState(raw, here([]))).toEqual({ kind: 'held', lease: older, raw, ownerAlive: undefined });
  });

  it('trusts only the expiry where this host has no boot ID to compare', () => {
    const raw = formatLease(lease);
    expect(observeLeaseState(raw, { host: 'ci-1', isPidAlive: () => false })).toEqual({ kind: 'held', lease, raw, ownerAlive: undefined });
    expect(observeLeaseState(raw, { host: 'ci-1', bootId, isPidAlive: () => false })).toEqual({ kind: 'held', lease, raw, ownerAlive: undefined });
  });
});

describe('staleLeaseReason', () => {
  const before = new Date('2026-11-29T03:05:00.000Z');
  const after = new Date('2026-11-29T03:10:00.000Z');

  it('respects a live lease until it expires, whatever host holds it', () => {
    expect(staleLeaseReason(observeLeaseState(formatLease(lease), here([4242])), before)).toBeUndefined();
    expect(staleLeaseReason(observeLeaseState(formatLease(lease), { host: 'ci-2', isPidAlive: () => false }), before)).toBeUndefined();
  });

  it('finds a lease stale at its expiry, naming the run', () => {
    expect(staleLeaseReason(observeLeaseState(formatLease(lease), here([4242])), after)).toBe('it expired at 2026-11-29T03:10:00.000Z (run 20261129T030000Z-ab12 on ci-1 stopped renewing it)');
  });

  it('finds a lease stale before its expiry when its owner on this host is gone', () => {
    expect(staleLeaseReason(observeLeaseState(formatLease(lease), here([])), before)).toBe(
      'its owner, run 20261129T030000Z-ab12 (pid 4242 on ci-1, same boot and PID namespace), is no longer running',
    );
  });

  it('never finds a free or unreadable lock stale', () => {
    expect(staleLeaseReason({ kind: 'free' }, after)).toBeUndefined();
    expect(staleLeaseReason({ kind: 'unreadable', raw: 'locked by alice' }, after)).toBeUndefined();
  });
});

describe('take-over claims', () => {
  it('names one claim per stale value, beside the lock, recognisable as a claim', () => {
    const claim = takeoverClaimName('/golden/web/lock', formatLease(lease));
    expect(claim).toMatch(/^\/golden\/web\/lock\.takeover-[0-9a-f]{16}$/);
    expect(takeoverClaimName('/golden/web/lock', formatLease({ ...lease, expiresAt: '2026-11-29T03:20:00.000Z' }))).not.toBe(claim);
    expect(isTakeoverClaimOf('/golden/web/lock', claim)).toBe(true);
    expect(isTakeoverClaimOf('/golden/web/lock', '/golden/web/latest')).toBe(false);
    expect(isTakeoverClaimOf('/golden/web/lock', '/golden/web-2/lock.takeover-0123456789abcdef')).toBe(false);
  });
});
