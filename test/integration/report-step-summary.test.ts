/**
 * Through the real CLI on moto with real Packer: a run that published exits 0 even when GITHUB_STEP_SUMMARY is a
 * folder (the summary is best effort: a warning in the log and in the report), and outside text that reaches the
 * report (a smoke check's name) stays text when report.md is parsed back.
 */
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { marked, type Token } from 'marked';
import { describe, expect, it } from 'vitest';
import { runReportSchema } from '../../src/report/report-schema.ts';
import { useMotoBehindFaultProxy } from '../support/moto.ts';
import { createTempProject, imageSource } from '../support/project.ts';

function tokensOf(markdown: string): Token[] {
  const seen: Token[] = [];
  marked.walkTokens(marked.lexer(markdown, { gfm: true }), (token) => void seen.push(token));
  return seen;
}

describe('the step summary is best effort', () => {
  const emulator = useMotoBehindFaultProxy();

  it('leaves a run that published at exit 0 when GITHUB_STEP_SUMMARY is a folder, and says so in the log and the report', async () => {
    const hostileCheck = 'x ## injected | cell <img src=x onerror=alert(1)> [click](javascript:alert(1))';
    const project = await createTempProject({
      images: { 'web.ts': imageSource({ name: 'web', regions: "{ build: 'us-east-1' }", extra: `smoke: { checks: [{ name: ${JSON.stringify(hostileCheck)}, run: 'true' }] },` }) },
    });
    const summaryDir = await mkdtemp(path.join(tmpdir(), 'gild-summary-dir-'));
    try {
      const env = { ...emulator.proxy.env(emulator.moto.env), GILD_SMOKE_POLL_MS: '100', GITHUB_STEP_SUMMARY: summaryDir };

      const result = await project.gild(['run', '--json'], env);

      expect(result.exitCode, result.stderr).toBe(0);
      expect(result.stderr).not.toMatch(/internal error|\n\s+at /);
      expect(result.stderr).toMatch(/warn.*GitHub step summary \(GITHUB_STEP_SUMMARY=.*\) could not be written: EISDIR/);
      const report = runReportSchema.parse(JSON.parse(result.stdout));
      expect(report.result).toBe('succeeded');
      expect(report.images[0]).toMatchObject({ image: 'web', result: 'published' });
      expect(report.warnings).toEqual([expect.stringContaining('EISDIR')]);
      const markdown = await readFile(path.join(project.dir, '.gild/runs', report.runId, 'report.md'), 'utf8');
      expect(markdown).toContain('### Warnings');
      const tokens = tokensOf(markdown);
      expect(tokens.filter((token) => token.type === 'heading').map((token) => (token as { depth: number }).depth)).toEqual([2, 3, 3]);
      expect(tokens.filter((token) => ['link', 'image', 'html'].includes(token.type))).toEqual([]);
      expect(markdown).toContain('x \\#\\# injected \\| cell \\<img src=x onerror=alert\\(1\\)\\> \\[click\\]\\(javascript:alert\\(1\\)\\)');
    } finally {
      await project.remove();
      await rm(summaryDir, { recursive: true, force: true });
    }
  });
});
