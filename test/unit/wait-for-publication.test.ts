/**
 * A job's wait for a base another job builds, at the adapter seam: done once
 * every `versions/<v>` parameter the base's publish writes exists and AWS shows
 * that version as good; failed once it shows it revoked or not what its
 * parameter says, once the base's job says it ended without publishing it (its
 * end marker, whether or not it ever locked), or once the base's lock, seen
 * held by this plan's run, is let go or left to expire with the version
 * unpublished; skipped at the deadline when the base's job never shows up.
 * The clock is the context's: each look advances it, so no test waits.
 */
import { DescribeImagesCommand, EC2Client, type ImageState } from '@aws-sdk/client-ec2';
import { GetParametersCommand, SSMClient } from '@aws-sdk/client-ssm';
import { mockClient } from 'aws-sdk-client-mock';
import { describe, expect, it } from 'vitest';
import { waitForPublication } from '../../src/apply/wait-for-publication.ts';
import type { Context } from '../../src/context.ts';
import { createLogger } from '../../src/logger.ts';
import type { PlanStep, RunPlan } from '../../src/plan/run-plan.ts';

const publish = {
  id: 'publish:base',
  kind: 'publish',
  image: 'base',
  version: '1.0.0',
  after: [],
  writes: [
    { region: 'us-east-1', name: '/golden/base/versions/1.0.0', pointer: 'version', previous: undefined },
    { region: 'us-west-2', name: '/golden/base/versions/1.0.0', pointer: 'version', previous: undefined },
    { region: 'us-east-1', name: '/golden/base/latest', pointer: 'latest', previous: undefined },
  ],
} as unknown as PlanStep;
const lock = { id: 'lock:base', kind: 'lock', image: 'base', region: 'us-east-1', parameterName: '/golden/base/lock', after: [] } as unknown as PlanStep;
const plan = { runId: 'run-1', ssmPrefix: '/golden', steps: [lock, publish] } as unknown as RunPlan;
const lease = (runId: string) => JSON.stringify({ runId, host: 'runner', pid: 42, takenAt: '2026-12-07T00:00:00.000Z', expiresAt: '2026-12-07T00:15:00.000Z' });

const amiTags = (overrides: Record<string, string> = {}) =>
  Object.entries({ 'gild:image': 'base', 'gild:version': '1.0.0', 'gild:status': 'tested', ...overrides }).map(([Key, Value]) => ({ Key, Value }));
const versionFound = (amiId = 'ami-1') => ({ Parameters: [{ Name: '/golden/base/versions/1.0.0', Value: amiId, Version: 1 }] });
const jobEnd = (runId: string, version = '1.0.0') => JSON.stringify({ runId, version, result: 'refused', reason: 'the plan moved: base: its parameters changed', at: '2026-12-07T00:00:00.000Z' });

const lockName = '/golden/base/lock';
const endedName = '/golden/_jobs/base/ended';

/**
 * What the base's lock and end marker hold at each look (one GetParameters of both names a look; `undefined`: absent),
 * the last value of each list holding from then on.
 */
function lockAndMarker(mock: ReturnType<typeof mockClient>, looks: { readonly lock?: readonly (string | undefined)[]; readonly ended?: readonly (string | undefined)[] }) {
  const queues = { [lockName]: [...(looks.lock ?? [undefined])], [endedName]: [...(looks.ended ?? [undefined])] };
  mock.on(GetParametersCommand, { Names: [lockName, endedName] }).callsFake(() => ({
    Parameters: Object.entries(queues).flatMap(([Name, queue]) => {
      const Value = queue.length > 1 ? queue.shift() : queue[0];
      return Value === undefined ? [] : [{ Name, Value, Version: 1 }];
    }),
  }));
}

