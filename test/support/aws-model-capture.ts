/**
 * The wire check for calls moto cannot answer (DescribeImageReferences,
 * DisableImage, EnableImageDeprecation, cross-account CopyImage, the
 * DescribeParameters DataType filter, …): gild's own SDK client builds,
 * serializes and signs the real request; a middleware placed last, right
 * before the HTTP handler, takes it off the wire, runs it through the same
 * checker as the proxies (aws-model-check.ts), and answers with a canned
 * response in the service's own format instead of sending it anywhere.
 */
import { checkWireRequest, formatViolation, type WireCheck } from './aws-model-check.ts';

export interface CapturedRequest {
  readonly action: string;
  /** Query protocols: the form parameters; JSON (1.1 and REST): the parsed body. */
  readonly params: URLSearchParams | Record<string, unknown>;
  readonly check: WireCheck;
}

export interface CannedAnswer {
  readonly status?: number;
  readonly body: string;
  readonly headers?: Readonly<Record<string, string>>;
}

interface HttpRequestLike {
  method: string;
  path: string;
  query?: Record<string, string>;
  headers: Record<string, string>;
  body?: unknown;
}

type Stack = { add(middleware: never, options: { step: 'deserialize'; priority: 'low'; name: string }): void };

/**
 * Takes every request `client` sends off the wire: each is checked (with `now` for time rules) and answered by
 * `answer` (by default an empty success in the service's format). `captured` lists them in order.
 */
export function captureAtTheWire(client: { middlewareStack: Stack }, answer: (request: CapturedRequest) => CannedAnswer | undefined = () => undefined, now?: () => Date) {
  const captured: CapturedRequest[] = [];
  const middleware = () => async (args: { request: HttpRequestLike }) => {
    const { request } = args;
    const body = typeof request.body === 'string' ? request.body : request.body instanceof Uint8Array ? Buffer.from(request.body).toString('utf8') : '';
    const headers = Object.fromEntries(Object.entries(request.headers).map(([name, value]) => [name.toLowerCase(), value]));
    const check = checkWireRequest({ method: request.method, url: request.path, headers, body }, now?.() ?? new Date());
    const target = headers['x-amz-target'];
    // JSON 1.1 names its operation in X-Amz-Target; REST-JSON (Recycle Bin) by method and path, as the checker read it.
    const json = Boolean(target) || !(headers['content-type'] ?? '').includes('x-www-form-urlencoded');
    const params = json ? ((body ? JSON.parse(body) : {}) as Record<string, unknown>) : new URLSearchParams(body);
    const action = target ? target.split('.')[1]! : json ? (check.operation ?? '') : ((params as URLSearchParams).get('Action') ?? '');
    const capturedRequest = { action, params, check };
    captured.push(capturedRequest);
    const canned =
      answer(capturedRequest) ??
      (json ? { body: '{}' } : { body: `<${action}Response xmlns="http://ec2.amazonaws.com/doc/2016-11-15/"><requestId>canned</requestId><return>true</return></${action}Response>` });
    const responseHeaders = {
      'content-type': target ? 'application/x-amz-json-1.1' : json ? 'application/json' : 'text/xml;charset=UTF-8',
      'x-amzn-requestid': 'canned',
      ...canned.headers,
    };
    return { response: { statusCode: canned.status ?? 200, headers: responseHeaders, body: Buffer.from(canned.body) } };
  };
  client.middlewareStack.add(middleware as never, { step: 'deserialize', priority: 'low', name: 'gildCaptureAtTheWire' });
  return {
    captured,
    /** Every violation the captured requests carried, formatted as the integration tests report them. */
    violations: () => captured.flatMap((request) => request.check.violations.map(formatViolation)),
  };
}
