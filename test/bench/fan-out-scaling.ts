/**
 * What a large fleet costs gild itself: `gild plan --matrix` (a forced plan,
 * every image to build, fanned out over CI jobs) and a no-op `gild run` at
 * 100, 300 and 1,000 published images, and `gild report merge` of 1,000 job
 * reports. Each fleet has its images in a build and a copy region with one
 * older version each (4 AMIs an image) and 1,000 AMIs of other teams in the
 * account: 5,000 AMIs at 1,000 images. Each is the CLI in its own process,
 * behind the counting proxy (which pages moto's answers as AWS does), measured
 * once: wall time, AWS calls by action, peak RSS of the process, and the sizes
 * of what CI carries between jobs (the plan, the matrix, the reports, the step
 * summary) against the engine's limits (1 MiB for a job output or a step
 * summary). Targets: calls grow with pages (a run's calls per image fall or
 * stay as the fleet grows), time and memory no faster than images.
 */
import { mkdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { repoRoot } from '../support/project.ts';
import type { MotoServer } from '../support/moto.ts';
import type { BenchmarkResult } from './benchmark.ts';
import type { VariantResult } from './measure.ts';
import { createFleet, type Fleet } from './no-op-run.ts';

/** GILD_BENCH_FAN_OUT_SIZES=20,40 tries the benchmark small. */
const sizes = (process.env.GILD_BENCH_FAN_OUT_SIZES?.split(',').map(Number) ?? [100, 300, 1000]) as readonly number[];
const shape = { olderVersions: 1, otherAmis: Number(process.env.GILD_BENCH_FAN_OUT_OTHER_AMIS ?? 1000) };
const mebibyte = 1024 * 1024;
const peakRssPreload = path.join(repoRoot, 'test/bench/peak-rss.mjs');

interface Measured {
  readonly ms: number;
  readonly peakRss: number;
  readonly calls: number;
  readonly byAction: string;
  readonly stdout: string;
  readonly stderr: string;
  readonly exitCode: number;
}

/** One CLI call on a fleet: wall time, the AWS calls it made, and its peak RSS. */
async function measure(fleet: Fleet, args: readonly string[], env: Record<string, string> = {}): Promise<Measured> {
  fleet.proxy.reset();
  const peakFile = path.join(fleet.project.dir, `.peak-rss-${args[0]}`);
  const started = performance.now();
  const result = await fleet.project.gild(args, { ...fleet.proxy.env(fleet.moto.env), NODE_OPTIONS: `--import ${peakRssPreload}`, GILD_BENCH_PEAK_RSS_FILE: peakFile, ...env });
  const ms = performance.now() - started;
  const byAction = new Map<string, number>();
  for (const call of fleet.proxy.calls) if (call.service !== 'other') byAction.set(call.action, (byAction.get(call.action) ?? 0) + 1);
  return {
    ms,
    peakRss: Number(await readFile(peakFile, 'utf8')),
    calls: [...byAction.values()].reduce((sum, count) => sum + count, 0),
    byAction: [...byAction]
      .sort((a, b) => b[1] - a[1])
      .map(([action, count]) => `${action} ${count}`)
      .join(', '),
    ...result,
  };
}

const variant = (name: string, measured: Pick<Measured, 'ms' | 'peakRss'>): VariantResult => ({
  name,
  trials: [{ ms: measured.ms, peakRss: measured.peakRss }],
  medianMs: measured.ms,
  peakRss: measured.peakRss,
});
const kib = (bytes: number) => `${(bytes / 1024).toFixed(0)} KiB`;

export async function benchmarkFanOutScaling(_moto: MotoServer, defer: (cleanup: () => Promise<void>) => void): Promise<BenchmarkResult[]> {
  const plans: { size: number; measured: Measured; planBytes: number; matrixBytes: number; jobs: number; perJob: number }[] = [];
  const runs: { size: number; measured: Measured; reportBytes: number }[] = [];
  let merge: { measured: Measured; jsonBytes: number; markdownBytes: number; summaryBytes: number; summaryCut: boolean } | undefined;
  for (const size of sizes) {
    // One fleet at a time: a moto with 5,000 AMIs is large, and the sizes must not slow each other.
    const seedStarted = performance.now();
    const fleet = await createFleet(size, 'account', shape);
    let cleaned = false;
    const cleanup = async () => {
      if (cleaned) return;
      cleaned = true;
      await fleet.proxy.stop();
      await fleet.moto.stop();
      await fleet.project.remove();
    };
    defer(cleanup);
    console.error(`bench: fan-out: ${size} images seeded in ${((performance.now() - seedStarted) / 1000).toFixed(0)} s`);
    // What the workflows do: observe and plan once (`plan --json`, a forced plan: every image to build), then fan the
    // saved plan out (`plan --matrix --from`, which reads no AWS). Both are measured; together they are `plan --matrix`.
    const saved = await measure(fleet, ['plan', '--json', '--force']);
    if (saved.exitCode !== 0) throw new Error(`gild plan --json --force over ${size} images failed (exit ${saved.exitCode}):\n${saved.stderr.slice(-2000)}`);
    await writeFile(path.join(fleet.project.dir, 'plan.json'), saved.stdout);
    try {
      JSON.parse(saved.stdout);
    } catch {
      throw new Error(`gild plan --json --force over ${size} images printed ${saved.stdout.length} characters that are not JSON: ${saved.stdout.slice(0, 300)} … ${saved.stdout.slice(-300)}`);
    }
    const fanned = await measure(fleet, ['plan', '--matrix', '--from', 'plan.json']);
    if (fanned.exitCode !== 0)
      throw new Error(`gild plan --matrix --from plan.json over ${size} images failed (exit ${fanned.exitCode}):\n${fanned.stdout.slice(0, 2000)}\n${fanned.stderr.slice(-2000)}`);
    const matrix = JSON.parse(fanned.stdout) as { jobs: number; perJob: number; images: number };
    if (matrix.images !== size) throw new Error(`the fan-out of the forced plan over ${size} images failed or lost images (exit ${fanned.exitCode}):\n${fanned.stderr.slice(-2000)}`);
    const planned: Measured = { ...saved, ms: saved.ms + fanned.ms, peakRss: Math.max(saved.peakRss, fanned.peakRss), calls: saved.calls + fanned.calls };
    plans.push({ size, measured: planned, planBytes: Buffer.byteLength(saved.stdout), matrixBytes: Buffer.byteLength(fanned.stdout), jobs: matrix.jobs, perJob: matrix.perJob });
    console.error(
      `bench: fan-out: ${size} images: plan --json --force ${saved.ms.toFixed(0)} ms, ${saved.calls} calls (${saved.byAction}), peak RSS ${(saved.peakRss / 1e6).toFixed(0)} MB, ${(Buffer.byteLength(saved.stdout) / 1024).toFixed(0)} KiB; plan --matrix --from ${fanned.ms.toFixed(0)} ms, peak RSS ${(fanned.peakRss / 1e6).toFixed(0)} MB, ${matrix.jobs} jobs of ≤ ${matrix.perJob}, ${(Buffer.byteLength(fanned.stdout) / 1024).toFixed(0)} KiB`,
    );

    const ran = await measure(fleet, ['run']);
    const unchanged = (ran.stdout.match(/^ {2}= .* unchanged: /gm) ?? []).length;
    if (ran.exitCode !== 0 || unchanged !== size)
      throw new Error(`the no-op run over ${size} images was not a no-op (exit ${ran.exitCode}, ${unchanged} unchanged):\n${ran.stdout.slice(-2000)}\n${ran.stderr.slice(-2000)}`);
    const reportFile = /Report: (\S+) \(JSON: (\S+)\)/.exec(ran.stdout)![2]!;
    const report = JSON.parse(await readFile(path.join(fleet.project.dir, reportFile), 'utf8')) as { runId: string; images: { image: string }[]; counts: Record<string, number> };
    runs.push({ size, measured: ran, reportBytes: (await stat(path.join(fleet.project.dir, reportFile))).size });
    console.error(`bench: fan-out: ${size} images: no-op run ${ran.ms.toFixed(0)} ms, ${ran.calls} calls (${ran.byAction}), peak RSS ${(ran.peakRss / 1e6).toFixed(0)} MB`);

    if (size === sizes.at(-1)) {
      // 1,000 jobs of one image each, as the fleet workflow's report job downloads them, each one image of the no-op
      // run's report. Without --plan: the merge then takes the run from the reports (a plan adds only its no-job images).
      for (const [index, image] of report.images.entries()) {
        const folder = path.join(fleet.project.dir, 'reports', `gild-report-${index + 1}`, report.runId);
        await mkdir(folder, { recursive: true });
        await writeFile(path.join(folder, 'report.json'), JSON.stringify({ ...report, images: [image], counts: { unchanged: 1 } }, null, 2));
      }
      const summary = path.join(fleet.project.dir, 'step-summary.md');
      const merged = await measure(fleet, ['report', 'merge', 'reports', '--out', 'fleet-report'], { GITHUB_STEP_SUMMARY: summary });
      if (merged.exitCode !== 0) throw new Error(`gild report merge of ${report.images.length} job reports failed (exit ${merged.exitCode}):\n${merged.stderr.slice(-2000)}`);
      const summaryText = await readFile(summary, 'utf8');
      merge = {
        measured: merged,
        jsonBytes: (await stat(path.join(fleet.project.dir, 'fleet-report/report.json'))).size,
        markdownBytes: (await stat(path.join(fleet.project.dir, 'fleet-report/report.md'))).size,
        summaryBytes: Buffer.byteLength(summaryText),
        summaryCut: summaryText.includes('This summary is cut short'),
      };
      await rm(path.join(fleet.project.dir, 'reports'), { recursive: true, force: true });
    }
    await cleanup();
  }

  const growth = <T extends { size: number; measured: Measured }>(rows: readonly T[], of: (row: T) => number) =>
    rows
      .slice(1)
      .map((row, index) => `${rows[index]!.size} → ${row.size} images (×${(row.size / rows[index]!.size).toFixed(2)}): ×${(of(row) / of(rows[index]!)).toFixed(2)}`)
      .join('; ');
  const timeGrowth = (rows: readonly { size: number; measured: Measured }[]) => rows.at(-1)!.measured.ms / rows[0]!.measured.ms / (rows.at(-1)!.size / rows[0]!.size);
  const perImageCalls = (rows: readonly { size: number; measured: Measured }[]) => rows.map((row) => row.measured.calls / row.size);
  const describe = (rows: readonly { size: number; measured: Measured }[]) => [
    `time: ${growth(rows, (row) => row.measured.ms)}`,
    `AWS calls: ${rows.map((row) => `${row.size} images ${row.measured.calls}`).join(', ')}; growth ${growth(rows, (row) => row.measured.calls)}`,
    `peak RSS: ${growth(rows, (row) => row.measured.peakRss)}`,
    ...rows.map((row) => `${row.size} images, calls by action: ${row.measured.byAction}`),
  ];
  const results: BenchmarkResult[] = [
    {
      name: 'fan-out-plan',
      title: '`gild plan --json --force` then `gild plan --matrix --from plan.json` (CLI processes, as the workflows run them), every image to build; 4 AMIs an image + 1,000 other AMIs',
      variants: plans.map((row) => variant(`${row.size} images`, row.measured)),
      unit: { label: 'AWS calls', per: (result) => plans.find((row) => result.name === `${row.size} images`)!.measured.calls },
      ratio: { label: `time per image, ${sizes.at(-1)} vs ${sizes[0]} images`, value: timeGrowth(plans), target: '≤ 1× (no faster than images)', met: timeGrowth(plans) <= 1 },
      notes: [
        ...describe(plans),
        ...plans.map(
          (row) => `${row.size} images: ${row.jobs} jobs of at most ${row.perJob}; matrix ${kib(row.matrixBytes)} (a job output holds 1 MiB), plan JSON ${kib(row.planBytes)} (an artifact)`,
        ),
      ],
    },
    {
      name: 'fan-out-no-op',
      title: 'No-op `gild run` (CLI process), every image published and unchanged; 4 AMIs an image + 1,000 other AMIs',
      variants: runs.map((row) => variant(`${row.size} images`, row.measured)),
      unit: { label: 'AWS calls', per: (result) => runs.find((row) => result.name === `${row.size} images`)!.measured.calls },
      ratio: {
        label: `AWS calls per image, ${sizes.at(-1)} vs ${sizes[0]} images`,
        value: perImageCalls(runs).at(-1)! / perImageCalls(runs)[0]!,
        target: '≤ 1× (calls grow with pages, not faster than images)',
        met: perImageCalls(runs).at(-1)! <= perImageCalls(runs)[0]!,
      },
      notes: [...describe(runs), `time per image, ${sizes.at(-1)} vs ${sizes[0]}: ×${timeGrowth(runs).toFixed(2)}`, ...runs.map((row) => `${row.size} images: report.json ${kib(row.reportBytes)}`)],
    },
  ];
  if (merge) {
    results.push({
      name: 'fan-out-merge',
      title: `\`gild report merge\` of ${sizes.at(-1)} job reports (CLI process), into one report and the step summary`,
      variants: [variant(`${sizes.at(-1)} job reports`, merge.measured)],
      ratio: { label: 'step summary / 1 MiB', value: merge.summaryBytes / mebibyte, target: '≤ 1×', met: merge.summaryBytes <= mebibyte },
      notes: [
        `merged report.json ${kib(merge.jsonBytes)}, report.md ${kib(merge.markdownBytes)}, step summary ${kib(merge.summaryBytes)}${merge.summaryCut ? ' (cut, saying what it left out)' : ' (whole)'}; AWS calls ${merge.measured.calls}`,
      ],
    });
  }
  return results;
}
