/**
 * A recording HTTP proxy in front of moto for the IAM simulation: every AWS
 * request gild and Packer send is kept with what IAM would look at when it
 * authorizes it — the action, the region, the caller's access key, the
 * request's parameters, and the tags of the resources it names *as they are
 * at that moment* (read from moto just before the request is forwarded, so a
 * CreateTags sees the tags the previous CreateTags left). The answer is kept
 * too, for the IDs of what the request created.
 *
 * moto itself ignores conditions and denies (EMULATOR.md); this proxy only
 * records, and test/support/iam-authorizations.ts turns each record into the
 * resource authorizations AWS's Service Authorization Reference lists for it.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { DescribeTagsCommand, EC2Client } from '@aws-sdk/client-ec2';
import { forwardUpstream, readBody, type UpstreamAnswer } from './forward-upstream.ts';

export interface RecordedRequest {
  /** Order of arrival. */
  readonly seq: number;
  /**
   * Who sent it, told by the SDK's User-Agent: Packer (aws-sdk-go) or gild (aws-sdk-js); `emulator-setup` for what
   * gild's emulator preparation (src/local/prepare-emulator.ts) sends moto and never sends AWS (signed `Signature=emulator`).
   */
  readonly sender: 'gild' | 'packer' | 'emulator-setup' | 'other';
  /** The signing service from the credential scope: ec2, ssm, iam, sts, autoscaling. */
  readonly service: string;
  readonly action: string;
  readonly region: string;
  readonly accessKeyId: string;
  /** Query-protocol parameters (`ResourceId.1`, `Tag.1.Key`, …) as sent. */
  readonly query: Readonly<Record<string, string>>;
  /** JSON-protocol input (SSM). */
  readonly json: Readonly<Record<string, unknown>>;
  /** Resource ID → its tags just before the request was forwarded (only resources the request names; none for an EC2 Describe*). */
  readonly tagsBefore: Readonly<Record<string, Readonly<Record<string, string>>>>;
  readonly status: number;
  readonly answer: string;
}

export interface IamRecorder {
  readonly endpoint: string;
  /** `base` with AWS_ENDPOINT_URL pointing at the recorder. */
  env(base: Readonly<Record<string, string>>): Record<string, string>;
  readonly requests: readonly RecordedRequest[];
  /** Access keys moto's STS handed out, and the role each acts as (for the distribution-account policy). */
  readonly assumedRoles: ReadonlyMap<string, string>;
  reset(): void;
  /**
   * With moto's IAM enforcement on (moto-iam.ts), the recorder's own tag reads must be signed by a user moto knows
   * and allowed: they are made as `credentials` (an administrator of the pipeline account) until called again
   * without. Unset (the default), they are signed with the caller's access key and no valid signature, which moto
   * accepts only while its checks are off, and they act in the caller's account (assumed roles included).
   */
  signOwnCallsAs(credentials: { accessKeyId: string; secretAccessKey: string } | undefined): void;
  stop(): Promise<void>;
}

/** Sends a request to moto; `host` is kept as signed when given (moto checks the signature while IAM is enforced). */
function forward(target: URL, method: string, path: string, headers: IncomingMessage['headers'], body: Buffer, host = target.host): Promise<UpstreamAnswer> {
  return forwardUpstream(target, method, path, { ...headers, host }, body);
}

/** Query parameters whose values are EC2 resource IDs whose tags IAM may condition on. */
const resourceIdParameter = /^(ResourceId\.\d+|ImageId|InstanceId(\.\d+)?|SnapshotId|VolumeId|GroupId|SecurityGroupId\.\d+|SubnetId|SourceImageId)$/;

/**
 * The EC2 resource IDs a request names whose tags its authorization can read, by the region they live in (CopyImage's
 * source lives in SourceRegion). An EC2 Describe* is authorized on `*` with no resource tags (iam-authorizations.ts):
 * its tags are not read, which spares moto a DescribeTags for every poll of an instance's or an image's state.
 */
function namedResources(service: string, region: string, query: Record<string, string>, json: Record<string, unknown>): Map<string, string[]> {
  const byRegion = new Map<string, string[]>();
  const add = (where: string, id: string) => byRegion.set(where, [...(byRegion.get(where) ?? []), id]);
  if (service === 'ec2' && !/^Describe/.test(query.Action ?? '')) {
    for (const [key, value] of Object.entries(query)) if (resourceIdParameter.test(key)) add(key === 'SourceImageId' ? (query.SourceRegion ?? region) : region, value);
  }
  if (service === 'ssm' && Array.isArray(json.InstanceIds)) for (const id of json.InstanceIds) add(region, String(id));
  return byRegion;
}

