/**
 * The build's early hand-on at the adapter seam (src/stages/build.ts, taggedBeforeExit): once Packer has said it is
 * tagging every region's AMI, the AMI is read by name until it is available with every tag gild asked for; Packer's
 * exit, an interrupt or a read that keeps failing ends the reading, and the build then waits for Packer's exit.
 */
import { DescribeImagesCommand, EC2Client, type DescribeImagesCommandInput, type ImageState } from '@aws-sdk/client-ec2';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import type { PackerBuildResult } from '../../src/adapters/packer.ts';
import { createMemoryLogger } from '../../src/logger.ts';
import type { StepOfKind } from '../../src/plan/run-plan.ts';
import { followTagging, taggedBeforeExit } from '../../src/stages/build.ts';
import { contextOver, mockableClients } from '../support/mocked-aws-context.ts';

const clients = mockableClients();
const ec2Mock = mockClient(clients.ec2 as EC2Client);
const context = contextOver(clients);
const step = (regions: string[]): StepOfKind<'build'> => ({
  id: 'build:web',
  kind: 'build',
  image: 'web',
  version: '1.0.0',
  regions,
  base: { kind: 'ami', amiId: 'ami-base', source: 'test' },
  fingerprint: 'fp',
  amiName: 'web-1.0.0-run-1',
  after: [],
  reason: '…',
  precondition: '…',
});
const tags = { 'gild:image': 'web', 'gild:version': '1.0.0', 'gild:status': 'candidate' };
const image = (state: ImageState, withTags: Record<string, string>) => ({
  Images: [
    {
      ImageId: 'ami-0123456789abcdef0',
      Name: 'web-1.0.0-run-1',
      State: state,
      Tags: Object.entries(withTags).map(([Key, Value]) => ({ Key, Value })),
      BlockDeviceMappings: [{ Ebs: { SnapshotId: 'snap-1' } }],
    },
  ],
});
const pending = <T>() => new Promise<T>(() => undefined);
/** Packer has said it is tagging every region's AMI (one region here). */
const hinted = () => {
  const tagging = followTagging(1);
  tagging.hint('ami-0123456789abcdef0');
  return tagging;
};
const options = (signal = new AbortController().signal) => ({ pollMs: 1, signal, logger: createMemoryLogger() });

beforeEach(() => ec2Mock.reset());

