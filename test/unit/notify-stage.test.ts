/**
 * The notify stage at the adapter seam (aws-sdk-client-mock): what SNS and EventBridge are asked, exactly. The moto
 * end-to-end (test/integration/notify.test.ts) proves delivery to SQS; these pin the requests' fields (a FIFO topic's
 * deduplication, the report's link) and what a refusal does. And through the runner: a notification that fails is in
 * the report, never the image's failure.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { EventBridgeClient, PutEventsCommand } from '@aws-sdk/client-eventbridge';
import { PublishCommand, SNSClient } from '@aws-sdk/client-sns';
import { mockClient } from 'aws-sdk-client-mock';
import { afterAll, afterEach, beforeEach, describe, expect, it } from 'vitest';
import { applyRun } from '../../src/apply/run-trip.ts';
import type { StageRow, StageTable, StepResult } from '../../src/apply/step-stage.ts';
import { stepTable } from '../../src/apply/step-table.ts';
import { createContext, type Context } from '../../src/context.ts';
import { createMemoryLogger } from '../../src/logger.ts';
import { planSchemaVersion, type PlanStep, type PlanStepKind, type RunPlan } from '../../src/plan/run-plan.ts';
import { buildRunReport } from '../../src/report/build-run-report.ts';
import { renderReportMarkdown } from '../../src/report/render-report-markdown.ts';
import { pipelineSettingsSchema } from '../../src/settings/schema.ts';
import { deduplicationIdOf, notifyFailureStage, notifyStage } from '../../src/stages/notify.ts';
import { noAwsClients } from '../support/no-aws-clients.ts';
import { resolvedImageFixture } from '../support/resolved-image-fixture.ts';
import { stepRunFixture } from '../support/step-run-fixture.ts';

const runId = '20261129T120000Z-note00';
const amis = { 'us-east-1': 'ami-0aaaaaaaaaaaaaaa1', 'us-west-2': 'ami-0bbbbbbbbbbbbbbb2' };
const image = resolvedImageFixture({ name: 'web', copyRegions: ['us-west-2'] });
type NotifyStep = Extract<PlanStep, { kind: 'notify' }>;

/** A notify step; given `kind: 'notify-failure'` it is one of those (the same fields), typed as the stage under test takes it. */
function notifyStep(overrides: Omit<Partial<NotifyStep>, 'kind'> & { kind?: 'notify' | 'notify-failure' } = {}): NotifyStep {
  return {
    id: 'notify:web:published:1.0.1:arn:aws:sns:us-east-1:123456789012:golden.fifo',
    kind: 'notify',
    image: 'web',
    event: 'published',
    version: '1.0.1',
    target: { kind: 'sns', topicArn: 'arn:aws:sns:us-east-1:123456789012:golden.fifo' },
    regions: ['us-east-1', 'us-west-2'],
    amis: { from: 'publish:web' },
    message: 'rebuild: the base AMI changed',
    details: { previousVersion: '1.0.0' },
    after: ['publish:web'],
    reason: 'tell people',
    precondition: 'none',
    ...overrides,
  } as NotifyStep;
}

const done = (output: unknown): Promise<StepResult> => Promise.resolve({ status: 'done', output, durationMs: 1 } as StepResult);

let context: Context;
let cwd: string;
const sns = mockClient(SNSClient);
const events = mockClient(EventBridgeClient);
beforeEach(async () => {
  cwd = await mkdtemp(path.join(tmpdir(), 'gild-notify-'));
  const env = { GITHUB_SERVER_URL: 'https://github.com', GITHUB_REPOSITORY: 'acme/images', GITHUB_RUN_ID: '42' };
  context = createContext({ cwd, env, logger: createMemoryLogger(), settings: pipelineSettingsSchema.parse({}), clients: noAwsClients, runId, now: () => new Date('2026-11-29T12:00:00.000Z') });
  sns.reset();
  events.reset();
});
afterEach(async () => {
  await rm(cwd, { recursive: true, force: true });
});
// NOTE: the unit files share their worker's modules: the SDK clients' classes are given back unmocked.
afterAll(() => {
  sns.restore();
  events.restore();
});

