/**
 * GitHub shows at most 1 MiB of step summary a step, and drops a larger one
 * whole (the step's summary then says only that it was too large). A report's
 * Markdown lists failures first and unchanged images last, so a report too
 * large for it is cut at a line, keeping its beginning, and ends by saying what
 * it left out and where the full report is. Pure.
 */

/** GitHub's limit is 1 MiB a step; this leaves room for what earlier steps of the same job appended. */
export const stepSummaryLimitBytes = 1_000_000;

export interface FitStepSummaryOptions {
  readonly limitBytes?: number;
  /** Where the full report is: the run's artifacts page, else the file. */
  readonly fullReport: string;
}

export function fitStepSummary(markdown: string, options: FitStepSummaryOptions): string {
  const limit = options.limitBytes ?? stepSummaryLimitBytes;
  if (Buffer.byteLength(markdown) <= limit) return markdown;
  const lines = markdown.split('\n');
  // The note's own size, with generous counts in it, is kept free.
  const room = limit - Buffer.byteLength(leftOutNote(lines.length, lines.length, Buffer.byteLength(markdown), [], options.fullReport)) - 2_000;
  let used = 0;
  let kept = 0;
  while (kept < lines.length && used + Buffer.byteLength(lines[kept]!) + 1 <= room) used += Buffer.byteLength(lines[kept++]!) + 1;
  const shown = lines.slice(0, kept);
  // NOTE: a cut inside a code block would swallow the note into it.
  if (shown.filter((line) => line.trimStart().startsWith('```')).length % 2 === 1) shown.push('```');
  const leftOut = lines.slice(kept);
  const sections = leftOut.filter((line) => /^#{2,4} /.test(line)).map((line) => line.replace(/^#+ /, ''));
  return `${shown.join('\n')}\n${leftOutNote(leftOut.length, lines.length, Buffer.byteLength(markdown) - used, sections, options.fullReport)}`;
}

function leftOutNote(leftOutLines: number, allLines: number, leftOutBytes: number, sections: readonly string[], fullReport: string): string {
  const shownSections = sections.slice(0, 20);
  const more = sections.length - shownSections.length;
  return [
    '',
    `**This summary is cut short**: GitHub shows at most 1 MiB of it, so the last ${leftOutLines} of ${allLines} lines (${Math.ceil(leftOutBytes / 1024)} KiB) are left out${sections.length > 0 ? `, in the sections ${shownSections.join('; ')}${more > 0 ? ` and ${more} more` : ''}` : ''}. Failures and skipped images come first, so what is left out is what went as planned. The full report: ${fullReport}`,
    '',
  ].join('\n');
}

/** The run's page with its artifacts (gild-fleet-report among them) on GitHub Actions, else the report's file. */
export function fullReportLocation(env: Readonly<Record<string, string | undefined>>, markdownFile: string): string {
  const { GITHUB_SERVER_URL: server, GITHUB_REPOSITORY: repository, GITHUB_RUN_ID: runId } = env;
  return server && repository && runId ? `${server}/${repository}/actions/runs/${runId}#artifacts (report.md and report.json; here ${markdownFile})` : markdownFile;
}
