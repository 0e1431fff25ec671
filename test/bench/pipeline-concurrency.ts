/**
 * Does `concurrency` pay off? The real pipeline (observe and plan, then apply:
 * sweep, lock, build with real Packer, smoke test, publish, retire, release) runs in-process against moto
 * over six independent images, at concurrency 1 and at concurrency 3.
 */
import { applyRun, planRun } from '../../src/apply/run-trip.ts';
import { createLifecycle } from '../../src/stages/lifecycle.ts';
import type { MotoServer } from '../support/moto.ts';
import type { BenchmarkResult } from './benchmark.ts';
import { createBenchProject, createEmulatorContext, loadProject } from './bench-project.ts';
import { interleave, type Variant } from './measure.ts';

const imageCount = 6;
const rounds = 7;
const targetSpeedup = 1.5;

export async function benchmarkPipelineConcurrency(moto: MotoServer, defer: (cleanup: () => Promise<void>) => void): Promise<BenchmarkResult> {
  const project = await createBenchProject('bench', imageCount);
  defer(() => project.remove());
  const loaded = await loadProject(project.dir);

  const variant = (concurrency: number): Variant<Awaited<ReturnType<typeof createEmulatorContext>>> => ({
    name: `concurrency ${concurrency}`,
    // NOTE: every trial starts from an empty emulator, so that no variant pays for the versions and retirements an earlier trial left behind.
    async prepare() {
      await moto.reset();
      return createEmulatorContext(project.dir, loaded, moto, { concurrency }, { force: true });
    },
    async run(context) {
      try {
        const { plan } = await planRun(context, loaded.images, { force: true, baseOverrides: context.options.baseOverrides });
        const result = await applyRun(context, plan, loaded.images, { stages: createLifecycle(context), signal: new AbortController().signal });
        const unpublished = result.outcomes.filter((outcome) => outcome.result !== 'published');
        // A failed image finishes early and would flatter the variant it failed in.
        if (unpublished.length > 0) throw new Error(`pipeline run at concurrency ${concurrency} did not publish every image: ${JSON.stringify(unpublished)}`);
      } finally {
        context.clients.destroy();
      }
    },
  });

  const [serial, parallel] = await interleave([variant(1), variant(3)], rounds, { warmup: true });
  const speedup = serial!.medianMs / parallel!.medianMs;
  return {
    name: 'pipeline-concurrency',
    title: `Pipeline, ${imageCount} independent images, --force (${rounds} rounds)`,
    variants: [serial!, parallel!],
    unit: { label: 'ms / image', per: (variant) => variant.medianMs / imageCount },
    ratio: { label: 'speedup (c1 / c3)', value: speedup, target: `≥ ${targetSpeedup}×`, met: speedup >= targetSpeedup },
    notes: ['Peak RSS is this process only: Packer and moto run in child processes, and share the same cores.'],
  };
}
