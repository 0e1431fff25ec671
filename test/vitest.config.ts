import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

export default defineConfig({
  // NOTE: the config lives in test/ to keep the top level to what the design lists.
  root: fileURLToPath(new URL('..', import.meta.url)),
  test: {
    include: ['test/**/*.test.ts'],
    exclude: ['test/bench/**', 'node_modules/**'],
    // Every request that reaches moto is held to AWS's service models; a violation fails the test that sent it.
    setupFiles: ['test/support/aws-model-setup.ts'],
    typecheck: { enabled: false },
    // Integration tests start their own moto servers and real Packer builds.
    testTimeout: 120_000,
    hookTimeout: 60_000,
    pool: 'forks',
    maxWorkers: 2,
  },
});
