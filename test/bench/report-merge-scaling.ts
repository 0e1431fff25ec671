/**
 * `gild report merge` of 1,000 job reports, one published image each, as the
 * fleet workflow's report job downloads them (reports/gild-report-<job>/<run>/
 * report.json), with the plan they applied: wall time and peak RSS of the CLI
 * process, and the merged report's and the step summary's sizes against
 * GitHub's 1 MiB step summary. Each image report is shaped as a real run's:
 * its steps, parameters written, package summary and smoke checks.
 */
import { mkdir, readFile, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { ImageReport, RunReport } from '../../src/report/report-schema.ts';
import { flatFleet, fleetPlan } from '../support/generated-fleet-plan.ts';
import { createTempProject, repoRoot } from '../support/project.ts';
import type { BenchmarkResult } from './benchmark.ts';

const jobs = 1000;
const mebibyte = 1024 * 1024;

function imageReport(image: string): ImageReport {
  const regions = ['us-east-1', 'us-west-2'];
  const amis = Object.fromEntries(regions.map((region, index) => [region, `ami-0${index}${image.replace(/\D/g, '').padStart(15, '0')}`]));
  return {
    image,
    action: 'build',
    reason: 'the base AMI changed: ami-0123456789abcdef0 → ami-0fedcba9876543210',
    result: 'published',
    previousVersion: '1.0.0',
    version: '1.0.1',
    amis,
    durationMs: 1_500_000,
    steps: ['lock', 'build', 'smoke', 'share', 'share', 'publish', 'release'].map((kind, index) => ({
      id: `${kind}:${image}${kind === 'share' ? `:${regions[index % 2]}` : ''}`,
      kind,
      status: 'done',
      reason: `why ${kind} happens for ${image}`,
      durationMs: 60_000,
    })),
    parametersWritten: regions.flatMap((region) =>
      ['versions/1.0.1', 'v1', 'latest'].map((name) => ({
        region,
        name: `/golden/${image}/${name}`,
        value: amis[region]!,
        previousValue: name === 'versions/1.0.1' ? undefined : 'ami-0aaaaaaaaaaaaaaaa',
      })),
    ),
    retired: [],
    kept: [],
    summary: ['packages: 412 (3 upgraded: openssl 3.0.8 → 3.0.9, curl 8.1 → 8.2, tzdata 2026a → 2026b)', `published 1.0.1: ${regions.map((region) => `${region} ${amis[region]}`).join(', ')}`],
  } as unknown as ImageReport;
}

export async function benchmarkReportMerge(defer: (cleanup: () => Promise<void>) => void): Promise<BenchmarkResult[]> {
  const project = await createTempProject();
  defer(() => project.remove());
  const shape = flatFleet(jobs);
  const plan = fleetPlan(shape);
  await writeFile(path.join(project.dir, 'plan.json'), JSON.stringify(plan));
  for (const [index, image] of [...shape.keys()].entries()) {
    const folder = path.join(project.dir, 'reports', `gild-report-${index + 1}`, plan.runId);
    await mkdir(folder, { recursive: true });
    const started = new Date(Date.UTC(2026, 11, 7, 3, 0, index)).toISOString();
    const report = {
      schema: 1,
      runId: plan.runId,
      command: `gild run ${image} --plan plan.json`,
      commandName: 'run',
      startedAt: started,
      finishedAt: started,
      ssmPrefix: '/golden',
      result: 'succeeded',
      counts: { published: 1 },
      images: [imageReport(image)],
      runSteps: [],
    } as unknown as RunReport;
    await writeFile(path.join(folder, 'report.json'), JSON.stringify(report, null, 2));
  }
  const summary = path.join(project.dir, 'step-summary.md');
  const peakFile = path.join(project.dir, '.peak-rss');
  const startedAt = performance.now();
  const merged = await project.gild(['report', 'merge', 'reports', '--plan', 'plan.json', '--out', 'fleet-report'], {
    GITHUB_STEP_SUMMARY: summary,
    GITHUB_SERVER_URL: 'https://github.com',
    GITHUB_REPOSITORY: 'org/images',
    GITHUB_RUN_ID: '1',
    NODE_OPTIONS: `--import ${path.join(repoRoot, 'test/bench/peak-rss.mjs')}`,
    GILD_BENCH_PEAK_RSS_FILE: peakFile,
  });
  const ms = performance.now() - startedAt;
  if (merged.exitCode !== 0) throw new Error(`gild report merge of ${jobs} job reports failed (exit ${merged.exitCode}):\n${merged.stderr.slice(-2000)}`);
  const peakRss = Number(await readFile(peakFile, 'utf8'));
  const summaryText = await readFile(summary, 'utf8');
  const summaryBytes = Buffer.byteLength(summaryText);
  const jsonBytes = (await stat(path.join(project.dir, 'fleet-report/report.json'))).size;
  const markdownBytes = (await stat(path.join(project.dir, 'fleet-report/report.md'))).size;
  const kib = (bytes: number) => `${(bytes / 1024).toFixed(0)} KiB`;
  const note = `merged report.json ${kib(jsonBytes)}, report.md ${kib(markdownBytes)}, step summary ${kib(summaryBytes)}${summaryText.includes('This summary is cut short') ? ' (cut to fit, saying what it left out and linking the full report)' : ' (whole)'}`;
  console.error(`bench: report merge: ${jobs} job reports in ${ms.toFixed(0)} ms, peak RSS ${(peakRss / 1e6).toFixed(0)} MB; ${note}`);
  return [
    {
      name: 'report-merge',
      title: `\`gild report merge\` of ${jobs} job reports with their plan (CLI process), into one report and the step summary`,
      variants: [{ name: `${jobs} job reports`, trials: [{ ms, peakRss }], medianMs: ms, peakRss }],
      ratio: { label: 'step summary / 1 MiB', value: summaryBytes / mebibyte, target: '≤ 1×', met: summaryBytes <= mebibyte },
      notes: [note],
    },
  ];
}
