/**
 * moto on AWS's clock: an HTTP proxy in front of moto that makes the slow things slow again, as the model says
 * (aws-clock-model.ts). moto makes an AMI `available`, an instance `running` with passing status checks and an SSM
 * agent ready the moment it is asked; on AWS each takes minutes, and the order of a night's work only matters when
 * they do. The proxy remembers when each was asked for and rewrites the answers until the modelled time has passed:
 * - CreateImage / CopyImage: DescribeImages shows the AMI `pending` (and leaves it out of a `state=available` filter);
 * - RunInstances: DescribeInstances / DescribeInstanceStatus show `pending`, then `running` with status checks
 *   `initializing`, then `ok`; StopInstances and TerminateInstances show `stopping` / `shutting-down` for a while;
 * - SSM: SendCommand answers InvalidInstanceId until the instance's agent has registered, and GetCommandInvocation
 *   says `InProgress` until the command has had its time.
 * It only ever delays what moto did; it never invents a state. Every request is held to AWS's service models on
 * arrival (aws-model-proxy.ts), as the other proxies do. Tests wait on its `waitFor` events, never on a delay.
 *
 * Not modelled: snapshots stay `completed` while their AMI is pending; DescribeImages with `state=pending` finds
 * nothing (moto filtered by its own state before the proxy could); SendCommand to an instance the proxy never saw
 * launched counts it as registered.
 */
import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { checkArrival, forwardChecked, refuseLikeAws } from './aws-model-proxy.ts';
import { readBody } from './forward-upstream.ts';
import {
  agentRegisteredAt,
  commandDoneAt,
  createAwsClock,
  type AwsClockOptions,
  imageStateAt,
  instanceStateAt,
  statusCheckAt,
  type AwsClock,
  type InstanceState,
  type ModelledImage,
  type ModelledInstance,
} from './aws-clock-model.ts';

/** Something the proxy showed a client, the first time it showed it: what a test waits for. */
export interface ClockEvent {
  readonly resource: string;
  readonly state: string;
  /** When the answer showing it was sent (epoch ms). */
  readonly at: number;
}

export interface ClockProxy {
  readonly endpoint: string;
  readonly clock: AwsClock;
  /** `base` with AWS_ENDPOINT_URL pointing at the proxy. */
  env(base: Readonly<Record<string, string>>): Record<string, string>;
  /** What the model knows, by AMI ID / instance ID / command ID. */
  readonly images: ReadonlyMap<string, ModelledImage>;
  readonly instances: ReadonlyMap<string, ModelledInstance>;
  readonly commands: ReadonlyMap<string, { readonly sentAt: number; readonly instanceIds: readonly string[] }>;
  /** First sightings, in order. */
  readonly events: readonly ClockEvent[];
  /** Resolves with the first event for `resource` in `state` (at once if it was already shown). */
  waitFor(resource: string, state: string): Promise<ClockEvent>;
  /** Resolves with the first event that `matches` (at once if one was already shown). */
  waitForEvent(matches: (event: ClockEvent) => boolean): Promise<ClockEvent>;
  /** Forgets what the model knows (between tests, with moto's reset). */
  reset(): void;
  stop(): Promise<void>;
}

function send(response: ServerResponse, status: number, headers: IncomingMessage['headers'], body: Buffer | string): void {
  const { 'content-length': _length, 'transfer-encoding': _encoding, connection: _connection, ...rest } = headers;
  response.writeHead(status, { ...rest, 'content-length': Buffer.byteLength(body) });
  response.end(body);
}

function ssmError(response: ServerResponse, code: string, message: string): void {
  const body = JSON.stringify({ __type: code, message });
  response.writeHead(400, { 'content-type': 'application/x-amz-json-1.1', 'content-length': Buffer.byteLength(body), 'x-amzn-errortype': `${code}:`, 'x-amzn-requestid': randomUUID() });
  response.end(body);
}

/**
 * Rewrites the top-level `<item>`s of every `<setName>` element (items nest: an image's block devices and tags are
 * items too). `rewrite` returns the new item, or undefined to leave it out of the answer.
 */
