/**
 * `npm run bench`: gild's speed and memory targets, measured side by side on
 * whatever machine runs them (see measure.ts). Targets only print PASS or
 * WARN: a shared, noisy machine must not fail a build on a slow minute.
 * Timed assertions do not belong in the test suite; they live here.
 */
import os from 'node:os';
import { repoRoot } from '../support/project.ts';
import { startMoto, type MotoServer } from '../support/moto.ts';
import type { BenchmarkResult } from './benchmark.ts';
import { benchmarkDefinitionLoading } from './definition-loading.ts';
import { benchmarkPipelineConcurrency } from './pipeline-concurrency.ts';
import { benchmarkFanOutScaling } from './fan-out-scaling.ts';
import { benchmarkReportMerge } from './report-merge-scaling.ts';
import { benchmarkFleetVsPacker } from './fleet-vs-packer.ts';
import { benchmarkFleetOnClock } from './fleet-on-clock.ts';
import { benchmarkNoOpRun } from './no-op-run.ts';
import { benchmarkStartup } from './startup.ts';
import { formatTable, writeResults } from './report.ts';
import { benchmarkRetirementScaling } from './retirement-scaling.ts';

/**
 * Returns the exit code: 1 only when a benchmark could not run at all, or 2
 * for an unknown benchmark name. `npm run bench -- startup no-op-run` runs only
 * the benchmarks named; with no names, all of them.
 */
export async function main(names: readonly string[] = []): Promise<number> {
  const moto: { server?: MotoServer } = {};
  const steps: [string, string, () => Promise<BenchmarkResult | BenchmarkResult[]>][] = [
    ['startup', 'start-up', () => benchmarkStartup(moto.server!, defer)],
    ['concurrency', 'pipeline concurrency', () => benchmarkPipelineConcurrency(moto.server!, defer)],
    ['definitions', 'definition loading', () => benchmarkDefinitionLoading(defer)],
    ['no-op-run', 'no-op run', () => benchmarkNoOpRun(moto.server!, defer)],
    ['fleet-vs-packer', 'fleet against Packer alone', () => benchmarkFleetVsPacker(moto.server!, defer)],
    ['fleet-on-clock', "fleet on AWS's clock: gild's copies against Packer's ami_regions and the ideal schedule", () => benchmarkFleetOnClock(moto.server!, defer)],
    ['retirement', 'retirement scaling', () => benchmarkRetirementScaling(moto.server!, defer)],
    ['fan-out', 'fan-out at 100, 300 and 1,000 images', () => benchmarkFanOutScaling(moto.server!, defer)],
    ['report-merge', 'report merge of 1,000 job reports', () => benchmarkReportMerge(defer)],
  ];
  const unknown = names.filter((name) => !steps.some(([key]) => key === name));
  if (unknown.length > 0) {
    console.error(`bench: unknown benchmark${unknown.length === 1 ? '' : 's'} ${unknown.join(', ')}. Choose from: ${steps.map(([key]) => key).join(', ')}.`);
    return 2;
  }
  const startedAt = new Date();
  // Cleanup is declared as resources are made, and runs on failure and on Ctrl-C too.
  const cleanups: (() => Promise<void>)[] = [];
  const defer = (cleanup: () => Promise<void>) => void cleanups.push(cleanup);
  const cleanUp = async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup().catch((error: unknown) => console.error(`bench: cleanup failed: ${String(error)}`));
  };
  const onSignal = (signal: NodeJS.Signals) => void cleanUp().finally(() => process.exit(signal === 'SIGINT' ? 130 : 143));
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);

  try {
    moto.server = await startMoto();
    defer(() => moto.server!.stop());
    const results: BenchmarkResult[] = [];
    for (const [key, title, step] of steps) {
      if (names.length > 0 && !names.includes(key)) continue;
      const started = performance.now();
      const loadBefore = os.loadavg()[0]!;
      console.error(`bench: ${title}…`);
      results.push(...[await step()].flat());
      // NOTE: the machine is shared: every figure is read beside the load it was measured under.
      console.error(`bench: ${title} took ${((performance.now() - started) / 1000).toFixed(0)} s (load average ${loadBefore.toFixed(1)} at its start, ${os.loadavg()[0]!.toFixed(1)} at its end)`);
    }
    console.log(formatTable(results));
    console.log(`\nResults: ${await writeResults(repoRoot, startedAt, results)}`);
    return 0;
  } catch (error) {
    console.error(`bench: failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
    return 1;
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    await cleanUp();
  }
}