const unescapeXml = (text: string) =>
  text
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&quot;/g, '"')
    .replace(/&apos;/g, "'")
    .replace(/&amp;/g, '&');

/** Current tags of `ids` in `region`, as the caller's account sees them (moto routes by access key; checks are off). */
async function currentTags(target: URL, region: string, accessKeyId: string, ids: readonly string[], signedAs: OwnCallCredentials): Promise<Record<string, Record<string, string>>> {
  if (signedAs) {
    const client = new EC2Client({ region, endpoint: target.origin, credentials: signedAs, maxAttempts: 1 });
    try {
      const { Tags = [] } = await client.send(new DescribeTagsCommand({ Filters: [{ Name: 'resource-id', Values: [...ids] }] }));
      const tags: Record<string, Record<string, string>> = Object.fromEntries(ids.map((id) => [id, {}]));
      for (const tag of Tags) if (tag.ResourceId && tag.Key !== undefined) (tags[tag.ResourceId] ??= {})[tag.Key] = tag.Value ?? '';
      return tags;
    } finally {
      client.destroy();
    }
  }
  const form = new URLSearchParams({ Action: 'DescribeTags', Version: '2016-11-15', 'Filter.1.Name': 'resource-id' });
  ids.forEach((id, index) => form.set(`Filter.1.Value.${index + 1}`, id));
  const body = Buffer.from(form.toString());
  const answer = await forward(
    target,
    'POST',
    '/',
    {
      'content-type': 'application/x-www-form-urlencoded',
      authorization: `AWS4-HMAC-SHA256 Credential=${accessKeyId}/20260101/${region}/ec2/aws4_request, SignedHeaders=host, Signature=iam-recorder`,
    },
    body,
  );
  if (answer.status !== 200) throw new Error(`iam recorder: moto DescribeTags answered ${answer.status}: ${answer.body.toString('utf8')}`);
  const tags: Record<string, Record<string, string>> = Object.fromEntries(ids.map((id) => [id, {}]));
  // moto orders an item's members key, resourceId, resourceType, value; read each by name.
  for (const [, item] of answer.body.toString('utf8').matchAll(/<item>([\s\S]*?)<\/item>/g)) {
    const member = (name: string) => new RegExp(`<${name}>([^<]*)</${name}>`).exec(item!)?.[1];
    const id = member('resourceId');
    const key = member('key');
    if (id === undefined || key === undefined) continue;
    (tags[id] ??= {})[unescapeXml(key)] = unescapeXml(member('value') ?? '');
  }
  return tags;
}

/**
 * Applies a stand-in RegisterImage's image TagSpecifications on moto, which ignored them, to the image and its
 * snapshots: the CopyImage it stands for tags both with the same list (src/adapters/ec2.ts, createCopy).
 */
async function tagAtCreation(target: URL, region: string, accessKeyId: string, imageId: string, query: Record<string, string>): Promise<void> {
  const headers = {
    'content-type': 'application/x-www-form-urlencoded',
    authorization: `AWS4-HMAC-SHA256 Credential=${accessKeyId}/20260101/${region}/ec2/aws4_request, SignedHeaders=host, Signature=iam-recorder`,
  };
  const described = await forward(target, 'POST', '/', headers, Buffer.from(new URLSearchParams({ Action: 'DescribeImages', Version: '2016-11-15', 'ImageId.1': imageId }).toString()));
  const snapshots = [...described.body.toString('utf8').matchAll(/<snapshotId>([^<]+)<\/snapshotId>/g)].map((match) => match[1]!);
  const form = new URLSearchParams({ Action: 'CreateTags', Version: '2016-11-15', 'ResourceId.1': imageId });
  snapshots.forEach((id, index) => form.set(`ResourceId.${index + 2}`, id));
  for (const [key, type] of Object.entries(query)) {
    const spec = /^TagSpecification\.(\d+)\.ResourceType$/.exec(key);
    if (!spec || type !== 'image') continue;
    for (const [member, tagKey] of Object.entries(query)) {
      const tag = new RegExp(`^TagSpecification\\.${spec[1]}\\.Tag\\.(\\d+)\\.Key$`).exec(member);
      if (tag) {
        form.set(`Tag.${tag[1]}.Key`, tagKey);
        form.set(`Tag.${tag[1]}.Value`, query[`TagSpecification.${spec[1]}.Tag.${tag[1]}.Value`] ?? '');
      }
    }
  }
  if (![...form.keys()].some((key) => key.startsWith('Tag.'))) return;
  const answer = await forward(target, 'POST', '/', headers, Buffer.from(form.toString()));
  if (answer.status !== 200) throw new Error(`iam recorder: moto CreateTags answered ${answer.status}: ${answer.body.toString('utf8')}`);
}

