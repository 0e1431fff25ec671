/**
 * The report reads a failed image's log from its end, at most a bound (64 KiB in the writer), never the whole log:
 * whole lines and whole characters only, and it says when the bound left out lines it would have shown.
 */
import { appendFile, mkdtemp, readFile, rm, truncate, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { applyRun } from '../../src/apply/run-trip.ts';
import { StepFailure, type StageRow, type StageTable } from '../../src/apply/step-stage.ts';
import { stepTable } from '../../src/apply/step-table.ts';
import { createContext } from '../../src/context.ts';
import { createMemoryLogger } from '../../src/logger.ts';
import { planSchemaVersion, type PlanStep, type PlanStepKind, type RunPlan } from '../../src/plan/run-plan.ts';
import { readLogTail, tailEndingAtFailure, tailOfWindow } from '../../src/report/read-log-tail.ts';
import { runReportSchema } from '../../src/report/report-schema.ts';
import { writeRunReport } from '../../src/report/write-run-report.ts';
import { pipelineSettingsSchema } from '../../src/settings/schema.ts';
import { noAwsClients } from '../support/no-aws-clients.ts';
import { resolvedImageFixture } from '../support/resolved-image-fixture.ts';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'gild-log-tail-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

const numbered = (from: number, to: number, width = 0) => Array.from({ length: to - from + 1 }, (_, index) => `line ${from + index}`.padEnd(width, '.'));

describe('readLogTail', () => {
  it('reads a log smaller than the bound whole: its last lines, nothing said cut', async () => {
    const file = join(dir, 'small.log');
    await writeFile(file, `${numbered(1, 50).join('\n')}\n\n`);
    expect(await readLogTail(file, { lines: 30, maxBytes: 64 * 1024 })).toEqual({ lines: numbered(21, 50) });
    await writeFile(file, 'only line');
    expect(await readLogTail(file, { lines: 30, maxBytes: 64 * 1024 })).toEqual({ lines: ['only line'] });
    await writeFile(file, '');
    expect(await readLogTail(file, { lines: 30, maxBytes: 64 * 1024 })).toEqual({ lines: [] });
    expect(await readLogTail(join(dir, 'none.log'), { lines: 30, maxBytes: 64 * 1024 })).toBeUndefined();
  });

  it('reads only the end of a log far larger than the bound (1 GiB, more than a string can hold), from the end of the file', async () => {
    const file = join(dir, 'huge.log');
    // Sparse: a gigabyte of zero bytes takes no disk; reading the whole file into one string would fail (ERR_STRING_TOO_LONG).
    await writeFile(file, '');
    await truncate(file, 1024 ** 3);
    await appendFile(file, `\n${numbered(1, 100).join('\n')}\n`);
    expect(await readLogTail(file, { lines: 30, maxBytes: 64 * 1024 })).toEqual({ lines: numbered(71, 100) });
  });

  it('says when the bound cut into the lines asked for, keeping only whole lines', async () => {
    const file = join(dir, 'long-lines.log');
    // 40 lines of 1,000 bytes: the last 8 KiB hold 8 whole lines and the end of a ninth.
    await writeFile(file, `${numbered(1, 40, 999).join('\n')}\n`);
    const tail = await readLogTail(file, { lines: 30, maxBytes: 8 * 1024 });
    expect(tail).toEqual({ lines: numbered(33, 40, 999), cut: { readBytes: 8 * 1024, logBytes: 40_000 } });
  });

  it('keeps the first line of the window whole when the bound falls exactly at its start', async () => {
    const file = join(dir, 'exact.log');
    await writeFile(file, `${numbered(1, 40, 99).join('\n')}\n`);
    // 100 bytes a line: the last 1,000 bytes are exactly the last 10 lines.
    expect(await readLogTail(file, { lines: 30, maxBytes: 1000 })).toEqual({ lines: numbered(31, 40, 99), cut: { readBytes: 1000, logBytes: 4000 } });
  });

  it('never breaks a character where the bound falls inside one, within a line or in a last line longer than the bound', async () => {
    const file = join(dir, 'utf8.log');
    const wide = '€𝄞é'.repeat(700); // 9 bytes each: the bound falls inside a character
    await writeFile(file, `first\n${wide}\nlast ${wide}\n`);
    const midLine = await readLogTail(file, { lines: 30, maxBytes: 6301 + 10 });
    expect(midLine).toMatchObject({ lines: [`last ${wide}`], cut: { readBytes: 6311 } });
    const longLast = await readLogTail(file, { lines: 30, maxBytes: 1000 });
    expect(longLast!.lines).toHaveLength(1);
    expect(longLast!.lines[0]).not.toContain('\uFFFD');
    expect(`last ${wide}`.endsWith(longLast!.lines[0]!)).toBe(true);
    expect(Buffer.byteLength(longLast!.lines[0]!)).toBeGreaterThan(1000 - 4);
    expect(longLast!.cut).toEqual({ readBytes: 1000, logBytes: Buffer.byteLength(`first\n${wide}\nlast ${wide}\n`) });
  });
});

describe('tailOfWindow, for any log and bound', () => {
  it('shows the lines of a log written with CRLF line ends without their carriage returns', () => {
    const log = Buffer.from('first\r\nsecond\r\nthird\r\n');
    expect(tailOfWindow(log, { start: 0, logBytes: log.length, lines: 2 })).toEqual({ lines: ['second', 'third'] });
  });

  const logLine = fc.array(fc.constantFrom('a', 'é', '€', '𝄞', ' ', 'z'), { maxLength: 40 }).map((chars) => chars.join(''));
  it('gives whole characters, the log\u2019s own last lines (or a long last line\u2019s end), and says cut exactly when it gives fewer than asked', () => {
    fc.assert(
      fc.property(fc.array(logLine, { minLength: 1, maxLength: 30 }), fc.boolean(), fc.integer({ min: 1, max: 12 }), fc.integer({ min: 1, max: 400 }), (lines, endsWithNewline, wanted, maxBytes) => {
        const log = Buffer.from(`${lines.join('\n')}${endsWithNewline ? '\n' : ''}`);
        // As readLogTail reads: the last maxBytes, and the byte before them.
        const start = Math.max(0, log.length - maxBytes - 1);
        const tail = tailOfWindow(log.subarray(start), { start, logBytes: log.length, lines: wanted });
        const text = log.toString('utf8');
        const whole = text.trim() === '' ? [] : text.replace(/\n+$/, '').split('\n').slice(-wanted);
        for (const line of tail.lines) expect(line).not.toContain('\uFFFD');
        if (start === 0) {
          expect(tail).toEqual({ lines: whole });
          return;
        }
        const shown = tail.lines.length;
        if (shown > 0 && !whole.slice(-shown).every((line, index) => line === tail.lines[index])) {
          // Only the last line, longer than the bound: its end.
          expect(shown).toBe(1);
          expect(whole.at(-1)!.endsWith(tail.lines[0]!)).toBe(true);
          expect(tail.cut).toBeDefined();
          return;
        }
        expect(tail.lines).toEqual(whole.slice(whole.length - shown));
        // NOTE: a window with nothing to show says cut even when the bytes before it are blank too (a log of spaces):
        // it cannot tell them from a line it did not read without reading them. Found by a random seed.
        expect(tail.cut !== undefined).toBe(shown < whole.length || shown === 0);
      }),
      { numRuns: 500 },
    );
  });
});

describe('the run report of a failed image', () => {
  const plan: RunPlan = {
    schema: planSchemaVersion,
    runId: '20261129T120000Z-tail00',
    createdAt: '2026-11-29T12:00:00.000Z',
    ssmPrefix: '/golden',
    options: { force: false, images: ['web'] },
    observed: { at: '2026-11-29T12:00:00.000Z', digests: {} },
    images: [{ image: 'web', action: 'build', reason: 'forced', currentVersion: '1.0.0', nextVersion: '1.0.1' }],
    steps: [
      { id: 'lock:web', kind: 'lock', image: 'web', after: [], reason: 'lock', precondition: 'test' },
      { id: 'build:web', kind: 'build', image: 'web', after: ['lock:web'], reason: 'build', precondition: 'test' },
      { id: 'release:web', kind: 'release', image: 'web', after: ['lock:web', 'build:web'], reason: 'release', precondition: 'test' },
    ] as unknown as PlanStep[],
    kept: [],
  };
  const kinds: readonly PlanStepKind[] = ['lock', 'build', 'release'];
  /** The build writes lines of 2,000 bytes to its log and fails; the others succeed. */
  const stages = Object.fromEntries(
    kinds.map((kind): [PlanStepKind, StageRow<PlanStepKind>] => [
      kind,
      {
        kind,
        title: (step) => step.id,
        ...stepTable[kind],
        checkOutput: undefined,
        async run(_context, step, run) {
          if (kind !== 'build') return { step: step.id } as never;
          for (const line of numbered(1, 60, 2000)) run.logger.info(line);
          throw new StepFailure('packer build failed');
        },
      },
    ]),
  ) as unknown as StageTable;

  it('shows the log\u2019s last 30 lines from its last 64 KiB, and says nothing was cut when those hold them all', async () => {
    const context = createContext({ cwd: dir, env: {}, logger: createMemoryLogger(), settings: pipelineSettingsSchema.parse({}), clients: noAwsClients, runId: plan.runId });
    const { applied, outcomes } = await applyRun(context, plan, [resolvedImageFixture({ name: 'web' })], { stages, signal: new AbortController().signal });
    expect(outcomes.map((outcome) => outcome.result)).toEqual(['failed']);

    const { report } = await writeRunReport({ applied, outcomes, command: 'gild run', startedAt: new Date(0), finishedAt: new Date(1000), cwd: dir, env: {} });

    const failure = runReportSchema.parse(report).images[0]!.failure!;
    expect(failure.logFile).toBe(`.gild/runs/${plan.runId}/web.log`);
    // 60 lines of ~2,040 bytes (the time and level first): the last 64 KiB hold 32 whole lines, more than the 30 shown.
    expect(failure.logTail).toHaveLength(30);
    const built = failure.logTail.flatMap((line) => /^\S+ info line (\d+)\.{1900,}$/.exec(line)?.[1] ?? []).map(Number);
    expect(built.at(-1)).toBe(60);
    expect(built).toEqual(Array.from({ length: built.length }, (_, index) => 61 - built.length + index));
    expect(failure.logTailCut).toBeUndefined();
  });

  it('says so in report.json and report.md when the last 64 KiB hold fewer lines than the report shows', async () => {
    const context = createContext({ cwd: dir, env: {}, logger: createMemoryLogger(), settings: pipelineSettingsSchema.parse({}), clients: noAwsClients, runId: plan.runId });
    const { applied, outcomes } = await applyRun(context, plan, [resolvedImageFixture({ name: 'web' })], { stages, signal: new AbortController().signal });
    const logFile = applied.logFiles.get('web')!;
    // A provisioner that printed lines of 10 KiB after the build's own.
    await appendFile(logFile, `${numbered(1, 20, 10 * 1024).join('\n')}\n`);

    const { report, markdownFile } = await writeRunReport({ applied, outcomes, command: 'gild run', startedAt: new Date(0), finishedAt: new Date(1000), cwd: dir, env: {} });

    const failure = runReportSchema.parse(report).images[0]!.failure!;
    expect(failure.logTail).toEqual(numbered(15, 20, 10 * 1024));
    expect(failure.logTailCut).toEqual({ readBytes: 64 * 1024, logBytes: expect.any(Number) });
    expect(failure.logTailCut!.logBytes).toBeGreaterThan(60 * 2000 + 20 * 10 * 1024);
    const markdown = await readFile(markdownFile, 'utf8');
    expect(markdown).toContain(
      `Last lines of \`.gild/runs/${plan.runId}/web.log\` (only its last 64 KiB of ${Math.ceil(failure.logTailCut!.logBytes / 1024).toLocaleString('en-US')} KiB were read: the rest is in the full log, \`.gild/runs/${plan.runId}/web.log\`):`,
    );
  });
});

describe('tailEndingAtFailure', () => {
  const line = (text: string) => `2026-12-08T03:45:30.000Z info ${text}`;
  it('ends at the step that failed and its details, however much Packer printed after it', () => {
    const before = Array.from({ length: 40 }, (_, index) => line(`step ${index}`));
    const failure = ['2026-12-08T03:45:30.524Z warn smoke:base failed: smoke test failed', '2026-12-08T03:45:30.524Z warn   - check "kernel" failed: kernel 5.10 is vulnerable'];
    const packerAfter = Array.from({ length: 25 }, (_, index) => `1796701530,,ui,say,==> amazon-ebs.base: line ${index}`);
    const tail = tailEndingAtFailure({ lines: [...before, ...failure, ...packerAfter] }, { kind: 'smoke', image: 'base' }, 30);
    expect(tail.lines).toHaveLength(30);
    expect(tail.lines.slice(-2)).toEqual(failure);
    expect(tail.cut).toBeUndefined();
    // A region's own step (smoke:base:us-west-2) is the image's failure too; another image's is not.
    expect(tailEndingAtFailure({ lines: [line('a'), '2026-12-08T03:45:30.524Z warn smoke:base:us-west-2 failed: x', line('b')] }, { kind: 'smoke', image: 'base' }, 30).lines).toHaveLength(2);
    expect(tailEndingAtFailure({ lines: [line('a'), '2026-12-08T03:45:30.524Z warn smoke:base-app failed: x', line('b')] }, { kind: 'smoke', image: 'base' }, 30).lines).toHaveLength(3);
  });

  it('without the failure in what was read, is the last lines, cut only when fewer than asked were read', () => {
    const lines = Array.from({ length: 50 }, (_, index) => line(`step ${index}`));
    const cut = { readBytes: 100, logBytes: 1000 };
    expect(tailEndingAtFailure({ lines, cut }, { kind: 'build', image: 'web' }, 30)).toEqual({ lines: lines.slice(-30) });
    expect(tailEndingAtFailure({ lines: lines.slice(0, 10), cut }, { kind: 'build', image: 'web' }, 30)).toEqual({ lines: lines.slice(0, 10), cut });
  });
});