/** One SSM client per region, a clock a minute on at every reading, and what the logger said. */
function world() {
  const credentials = { accessKeyId: 'a', secretAccessKey: 'b' };
  const clients = new Map(['us-east-1', 'us-west-2'].map((region) => [region, new SSMClient({ region, credentials })]));
  const ec2Clients = new Map(['us-east-1', 'us-west-2'].map((region) => [region, new EC2Client({ region, credentials })]));
  const mocks = new Map([...clients].map(([region, client]) => [region, mockClient(client)]));
  const ec2Mocks = new Map([...ec2Clients].map(([region, client]) => [region, mockClient(client)]));
  // The AMIs the version parameters name are the base's, tested (publish tags them published only later).
  for (const mock of ec2Mocks.values()) mock.on(DescribeImagesCommand).resolves({ Images: [{ ImageId: 'ami-1', Tags: amiTags() }] });
  // Nothing under the prefix until a test says otherwise: no version, no lock, no end marker.
  for (const mock of mocks.values()) mock.on(GetParametersCommand).resolves({ Parameters: [] });
  let minutes = 0;
  const said: string[] = [];
  const context = {
    clients: { ssm: (region: string) => clients.get(region)!, ec2: (region: string) => ec2Clients.get(region)! },
    now: () => new Date(Date.UTC(2026, 11, 7, 0, minutes++)),
  } as unknown as Context;
  const options = { deadlineMs: 10 * 60_000, firstPollMs: 1, maxPollMs: 1, logger: createLogger((_level, line) => void said.push(line)) };
  return { mocks, ec2Mocks, context, options, said };
}

