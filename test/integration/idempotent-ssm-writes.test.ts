/**
 * Idempotent SSM writes and leases against moto, with the fault proxy applying
 * a write and then answering 500 ("applied, then lost"). The SDK retries that
 * 500 itself, and the retry meets our own earlier write: it must be taken for
 * ours, while a parameter someone else wrote never is, and nothing an earlier
 * run wrote is deleted.
 */
import { GetParameterCommand, ListTagsForResourceCommand, SSMClient } from '@aws-sdk/client-ssm';
import { describe, expect, it } from 'vitest';
import { createParameterIfAbsent, deleteParameterIfValue, getParameter, getParametersByPath, putParameterExpecting } from '../../src/adapters/ssm.ts';
import { acquireLease, keepLeaseAlive, releaseLease, renewLease, takeOverLease } from '../../src/apply/lease.ts';
import type { Lease } from '../../src/observe/inventory.ts';
import { formatLease, parseLease, takeoverClaimName } from '../../src/observe/parse-lease.ts';
import { useMotoBehindFaultProxy } from '../support/moto.ts';

const emulator = useMotoBehindFaultProxy();
const region = 'us-east-1';
const versionName = '/golden/web/versions/1.4.2';
const latestName = '/golden/web/latest';
const lockName = '/golden/web/lock';

/** A client as gild makes it (8 attempts), or with fewer attempts so that a lost answer reaches our code as an error. */
function ssmClient(maxAttempts = 8): SSMClient {
  return new SSMClient({ region, endpoint: emulator.proxy.endpoint, credentials: { accessKeyId: 'test', secretAccessKey: 'test' }, maxAttempts, retryMode: 'standard' });
}

const valueOf = async (ssm: SSMClient, name: string) => (await getParameter(ssm, name))?.value;
const lostAnswers = () => emulator.proxy.calls.filter((call) => call.fault === 'applied-then-lost').length;

const clock = (iso: string) => () => new Date(iso);
/** The contenders (pids 7 and up) run on this host; the owners of stale leases (pids 1 and 2) are gone. */
const isPidAlive = (pid: number) => pid >= 7;
const owner = (runId: string, pid = 4242) => ({ runId, host: 'build-host', pid, bootId: 'boot-1', pidNamespace: 'pid:[4026531836]' });

describe('createParameterIfAbsent', () => {
  it('takes its own applied-then-lost write, met again by the SDK retry, for created', async () => {
    const ssm = ssmClient();
    emulator.proxy.setRules({ lostAnswers: [{ action: 'PutParameter', name: versionName }] });
    const outcome = await createParameterIfAbsent(ssm, versionName, 'ami-0123456789abcdef0', { dataType: 'aws:ec2:image', tags: { 'gild:run-id': 'run-1' }, description: 'web 1.4.2' });
    expect(outcome).toBe('created');
    expect(lostAnswers()).toBe(1);
    expect(emulator.proxy.actions('ssm').filter((action) => action === 'PutParameter')).toHaveLength(2);
    const stored = await ssm.send(new GetParameterCommand({ Name: versionName }));
    expect(stored.Parameter).toMatchObject({ Value: 'ami-0123456789abcdef0', DataType: 'aws:ec2:image' });
    const tags = await ssm.send(new ListTagsForResourceCommand({ ResourceType: 'Parameter', ResourceId: versionName }));
    expect(tags.TagList).toEqual([{ Key: 'gild:run-id', Value: 'run-1' }]);
  });

  it('takes an applied-then-lost write for created when the error reaches it (no retry left)', async () => {
    const ssm = ssmClient(1);
    emulator.proxy.setRules({ lostAnswers: [{ action: 'PutParameter', name: versionName }] });
    expect(await createParameterIfAbsent(ssm, versionName, 'ami-0123456789abcdef0', { dataType: 'aws:ec2:image' })).toBe('created');
    expect(lostAnswers()).toBe(1);
  });

  it('never takes a parameter someone else wrote for ours, and leaves it as it was', async () => {
    const ssm = ssmClient();
    await createParameterIfAbsent(ssm, versionName, 'ami-earlier-run', { dataType: 'aws:ec2:image' });
    const outcome = await createParameterIfAbsent(ssm, versionName, 'ami-this-run', { dataType: 'aws:ec2:image' });
    expect(outcome).toEqual({ exists: { name: versionName, value: 'ami-earlier-run', version: 1, dataType: 'aws:ec2:image' } });
    expect(await valueOf(ssm, versionName)).toBe('ami-earlier-run');
  });
});

