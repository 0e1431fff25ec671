/**
 * A report's Markdown too large for GitHub's step summary (1 MiB a step) is
 * cut at a line, keeps its beginning (failures come first), closes a code
 * block it cut into, and says what it left out and where the full report is.
 */
import { describe, expect, it } from 'vitest';
import { fitStepSummary, fullReportLocation, stepSummaryLimitBytes } from '../../src/report/fit-step-summary.ts';

const section = (index: number, result: string) => [`### ${result}: image-${String(index).padStart(4, '0')} 1.0.${index}`, '', '```', `log line of image ${index} `.repeat(20), '```', ''].join('\n');

describe('fitStepSummary', () => {
  it('leaves a summary that fits as it is', () => {
    const markdown = `## gild fleet \`r\`: succeeded\n\n${section(1, '✔ published')}`;
    expect(fitStepSummary(markdown, { fullReport: 'fleet-report/report.md' })).toBe(markdown);
  });

  it('cuts a fleet report over 1 MiB at a line, keeps the failures, and names what it left out and where the full report is', () => {
    const failures = Array.from({ length: 5 }, (_, index) => section(index, '✖ failed')).join('\n');
    const published = Array.from({ length: 4000 }, (_, index) => section(index + 5, '✔ published')).join('\n');
    const markdown = `## gild fleet \`r\`: failed\n\n${failures}\n${published}`;
    expect(Buffer.byteLength(markdown)).toBeGreaterThan(2 * stepSummaryLimitBytes);
    const location = fullReportLocation({ GITHUB_SERVER_URL: 'https://github.com', GITHUB_REPOSITORY: 'org/images', GITHUB_RUN_ID: '42' }, 'fleet-report/report.md');
    const fitted = fitStepSummary(markdown, { fullReport: location });
    expect(Buffer.byteLength(fitted)).toBeLessThanOrEqual(stepSummaryLimitBytes);
    expect(Buffer.byteLength(fitted)).toBeGreaterThan(stepSummaryLimitBytes - 10_000);
    const kept = fitted.slice(0, fitted.indexOf('\n\n**This summary is cut short**'));
    // What was kept of the report, less a code block's closing line added where the cut fell inside one.
    const keptOfReport = markdown.startsWith(`${kept}\n`) ? kept : kept.slice(0, -'\n```'.length);
    expect(markdown.startsWith(`${keptOfReport}\n`)).toBe(true);
    expect(kept).toContain('### ✖ failed: image-0004');
    expect(kept.split('\n').filter((line) => line === '```').length % 2).toBe(0);
    const note = fitted.slice(kept.length);
    const leftOutLines = markdown.split('\n').length - keptOfReport.split('\n').length;
    expect(note).toContain(`the last ${leftOutLines} of ${markdown.split('\n').length} lines`);
    expect(note).toMatch(/in the sections ✔ published: image-\d{4} 1\.0\.\d+; /);
    expect(note).toMatch(/and \d+ more\./);
    expect(note).toContain('The full report: https://github.com/org/images/actions/runs/42#artifacts (report.md and report.json; here fleet-report/report.md)');
  });

  it('names the report file when not on GitHub Actions', () => {
    expect(fullReportLocation({}, '.gild/runs/r/report.md')).toBe('.gild/runs/r/report.md');
    const fitted = fitStepSummary('x\n'.repeat(600_000), { fullReport: '.gild/runs/r/report.md', limitBytes: 100_000 });
    expect(Buffer.byteLength(fitted)).toBeLessThanOrEqual(100_000);
    expect(fitted.endsWith('The full report: .gild/runs/r/report.md\n')).toBe(true);
  });
});