describe('the notify stage', () => {
  it('publishes to a FIFO topic with the notification’s own deduplication ID (the same on every retry) and the image as the group', async () => {
    sns.on(PublishCommand).resolves({ MessageId: 'm-1' });
    const step = notifyStep();
    const run = stepRunFixture(image, { settled: { 'publish:web': done({ version: '1.0.1', amis }) } });
    await expect(notifyStage.run(context, step, run)).resolves.toEqual({ target: step.target.kind === 'sns' ? step.target.topicArn : '', messageId: 'm-1' });
    const [call] = sns.commandCalls(PublishCommand);
    const input = call!.args[0].input;
    expect(input).toMatchObject({
      TopicArn: 'arn:aws:sns:us-east-1:123456789012:golden.fifo',
      Subject: 'gild: web 1.0.1 published',
      MessageGroupId: 'web',
      MessageDeduplicationId: deduplicationIdOf(`${runId}/${step.id}`),
      MessageAttributes: { event: { DataType: 'String', StringValue: 'gild.image.published' }, image: { DataType: 'String', StringValue: 'web' } },
    });
    expect(JSON.parse(input.Message!)).toEqual({
      event: 'gild.image.published',
      image: 'web',
      version: '1.0.1',
      regions: ['us-east-1', 'us-west-2'],
      amis,
      reason: 'rebuild: the base AMI changed',
      report: 'https://github.com/acme/images/actions/runs/42',
      runId,
      notificationId: `${runId}/${step.id}`,
      at: '2026-11-29T12:00:00.000Z',
      details: { previousVersion: '1.0.0' },
    });
    expect(run.summary).toEqual([`told arn:aws:sns:us-east-1:123456789012:golden.fifo of gild.image.published 1.0.1`]);
  });

  it('gives a FIFO topic a deduplication ID SNS accepts (≤128 of its characters) however long the image and topic, the same on every retry', async () => {
    sns.on(PublishCommand).resolves({ MessageId: 'm-long' });
    const longName = `web-${'x'.repeat(120)}`;
    const topicArn = `arn:aws:sns:us-east-1:123456789012:${'golden-images-'.repeat(15)}topic.fifo`;
    const step = notifyStep({ id: `notify:${longName}:published:1.0.1:${topicArn}`, image: longName, target: { kind: 'sns', topicArn } });
    const publishOnce = async () => {
      await notifyStage.run(context, step, stepRunFixture(image, { settled: { 'publish:web': done({ version: '1.0.1', amis }) } }));
      return sns.commandCalls(PublishCommand).at(-1)!.args[0].input;
    };
    const first = await publishOnce();
    const retried = await publishOnce();
    expect(`${runId}/${step.id}`.length).toBeGreaterThan(128);
    expect(first.MessageDeduplicationId).toMatch(/^[0-9a-f]{64}$/);
    expect(retried.MessageDeduplicationId).toBe(first.MessageDeduplicationId);
    // The readable ID stays in the body, for consumers of standard topics and EventBridge.
    expect(JSON.parse(first.Message!)).toMatchObject({ notificationId: `${runId}/${step.id}` });
  });

  it('sends no deduplication ID to a standard topic (SNS refuses one there), and says the report’s path off CI', async () => {
    sns.on(PublishCommand).resolves({ MessageId: 'm-2' });
    const local = createContext({ cwd, env: {}, logger: createMemoryLogger(), settings: pipelineSettingsSchema.parse({}), clients: noAwsClients, runId });
    const step = notifyStep({ target: { kind: 'sns', topicArn: 'arn:aws:sns:eu-west-1:123456789012:golden' }, amis: { amis } });
    await notifyStage.run(local, step, stepRunFixture(image, { runDir: '/work/.gild/runs/r1' }));
    const input = sns.commandCalls(PublishCommand)[0]!.args[0].input;
    expect(input.MessageDeduplicationId).toBeUndefined();
    expect(input.MessageGroupId).toBeUndefined();
    expect(JSON.parse(input.Message!)).toMatchObject({ amis, report: '/work/.gild/runs/r1/report.md' });
  });

  it('tells of a failure with the step that failed and why, and the AMIs the build made', async () => {
    sns.on(PublishCommand).resolves({ MessageId: 'm-3' });
    const step = notifyStep({
      kind: 'notify-failure',
      event: 'failed',
      target: { kind: 'sns', topicArn: 'arn:aws:sns:us-east-1:123456789012:golden' },
      amis: { from: 'build:web' },
      message: 'rebuild',
      details: {},
      after: ['lock:web', 'build:web', 'smoke:web', 'publish:web'],
      publishStep: 'publish:web',
    });
    const run = stepRunFixture(image, {
      settled: {
        'lock:web': done({}),
        'build:web': done({ amis, snapshots: {}, baseAmiId: 'ami-base' }),
        'smoke:web': Promise.resolve({ status: 'failed', reason: 'check nginx-running failed (exit 3)', error: new Error('x'), durationMs: 5 }),
        'publish:web': Promise.resolve({ status: 'skipped', reason: 'smoke:web failed' }),
      },
    });
    await notifyFailureStage.run(context, step as unknown as Extract<PlanStep, { kind: 'notify-failure' }>, run);
    const message = JSON.parse(sns.commandCalls(PublishCommand)[0]!.args[0].input.Message!) as { event: string; reason: string; amis: unknown };
    expect(message).toMatchObject({
      event: 'gild.image.failed',
      reason: 'web 1.0.1 did not publish (rebuild): smoke:web failed: check nginx-running failed (exit 3)',
      amis,
      details: { published: 'false' },
    });
  });

  it('tells of a failure after a successful publish as such: the version is published, and which later step failed', async () => {
    sns.on(PublishCommand).resolves({ MessageId: 'm-4' });
    const retire = 'retire:web:1.0.0:us-east-1:deregister';
    const step = notifyStep({
      kind: 'notify-failure',
      event: 'failed',
      target: { kind: 'sns', topicArn: 'arn:aws:sns:us-east-1:123456789012:golden' },
      amis: { from: 'build:web' },
      message: 'rebuild',
      details: {},
      after: ['lock:web', 'build:web', 'smoke:web', 'publish:web', retire],
      publishStep: 'publish:web',
    });
    const built = { 'us-east-1': 'ami-0aaaaaaaaaaaaaaa1' };
    const run = stepRunFixture(image, {
      settled: {
        'lock:web': done({}),
        'build:web': done({ amis: built, snapshots: {}, baseAmiId: 'ami-base' }),
        'smoke:web': done({}),
        'publish:web': done({ version: '1.0.1', amis }),
        [retire]: Promise.resolve({ status: 'failed', reason: 'DeregisterImage: UnauthorizedOperation', error: new Error('x'), durationMs: 5 }),
      },
    });
    await notifyFailureStage.run(context, step as unknown as Extract<PlanStep, { kind: 'notify-failure' }>, run);
    const message = JSON.parse(sns.commandCalls(PublishCommand)[0]!.args[0].input.Message!) as { reason: string };
    expect(message).toMatchObject({
      event: 'gild.image.failed',
      reason: `web 1.0.1 was published (rebuild), then a later step failed: ${retire} failed: DeregisterImage: UnauthorizedOperation`,
      // What the publish wrote (the copies too), not only what the build made.
      amis,
      details: { published: 'true' },
    });
    expect(message.reason).not.toContain('did not publish');
  });

  it('puts an EventBridge event with gild’s source and detail-type and the AMIs as resources; an entry EventBridge refuses is a failure', async () => {
    events
      .on(PutEventsCommand)
      .resolvesOnce({ FailedEntryCount: 0, Entries: [{ EventId: 'e-1' }] })
      .resolves({ FailedEntryCount: 1, Entries: [{ ErrorCode: 'InternalFailure', ErrorMessage: 'try later' }] });
    const step = notifyStep({ target: { kind: 'eventbridge', bus: 'golden', source: 'com.acme.gild', region: 'us-east-1' }, amis: { amis } });
    await expect(notifyStage.run(context, step, stepRunFixture(image))).resolves.toEqual({ target: 'EventBridge bus golden in us-east-1', messageId: 'e-1' });
    const [entry] = events.commandCalls(PutEventsCommand)[0]!.args[0].input.Entries!;
    expect(entry).toMatchObject({
      EventBusName: 'golden',
      Source: 'com.acme.gild',
      DetailType: 'gild.image.published',
      Resources: ['arn:aws:ec2:us-east-1::image/ami-0aaaaaaaaaaaaaaa1', 'arn:aws:ec2:us-west-2::image/ami-0bbbbbbbbbbbbbbb2'],
    });
    expect(JSON.parse(entry!.Detail!)).toMatchObject({ image: 'web', version: '1.0.1', amis });
    await expect(notifyStage.run(context, step, stepRunFixture(image))).rejects.toThrow('EventBridge refused the event gild.image.published on bus golden: InternalFailure (try later)');
  });
});

