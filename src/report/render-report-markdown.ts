/**
 * The report for people (every changing command, and a fleet's merged report): `report.md` and the GitHub step summary. Failures
 * come first, with everything needed to act on them without opening the logs.
 */
import type { ImageReport, RunReport, StepReport } from './report-schema.ts';

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
  const images = [...report.images].sort((a, b) => resultOrder.indexOf(a.result) - resultOrder.indexOf(b.result) || a.image.localeCompare(b.image));
  const counts = [...resultOrder, 'missing'].filter((result) => report.counts[result]).map((result) => `${report.counts[result]} ${result === 'missing' ? 'without a report' : result}`);
  const missing = report.missing ?? [];
  const lines = [
    `## gild ${report.commandName === 'merge' ? 'fleet' : (report.commandName ?? 'run')} \`${report.runId}\`: ${report.result}`,
    '',
    `\`${report.command}\` · ${counts.join(', ') || 'no images'} · ${formatDuration(Date.parse(report.finishedAt) - Date.parse(report.startedAt))} · prefix \`${report.ssmPrefix}\``,
    '',
    '| image | result | version | stage reached | duration |',
    '| --- | --- | --- | --- | --- |',
    ...missing.map((entry) => `| ${cell(entry.image)} | ${noReport} | — | — | — |`),
    ...images.map(
      (image) =>
        `| ${cell(image.image)} | ${resultMarks[image.result]} | ${cell(versionText(image))} | ${image.stageReached ?? '—'} | ${image.durationMs > 0 ? formatDuration(image.durationMs) : '—'} |`,
    ),
  ];
  if (missing.length > 0) {
    lines.push('', `### ${noReport}`, '');
    for (const entry of missing) lines.push(`- ${entry.image}: ${entry.reason}`);
  }
  const failedRunSteps = report.runSteps.filter((step) => step.status === 'failed');
  if (failedRunSteps.length > 0) {
    lines.push('', '### ✖ failed: run-wide steps', '');
    for (const step of failedRunSteps) lines.push(`- \`${step.id}\` (${step.reason}): ${step.outcome ?? 'failed'}`, ...(step.details ?? []).map((detail) => `  - ${detail}`));
  }
  for (const image of images) lines.push('', ...imageSection(image));
  if (report.jobs && report.jobs.length > 0) {
    lines.push('', '### Jobs', '');
    for (const job of report.jobs) lines.push(`- \`${job.file}\`: ${job.result}, ${job.images.join(', ') || 'no images'} (\`${job.command}\`, ${formatDuration(Date.parse(job.finishedAt) - Date.parse(job.startedAt))})`);
  }
  return `${lines.join('\n')}\n`;
}

