/**
 * `gild report merge <report.json|dir…> --plan plan.json [--out dir]`: the
 * fleet's one report. Each CI job of `pipeline/fleet.yml` uploads its own
 * report.json; this checks that they all come from the same plan and schema,
 * merges them (src/report/merge-run-reports.ts), names the images whose job
 * left no report, writes report.json and report.md, and appends the Markdown to
 * `$GITHUB_STEP_SUMMARY`. Reads no AWS. Exits 1 when the fleet run failed.
 */
import { mkdir, readFile, readdir, stat } from 'node:fs/promises';
import path from 'node:path';
import { catalogue } from '../errors.ts';
import { planSchemaVersion, type RunPlan } from '../plan/run-plan.ts';
import { commandLine } from '../report/build-run-report.ts';
import { mergeRunReports, type ReportFile } from '../report/merge-run-reports.ts';
import { reportSchemaVersion, runReportSchema } from '../report/report-schema.ts';
import { readOptional, saveReport } from '../report/write-run-report.ts';
import type { Io } from './io.ts';

export interface MergeReportsOptions {
  /** report.json files, or folders searched for them (an artifact download folder). */
  readonly reports: readonly string[];
  /** The plan the jobs applied (`gild plan --json`): which images should have reported. */
  readonly plan?: string | undefined;
  /** Where report.json and report.md go (default `.gild/runs/<run-id>/fleet/`). */
  readonly out?: string | undefined;
  readonly json: boolean;
  /** The command line, for the report. */
  readonly argv: readonly string[];
}

export async function mergeReports(options: MergeReportsOptions, io: Pick<Io, 'cwd' | 'env' | 'stdout' | 'stderr'>): Promise<number> {
  const say = options.json ? io.stderr : io.stdout;
  const problems: string[] = [];
  const plan = options.plan === undefined ? undefined : await readPlan(io.cwd, options.plan, problems);
  const reports: ReportFile[] = [];
  for (const file of await reportFiles(io.cwd, options.reports, problems)) {
    const report = await readReport(io.cwd, file, problems);
    if (report) reports.push({ file, report });
  }
  const merged = mergeRunReports({ reports, plan, command: commandLine(options.argv), now: new Date() });
  // Every problem at once: the files that could not be read, and those that belong to another run.
  const refused = 'refused' in merged && !(problems.length > 0 && reports.length === 0) ? merged.refused : [];
  if (problems.length > 0 || 'refused' in merged) throw catalogue.EREPORTMERGE([...problems, ...refused]);
  const report = merged.merged;
  const outDir = path.resolve(io.cwd, options.out ?? path.join('.gild', 'runs', report.runId, 'fleet'));
  if (options.out !== undefined) await refuseForeignReportFiles(outDir, options.out);
  await mkdir(outDir, { recursive: true });
  const written = await saveReport(report, outDir, io.env);
  for (const warning of written.warnings) io.stderr(`gild: warning: ${warning}\n`);
  const missing = report.missing ?? [];
  say(
    `Fleet run ${report.runId}: ${report.result}, ${reports.length} job report${reports.length === 1 ? '' : 's'}, ${report.images.length} image${report.images.length === 1 ? '' : 's'}${missing.length > 0 ? `; no report from ${missing.map((entry) => entry.image).join(', ')}` : ''}\n`,
  );
  say(`Report: ${path.relative(io.cwd, written.markdownFile)} (JSON: ${path.relative(io.cwd, written.jsonFile)})\n`);
  if (options.json) io.stdout(`${JSON.stringify(report, null, 2)}\n`);
  if (report.result === 'succeeded') return 0;
  const failed = [...report.images.filter((image) => image.result === 'failed').map((image) => image.image), ...missing.map((entry) => `${entry.image} (no report)`)];
  io.stderr(`gild: the fleet run ${report.result}${failed.length > 0 ? `: ${failed.join(', ')}` : ''}; see ${path.relative(io.cwd, written.markdownFile)}\n`);
  return 1;
}

/**
 * `--out` may name any folder, so what is there already is someone's unless it is a gild report: report.json and
 * report.md are replaced only where report.json is one (a merge run again), never a file gild did not write.
 */
