/**
 * Publish at the adapter seam: moto never fails a PutParameter halfway, so the
 * undo is proven with stubbed SSM clients, one per region, each backed by a
 * small parameter store so that the stage's read-backs see its own writes.
 */
import { DescribeImagesCommand, EC2Client } from '@aws-sdk/client-ec2';
import { DeleteParameterCommand, GetParameterCommand, PutParameterCommand, SSMClient } from '@aws-sdk/client-ssm';
import { mockClient } from 'aws-sdk-client-mock';
import { describe, expect, it } from 'vitest';
import { StepFailure, WorldMoved } from '../../src/apply/step-stage.ts';
import { createContext, type Context } from '../../src/context.ts';
import { formatLease, leaseTtlMs, parseLease } from '../../src/observe/parse-lease.ts';
import { createMemoryLogger } from '../../src/logger.ts';
import type { StepOfKind } from '../../src/plan/run-plan.ts';
import { pipelineSettingsSchema } from '../../src/settings/schema.ts';
import { publishStage } from '../../src/stages/publish.ts';
import { resolvedImageFixture } from '../support/resolved-image-fixture.ts';
import { stepRunFixture } from '../support/step-run-fixture.ts';

const regions = ['us-east-1', 'eu-west-1'];
const amis = { 'us-east-1': 'ami-new1', 'eu-west-1': 'ami-new2' };

const awsError = (name: string, message: string) => Object.assign(new Error(message), { name });

const lockName = '/golden/web/lock';
const ledgerName = '/golden/web/ledger';

/** The image's lock in its build region: this run's live lease unless a test says otherwise. */
function setup(latest: Record<string, string>, lock: 'ours' | 'absent' | ((context: Context) => string) = 'ours') {
  const ssmClients = Object.fromEntries(regions.map((region) => [region, new SSMClient({ region })]));
  const ec2 = new EC2Client({ region: 'us-east-1' });
  const ec2Mock = mockClient(ec2);
  ec2Mock.onAnyCommand().resolves({});
  const stores = Object.fromEntries(regions.map((region) => [region, new Map(latest[region] ? [['/golden/web/latest', latest[region]!]] : [])]));
  const order: string[] = [];
  /** How many publish writes came before each write of the ledger. */
  const ledgerWrites: number[] = [];
  const mocks = Object.fromEntries(
    regions.map((region) => {
      const store = stores[region]!;
      const mock = mockClient(ssmClients[region]!);
      mock.on(GetParameterCommand).callsFake(async ({ Name }: { Name: string }) => {
        if (!store.has(Name)) throw awsError('ParameterNotFound', Name);
        return { Parameter: { Name, Value: store.get(Name), Version: 1 } };
      });
      mock.on(PutParameterCommand).callsFake(async ({ Name, Value, Overwrite }: { Name: string; Value: string; Overwrite?: boolean }) => {
        if (!Overwrite && store.has(Name)) throw awsError('ParameterAlreadyExists', Name);
        store.set(Name, Value);
        // The lease's renewal before the first write is not one of the publish's writes; the ledger's is checked on its own.
        if (Name === ledgerName) ledgerWrites.push(order.length);
        else if (Name !== lockName) order.push(`${region} ${Name}=${Value}`);
        return { Version: 1 };
      });
      mock.on(DeleteParameterCommand).callsFake(async ({ Name }: { Name: string }) => {
        store.delete(Name);
        order.push(`${region} delete ${Name}`);
        return {};
      });
      return [region, mock] as const;
    }),
  );
  const clients = {
    ec2: () => ec2,
    ssm: (region: string) => ssmClients[region]!,
    autoscaling: () => {
      throw new Error('not used');
    },
    ec2Endpoint: undefined,
    defaultRegion: 'us-east-1',
    destroy() {},
  };
  const context = createContext({ cwd: '/tmp', env: {}, logger: createMemoryLogger(), settings: pipelineSettingsSchema.parse({}), clients });
  const ours = formatLease({ runId: context.runId, host: context.processInfo.host, pid: context.processInfo.pid, takenAt: '2026-11-29T03:00:00.000Z', expiresAt: '2999-01-01T00:00:00.000Z' });
  if (lock !== 'absent') stores['us-east-1']!.set(lockName, lock === 'ours' ? ours : lock(context));
  const image = resolvedImageFixture({ name: 'web', buildRegion: 'us-east-1', copyRegions: ['eu-west-1'], regions });
  const run = stepRunFixture(image, { outputs: { 'build:web': { kind: 'build', output: { amis, snapshots: {}, baseAmiId: 'ami-base' } } } });
  const step: StepOfKind<'publish'> = {
    id: 'publish:web',
    kind: 'publish',
    image: 'web',
    version: '1.0.5',
    amis: { from: 'build:web' },
    writes: [
      ...regions.map((region) => ({ region, name: '/golden/web/versions/1.0.5', pointer: 'version' as const, previous: undefined })),
      ...regions.map((region) => ({ region, name: '/golden/web/latest', pointer: 'latest' as const, previous: latest[region] })),
    ],
    after: ['smoke:web'],
    reason: 'test',
    precondition: 'test',
  };
  return { context, run, step, mocks, stores, order, ec2Mock, ledgerWrites };
}

