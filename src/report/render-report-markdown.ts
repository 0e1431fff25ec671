/**
 * The report for people (every changing command, and a fleet's merged report): `report.md` and the GitHub step summary. Failures
 * come first, with everything needed to act on them without opening the logs.
 */
import type { ImageReport, RunReport, StepReport } from './report-schema.ts';
import { compareNames } from '../compare-names.ts';

const resultMarks: Record<ImageReport['result'], string> = {
  failed: '✖ failed',
  interrupted: '! interrupted',
  yielded: '# left alone',
  skipped: '- skipped',
  published: '✔ published',
  changed: '✔ changed',
  unchanged: '= unchanged',
};

/** Failures first, then what else needs a look, then the rest. */
const resultOrder: readonly ImageReport['result'][] = ['failed', 'interrupted', 'yielded', 'skipped', 'published', 'changed', 'unchanged'];

const noReport = '✖ no report';

export function renderReportMarkdown(report: RunReport): string {
  const images = [...report.images].sort((a, b) => resultOrder.indexOf(a.result) - resultOrder.indexOf(b.result) || compareNames(a.image, b.image));
  const counts = [...resultOrder, 'missing'].filter((result) => report.counts[result]).map((result) => `${report.counts[result]} ${result === 'missing' ? 'without a report' : result}`);
  const missing = report.missing ?? [];
  const lines = [
    `## gild ${report.commandName === 'merge' ? 'fleet' : (report.commandName ?? 'run')} ${code(report.runId)}: ${text(report.result)}`,
    '',
    `${code(report.command)} · ${counts.join(', ') || 'no images'} · ${formatDuration(Date.parse(report.finishedAt) - Date.parse(report.startedAt))} · prefix ${code(report.ssmPrefix)}`,
    '',
    '| image | result | version | stage reached | duration |',
    '| --- | --- | --- | --- | --- |',
    ...missing.map((entry) => `| ${cell(entry.image)} | ${noReport} | — | — | — |`),
    ...images.map(
      (image) =>
        `| ${cell(image.image)} | ${resultMarks[image.result]} | ${cell(versionText(image))} | ${cell(image.stageReached ?? '—')} | ${image.durationMs > 0 ? formatDuration(image.durationMs) : '—'} |`,
    ),
  ];
  if (missing.length > 0) {
    lines.push('', `### ${noReport}`, '');
    for (const entry of missing) lines.push(`- ${text(entry.image)}: ${text(entry.reason)}`);
  }
  const failedRunSteps = report.runSteps.filter((step) => step.status === 'failed');
  if (failedRunSteps.length > 0) {
    lines.push('', '### ✖ failed: run-wide steps', '');
    for (const step of failedRunSteps) lines.push(`- ${code(step.id)} (${text(step.reason)}): ${text(step.outcome ?? 'failed')}`, ...(step.details ?? []).map((detail) => `  - ${text(detail)}`));
  }
  for (const image of images) lines.push('', ...imageSection(image));
  if (report.jobs && report.jobs.length > 0) {
    lines.push('', '### Jobs', '');
    for (const job of report.jobs)
      lines.push(
        `- ${code(job.file)}: ${text(job.result)}, ${text(job.images.join(', ')) || 'no images'} (${code(job.command)}, ${formatDuration(Date.parse(job.finishedAt) - Date.parse(job.startedAt))})`,
      );
  }
  if (report.warnings && report.warnings.length > 0) {
    lines.push('', '### Warnings', '');
    for (const warning of report.warnings) lines.push(`- ${text(warning)}`);
  }
  return `${lines.join('\n')}\n`;
}

