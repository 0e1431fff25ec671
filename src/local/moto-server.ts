/**
 * The local harness: everything that exists only because the emulator is not
 * AWS lives under src/local/. Production paths never branch on it; they only
 * see the endpoint, the target profile (src/target/emulator-profile.ts) and
 * `options.baseOverrides` it sets.
 */
import { execa, type ResultPromise } from 'execa';
import { existsSync, readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import path from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { catalogue } from '../errors.ts';

export interface MotoServer {
  readonly endpoint: string;
  stop(): Promise<void>;
}

function freeLoopbackPort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => (typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no free port'))));
    });
  });
}

/**
 * The Python that runs moto_server (its shebang), when the first moto_server on PATH names one; undefined for a pyenv
 * shim or a wrapper script, which pick their Python themselves (python3 then finds the same one).
 */
export function motoServerPython(): string | undefined {
  for (const directory of (process.env.PATH ?? '').split(path.delimiter).filter(Boolean)) {
    const script = path.join(directory, 'moto_server');
    if (!existsSync(script)) continue;
    const firstLine = readFileSync(script, 'utf8').split('\n', 1)[0] ?? '';
    return firstLine.startsWith('#!') && /python/.test(firstLine) && !/\b(ba)?sh\b/.test(firstLine) ? firstLine.slice(2).trim().split(/\s+/).at(-1) : undefined;
  }
  return undefined;
}

/**
 * moto_server without Amazon's ECS-optimised AMIs. moto makes, in every region it is asked about, an AMI with a volume
 * and a snapshot for each of 1,107 ECS-optimised images, beside the 70 Amazon Linux and older public images. gild's
 * emulator uses none of them, but every DescribeSnapshots (owner `self` is not honoured by moto) walks them all and,
 * for a tag filter, every tag once per snapshot: 0.3 s of moto's CPU a call, half of all moto's CPU in the test suite.
 * The catalogue is left out by moto's own rule for a region it has no file for (FileNotFoundError: no AMIs); the
 * Amazon Linux AMIs that the public SSM parameters name, and the Windows and other public ones, stay.
 *
 * Two of moto's answers to "what is fixed while it runs" are also kept instead of worked out again for every request
 * (profiled over two cli test files: 14% and 11% of moto's request time): the list of its own service packages, which
 * it reads from the disk (a listdir and ~190 stats) to route each request, and the method names of a response class.
 * Each is the same function's answer, kept; a moto without them runs unchanged.
 *
 * Connections are kept open between requests. werkzeug's server answers `Connection: close` to every request (it
 * drains what a request left unread by reading the socket, which would swallow the next request on a kept
 * connection), so every client opened a TCP connection, and moto a thread, for each request (measured over 500
 * requests, a kept connection takes a fifth off the client's CPU for each and a tenth off moto's). Here an HTTP/1.1
 * request with one `Content-Length` of ASCII digits (or none) has its body read whole before moto sees it, so nothing
 * is left to drain, and the connection stays open. Everything else is answered by werkzeug as before, its connection
 * closed: an HTTP/1.0 request (werkzeug may answer it chunked or unbounded, which only the close ends), a chunked body,
 * `Expect: 100-continue`, a `Content-Length` that is not plain digits (e.g. `²`, which Python calls a digit but cannot
 * read as a number). A kept connection is closed after all when the answer cannot be told apart from the next one:
 * moto raised (werkzeug then answers 500, or, after the headers went out, stops short), or the bytes after the headers
 * are not exactly the answer's `Content-Length`, or it has neither that nor a chunked body. NOTE: with Nagle's
 * algorithm off: werkzeug writes the headers and the body apart, and on a kept connection the body then waited for the
 * client's delayed acknowledgement of the headers (40 ms an answer). The handler is only put in when werkzeug has the
 * methods it builds on and run_simple takes a handler; any other werkzeug runs unchanged.
 *
 * Exit code 97 when moto is not importable from this Python, so that plain `moto_server` is started instead. Exported
 * for test/integration/moto-connections.test.ts, which serves its own failing applications through this handler.
 */