const testedTags = [
  { Key: 'gild:image', Value: 'web' },
  { Key: 'gild:version', Value: '1.0.5' },
  { Key: 'gild:fingerprint', Value: 'f1' },
  { Key: 'gild:status', Value: 'tested' },
];

/** The AMIs as the check reads them: each available and web 1.0.5 tested, unless a region is named gone. */
function answerImages(ec2Mock: ReturnType<typeof setup>['ec2Mock'], gone: readonly string[] = [], tags: readonly { Key: string; Value: string }[] = testedTags) {
  ec2Mock.on(DescribeImagesCommand).callsFake(async ({ ImageIds = [] }: { ImageIds?: string[] }) => ({
    Images: ImageIds.filter((id) => !gone.includes(id)).map((ImageId) => ({ ImageId, State: 'available', Tags: [...tags] })),
  }));
}

describe('publish, whatever plan it came from', () => {
  it("refuses an AMI tagged with another image's name, before writing anything", async () => {
    const { context, run, step, ec2Mock, order } = setup({}, 'ours');
    answerImages(
      ec2Mock,
      [],
      testedTags.map((tag) => (tag.Key === 'gild:image' ? { ...tag, Value: 'other' } : tag)),
    );
    await expect(publishStage.check!(context, step, run)).rejects.toMatchObject({
      message: expect.stringContaining('publish:web refused'),
      details: [expect.stringContaining('gild:image=other, not web'), expect.anything()],
    });
    expect(order).toEqual([]);
  });

  it('refuses an AMI that never passed its smoke test', async () => {
    const { context, run, step, ec2Mock } = setup({}, 'ours');
    answerImages(
      ec2Mock,
      [],
      testedTags.map((tag) => (tag.Key === 'gild:status' ? { ...tag, Value: 'candidate' } : tag)),
    );
    await expect(publishStage.check!(context, step, run)).rejects.toMatchObject({ details: expect.arrayContaining([expect.stringContaining('gild:status=candidate')]) });
  });

  it("refuses a write to another image's latest or outside the prefix, writing nothing", async () => {
    const { context, run, step, ec2Mock, order } = setup({}, 'ours');
    answerImages(ec2Mock);
    const tampered = {
      ...step,
      writes: [
        ...step.writes,
        { region: 'us-east-1', name: '/golden/api/latest', pointer: 'latest' as const, previous: undefined },
        { region: 'us-east-1', name: '/elsewhere/x', pointer: 'version' as const, previous: undefined },
      ],
    };
    expect(await publishStage.check!(context, tampered, run)).toBe(false);
    await expect(publishStage.run(context, tampered, run)).rejects.toMatchObject({
      details: [
        expect.stringContaining('/golden/api/latest in us-east-1: the latest parameter of web 1.0.5 is /golden/web/latest'),
        expect.stringContaining('/elsewhere/x in us-east-1: the version parameter of web 1.0.5 is /golden/web/versions/1.0.5'),
      ],
    });
    expect(order).toEqual([]);
  });
});

