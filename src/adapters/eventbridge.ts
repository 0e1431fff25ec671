/**
 * The EventBridge adapter: put one gild event on a bus (settings `notify.eventBridge`), for rules to route anywhere.
 */
import { EventBridgeClient as EventBridgeSdkClient, PutEventsCommand } from '@aws-sdk/client-eventbridge';
import type { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import { GildError } from '../errors.ts';
import { awsCall } from './aws-call.ts';
import { awsClientConfig, nameActionOnErrors } from './aws-client-config.ts';
import type { AwsClients } from './aws-clients.ts';

export type { EventBridgeClient };

// NOTE: beside the context's clients, as in sns.ts: one client per region for as long as those clients live.
const eventClientsOf = new WeakMap<AwsClients, Map<string, EventBridgeClient>>();

/** The EventBridge client of a region, configured like the EC2 and SSM clients. */
export function eventBridgeClient(clients: AwsClients, env: Readonly<Record<string, string | undefined>>, region: string): EventBridgeClient {
  let byRegion = eventClientsOf.get(clients);
  if (!byRegion) eventClientsOf.set(clients, (byRegion = new Map()));
  let client = byRegion.get(region);
  if (!client) byRegion.set(region, (client = nameActionOnErrors(new EventBridgeSdkClient(awsClientConfig(region, env.AWS_ENDPOINT_URL_EVENTBRIDGE ?? env.AWS_ENDPOINT_URL, env)), 'events')));
  return client;
}

export interface GildEvent {
  /** A bus name (`default`) or ARN. */
  readonly bus: string;
  readonly source: string;
  /** `gild.image.published`, … */
  readonly detailType: string;
  /** The event's detail (JSON, at most 256 KB with the rest of the entry). */
  readonly detail: string;
  /** ARNs the event is about (the AMIs), for rules that match on `resources`. */
  readonly resources: readonly string[];
}

/**
 * Puts one event; answers its EventId. PutEvents answers 200 even when it refused the entry (FailedEntryCount): that
 * is a failure here, with EventBridge's code and message.
 */
export async function putGildEvent(client: EventBridgeClient, event: GildEvent): Promise<string | undefined> {
  const answer = await awsCall('events:PutEvents', event.bus, () =>
    client.send(new PutEventsCommand({ Entries: [{ EventBusName: event.bus, Source: event.source, DetailType: event.detailType, Detail: event.detail, Resources: [...event.resources] }] })),
  );
  const [entry] = answer.Entries ?? [];
  if ((answer.FailedEntryCount ?? 0) > 0 || !entry || entry.ErrorCode) {
    throw new GildError(
      'EAWS',
      'pipeline',
      `EventBridge refused the event ${event.detailType} on bus ${event.bus}: ${entry?.ErrorCode ?? 'no entry answered'}${entry?.ErrorMessage ? ` (${entry.ErrorMessage})` : ''}`,
    );
  }
  return entry.EventId;
}
