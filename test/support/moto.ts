/**
 * A private moto server for a test file, started the same way `gild run
 * --local` starts one (src/local/moto-server.ts), plus what tests need:
 * environment for the SDK and the CLI, and a state reset between tests.
 * moto is always reached through the wire check (aws-model-proxy.ts): every
 * request a test, gild or Packer sends is held to AWS's service models.
 */
import { rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, beforeEach, inject } from 'vitest';
import { startMotoServer } from '../../src/local/moto-server.ts';
import { startFaultProxy, type FaultProxy } from './fault-proxy.ts';
import { startWireCheckProxy } from './aws-model-proxy.ts';
import { postText } from '../../src/local/post-text.ts';

export interface MotoServer {
  /** The wire-checking proxy in front of moto: what every client is pointed at. */
  readonly endpoint: string;
  /** moto itself, unchecked: for a proxy that checks on arrival (fault, counting) to forward to. */
  readonly motoEndpoint: string;
  /** Environment for the AWS SDK and the gild CLI. */
  readonly env: Record<string, string>;
  reset(): Promise<void>;
  stop(): Promise<void>;
}

declare module 'vitest' {
  export interface ProvidedContext {
    /** moto servers started once for the run by the cli tests' global setup (moto-pool.ts), and where their locks are. */
    sharedMoto: { readonly endpoints: readonly string[]; readonly lockDir: string } | undefined;
  }
}

/** Puts a moto server back as it starts: no resources, and IAM not enforced (moto-iam.ts turns it on for a file). */
async function resetMotoServer(endpoint: string): Promise<void> {
  for (const [route, body] of [
    ['reset', undefined],
    ['reset-auth', '1e12'],
  ] as const) {
    const response = await postText(`${endpoint}/moto-api/${route}`, body);
    if (!response.ok) throw new Error(`moto refused /moto-api/${route}: ${response.status} ${response.text}`);
  }
}

function sharedMotoPool(): ProvidedShared | undefined {
  try {
    return inject('sharedMoto');
  } catch {
    // Outside a vitest worker (the benchmarks): nothing is shared.
    return undefined;
  }
}
type ProvidedShared = NonNullable<import('vitest').ProvidedContext['sharedMoto']>;

/**
 * One of the run's shared moto servers, reset, held by this file until it stops it: this worker's own first (the
 * pool has one per worker), another one free otherwise. A lock file taken with O_EXCL says who holds it, so two test
 * files never share a server at once (a file that holds two servers at a time, or a worker that died holding one,
 * makes the next file start its own, as every file did before).
 */
async function acquireSharedMoto(): Promise<{ endpoint: string; stop(): Promise<void> } | undefined> {
  const pool = sharedMotoPool();
  if (pool === undefined || pool.endpoints.length === 0) return undefined;
  const first = Math.max(0, Number(process.env.VITEST_POOL_ID ?? 1) - 1);
  for (let offset = 0; offset < pool.endpoints.length; offset++) {
    const index = (first + offset) % pool.endpoints.length;
    const lock = path.join(pool.lockDir, `moto-${index}.lock`);
    try {
      await writeFile(lock, `${process.pid}\n`, { flag: 'wx' });
    } catch {
      continue;
    }
    const endpoint = pool.endpoints[index]!;
    await resetMotoServer(endpoint);
    return {
      endpoint,
      async stop() {
        await resetMotoServer(endpoint);
        await rm(lock, { force: true });
      },
    };
  }
  return undefined;
}

/**
 * moto for a test file, behind its own wire-check proxy. Without options it is one of the run's shared servers,
 * reset (starting moto_server costs seconds of CPU, 26 times per run before); with `env` (moto's own settings, such
 * as its recorder) it is a server of the file's own.
 */
export async function startMoto(options: { env?: Readonly<Record<string, string>> } = {}): Promise<MotoServer> {
  const server = (options.env === undefined ? await acquireSharedMoto() : undefined) ?? (await startMotoServer(options));
  const checked = await startWireCheckProxy(server.endpoint);
  return {
    endpoint: checked.endpoint,
    motoEndpoint: server.endpoint,
    env: {
      AWS_ENDPOINT_URL: checked.endpoint,
      // The CLI renders for the emulator only when told so; it never probes the endpoint.
      GILD_TARGET: 'emulator',
      AWS_ACCESS_KEY_ID: 'test',
      AWS_SECRET_ACCESS_KEY: 'test',
      AWS_REGION: 'us-east-1',
      AWS_EC2_METADATA_DISABLED: 'true',
    },
    async reset() {
      await postText(`${server.endpoint}/moto-api/reset`);
    },
    async stop() {
      await checked.stop();
      await server.stop();
    },
  };
}

/**
 * Registers hooks for a test file that talks to moto through the fault proxy:
 * one server and proxy for the file, fresh state and no fault rules per test.
 */
export function useMotoBehindFaultProxy(): { readonly moto: MotoServer; readonly proxy: FaultProxy } {
  const handles: { moto?: MotoServer; proxy?: FaultProxy } = {};
  beforeAll(async () => {
    handles.moto = await startMoto();
    handles.proxy = await startFaultProxy(handles.moto.motoEndpoint);
  });
  afterAll(async () => {
    await handles.proxy?.stop();
    await handles.moto?.stop();
  });
  beforeEach(async () => {
    await handles.moto!.reset();
    handles.proxy!.reset();
  });
  return {
    get moto() {
      return handles.moto!;
    },
    get proxy() {
      return handles.proxy!;
    },
  };
}
