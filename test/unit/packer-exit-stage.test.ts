/**
 * The packer-exit stage at the adapter seam: the rest of `packer build` after the build handed on its AMI. Done only
 * when Packer exits 0 with a manifest naming that AMI; otherwise the AMI is marked failed at once (and again once the
 * smoke steps beside it ended, should a verdict have undone it), for the planned discard and copy steps to remove, and
 * the step fails. Proven end to end on moto with real Packer in test/integration/early-hand-on.test.ts.
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

/** The AMI's gild:status as AWS holds it: DescribeImages reads it, CreateTags writes it (a smoke verdict or a mark). */
let status = 'tested';
const setStatusTo = (next: string) => (status = next);

beforeEach(() => {
  ec2Mock.reset();
  setStatusTo('tested');
  ec2Mock.on(DescribeImagesCommand).callsFake(() => handedOnAmi(status));
  ec2Mock.on(CreateTagsCommand).callsFake((input: { Tags?: { Key?: string; Value?: string }[] }) => {
    const written = input.Tags?.find((tag) => tag.Key === 'gild:status')?.Value;
    if (written) setStatusTo(written);
    return {};
  });
});

const failedMarks = () =>
  ec2Mock
    .commandCalls(CreateTagsCommand)
    .map((call) => call.args[0].input)
    .filter((input) => input.Tags?.some((tag) => tag.Key === 'gild:status' && tag.Value === 'failed'));

