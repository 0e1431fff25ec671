import { availableParallelism, loadavg } from 'node:os';
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';
import { LongestFirstSequencer } from './support/longest-first-sequencer.ts';
import { sdkRequireAliases } from './support/sdk-require-shims.ts';

const prefetchFiles = ['test/unit/definition-prefetch*.test.ts'];

// A third worker when the machine has idle cores as the run starts: a cli file spends much of its time waiting on
// moto, Packer, container engines and the modelled clock (with two workers, `npm test` kept two cores about 64% busy:
// 729 CPU-seconds in 573 s, docs/internals.md), and a third file's work fills that wait. On a machine already busy
// (other jobs), a third worker only stretches every file: at load 40 on two cores pipeline-e2e then outran its
// 10-minute limit. `npm test` decides by what is busy as it starts instead (test/run-suite.js: the 1-minute load
// average still counts `.ci/run`'s set-up) and passes --maxWorkers. `npm run test:unit` passes --maxWorkers 2: unit files only compute, and a third worker would
// import their shared module graph a third time.
const workers = loadavg()[0]! < availableParallelism() ? 3 : 2;

export default defineConfig({
  // NOTE: the config lives in test/ to keep the top level to what the design lists.
  root: fileURLToPath(new URL('..', import.meta.url)),
  // The SDK's clients are required, not imported: Node lexes each CommonJS client for its names when imported, 400 ms
  // of CPU in every cli file's fresh process (test/support/sdk-require-shims.ts).
  resolve: { alias: sdkRequireAliases(fileURLToPath(new URL('..', import.meta.url))) },
  test: {
    exclude: ['test/bench/**', 'node_modules/**'],
    // Every request that reaches moto is held to AWS's service models; a violation fails the test that sent it.
    setupFiles: ['test/support/aws-model-setup.ts'],
    typecheck: { enabled: false },
    // Integration tests start their own moto servers and real Packer builds. A CLI test that takes 10 s on a quiet
    // machine takes several times that on a loaded one (a 120 s limit failed saved-plan-tampering at load 35); a hang
    // still fails, only later.
    testTimeout: 240_000,
    hookTimeout: 60_000,
    pool: 'forks',
    // Files never share a moto server: moto-pool.ts starts one per worker.
    maxWorkers: workers,
    // Long files first, so that the workers end together (test/support/longest-first-sequencer.ts).
    sequence: { sequencer: LongestFirstSequencer },
    // Which engine each test runs is said by its project: `unit` imports the TypeScript sources in the test's own
    // process (`npm run test:unit`, no moto, no Packer, no CLI); `cli` spawns `gild` as users get it, the bundle in
    // dist/bundle/, built once by the global setup (and imports the sources for its own set-up and assertions).
    projects: [
      // NOTE: unit files share their worker's module graph (isolate: false): each file importing the SDK, zod and the
      // planners afresh cost more than half of the unit run. The definition prefetch files need a process of their
      // own (the loader's thread is one per process, and prefetching happens only on a thread started for it).
      {
        extends: true,
        test: {
          name: 'unit',
          include: ['test/unit/**/*.test.ts'],
          exclude: [...prefetchFiles, 'node_modules/**'],
          isolate: false,
          // A file's aws-sdk-client-mock stubs on a client's prototype end with the file (restore-client-mocks.ts).
          setupFiles: ['test/support/restore-client-mocks.ts'],
        },
      },
      { extends: true, test: { name: 'unit:own-process', include: prefetchFiles } },
      {
        extends: true,
        test: {
          name: 'cli',
          include: ['test/integration/**/*.test.ts', 'test/hostile/**/*.test.ts'],
          // NOTE: a worker's process runs one cli file after another (isolate: false), as the unit project's do: each
          // file importing vitest's runner, the wire check's models, the SDK clients and gild's sources afresh cost
          // about 40 CPU-seconds a run, with every file in its own process. No cli file changes process.env, mocks a
          // module or changes directory; the set-up's ledgers start afresh per file (aws-model-setup.ts), each file
          // takes and resets its own moto (moto.ts), and gild itself always runs in processes of its own.
          isolate: false,
          globalSetup: ['test/support/build-bundle.ts', 'test/support/moto-pool.ts'],
          // gild's requests name the runner step that sent them, so that a write outside every step fails its test (step-ledger.ts).
          env: { GILD_LABEL_AWS_REQUESTS: '1' },
        },
      },
    ],
  },
});
