/**
 * Where the wire check (aws-model-check.ts) meets the test run. Every proxy
 * in front of moto (this thin one, which `startMoto` always puts there; the
 * fault proxy; the counting proxy) checks each request once on arrival:
 * - a violation is refused as AWS would refuse it (400, the service's own
 *   error shape: EC2 `InvalidParameterValue`, query `ValidationError`, JSON
 *   `ValidationException`) with a message naming the rule, and
 * - it is written to the ledger, which an afterEach hook of every test file
 *   (aws-model-setup.ts) empties, failing the test that caused it even when
 *   the request came from a spawned gild or Packer process that swallowed or
 *   retried the refusal.
 * A request already checked by a proxy in front carries `x-gild-wire-checked`
 * and is not checked (nor counted) twice.
 */
import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { checkWireRequest, formatViolation, type WireCheck, type WireViolation } from './aws-model-check.ts';
import { forwardUpstream, readBody, type UpstreamAnswer } from './forward-upstream.ts';
import { recordWrite } from './step-ledger.ts';

export const wireCheckedHeader = 'x-gild-wire-checked';

interface Ledger {
  checked: number;
  unchecked: number;
  readonly bySender: Map<string, number>;
  readonly byOperation: Map<string, number>;
  readonly violations: WireViolation[];
}

/** What the proxies of this test file checked (module state: the proxies run in the test's own worker). */
export const wireLedger: Ledger = { checked: 0, unchecked: 0, bySender: new Map(), byOperation: new Map(), violations: [] };

/** Checks one arriving request (unless a proxy in front already did) and writes the outcome to the ledger. */
export function checkArrival(request: IncomingMessage, body: Buffer): WireCheck | undefined {
  if (request.headers[wireCheckedHeader]) return undefined;
  const check = checkWireRequest({ method: request.method ?? 'GET', url: request.url ?? '/', headers: request.headers, body: body.toString('utf8') });
  recordWrite(request, check, body);
  if (!check.checked) {
    wireLedger.unchecked += 1;
    return check;
  }
  wireLedger.checked += 1;
  const sender = check.sender.replace(/ \(.*$/, '');
  wireLedger.bySender.set(sender, (wireLedger.bySender.get(sender) ?? 0) + 1);
  const operation = `${check.service}:${check.operation} (${sender})`;
  wireLedger.byOperation.set(operation, (wireLedger.byOperation.get(operation) ?? 0) + 1);
  wireLedger.violations.push(...check.violations);
  return check;
}

/** Headers for forwarding a checked request on: the next proxy need not check it again. */
export function markChecked(headers: IncomingMessage['headers']): IncomingMessage['headers'] {
  return { ...headers, [wireCheckedHeader]: '1' };
}

/**
 * Forwards a request a proxy has checked on arrival to `target` (moto, unchecked), marked checked and addressed to the
 * target's host: what the fault, counting and clock proxies send on.
 */
export function forwardChecked(target: URL, request: IncomingMessage, body: Buffer): Promise<UpstreamAnswer> {
  return forwardUpstream(target, request.method ?? 'GET', request.url ?? '/', { ...markChecked(request.headers), host: target.host }, body);
}

function escapeXml(text: string): string {
  return text.replaceAll('&', '&amp;').replaceAll('<', '&lt;').replaceAll('>', '&gt;');
}

/** Answers a request that breaks a rule as the service would: 400 in its own error shape, the message naming the rule. */
export function refuseLikeAws(response: ServerResponse, check: WireCheck): void {
  const message = `wire check: ${check.violations.map(formatViolation).join('; ')}`;
  const requestId = randomUUID();
  if (check.service === 'ssm' || check.service === 'kms') {
    const body = JSON.stringify({ __type: 'ValidationException', message });
    response.writeHead(400, { 'content-type': 'application/x-amz-json-1.1', 'content-length': Buffer.byteLength(body), 'x-amzn-errortype': 'ValidationException:', 'x-amzn-requestid': requestId });
    response.end(body);
    return;
  }
  const body =
    check.service === 'ec2'
      ? `<?xml version="1.0" encoding="UTF-8"?>\n<Response><Errors><Error><Code>InvalidParameterValue</Code><Message>${escapeXml(message)}</Message></Error></Errors><RequestID>${requestId}</RequestID></Response>`
      : `<ErrorResponse><Error><Type>Sender</Type><Code>ValidationError</Code><Message>${escapeXml(message)}</Message></Error><RequestId>${requestId}</RequestId></ErrorResponse>`;
  response.writeHead(400, { 'content-type': 'text/xml', 'content-length': Buffer.byteLength(body), 'x-amzn-requestid': requestId });
  response.end(body);
}

/** Starts the next test file's counts afresh: cli files share their worker's process (test/vitest.config.ts). */
export function clearWireLedger(): void {
  wireLedger.checked = 0;
  wireLedger.unchecked = 0;
  wireLedger.bySender.clear();
  wireLedger.byOperation.clear();
  wireLedger.violations.length = 0;
}

/** Takes the violations recorded so far out of the ledger. */
export function takeWireViolations(): WireViolation[] {
  return wireLedger.violations.splice(0, wireLedger.violations.length);
}

/** Throws, naming each, if any request recorded since the last call broke a rule (what every test's afterEach runs). */
export function assertNoWireViolations(when: string): void {
  const violations = takeWireViolations();
  if (violations.length === 0) return;
  throw new Error(`${violations.length} request(s) ${when} broke AWS's rules at the wire:\n${violations.map((violation) => `  - ${formatViolation(violation)}`).join('\n')}`);
}

export interface WireCheckProxy {
  readonly endpoint: string;
  stop(): Promise<void>;
}

/** The thin checking proxy `startMoto` puts in front of every moto server: check, refuse or forward unchanged. */
export async function startWireCheckProxy(targetEndpoint: string): Promise<WireCheckProxy> {
  const target = new URL(targetEndpoint);
  async function handle(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const body = await readBody(request);
    const check = checkArrival(request, body);
    if (check && check.violations.length > 0) return refuseLikeAws(response, check);
    const { [wireCheckedHeader]: _checked, ...headers } = request.headers;
    // NOTE: the Host header is left as the client signed it: moto checks SigV4 signatures when IAM is enforced.
    const answer = await forwardUpstream(target, request.method ?? 'GET', request.url ?? '/', headers, body);
    const { 'content-length': _length, 'transfer-encoding': _encoding, connection: _connection, ...answerHeaders } = answer.headers;
    response.writeHead(answer.status, { ...answerHeaders, 'content-length': answer.body.length });
    response.end(answer.body);
  }
  const server: Server = createServer((request, response) => {
    handle(request, response).catch((error: unknown) => {
      if (!response.headersSent) response.writeHead(502, { 'content-type': 'text/plain' });
      response.end(`wire check proxy: ${String(error)}`);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  if (!address || typeof address === 'string') throw new Error('wire check proxy did not bind');
  return {
    endpoint: `http://127.0.0.1:${address.port}`,
    stop: () =>
      new Promise<void>((resolve, reject) => {
        server.closeAllConnections();
        server.close((error) => (error ? reject(error) : resolve()));
      }),
  };
}