function imageSection(image: ImageReport): string[] {
  const lines = [`### ${resultMarks[image.result]}: ${text(image.image)}${image.version ? ` ${text(image.version)}` : ''}`, ''];
  lines.push(`Plan: ${text(image.action)}, ${text(image.reason)}`);
  if (image.resultReason && image.resultReason !== image.reason) lines.push(`Result: ${text(image.resultReason)}`);
  if (image.failure) {
    const { failure } = image;
    lines.push('', `**Failed in ${text(failure.stage)}:** ${text(failure.message)}`);
    for (const detail of failure.details) lines.push(`- ${text(detail)}`);
    if (failure.logTail.length > 0) {
      // NOTE: the writer reads only the log's end; when that cut into the lines shown, the report says so and where the rest is.
      const cut = failure.logTailCut
        ? ` (only its last ${kib(failure.logTailCut.readBytes)} of ${kib(failure.logTailCut.logBytes)} were read: the rest is in the full log${failure.logFile ? `, ${code(failure.logFile)}` : ''})`
        : '';
      lines.push('', `Last lines of ${code(failure.logFile ?? 'the log')}${cut}:`, '', ...fenced(failure.logTail.join('\n')));
    }
    lines.push('', `Reproduce locally (against a moto emulator gild starts): ${code(failure.reproduce)}`);
  }
  const amis = Object.entries(image.amis);
  if (amis.length > 0) lines.push('', `${image.result === 'published' ? 'AMIs' : 'Candidate AMIs (not published)'}: ${amis.map(([region, amiId]) => `${text(region)} ${code(amiId)}`).join(', ')}`);
  if (image.smoke) {
    const { smoke } = image;
    lines.push('', `Smoke test in ${text(smoke.region)} (${code(smoke.amiId)}): ${text(smoke.result)}${smoke.reason ? `, ${text(smoke.reason)}` : ''}`);
    for (const check of smoke.checks) {
      // NOTE: a kept-by-choice, not-verified, not-run or skipped check is neither a pass nor a failure, and says which.
      const mark = check.outcome === 'passed' ? '✔' : check.outcome === 'failed' || check.outcome === 'timed-out' ? '✖' : `– ${check.outcome}:`;
      lines.push(`- ${mark} ${text(check.name)} on ${text(check.instanceType)}: exit ${check.exitCode}, ${text(check.status)}${check.reason ? ` (${text(check.reason)})` : ''}`);
      if ((check.outcome === 'failed' || check.outcome === 'timed-out') && check.stderrExcerpt) lines.push('', ...fenced(check.stderrExcerpt).map((line) => `  ${line}`));
    }
  }
  if (image.summary.length > 0) lines.push('', ...fenced(image.summary.join('\n')));
  const pointersMoved = image.pointersMoved ?? [];
  if (pointersMoved.length > 0) {
    lines.push('', 'Pointers moved:');
    for (const move of pointersMoved) {
      lines.push(
        `- ${text(move.region)} ${code(move.pointer)}: ${text(move.fromVersion ?? (move.from ? '?' : 'nothing'))} → ${text(move.toVersion)} (${move.from ? code(move.from) : 'new'} → ${code(move.to)})`,
      );
    }
  }
  for (const hold of image.holds ?? []) {
    const record = [hold.version ? `at ${hold.version}` : '', hold.reason ?? '', hold.by ? `by ${hold.by}` : ''].filter(Boolean).join(', ');
    lines.push('', `${hold.change === 'placed' ? 'Hold placed on' : 'Hold removed from'} ${code(hold.pointer)}${record ? ` (${text(record)})` : ''}: ${code(hold.parameterName)}`);
  }
  if ((image.revoked ?? []).length > 0) {
    lines.push('', 'Revoked:');
    for (const revoked of image.revoked ?? [])
      lines.push(`- ${text(revoked.version)} ${text(revoked.region)} ${code(revoked.amiId)}: ${text(revoked.reason)}${revoked.disable ? ' (with --disable)' : ''}`);
  }
  // NOTE: pointer moves and holds are parameters written too; they are listed once, above, with their versions.
  const shown = new Set([...pointersMoved.map((move) => `${move.region} ${move.name}`), ...(image.holds ?? []).map((hold) => `${hold.region} ${hold.parameterName}`)]);
  const written = image.parametersWritten.filter((write) => !shown.has(`${write.region} ${write.name}`));
  if (written.length > 0) {
    lines.push('', 'Parameters written:');
    for (const write of written) lines.push(`- ${text(write.region)} ${code(write.name)} = ${code(write.value ?? '?')}${write.previous ? ` (was ${code(write.previous)})` : ''}`);
  }
  if (image.retired.length > 0) {
    lines.push('', 'Retired:');
    for (const retired of image.retired) lines.push(`- ${text(retired.version)} ${text(retired.region)} ${code(retired.amiId)}: ${text(retired.phase)}, ${text(retired.reason)}`);
  }
  const notified = (image.notifications ?? []).filter((sent) => sent.status !== 'skipped');
  if (notified.length > 0) {
    lines.push('', 'Notifications:');
    for (const sent of notified)
      lines.push(
        `- ${code(sent.event)}${sent.version ? ` ${text(sent.version)}` : ''} → ${text(sent.target)}: ${sent.status === 'sent' ? `sent${sent.messageId ? ` (${code(sent.messageId)})` : ''}` : `${text(sent.status)}${sent.outcome ? `, ${text(sent.outcome)}` : ''}`}`,
      );
  }
  if (image.kept.length > 0) {
    lines.push('', 'Kept:');
    for (const kept of image.kept) lines.push(`- ${text(kept.version ?? '?')} ${text(kept.region)} ${code(kept.amiId)}: ${text(kept.reason)}`);
  }
  const timed = image.steps.filter((step): step is StepReport & { durationMs: number } => step.durationMs !== undefined);
  if (timed.length > 0) lines.push('', `Steps: ${timed.map((step) => `${text(step.kind)}${step.region ? ` ${text(step.region)}` : ''} ${formatDuration(step.durationMs)}`).join(', ')}`);
  return lines;
}

