/**
 * The packer-exit stage at the adapter seam: the rest of `packer build` after the build handed on its AMI. Done only
 * when Packer exits 0 with a manifest naming that AMI; otherwise, once the smoke steps beside it gave their verdicts,
 * the AMI is marked failed (for the planned discard and copy steps to remove) and the step fails. Proven end to end on
 * moto with real Packer in test/integration/early-hand-on.test.ts.
 */
import { CreateTagsCommand, DescribeImagesCommand, EC2Client } from '@aws-sdk/client-ec2';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import type { PackerBuildResult } from '../../src/adapters/packer.ts';
import { StepFailure, type StepResult } from '../../src/apply/step-stage.ts';
import type { StepOfKind } from '../../src/plan/run-plan.ts';
import { createPackerExitStage, manifestMismatch, type PackerRuns } from '../../src/stages/packer-exit.ts';
import { contextOver, mockableClients } from '../support/mocked-aws-context.ts';
import { smokeImage } from '../support/smoke-fixture.ts';
import { stepRunFixture } from '../support/step-run-fixture.ts';

const clients = mockableClients();
const ec2Mock = mockClient(clients.ec2 as EC2Client);
const context = contextOver(clients);
const amiId = 'ami-0123456789abcdef0';
const step: StepOfKind<'packer-exit'> = {
  id: 'packer-exit:web',
  kind: 'packer-exit',
  image: 'web',
  version: '1.0.0',
  build: 'build:web',
  besideSmoke: ['smoke:web'],
  after: ['build:web'],
  reason: '…',
  precondition: '…',
};
const image = smokeImage();
const runsWith = (exit: Promise<PackerBuildResult>): PackerRuns => new Map([['build:web', { exit, yielded: { 'us-east-1': amiId }, snapshots: { 'us-east-1': ['snap-1'] }, early: true }]]);
const done: StepResult = { status: 'done', output: { result: 'passed' } as never, durationMs: 1 };

/** The AMI the build handed on, as DescribeImages shows it, with its gild:status. */
const handedOnAmi = (status: string) => ({
  Images: [
    {
      ImageId: amiId,
      Tags: [
        { Key: 'gild:image', Value: image.name },
        { Key: 'gild:version', Value: '1.0.0' },
        { Key: 'gild:status', Value: status },
      ],
      BlockDeviceMappings: [{ Ebs: { SnapshotId: 'snap-1' } }],
    },
  ],
});

beforeEach(() => {
  ec2Mock.reset();
  ec2Mock.on(DescribeImagesCommand).resolves(handedOnAmi('tested'));
  ec2Mock.on(CreateTagsCommand).resolves({});
});

