/**
 * How fast gild starts, each command in a fresh process as a user runs it,
 * side by side with `node -e 0` (what any Node program pays). The targets are
 * milliseconds measured where `node -e 0` took 57 ms; each is judged as the
 * ratio to a bare `node -e 0` it stands for (200 ms: < 3.51×):
 * - `gild --help` to its first output (target < 200 ms);
 * - `gild resolve web`, cold, to its exit, against moto holding one published
 *   parameter (target < 250 ms); also with a `pipeline/settings.ts` to load
 *   and, for comparison, from the TypeScript sources with an empty jiti cache,
 *   and a bare Node process reading the same parameter with the SDK (the floor);
 * - `gild validate` to its first output in a project with no images
 *   (start-up, before any work; target < 200 ms).
 *
 * It measures the engine as `npm ci` leaves it, bundled in dist/bundle/, and
 * builds it first when it is not a build of the sources as they are.
 */
import { spawn } from 'node:child_process';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os, { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { PutParameterCommand, SSMClient } from '@aws-sdk/client-ssm';
import { execa } from 'execa';
import { bundleProblem } from '../../src/bin/engine-bundle.js';
import type { MotoServer } from '../support/moto.ts';
import { repoRoot } from '../support/project.ts';
import type { BenchmarkResult } from './benchmark.ts';
import { interleave, median, type Trial, type VariantResult } from './measure.ts';

const rounds = 9;
const gildBin = path.join(repoRoot, 'src/bin/gild.js');
const getParameterChild = fileURLToPath(new URL('./get-parameter-child.js', import.meta.url));
const amiId = 'ami-0123456789abcdef0';
/** node -e 0 where issue 11 set the targets: resolve's 777 ms was 13.6× it. */
const issueNodeMs = 57;

/**
 * Runs a process and times it from spawn to its first byte of output
 * (`until: 'output'`) or to its exit. Fails the benchmark if it fails.
 */
function timeProcess(args: readonly string[], options: { cwd: string; env: Record<string, string>; until: 'output' | 'exit'; expect?: RegExp; bare?: boolean }): Promise<Trial> {
  const cpuFile = path.join(tmpdir(), `gild-bench-cpu-${process.pid}-${trialNumber++}`);
  return new Promise<Trial>((resolve, reject) => {
    const started = performance.now();
    let firstOutputAt: number | undefined;
    let output = '';
    const child = spawn(process.execPath, [...(options.bare ? [] : ['--import', cpuReporter]), ...args], {
      cwd: options.cwd,
      env: { ...process.env, ...options.env, GILD_BENCH_CPU_FILE: cpuFile },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const onData = (chunk: Buffer) => {
      firstOutputAt ??= performance.now();
      output += chunk.toString();
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    child.on('error', reject);
    child.on('close', () => {
      const endedAt = options.until === 'output' ? (firstOutputAt ?? performance.now()) : performance.now();
      if (options.expect && !options.expect.test(output)) reject(new Error(`node ${args.join(' ')} printed ${JSON.stringify(output.slice(0, 500))}, expected ${options.expect}`));
      // Peak RSS of a child is not sampled here; 0 keeps the report's column honest about that.
      else resolve({ ms: endedAt - started, peakRss: 0 });
    });
  }).then(async (trial) => {
    if (options.bare) return trial;
    const cpuMs = Number(await readFile(cpuFile, 'utf8'));
    await rm(cpuFile, { force: true });
    return { ...trial, cpuMs };
  });
}

let trialNumber = 0;
const cpuReporter = fileURLToPath(new URL('./report-cpu-child.mjs', import.meta.url));
const medianCpuMs = (variant: VariantResult) => median(variant.trials.map((trial) => trial.cpuMs ?? Number.NaN));

export async function benchmarkStartup(moto: MotoServer, defer: (cleanup: () => Promise<void>) => void): Promise<BenchmarkResult[]> {
  if (bundleProblem() !== undefined) {
    console.error('bench: dist/bundle/ is not a build of the sources as they are: building it (npm run build) so that the engine users get is measured');
    await execa('npm', ['run', 'build'], { cwd: repoRoot, stdio: 'inherit' });
  }
  const scratch = await mkdtemp(path.join(tmpdir(), 'gild-bench-startup-'));
  defer(() => rm(scratch, { recursive: true, force: true }));
  const bare = path.join(scratch, 'bare');
  const withSettings = path.join(scratch, 'with-settings');
  await mkdir(bare);
  await mkdir(path.join(withSettings, 'pipeline'), { recursive: true });
  await writeFile(path.join(withSettings, 'pipeline/settings.ts'), "import { defineSettings } from 'gild';\nexport default defineSettings({ ssmPrefix: '/golden' });\n");
  const ssm = new SSMClient({ region: 'us-east-1', endpoint: moto.endpoint, credentials: { accessKeyId: 'test', secretAccessKey: 'test' } });
  await moto.reset();
  await ssm.send(new PutParameterCommand({ Name: '/golden/web/latest', Value: amiId, Type: 'String', DataType: 'aws:ec2:image' }));
  ssm.destroy();

  const warmCache = path.join(scratch, 'jiti-warm');
  let coldCaches = 0;
  const resolveExpect = new RegExp(`^${amiId}\\n$`);
  const [bareNode, node, help, floor, resolveBare, resolveSettings, resolveSource, validate] = await interleave<void>(
    [
      // NOTE: the targets' reference, as the issue measured it; every other process carries the CPU reporter (a few
      // ms), which so counts against gild.
      { name: 'node -e 0, bare', run: () => timeProcess(['-e', '0'], { cwd: bare, env: {}, until: 'exit', bare: true }) },
      { name: 'node -e 0, with the CPU reporter', run: () => timeProcess(['-e', '0'], { cwd: bare, env: {}, until: 'exit' }) },
      { name: 'gild --help, to first output', run: () => timeProcess([gildBin, '--help'], { cwd: bare, env: {}, until: 'output', expect: /^Usage: gild/ }) },
      {
        name: '  … a bare SSM GetParameter in node (the floor)',
        run: () => timeProcess([getParameterChild, '/golden/web/latest'], { cwd: bare, env: moto.env, until: 'exit', expect: resolveExpect }),
      },
      { name: 'gild resolve web, to exit', run: () => timeProcess([gildBin, 'resolve', 'web'], { cwd: bare, env: moto.env, until: 'exit', expect: resolveExpect }) },
      {
        name: '  … with pipeline/settings.ts (warm jiti cache)',
        run: () => timeProcess([gildBin, 'resolve', 'web'], { cwd: withSettings, env: { ...moto.env, GILD_TYPESCRIPT_CACHE: warmCache }, until: 'exit', expect: resolveExpect }),
      },
      {
        name: '  … from the .ts sources, empty jiti cache',
        run: () =>
          timeProcess([gildBin, 'resolve', 'web'], {
            cwd: bare,
            env: { ...moto.env, GILD_ENGINE: 'source', GILD_TYPESCRIPT_CACHE: path.join(scratch, `jiti-cold-${coldCaches++}`) },
            until: 'exit',
            expect: resolveExpect,
          }),
      },
      { name: 'gild validate (no images), to first output', run: () => timeProcess([gildBin, 'validate'], { cwd: bare, env: {}, until: 'output', expect: /images\/: the folder does not exist/ }) },
    ],
    rounds,
    { warmup: true },
  );

  // NOTE: issue 11 set these targets in milliseconds on a machine where `node -e 0` took 57 ms; on this shared machine
  // node alone takes 2 to 7 times that with the load, so each is judged as the ratio it stands for (200 ms is 3.5×
  // node -e 0), side by side in one run, and the milliseconds are shown beside it.
  const target = (name: string, title: string, variant: VariantResult, limitMs: number, notes: string[]): BenchmarkResult => {
    const ratio = variant.medianMs / bareNode!.medianMs;
    const limitRatio = limitMs / issueNodeMs;
    notes.push(
      `Target: < ${limitMs} ms where node -e 0 took ${issueNodeMs} ms, judged as the ratio it stands for: < ${limitRatio.toFixed(2)}× a bare node -e 0 here (${bareNode!.medianMs.toFixed(0)} ms); ${ratio.toFixed(2)}× of ${issueNodeMs} ms is ${(ratio * issueNodeMs).toFixed(0)} ms.`,
    );
    return {
      name,
      title: `${title} (${rounds} rounds, each a fresh process)`,
      variants: [bareNode!, node!, variant],
      // NOTE: CPU time is the child's whole life (to its exit), also where wall time stops at the first output.
      unit: { label: 'ms CPU', per: medianCpuMs },
      ratio: {
        label: `${variant.name.replace(/,.*$/, '')}: median, × bare node -e 0`,
        value: ratio,
        shown: `${variant.medianMs.toFixed(0)} ms, ${ratio.toFixed(2)}×`,
        target: `< ${limitRatio.toFixed(2)}× (${limitMs} ms at ${issueNodeMs} ms)`,
        met: ratio < limitRatio,
      },
      notes,
    };
  };
  const overNode = (variant: VariantResult) =>
    `${(variant.medianMs - node!.medianMs).toFixed(0)} ms over node -e 0 (CPU: ${medianCpuMs(variant).toFixed(0)} ms against ${medianCpuMs(node!).toFixed(0)} ms)`;
  const loadNote = `Load average at the end: ${os.loadavg()[0]!.toFixed(1)} on ${os.cpus().length} cores. When it exceeds the cores, processes wait for a CPU and wall times grow; the CPU column is what each takes alone.`;
  return [
    target('startup-help', '`gild --help` against `node -e 0`', help!, 200, [`--help: ${overNode(help!)} (commander and cli.ts only; no command module is loaded).`, loadNote]),
    {
      ...target('startup-resolve', '`gild resolve <image>` cold against `node -e 0`, moto holding one parameter', resolveBare!, 250, [
        `resolve: ${overNode(resolveBare!)}. A bare Node process that loads the SSM package and reads the same parameter takes ${floor!.medianMs.toFixed(0)} ms: ${
          resolveBare!.medianMs >= floor!.medianMs
            ? `gild's own share is ${(resolveBare!.medianMs - floor!.medianMs).toFixed(0)} ms, the rest is the SDK (loading and setting up the client) and the round trip.`
            : `gild takes ${(floor!.medianMs - resolveBare!.medianMs).toFixed(0)} ms less, its bundle holding only the SSM commands it uses where the package's entry point holds all of them.`
        }`,
        `With pipeline/settings.ts to load: ${resolveSettings!.medianMs.toFixed(0)} ms (jiti and the settings schema). From the .ts sources with a cold jiti cache: ${resolveSource!.medianMs.toFixed(0)} ms.`,
      ]),
      variants: [bareNode!, node!, floor!, resolveBare!, resolveSettings!, resolveSource!],
    },
    target('startup-validate', '`gild validate` start-up against `node -e 0`', validate!, 200, [
      `validate: ${overNode(validate!)} to its first output, which comes after loading zod and the definition rules and starting the definition loader's thread (it has definitions to check).`,
    ]),
  ];
}