function versionText(image: ImageReport): string {
  if (!image.version) return image.previousVersion ?? '—';
  return image.previousVersion && image.previousVersion !== image.version ? `${image.previousVersion} → ${image.version}` : image.version;
}

export function formatDuration(ms: number): string {
  if (ms < 1000) return `${Math.max(0, Math.round(ms))} ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(1)} s`;
  const minutes = Math.floor(ms / 60_000);
  return `${minutes} min ${Math.round((ms % 60_000) / 1000)} s`;
}

/** A size in KiB, rounded up (a log of 10 bytes is 1 KiB, never 0). */
function kib(bytes: number): string {
  return `${Math.ceil(bytes / 1024).toLocaleString('en-US')} KiB`;
}

/**
 * Outside text (a `--reason`, an image name, an error message, a tag) as inline Markdown that stays text: on one line,
 * with every mark that could start markup escaped (headings, emphasis, links and images, HTML and entities, table
 * pipes, code spans), and no bare URL or address for GitHub to turn into a link.
 */
export function text(value: string): string {
  return (
    value
      .replace(/\r\n|[\r\n\u2028\u2029]/g, ' ')
      .replace(/[\\`*_{}[\]()<>#!|~&@]/g, (mark) => `\\${mark}`)
      // NOTE: every line gild writes starts with its own text, so list, quote and setext marks inside are harmless.
      .replace(/:\/\//g, '\\://')
      .replace(/\b(www)\./gi, '$1\\.')
  );
}

/** Outside text as an inline code span: on one line, delimited by more backticks than any run inside it. */
export function code(value: string): string {
  const line = value.replace(/\r\n|[\r\n\u2028\u2029]/g, ' ');
  const longest = Math.max(0, ...[...line.matchAll(/`+/g)].map((match) => match[0].length));
  const fence = '`'.repeat(longest + 1);
  const padded = line.startsWith('`') || line.endsWith('`') || (line.startsWith(' ') && line.endsWith(' ') && line.trim() !== '') ? ` ${line} ` : line;
  return `${fence}${padded}${fence}`;
}

/** A table cell that stays one cell whatever the text holds (GFM splits cells at a pipe even in a code span). */
function cell(value: string): string {
  return text(value);
}

/** A code block whose fence is longer than any run of backticks inside it, so log text cannot end it early. */
function fenced(text: string): string[] {
  const longest = Math.max(2, ...[...text.matchAll(/`+/g)].map((match) => match[0].length));
  const fence = '`'.repeat(longest + 1);
  return [`${fence}text`, ...text.split('\n'), fence];
}