describe('waitForPublication', () => {
  it('is done once the version exists in every region it is published to, however late', async () => {
    const { mocks, context, options, said } = world();
    mocks.get('us-east-1')!.on(GetParametersCommand).resolves(versionFound());
    mocks.get('us-west-2')!.on(GetParametersCommand).resolvesOnce({ Parameters: [] }).resolvesOnce({ Parameters: [] }).resolves(versionFound());
    const result = await waitForPublication(context, plan, options)(publish, new AbortController().signal);
    expect(result.status).toBe('done');
    expect(mocks.get('us-west-2')!.commandCalls(GetParametersCommand)).toHaveLength(3);
    expect(said).toEqual(['waiting up to 10 min for "base" 1.0.0, which another job builds, to be published', '"base" 1.0.0 is published']);
  });

  it('fails once the lock it saw held by this run is let go without the version', async () => {
    const { mocks, context, options } = world();
    for (const mock of mocks.values()) mock.on(GetParametersCommand).resolves({ Parameters: [] });
    lockAndMarker(mocks.get('us-east-1')!, { lock: [undefined, lease('run-1'), undefined] });
    expect(await waitForPublication(context, plan, options)(publish, new AbortController().signal)).toMatchObject({
      status: 'failed',
      reason: 'the job building "base" released its lock without publishing 1.0.0',
    });
  });

  it('keeps waiting while another run holds the lock, and gives up at the deadline', async () => {
    const { mocks, context, options } = world();
    for (const mock of mocks.values()) mock.on(GetParametersCommand).resolves({ Parameters: [] });
    // An end marker of another plan, and one of this plan for another version, say nothing about this wait.
    lockAndMarker(mocks.get('us-east-1')!, { lock: [lease('another-run'), undefined], ended: [jobEnd('another-run'), jobEnd('run-1', '0.9.0')] });
    expect(await waitForPublication(context, plan, options)(publish, new AbortController().signal)).toEqual({
      status: 'skipped',
      reason: '"base" 1.0.0 was not published within 10 min (--wait-for-bases)',
    });
  });

  it('stops waiting when the run is interrupted', async () => {
    const { mocks, context, options } = world();
    for (const mock of mocks.values()) mock.on(GetParametersCommand).resolves({ Parameters: [] });
    const interrupted = new AbortController();
    interrupted.abort();
    expect(await waitForPublication(context, plan, { ...options, deadlineMs: 60 * 60_000 })(publish, interrupted.signal)).toEqual({ status: 'skipped', reason: 'interrupted while waiting for it' });
  });

  it("fails at its first look when the base's job says it ended without publishing, though it never held the lock", async () => {
    const { mocks, context, options } = world();
    for (const mock of mocks.values()) mock.on(GetParametersCommand).resolves({ Parameters: [] });
    lockAndMarker(mocks.get('us-east-1')!, { ended: [jobEnd('run-1')] });
    expect(await waitForPublication(context, plan, options)(publish, new AbortController().signal)).toMatchObject({
      status: 'failed',
      reason: 'the job building "base" ended without publishing 1.0.0 (refused: the plan moved: base: its parameters changed)',
    });
    expect(mocks.get('us-west-2')!.commandCalls(GetParametersCommand)).toHaveLength(1);
  });

  it('is done when the version was published after all, whatever an end marker of an earlier attempt says', async () => {
    const { mocks, context, options } = world();
    for (const mock of mocks.values()) mock.on(GetParametersCommand).resolves(versionFound());
    lockAndMarker(mocks.get('us-east-1')!, { ended: [jobEnd('run-1')] });
    expect((await waitForPublication(context, plan, options)(publish, new AbortController().signal)).status).toBe('done');
  });

  it("fails once the base's lease of this run is left to expire: its job is gone", async () => {
    const { mocks, context, options } = world();
    const expired = JSON.stringify({ runId: 'run-1', host: 'runner', pid: 42, takenAt: '2026-12-06T23:00:00.000Z', expiresAt: '2026-12-06T23:15:00.000Z' });
    for (const mock of mocks.values()) mock.on(GetParametersCommand).resolves({ Parameters: [] });
    lockAndMarker(mocks.get('us-east-1')!, { lock: [expired] });
    expect(await waitForPublication(context, plan, options)(publish, new AbortController().signal)).toMatchObject({
      status: 'failed',
      reason: 'the job building "base" stopped renewing its lock (expired at 2026-12-06T23:15:00.000Z) without publishing 1.0.0: it is gone',
    });
  });

  it('refuses a version its status parameter says was revoked, though versions/<v> exists everywhere', async () => {
    const { mocks, context, options } = world();
    const revoked = JSON.stringify({ revoked: { reason: 'CVE-2026-1234 in openssl', at: '2026-12-07T00:03:00.000Z', by: 'alice' } });
    for (const mock of mocks.values()) mock.on(GetParametersCommand).resolves({ Parameters: [...versionFound().Parameters, { Name: '/golden/base/status/1.0.0', Value: revoked, Version: 1 }] });
    expect(await waitForPublication(context, plan, options)(publish, new AbortController().signal)).toMatchObject({
      status: 'failed',
      reason: 'base image "base" 1.0.0 was revoked (CVE-2026-1234 in openssl; by alice at 2026-12-07T00:03:00.000Z), as its status parameter in us-east-1 says',
    });
  });

  it('refuses a version whose AMI is tagged revoked, or is not the image and version its parameter names', async () => {
    const { mocks, ec2Mocks, context, options } = world();
    for (const mock of mocks.values()) mock.on(GetParametersCommand).resolves(versionFound());
    ec2Mocks
      .get('us-west-2')!
      .on(DescribeImagesCommand)
      .resolves({ Images: [{ ImageId: 'ami-1', Tags: amiTags({ 'gild:status': 'revoked', 'gild:revoked-reason': 'bad kernel' }) }] });
    expect(await waitForPublication(context, plan, options)(publish, new AbortController().signal)).toMatchObject({
      status: 'failed',
      reason: 'base image "base" 1.0.0: its AMI ami-1 in us-west-2 is tagged gild:status=revoked (bad kernel)',
    });
    ec2Mocks
      .get('us-west-2')!
      .on(DescribeImagesCommand)
      .resolves({ Images: [{ ImageId: 'ami-1', Tags: amiTags({ 'gild:image': 'other' }) }] });
    expect(await waitForPublication(context, plan, options)(publish, new AbortController().signal)).toMatchObject({
      status: 'failed',
      reason: 'base image "base" 1.0.0: /golden/base/versions/1.0.0 in us-west-2 names ami-1, which is not gild\'s base 1.0.0 (it is tagged gild:image=other, gild:version=1.0.0)',
    });
    ec2Mocks.get('us-west-2')!.on(DescribeImagesCommand).resolves({ Images: [] });
    expect(await waitForPublication(context, plan, options)(publish, new AbortController().signal)).toMatchObject({
      status: 'failed',
      reason: 'base image "base" 1.0.0: /golden/base/versions/1.0.0 in us-west-2 names ami-1, which no longer exists',
    });
  });

  describe("another job's smoke test (gild's region copies: the dependant builds on the base's tested AMI)", () => {
    const smoke = { id: 'smoke:base', kind: 'smoke', image: 'base', version: '1.0.0', after: [], amis: { from: 'build:base' } } as unknown as PlanStep;
    const smokePlan = { ...plan, steps: [lock, smoke, publish] } as unknown as RunPlan;
    const ami = (amiId: string, state: ImageState, tags: Record<string, string> = {}) => ({ ImageId: amiId, State: state, CreationDate: '2026-12-07T00:00:00.000Z', Tags: amiTags(tags) });

    it("is done once the base's AMI of that version in its build region is tagged tested, before anything is published", async () => {
      const { mocks, ec2Mocks, context, options, said } = world();
      ec2Mocks
        .get('us-east-1')!
        .on(DescribeImagesCommand)
        .resolvesOnce({ Images: [] })
        .resolvesOnce({ Images: [ami('ami-1', 'available', { 'gild:status': 'candidate' })] })
        .resolves({ Images: [ami('ami-1', 'available', { 'gild:run-id': 'run-1' })] });
      const result = await waitForPublication(context, smokePlan, options)(smoke, new AbortController().signal);
      expect(result).toMatchObject({ status: 'done', output: { result: 'passed', checks: [] } });
      expect(ec2Mocks.get('us-east-1')!.commandCalls(DescribeImagesCommand)).toHaveLength(3);
      // One query for the version's AMIs, by its tags; no parameter of the base is read: it is not published yet.
      expect(ec2Mocks.get('us-east-1')!.commandCalls(DescribeImagesCommand)[0]!.args[0].input).toMatchObject({
        Owners: ['self'],
        Filters: [
          { Name: 'tag:gild:image', Values: ['base'] },
          { Name: 'tag:gild:version', Values: ['1.0.0'] },
        ],
      });
      expect(
        mocks
          .get('us-east-1')!
          .commandCalls(GetParametersCommand)
          .filter((call) => !call.args[0].input.Names?.includes(lockName)),
      ).toHaveLength(0);
      expect(ec2Mocks.get('us-west-2')!.commandCalls(DescribeImagesCommand)).toHaveLength(0);
      expect(said).toEqual(['waiting up to 10 min for "base" 1.0.0, which another job builds, to pass its smoke test', '"base" 1.0.0 passed its smoke test']);
    });

    it('is done for an AMI whose smoke step had nothing to check (untested, publishable), as a dependant in the same run builds on it', async () => {
      const { ec2Mocks, context, options } = world();
      ec2Mocks
        .get('us-east-1')!
        .on(DescribeImagesCommand)
        .resolves({ Images: [ami('ami-1', 'available', { 'gild:status': 'untested' })] });
      expect((await waitForPublication(context, smokePlan, options)(smoke, new AbortController().signal)).status).toBe('done');
    });

    it('fails as soon as the AMI is tagged failed by its smoke test, with the failure it names', async () => {
      const { ec2Mocks, context, options } = world();
      ec2Mocks
        .get('us-east-1')!
        .on(DescribeImagesCommand)
        .resolves({ Images: [ami('ami-1', 'available', { 'gild:status': 'failed', 'gild:failure': 'smoke test failed: kernel is patched' })] });
      expect(await waitForPublication(context, smokePlan, options)(smoke, new AbortController().signal)).toMatchObject({
        status: 'failed',
        reason: 'base image "base" 1.0.0 failed its smoke test: its AMI ami-1 in us-east-1 is tagged gild:status=failed (smoke test failed: kernel is patched)',
      });
    });

    it("fails once the base's job lets go of its lock with no tested AMI (a failed AMI is removed by its discard step)", async () => {
      const { mocks, ec2Mocks, context, options } = world();
      lockAndMarker(mocks.get('us-east-1')!, { lock: [lease('run-1'), undefined] });
      ec2Mocks.get('us-east-1')!.on(DescribeImagesCommand).resolves({ Images: [] });
      expect(await waitForPublication(context, smokePlan, options)(smoke, new AbortController().signal)).toMatchObject({
        status: 'failed',
        reason: 'the job building "base" released its lock without a tested AMI of 1.0.0',
      });
    });

    it('refuses a version with an AMI revoked, even beside one still tagged tested; ignores a pending copy not yet tested', async () => {
      const { ec2Mocks, context, options } = world();
      ec2Mocks
        .get('us-east-1')!
        .on(DescribeImagesCommand)
        .resolves({ Images: [ami('ami-1', 'available'), ami('ami-2', 'available', { 'gild:status': 'revoked', 'gild:revoked-reason': 'bad kernel' })] });
      expect(await waitForPublication(context, smokePlan, options)(smoke, new AbortController().signal)).toMatchObject({
        status: 'failed',
        reason: 'base image "base" 1.0.0: its AMI ami-2 in us-east-1 is tagged gild:status=revoked (bad kernel)',
      });
      ec2Mocks
        .get('us-east-1')!
        .on(DescribeImagesCommand)
        .resolves({ Images: [ami('ami-3', 'pending', { 'gild:status': 'tested' })] });
      expect(await waitForPublication(context, smokePlan, { ...options, deadlineMs: 3 * 60_000 })(smoke, new AbortController().signal)).toEqual({
        status: 'skipped',
        reason: '"base" 1.0.0 was not tested within 3 min (--wait-for-bases)',
      });
    });
  });
});