export const withoutEcsAmis = `
import functools, sys
try:
    import moto.server
    import moto.backends as backends
    import moto.core.responses as responses
    import moto.ec2.models.amis as amis
except ImportError:
    sys.exit(97)
list_of_moto_modules = getattr(backends, "list_of_moto_modules", None)
if list_of_moto_modules is not None:
    moto_modules = tuple(list_of_moto_modules())
    backends.list_of_moto_modules = lambda: moto_modules
method_names_from_class = getattr(responses, "method_names_from_class", None)
if method_names_from_class is not None:
    responses.method_names_from_class = functools.cache(method_names_from_class)
load_resource = getattr(amis, "load_resource", None)
if load_resource is not None:
    def load_without_ecs_amis(module, resource):
        if "ecs/optimized_amis" in resource:
            raise FileNotFoundError(resource)
        return load_resource(module, resource)
    amis.load_resource = load_without_ecs_amis
try:
    import inspect, io, re
    import werkzeug.serving as serving
    handler_base = serving.WSGIRequestHandler
    run_simple = getattr(moto.server, "run_simple", None)
    patchable = (
        all(callable(getattr(handler_base, name, None)) for name in ("run_wsgi", "make_environ", "send_header", "end_headers"))
        and callable(run_simple)
        and "request_handler" in inspect.signature(run_simple).parameters
    )
except (ImportError, TypeError, ValueError):
    patchable = False
if patchable:
    decimal = re.compile("[0-9]+")
    app_failed = "gild.app_failed"
    def noting_failures(application):
        def application_noting_failures(environ, start_response):
            answer = ()
            try:
                answer = application(environ, start_response)
                yield from answer
            except BaseException:
                environ[app_failed] = True
                raise
            finally:
                if hasattr(answer, "close"):
                    answer.close()
        return application_noting_failures
    class CountingWriter:
        def __init__(self, stream):
            self.stream = stream
            self.body_bytes = None
        def write(self, data):
            if self.body_bytes is not None:
                self.body_bytes += len(data)
            return self.stream.write(data)
        def flush(self):
            return self.stream.flush()
    class KeepAliveRequestHandler(handler_base):
        disable_nagle_algorithm = True
        keeping_connection = False
        def run_wsgi(self):
            lengths = self.headers.get_all("Content-Length") or ["0"]
            length = lengths[0].strip(" \\t")
            if (self.request_version != "HTTP/1.1" or len(lengths) != 1 or self.headers.get("Transfer-Encoding") is not None
                    or self.headers.get("Expect") is not None or not decimal.fullmatch(length)):
                return super().run_wsgi()
            body = self.rfile.read(int(length)) if int(length) > 0 else b""
            if len(body) != int(length):
                self.close_connection = True
                return
            connection_reader, connection_writer = self.rfile, self.wfile
            self.rfile, self.wfile = io.BytesIO(body), CountingWriter(connection_writer)
            self.answer_headers = []
            self.keeping_connection = True
            try:
                super().run_wsgi()
                if self.environ.get(app_failed) or not self.answer_framed(self.wfile.body_bytes):
                    self.close_connection = True
            except BaseException:
                self.close_connection = True
                raise
            finally:
                self.rfile, self.wfile = connection_reader, connection_writer
                self.keeping_connection = False
        def answer_framed(self, body_bytes):
            lengths = [value.strip(" \\t") for keyword, value in self.answer_headers if keyword == "content-length"]
            if lengths:
                return len(lengths) == 1 and decimal.fullmatch(lengths[0]) is not None and int(lengths[0]) == body_bytes
            return any(keyword == "transfer-encoding" and value.strip(" \\t").lower() == "chunked" for keyword, value in self.answer_headers)
        def send_header(self, keyword, value):
            if self.keeping_connection:
                if keyword.lower() == "connection" and value.lower() == "close" and not self.environ.get(app_failed):
                    return
                self.answer_headers.append((keyword.lower(), value))
            super().send_header(keyword, value)
        def end_headers(self):
            super().end_headers()
            if self.keeping_connection and self.wfile.body_bytes is None:
                self.wfile.body_bytes = 0
    def run_simple_keeping_connections(hostname, port, application, *args, **kwargs):
        return run_simple(hostname, port, noting_failures(application), *args, request_handler=KeepAliveRequestHandler, **kwargs)
    moto.server.run_simple = run_simple_keeping_connections
sys.argv[0] = "moto_server"
moto.server.main()
`;

