/**
 * What `--reason` may say (rollback, revoke, restore). A reason is recorded in Parameter Store: the hold a rollback
 * writes, the version ledger and the version's status parameter, as well as on the AMIs (256 characters a tag).
 *
 * NOTE: why refuse rather than store it cut or rewritten: the author is at the terminal and can say it shorter; a
 * reason cut in one place and whole in another would read differently in `gild history` and on the AMIs, and a
 * rewritten `{{` would no longer be what was written. Parameter Store refuses a value with `{{ }}` in it (it reads
 * it as a reference to another parameter), and a standard parameter holds 4 KB: a hold with a longer reason, or
 * a ledger of many long reasons, would fail on AWS after the rollback or revoke had begun.
 */
import { GildError } from '../errors.ts';
import { ledgerReasonLimit } from '../plan/version-ledger.ts';

export function reasonTextProblems(reason: string): string[] {
  const problems: string[] = [];
  if (reason.trim() === '') problems.push('--reason: is empty. Say why, e.g. --reason "CVE-2026-0001 in openssl"');
  const length = [...reason].length;
  if (length > ledgerReasonLimit) {
    problems.push(
      `--reason: is ${length.toLocaleString('en-US')} characters; gild records it in Parameter Store (the hold, the version ledger, the version's status), where it keeps at most ${ledgerReasonLimit}. Shorten it to ${ledgerReasonLimit} characters, and name a ticket or advisory for the details`,
    );
  }
  if (reason.includes('{{')) {
    problems.push(
      '--reason: contains "{{", which Parameter Store refuses in a parameter value ({{…}} reads as a reference to another parameter), and gild records the reason there. Write it without double braces, e.g. "{ {" or "<…>"',
    );
  }
  return problems;
}

/** Refuses (exit 2) a `--reason` that Parameter Store could not hold, before anything is read or written. */
export function assertReasonText(reason: string): void {
  const problems = reasonTextProblems(reason);
  if (problems.length > 0) throw new GildError('EUSAGE', 'usage', `${problems.length === 1 ? problems[0] : `${problems.length} problems with --reason`}.`, problems.length === 1 ? [] : problems);
}