type OwnCallCredentials = { accessKeyId: string; secretAccessKey: string } | undefined;

function identify(
  request: IncomingMessage,
  body: Buffer,
): { service: string; action: string; region: string; accessKeyId: string; query: Record<string, string>; json: Record<string, unknown> } | undefined {
  const credential = /Credential=([^/]+)\/[^/]+\/([^/]+)\/([^/]+)\//.exec(String(request.headers.authorization ?? ''));
  if (!credential) return undefined;
  const [, accessKeyId, region, service] = credential;
  const target = request.headers['x-amz-target'];
  if (typeof target === 'string') {
    const json = body.length > 0 ? (JSON.parse(body.toString('utf8')) as Record<string, unknown>) : {};
    return { service: service!, action: target.split('.').pop()!, region: region!, accessKeyId: accessKeyId!, query: {}, json };
  }
  const query = Object.fromEntries(new URLSearchParams(body.toString('utf8')));
  for (const [key, value] of new URL(request.url ?? '/', 'http://proxy').searchParams) query[key] ??= value;
  if (!query.Action) return undefined;
  return { service: service!, action: query.Action, region: region!, accessKeyId: accessKeyId!, query, json: {} };
}

export async function startIamRecorder(targetEndpoint: string): Promise<IamRecorder> {
  const target = new URL(targetEndpoint);
  const requests: RecordedRequest[] = [];
  const assumedRoles = new Map<string, string>();
  let seq = 0;
  let ownCallsAs: OwnCallCredentials;

  async function handle(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const body = await readBody(request);
    const call = identify(request, body);
    const tagsBefore: Record<string, Record<string, string>> = {};
    if (call) {
      for (const [region, ids] of namedResources(call.service, call.region, call.query, call.json)) Object.assign(tagsBefore, await currentTags(target, region, call.accessKeyId, ids, ownCallsAs));
    }
    const upstream = await forward(target, request.method ?? 'POST', request.url ?? '/', request.headers, body, request.headers.host);
    if (call) {
      const userAgent = String(request.headers['user-agent'] ?? '');
      const sender = /Signature=emulator$/.test(String(request.headers.authorization))
        ? 'emulator-setup'
        : /Packer|aws-sdk-go/.test(userAgent)
          ? 'packer'
          : /aws-sdk-js/.test(userAgent)
            ? 'gild'
            : 'other';
      const answer = upstream.body.toString('utf8');
      requests.push({ seq: seq++, sender, ...call, tagsBefore, status: upstream.status, answer });
      // moto ignores RegisterImage's TagSpecifications (src/adapters/ec2.ts says so); the CopyImage that gild's stand-in
      // replaces tags the copy at creation on AWS. Tag it here, as AWS would have, so later requests meet AWS's state.
      const registered = call.action === 'RegisterImage' && upstream.status === 200 ? /<imageId>([^<]+)<\/imageId>/.exec(answer)?.[1] : undefined;
      if (registered && sender === 'gild' && ownCallsAs)
        throw new Error('iam recorder: a stand-in RegisterImage under IAM enforcement is not supported (its tags would be written in the wrong account)');
      if (registered && sender === 'gild') await tagAtCreation(target, call.region, call.accessKeyId, registered, call.query);
      if (call.service === 'sts' && call.action === 'AssumeRole' && upstream.status === 200) {
        const key = /<AccessKeyId>([^<]+)<\/AccessKeyId>/.exec(answer)?.[1];
        if (key && call.query.RoleArn) assumedRoles.set(key, call.query.RoleArn);
      }
    }
    const { 'content-length': _length, 'transfer-encoding': _encoding, connection: _connection, ...rest } = upstream.headers;
    response.writeHead(upstream.status, { ...rest, 'content-length': upstream.body.length });
    response.end(upstream.body);
  }

  const server: Server = createServer((request, response) => {
    handle(request, response).catch((error: unknown) => {
      if (!response.headersSent) response.writeHead(502, { 'content-type': 'text/plain' });
      response.end(`iam recorder: ${String(error)}`);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  if (!address || typeof address === 'string') throw new Error('iam recorder did not bind');
  const endpoint = `http://127.0.0.1:${address.port}`;
  return {
    endpoint,
    env: (base) => ({ ...base, AWS_ENDPOINT_URL: endpoint }),
    requests,
    assumedRoles,
    reset() {
      requests.length = 0;
      seq = 0;
    },
    signOwnCallsAs(credentials) {
      ownCallsAs = credentials;
    },
    stop: () =>
      new Promise<void>((resolve, reject) => {
        server.closeAllConnections();
        server.close((error) => (error ? reject(error) : resolve()));
      }),
  };
}
