/**
 * Publish locks as leases: `{ runId, host, pid, bootId, pidNamespace, takenAt, expiresAt }` stored
 * as JSON in `<prefix>/<image>/lock` (a plain String parameter) in the image's
 * build region. Taken atomically (PutParameter without Overwrite), renewed
 * while the run works, released only by its holder, and taken over only when
 * the plan found it stale (expired, or owned by a dead pid on this host, in this boot and PID namespace).
 *
 * Host, pid, the clock and the pid check come from the caller: nothing here
 * reads process globals.
 */
import { setInterval } from 'node:timers/promises';
import { createParameterIfAbsent, deleteParameterIfValue, getParameter, putParameterExpecting, type ReadJustNow, type SSMClient } from '../adapters/ssm.ts';
import { describeAwsError } from '../errors.ts';
import type { Lease } from '../observe/inventory.ts';
import { formatLease, isLeaseOwnedBy, observeLeaseState, parseLease, staleLeaseReason, takeoverClaimName, type LeaseOwner } from '../observe/parse-lease.ts';

export interface LeaseTiming {
  readonly now: () => Date;
  /** How long a lease stays valid without renewal. */
  readonly ttlMs: number;
}

/** `heldBy` is the holder's lease, or the raw value when it is not a lease; `raw` is what the lock parameter held. */
export type AcquireOutcome = { readonly acquired: Lease } | { readonly heldBy: Lease | string; readonly raw: string };

/**
 * A take-over can also find another run in the middle of taking over the
 * same stale lease: `takingOver` is that run's claim (see `takeOverLease`).
 * Its value is not the lock's, so it must not be taken over as the lock.
 */
export type TakeOverOutcome = AcquireOutcome | { readonly takingOver: Lease | string; readonly claim: string };

/** The same taking of a lease: same owner and same `takenAt` (a run that released and took again holds a new one). */
const isSameLease = (a: Lease, b: Lease) => isLeaseOwnedBy(a, b) && a.takenAt === b.takenAt;

function newLease(owner: LeaseOwner, timing: LeaseTiming): Lease {
  const now = timing.now();
  return {
    runId: owner.runId,
    host: owner.host,
    pid: owner.pid,
    ...(owner.bootId !== undefined ? { bootId: owner.bootId } : {}),
    ...(owner.pidNamespace !== undefined ? { pidNamespace: owner.pidNamespace } : {}),
    takenAt: now.toISOString(),
    expiresAt: new Date(now.getTime() + timing.ttlMs).toISOString(),
  };
}

/**
 * Takes the lease if no one holds it. A write whose answer was lost is
 * recognised by reading back (the SDK's retry meets ParameterAlreadyExists on
 * our own value), and so is a lease naming this run from an earlier attempt
 * the caller retried: both are ours, never "another run".
 */
export async function acquireLease(ssm: SSMClient, name: string, owner: LeaseOwner, timing: LeaseTiming): Promise<AcquireOutcome> {
  const lease = newLease(owner, timing);
  const created = await createParameterIfAbsent(ssm, name, formatLease(lease));
  if (created === 'created') return { acquired: lease };
  const raw = created.exists.value;
  const held = parseLease(raw);
  if (held && isLeaseOwnedBy(held, owner)) return { acquired: held };
  return { heldBy: held ?? raw, raw };
}

/**
 * A take-over claim lives only for one delete and one create, retries
 * included (8 attempts stay well under this). A taker slower than this could
 * have its claim taken over while it works.
 */
export const takeoverClaimTtlMs = 2 * 60 * 1000;
/** Claims on claims exist only after crashes in the middle of a take-over; more than a few means something else is wrong. */
const maxClaimDepth = 3;

