/**
 * Writes the report of a command that changed AWS: `.gild/runs/<run-id>/report.json` and `report.md`,
 * and appends the Markdown to `$GITHUB_STEP_SUMMARY` when it is set. Reads the
 * smoke evidence and the end of each image's log that the run left behind.
 */
import { appendFile, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { SmokeReport } from '../smoke/write-smoke-report.ts';
import { buildRunReport, type RunReportInput } from './build-run-report.ts';
import { readLogTail, tailEndingAtFailure, type LogTail } from './read-log-tail.ts';
import { fitStepSummary, fullReportLocation } from './fit-step-summary.ts';
import { renderReportMarkdown } from './render-report-markdown.ts';
import type { RunReport } from './report-schema.ts';

/** Enough of a log to see the failure; the whole log is one path away. */
const logTailLines = 30;
/** Read from the end of a failed image's log, at most: 30 lines are rarely more than a few KiB, a log can be hundreds of MiB. */
const logTailBytes = 64 * 1024;
/** Lines looked through for where the image's step failed (src/report/read-log-tail.ts tailEndingAtFailure). */
const logTailSearched = 200;

/** What the report is built from, less what the writer reads from the run's folder itself (smoke reports, log tails). */
export interface WriteRunReportInput extends Omit<RunReportInput, 'smokeReports' | 'logTails'> {
  readonly env: Readonly<Record<string, string | undefined>>;
}

export interface WrittenRunReport {
  readonly report: RunReport;
  /** Said in the report too: for the command to put in its log. */
  readonly warnings: readonly string[];
  readonly jsonFile: string;
  readonly markdownFile: string;
}

export async function writeRunReport(input: WriteRunReportInput): Promise<WrittenRunReport> {
  const { runDir } = input.applied;
  const smokeReports: Record<string, SmokeReport> = {};
  const logTails: Record<string, LogTail> = {};
  // NOTE: every image's files are asked for at once, not one after another: a fleet's run folder holds none for most
  // images (an unchanged image has no smoke report), and 100 answers in turn took ~15 ms after the run's last AWS call.
  const read = await Promise.all(
    input.outcomes.map(async (outcome) => {
      const logFile = input.applied.logFiles.get(outcome.image);
      const [smoke, log] = await Promise.all([
        readOptional(path.join(runDir, `${outcome.image}.smoke.json`)),
        outcome.result === 'failed' && logFile
          ? readLogTail(logFile, { lines: logTailSearched, maxBytes: logTailBytes }).then((tail) =>
              tailEndingAtFailure(tail ?? { lines: [] }, { kind: outcome.stage, image: outcome.image }, logTailLines),
            )
          : undefined,
      ]);
      return { image: outcome.image, smoke, log };
    }),
  );
  // In the outcomes' order, as before.
  for (const { image, smoke, log } of read) {
    if (smoke !== undefined) smokeReports[image] = JSON.parse(smoke) as SmokeReport;
    if (log !== undefined) logTails[image] = log;
  }
  const report = buildRunReport({ ...input, smokeReports, logTails });
  return saveReport(report, runDir, input.env);
}

/** report.json and report.md in `dir`, and the Markdown appended to the GitHub step summary when there is one. */
export async function saveReport(given: RunReport, dir: string, env: Readonly<Record<string, string | undefined>>): Promise<WrittenRunReport> {
  const stepSummary = env.GITHUB_STEP_SUMMARY;
  const warnings: string[] = [];
  // NOTE: appended, never written: earlier steps of the same job may have put their own summary there. Best effort:
  // the run already did what it did (a publish stays published), so a summary that cannot be written is a warning in
  // the log and the report, never a failed run.
  if (stepSummary) {
    const markdown = renderReportMarkdown(given);
    // A summary over GitHub's 1 MiB limit is cut at a line and says what it left out and where the full report is.
    const fullReport = fullReportLocation(env, path.join(dir, 'report.md'));
    await appendFile(stepSummary, `${fitStepSummary(markdown, { fullReport })}\n`).catch((error: unknown) => {
      warnings.push(`the GitHub step summary (GITHUB_STEP_SUMMARY=${stepSummary}) could not be written: ${(error as NodeJS.ErrnoException).code ?? String(error)}; this report is in report.md`);
    });
  }
  const report = warnings.length > 0 ? { ...given, warnings: [...(given.warnings ?? []), ...warnings] } : given;
  const jsonFile = path.join(dir, 'report.json');
  const markdownFile = path.join(dir, 'report.md');
  await Promise.all([writeFile(jsonFile, `${JSON.stringify(report, null, 2)}\n`), writeFile(markdownFile, renderReportMarkdown(report))]);
  return { report, warnings, jsonFile, markdownFile };
}

/** A file's text, or undefined when there is none; any other failure to read it is thrown. */
export async function readOptional(file: string): Promise<string | undefined> {
  try {
    return await readFile(file, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
}
