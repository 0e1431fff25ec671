import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { runCli } from '../../src/cli.ts';
import { fakeIo } from '../support/fake-io.ts';
import type { ImageDecision, PlanStep, RunPlan } from '../../src/plan/run-plan.ts';
import { mergeRunReports, type ReportFile } from '../../src/report/merge-run-reports.ts';
import { renderReportMarkdown } from '../../src/report/render-report-markdown.ts';
import { runReportSchema, type ImageReport, type RunReport } from '../../src/report/report-schema.ts';

const runId = '20261129T030000Z-fleet1';

const build = (image: string): ImageDecision => ({ image, action: 'build', reason: 'the base AMI changed', currentVersion: '1.0.0', nextVersion: '1.0.1' });
const step = (id: string, after: string[]): PlanStep => ({ id, kind: 'build', image: id.split(':')[1]!, after, reason: '', precondition: '' }) as unknown as PlanStep;

/** base, then app built on it; tool alone; steady unchanged (no job). */
const plan: RunPlan = {
  schema: 1,
  runId,
  createdAt: '2026-11-29T03:00:00.000Z',
  ssmPrefix: '/golden',
  options: { force: false, images: [] },
  observed: { at: '2026-11-29T03:00:00.000Z', digests: {} },
  images: [build('base'), build('app'), build('tool'), { image: 'steady', action: 'unchanged', reason: 'unchanged since 2.0.0', currentVersion: '2.0.0' }],
  steps: [step('publish:base', ['lock:base']), step('build:app', ['lock:app', 'publish:base']), step('build:tool', ['lock:tool'])],
  kept: [],
};

const none = { amis: {}, steps: [], parametersWritten: [], retired: [], kept: [], summary: [], durationMs: 0 } satisfies Partial<ImageReport>;
const published = (image: string): ImageReport => ({ ...none, image, action: 'build', reason: 'the base AMI changed', result: 'published', version: '1.0.1', amis: { 'us-east-1': `ami-0${image}` } });

function jobReport(images: ImageReport[], times: [string, string], overrides: Partial<RunReport> = {}): RunReport {
  const counts: Record<string, number> = {};
  for (const image of images) counts[image.result] = (counts[image.result] ?? 0) + 1;
  const result = images.some((image) => image.result === 'failed') ? 'failed' : 'succeeded';
  return {
    schema: 1,
    runId,
    command: `gild run ${images.map((image) => image.image).join(' ')} --plan plan.json`,
    commandName: 'run',
    startedAt: times[0],
    finishedAt: times[1],
    ssmPrefix: '/golden',
    result,
    counts,
    images,
    runSteps: [],
    ...overrides,
  };
}

const baseJob: ReportFile = { file: 'reports/gild-report-base/report.json', report: jobReport([published('base')], ['2026-11-29T03:01:00.000Z', '2026-11-29T03:09:00.000Z']) };
const failedApp: ImageReport = {
  ...none,
  image: 'app',
  action: 'build',
  reason: 'its base image changed',
  result: 'failed',
  failure: { stage: 'smoke', message: 'smoke test failed', details: [], causes: [], logTail: [], reproduce: 'npx gild run app --local --force' },
};
const appJob: ReportFile = { file: 'reports/gild-report-app/report.json', report: jobReport([failedApp], ['2026-11-29T03:10:00.000Z', '2026-11-29T03:15:00.000Z']) };
const toolJob: ReportFile = { file: 'reports/gild-report-tool/report.json', report: jobReport([published('tool')], ['2026-11-29T03:02:00.000Z', '2026-11-29T03:04:00.000Z']) };

/** `null`: merged without a plan. */
const merge = (reports: readonly ReportFile[], withPlan: RunPlan | null = plan) =>
  mergeRunReports({ reports, plan: withPlan ?? undefined, command: 'gild report merge reports --plan plan.json', now: new Date('2026-11-29T03:20:00.000Z') });
const mergedOf = (result: ReturnType<typeof merge>): RunReport => {
  if ('refused' in result) throw new Error(`refused: ${result.refused.join('; ')}`);
  return result.merged;
};