/**
 * Takes over a lease the plan found stale, `observedRaw` being the value it
 * saw; a value that is not stale now (a live owner, or not a lease at all) is
 * left alone and reported as held, unless `evenIfLive` (`gild unlock` told to
 * break it: `--force`, or a value that is not a gild lease). Exactly one of any
 * number of concurrent take-overs wins.
 *
 * Why not just "delete if still `observedRaw`, then create": SSM's delete is
 * unconditional, so the compare and the delete are two calls. A and B both
 * read the stale X; A deletes X, creates its lease and even reads it back;
 * then B deletes A's lease and creates its own. Both believe they hold it,
 * and reading back after creating does not help, since A's check can come
 * before B's delete.
 *
 * So the delete is serialised by a claim: a lease-shaped parameter
 * `<lock>.takeover-<digest of X>`, created atomically. Only its holder deletes
 * X and creates its lease; the others are told who is taking over. After the
 * holder releases the claim, a late taker can claim X again, but X is no
 * longer in the lock and can never come back (every lease value names its run
 * and times), so its conditional delete finds someone else's lease and keeps
 * it, and its create meets ParameterAlreadyExists. A taker that dies holding
 * a claim leaves the claim stale: it is taken over by the same procedure one
 * level up (a claim on the claim), so nothing wedges.
 *
 * What remains, stated honestly: the compare-then-delete of X itself is two
 * calls. If, between them, X's own owner (alive, but past its expiry) releases
 * X and a third run acquires the free lock, the claim holder deletes the third
 * run's lease. The third run learns it at its next renewal (`lost`), before
 * its lease would have expired; the runner stops that image. Leases are also
 * only as good as the hosts' clocks: expiry compares the taker's clock with
 * the owner's.
 */
export async function takeOverLease(
  ssm: SSMClient,
  name: string,
  observedRaw: string,
  owner: LeaseOwner,
  timing: LeaseTiming & { readonly isPidAlive: (pid: number) => boolean; readonly evenIfLive?: boolean },
  depth = 0,
): Promise<TakeOverOutcome> {
  const observed = observeLeaseState(observedRaw, { host: owner.host, bootId: owner.bootId, pidNamespace: owner.pidNamespace, isPidAlive: timing.isPidAlive });
  if (!timing.evenIfLive && staleLeaseReason(observed, timing.now()) === undefined) return { heldBy: parseLease(observedRaw) ?? observedRaw, raw: observedRaw };
  const claimName = takeoverClaimName(name, observedRaw);
  // NOTE: breaking a live lock on purpose is never breaking another taker's live claim: claims are respected as ever.
  const claimTiming = { ...timing, ttlMs: takeoverClaimTtlMs, evenIfLive: false };
  const claimed = await acquireLease(ssm, claimName, owner, claimTiming);
  let claim: Lease;
  if ('acquired' in claimed) claim = claimed.acquired;
  else {
    const takingOver = { takingOver: claimed.heldBy, claim: claimName };
    // The recursive call decides, as for any lease, whether the claim is stale: a live or hand-written one is respected.
    if (depth >= maxClaimDepth) return takingOver;
    const reclaimed = await takeOverLease(ssm, claimName, claimed.raw, owner, claimTiming, depth + 1);
    if (!('acquired' in reclaimed)) return takingOver;
    claim = reclaimed.acquired;
  }
  const claimRaw = formatLease(claim);
  try {
    // `kept` means the lock moved since the plan saw it: the create below then reports who holds it now.
    await deleteParameterIfValue(ssm, name, observedRaw);
    return await acquireLease(ssm, name, owner, timing);
  } finally {
    // NOTE: a failure to remove the claim must not hide the outcome of the take-over. A claim left behind blocks
    // nothing once its value is gone from the lock; if it is not (the delete above failed), it holds other takers
    // off until it goes stale, and is then taken over like any lease.
    await deleteParameterIfValue(ssm, claimName, claimRaw).catch(() => undefined);
  }
}

/**
 * A holder stops renewing this long before its lease expires by its own
 * clock, and a taker starts only after expiry by its clock: as long as two
 * hosts' clocks differ by less than this, the holder never writes over a
 * take-over. Short leases (tests) get a quarter of their length.
 */