describe('putParameterExpecting', () => {
  it('takes its own applied-then-lost pointer move for written', async () => {
    for (const maxAttempts of [8, 1]) {
      await emulator.moto.reset();
      const ssm = ssmClient(maxAttempts);
      await createParameterIfAbsent(ssm, latestName, 'ami-old');
      emulator.proxy.setRules({ lostAnswers: [{ action: 'PutParameter', name: latestName }] });
      expect(await putParameterExpecting(ssm, latestName, 'ami-new', { expected: 'ami-old', dataType: 'aws:ec2:image' })).toBe('written');
      expect(await valueOf(ssm, latestName)).toBe('ami-new');
      expect(lostAnswers()).toBe(1);
      emulator.proxy.reset();
    }
  });

  it('creates an absent pointer atomically, recognising a lost answer', async () => {
    const ssm = ssmClient();
    emulator.proxy.setRules({ lostAnswers: [{ action: 'PutParameter', name: latestName }] });
    expect(await putParameterExpecting(ssm, latestName, 'ami-new', { expected: undefined })).toBe('written');
    expect(await valueOf(ssm, latestName)).toBe('ami-new');
  });

  it('refuses to move a pointer someone else moved since the plan, and leaves it as it was', async () => {
    const ssm = ssmClient();
    await createParameterIfAbsent(ssm, latestName, 'ami-promoted-by-hand');
    expect(await putParameterExpecting(ssm, latestName, 'ami-new', { expected: 'ami-old' })).toEqual({ moved: 'ami-promoted-by-hand' });
    expect(await putParameterExpecting(ssm, latestName, 'ami-new', { expected: undefined })).toEqual({ moved: 'ami-promoted-by-hand' });
    expect(await valueOf(ssm, latestName)).toBe('ami-promoted-by-hand');
    expect(await putParameterExpecting(ssm, '/golden/web/other', 'ami-new', { expected: 'ami-old' })).toEqual({ moved: undefined });
  });
});

describe('deleteParameterIfValue', () => {
  it('deletes our own value even when the answer is lost, and keeps anyone else’s', async () => {
    const ssm = ssmClient();
    await createParameterIfAbsent(ssm, versionName, 'ami-ours');
    emulator.proxy.setRules({ lostAnswers: [{ action: 'DeleteParameter', name: versionName }] });
    expect(await deleteParameterIfValue(ssm, versionName, 'ami-ours')).toBe('deleted');
    expect(await valueOf(ssm, versionName)).toBeUndefined();
    expect(await deleteParameterIfValue(ssm, versionName, 'ami-ours')).toBe('absent');
    await createParameterIfAbsent(ssm, versionName, 'ami-earlier-run');
    expect(await deleteParameterIfValue(ssm, versionName, 'ami-ours')).toEqual({ kept: 'ami-earlier-run' });
    expect(await valueOf(ssm, versionName)).toBe('ami-earlier-run');
  });
});