describe('packer-exit stage', () => {
  it('is done when Packer exits 0 and its manifest names the AMI handed on, and tags nothing', async () => {
    const run = stepRunFixture(image, { settled: { 'smoke:web': Promise.resolve(done) } });
    const output = await createPackerExitStage(runsWith(Promise.resolve({ ok: true, amis: { 'us-east-1': amiId } }))).run(context, step, run);
    expect(output.exitedAt).toBe('2026-11-29T00:00:00.000Z');
    expect(ec2Mock.commandCalls(CreateTagsCommand)).toHaveLength(0);
  });

  it("waits for the smoke test's verdict, then marks the AMI failed and fails, when Packer fails after the AMI", async () => {
    let passSmoke: (result: StepResult) => void = () => undefined;
    const smoke = new Promise<StepResult>((resolve) => (passSmoke = resolve));
    // The event the test waits for: the stage asking for the smoke step's result.
    let askedForVerdict: () => void = () => undefined;
    const asked = new Promise<void>((resolve) => (askedForVerdict = resolve));
    const settled = {
      get 'smoke:web'() {
        askedForVerdict();
        return smoke;
      },
    };
    const run = stepRunFixture(image, { settled });
    const stage = createPackerExitStage(runsWith(Promise.resolve({ ok: false, reason: 'Post-processor failed: exit status 3' })));
    const exiting = stage.run(context, step, run);
    // It asks for the verdict before it reads or tags anything: a verdict must never land after its own.
    await asked;
    expect(ec2Mock.commandCalls(DescribeImagesCommand)).toHaveLength(0);
    expect(ec2Mock.commandCalls(CreateTagsCommand)).toHaveLength(0);
    passSmoke(done);
    const failure = await exiting.catch((error: unknown) => error);
    expect(failure).toBeInstanceOf(StepFailure);
    expect((failure as Error).message).toBe(`Packer build failed for image "web" after making us-east-1:${amiId}: Post-processor failed: exit status 3`);
    const tagged = ec2Mock.commandCalls(CreateTagsCommand).map((call) => call.args[0].input);
    expect(tagged).toEqual([
      {
        Resources: [amiId, 'snap-1'],
        Tags: expect.arrayContaining([
          { Key: 'gild:status', Value: 'failed' },
          { Key: 'gild:failure', Value: 'packer build failed after making the AMI: Post-processor failed: exit status 3' },
        ]),
      },
    ]);
  });

  it('fails, marking the AMI, when the manifest names another AMI than the one handed on', async () => {
    const run = stepRunFixture(image, { settled: { 'smoke:web': Promise.resolve(done) } });
    const failure = await createPackerExitStage(runsWith(Promise.resolve({ ok: true, amis: { 'us-east-1': 'ami-0fffffffffffffff0' } })))
      .run(context, step, run)
      .catch((error: unknown) => error);
    expect((failure as Error).message).toContain(`its manifest names us-east-1:ami-0fffffffffffffff0, not the AMI the build handed on (us-east-1:${amiId})`);
    expect(ec2Mock.commandCalls(CreateTagsCommand)).toHaveLength(1);
  });

  it('marks the AMI whatever the verdicts were (a skipped test too), keeps the reason of one a failed test marked, and marks nothing when interrupted', async () => {
    const skipped: StepResult = { status: 'skipped', reason: 'a dependency failed' };
    const afterSkippedSmoke = stepRunFixture(image, { settled: { 'smoke:web': Promise.resolve(skipped) } });
    await expect(createPackerExitStage(runsWith(Promise.resolve({ ok: false, reason: 'exit 1' }))).run(context, step, afterSkippedSmoke)).rejects.toThrow(/after making/);
    expect(ec2Mock.commandCalls(CreateTagsCommand)).toHaveLength(1);

    ec2Mock.resetHistory();
    ec2Mock.on(DescribeImagesCommand).resolves(handedOnAmi('failed'));
    const failedSmoke: StepResult = { status: 'failed', reason: 'check failed', error: new Error('check failed'), durationMs: 1 };
    const afterFailedSmoke = stepRunFixture(image, { settled: { 'smoke:web': Promise.resolve(failedSmoke) } });
    await expect(createPackerExitStage(runsWith(Promise.resolve({ ok: false, reason: 'exit 1' }))).run(context, step, afterFailedSmoke)).rejects.toThrow(/after making/);
    expect(ec2Mock.commandCalls(CreateTagsCommand)).toHaveLength(0);

    const interrupted = stepRunFixture(image, { settled: { 'smoke:web': Promise.resolve(done) } });
    interrupted.abort.abort();
    await expect(createPackerExitStage(runsWith(Promise.resolve({ ok: false, reason: 'the build was interrupted' }))).run(context, step, interrupted)).rejects.toThrow(
      /Packer was interrupted after making us-east-1:ami-0123456789abcdef0; the next run resumes or cleans them up/,
    );
    expect(ec2Mock.commandCalls(CreateTagsCommand)).toHaveLength(0);
  });

  it('stops waiting for a smoke verdict when the run is interrupted, and marks nothing', async () => {
    let askedForVerdict: () => void = () => undefined;
    const asked = new Promise<void>((resolve) => (askedForVerdict = resolve));
    const neverDecided = new Promise<StepResult>(() => undefined);
    const run = stepRunFixture(image, {
      settled: {
        get 'smoke:web'() {
          askedForVerdict();
          return neverDecided;
        },
      },
    });
    const stage = createPackerExitStage(runsWith(Promise.resolve({ ok: false, reason: 'exit 1' })));
    const exiting = stage.run(context, step, run);
    await asked;
    run.abort.abort();
    await expect(exiting).rejects.toThrow(/the run was interrupted before marking them failed/);
    expect(ec2Mock.commandCalls(CreateTagsCommand)).toHaveLength(0);
  });

  it('fails plainly when no Packer of that build ran in this process', async () => {
    const run = stepRunFixture(image);
    await expect(createPackerExitStage(new Map()).run(context, step, run)).rejects.toThrow('no Packer of build:web ran in this process');
  });

  it('reads a rejected exit as a failure', async () => {
    const run = stepRunFixture(image, { settled: { 'smoke:web': Promise.resolve(done) } });
    await expect(createPackerExitStage(runsWith(Promise.reject(new Error('spawn packer ENOENT')))).run(context, step, run)).rejects.toThrow(/spawn packer ENOENT/);
  });
});

describe('manifestMismatch', () => {
  it('names each region whose AMI differs, or a region the manifest leaves out', () => {
    expect(manifestMismatch({ a: 'ami-1', b: 'ami-2' }, { a: 'ami-1', b: 'ami-2' })).toBeUndefined();
    expect(manifestMismatch({ a: 'ami-1' }, { a: 'ami-1', b: 'ami-2' })).toBe('its manifest names b:(no AMI), not the AMI the build handed on (b:ami-2)');
    expect(manifestMismatch({ a: 'ami-9', b: 'ami-8' }, { a: 'ami-1', b: 'ami-2' })).toBe('its manifest names a:ami-9, b:ami-8, not the AMIs the build handed on (a:ami-1, b:ami-2)');
  });
});
