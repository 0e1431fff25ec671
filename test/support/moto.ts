/**
 * A private moto server for a test file, started the same way `gild run
 * --local` starts one (src/local/moto-server.ts), plus what tests need:
 * environment for the SDK and the CLI, and a state reset between tests.
 * moto is always reached through the wire check (aws-model-proxy.ts): every
 * request a test, gild or Packer sends is held to AWS's service models.
 */
import { afterAll, beforeAll, beforeEach } from 'vitest';
import { startMotoServer } from '../../src/local/moto-server.ts';
import { startFaultProxy, type FaultProxy } from './fault-proxy.ts';
import { startWireCheckProxy } from './aws-model-proxy.ts';

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

export async function startMoto(options: { env?: Readonly<Record<string, string>> } = {}): Promise<MotoServer> {
  const server = await startMotoServer(options);
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
      await fetch(`${server.endpoint}/moto-api/reset`, { method: 'POST' });
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
