/**
 * Evidence of a smoke test: every check's output in the image's log file, and
 * a JSON report beside it (`<image>.smoke.json`).
 */
import { appendFile, mkdir, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import type { CheckResult, SmokeResult } from '../stages/stage.ts';

export interface SmokeReport {
  readonly image: string;
  readonly version: string;
  readonly runId: string;
  readonly region: string;
  readonly amiId: string;
  readonly instances: readonly { readonly instanceType: string; readonly instanceId: string; readonly terminated: boolean }[];
  readonly checks: readonly CheckResult[];
  readonly result: SmokeResult['result'];
  readonly reason: string | undefined;
  readonly packageManifest: { readonly file: string; readonly packages: number; readonly comparedWith: string | undefined } | undefined;
  readonly startedAt: string;
  readonly finishedAt: string;
}

export function formatCheckEvidence(check: CheckResult): string {
  const header = `--- smoke check "${check.name}" on ${check.instanceType} (${check.instanceId}): ${check.outcome}${check.reason ? ` (${check.reason})` : ''}; status ${check.status}, exit code ${check.exitCode}, ${check.durationMs} ms`;
  return [header, '--- stdout', check.stdout || '(empty)', '--- stderr', check.stderr || '(empty)', '---', ''].join('\n');
}

export async function appendEvidence(logFile: string, checks: readonly CheckResult[]): Promise<void> {
  if (checks.length === 0) return;
  await mkdir(dirname(logFile), { recursive: true });
  await appendFile(logFile, checks.map(formatCheckEvidence).join('\n'));
}

export async function writeSmokeReport(logDir: string, report: SmokeReport): Promise<string> {
  await mkdir(logDir, { recursive: true });
  const file = join(logDir, `${report.image}.smoke.json`);
  await writeFile(file, `${JSON.stringify(report, null, 2)}\n`);
  return file;
}
