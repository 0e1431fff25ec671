/** `gild doctor`'s table: one line per check, the fix under every line that needs one, and a verdict. Pure. */
import type { DoctorCheck } from './doctor-check.ts';

const mark = { ok: 'ok', failed: 'FAILED', 'not-checked': 'not checked', advice: 'advice' } as const;

export function formatDoctorReport(checks: readonly DoctorCheck[], target: string): string {
  const widths = {
    status: Math.max(...checks.map((check) => mark[check.status].length), 'status'.length),
    check: Math.max(...checks.map((check) => check.check.length), 'check'.length),
    subject: Math.min(60, Math.max(...checks.map((check) => check.subject.length), 'for'.length)),
  };
  const row = (status: string, check: string, subject: string, detail: string) =>
    `${status.padEnd(widths.status)}  ${check.padEnd(widths.check)}  ${subject.padEnd(widths.subject)}  ${detail}`.trimEnd();
  const lines = [`gild doctor: ${target}`, '', row('status', 'check', 'for', 'detail')];
  for (const check of checks) {
    lines.push(row(mark[check.status], check.check, check.subject, check.detail));
    if (check.status !== 'ok' && check.fix) lines.push(`${' '.repeat(widths.status + 2)}${check.status === 'failed' ? 'fix' : check.status === 'advice' ? 'advice' : 'to check it'}: ${check.fix}`);
  }
  const count = (status: DoctorCheck['status']) => checks.filter((check) => check.status === status).length;
  const [failures, unchecked, advised] = [count('failed'), count('not-checked'), count('advice')];
  lines.push(
    '',
    failures > 0
      ? `Not ready: ${failures} of ${checks.length} checks failed${unchecked > 0 ? `, ${unchecked} not checked` : ''}. Fix the lines marked FAILED and run gild doctor again.`
      : `Ready${unchecked > 0 ? `, with ${unchecked} of ${checks.length} checks not made (see why above)` : advised > 0 ? '' : `: all ${checks.length} checks passed`}${advised > 0 ? `${unchecked > 0 ? ';' : ','} ${advised} with advice (see above)` : ''}.`,
  );
  return `${lines.join('\n')}\n`;
}