async function refuseForeignReportFiles(outDir: string, given: string): Promise<void> {
  // NOTE: a file that is there but cannot be read is not taken for absent: the read's own error says why.
  const [json, markdown] = await Promise.all(
    ['report.json', 'report.md'].map((name) =>
      readOptional(path.join(outDir, name)).catch((error: unknown) => {
        throw catalogue.EUSAGE(
          `--out ${given}: ${path.join(outDir, name)} is there but cannot be read (${(error as NodeJS.ErrnoException).code ?? String(error)}), so gild will not replace it. Give a new or empty folder.`,
        );
      }),
    ),
  );
  if (json === undefined && markdown === undefined) return;
  if (json !== undefined && isGildReport(json)) return;
  const theirs = json !== undefined ? 'report.json, which is not a gild report' : 'report.md, with no gild report.json beside it';
  throw catalogue.EUSAGE(`--out ${given}: ${outDir} already holds ${theirs}, so gild will not replace it. Give a new or empty folder, e.g. --out ${path.join(given, 'fleet-report')}.`);
}

function isGildReport(text: string): boolean {
  try {
    return runReportSchema.safeParse(JSON.parse(text)).success;
  } catch {
    return false;
  }
}

/** Files as given; a folder stands for every report.json under it (an artifact download keeps one folder per job). */
async function reportFiles(cwd: string, given: readonly string[], problems: string[]): Promise<string[]> {
  const files: string[] = [];
  for (const entry of given) {
    const stats = await stat(path.resolve(cwd, entry)).catch(() => undefined);
    if (!stats) {
      problems.push(`${entry}: no such file or folder`);
      continue;
    }
    if (!stats.isDirectory()) {
      files.push(entry);
      continue;
    }
    const found = (await readdir(path.resolve(cwd, entry), { recursive: true })).filter((name) => path.basename(name) === 'report.json').sort();
    files.push(...found.map((name) => path.join(entry, name)));
  }
  return files;
}

async function readReport(cwd: string, file: string, problems: string[]): Promise<ReportFile['report'] | undefined> {
  let parsed: unknown;
  try {
    parsed = JSON.parse(await readFile(path.resolve(cwd, file), 'utf8'));
  } catch (error) {
    problems.push(`${file}: cannot read it as JSON (${(error as NodeJS.ErrnoException).code ?? (error as Error).message})`);
    return undefined;
  }
  const schema = (parsed as { schema?: unknown } | null)?.schema;
  // NOTE: the schema version is checked before the shape, so a newer gild's report says so instead of listing fields.
  if (schema !== reportSchemaVersion) {
    problems.push(`${file}: report schema ${schema === undefined ? '(none)' : JSON.stringify(schema)}, but this gild merges schema ${reportSchemaVersion}; merge with the gild version that wrote it`);
    return undefined;
  }
  const checked = runReportSchema.safeParse(parsed);
  if (!checked.success) {
    const [issue] = checked.error.issues;
    problems.push(`${file}: not a gild report: ${issue ? `${issue.path.join('.') || '(top)'}: ${issue.message}` : 'it does not match the schema'}`);
    return undefined;
  }
  return checked.data;
}

async function readPlan(cwd: string, file: string, problems: string[]): Promise<RunPlan | undefined> {
  let parsed: unknown;
  try {
    parsed = JSON.parse(await readFile(path.resolve(cwd, file), 'utf8'));
  } catch (error) {
    problems.push(`--plan ${file}: cannot read it as JSON (${(error as NodeJS.ErrnoException).code ?? (error as Error).message}); save the plan with \`gild plan --json > ${file}\``);
    return undefined;
  }
  const plan = parsed as Partial<RunPlan> | null;
  if (!plan || plan.schema !== planSchemaVersion || typeof plan.runId !== 'string' || !Array.isArray(plan.images) || !Array.isArray(plan.steps)) {
    problems.push(`--plan ${file}: not a gild plan (schema ${planSchemaVersion}); save one with \`gild plan --json > ${file}\``);
    return undefined;
  }
  return plan as RunPlan;
}
