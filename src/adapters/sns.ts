/**
 * The SNS adapter: publish one notification to a topic (settings `notify.sns`). gild only publishes; the topics and
 * their subscriptions (an SQS queue, e-mail, a chat hook) are the organisation's.
 */
import { PublishCommand, SNSClient as SnsClient } from '@aws-sdk/client-sns';
import type { SNSClient } from '@aws-sdk/client-sns';
import { awsCall } from './aws-call.ts';
import { awsClientConfig, nameActionOnErrors } from './aws-client-config.ts';
import type { AwsClients } from './aws-clients.ts';

export type { SNSClient };

/** SNS allows a Subject of at most 100 characters, printable ASCII, on one line. */
const maxSubjectLength = 100;

// NOTE: kept beside the context's clients rather than in them (as clientsInAccount does), so that every AwsClients a
// test makes can reach SNS without knowing of it; one client per region, for as long as those clients live.
const snsClientsOf = new WeakMap<AwsClients, Map<string, SNSClient>>();

/** The SNS client of a region, with the same credentials, endpoint override and retry policy as the EC2 and SSM clients. */
export function snsClient(clients: AwsClients, env: Readonly<Record<string, string | undefined>>, region: string): SNSClient {
  let byRegion = snsClientsOf.get(clients);
  if (!byRegion) snsClientsOf.set(clients, (byRegion = new Map()));
  let client = byRegion.get(region);
  if (!client) byRegion.set(region, (client = nameActionOnErrors(new SnsClient(awsClientConfig(region, env.AWS_ENDPOINT_URL_SNS ?? env.AWS_ENDPOINT_URL, env)), 'sns')));
  return client;
}

/** The region a topic ARN names (`arn:aws:sns:<region>:<account>:<name>`): where it must be published to. */
export const regionOfTopic = (topicArn: string): string => topicArn.split(':')[3] ?? '';

export interface SnsNotification {
  readonly topicArn: string;
  readonly subject: string;
  /** The message body (JSON). */
  readonly message: string;
  /** String attributes subscribers can filter on (`event`, `image`). */
  readonly attributes: Readonly<Record<string, string>>;
  /**
   * Unique per notification and the same on every retry: a FIFO topic (`….fifo`) drops a second copy within its
   * five-minute deduplication window. A standard topic has no deduplication: delivery is at least once. SNS allows at
   * most 128 characters of [A-Za-z0-9] and punctuation: the caller passes a digest (src/stages/notify.ts).
   */
  readonly deduplicationId: string;
  /** A FIFO topic's message group: messages of one group arrive in order. */
  readonly groupId: string;
}

/** Publishes one message; answers SNS's MessageId. */
export async function publishNotification(client: SNSClient, notification: SnsNotification): Promise<string | undefined> {
  const fifo = notification.topicArn.endsWith('.fifo');
  const published = await awsCall('sns:Publish', notification.topicArn, () =>
    client.send(
      new PublishCommand({
        TopicArn: notification.topicArn,
        Subject: snsSubject(notification.subject),
        Message: notification.message,
        MessageAttributes: Object.fromEntries(Object.entries(notification.attributes).map(([name, value]) => [name, { DataType: 'String', StringValue: value }])),
        ...(fifo ? { MessageGroupId: notification.groupId, MessageDeduplicationId: notification.deduplicationId } : {}),
      }),
    ),
  );
  return published.MessageId;
}

/** A subject SNS accepts: printable ASCII on one line (anything else becomes `?`), at most 100 characters. */
export function snsSubject(subject: string): string {
  const printable = subject.replace(/[^\x20-\x7e]/g, '?').trim();
  return printable.slice(0, maxSubjectLength);
}