describe('mergeRunReports', () => {
  it('refuses a job report naming an image the plan does not have', () => {
    const foreign: ReportFile = { file: 'reports/x/report.json', report: jobReport([published('## injected <img src=x onerror=alert(1)>')], ['2026-11-29T03:01:00.000Z', '2026-11-29T03:02:00.000Z']) };
    expect(merge([baseJob, foreign])).toEqual({ refused: ['reports/x/report.json: image "## injected <img src=x onerror=alert(1)>" is not in the plan; merge only the reports of the plan\'s jobs'] });
  });

  it("makes one report of the plan's run from every job's report, the worst result, and the images no job reported", () => {
    const merged = mergedOf(merge([baseJob, appJob]));
    expect(runReportSchema.parse(merged)).toEqual(merged);
    expect(merged).toMatchObject({
      schema: 1,
      runId,
      commandName: 'merge',
      command: 'gild report merge reports --plan plan.json',
      ssmPrefix: '/golden',
      startedAt: '2026-11-29T03:01:00.000Z',
      finishedAt: '2026-11-29T03:15:00.000Z',
      result: 'failed',
      counts: { published: 1, failed: 1, unchanged: 1, missing: 1 },
      missing: [{ image: 'tool', reason: 'no report: job did not finish' }],
    });
    expect(merged.images.map((image) => `${image.image} ${image.result}`)).toEqual(['app failed', 'base published', 'steady unchanged']);
    expect(merged.images.find((image) => image.image === 'steady')).toMatchObject({ action: 'unchanged', reason: 'unchanged since 2.0.0', version: '2.0.0' });
    expect(merged.jobs).toEqual([
      {
        file: 'reports/gild-report-base/report.json',
        command: 'gild run base --plan plan.json',
        result: 'succeeded',
        images: ['base'],
        startedAt: '2026-11-29T03:01:00.000Z',
        finishedAt: '2026-11-29T03:09:00.000Z',
      },
      {
        file: 'reports/gild-report-app/report.json',
        command: 'gild run app --plan plan.json',
        result: 'failed',
        images: ['app'],
        startedAt: '2026-11-29T03:10:00.000Z',
        finishedAt: '2026-11-29T03:15:00.000Z',
      },
    ]);
  });

  it('succeeds only when every job reported and none failed; an interrupted job makes it interrupted', () => {
    expect(mergedOf(merge([baseJob, toolJob, { ...appJob, report: jobReport([published('app')], ['2026-11-29T03:10:00.000Z', '2026-11-29T03:15:00.000Z']) }])).result).toBe('succeeded');
    expect(mergedOf(merge([baseJob, toolJob])).result).toBe('failed');
    const interrupted = { ...appJob, report: jobReport([{ ...published('app'), result: 'interrupted' }], ['2026-11-29T03:10:00.000Z', '2026-11-29T03:15:00.000Z'], { result: 'interrupted' }) };
    expect(mergedOf(merge([baseJob, toolJob, interrupted])).result).toBe('interrupted');
  });

  it('calls every job image missing when no job left a report', () => {
    const merged = mergedOf(merge([]));
    expect(merged).toMatchObject({ runId, result: 'failed', startedAt: plan.createdAt, finishedAt: '2026-11-29T03:20:00.000Z', jobs: [] });
    expect(merged.missing!.map((entry) => entry.image)).toEqual(['app', 'base', 'tool']);
  });

  it('keeps the later report of a job that ran twice', () => {
    const rerun: ReportFile = { file: 'reports/gild-report-app-2/report.json', report: jobReport([published('app')], ['2026-11-29T04:00:00.000Z', '2026-11-29T04:05:00.000Z']) };
    const merged = mergedOf(merge([rerun, baseJob, appJob, toolJob]));
    expect(merged.images.find((image) => image.image === 'app')?.result).toBe('published');
    expect(merged.jobs).toHaveLength(4);
  });

  it('refuses reports of another plan or another schema, naming each file, all at once', () => {
    const otherPlan: ReportFile = { file: 'reports/old/report.json', report: { ...toolJob.report, runId: '20261128T030000Z-fleet0' } };
    const newer: ReportFile = { file: 'reports/newer/report.json', report: { ...toolJob.report, schema: 2 as 1 } };
    expect(merge([baseJob, otherPlan, newer])).toEqual({
      refused: [
        `reports/old/report.json: run 20261128T030000Z-fleet0 is not run ${runId} of the plan; merge only the reports of one plan's jobs`,
        'reports/newer/report.json: report schema 2, but this gild merges schema 1; merge with the gild version that wrote it',
      ],
    });
  });

  it('without a plan, takes the run from the first report and refuses reports of another run', () => {
    const merged = mergedOf(merge([baseJob, appJob], null));
    expect(merged).toMatchObject({ runId, missing: [] });
    expect(merged.images.map((image) => image.image)).toEqual(['app', 'base']);
    const otherRun: ReportFile = { file: 'b.json', report: { ...appJob.report, runId: 'other' } };
    expect(merge([baseJob, otherRun], null)).toEqual({ refused: [`b.json: run other is not run ${runId} of reports/gild-report-base/report.json; merge only the reports of one plan's jobs`] });
    expect(merge([], null)).toEqual({ refused: ['no reports to merge and no plan to say which were expected: pass the report.json files, and --plan plan.json'] });
  });

  it('renders the fleet report with the images that have no report first, then each job', () => {
    const markdown = renderReportMarkdown(mergedOf(merge([baseJob, appJob])));
    expect(markdown).toMatch(/^## gild fleet `20261129T030000Z-fleet1`: failed\n\n`gild report merge reports --plan plan.json` · 1 failed, 1 published, 1 unchanged, 1 without a report · 14 min 0 s/);
    expect(markdown).toContain('| --- | --- | --- | --- | --- |\n| tool | ✖ no report | — | — | — |\n| app | ✖ failed |');
    expect(markdown).toContain('### ✖ no report\n\n- tool: no report: job did not finish');
    expect(markdown).toContain('### Jobs\n\n- `reports/gild-report-base/report.json`: succeeded, base (`gild run base --plan plan.json`, 8 min 0 s)');
  });
});

describe('gild report merge', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'gild-merge-'));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  const io = (env: Record<string, string> = {}) => fakeIo({ cwd: dir, env });

  const save = async (file: string, content: unknown) => {
    await mkdir(path.dirname(path.join(dir, file)), { recursive: true });
    await writeFile(path.join(dir, file), JSON.stringify(content));
  };

  it('merges the downloaded artifacts, writes report.json and report.md, appends the step summary, and exits 1 for a failed fleet', async () => {
    await save('plan.json', plan);
    // As download-artifact lays them out: one folder per job, the run's folder inside.
    await save(`reports/gild-report-base/${runId}/report.json`, baseJob.report);
    await save(`reports/gild-report-app/${runId}/report.json`, appJob.report);
    await writeFile(path.join(dir, 'summary.md'), '## an earlier step\n');
    const { io: handle, written } = io({ GITHUB_STEP_SUMMARY: path.join(dir, 'summary.md') });

    const exitCode = await runCli(['report', 'merge', 'reports', '--plan', 'plan.json', '--out', 'fleet', '--json'], handle);

    expect(exitCode).toBe(1);
    const printed = runReportSchema.parse(JSON.parse(written.stdout));
    expect(printed).toMatchObject({ runId, result: 'failed', command: 'gild report merge reports --plan plan.json --out fleet --json', missing: [{ image: 'tool' }] });
    expect(printed.jobs!.map((job) => job.file)).toEqual([`reports/gild-report-app/${runId}/report.json`, `reports/gild-report-base/${runId}/report.json`]);
    expect(JSON.parse(await readFile(path.join(dir, 'fleet/report.json'), 'utf8'))).toEqual(printed);
    const markdown = await readFile(path.join(dir, 'fleet/report.md'), 'utf8');
    expect(markdown).toBe(renderReportMarkdown(printed));
    expect(await readFile(path.join(dir, 'summary.md'), 'utf8')).toBe(`## an earlier step\n${markdown}\n`);
    expect(written.stderr).toContain('Report: fleet/report.md (JSON: fleet/report.json)');
    expect(written.stderr).toContain('gild: the fleet run failed: app, tool (no report); see fleet/report.md');
  });

  it('refuses, exit 2, reports of another plan or schema and files that are not reports, naming each', async () => {
    await save('plan.json', plan);
    await save('a/report.json', { ...baseJob.report, runId: 'another-run' });
    await save('b/report.json', { ...baseJob.report, schema: 2 });
    await save('c/report.json', { schema: 1, runId });
    const { io: handle, written } = io();

    expect(await runCli(['report', 'merge', 'a/report.json', 'b/report.json', 'c/report.json', 'd/report.json', '--plan', 'plan.json'], handle)).toBe(2);

    expect(written.stderr).not.toMatch(/internal error|\n\s+at /);
    expect(written.stderr.split('\n').filter((line) => line.startsWith('  - '))).toEqual([
      '  - d/report.json: no such file or folder',
      '  - b/report.json: report schema 2, but this gild merges schema 1; merge with the gild version that wrote it',
      '  - c/report.json: not a gild report: command: Invalid input: expected string, received undefined',
      `  - a/report.json: run another-run is not run ${runId} of the plan; merge only the reports of one plan's jobs`,
    ]);
  });
});
