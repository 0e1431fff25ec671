/**
 * A counting HTTP proxy between the AWS SDK and moto, for benchmarks that
 * report API calls. moto answers DescribeImages whole whatever `MaxResults`
 * says, and cuts DescribeLaunchTemplates at 15 with no NextToken
 * (EMULATOR.md), so counted as-is the calls would not mean what they mean on
 * AWS. This proxy pages those answers the way AWS does: it asks moto for
 * everything once, hands out `MaxResults` items with a `nextToken`, and serves
 * the following pages itself. Each page counts as one call, as on AWS.
 */
import { randomUUID } from 'node:crypto';
import { checkArrival, forwardChecked, refuseLikeAws } from './aws-model-proxy.ts';
import { readBody } from './forward-upstream.ts';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';

/** EC2 list actions this proxy pages, and the XML element holding their items. */
const pagedSets: Readonly<Record<string, string>> = { DescribeImages: 'imagesSet', DescribeLaunchTemplates: 'launchTemplates' };

export interface CountedCall {
  readonly service: 'ec2' | 'ssm' | 'other';
  readonly action: string;
  /** When the request arrived (performance.now() of this process). */
  readonly startedAt: number;
  /** How long the answer took, from the request's arrival to the answer's end (the emulator's time, mostly). */
  ms: number;
}

/**
 * How long at least one answer was outstanding: the part of a client's wall time spent waiting for AWS (here the
 * emulator), however many calls ran side by side. The rest of the wall time is the client's own.
 */
export function timeAwaitingAnswers(calls: readonly CountedCall[]): number {
  const spans = calls.map((call) => [call.startedAt, call.startedAt + call.ms] as const).sort((a, b) => a[0] - b[0]);
  let total = 0;
  let [openFrom, openTo] = [Number.NEGATIVE_INFINITY, Number.NEGATIVE_INFINITY];
  for (const [from, to] of spans) {
    if (from > openTo) {
      if (openTo > openFrom) total += openTo - openFrom;
      [openFrom, openTo] = [from, to];
    } else openTo = Math.max(openTo, to);
  }
  if (openTo > openFrom) total += openTo - openFrom;
  return total;
}

export interface CountingProxy {
  readonly endpoint: string;
  /** `base` with AWS_ENDPOINT_URL pointing at the proxy. */
  env(base: Readonly<Record<string, string>>): Record<string, string>;
  readonly calls: readonly CountedCall[];
  /** AMIs returned by DescribeImages, summed over pages: how many AMIs the client was handed. */
  readonly imagesDescribed: number;
  reset(): void;
  stop(): Promise<void>;
}

function identify(request: IncomingMessage, body: Buffer): Pick<CountedCall, 'service' | 'action'> & { form?: URLSearchParams } {
  const target = request.headers['x-amz-target'];
  if (typeof target === 'string' && target.startsWith('AmazonSSM.')) return { service: 'ssm', action: target.slice('AmazonSSM.'.length) };
  if (String(request.headers['content-type'] ?? '').includes('x-www-form-urlencoded')) {
    const form = new URLSearchParams(body.toString('utf8'));
    const action = form.get('Action');
    // EC2 and Auto Scaling both speak the query protocol; their action names do not overlap.
    if (action) return { service: 'ec2', action, form };
  }
  return { service: 'other', action: `${request.method} ${request.url}` };
}

/** The top-level `<item>…</item>` elements of `<setName>` and the text around them. */
function splitItems(xml: string, setName: string): { before: string; items: string[]; after: string } | undefined {
  const open = xml.indexOf(`<${setName}>`);
  if (open < 0) return undefined;
  const start = open + setName.length + 2;
  const items: string[] = [];
  const tags = /<(\/?)item>/g;
  tags.lastIndex = start;
  let depth = 0;
  let itemStart = start;
  let end = start;
  for (let match = tags.exec(xml); match; match = tags.exec(xml)) {
    const closing = match[1] === '/';
    if (!closing && depth === 0) itemStart = match.index;
    depth += closing ? -1 : 1;
    if (closing && depth === 0) {
      end = match.index + match[0].length;
      items.push(xml.slice(itemStart, end));
      const rest = xml.slice(end).trimStart();
      if (rest.startsWith(`</${setName}>`)) break;
    }
  }
  const close = xml.indexOf(`</${setName}>`, end);
  if (close < 0) return undefined;
  return { before: xml.slice(0, start), items, after: xml.slice(close) };
}