describe('the build hands on its AMI before Packer exits', () => {
  it('reads the AMI by its exact name, owned by the account, until it carries every tag gild asked for', async () => {
    let reads = 0;
    ec2Mock.on(DescribeImagesCommand).callsFake(() => (++reads < 3 ? image('available', { 'gild:image': 'web' }) : image('available', { ...tags, Name: 'x' })));
    const found = await taggedBeforeExit(context, step(['us-east-1']), tags, pending<PackerBuildResult>(), hinted(), options());
    expect(found).toEqual({ amis: { 'us-east-1': 'ami-0123456789abcdef0' }, snapshots: { 'us-east-1': ['snap-1'] } });
    expect(reads).toBe(3);
    const input = ec2Mock.commandCalls(DescribeImagesCommand)[0]!.args[0].input as DescribeImagesCommandInput;
    expect(input).toMatchObject({ Owners: ['self'], Filters: [{ Name: 'name', Values: ['web-1.0.0-run-1'] }] });
  });

  it('hands nothing on when Packer exits before it says it is tagging, and reads nothing', async () => {
    const found = await taggedBeforeExit(context, step(['us-east-1']), tags, Promise.resolve({ ok: false, reason: 'exit 1' }), followTagging(1), options());
    expect(found).toBeUndefined();
    expect(ec2Mock.commandCalls(DescribeImagesCommand)).toHaveLength(0);
  });

  it('stops reading when Packer exits, or the run is interrupted, and says why when the reads run out', async () => {
    let exit: (result: PackerBuildResult) => void = () => undefined;
    const exited = new Promise<PackerBuildResult>((resolve) => (exit = resolve));
    let reads = 0;
    ec2Mock.on(DescribeImagesCommand).callsFake(() => {
      if (++reads === 2) exit({ ok: true, amis: {} });
      return image('pending', tags);
    });
    expect(await taggedBeforeExit(context, step(['us-east-1']), tags, exited, hinted(), options())).toBeUndefined();
    expect(reads).toBeLessThan(20);

    const interrupt = new AbortController();
    ec2Mock.on(DescribeImagesCommand).callsFake(() => {
      interrupt.abort();
      return image('available', tags);
    });
    expect(await taggedBeforeExit(context, step(['us-east-1']), tags, pending<PackerBuildResult>(), hinted(), options(interrupt.signal))).toBeUndefined();

    ec2Mock.on(DescribeImagesCommand).rejects(Object.assign(new Error('not allowed'), { name: 'UnauthorizedOperation' }));
    const logger = createMemoryLogger();
    expect(await taggedBeforeExit(context, step(['us-east-1']), tags, pending<PackerBuildResult>(), hinted(), { ...options(), logger })).toBeUndefined();
    expect(logger.lines.join('\n')).toMatch(/Packer said it tagged its AMI, but reading it failed: .*not allowed.* after 20 reads: the build waits for Packer's exit/);
  });

  // NOTE: the poll is ten minutes away: without the wake at a line, the test fails at its own 10-s bound.
  it('reads again at the next line Packer prints, not a poll later', { timeout: 10_000 }, async () => {
    const tagging = hinted();
    let reads = 0;
    // A line printed while a read is out: read again at once.
    ec2Mock.on(DescribeImagesCommand).callsFake(() => {
      reads += 1;
      if (reads === 1) tagging.line();
      return reads < 2 ? image('available', { 'gild:image': 'web' }) : image('available', tags);
    });
    const slowPoll = { ...options(), pollMs: 600_000 };
    expect(await taggedBeforeExit(context, step(['us-east-1']), tags, pending<PackerBuildResult>(), tagging, slowPoll)).toMatchObject({ amis: { 'us-east-1': 'ami-0123456789abcdef0' } });
    expect(reads).toBe(2);

    // Nothing printed during the read: the next line wakes the wait (the poll is ten minutes away).
    const quiet = hinted();
    let waitingForLine: () => void = () => undefined;
    const waiting = new Promise<void>((resolve) => (waitingForLine = resolve));
    const followed = { ...quiet, nextLine: () => (waitingForLine(), quiet.nextLine()) };
    reads = 0;
    ec2Mock.on(DescribeImagesCommand).callsFake(() => (++reads < 2 ? image('available', { 'gild:image': 'web' }) : image('available', tags)));
    const found = taggedBeforeExit(context, step(['us-east-1']), tags, pending<PackerBuildResult>(), followed, slowPoll);
    await waiting;
    quiet.line();
    expect(await found).toMatchObject({ amis: { 'us-east-1': 'ami-0123456789abcdef0' } });
    expect(reads).toBe(2);
  });

  it('needs an available AMI in every region of the build', async () => {
    ec2Mock.on(DescribeImagesCommand).resolves(image('available', tags));
    const regions = step(['us-east-1', 'us-west-2']);
    expect(await taggedBeforeExit(context, regions, tags, pending<PackerBuildResult>(), hinted(), options())).toEqual({
      amis: { 'us-east-1': 'ami-0123456789abcdef0', 'us-west-2': 'ami-0123456789abcdef0' },
      snapshots: { 'us-east-1': ['snap-1'], 'us-west-2': ['snap-1'] },
    });
    ec2Mock.on(DescribeImagesCommand).resolves({ Images: [] });
    const logger = createMemoryLogger();
    expect(await taggedBeforeExit(context, regions, tags, pending<PackerBuildResult>(), hinted(), { ...options(), logger })).toBeUndefined();
    expect(logger.lines.join('\n')).toMatch(/no one available AMI named web-1\.0\.0-run-1 in us-east-1/);
  });
});
