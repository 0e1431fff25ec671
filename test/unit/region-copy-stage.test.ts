/**
 * The copy stage at the adapter seam: a copy runs beside its image's smoke step and learns that step's verdict from the
 * source's `gild:status` tag, but a smoke step that ends without success and without tagging the source failed (it
 * threw, or could not tag) must end the copy at once: the copy is cancelled and removed, and the step fails naming the
 * smoke step's result, instead of polling until its deadline while holding the lease and the job.
 */
import { CopyImageCommand, CreateTagsCommand, DeleteSnapshotCommand, DeregisterImageCommand, DescribeImagesCommand, EC2Client, type DescribeImagesCommandInput } from '@aws-sdk/client-ec2';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import { StepFailure, type StepResult } from '../../src/apply/step-stage.ts';
import { createContext } from '../../src/context.ts';
import { createMemoryLogger } from '../../src/logger.ts';
import type { StepOfKind } from '../../src/plan/run-plan.ts';
import { pipelineSettingsSchema } from '../../src/settings/schema.ts';
import { copyPause, regionCopyStage } from '../../src/stages/region-copy.ts';
import { smokeImage } from '../support/smoke-fixture.ts';
import { stepRunFixture } from '../support/step-run-fixture.ts';

const ec2 = new EC2Client({ region: 'us-east-1' });
const ec2Mock = mockClient(ec2);
const clients = {
  ec2: () => ec2,
  ssm: () => {
    throw new Error('not used');
  },
  autoscaling: () => {
    throw new Error('not used');
  },
  ec2Endpoint: undefined,
  defaultRegion: 'us-east-1',
  destroy() {},
};
// NOTE: an hour between polls: only the smoke step's settling can end the copy within the test's timeout.
const context = createContext({
  cwd: '/tmp',
  env: { GILD_COPY_POLL_MS: '3600000' },
  logger: createMemoryLogger(),
  settings: pipelineSettingsSchema.parse({}),
  clients,
  runId: 'run-2',
  now: () => new Date('2026-12-07T10:00:00.000Z'),
});
const sourceAmiId = 'ami-0aaaaaaaaaaaaaaa1';
const copyAmiId = 'ami-0bbbbbbbbbbbbbbb2';
const amiName = 'web-1.0.0-run-2';
const step: StepOfKind<'copy'> = {
  id: 'copy:web:eu-west-1',
  kind: 'copy',
  image: 'web',
  version: '1.0.0',
  region: 'eu-west-1',
  sourceRegion: 'us-east-1',
  source: { from: 'build:web' },
  kmsKeyId: undefined,
  after: ['build:web'],
  besideSmoke: 'smoke:web',
  reason: 'copy to eu-west-1 while the smoke test runs in us-east-1',
  precondition: '…',
};
// A copy that waited for its next poll (an hour away) instead of the smoke step's settling fails here, not hangs.
const promptly = 10_000;
const tags = (values: Record<string, string>) => Object.entries(values).map(([Key, Value]) => ({ Key, Value }));

let sourceStatus: string;
let copyState: string;
let copyExists: boolean;
let copyStarted: () => void;
let started: Promise<void>;
let sourceReads: number;
let sourcePolled: () => void;
let polled: Promise<void>;

beforeEach(() => {
  ec2Mock.reset();
  sourceStatus = 'candidate';
  copyState = 'pending';
  copyExists = false;
  started = new Promise<void>((resolve) => (copyStarted = resolve));
  sourceReads = 0;
  polled = new Promise<void>((resolve) => (sourcePolled = resolve));
  ec2Mock.on(DescribeImagesCommand).callsFake((input: DescribeImagesCommandInput) => {
    const ids = input.ImageIds ?? [];
    if (ids.includes(sourceAmiId)) {
      // The first read is the copy's start; the second its first poll of the smoke verdict.
      if (++sourceReads === 2) sourcePolled();
      return { Images: [{ ImageId: sourceAmiId, Name: amiName, State: 'available', Tags: tags({ 'gild:image': 'web', 'gild:version': '1.0.0', 'gild:status': sourceStatus }) }] };
    }
    if (ids.includes(copyAmiId) && copyExists)
      return {
        Images: [
          {
            ImageId: copyAmiId,
            Name: amiName,
            State: copyState,
            Tags: tags({ 'gild:image': 'web', 'gild:version': '1.0.0', 'gild:status': 'candidate' }),
            BlockDeviceMappings: [{ Ebs: { SnapshotId: 'snap-copy' } }],
          },
        ],
      };
    return { Images: [] };
  });
  ec2Mock.on(CopyImageCommand).callsFake(() => {
    copyExists = true;
    copyStarted();
    return { ImageId: copyAmiId };
  });
  ec2Mock.on(DeregisterImageCommand).callsFake(() => {
    copyExists = false;
    return {};
  });
  ec2Mock.on(DeleteSnapshotCommand).resolves({});
  ec2Mock.on(CreateTagsCommand).resolves({});
});