describe('packer-exit stage', () => {
  it('is done when Packer exits 0 and its manifest names the AMI handed on, and tags nothing', async () => {
    const run = stepRunFixture(image, { settled: { 'smoke:web': Promise.resolve(done) } });
    const output = await createPackerExitStage(runsWith(Promise.resolve({ ok: true, amis: { 'us-east-1': amiId } }))).run(context, step, run);
    expect(output.exitedAt).toBe('2026-11-29T00:00:00.000Z');
    expect(ec2Mock.commandCalls(CreateTagsCommand)).toHaveLength(0);
  });

  it('marks the AMI failed at once when Packer fails after it, and again once a smoke verdict beside it undid the mark', async () => {
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
    // Marked before it waits for any verdict: a crash from here on leaves the AMI failed, never resumed and published.
    await asked;
    expect(failedMarks()).toEqual([
      {
        Resources: [amiId, 'snap-1'],
        Tags: expect.arrayContaining([
          { Key: 'gild:status', Value: 'failed' },
          { Key: 'gild:failure', Value: 'packer build failed after making the AMI: Post-processor failed: exit status 3' },
        ]),
      },
    ]);
    // The smoke test passes meanwhile and tags the AMI tested over the mark, as a verdict landing late would.
    setStatusTo('tested');
    passSmoke(done);
    const failure = await exiting.catch((error: unknown) => error);
    expect(failure).toBeInstanceOf(StepFailure);
    expect((failure as Error).message).toBe(`Packer build failed for image "web" after making us-east-1:${amiId}: Post-processor failed: exit status 3`);
    expect(failedMarks()).toHaveLength(2);
    expect(status).toBe('failed');
  });

  it('fails, marking the AMI, when the manifest names another AMI than the one handed on', async () => {
    const run = stepRunFixture(image, { settled: { 'smoke:web': Promise.resolve(done) } });
    const failure = await createPackerExitStage(runsWith(Promise.resolve({ ok: true, amis: { 'us-east-1': 'ami-0fffffffffffffff0' } })))
      .run(context, step, run)
      .catch((error: unknown) => error);
    expect((failure as Error).message).toContain(`its manifest names us-east-1:ami-0fffffffffffffff0, not the AMI the build handed on (us-east-1:${amiId})`);
    // Once: the second look, after the verdict, finds it still failed.
    expect(ec2Mock.commandCalls(CreateTagsCommand)).toHaveLength(1);
  });

  it('marks the AMI whatever the verdicts were (a skipped test too), keeps the reason of one a failed test marked, and marks nothing when interrupted', async () => {
    const skipped: StepResult = { status: 'skipped', reason: 'a dependency failed' };
    const afterSkippedSmoke = stepRunFixture(image, { settled: { 'smoke:web': Promise.resolve(skipped) } });
    await expect(createPackerExitStage(runsWith(Promise.resolve({ ok: false, reason: 'exit 1' }))).run(context, step, afterSkippedSmoke)).rejects.toThrow(/after making/);
    expect(ec2Mock.commandCalls(CreateTagsCommand)).toHaveLength(1);

    ec2Mock.resetHistory();
    setStatusTo('failed');
    const failedSmoke: StepResult = { status: 'failed', reason: 'check failed', error: new Error('check failed'), durationMs: 1 };
    const afterFailedSmoke = stepRunFixture(image, { settled: { 'smoke:web': Promise.resolve(failedSmoke) } });
    await expect(createPackerExitStage(runsWith(Promise.resolve({ ok: false, reason: 'exit 1' }))).run(context, step, afterFailedSmoke)).rejects.toThrow(/after making/);
    expect(ec2Mock.commandCalls(CreateTagsCommand)).toHaveLength(0);

    setStatusTo('tested');
    const interrupted = stepRunFixture(image, { settled: { 'smoke:web': Promise.resolve(done) } });
    interrupted.abort.abort();
    await expect(createPackerExitStage(runsWith(Promise.resolve({ ok: false, reason: 'the build was interrupted' }))).run(context, step, interrupted)).rejects.toThrow(
      /Packer was interrupted after making us-east-1:ami-0123456789abcdef0; the next run resumes or cleans them up/,
    );
    expect(ec2Mock.commandCalls(CreateTagsCommand)).toHaveLength(0);
  });

  it('keeps its mark through an interrupt while it waits for a smoke verdict: marked before, marked again after the smoke step ended', async () => {
    let endSmoke: (result: StepResult) => void = () => undefined;
    const smoke = new Promise<StepResult>((resolve) => (endSmoke = resolve));
    let askedForVerdict: () => void = () => undefined;
    const asked = new Promise<void>((resolve) => (askedForVerdict = resolve));
    const run = stepRunFixture(image, {
      settled: {
        get 'smoke:web'() {
          askedForVerdict();
          return smoke;
        },
      },
    });
    const stage = createPackerExitStage(runsWith(Promise.resolve({ ok: false, reason: 'exit 1' })));
    const exiting = stage.run(context, step, run);
    await asked;
    expect(failedMarks()).toHaveLength(1);
    // Packer failed on its own, then the run is interrupted: the smoke step, stopped, lands its passing verdict anyway.
    run.abort.abort();
    setStatusTo('tested');
    endSmoke(done);
    await expect(exiting).rejects.toThrow(/Packer build failed for image "web" after making/);
    expect(failedMarks()).toHaveLength(2);
    expect(status).toBe('failed');
  });

  it('still fails saying why when AWS refuses the marks, and says the AMI may be unmarked', async () => {
    ec2Mock.on(CreateTagsCommand).rejects(Object.assign(new Error('Rate exceeded'), { name: 'RequestLimitExceeded' }));
    const run = stepRunFixture(image, { settled: { 'smoke:web': Promise.resolve(done) } });
    const failure = (await createPackerExitStage(runsWith(Promise.resolve({ ok: false, reason: 'exit 1' })))
      .run(context, step, run)
      .catch((error: unknown) => error)) as StepFailure;
    expect(failure).toBeInstanceOf(StepFailure);
    expect(failure.message).toBe(`Packer build failed for image "web" after making us-east-1:${amiId}: exit 1`);
    expect(failure.details.join('\n')).toMatch(/could not mark them failed: .*Rate exceeded.*a later run that finds them unmarked tests them again or cleans them up/);
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