describe('a notification that fails, through the runner', () => {
  it('leaves the image published, and the report says who was not told, as a warning', async () => {
    sns.on(PublishCommand).rejects(Object.assign(new Error('Topic does not exist'), { name: 'NotFoundException' }));
    const kinds: PlanStepKind[] = ['lock', 'publish', 'release', 'notify', 'notify-failure'];
    const fake = (kind: PlanStepKind): StageRow<PlanStepKind> => ({
      kind,
      title: (step) => step.id,
      ...stepTable[kind],
      checkOutput: undefined,
      async run() {
        return (kind === 'publish' ? { version: '1.0.1', amis } : {}) as never;
      },
    });
    const stages = {
      ...Object.fromEntries(kinds.map((kind) => [kind, fake(kind)])),
      notify: { ...stepTable.notify, ...notifyStage },
      'notify-failure': { ...stepTable['notify-failure'], ...notifyFailureStage },
    } as unknown as StageTable;
    const common = { reason: 'test', precondition: 'test', image: 'web', region: 'us-east-1', parameterName: '/golden/web/lock' };
    const published = notifyStep({ target: { kind: 'sns', topicArn: 'arn:aws:sns:us-east-1:123456789012:gone' } });
    const failure = notifyStep({
      id: 'notify:web:failed',
      kind: 'notify-failure',
      event: 'failed',
      target: { kind: 'sns', topicArn: 'arn:aws:sns:us-east-1:123456789012:gone' },
      after: ['lock:web', 'publish:web'],
    });
    const plan: RunPlan = {
      schema: planSchemaVersion,
      runId,
      createdAt: '2026-11-29T12:00:00.000Z',
      ssmPrefix: '/golden',
      options: { force: false, images: ['web'] },
      observed: { at: '2026-11-29T12:00:00.000Z', digests: {} },
      images: [{ image: 'web', action: 'build', reason: 'rebuild', currentVersion: '1.0.0', nextVersion: '1.0.1' }],
      steps: [
        { ...common, id: 'lock:web', kind: 'lock', after: [] },
        { id: 'publish:web', kind: 'publish', image: 'web', version: '1.0.1', amis: { amis }, writes: [], after: ['lock:web'], reason: 'test', precondition: 'test' },
        { ...common, id: 'release:web', kind: 'release', after: ['lock:web', 'publish:web'] },
        published,
        failure,
      ],
      kept: [],
    };
    const { applied, outcomes } = await applyRun(context, plan, [image], { stages, signal: new AbortController().signal });
    expect(outcomes).toEqual([expect.objectContaining({ image: 'web', result: 'published', version: '1.0.1' })]);
    expect(applied.results.get(published.id)).toMatchObject({ status: 'failed' });
    expect(applied.results.get(failure.id)).toMatchObject({ status: 'skipped', reason: expect.stringContaining('not needed') });
    const report = buildRunReport({ applied, outcomes, command: 'gild run', startedAt: new Date(), finishedAt: new Date(), cwd, smokeReports: {}, logTails: {} });
    expect(report.result).toBe('succeeded');
    expect(report.images[0]!.notifications).toEqual([
      { event: 'gild.image.published', target: 'arn:aws:sns:us-east-1:123456789012:gone', version: '1.0.1', status: 'failed', outcome: expect.stringContaining('Topic does not exist') },
      { event: 'gild.image.failed', target: 'arn:aws:sns:us-east-1:123456789012:gone', version: '1.0.1', status: 'skipped', outcome: expect.stringContaining('not needed') },
    ]);
    expect(report.warnings).toEqual([expect.stringMatching(/^web: could not tell arn:aws:sns:us-east-1:123456789012:gone of gild.image.published: .*Topic does not exist/)]);
    const markdown = renderReportMarkdown(report);
    expect(markdown).toContain('Notifications:\n- `gild.image.published` 1.0.1 → arn:aws:sns:us-east-1:123456789012:gone: failed, ');
    expect(markdown).toContain('### Warnings');
  });

  it('sends the failure of an image the plan could not build, which waits for nothing and holds no lock', async () => {
    sns.on(PublishCommand).resolves({ MessageId: 'm-9' });
    const stages = { notify: { ...stepTable.notify, ...notifyStage } } as unknown as StageTable;
    const told = notifyStep({ id: 'notify:web:failed:-', event: 'failed', version: undefined, amis: { amis: {} }, after: [], message: 'no AMI matches my-base-*' });
    const plan: RunPlan = {
      schema: planSchemaVersion,
      runId,
      createdAt: '2026-11-29T12:00:00.000Z',
      ssmPrefix: '/golden',
      options: { force: false, images: ['web'] },
      observed: { at: '2026-11-29T12:00:00.000Z', digests: {} },
      images: [{ image: 'web', action: 'error', kind: 'pipeline', reason: 'no AMI matches my-base-*' }],
      steps: [told],
      kept: [],
    };
    const { applied, outcomes } = await applyRun(context, plan, [image], { stages, signal: new AbortController().signal });
    // Not refused as a change without the image's lock: its row takes no lease.
    expect(applied.results.get(told.id)).toMatchObject({ status: 'done', output: { messageId: 'm-9' } });
    expect(outcomes).toEqual([expect.objectContaining({ result: 'failed', stage: 'plan' })]);
    expect(JSON.parse(sns.commandCalls(PublishCommand)[0]!.args[0].input.Message!)).toMatchObject({ event: 'gild.image.failed', reason: 'no AMI matches my-base-*', amis: {} });
  });
});