const runWithSmoke = (smoke: Promise<StepResult>) =>
  stepRunFixture(smokeImage(), {
    outputs: { 'build:web': { kind: 'build', output: { amis: { 'us-east-1': sourceAmiId }, snapshots: { 'us-east-1': ['snap-src'] }, baseAmiId: 'ami-base' } } },
    settled: { 'smoke:web': smoke },
  });

describe('copy stage beside its smoke step', () => {
  it(
    'cancels and removes the copy as soon as the smoke step fails without tagging the source failed, naming its result',
    async () => {
      let settleSmoke!: (result: StepResult) => void;
      const run = runWithSmoke(new Promise<StepResult>((resolve) => (settleSmoke = resolve)));

      const copying = regionCopyStage.run(context, step, run);
      await started;
      settleSmoke({ status: 'failed', reason: 'could not tag ami-0aaaaaaaaaaaaaaa1 failed: AccessDenied', error: new Error('AccessDenied'), durationMs: 1 });

      const failure = await copying.then(
        () => undefined,
        (error: unknown) => error,
      );
      expect(failure).toBeInstanceOf(StepFailure);
      expect((failure as Error).message).toBe(
        `the smoke step smoke:web ended failed (could not tag ${sourceAmiId} failed: AccessDenied) without marking the source ${sourceAmiId} failed: its copy in eu-west-1 was cancelled and removed`,
      );
      expect(ec2Mock.commandCalls(DeregisterImageCommand).map((call) => call.args[0].input.ImageId)).toEqual([copyAmiId]);
      expect(ec2Mock.commandCalls(DeleteSnapshotCommand).map((call) => call.args[0].input.SnapshotId)).toEqual(['snap-copy']);
      // The source is the smoke step's to decide about: the copy stage never touches it.
      expect(ec2Mock.commandCalls(DeregisterImageCommand).some((call) => call.args[0].input.ImageId === sourceAmiId)).toBe(false);
      expect(sourceStatus).toBe('candidate');
    },
    promptly,
  );

  it(
    'removes the copy when the smoke step did not run at all (skipped), without waiting for the next poll',
    async () => {
      const run = runWithSmoke(Promise.resolve<StepResult>({ status: 'skipped', reason: 'interrupted before it started' }));

      await expect(regionCopyStage.run(context, step, run)).rejects.toThrow(/^the smoke step smoke:web ended skipped \(interrupted before it started\) without marking the source/);
      expect(ec2Mock.commandCalls(DeregisterImageCommand).map((call) => call.args[0].input.ImageId)).toEqual([copyAmiId]);
    },
    promptly,
  );

  it(
    'finishes the copy at once when the smoke step succeeds, tagging it tested',
    async () => {
      copyState = 'available';
      let settleSmoke!: (result: StepResult) => void;
      const run = runWithSmoke(new Promise<StepResult>((resolve) => (settleSmoke = resolve)));

      const copying = regionCopyStage.run(context, step, run);
      // The copy has seen the source untested and waits: only the smoke step's settling wakes it before the next poll.
      await polled;
      sourceStatus = 'tested';
      settleSmoke({ status: 'done', output: { result: 'passed' } as never, durationMs: 1 });

      expect(await copying).toEqual({ region: 'eu-west-1', amiId: copyAmiId, snapshotIds: ['snap-copy'] });
      expect(ec2Mock.commandCalls(DeregisterImageCommand)).toHaveLength(0);
      expect(ec2Mock.commandCalls(CreateTagsCommand).map((call) => call.args[0].input)).toEqual([
        { Resources: [copyAmiId, 'snap-copy'], Tags: expect.arrayContaining([{ Key: 'gild:status', Value: 'tested' }]) },
      ]);
    },
    promptly,
  );
});

describe('copy stage beside its build’s packer-exit step', () => {
  const besideBuild = { ...step, besideBuild: 'packer-exit:web' };
  const runWith = (packerExit: Promise<StepResult>) =>
    stepRunFixture(smokeImage(), {
      outputs: { 'build:web': { kind: 'build', output: { amis: { 'us-east-1': sourceAmiId }, snapshots: { 'us-east-1': ['snap-src'] }, baseAmiId: 'ami-base' } } },
      settled: { 'smoke:web': Promise.resolve<StepResult>({ status: 'done', output: { result: 'passed' } as never, durationMs: 1 }), 'packer-exit:web': packerExit },
    });

  it(
    'finishes only once Packer exited well, and cancels and removes the copy when it did not',
    async () => {
      copyState = 'available';
      sourceStatus = 'tested';
      let exitPacker!: (result: StepResult) => void;
      const copying = regionCopyStage.run(context, besideBuild, runWith(new Promise<StepResult>((resolve) => (exitPacker = resolve))));
      await polled;
      expect(ec2Mock.commandCalls(CreateTagsCommand)).toHaveLength(0);
      exitPacker({ status: 'failed', reason: 'Post-processor failed', error: new Error('Post-processor failed'), durationMs: 1 });
      await expect(copying).rejects.toThrow(/^packer-exit:web ended failed \(Post-processor failed\): its copy in eu-west-1 was cancelled and removed$/);
      expect(ec2Mock.commandCalls(DeregisterImageCommand).map((call) => call.args[0].input.ImageId)).toEqual([copyAmiId]);
      expect(ec2Mock.commandCalls(CreateTagsCommand)).toHaveLength(0);
    },
    promptly,
  );

  it(
    'leaves the copy tagged candidate when Packer’s exit was never seen (an interrupt), as the build’s AMI is left',
    async () => {
      copyState = 'available';
      sourceStatus = 'tested';
      const run = runWith(Promise.resolve<StepResult>({ status: 'skipped', reason: 'interrupted before it started' }));
      await expect(regionCopyStage.run(context, besideBuild, run)).rejects.toThrow(/stays tagged candidate for the next run/);
      expect(ec2Mock.commandCalls(DeregisterImageCommand)).toHaveLength(0);
    },
    promptly,
  );

  it(
    'finishes the copy, tagged tested, once Packer exited well',
    async () => {
      copyState = 'available';
      sourceStatus = 'tested';
      const run = runWith(Promise.resolve<StepResult>({ status: 'done', output: { exitedAt: '2026-12-07T10:00:00.000Z' }, durationMs: 1 }));
      expect(await regionCopyStage.run(context, besideBuild, run)).toEqual({ region: 'eu-west-1', amiId: copyAmiId, snapshotIds: ['snap-copy'] });
    },
    promptly,
  );
});