/**
 * In a process group of its own (`detached`): a terminal's Ctrl-C goes to gild's whole group, and moto must outlive it
 * until gild has used it to clean up (terminate the smoke instances, release the lock); gild stops it then, and execa's
 * `cleanup` stops it should gild exit any other way it can see.
 */
function spawnMoto(command: string, args: readonly string[], env: Readonly<Record<string, string>> | undefined): ResultPromise {
  return execa(command, args, { stdio: 'ignore', reject: false, cleanup: true, detached: true, ...(env ? { env } : {}) });
}

/**
 * Starts moto on a free loopback port and waits until it answers: moto_server's own Python with the ECS-optimised
 * AMIs left out (above), or `moto_server` as installed when that Python cannot import moto.
 * `env` adds to moto's environment (e.g. MOTO_RECORDER_FILEPATH for tests).
 */
export async function startMotoServer(options: { env?: Readonly<Record<string, string>> } = {}): Promise<MotoServer> {
  const port = await freeLoopbackPort();
  const endpoint = `http://127.0.0.1:${port}`;
  const serverArgs = ['-H', '127.0.0.1', '-p', String(port)];
  const trimmed = await answerOrExit(spawnMoto(motoServerPython() ?? 'python3', ['-c', withoutEcsAmis, ...serverArgs], options.env), endpoint);
  if ('server' in trimmed) return trimmed.server;
  const installed = await answerOrExit(spawnMoto('moto_server', serverArgs, options.env), endpoint);
  if ('server' in installed) return installed.server;
  throw catalogue.ENOMOTO(new Error(`${installed.problem} (with moto_server's Python: ${trimmed.problem})`));
}

/** Waits until moto answers on `endpoint` (30 s at most), or its process has ended. */
async function answerOrExit(child: ResultPromise, endpoint: string): Promise<{ server: MotoServer } | { problem: string }> {
  let ended: string | undefined;
  void child.then((result) => {
    ended = result.failed && result.exitCode === undefined ? result.shortMessage : `exited with code ${result.exitCode}`;
  });
  const deadline = Date.now() + 30_000;
  while (Date.now() < deadline) {
    if (ended !== undefined) return { problem: ended };
    if (await isMoto(endpoint)) {
      return {
        server: {
          endpoint,
          async stop() {
            child.kill('SIGTERM');
            await child;
          },
        },
      };
    }
    await delay(150);
  }
  // NOTE: awaited (reject: false, so it resolves): the fallback binds the same port, which is free once this has ended.
  child.kill('SIGKILL');
  await child;
  return { problem: `did not answer on ${endpoint} within 30 s` };
}

/** True when the endpoint is a moto server (it answers its own management API). */
export async function isMoto(endpoint: string): Promise<boolean> {
  if (!/^http:\/\/(127\.\d+\.\d+\.\d+|localhost|\[::1\])(:\d+)?\/?$/.test(endpoint)) return false;
  try {
    const response = await fetch(`${endpoint.replace(/\/$/, '')}/moto-api/config`, { signal: AbortSignal.timeout(2000) });
    return response.ok && 'batch' in ((await response.json()) as object);
  } catch {
    return false;
  }
}