export function rewriteItems(xml: string, setName: string, rewrite: (item: string) => string | undefined): string {
  let result = '';
  let from = 0;
  for (let open = xml.indexOf(`<${setName}>`, from); open >= 0; open = xml.indexOf(`<${setName}>`, from)) {
    const start = open + setName.length + 2;
    result += xml.slice(from, start);
    const tags = /<(\/?)item>|<\/([A-Za-z]+)>/g;
    tags.lastIndex = start;
    let depth = 0;
    let itemStart = start;
    let cursor = start;
    for (let match = tags.exec(xml); match; match = tags.exec(xml)) {
      if (match[2] !== undefined) {
        if (depth === 0 && match[2] === setName) break;
        continue;
      }
      const closing = match[1] === '/';
      if (!closing && depth === 0) {
        result += xml.slice(cursor, match.index);
        itemStart = match.index;
      }
      depth += closing ? -1 : 1;
      if (closing && depth === 0) {
        cursor = match.index + match[0].length;
        result += rewrite(xml.slice(itemStart, cursor)) ?? '';
      }
    }
    from = cursor;
  }
  return result + xml.slice(from);
}

const instanceStateCodes: Record<InstanceState, number> = { pending: 0, running: 16, 'shutting-down': 32, terminated: 48, stopping: 64, stopped: 80 };

function firstText(xml: string, element: string): string | undefined {
  return new RegExp(`<${element}>([^<]*)</${element}>`).exec(xml)?.[1];
}

function withInstanceState(item: string, state: InstanceState): string {
  return item.replace(
    /<instanceState>\s*<code>[^<]*<\/code>\s*<name>[^<]*<\/name>\s*<\/instanceState>/,
    `<instanceState><code>${instanceStateCodes[state]}</code><name>${state}</name></instanceState>`,
  );
}

/**
 * Both status summaries (`systemStatus`, `instanceStatus`) of a DescribeInstanceStatus item set to `check`: the
 * summary's own `<status>` and each detail's (`passed` once ok). Either may come before the other in the answer.
 */
function withStatusChecks(item: string, check: string): string {
  const detail = check === 'ok' ? 'passed' : check;
  return item.replace(/<(systemStatus|instanceStatus)>([\s\S]*?)<\/\1>/g, (_whole, name: string, inner: string) => {
    const details = /<details>[\s\S]*?<\/details>/.exec(inner)?.[0] ?? '';
    const rest = inner.replace(details, '\u0000').replace(/<status>[^<]*<\/status>/, `<status>${check}</status>`);
    return `<${name}>${rest.replace('\u0000', details.replace(/<status>[^<]*<\/status>/g, `<status>${detail}</status>`))}</${name}>`;
  });
}

/** The values of every `Filter.N.Name=<name>` in an EC2 query request. */
function filterValues(form: URLSearchParams, name: string): string[] | undefined {
  for (const [key, value] of form) {
    const match = /^Filter\.(\d+)\.Name$/.exec(key);
    if (!match || value !== name) continue;
    return [...form].filter(([valueKey]) => valueKey.startsWith(`Filter.${match[1]}.Value.`)).map(([, filterValue]) => filterValue);
  }
  return undefined;
}

export interface ClockProxyOptions extends AwsClockOptions {
  readonly now?: () => number;
  /**
   * The size every AMI is modelled at, in GiB, instead of the volumes the emulator's answer names: moto reports every
   * AMI as one 15 GiB volume whatever its instance's volumes were, so a benchmark whose images ask for no size (an
   * Amazon Linux root volume is 8 GiB on AWS) models them at the size AWS would make, and computes its ideal from it.
   */
  readonly imageGiB?: number;
}

