/**
 * Outside text in a report is inert: a `--reason`, an image name, an error message or a tag holding Markdown or HTML
 * is rendered as text. The Markdown is parsed back as GitHub would (marked, GFM: tables, autolinks) and holds no
 * heading, link, image or HTML but gild's own, and its table keeps its cells.
 */
import { marked, type Token, type Tokens } from 'marked';
import { describe, expect, it } from 'vitest';
import { renderReportMarkdown } from '../../src/report/render-report-markdown.ts';
import type { ImageReport, RunReport } from '../../src/report/report-schema.ts';

const hostile = [
  'x\n## injected heading',
  'a | b | c',
  '<img src=x onerror=alert(1)>',
  '[click](javascript:alert(1))',
  '![pic](https://evil.example/p.png)',
  'see https://evil.example and www.evil.example or ops@evil.example',
  '`code` ``` fence',
  '&lt;script&gt; &amp;',
  '<https://evil.example/auto>',
  '*bold* _em_ ~~strike~~',
  'line\r\n# heading\u2028### another',
  '[ref]: https://evil.example',
  '\\',
].join(' ');

const none = { amis: {}, steps: [], parametersWritten: [], retired: [], kept: [], summary: [] } satisfies Partial<ImageReport>;

function hostileReport(): RunReport {
  const image = (name: string, result: ImageReport['result']): ImageReport =>
    ({
      ...none,
      image: name,
      action: 'change',
      reason: hostile,
      result,
      resultReason: `${hostile} (result)`,
      version: `1.0.0 ${hostile}`,
      previousVersion: hostile,
      stageReached: hostile,
      durationMs: 5,
      amis: { 'us-east-1': hostile },
      steps: [{ id: hostile, kind: hostile, region: hostile, reason: hostile, status: 'failed', outcome: hostile, details: [hostile], durationMs: 3 }],
      failure: { stage: hostile, message: hostile, details: [hostile], causes: [], logTail: [hostile, '```', '## not a heading'], logFile: hostile, reproduce: hostile },
      smoke: {
        result: 'failed',
        region: hostile,
        amiId: hostile,
        reason: hostile,
        file: hostile,
        checks: [
          {
            name: hostile,
            instanceType: hostile,
            instanceId: hostile,
            outcome: 'failed',
            reason: hostile,
            status: hostile,
            exitCode: 1,
            stdoutExcerpt: hostile,
            stderrExcerpt: hostile,
            durationMs: 1,
          },
        ],
      },
      parametersWritten: [{ region: hostile, name: hostile, value: hostile, previous: hostile }],
      retired: [{ region: hostile, amiId: hostile, version: hostile, phase: 'deregister', reason: hostile }],
      kept: [{ region: hostile, amiId: hostile, version: hostile, reason: hostile }],
      summary: [hostile],
      pointersMoved: [{ region: hostile, pointer: hostile, name: hostile, from: hostile, fromVersion: hostile, to: hostile, toVersion: hostile }],
      holds: [{ region: hostile, pointer: hostile, parameterName: hostile, change: 'placed', version: hostile, reason: hostile, by: hostile }],
      revoked: [{ region: hostile, amiId: hostile, version: hostile, reason: hostile, disable: true }],
    }) as ImageReport;
  return {
    schema: 1,
    runId: '20261129T031500Z-abc123',
    command: `gild revoke web --reason "${hostile}"`,
    commandName: 'revoke',
    startedAt: '2026-11-29T03:15:00.000Z',
    finishedAt: '2026-11-29T03:21:42.000Z',
    ssmPrefix: hostile,
    result: 'failed',
    counts: { failed: 1, published: 1 },
    images: [image(`web ${hostile}`, 'failed'), image(hostile, 'published')],
    runSteps: [{ id: hostile, kind: 'sweep', reason: hostile, status: 'failed', outcome: hostile, details: [hostile] }],
    missing: [{ image: hostile, reason: hostile }],
    jobs: [{ file: hostile, result: 'failed', images: [hostile], command: hostile, startedAt: '2026-11-29T03:15:00.000Z', finishedAt: '2026-11-29T03:16:00.000Z' }],
    warnings: [hostile],
  } as RunReport;
}

function walk(tokens: readonly Token[], seen: Token[] = []): Token[] {
  for (const token of tokens) {
    seen.push(token);
    const nested = token as Token & { tokens?: Token[]; items?: Token[]; header?: Tokens.TableCell[]; rows?: Tokens.TableCell[][] };
    if (nested.tokens) walk(nested.tokens, seen);
    if (nested.items) walk(nested.items, seen);
    if (nested.header)
      walk(
        nested.header.flatMap((cell) => cell.tokens),
        seen,
      );
    if (nested.rows)
      walk(
        nested.rows.flat().flatMap((cell) => cell.tokens),
        seen,
      );
  }
  return seen;
}

describe('a report with hostile text', () => {
  it('renders it inert: no injected heading, link, image or HTML, and the table keeps its cells', () => {
    const markdown = renderReportMarkdown(hostileReport());
    const tokens = walk(marked.lexer(markdown, { gfm: true }));

    const headings = tokens.filter((token): token is Tokens.Heading => token.type === 'heading');
    // gild's own: the title, then per section: two images, the missing, the failed run-wide steps, the jobs, the warnings.
    expect(headings.map((heading) => heading.depth)).toEqual([2, 3, 3, 3, 3, 3, 3]);
    expect(headings.map((heading) => heading.text).join('\n')).not.toMatch(/^#|injected heading\s*$/m);
    // gild's own emphasis is the one "**Failed in …:**" per failed image.
    const marks = tokens.filter((token) => ['link', 'image', 'html', 'def', 'del', 'strong', 'em', 'br'].includes(token.type) && !(token.type === 'strong' && token.raw.startsWith('**Failed in ')));
    expect(marks.map((token) => token.raw)).toEqual([]);
    expect(tokens.filter((token) => token.type === 'strong')).toHaveLength(2);
    const [table] = tokens.filter((token): token is Tokens.Table => token.type === 'table');
    expect(table!.header).toHaveLength(5);
    expect(table!.rows).toHaveLength(3);
    for (const row of table!.rows) expect(row).toHaveLength(5);
    expect(table!.rows[0]![0]!.text).toContain('a | b | c');
  });

  it('still says the text, as written', () => {
    const html = marked.parse(renderReportMarkdown(hostileReport()), { gfm: true, async: false });
    expect(html).toContain('&lt;img src=x onerror=alert(1)&gt;');
    expect(html).toContain('[click](javascript:alert(1))');
    expect(html).not.toMatch(/<a |<img |<h[1-6][^>]*>\s*(injected|heading|another)/);
  });
});
