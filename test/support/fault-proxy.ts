/**
 * A fault-injecting HTTP proxy between the AWS SDK and moto. moto runs no
 * commands (every invocation is Success with empty output), never throttles
 * and knows no agent registration delay; this proxy adds those, answering
 * exactly as AWS does so the SDK's own retry classification applies:
 * - EC2 (query protocol): XML `<Response><Errors><Error><Code>…` bodies,
 *   RequestLimitExceeded with status 503;
 * - SSM (JSON 1.1): `{"__type": "…", "message": "…"}` bodies with status 400
 *   and the `x-amzn-ErrorType` header.
 * It can also apply a write and then lose its answer (forward to moto, then
 * answer 500), which is how a write meets its own earlier success on retry.
 * Everything else is forwarded unchanged. Every request is first held to
 * AWS's service models (aws-model-proxy.ts); one that breaks a rule is
 * refused as AWS would refuse it and fails the test that sent it.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { randomUUID } from 'node:crypto';
import { checkArrival, forwardChecked, refuseLikeAws } from './aws-model-proxy.ts';
import { readBody } from './forward-upstream.ts';

export interface CommandFault {
  /** Applies to commands whose SendCommand `commands` contain this string. */
  readonly marker: string;
  /** Only commands sent to this region (the SendCommand's signing region); default every region. */
  readonly region?: string;
  /** The invocation's status; `InProgress` makes the command hang forever. Default `Failed`. */
  readonly status?: 'Success' | 'Failed' | 'TimedOut' | 'Cancelled' | 'InProgress';
  /** Default 1 for Failed, 0 for Success, -1 otherwise. */
  readonly exitCode?: number;
  readonly stdout?: string;
  readonly stderr?: string;
}

export interface ThrottleRule {
  /** Throttle the first N calls. */
  readonly first?: number;
  /** Then throttle this share (0..1) of calls, chosen by a seeded generator. */
  readonly share?: number;
  /** Only these actions (e.g. `RunInstances`, `SendCommand`); default all. */
  readonly actions?: readonly string[];
  /** Never fail the same action more than this many times in a row (default 3), so a test's retry delays stay bounded. */
  readonly maxConsecutive?: number;
  /** Only calls whose decoded body contains this (e.g. one key pair's name); default any. */
  readonly bodyIncludes?: string;
}

/** Forward a matching SSM or EC2 call to moto (so it is applied), then answer the client 500 (InternalServerError / InternalError). */
export interface LostAnswerRule {
  /** The SSM or EC2 action, e.g. `PutParameter`, `DeleteParameter` or `RegisterImage`. */
  readonly action: string;
  /** Only calls whose `Name` is this (a string matches exactly); default any. */
  readonly name?: string | RegExp;
  /** Lose this many answers of matching calls that moto applied (default 1). */
  readonly times?: number;
}

export interface FaultRules {
  readonly commands?: readonly CommandFault[];
  /** SendCommand answers InvalidInstanceId this many times before it is forwarded. */
  readonly invalidInstanceIdTimes?: number;
  /** Answer RequestLimitExceeded (EC2, 503) or ThrottlingException (SSM, 400). */
  readonly throttle?: { readonly ec2?: ThrottleRule; readonly ssm?: ThrottleRule };
  /** Answer a transient 500: InternalError (EC2) or InternalServerError (SSM). */
  readonly serverErrors?: { readonly ec2?: ThrottleRule; readonly ssm?: ThrottleRule };
  /** STS AssumeRole calls whose body names one of these role ARNs are refused with AccessDenied, as AWS refuses them. */
  readonly deniedRoles?: readonly string[];
  /** Applied, then lost: see `LostAnswerRule`. */
  readonly lostAnswers?: readonly LostAnswerRule[];
  /** DescribeInstances answers report these launch times (to age instances for the sweep). */
  readonly launchTimes?: Readonly<Record<string, Date>>;
  /** Seed for the throttle share; default 1. */
  readonly seed?: number;
  /**
   * Hold matching calls unanswered: `onHeld` fires when one arrives (a test kills gild there, at an exact point of
   * its work), and the call goes on to moto once `release` settles (never, without it).
   */
  readonly holds?: readonly HoldRule[];
  /** Called for every call the proxy sees, after it is recorded: tests wait on these events, not on time. */
  readonly onCall?: (call: ProxyCall, body: string) => void;
}

export interface HoldRule {
  readonly service: 'ec2' | 'ssm';
  readonly action: string;
  /** Only calls whose (form-decoded) body contains this. */
  readonly bodyIncludes?: string;
  readonly onHeld?: (call: ProxyCall) => void;
  readonly release?: Promise<unknown>;
}

