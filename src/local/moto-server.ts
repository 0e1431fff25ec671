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
 * requests, a kept connection takes a fifth off the client's CPU for each and a tenth off moto's). Here a request with a `Content-Length` body (or none) has its body read whole
 * before moto sees it, so nothing is left to drain, and the connection stays open; one with a chunked body or
 * `Expect: 100-continue` is answered as before, and its connection closed. NOTE: with Nagle's algorithm off: werkzeug
 * writes the headers and the body apart, and on a kept connection the body then waited for the client's delayed
 * acknowledgement of the headers (40 ms an answer). A werkzeug without this handler runs unchanged.
 *
 * Exit code 97 when moto is not importable from this Python, so that plain `moto_server` is started instead.
 */
const withoutEcsAmis = `
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
    import io
    import werkzeug.serving as serving
    class KeepAliveRequestHandler(serving.WSGIRequestHandler):
        disable_nagle_algorithm = True
        keeping_connection = False
        def run_wsgi(self):
            length = self.headers.get("Content-Length", "0").strip()
            if self.headers.get("Transfer-Encoding") or self.headers.get("Expect") or not length.isdigit():
                return super().run_wsgi()
            body = self.rfile.read(int(length)) if int(length) > 0 else b""
            if len(body) != int(length):
                self.close_connection = True
                return
            connection = self.rfile
            self.rfile = io.BytesIO(body)
            self.keeping_connection = True
            try:
                super().run_wsgi()
            finally:
                self.rfile = connection
                self.keeping_connection = False
        def send_header(self, keyword, value):
            if self.keeping_connection and keyword.lower() == "connection" and value.lower() == "close":
                return
            super().send_header(keyword, value)
    run_simple = moto.server.run_simple
    moto.server.run_simple = functools.partial(run_simple, request_handler=KeepAliveRequestHandler)
except (ImportError, AttributeError):
    pass
sys.argv[0] = "moto_server"
moto.server.main()
`;

function spawnMoto(command: string, args: readonly string[], env: Readonly<Record<string, string>> | undefined): ResultPromise {
  return execa(command, args, { stdio: 'ignore', reject: false, cleanup: true, ...(env ? { env } : {}) });
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
