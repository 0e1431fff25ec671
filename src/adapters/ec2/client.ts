/**
 * What every EC2 verb shares: the client for one region, gild's filter and tag shapes, and the batching AWS's limits
 * ask for. The SDK's own types stay in this folder: what the verbs return is gild's.
 */
import type { EC2Client, EC2ClientConfig, Tag } from '@aws-sdk/client-ec2';
// NOTE: imported by name, so that the bundle gild runs (src/bin/build-engine.js) holds only these commands, tree-shaken
// from the SDK's ES modules; the package's entry point, one CommonJS file with every command of the service, was most
// of gild's start-up.
import { CreateTagsCommand, EC2Client as Ec2Client } from '@aws-sdk/client-ec2';
import { awsCall } from '../aws-call.ts';
import { awsClientConfig, nameActionOnErrors } from '../aws-client-config.ts';

// NOTE: the client's type, re-exported so that code above the adapters names it without importing the SDK.
export type { EC2Client };

/**
 * An EC2 client for one region, talking to `endpoint` when one is set (an emulator); `overrides` give another
 * account's credentials (sts.ts) or fewer attempts.
 */
export function createEc2Client(
  region: string,
  endpoint: string | undefined,
  env: Readonly<Record<string, string | undefined>>,
  overrides: Pick<EC2ClientConfig, 'credentials' | 'maxAttempts'> = {},
): EC2Client {
  return nameActionOnErrors(new Ec2Client({ ...awsClientConfig(region, endpoint, env), ...overrides }), 'ec2');
}

/** An EC2 Describe filter, as the API spells it (`{ Name: 'tag-key', Values: ['gild:image'] }`). */
export interface Ec2Filter {
  readonly Name: string;
  readonly Values: readonly string[];
}

export const toSdkFilters = (filters: readonly Ec2Filter[]) => filters.map((filter) => ({ Name: filter.Name, Values: [...filter.Values] }));

export function tagsToRecord(tags: readonly Tag[] | undefined): Record<string, string> {
  return Object.fromEntries((tags ?? []).filter((tag) => tag.Key !== undefined).map((tag) => [tag.Key!, tag.Value ?? '']));
}

export function recordToTags(tags: Readonly<Record<string, string>>): Tag[] {
  return Object.entries(tags).map(([Key, Value]) => ({ Key, Value }));
}

/** A value as EC2 keeps it: a tag value is at most 256 characters (a reason or a name may be longer). */
export const tagValue = (text: string): string => text.slice(0, 256);

export async function createTags(ec2: EC2Client, resourceIds: readonly string[], tags: Readonly<Record<string, string>>): Promise<void> {
  if (resourceIds.length === 0) return;
  await awsCall('tag', resourceIds.join(', '), () => ec2.send(new CreateTagsCommand({ Resources: [...resourceIds], Tags: recordToTags(tags) })));
}

/** AWS takes at most 200 values in one filter. */
export const maxFilterValues = 200;

export function chunk<T>(items: readonly T[], size: number): T[][] {
  const chunks: T[][] = [];
  for (let start = 0; start < items.length; start += size) chunks.push(items.slice(start, start + size));
  return chunks;
}
