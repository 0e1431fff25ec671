/**
 * Telling people, through the real CLI on moto with real Packer (issue 18, "Tell people"): with settings `notify`,
 * an SQS queue subscribed to the SNS topic and an EventBridge rule routing gild's events to another queue receive
 * what gild published, what failed, what was revoked, rolled back, restored and retired, each with the image, version,
 * regions, AMIs, reason and the report's link. A topic that does not exist fails nothing: the publish stands, and the
 * report says who was not told.
 */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { PutRuleCommand, PutTargetsCommand, EventBridgeClient } from '@aws-sdk/client-eventbridge';
import { CreateTopicCommand, SNSClient, SubscribeCommand } from '@aws-sdk/client-sns';
import { CreateQueueCommand, GetQueueAttributesCommand, ReceiveMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runReportSchema } from '../../src/report/report-schema.ts';
import { parametersUnder } from '../support/aws-state.ts';
import { startMoto, type MotoServer } from '../support/moto.ts';
import { createTempProject, imageSource, repoRoot, type TempProject } from '../support/project.ts';

const regions = ['us-east-1', 'us-west-2'];
const missingTopic = 'arn:aws:sns:us-east-1:123456789012:nobody-listens';

interface Told {
  event: string;
  image: string;
  version?: string;
  regions: string[];
  amis: Record<string, string>;
  reason: string;
  report: string;
  runId: string;
  notificationId: string;
  details: Record<string, string>;
}