function imageSection(image: ImageReport): string[] {
  const lines = [`### ${resultMarks[image.result]}: ${image.image}${image.version ? ` ${image.version}` : ''}`, ''];
  lines.push(`Plan: ${image.action}, ${image.reason}`);
  if (image.resultReason && image.resultReason !== image.reason) lines.push(`Result: ${image.resultReason}`);
  if (image.failure) {
    const { failure } = image;
    lines.push('', `**Failed in ${failure.stage}:** ${failure.message}`);
    for (const detail of failure.details) lines.push(`- ${detail}`);
    if (failure.logTail.length > 0) {
      lines.push('', `Last lines of \`${failure.logFile ?? 'the log'}\`:`, '', ...fenced(failure.logTail.join('\n')));
    }
    lines.push('', `Reproduce locally (against a moto emulator gild starts): \`${failure.reproduce}\``);
  }
  const amis = Object.entries(image.amis);
  if (amis.length > 0) lines.push('', `${image.result === 'published' ? 'AMIs' : 'Candidate AMIs (not published)'}: ${amis.map(([region, amiId]) => `${region} \`${amiId}\``).join(', ')}`);
  if (image.smoke) {
    const { smoke } = image;
    lines.push('', `Smoke test in ${smoke.region} (\`${smoke.amiId}\`): ${smoke.result}${smoke.reason ? `, ${smoke.reason}` : ''}`);
    for (const check of smoke.checks) {
      lines.push(`- ${check.outcome === 'passed' ? '✔' : check.outcome === 'not-run' || check.outcome === 'skipped' ? '–' : '✖'} ${check.name} on ${check.instanceType}: exit ${check.exitCode}, ${check.status}${check.reason ? ` (${check.reason})` : ''}`);
      if (check.outcome !== 'passed' && check.stderrExcerpt) lines.push('', ...fenced(check.stderrExcerpt).map((line) => `  ${line}`));
    }
  }
  if (image.summary.length > 0) lines.push('', ...fenced(image.summary.join('\n')));
  const pointersMoved = image.pointersMoved ?? [];
  if (pointersMoved.length > 0) {
    lines.push('', 'Pointers moved:');
    for (const move of pointersMoved) {
      lines.push(`- ${move.region} \`${move.pointer}\`: ${move.fromVersion ?? (move.from ? '?' : 'nothing')} → ${move.toVersion} (${move.from ? `\`${move.from}\`` : 'new'} → \`${move.to}\`)`);
    }
  }
  for (const hold of image.holds ?? []) {
    const record = [hold.version ? `at ${hold.version}` : '', hold.reason ?? '', hold.by ? `by ${hold.by}` : ''].filter(Boolean).join(', ');
    lines.push('', `${hold.change === 'placed' ? 'Hold placed on' : 'Hold removed from'} \`${hold.pointer}\`${record ? ` (${record})` : ''}: \`${hold.parameterName}\``);
  }
  if ((image.revoked ?? []).length > 0) {
    lines.push('', 'Revoked:');
    for (const revoked of image.revoked ?? []) lines.push(`- ${revoked.version} ${revoked.region} \`${revoked.amiId}\`: ${revoked.reason}${revoked.disable ? ' (with --disable)' : ''}`);
  }
  // NOTE: pointer moves and holds are parameters written too; they are listed once, above, with their versions.
  const shown = new Set([...pointersMoved.map((move) => `${move.region} ${move.name}`), ...(image.holds ?? []).map((hold) => `${hold.region} ${hold.parameterName}`)]);
  const written = image.parametersWritten.filter((write) => !shown.has(`${write.region} ${write.name}`));
  if (written.length > 0) {
    lines.push('', 'Parameters written:');
    for (const write of written) lines.push(`- ${write.region} \`${write.name}\` = \`${write.value ?? '?'}\`${write.previous ? ` (was \`${write.previous}\`)` : ''}`);
  }
  if (image.retired.length > 0) {
    lines.push('', 'Retired:');
    for (const retired of image.retired) lines.push(`- ${retired.version} ${retired.region} \`${retired.amiId}\`: ${retired.phase}, ${retired.reason}`);
  }
  if (image.kept.length > 0) {
    lines.push('', 'Kept:');
    for (const kept of image.kept) lines.push(`- ${kept.version ?? '?'} ${kept.region} \`${kept.amiId}\`: ${kept.reason}`);
  }
  const timed = image.steps.filter((step): step is StepReport & { durationMs: number } => step.durationMs !== undefined);
  if (timed.length > 0) lines.push('', `Steps: ${timed.map((step) => `${step.kind}${step.region ? ` ${step.region}` : ''} ${formatDuration(step.durationMs)}`).join(', ')}`);
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

/** A table cell that stays one cell whatever the text holds. */
function cell(text: string): string {
  return text.replaceAll('|', '\\|').replaceAll('\n', ' ');
}

/** A code block whose fence is longer than any run of backticks inside it, so log text cannot end it early. */
function fenced(text: string): string[] {
  const longest = Math.max(2, ...[...text.matchAll(/`+/g)].map((match) => match[0].length));
  const fence = '`'.repeat(longest + 1);
  return [`${fence}text`, ...text.split('\n'), fence];
}