describe('what a copy beside its smoke step reads while it waits', () => {
  it(
    'reads the source at the first poll, after the smoke step settled and when the copy is available, not at every poll',
    async () => {
      // Polls a millisecond apart; the copy is pending for its first five reads; the smoke step passes during the first poll.
      const polling = createContext({ cwd: '/tmp', env: { GILD_COPY_POLL_MS: '1' }, logger: createMemoryLogger(), settings: context.settings, clients, runId: 'run-2', now: context.now });
      let settleSmoke!: (result: StepResult) => void;
      let copyReads = 0;
      ec2Mock.on(DescribeImagesCommand).callsFake((input: DescribeImagesCommandInput) => {
        const ids = input.ImageIds ?? [];
        if (ids.includes(sourceAmiId)) {
          if (++sourceReads === 2) {
            sourceStatus = 'tested';
            settleSmoke({ status: 'done', output: { result: 'passed' } as never, durationMs: 1 });
          }
          return { Images: [{ ImageId: sourceAmiId, Name: amiName, State: 'available', Tags: tags({ 'gild:image': 'web', 'gild:version': '1.0.0', 'gild:status': sourceStatus }) }] };
        }
        if (!ids.includes(copyAmiId) || !copyExists) return { Images: [] };
        copyReads += 1;
        return {
          Images: [
            {
              ImageId: copyAmiId,
              Name: amiName,
              State: copyReads > 5 ? 'available' : 'pending',
              Tags: tags({ 'gild:image': 'web', 'gild:version': '1.0.0' }),
              BlockDeviceMappings: [{ Ebs: { SnapshotId: 'snap-copy' } }],
            },
          ],
        };
      });
      const run = runWithSmoke(new Promise<StepResult>((resolve) => (settleSmoke = resolve)));

      expect(await regionCopyStage.run(polling, step, run)).toEqual({ region: 'eu-west-1', amiId: copyAmiId, snapshotIds: ['snap-copy'] });
      // The copy's start and its five polls; the source: the start, the first poll, the first after the smoke step
      // settled, and the check just before the copy takes its verdict (it was read at every poll: 1 + 5).
      expect(copyReads).toBe(1 + 5);
      expect(sourceReads).toBe(4);
      expect(ec2Mock.commandCalls(CreateTagsCommand).map((call) => call.args[0].input)).toEqual([
        { Resources: [copyAmiId, 'snap-copy'], Tags: expect.arrayContaining([{ Key: 'gild:status', Value: 'tested' }]) },
      ]);
    },
    promptly,
  );

  it('waits a poll interval once the smoke step has settled: a settled step would end every wait at once', () => {
    const base = { pollMs: 15_000, msToDeadline: 7_200_000 };
    expect(copyPause({ ...base, copyAvailable: false, smokeBeside: true, smokeEnded: true })).toEqual({ ms: 15_000, untilSmokeSettles: false });
    expect(copyPause({ ...base, copyAvailable: true, smokeBeside: true, smokeEnded: true })).toEqual({ ms: 15_000, untilSmokeSettles: false });
    // Still running: its settling wakes the copy; an available copy waits for nothing else, up to the deadline.
    expect(copyPause({ ...base, copyAvailable: false, smokeBeside: true, smokeEnded: false })).toEqual({ ms: 15_000, untilSmokeSettles: true });
    expect(copyPause({ ...base, copyAvailable: true, smokeBeside: true, smokeEnded: false })).toEqual({ ms: 7_200_000, untilSmokeSettles: true });
    expect(copyPause({ ...base, copyAvailable: true, smokeBeside: true, smokeEnded: false, msToDeadline: -5 })).toEqual({ ms: 0, untilSmokeSettles: true });
    expect(copyPause({ ...base, copyAvailable: false, smokeBeside: false, smokeEnded: false })).toEqual({ ms: 15_000, untilSmokeSettles: false });
  });
});
