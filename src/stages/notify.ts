/**
 * Tell people: send one planned notification (src/plan/plan-notifications.ts) to its SNS topic or EventBridge bus.
 * What the plan could not know is read here from the steps it waited for: the AMIs a publish (or a build) gave, and,
 * for `notify-failure`, which step failed and why. Best effort by its row (`failsImage: false`): a failure here is in
 * the report and the log, never the image's outcome.
 *
 * Sent at least once: a retry after a lost answer may send it again. Each message carries a `notificationId` that is
 * the same on every attempt, and a FIFO topic is given its SHA-256 (hex) as MessageDeduplicationId, so SNS itself
 * drops the copy.
 */
import { createHash } from 'node:crypto';
import type { StepRun, StepStage } from '../apply/step-stage.ts';
import type { Context } from '../context.ts';
import { partitionOf } from '../definition/aws-regions.ts';
import { notificationOf, reportLink, subjectOf } from '../notify/notification.ts';
import type { StepOfKind } from '../plan/run-plan.ts';

type NotifyKind = 'notify' | 'notify-failure';

/**
 * A FIFO topic's MessageDeduplicationId: SNS allows at most 128 characters of [A-Za-z0-9] and punctuation, and the
 * readable notification ID (`<runId>/<step id>`, the step id holding the topic's full ARN) exceeds that easily. Its
 * SHA-256 in hex is 64 characters, the same on every retry; the readable ID stays in the message body.
 */
export function deduplicationIdOf(notificationId: string): string {
  return createHash('sha256').update(notificationId).digest('hex');
}

/** The AMIs (region → AMI ID) a done step gave in its output (a publish, a build), or undefined. */
function amisIn(output: unknown): Readonly<Record<string, string>> | undefined {
  const amis = typeof output === 'object' && output !== null ? (output as { amis?: unknown }).amis : undefined;
  return typeof amis === 'object' && amis !== null ? (amis as Record<string, string>) : undefined;
}

/** The AMIs the step names, or those the step it waits for gave (a publish, a build that got that far). */
async function amisOf(step: StepOfKind<NotifyKind>, run: StepRun): Promise<Readonly<Record<string, string>>> {
  if ('amis' in step.amis) return step.amis.amis;
  const result = await run.settled(step.amis.from);
  return (result?.status === 'done' ? amisIn(result.output) : undefined) ?? {};
}

/** For a failure: which step it waited for failed, and why (the first, in the plan's order). */
async function failureOf(step: StepOfKind<NotifyKind>, run: StepRun): Promise<string | undefined> {
  for (const id of step.after) {
    const result = await run.settled(id);
    if (result?.status === 'failed') return `${id} failed: ${result.reason}`;
  }
  return undefined;
}

/**
 * A failure in the words of what happened: before the publish, the version did not publish; once the publish step is
 * done, the version is published (its pointers name it) and a later step (retire, protect, a distribution account's)
 * failed. The publish's result is read, not assumed: the plan cannot know which step will fail.
 */
async function failureReportOf(step: StepOfKind<NotifyKind>, run: StepRun): Promise<{ reason: string; published: boolean; amis: Readonly<Record<string, string>> | undefined }> {
  const failure = (await failureOf(step, run)) ?? 'a step failed';
  const publish = step.publishStep ? await run.settled(step.publishStep) : undefined;
  const what = `${step.image}${step.version ? ` ${step.version}` : ''}`;
  if (publish?.status !== 'done') return { reason: `${what} did not publish (${step.message}): ${failure}`, published: false, amis: undefined };
  return { reason: `${what} was published (${step.message}), then a later step failed: ${failure}`, published: true, amis: amisIn(publish.output) };
}

async function send(context: Context, step: StepOfKind<NotifyKind>, run: StepRun) {
  const failure = step.kind === 'notify-failure' ? await failureReportOf(step, run) : undefined;
  const amis = failure?.amis ?? (await amisOf(step, run));
  const notification = notificationOf({
    event: step.event,
    image: step.image,
    version: step.version,
    regions: step.regions,
    amis,
    reason: failure ? failure.reason : step.message,
    report: reportLink(context.env, run.runDir),
    runId: context.runId,
    stepId: step.id,
    at: context.now(),
    details: failure ? { ...step.details, published: String(failure.published) } : step.details,
  });
  const body = JSON.stringify(notification);
  // NOTE: each client is loaded when a notification is sent through it, not with the run: most runs notify no one, and
  // the SNS and EventBridge clients were 60 kB of the bundle that every `gild run` compiled at start-up.
  if (step.target.kind === 'sns') {
    const { publishNotification, regionOfTopic, snsClient } = await import('../adapters/sns.ts');
    const { topicArn } = step.target;
    const messageId = await publishNotification(snsClient(context.clients, context.env, regionOfTopic(topicArn)), {
      topicArn,
      subject: subjectOf(notification),
      message: body,
      attributes: { event: notification.event, image: step.image },
      deduplicationId: deduplicationIdOf(notification.notificationId),
      groupId: step.image,
    });
    return { target: topicArn, messageId };
  }
  const { bus, source, region } = step.target;
  const { putGildEvent, eventBridgeClient } = await import('../adapters/eventbridge.ts');
  const messageId = await putGildEvent(eventBridgeClient(context.clients, context.env, region), {
    bus,
    source,
    detailType: notification.event,
    detail: body,
    resources: Object.entries(amis).map(([amiRegion, amiId]) => `arn:${partitionOf(amiRegion)}:ec2:${amiRegion}::image/${amiId}`),
  });
  return { target: `EventBridge bus ${bus} in ${region}`, messageId };
}

const title = (step: StepOfKind<NotifyKind>) => `notify ${step.target.kind === 'sns' ? step.target.topicArn : `EventBridge bus ${step.target.bus}`} of gild.image.${step.event}`;

// Nothing to re-check: a notification changes nothing, and says what happened as the steps it waited for left it.
const check = async () => false as const;

async function run(context: Context, step: StepOfKind<NotifyKind>, stepRun: StepRun) {
  const sent = await send(context, step, stepRun);
  stepRun.summary.push(`told ${sent.target} of gild.image.${step.event}${step.version ? ` ${step.version}` : ''}`);
  return sent;
}

export const notifyStage: StepStage<'notify'> = { kind: 'notify', title, check, run };
export const notifyFailureStage: StepStage<'notify-failure'> = { kind: 'notify-failure', title, check, run };
