/**
 * How the test proxies in front of moto (aws-model-proxy.ts, fault-proxy.ts, counting-proxy.ts, aws-clock-proxy.ts,
 * iam-recorder.ts) read a request's body and send it on.
 *
 * NOTE: over kept-alive connections, said here rather than left to node's default agent (kept-alive since node 19):
 * every forwarded request had opened a new TCP connection, because moto closed each one (internalConnect was 287 ms
 * busy per cli test file's process in the profiles). moto's server now keeps a connection open when it can
 * (src/local/moto-server.ts); one that still closes each connection (`Connection: close`) is met with a new one each
 * time, as before.
 */
import { Agent, request as httpRequest, type IncomingMessage } from 'node:http';

export interface UpstreamAnswer {
  readonly status: number;
  readonly headers: IncomingMessage['headers'];
  readonly body: Buffer;
}

/**
 * One agent for every proxy of the process: a test file's proxies all talk to the same moto. Idle sockets do not hold
 * the process open (node unrefs them); one that moto closes while idle is dropped by the agent.
 */
const keepAlive = new Agent({ keepAlive: true });

export function readBody(stream: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    stream.on('data', (chunk: Buffer) => chunks.push(chunk));
    stream.on('end', () => resolve(Buffer.concat(chunks)));
    stream.on('error', reject);
  });
}

/**
 * Sends one request to `target` with these headers (content-length set to the body's; the client's hop-by-hop
 * `connection` and `keep-alive` are its connection's to the proxy, not this one's) and reads the whole answer.
 */
export function forwardUpstream(target: URL, method: string, path: string, headers: IncomingMessage['headers'], body: Buffer): Promise<UpstreamAnswer> {
  const { connection: _connection, 'keep-alive': _keepAlive, 'transfer-encoding': _encoding, ...sent } = headers;
  return new Promise((resolve, reject) => {
    const upstream = httpRequest(
      { hostname: target.hostname, port: target.port, method, path, headers: { ...sent, 'content-length': String(body.length) }, agent: keepAlive },
      (answer) => void readBody(answer).then((answerBody) => resolve({ status: answer.statusCode ?? 502, headers: answer.headers, body: answerBody }), reject),
    );
    upstream.on('error', reject);
    upstream.end(body);
  });
}