export async function startClockProxy(targetEndpoint: string, options: ClockProxyOptions = {}): Promise<ClockProxy> {
  const target = new URL(targetEndpoint);
  const clock = createAwsClock(options);
  const now = options.now ?? Date.now;
  const images = new Map<string, ModelledImage>();
  const instances = new Map<string, ModelledInstance>();
  const commands = new Map<string, { sentAt: number; instanceIds: string[] }>();
  const events: ClockEvent[] = [];
  const seen = new Set<string>();
  const waiters: { matches: (event: ClockEvent) => boolean; resolve: (event: ClockEvent) => void }[] = [];

  const shown = (resource: string, state: string) => {
    const key = `${resource} ${state}`;
    if (seen.has(key)) return;
    seen.add(key);
    const event = { resource, state, at: now() };
    events.push(event);
    for (const waiter of waiters.filter((candidate) => candidate.matches(event))) {
      waiters.splice(waiters.indexOf(waiter), 1);
      waiter.resolve(event);
    }
  };

  function waitForEvent(matches: (event: ClockEvent) => boolean): Promise<ClockEvent> {
    const event = events.find(matches);
    return event ? Promise.resolve(event) : new Promise((resolve) => waiters.push({ matches, resolve }));
  }

  function rewriteImages(xml: string, form: URLSearchParams): string {
    const wanted = filterValues(form, 'state');
    return rewriteItems(xml, 'imagesSet', (item) => {
      const amiId = firstText(item, 'imageId');
      const modelled = amiId ? images.get(amiId) : undefined;
      if (!amiId || !modelled) return item;
      if (modelled.sizeGiB === undefined && options.imageGiB !== undefined) images.set(amiId, { ...modelled, sizeGiB: options.imageGiB });
      else if (modelled.sizeGiB === undefined) {
        const sizes = [...item.matchAll(/<volumeSize>(\d+)<\/volumeSize>/g)].map((match) => Number(match[1]));
        // NOTE: the size is fixed the first time the AMI is described, so its modelled time never moves after.
        images.set(amiId, { ...modelled, sizeGiB: sizes.length > 0 ? sizes.reduce((sum, size) => sum + size, 0) : undefined });
      }
      const state = imageStateAt(clock, images.get(amiId)!, now());
      if (wanted && !wanted.includes(state)) return undefined;
      shown(amiId, state);
      return state === 'available' ? item : item.replace(/<imageState>[^<]*<\/imageState>/, '<imageState>pending</imageState>');
    });
  }

  function rewriteInstances(xml: string, setName: 'instancesSet' | 'instanceStatusSet'): string {
    return rewriteItems(xml, setName, (item) => {
      const instanceId = firstText(item, 'instanceId');
      const modelled = instanceId ? instances.get(instanceId) : undefined;
      if (!instanceId || !modelled) return item;
      const reported = /<instanceState>\s*<code>[^<]*<\/code>\s*<name>([^<]*)<\/name>/.exec(item)?.[1] as InstanceState | undefined;
      if (!reported) return item;
      const state = instanceStateAt(clock, modelled, reported, now());
      shown(instanceId, state);
      let rewritten = withInstanceState(item, state);
      if (setName === 'instanceStatusSet') {
        const check = state === 'running' ? statusCheckAt(clock, modelled, now()) : 'not-applicable';
        if (state === 'running') shown(instanceId, `status ${check}`);
        rewritten = withStatusChecks(rewritten, check);
      }
      return rewritten;
    });
  }

  async function handle(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const body = await readBody(request);
    const check = checkArrival(request, body);
    if (check && check.violations.length > 0) return refuseLikeAws(response, check);
    const ssmAction =
      typeof request.headers['x-amz-target'] === 'string' && request.headers['x-amz-target'].startsWith('AmazonSSM.') ? request.headers['x-amz-target'].slice('AmazonSSM.'.length) : undefined;
    const form = String(request.headers['content-type'] ?? '').includes('x-www-form-urlencoded') ? new URLSearchParams(body.toString('utf8')) : undefined;
    const ec2Action = form?.get('Action') ?? undefined;

    if (ssmAction === 'SendCommand') {
      const { InstanceIds } = JSON.parse(body.toString('utf8')) as { InstanceIds?: string[] };
      const unregistered = (InstanceIds ?? []).find((instanceId) => {
        const modelled = instances.get(instanceId);
        return modelled !== undefined && now() < agentRegisteredAt(clock, modelled);
      });
      if (unregistered) {
        shown(unregistered, 'agent not registered');
        return ssmError(response, 'InvalidInstanceId', `Instances [[${unregistered}]] not in a valid state for account 123456789012`);
      }
    }

    const upstream = await forwardChecked(target, request, body);
    // NOTE: the model's clock starts when the answer leaves: the emulator's own time to answer is not AWS's.
    const answeredAt = now();
    if (upstream.status !== 200) return send(response, upstream.status, upstream.headers, upstream.body);
    const text = upstream.body.toString('utf8');

    if (ec2Action === 'CreateImage' || ec2Action === 'CopyImage') {
      const amiId = firstText(text, 'imageId');
      // NOTE: a retried CopyImage with the same client token answers the first copy: its clock keeps running.
      if (amiId && !images.has(amiId)) images.set(amiId, { kind: ec2Action === 'CreateImage' ? 'createImage' : 'copyImage', startedAt: answeredAt });
      if (amiId) shown(amiId, 'requested');
    } else if (ec2Action === 'RunInstances') {
      for (const match of text.matchAll(/<instanceId>([^<]+)<\/instanceId>/g)) if (!instances.has(match[1]!)) instances.set(match[1]!, { launchedAt: answeredAt });
      return send(response, 200, upstream.headers, rewriteInstances(text, 'instancesSet'));
    } else if (ec2Action === 'StopInstances' || ec2Action === 'TerminateInstances') {
      for (const [key, instanceId] of form!) {
        const modelled = /^InstanceId\.\d+$/.test(key) ? instances.get(instanceId) : undefined;
        if (!modelled) continue;
        if (ec2Action === 'StopInstances') modelled.stopRequestedAt ??= answeredAt;
        else modelled.terminateRequestedAt ??= answeredAt;
      }
    } else if (ec2Action === 'DescribeImages') {
      return send(response, 200, upstream.headers, rewriteImages(text, form!));
    } else if (ec2Action === 'DescribeInstances') {
      return send(response, 200, upstream.headers, rewriteInstances(text, 'instancesSet'));
    } else if (ec2Action === 'DescribeInstanceStatus') {
      return send(response, 200, upstream.headers, rewriteInstances(text, 'instanceStatusSet'));
    } else if (ssmAction === 'SendCommand') {
      const { InstanceIds } = JSON.parse(body.toString('utf8')) as { InstanceIds?: string[] };
      const commandId = (JSON.parse(text) as { Command?: { CommandId?: string } }).Command?.CommandId;
      if (commandId) commands.set(commandId, { sentAt: answeredAt, instanceIds: InstanceIds ?? [] });
      for (const instanceId of InstanceIds ?? []) shown(instanceId, 'agent registered');
    } else if (ssmAction === 'GetCommandInvocation') {
      const { CommandId } = JSON.parse(body.toString('utf8')) as { CommandId?: string };
      const sent = CommandId ? commands.get(CommandId) : undefined;
      if (sent && CommandId) {
        const invocation = JSON.parse(text) as Record<string, unknown>;
        const running = now() < commandDoneAt(clock, sent.sentAt);
        shown(CommandId, running ? 'InProgress' : String(invocation.Status));
        if (running) Object.assign(invocation, { Status: 'InProgress', StatusDetails: 'InProgress', ResponseCode: -1, ExecutionEndDateTime: '' });
        return send(response, 200, upstream.headers, JSON.stringify(invocation));
      }
    }
    send(response, upstream.status, upstream.headers, upstream.body);
  }

  const server: Server = createServer((request, response) => {
    handle(request, response).catch((error: unknown) => {
      if (!response.headersSent) response.writeHead(502, { 'content-type': 'text/plain' });
      response.end(`clock proxy: ${String(error)}`);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  if (!address || typeof address === 'string') throw new Error('clock proxy did not bind');
  const endpoint = `http://127.0.0.1:${address.port}`;
  return {
    endpoint,
    clock,
    env: (base) => ({ ...base, AWS_ENDPOINT_URL: endpoint }),
    images,
    instances,
    commands,
    events,
    waitFor(resource, state) {
      return waitForEvent((event) => event.resource === resource && event.state === state);
    },
    waitForEvent,
    reset() {
      images.clear();
      instances.clear();
      commands.clear();
      events.length = 0;
      seen.clear();
    },
    stop: () =>
      new Promise<void>((resolve, reject) => {
        server.closeAllConnections();
        server.close((error) => (error ? reject(error) : resolve()));
      }),
  };
}