describe('notifications on SNS and EventBridge, received on SQS', () => {
  let moto: MotoServer;
  let project: TempProject;
  let sqs: SQSClient;
  let topicQueue: string;
  let eventQueue: string;

  async function queueArn(url: string): Promise<string> {
    return (await sqs.send(new GetQueueAttributesCommand({ QueueUrl: url, AttributeNames: ['QueueArn'] }))).Attributes!.QueueArn!;
  }

  /** Every message waiting on a queue (moto answers at once; at most 10 a call). */
  async function drain(url: string): Promise<unknown[]> {
    const bodies: unknown[] = [];
    for (;;) {
      const { Messages } = await sqs.send(new ReceiveMessageCommand({ QueueUrl: url, MaxNumberOfMessages: 10, VisibilityTimeout: 3600 }));
      if (!Messages || Messages.length === 0) return bodies;
      bodies.push(...Messages.map((message) => JSON.parse(message.Body!) as unknown));
    }
  }

  beforeAll(async () => {
    moto = await startMoto();
    const config = { region: 'us-east-1', endpoint: moto.endpoint, credentials: { accessKeyId: 'test', secretAccessKey: 'test' } };
    sqs = new SQSClient(config);
    const sns = new SNSClient(config);
    const events = new EventBridgeClient(config);
    topicQueue = (await sqs.send(new CreateQueueCommand({ QueueName: 'golden-images-topic' }))).QueueUrl!;
    eventQueue = (await sqs.send(new CreateQueueCommand({ QueueName: 'golden-images-events' }))).QueueUrl!;
    const topicArn = (await sns.send(new CreateTopicCommand({ Name: 'golden-images' }))).TopicArn!;
    // Raw delivery: the queue receives gild's message itself, not SNS's envelope around it.
    await sns.send(new SubscribeCommand({ TopicArn: topicArn, Protocol: 'sqs', Endpoint: await queueArn(topicQueue), Attributes: { RawMessageDelivery: 'true' } }));
    await events.send(new PutRuleCommand({ Name: 'gild-images', EventPattern: JSON.stringify({ source: ['com.example.gild'], 'detail-type': [{ prefix: 'gild.image.' }] }) }));
    await events.send(new PutTargetsCommand({ Rule: 'gild-images', Targets: [{ Id: 'queue', Arn: await queueArn(eventQueue) }] }));
    const shipped = await readFile(path.join(repoRoot, 'pipeline/settings.ts'), 'utf8');
    const settings = shipped.replace(
      'export default defineSettings({',
      `export default defineSettings({\n  notify: { sns: ['${topicArn}'], images: { broken: { sns: ['${missingTopic}'] } }, eventBridge: { source: 'com.example.gild' } },`,
    );
    project = await createTempProject({
      settings,
      images: {
        'web.ts': imageSource({ name: 'web' }),
        // Packer cannot start from an AMI that does not exist: the build fails at run time.
        'broken.ts': imageSource({ name: 'broken', base: "{ ami: 'ami-0123456789abcdef0' }" }),
      },
    });
  });
  afterAll(async () => {
    await project?.remove();
    await moto?.stop();
  });

  const gild = async (args: string[]) => {
    const result = await project.gild(args, { ...moto.env, GILD_SMOKE_POLL_MS: '100' });
    expect(result.stderr + result.stdout).not.toMatch(/internal error/);
    return result;
  };

  it('shows every notification in the plan, tells the topic and the bus what was published and what failed, and a missing topic fails no publish', async () => {
    const planned = await gild(['plan']);
    expect(planned.stdout).toMatch(/notify arn:aws:sns:us-east-1:123456789012:golden-images of gild\.image\.published 1\.0\.0 — tell .* that web 1\.0\.0 is published/);
    expect(planned.stdout).toContain('if a step of it fails: notify EventBridge bus default in us-east-1 of gild.image.failed 1.0.0');
    expect(planned.stdout).toContain(`notify ${missingTopic} of gild.image.published 1.0.0`);

    const run = await gild(['run', '--json']);
    // broken fails (exit 1); web is published.
    expect(run.exitCode, run.stderr).toBe(1);
    const report = runReportSchema.parse(JSON.parse(run.stdout));
    const web = report.images.find((image) => image.image === 'web')!;
    expect(web.result).toBe('published');
    const amis = Object.fromEntries(await Promise.all(regions.map(async (region) => [region, (await parametersUnder(moto.endpoint, region, '/golden/web'))['/golden/web/versions/1.0.0']!])));

    const topic = (await drain(topicQueue)) as Told[];
    const events = (await drain(eventQueue)) as { source: string; 'detail-type': string; resources: string[]; detail: Told }[];
    expect(topic.map((told) => `${told.event} ${told.image}`).sort()).toEqual(['gild.image.failed broken', 'gild.image.published web']);
    const published = topic.find((told) => told.event === 'gild.image.published')!;
    expect(published).toMatchObject({ image: 'web', version: '1.0.0', regions, amis, runId: report.runId, reason: web.reason });
    expect(published.notificationId).toMatch(new RegExp(`^${report.runId}/notify:web:published:1\\.0\\.0:`));
    // Off CI the link is the report's path on the machine that ran; the report is there.
    expect(published.report).toBe(path.join(project.dir, '.gild/runs', report.runId, 'report.md'));
    expect(await readFile(published.report, 'utf8')).toContain(`## gild run \`${report.runId}\``);
    const failed = topic.find((told) => told.event === 'gild.image.failed')!;
    expect(failed).toMatchObject({ image: 'broken', version: '1.0.0', amis: {} });
    expect(failed.reason).toMatch(/^broken 1\.0\.0 did not publish \(.+\): build:broken failed: Packer build failed for image "broken"/);

    expect(events.map((event) => `${event.source} ${event['detail-type']} ${event.detail.image}`).sort()).toEqual([
      'com.example.gild gild.image.failed broken',
      'com.example.gild gild.image.published web',
    ]);
    const publishedEvent = events.find((event) => event['detail-type'] === 'gild.image.published')!;
    expect(publishedEvent.detail).toMatchObject({ image: 'web', version: '1.0.0', amis });
    expect([...publishedEvent.resources].sort()).toEqual(regions.map((region) => `arn:aws:ec2:${region}::image/${amis[region]}`).sort());

    // The broken image's own topic does not exist: that notification failed, said in the report, and failed nothing else.
    const broken = report.images.find((image) => image.image === 'broken')!;
    expect(broken.failure?.stage).toBe('build');
    expect(broken.notifications).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ event: 'gild.image.failed', target: missingTopic, status: 'failed' }),
        expect.objectContaining({ event: 'gild.image.failed', status: 'sent' }),
      ]),
    );
    expect(web.notifications?.map((sent) => `${sent.event} ${sent.status}`).sort()).toEqual([
      'gild.image.failed skipped',
      'gild.image.failed skipped',
      'gild.image.published sent',
      'gild.image.published sent',
    ]);
    expect(report.warnings).toEqual([expect.stringContaining(`broken: could not tell ${missingTopic} of gild.image.failed`)]);
  });

  it('tells of a revoke (reason, who, replacement), the rollback and the restore, each after its steps', async () => {
    expect((await gild(['run', 'web', '--force'])).exitCode).toBe(0);
    await drain(topicQueue);
    await drain(eventQueue);

    const revoked = await gild(['revoke', 'web', '1.0.1', '--reason', 'CVE-2026-4242 in openssl']);
    expect(revoked.exitCode, revoked.stdout + revoked.stderr).toBe(0);
    expect(revoked.stdout).toContain('notify arn:aws:sns:us-east-1:123456789012:golden-images of gild.image.revoked 1.0.1');
    const [told, ...more] = (await drain(topicQueue)) as Told[];
    expect(more).toEqual([]);
    const revokedAmis = Object.fromEntries(await Promise.all(regions.map(async (region) => [region, (await parametersUnder(moto.endpoint, region, '/golden/web'))['/golden/web/versions/1.0.1']!])));
    expect(told).toMatchObject({
      event: 'gild.image.revoked',
      image: 'web',
      version: '1.0.1',
      reason: 'CVE-2026-4242 in openssl',
      amis: revokedAmis,
      details: { replacement: '1.0.0', disabled: 'false' },
    });
    expect(told!.details.by).toMatch(/@/);
    expect(((await drain(eventQueue)) as { 'detail-type': string }[]).map((event) => event['detail-type'])).toEqual(['gild.image.revoked']);

    const restored = await gild(['restore', 'web', '1.0.1', '--reason', 'not affected']);
    expect(restored.exitCode, restored.stdout + restored.stderr).toBe(0);
    expect(((await drain(topicQueue)) as Told[]).map((entry) => `${entry.event} ${entry.version} ${entry.reason}`)).toEqual(['gild.image.restored 1.0.1 not affected']);

    const rolledBack = await gild(['rollback', 'web', '--reason', 'boot loops']);
    expect(rolledBack.exitCode, rolledBack.stdout + rolledBack.stderr).toBe(0);
    const [rollback] = (await drain(topicQueue)) as Told[];
    expect(rollback).toMatchObject({ event: 'gild.image.rolled-back', image: 'web', version: '1.0.0', reason: 'boot loops', details: { pointers: 'latest, v1' } });
  });
});