describe('leases', () => {
  const timing = { now: clock('2026-11-29T03:00:00.000Z'), ttlMs: 10 * 60 * 1000 };

  it('takes its own applied-then-lost lock for acquired, never for "another run"', async () => {
    for (const maxAttempts of [8, 1]) {
      await emulator.moto.reset();
      const ssm = ssmClient(maxAttempts);
      emulator.proxy.setRules({ lostAnswers: [{ action: 'PutParameter', name: lockName }] });
      const outcome = await acquireLease(ssm, lockName, owner('run-a'), timing);
      expect(outcome).toEqual({ acquired: { ...owner('run-a'), takenAt: '2026-11-29T03:00:00.000Z', expiresAt: '2026-11-29T03:10:00.000Z' } });
      expect(lostAnswers()).toBe(1);
      emulator.proxy.reset();
    }
  });

  it('recognises a lease naming this run, left by an attempt the caller retried, as its own', async () => {
    const ssm = ssmClient();
    const first = await acquireLease(ssm, lockName, owner('run-a'), timing);
    const again = await acquireLease(ssm, lockName, owner('run-a'), { ...timing, now: clock('2026-11-29T03:00:05.000Z') });
    expect(again).toEqual(first);
  });

  it('reports who holds a live lock and leaves it alone', async () => {
    const ssm = ssmClient();
    const held = await acquireLease(ssm, lockName, owner('run-earlier', 8), timing);
    const raw = await valueOf(ssm, lockName);
    expect(await acquireLease(ssm, lockName, owner('run-b'), timing)).toEqual({ heldBy: 'acquired' in held && held.acquired, raw });
    expect(await releaseLease(ssm, lockName, { ...owner('run-b'), takenAt: timing.now().toISOString(), expiresAt: '2026-11-29T03:10:00.000Z' })).toBe('not-ours');
    expect(await valueOf(ssm, lockName)).toBe(raw);
    await createParameterIfAbsent(ssm, '/golden/db/lock', 'written by hand');
    expect(await acquireLease(ssm, '/golden/db/lock', owner('run-b'), timing)).toEqual({ heldBy: 'written by hand', raw: 'written by hand' });
    // A take-over refuses what is not stale now: a live owner, or a value that is not a lease.
    expect(await takeOverLease(ssm, lockName, raw!, owner('run-b'), { ...timing, isPidAlive })).toEqual({ heldBy: 'acquired' in held && held.acquired, raw });
    expect(await takeOverLease(ssm, '/golden/db/lock', 'written by hand', owner('run-b'), { ...timing, isPidAlive })).toEqual({ heldBy: 'written by hand', raw: 'written by hand' });
    expect(await valueOf(ssm, lockName)).toBe(raw);
    expect(await valueOf(ssm, '/golden/db/lock')).toBe('written by hand');
  });

  it('renews only while the lease is ours, and releases only its own', async () => {
    const ssm = ssmClient();
    const outcome = await acquireLease(ssm, lockName, owner('run-a'), timing);
    if (!('acquired' in outcome)) throw new Error('expected to acquire');
    const later = { ...timing, now: clock('2026-11-29T03:05:00.000Z') };
    const renewal = await renewLease(ssm, lockName, outcome.acquired, later);
    expect(renewal).toEqual({ renewed: { ...outcome.acquired, expiresAt: '2026-11-29T03:15:00.000Z' } });
    expect(parseLease((await valueOf(ssm, lockName))!)?.expiresAt).toBe('2026-11-29T03:15:00.000Z');
    // Past its expiry, or within the clock-skew allowance of it, a lease is not renewed: someone may be taking it over.
    expect(await renewLease(ssm, lockName, outcome.acquired, { ...timing, now: clock('2026-11-29T03:20:00.000Z') })).toEqual({ lost: expect.stringContaining('too soon to renew') });
    expect(await renewLease(ssm, lockName, outcome.acquired, { ...timing, now: clock('2026-11-29T03:14:45.000Z') })).toEqual({ lost: expect.stringContaining('too soon to renew') });
    expect(await releaseLease(ssm, lockName, outcome.acquired)).toBe('released');
    expect(await valueOf(ssm, lockName)).toBeUndefined();
    expect(await renewLease(ssm, lockName, outcome.acquired, later)).toEqual({ lost: expect.stringContaining('removed') });
  });

  it('keeps the lease alive until aborted, and reports when another run has it', async () => {
    const ssm = ssmClient();
    const outcome = await acquireLease(ssm, lockName, owner('run-a'), timing);
    if (!('acquired' in outcome)) throw new Error('expected to acquire');
    const lost: string[] = [];

    // Aborted: returns without calling onLost.
    const aborted = new AbortController();
    aborted.abort();
    await keepLeaseAlive(ssm, lockName, outcome.acquired, { ...timing, everyMs: 5, signal: aborted.signal, onLost: (reason) => lost.push(reason) });
    expect(lost).toEqual([]);

    // Renewed: each renewal reads the clock once; the third read stops the loop after that renewal.
    const renewing = new AbortController();
    const readings = ['2026-11-29T03:01:00.000Z', '2026-11-29T03:02:00.000Z', '2026-11-29T03:03:00.000Z'];
    const now = () => {
      const reading = readings.shift()!;
      if (readings.length === 0) renewing.abort();
      return new Date(reading);
    };
    await keepLeaseAlive(ssm, lockName, outcome.acquired, { now, ttlMs: timing.ttlMs, everyMs: 5, signal: renewing.signal, onLost: (reason) => lost.push(reason) });
    expect(lost).toEqual([]);
    expect(parseLease((await valueOf(ssm, lockName))!)).toEqual({ ...outcome.acquired, expiresAt: '2026-11-29T03:13:00.000Z' });

    // Taken: another run's lease replaces ours; the next renewal reports it and stops.
    await releaseLease(ssm, lockName, outcome.acquired);
    await acquireLease(ssm, lockName, owner('run-b', 7), timing);
    await keepLeaseAlive(ssm, lockName, outcome.acquired, { ...timing, everyMs: 5, signal: new AbortController().signal, onLost: (reason) => lost.push(reason) });
    expect(lost).toEqual([`the lock ${lockName} is now held by run run-b on build-host`]);
  });

  it('lets exactly one of three concurrent take-overs of a stale lease win, many times over', async () => {
    const stale: Lease = { ...owner('run-dead', 1), takenAt: '2026-11-28T20:00:00.000Z', expiresAt: '2026-11-28T20:10:00.000Z' };
    const takeoverTiming = { ...timing, isPidAlive };
    for (let iteration = 0; iteration < 40; iteration++) {
      await emulator.moto.reset();
      const ssm = ssmClient();
      await createParameterIfAbsent(ssm, lockName, formatLease(stale));
      const contenders = [owner(`run-a${iteration}`, 100), owner(`run-b${iteration}`, 200), owner(`run-c${iteration}`, 300)];
      const outcomes = await Promise.all(contenders.map((contender) => takeOverLease(ssm, lockName, formatLease(stale), contender, takeoverTiming)));
      const winners = outcomes.flatMap((outcome) => ('acquired' in outcome ? [outcome.acquired] : []));
      expect(winners).toHaveLength(1);
      expect(parseLease((await valueOf(ssm, lockName))!)).toEqual(winners[0]);
      // Nothing but the lock is left: every claim was released.
      expect((await getParametersByPath(ssm, '/golden')).map((parameter) => parameter.name)).toEqual([lockName]);
    }
  });

  it('lets a late take-over of a value already taken over do nothing', async () => {
    const ssm = ssmClient();
    const stale: Lease = { ...owner('run-dead', 1), takenAt: '2026-11-28T20:00:00.000Z', expiresAt: '2026-11-28T20:10:00.000Z' };
    const takeoverTiming = { ...timing, isPidAlive };
    await createParameterIfAbsent(ssm, lockName, formatLease(stale));
    const first = await takeOverLease(ssm, lockName, formatLease(stale), owner('run-a'), takeoverTiming);
    if (!('acquired' in first)) throw new Error('expected the first take-over to win');
    const late = await takeOverLease(ssm, lockName, formatLease(stale), owner('run-b'), takeoverTiming);
    expect(late).toEqual({ heldBy: first.acquired, raw: formatLease(first.acquired) });
    expect(parseLease((await valueOf(ssm, lockName))!)).toEqual(first.acquired);
  });

  it('waits for a live take-over claim, and takes over one left by a taker that died', async () => {
    const ssm = ssmClient();
    const stale: Lease = { ...owner('run-dead', 1), takenAt: '2026-11-28T20:00:00.000Z', expiresAt: '2026-11-28T20:10:00.000Z' };
    await createParameterIfAbsent(ssm, lockName, formatLease(stale));
    const claim: Lease = { ...owner('run-taker', 2), takenAt: '2026-11-29T02:59:30.000Z', expiresAt: '2026-11-29T03:01:30.000Z' };
    await createParameterIfAbsent(ssm, takeoverClaimName(lockName, formatLease(stale)), formatLease(claim));

    const whileAlive = await takeOverLease(ssm, lockName, formatLease(stale), owner('run-a'), { ...timing, isPidAlive: (pid) => pid === 2 });
    expect(whileAlive).toEqual({ takingOver: claim, claim: takeoverClaimName(lockName, formatLease(stale)) });
    expect(await valueOf(ssm, lockName)).toBe(formatLease(stale));

    const afterItDied = await takeOverLease(ssm, lockName, formatLease(stale), owner('run-a'), { ...timing, isPidAlive });
    expect(afterItDied).toMatchObject({ acquired: { runId: 'run-a' } });
    expect((await getParametersByPath(ssm, '/golden')).map((parameter) => parameter.name)).toEqual([lockName]);
  });

  it('leaves a lock that moved since the plan saw it to its new holder', async () => {
    const ssm = ssmClient();
    const stale: Lease = { ...owner('run-dead', 1), takenAt: '2026-11-28T20:00:00.000Z', expiresAt: '2026-11-28T20:10:00.000Z' };
    const fresh = await acquireLease(ssm, lockName, owner('run-fresh', 9), timing);
    const outcome = await takeOverLease(ssm, lockName, formatLease(stale), owner('run-a'), { ...timing, isPidAlive });
    expect(outcome).toEqual({ heldBy: 'acquired' in fresh && fresh.acquired, raw: await valueOf(ssm, lockName) });
    expect(parseLease((await valueOf(ssm, lockName))!)?.runId).toBe('run-fresh');
    expect((await getParametersByPath(ssm, '/golden')).map((parameter) => parameter.name)).toEqual([lockName]);
  });

  it('takes over with a lost answer on the lock write and still wins, once', async () => {
    const ssm = ssmClient();
    const stale: Lease = { ...owner('run-dead', 1), takenAt: '2026-11-28T20:00:00.000Z', expiresAt: '2026-11-28T20:10:00.000Z' };
    await createParameterIfAbsent(ssm, lockName, formatLease(stale));
    emulator.proxy.setRules({
      lostAnswers: [
        { action: 'PutParameter', name: lockName },
        { action: 'DeleteParameter', name: /^\/golden\/web\/lock/, times: 2 },
      ],
    });
    const outcome = await takeOverLease(ssm, lockName, formatLease(stale), owner('run-a'), { ...timing, isPidAlive });
    expect(outcome).toMatchObject({ acquired: { runId: 'run-a' } });
    expect(lostAnswers()).toBe(3);
    expect((await getParametersByPath(ssm, '/golden')).map((parameter) => parameter.name)).toEqual([lockName]);
  });
});