export interface ProxyCall {
  readonly service: 'ec2' | 'ssm' | 'other';
  readonly action: string;
  /** What the proxy did: forwarded, or which fault it injected. */
  readonly fault: 'none' | 'refused-by-wire-check' | 'held' | 'throttled' | 'server-error' | 'invalid-instance-id' | 'rewritten' | 'answered' | 'applied-then-lost';
  /** When the proxy saw the call (epoch ms). */
  readonly at: number;
}

export interface FaultProxy {
  readonly endpoint: string;
  /** `base` with AWS_ENDPOINT_URL pointing at the proxy. */
  env(base: Readonly<Record<string, string>>): Record<string, string>;
  setRules(rules: FaultRules): void;
  readonly calls: ProxyCall[];
  /** Action names seen, in order (optionally for one service). */
  actions(service?: ProxyCall['service']): string[];
  /** Resolves once the proxy has seen this call (at once if it already has): a test waits for the event, not a delay. */
  waitForCall(service: ProxyCall['service'], action: string): Promise<void>;
  /** Clears calls, rules and remembered commands. */
  reset(): void;
  stop(): Promise<void>;
}

interface RememberedCommand {
  readonly fault: CommandFault;
  cancelled: boolean;
}

/** A small deterministic generator (mulberry32), so throttling is repeatable. */
function seeded(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** EC2's form bodies decoded, so rules can match `Value=smoke`; anything that is not form-encoded stays as it is. */
function decodeForm(text: string): string {
  try {
    return decodeURIComponent(text.replaceAll('+', ' '));
  } catch {
    return text;
  }
}

function identify(request: IncomingMessage, body: Buffer): { service: ProxyCall['service']; action: string } {
  const target = request.headers['x-amz-target'];
  if (typeof target === 'string' && target.startsWith('AmazonSSM.')) return { service: 'ssm', action: target.slice('AmazonSSM.'.length) };
  const contentType = String(request.headers['content-type'] ?? '');
  if (contentType.includes('x-www-form-urlencoded')) {
    const action = new URLSearchParams(body.toString('utf8')).get('Action');
    // Only EC2 speaks the query protocol among the services gild uses.
    if (action) return { service: 'ec2', action };
  }
  return { service: 'other', action: `${request.method} ${request.url}` };
}

function ec2Error(response: ServerResponse, status: number, code: string, message: string): void {
  const body = `<?xml version="1.0" encoding="UTF-8"?>\n<Response><Errors><Error><Code>${code}</Code><Message>${message}</Message></Error></Errors><RequestID>${randomUUID()}</RequestID></Response>`;
  response.writeHead(status, { 'content-type': 'text/xml;charset=UTF-8', 'content-length': Buffer.byteLength(body), 'x-amzn-requestid': randomUUID() });
  response.end(body);
}

function ssmError(response: ServerResponse, code: string, message: string, status = 400): void {
  const body = JSON.stringify({ __type: code, message });
  response.writeHead(status, {
    'content-type': 'application/x-amz-json-1.1',
    'content-length': Buffer.byteLength(body),
    'x-amzn-errortype': `${code}:`,
    'x-amzn-requestid': randomUUID(),
  });
  response.end(body);
}

function ssmAnswer(response: ServerResponse, payload: unknown): void {
  const body = JSON.stringify(payload);
  response.writeHead(200, { 'content-type': 'application/x-amz-json-1.1', 'content-length': Buffer.byteLength(body), 'x-amzn-requestid': randomUUID() });
  response.end(body);
}

function send(response: ServerResponse, status: number, headers: IncomingMessage['headers'], body: Buffer | string): void {
  const { 'content-length': _length, 'transfer-encoding': _encoding, connection: _connection, ...rest } = headers;
  response.writeHead(status, { ...rest, 'content-length': Buffer.byteLength(body) });
  response.end(body);
}

function ageInstances(xml: string, launchTimes: Readonly<Record<string, Date>>): string {
  let result = xml;
  for (const [instanceId, launchTime] of Object.entries(launchTimes)) {
    const at = result.indexOf(`<instanceId>${instanceId}</instanceId>`);
    if (at < 0) continue;
    const itemStart = result.lastIndexOf('<item>', at);
    const itemEnd = result.indexOf('</instancesSet>', at);
    const section = result.slice(itemStart, itemEnd < 0 ? undefined : itemEnd);
    const aged = section.replace(/<launchTime>[^<]*<\/launchTime>/, `<launchTime>${launchTime.toISOString()}</launchTime>`);
    result = result.slice(0, itemStart) + aged + result.slice(itemStart + section.length);
  }
  return result;
}

export async function startFaultProxy(targetEndpoint: string): Promise<FaultProxy> {
  const target = new URL(targetEndpoint);
  const calls: ProxyCall[] = [];
  const callWaiters: { service: ProxyCall['service']; action: string; resolve: () => void }[] = [];
  const commands = new Map<string, RememberedCommand>();
  let rules: FaultRules = {};
  let random = seeded(1);
  const counters = { invalidInstanceId: 0 };
  const seen = new Map<string, number>();
  const consecutive = new Map<string, number>();

  const shouldFail = (kind: 'throttle' | 'serverErrors', service: 'ec2' | 'ssm', action: string, decodedBody: string): boolean => {
    const rule = rules[kind]?.[service];
    if (!rule || (rule.actions && !rule.actions.includes(action)) || (rule.bodyIncludes !== undefined && !decodedBody.includes(rule.bodyIncludes))) return false;
    const key = `${kind}:${service}`;
    const index = seen.get(key) ?? 0;
    seen.set(key, index + 1);
    const streakKey = `${key}:${action}`;
    const streak = consecutive.get(streakKey) ?? 0;
    const fail = streak < (rule.maxConsecutive ?? 3) && ((rule.first !== undefined && index < rule.first) || (rule.share !== undefined && random() < rule.share));
    consecutive.set(streakKey, fail ? streak + 1 : 0);
    return fail;
  };

  const lostAnswers = new Map<LostAnswerRule, number>();
  const loseAnswer = (action: string, body: Buffer): boolean => {
    const rule = (rules.lostAnswers ?? []).find((candidate) => {
      if (candidate.action !== action || (lostAnswers.get(candidate) ?? 0) >= (candidate.times ?? 1)) return false;
      if (candidate.name === undefined) return true;
      if (body[0] !== 0x7b) return false;
      const { Name } = JSON.parse(body.toString('utf8')) as { Name?: string };
      return typeof candidate.name === 'string' ? Name === candidate.name : Name !== undefined && candidate.name.test(Name);
    });
    if (rule) lostAnswers.set(rule, (lostAnswers.get(rule) ?? 0) + 1);
    return rule !== undefined;
  };

  async function handle(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const body = await readBody(request);
    const { service, action } = identify(request, body);
    const decodedBody = decodeForm(body.toString('utf8'));
    const record = (fault: ProxyCall['fault']) => {
      const call = { service, action, fault, at: Date.now() };
      calls.push(call);
      rules.onCall?.(call, decodedBody);
      for (const waiter of callWaiters.filter((candidate) => candidate.service === service && candidate.action === action)) {
        callWaiters.splice(callWaiters.indexOf(waiter), 1);
        waiter.resolve();
      }
      return call;
    };
    const check = checkArrival(request, body);
    if (check && check.violations.length > 0) {
      record('refused-by-wire-check');
      return refuseLikeAws(response, check);
    }
    const hold = (rules.holds ?? []).find((rule) => rule.service === service && rule.action === action && (!rule.bodyIncludes || decodedBody.includes(rule.bodyIncludes)));
    if (hold) {
      const call = record('held');
      hold.onHeld?.(call);
      if (!hold.release) return new Promise<void>(() => {});
      await hold.release;
    }

    if (service === 'ec2' && shouldFail('throttle', 'ec2', action, decodedBody)) {
      record('throttled');
      return ec2Error(response, 503, 'RequestLimitExceeded', 'Request limit exceeded.');
    }
    if (service === 'ssm' && shouldFail('throttle', 'ssm', action, decodedBody)) {
      record('throttled');
      return ssmError(response, 'ThrottlingException', 'Rate exceeded', 400);
    }
    if (service === 'ec2' && shouldFail('serverErrors', 'ec2', action, decodedBody)) {
      record('server-error');
      return ec2Error(response, 500, 'InternalError', 'An internal error has occurred');
    }
    if (service === 'ssm' && shouldFail('serverErrors', 'ssm', action, decodedBody)) {
      record('server-error');
      return ssmError(response, 'InternalServerError', 'An error occurred on the server side.', 500);
    }

    if (service === 'ssm' && action === 'SendCommand' && counters.invalidInstanceId < (rules.invalidInstanceIdTimes ?? 0)) {
      counters.invalidInstanceId++;
      record('invalid-instance-id');
      return ssmError(response, 'InvalidInstanceId', 'Instances [[i-0]] not in a valid state for account 123456789012');
    }

    const deniedRole = action === 'AssumeRole' ? (rules.deniedRoles ?? []).find((roleArn) => decodedBody.includes(roleArn)) : undefined;
    if (deniedRole) {
      record('answered');
      // STS speaks the AWS query protocol, whose errors are an ErrorResponse (EC2's differ).
      const denial = `<ErrorResponse><Error><Type>Sender</Type><Code>AccessDenied</Code><Message>User: arn:aws:iam::123456789012:user/test is not authorized to perform: sts:AssumeRole on resource: ${deniedRole}</Message></Error><RequestId>${randomUUID()}</RequestId></ErrorResponse>`;
      response.writeHead(403, { 'content-type': 'text/xml', 'content-length': Buffer.byteLength(denial), 'x-amzn-requestid': randomUUID() });
      response.end(denial);
      return;
    }

    if (service === 'ssm' && action === 'CancelCommand') {
      // moto lacks CancelCommand; answer it here, as AWS does, with an empty object.
      const { CommandId } = JSON.parse(body.toString('utf8')) as { CommandId?: string };
      const remembered = CommandId ? commands.get(CommandId) : undefined;
      if (remembered) remembered.cancelled = true;
      record('answered');
      return ssmAnswer(response, {});
    }

    const upstream = await forwardChecked(target, request, body);

    if (service === 'ssm' && upstream.status === 200 && loseAnswer(action, body)) {
      record('applied-then-lost');
      return ssmError(response, 'InternalServerError', 'An error occurred on the server side.', 500);
    }
    if (service === 'ec2' && upstream.status === 200 && loseAnswer(action, body)) {
      record('applied-then-lost');
      return ec2Error(response, 500, 'InternalError', 'An internal error has occurred');
    }

    if (service === 'ssm' && action === 'SendCommand' && upstream.status === 200) {
      const sent = JSON.parse(body.toString('utf8')) as { Parameters?: { commands?: string[] } };
      const script = (sent.Parameters?.commands ?? []).join('\n');
      const signedFor = /Credential=[^/]+\/\d{8}\/([a-z0-9-]+)\//.exec(String(request.headers.authorization ?? ''))?.[1];
      const fault = (rules.commands ?? []).find((candidate) => script.includes(candidate.marker) && (candidate.region === undefined || candidate.region === signedFor));
      const commandId = (JSON.parse(upstream.body.toString('utf8')) as { Command?: { CommandId?: string } }).Command?.CommandId;
      if (fault && commandId) commands.set(commandId, { fault, cancelled: false });
    }

    if (service === 'ssm' && action === 'GetCommandInvocation' && upstream.status === 200) {
      const { CommandId } = JSON.parse(body.toString('utf8')) as { CommandId?: string };
      const remembered = CommandId ? commands.get(CommandId) : undefined;
      if (remembered) {
        const invocation = JSON.parse(upstream.body.toString('utf8')) as Record<string, unknown>;
        const status = remembered.cancelled ? 'Cancelled' : (remembered.fault.status ?? 'Failed');
        const exitCode = remembered.fault.exitCode ?? (status === 'Failed' ? 1 : status === 'Success' ? 0 : -1);
        Object.assign(invocation, {
          Status: status,
          StatusDetails: status,
          ResponseCode: exitCode,
          StandardOutputContent: remembered.fault.stdout ?? '',
          StandardErrorContent: remembered.fault.stderr ?? '',
        });
        record('rewritten');
        return send(response, 200, upstream.headers, JSON.stringify(invocation));
      }
    }

    if (service === 'ec2' && action === 'DescribeInstances' && upstream.status === 200 && rules.launchTimes) {
      record('rewritten');
      return send(response, 200, upstream.headers, ageInstances(upstream.body.toString('utf8'), rules.launchTimes));
    }

    record('none');
    send(response, upstream.status, upstream.headers, upstream.body);
  }

  const server: Server = createServer((request, response) => {
    handle(request, response).catch((error: unknown) => {
      if (!response.headersSent) response.writeHead(502, { 'content-type': 'text/plain' });
      response.end(`fault proxy: ${String(error)}`);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  if (!address || typeof address === 'string') throw new Error('fault proxy did not bind');
  const endpoint = `http://127.0.0.1:${address.port}`;

  const setRules = (next: FaultRules) => {
    rules = next;
    random = seeded(next.seed ?? 1);
    counters.invalidInstanceId = 0;
    lostAnswers.clear();
    seen.clear();
    consecutive.clear();
  };

  return {
    endpoint,
    env: (base) => ({ ...base, AWS_ENDPOINT_URL: endpoint }),
    setRules,
    calls,
    actions: (service) => calls.filter((call) => !service || call.service === service).map((call) => call.action),
    waitForCall: (service, action) =>
      calls.some((call) => call.service === service && call.action === action) ? Promise.resolve() : new Promise<void>((resolve) => callWaiters.push({ service, action, resolve })),
    reset() {
      calls.length = 0;
      commands.clear();
      setRules({});
    },
    stop: () =>
      new Promise<void>((resolve, reject) => {
        server.closeAllConnections();
        server.close((error) => (error ? reject(error) : resolve()));
      }),
  };
}