export async function startCountingProxy(targetEndpoint: string): Promise<CountingProxy> {
  const target = new URL(targetEndpoint);
  const calls: CountedCall[] = [];
  /** nextToken → the items still to hand out, and the answer's frame. */
  const pending = new Map<string, { before: string; items: string[]; after: string }>();
  let imagesDescribed = 0;

  function page(setName: string, action: string, frame: { before: string; items: string[]; after: string }, maxResults: number): string {
    const shown = frame.items.slice(0, maxResults);
    const rest = frame.items.slice(maxResults);
    if (action === 'DescribeImages') imagesDescribed += shown.length;
    let after = frame.after;
    if (rest.length > 0) {
      const token = randomUUID();
      pending.set(token, { ...frame, items: rest });
      // The token goes right after the set, inside the response element, as AWS places it.
      after = `</${setName}><nextToken>${token}</nextToken>${frame.after.slice(`</${setName}>`.length)}`;
    }
    return `${frame.before}${shown.join('')}${after}`;
  }

  async function handle(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const body = await readBody(request);
    const call = identify(request, body);
    const started = performance.now();
    const counted: CountedCall = { service: call.service, action: call.action, startedAt: started, ms: 0 };
    calls.push(counted);
    response.once('finish', () => (counted.ms = performance.now() - started));
    const check = checkArrival(request, body);
    if (check && check.violations.length > 0) return refuseLikeAws(response, check);
    const setName = pagedSets[call.action];
    const maxResults = Number(call.form?.get('MaxResults') ?? 0);
    if (setName && call.form && maxResults > 0) {
      const token = call.form.get('NextToken');
      const stored = token ? pending.get(token) : undefined;
      if (token && stored) {
        pending.delete(token);
        const xml = page(setName, call.action, stored, maxResults);
        response.writeHead(200, { 'content-type': 'text/xml;charset=UTF-8', 'content-length': Buffer.byteLength(xml) });
        response.end(xml);
        return;
      }
      // Ask moto for everything once; moto cuts DescribeLaunchTemplates at MaxResults (15 by default) without a token.
      call.form.set('MaxResults', '1000000');
      call.form.delete('NextToken');
      const upstream = await forwardChecked(target, request, Buffer.from(call.form.toString()));
      const frame = upstream.status === 200 ? splitItems(upstream.body.toString('utf8'), setName) : undefined;
      if (frame) {
        const xml = page(setName, call.action, frame, maxResults);
        response.writeHead(200, { 'content-type': 'text/xml;charset=UTF-8', 'content-length': Buffer.byteLength(xml) });
        response.end(xml);
        return;
      }
      send(response, upstream);
      return;
    }
    const upstream = await forwardChecked(target, request, body);
    if (call.action === 'DescribeImages' && upstream.status === 200) imagesDescribed += splitItems(upstream.body.toString('utf8'), 'imagesSet')?.items.length ?? 0;
    send(response, upstream);
  }

  function send(response: ServerResponse, upstream: { status: number; headers: IncomingMessage['headers']; body: Buffer }): void {
    const { 'content-length': _length, 'transfer-encoding': _encoding, connection: _connection, ...rest } = upstream.headers;
    response.writeHead(upstream.status, { ...rest, 'content-length': upstream.body.length });
    response.end(upstream.body);
  }

  const server: Server = createServer((request, response) => {
    handle(request, response).catch((error: unknown) => {
      if (!response.headersSent) response.writeHead(502, { 'content-type': 'text/plain' });
      response.end(`counting proxy: ${String(error)}`);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  if (!address || typeof address === 'string') throw new Error('counting proxy did not bind');
  const endpoint = `http://127.0.0.1:${address.port}`;
  return {
    endpoint,
    env: (base) => ({ ...base, AWS_ENDPOINT_URL: endpoint }),
    calls,
    get imagesDescribed() {
      return imagesDescribed;
    },
    reset() {
      calls.length = 0;
      pending.clear();
      imagesDescribed = 0;
    },
    stop: () =>
      new Promise<void>((resolve, reject) => {
        server.closeAllConnections();
        server.close((error) => (error ? reject(error) : resolve()));
      }),
  };
}
