/**
 * Global setup of the cli tests: one moto server per worker for the whole run, handed to test files by
 * startMoto (moto.ts), which takes one with a lock file, resets it (POST /moto-api/reset) and gives it back reset.
 * Each file had started its own: 26 moto_server start-ups per run, seconds of CPU each on a 2-core machine.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { TestProject } from 'vitest/node';
import { startMotoServer } from '../../src/local/moto-server.ts';

export default async function startSharedMoto(project: TestProject): Promise<() => Promise<void>> {
  const workers = Math.max(1, Number(project.globalConfig.maxWorkers) || 1);
  const lockDir = await mkdtemp(path.join(tmpdir(), 'gild-moto-pool-'));
  const servers = await Promise.all(Array.from({ length: workers }, () => startMotoServer()));
  project.provide('sharedMoto', { endpoints: servers.map((server) => server.endpoint), lockDir });
  return async () => {
    await Promise.all(servers.map((server) => server.stop()));
    await rm(lockDir, { recursive: true, force: true });
  };
}