describe('publish', () => {
  it('writes versions/<v> in every region before latest in any region', async () => {
    const { context, run, step, order } = setup({ 'us-east-1': 'ami-prev-east', 'eu-west-1': 'ami-prev-west' });

    expect(await publishStage.run(context, step, run)).toEqual({ version: '1.0.5', amis });

    expect(order.slice(0, 2).every((entry) => entry.includes('/versions/1.0.5'))).toBe(true);
    expect([...order.slice(2)].sort()).toEqual(['eu-west-1 /golden/web/latest=ami-new2', 'us-east-1 /golden/web/latest=ami-new1']);
  });

  it('moves the pointers of every region together, not one region after another', async () => {
    const { context, run, step, mocks, order } = setup({ 'us-east-1': 'ami-prev-east', 'eu-west-1': 'ami-prev-west' });
    // us-east-1's latest is answered only once eu-west-1's has been asked for: one after the other would never finish.
    let westAsked!: () => void;
    const westLatestAsked = new Promise<void>((resolve) => (westAsked = resolve));
    const answer =
      (region: string) =>
      async ({ Name, Value }: { Name: string; Value: string }) => {
        if (region === 'us-east-1') await westLatestAsked;
        else westAsked();
        order.push(`${region} ${Name}=${Value}`);
        return { Version: 2 };
      };
    for (const region of regions) mocks[region]!.on(PutParameterCommand, { Name: '/golden/web/latest' }).callsFake(answer(region));

    expect(await publishStage.run(context, step, run)).toEqual({ version: '1.0.5', amis });
    expect(order.slice(2)).toEqual(['eu-west-1 /golden/web/latest=ami-new2', 'us-east-1 /golden/web/latest=ami-new1']);
    await Promise.all(run.settling);
  });

  it('undoes every write when latest fails in the second region, restoring the previous latest', async () => {
    const { context, run, step, mocks, stores } = setup({ 'us-east-1': 'ami-prev-east', 'eu-west-1': 'ami-prev-west' });
    mocks['eu-west-1']!.on(PutParameterCommand, { Name: '/golden/web/latest' }).rejects(awsError('ThrottlingException', 'Rate exceeded'));

    const failure = await publishStage.run(context, step, run).catch((error: unknown) => error);

    expect(failure).toBeInstanceOf(StepFailure);
    expect((failure as StepFailure).message).toMatch(/^publishing web 1\.0\.5 failed and was undone: .*ThrottlingException: Rate exceeded/);
    expect(((failure as StepFailure).cause as { cause?: unknown }).cause).toMatchObject({ name: 'ThrottlingException' });
    // us-east-1's latest went back to what it was; both versions/1.0.5 were deleted. The number stays used: a
    // publish that failed after it began is never built again under 1.0.5.
    expect(Object.fromEntries(stores['us-east-1']!)).toEqual({ '/golden/web/latest': 'ami-prev-east', [lockName]: expect.any(String), [ledgerName]: expect.any(String) });
    expect(JSON.parse(stores['us-east-1']!.get(ledgerName)!)).toMatchObject({ built: { '1.0': '1.0.5' } });
    expect(Object.fromEntries(stores['eu-west-1']!)).toEqual({ '/golden/web/latest': 'ami-prev-west' });
    expect(run.summary).toEqual([]);
  });

  it('records the version in the ledger of the build region before it writes any parameter naming it', async () => {
    const { context, run, step, stores, ledgerWrites } = setup({ 'us-east-1': 'ami-prev-east', 'eu-west-1': 'ami-prev-west' });
    stores['us-east-1']!.set(ledgerName, JSON.stringify({ schema: 1, built: { '1.0': '1.0.4', '0.9': '0.9.12' }, revoked: {} }));
    await publishStage.run(context, step, run);
    expect(ledgerWrites).toEqual([0]);
    expect(JSON.parse(stores['us-east-1']!.get(ledgerName)!)).toEqual({ schema: 1, built: { '1.0': '1.0.5', '0.9': '0.9.12' }, revoked: {} });
    expect(stores['eu-west-1']!.has(ledgerName)).toBe(false);
  });

  it('stops as "moved", writing nothing, when another run published the version since the plan was made', async () => {
    const { context, run, step, stores, order } = setup({ 'us-east-1': 'ami-prev-east', 'eu-west-1': 'ami-prev-west' });
    stores['eu-west-1']!.set('/golden/web/versions/1.0.5', 'ami-theirs');

    const failure = await publishStage.run(context, step, run).catch((error: unknown) => error);

    expect(failure).toBeInstanceOf(WorldMoved);
    expect((failure as Error).message).toContain('/golden/web/versions/1.0.5 in eu-west-1 already names ami-theirs');
    // Our own versions/1.0.5 in us-east-1 was undone; theirs stays; latest never moved.
    expect(Object.fromEntries(stores['us-east-1']!)).toEqual({ '/golden/web/latest': 'ami-prev-east', [lockName]: expect.any(String), [ledgerName]: expect.any(String) });
    expect(stores['eu-west-1']!.get('/golden/web/versions/1.0.5')).toBe('ami-theirs');
    expect(order.some((entry) => entry.includes('latest'))).toBe(false);
  });

  it('fails as "lock lost to <run>", writing nothing, when another run took the lock since the last renewal', async () => {
    const theirs = formatLease({ runId: '20261129T040000Z-other0', host: 'ci-9', pid: 77, takenAt: '2026-11-29T04:00:00.000Z', expiresAt: '2999-01-01T00:00:00.000Z' });
    const { context, run, step, order } = setup({ 'us-east-1': 'ami-prev-east', 'eu-west-1': 'ami-prev-west' }, () => theirs);

    const failure = await publishStage.run(context, step, run).catch((error: unknown) => error);

    expect(failure).toBeInstanceOf(StepFailure);
    expect((failure as StepFailure).message).toBe('lock lost to run 20261129T040000Z-other0 (pid 77 on ci-9, since 2026-11-29T04:00:00.000Z); nothing of web 1.0.5 was written');
    expect(order).toEqual([]);
  });

  it('checks (and renews) the lock while its check reads the AMIs, and the run that follows writes on that check', async () => {
    const { context, run, step, mocks, ec2Mock, order } = setup({ 'us-east-1': 'ami-prev-east', 'eu-west-1': 'ami-prev-west' });
    answerImages(ec2Mock);

    expect(await publishStage.check!(context, step, run)).toBe(false);
    const lockReadsByCheck = mocks['us-east-1']!.commandCalls(GetParameterCommand, { Name: lockName }).length;
    expect(await publishStage.run(context, step, run)).toEqual({ version: '1.0.5', amis });

    expect(lockReadsByCheck).toBeGreaterThan(0);
    expect(mocks['us-east-1']!.commandCalls(GetParameterCommand, { Name: lockName })).toHaveLength(lockReadsByCheck);
    expect(order.filter((entry) => entry.includes('latest'))).toHaveLength(2);
    await Promise.all(run.settling);
  });

  it('fails, writing nothing, when the lock its check read was taken by another run', async () => {
    const theirs = formatLease({ runId: '20261129T040000Z-other0', host: 'ci-9', pid: 77, takenAt: '2026-11-29T04:00:00.000Z', expiresAt: '2999-01-01T00:00:00.000Z' });
    const { context, run, step, ec2Mock, order } = setup({ 'us-east-1': 'ami-prev-east', 'eu-west-1': 'ami-prev-west' }, () => theirs);
    answerImages(ec2Mock);

    expect(await publishStage.check!(context, step, run)).toBe(false);
    await expect(publishStage.run(context, step, run)).rejects.toThrow('lock lost to run 20261129T040000Z-other0');
    expect(order).toEqual([]);
  });

  it('says the world moved when an AMI is gone, and the lock read it started leaves no unhandled rejection', async () => {
    const { context, run, step, ec2Mock, mocks, order } = setup({ 'us-east-1': 'ami-prev-east', 'eu-west-1': 'ami-prev-west' }, 'absent');
    answerImages(ec2Mock, ['ami-new2']);

    expect(await publishStage.check!(context, step, run)).toBe('ami-new2 in eu-west-1 is gone');
    // The lock read (absent: it rejects) was made; no run awaits it, and no unhandled rejection fails this test.
    expect(mocks['us-east-1']!.commandCalls(GetParameterCommand, { Name: lockName })).toHaveLength(1);
    await new Promise((resolve) => setImmediate(resolve));
    expect(order).toEqual([]);
  });

  it('renews this run’s lease before the first write, and then writes', async () => {
    const ending = (context: Context) =>
      formatLease({
        runId: context.runId,
        host: context.processInfo.host,
        pid: context.processInfo.pid,
        takenAt: '2026-11-29T03:00:00.000Z',
        expiresAt: new Date(Date.now() + 5 * 60_000).toISOString(),
      });
    const { context, run, step, stores, order } = setup({ 'us-east-1': 'ami-prev-east', 'eu-west-1': 'ami-prev-west' }, ending);
    const before = Date.now();

    expect(await publishStage.run(context, step, run)).toEqual({ version: '1.0.5', amis });

    const renewed = parseLease(stores['us-east-1']!.get(lockName)!)!;
    expect(renewed).toMatchObject({ runId: context.runId, takenAt: '2026-11-29T03:00:00.000Z' });
    expect(Date.parse(renewed.expiresAt)).toBeGreaterThanOrEqual(before + leaseTtlMs);
    expect(order).toHaveLength(4);
  });

  it('fails, writing nothing, when this run’s lease has seconds left: too late to renew it safely', async () => {
    const { context, run, step, order } = setup({ 'us-east-1': 'ami-prev-east', 'eu-west-1': 'ami-prev-west' }, (context) =>
      formatLease({ runId: context.runId, host: context.processInfo.host, pid: context.processInfo.pid, takenAt: '2026-11-29T03:00:00.000Z', expiresAt: new Date(Date.now() + 1000).toISOString() }),
    );

    await expect(publishStage.run(context, step, run)).rejects.toThrow(/^lock lost: the lease on \/golden\/web\/lock expires at .*, too soon to renew it safely; nothing of web 1\.0\.5 was written$/);
    expect(order).toEqual([]);
  });

  it('publishes when the lock’s own keep-alive renewed the same lease while publish was renewing it', async () => {
    const { context, run, step, mocks, stores } = setup({ 'us-east-1': 'ami-prev-east', 'eu-west-1': 'ami-prev-west' });
    const store = stores['us-east-1']!;
    let lockReads = 0;
    const taking = parseLease(store.get(lockName)!)!;
    mocks['us-east-1']!.on(GetParameterCommand, { Name: lockName }).callsFake(async () => {
      const answer = { Parameter: { Name: lockName, Value: store.get(lockName), Version: 1 } };
      // Publish reads the lock once, checks it and renews it from that read: the keep-alive renews in between (a
      // moment earlier, so its value differs from the one publish is about to write).
      if (++lockReads === 1) store.set(lockName, formatLease({ ...taking, expiresAt: new Date(Date.now() + leaseTtlMs - 1000).toISOString() }));
      return answer;
    });

    expect(await publishStage.run(context, step, run)).toEqual({ version: '1.0.5', amis });
    // One read: the check and the renewal's re-check (it was three reads, one round trip apart).
    expect(lockReads).toBe(1);
    // Still this taking of the lease.
    expect({ ...parseLease(store.get(lockName)!)!, expiresAt: undefined }).toEqual({ ...taking, expiresAt: undefined });
  });

  it('fails, writing nothing, when the lock is gone or this run’s lease has expired', async () => {
    const gone = setup({ 'us-east-1': 'ami-prev-east', 'eu-west-1': 'ami-prev-west' }, 'absent');
    await expect(publishStage.run(gone.context, gone.step, gone.run)).rejects.toThrow(`lock lost: ${lockName} in us-east-1 was removed; nothing of web 1.0.5 was written`);
    expect(gone.order).toEqual([]);

    const expired = setup({ 'us-east-1': 'ami-prev-east', 'eu-west-1': 'ami-prev-west' }, (context) =>
      formatLease({ runId: context.runId, host: context.processInfo.host, pid: context.processInfo.pid, takenAt: '2026-11-29T03:00:00.000Z', expiresAt: '2026-11-29T03:15:00.000Z' }),
    );
    await expect(publishStage.run(expired.context, expired.step, expired.run)).rejects.toThrow(
      `lock lost: this run's lease on ${lockName} expired at 2026-11-29T03:15:00.000Z; nothing of web 1.0.5 was written`,
    );
    expect(expired.order).toEqual([]);
  });
});