export const clockSkewAllowanceMs = (ttlMs: number) => Math.min(30_000, ttlMs / 4);

const isPastRenewal = (lease: Lease, now: Date, ttlMs: number) => Date.parse(lease.expiresAt) - clockSkewAllowanceMs(ttlMs) <= now.getTime();

/**
 * Extends the lease's expiry, only while it is still ours and not about to
 * expire. A lease that is expired, or nearly, is not renewed even if it still
 * reads as ours: another run may be taking it over at this moment, and
 * writing over it would leave two holders.
 */
export async function renewLease(ssm: SSMClient, name: string, lease: Lease, timing: LeaseTiming, readJustNow?: ReadJustNow): Promise<{ readonly renewed: Lease } | { readonly lost: string }> {
  const current = readJustNow ? readJustNow.current : await getParameter(ssm, name);
  if (!current) return { lost: `the lock ${name} was removed` };
  const held = parseLease(current.value);
  if (!held || !isSameLease(held, lease)) return { lost: `the lock ${name} is now held by ${held ? `run ${held.runId} on ${held.host}` : `"${current.value}"`}` };
  const now = timing.now();
  if (isPastRenewal(held, now, timing.ttlMs)) return { lost: `the lease on ${name} expires at ${held.expiresAt}, too soon to renew it safely` };
  const renewed: Lease = { ...held, expiresAt: new Date(now.getTime() + timing.ttlMs).toISOString() };
  const written = await putParameterExpecting(ssm, name, formatLease(renewed), { expected: current.value, readJustNow: { current } });
  if (written === 'written') return { renewed };
  // NOTE: a run renews from two places (the lock's keep-alive, and publish right before it writes): the other's
  // renewal of this same taking, landed in between, is not a loss.
  const movedTo = written.moved === undefined ? undefined : parseLease(written.moved);
  if (movedTo && isSameLease(movedTo, lease) && !isPastRenewal(movedTo, now, timing.ttlMs)) return { renewed: movedTo };
  return { lost: `the lock ${name} changed while it was being renewed (now ${written.moved === undefined ? 'absent' : `"${written.moved}"`})` };
}

/**
 * Renews the lease every `everyMs` (a third of `ttlMs` leaves room for two
 * failed tries) until `signal` aborts. When the lease is no longer ours, or
 * could not be renewed before it was about to expire, calls `onLost` once
 * with the reason and stops, so the runner can stop that image. A failed
 * renewal is tried again at the next tick while there is still time.
 * Abort it and await it before `releaseLease`, so no renewal races the release.
 */
export async function keepLeaseAlive(
  ssm: SSMClient,
  name: string,
  lease: Lease,
  options: LeaseTiming & { readonly everyMs: number; readonly signal: AbortSignal; readonly onLost: (reason: string) => void },
): Promise<void> {
  let current = lease;
  try {
    for await (const _tick of setInterval(options.everyMs, undefined, { signal: options.signal })) {
      try {
        const outcome = await renewLease(ssm, name, current, options);
        if ('lost' in outcome) return options.onLost(outcome.lost);
        current = outcome.renewed;
      } catch (error) {
        if (isPastRenewal(current, options.now(), options.ttlMs)) {
          return options.onLost(`the lease on ${name} expires at ${current.expiresAt} and could not be renewed: ${describeAwsError(error)}`);
        }
      }
    }
  } catch (error) {
    if (options.signal.aborted) return;
    throw error;
  }
}

/** Deletes the lease only if it is still this taking of it; someone else's lease is never released. */
export async function releaseLease(ssm: SSMClient, name: string, lease: Lease): Promise<'released' | 'absent' | 'not-ours'> {
  const current = await getParameter(ssm, name);
  if (!current) return 'absent';
  const held = parseLease(current.value);
  if (!held || !isSameLease(held, lease)) return 'not-ours';
  const deleted = await deleteParameterIfValue(ssm, name, current.value, { current });
  return deleted === 'deleted' ? 'released' : deleted === 'absent' ? 'absent' : 'not-ours';
}
