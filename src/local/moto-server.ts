/**
 * The local harness: everything that exists only because the emulator is not
 * AWS lives under src/local/. Production paths never branch on it; they only
 * see the endpoint, the target profile (src/target/emulator-profile.ts) and
 * `options.baseOverrides` it sets.
 */
import { execa, type ResultPromise } from 'execa';
import { createServer } from 'node:net';
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
 * Starts `moto_server` on a free loopback port and waits until it answers.
 * `env` adds to moto's environment (e.g. MOTO_RECORDER_FILEPATH for tests).
 */
export async function startMotoServer(options: { env?: Readonly<Record<string, string>> } = {}): Promise<MotoServer> {
  const port = await freeLoopbackPort();
  const endpoint = `http://127.0.0.1:${port}`;
  let child: ResultPromise;
  try {
    child = execa('moto_server', ['-H', '127.0.0.1', '-p', String(port)], { stdio: 'ignore', reject: false, cleanup: true, ...(options.env ? { env: options.env } : {}) });
  } catch (error) {
    throw catalogue.ENOMOTO(error);
  }
  const spawnFailure = new Promise<never>((_, reject) => {
    child.once('error', (error) => reject(catalogue.ENOMOTO(error)));
  });
  const deadline = Date.now() + 30_000;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw catalogue.ENOMOTO(new Error(`moto_server exited with code ${child.exitCode}`));
    if (await Promise.race([isMoto(endpoint), spawnFailure])) {
      return {
        endpoint,
        async stop() {
          child.kill('SIGTERM');
          await child;
        },
      };
    }
    await new Promise((resolve) => setTimeout(resolve, 150));
  }
  child.kill('SIGKILL');
  throw catalogue.ENOMOTO(new Error(`moto_server did not answer on ${endpoint} within 30 s`));
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
