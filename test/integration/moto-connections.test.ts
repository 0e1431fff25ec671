/**
 * The request handler moto is started with (src/local/moto-server.ts) keeps a connection open only while every answer
 * on it can be told from the next: here it serves applications that fail as moto might (an exception halfway through
 * an answer, fewer bytes than the Content-Length said), each behind moto's own bootstrap, and a connection is kept
 * after a whole answer and closed after a broken one. A werkzeug whose run_simple takes no handler runs unchanged.
 */
import { execa, type ResultPromise } from 'execa';
import { connect } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { motoServerPython, withoutEcsAmis } from '../../src/local/moto-server.ts';

/** Serves `/whole` (10 bytes, as said), `/raises` (5 of 10, then an exception), `/short` (5 of 10, then done). */
const failingApplications = `
import sys
import moto.server
import werkzeug.serving as serving
def application(environ, start_response):
    start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", "10")])
    if environ["PATH_INFO"] == "/whole":
        return [b"0123456789"]
    def halfway():
        yield b"01234"
        if environ["PATH_INFO"] == "/raises":
            raise RuntimeError("the application failed halfway through its answer")
    return halfway()
if sys.argv[1] == "run_simple-without-handlers":
    moto.server.run_simple = lambda hostname, port, app, threaded=False: serving.run_simple(hostname, port, app, threaded=threaded)
def serve():
    moto.server.run_simple("127.0.0.1", 0, application, threaded=True)
moto.server.main = serve
`;

let server: ResultPromise | undefined;
afterEach(async () => {
  server?.kill('SIGTERM');
  await server;
  server = undefined;
});

/** Starts the applications behind moto's bootstrap; resolves with the port once werkzeug says it is listening. */
function serveFailingApplications(variant: 'as-installed' | 'run_simple-without-handlers'): Promise<number> {
  server = execa(motoServerPython() ?? 'python3', ['-c', failingApplications + withoutEcsAmis, variant], { reject: false, stdin: 'ignore', stdout: 'ignore', stderr: 'pipe' });
  const child = server;
  return new Promise((resolve, reject) => {
    let said = '';
    child.stderr!.on('data', (chunk: Buffer) => {
      said += chunk.toString('utf8');
      const port = /Running on http:\/\/127\.0\.0\.1:(\d+)/.exec(said)?.[1];
      if (port) resolve(Number(port));
    });
    void child.then((result) => reject(new Error(`the server ended before it listened (exit code ${result.exitCode}): ${said}`)));
  });
}

/**
 * Sends the requests on one connection, each after the answer to the one before (an answer is whole at its 10 bytes
 * after the headers) unless that answer said `Connection: close`; resolves with what came back and after how many
 * answers the server closed the connection (undefined: it kept it).
 */
function onOneConnection(port: number, paths: readonly string[]): Promise<{ answers: string[]; closedAfter: number | undefined }> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1');
    const answers: string[] = [];
    let current = '';
    const sendNext = () => socket.write(`GET ${paths[answers.length]} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n`);
    socket.on('connect', sendNext);
    socket.on('error', reject);
    socket.on('data', (chunk: Buffer) => {
      current += chunk.toString('latin1');
      const headersEnd = current.indexOf('\r\n\r\n');
      if (headersEnd < 0 || current.length - headersEnd - 4 < 10) return;
      answers.push(current);
      current = '';
      if (/\r\nConnection: close\r\n/i.test(answers.at(-1)!)) return;
      if (answers.length < paths.length) sendNext();
      else {
        socket.end();
        resolve({ answers, closedAfter: undefined });
      }
    });
    socket.on('end', () => {
      if (current) answers.push(current);
      resolve({ answers, closedAfter: answers.length });
    });
  });
}

describe("moto's request handler keeps a connection only while its answers can be told apart", () => {
  it('keeps the connection after whole answers', async () => {
    const port = await serveFailingApplications('as-installed');
    const { answers, closedAfter } = await onOneConnection(port, ['/whole', '/whole']);
    expect(closedAfter).toBeUndefined();
    expect(answers).toEqual([expect.stringMatching(/^HTTP\/1\.1 200 OK\r\n[^]*\r\n\r\n0123456789$/), expect.stringMatching(/\r\n\r\n0123456789$/)]);
    expect(answers[0]).not.toMatch(/\r\nConnection: close\r\n/i);
  });

  it('closes the connection when the application raises after its headers went out, so the next request is never read as part of that answer', async () => {
    const port = await serveFailingApplications('as-installed');
    const { answers, closedAfter } = await onOneConnection(port, ['/whole', '/raises', '/whole']);
    expect(closedAfter).toBe(2);
    expect(answers[1]).toMatch(/^HTTP\/1\.1 200 OK\r\n[^]*\r\nContent-Length: 10\r\n/);
    expect(answers[1]).toMatch(/\r\n\r\n01234$/);
  });

  it('closes the connection when an answer is shorter than its Content-Length', async () => {
    const port = await serveFailingApplications('as-installed');
    const { answers, closedAfter } = await onOneConnection(port, ['/short', '/whole']);
    expect(closedAfter).toBe(1);
    expect(answers[0]).toMatch(/\r\n\r\n01234$/);
  });

  it('runs a werkzeug whose run_simple takes no request handler unchanged: every answer closes its connection', async () => {
    const port = await serveFailingApplications('run_simple-without-handlers');
    const { answers, closedAfter } = await onOneConnection(port, ['/whole', '/whole']);
    expect(closedAfter).toBe(1);
    expect(answers[0]).toMatch(/^HTTP\/1\.1 200 OK\r\n[^]*\r\nConnection: close\r\n/i);
    expect(answers[0]).toMatch(/\r\n\r\n0123456789$/);
  });
});
