/**
 * What `--reason` may say: what Parameter Store can hold (src/commands/reason-text.ts). The CLI's refusal end to end,
 * with nothing written, is in test/integration/reason-into-parameters.test.ts.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { assertReasonText, reasonTextProblems } from '../../src/commands/reason-text.ts';
import { isGildError } from '../../src/errors.ts';
import { ledgerReasonLimit } from '../../src/plan/version-ledger.ts';

describe('--reason', () => {
  it('takes up to the characters the ledger keeps, counted as characters (an emoji is one), braces that are not doubled included', () => {
    expect(reasonTextProblems('x'.repeat(ledgerReasonLimit))).toEqual([]);
    expect(reasonTextProblems('🔥'.repeat(ledgerReasonLimit))).toEqual([]);
    expect(reasonTextProblems('a { {b} } c ${x} %{y} "quoted" \n newline')).toEqual([]);
  });

  it('refuses a longer one, one with {{, and an empty one, each with what to do', () => {
    expect(reasonTextProblems('x'.repeat(ledgerReasonLimit + 1))).toEqual([
      "--reason: is 301 characters; gild records it in Parameter Store (the hold, the version ledger, the version's status), where it keeps at most 300. Shorten it to 300 characters, and name a ticket or advisory for the details",
    ]);
    expect(reasonTextProblems('SSTI via {{ .Name }}')).toEqual([
      '--reason: contains "{{", which Parameter Store refuses in a parameter value ({{…}} reads as a reference to another parameter), and gild records the reason there. Write it without double braces, e.g. "{ {" or "<…>"',
    ]);
    expect(reasonTextProblems(' \t')).toEqual(['--reason: is empty. Say why, e.g. --reason "CVE-2026-0001 in openssl"']);
  });

  it('is refused as a usage error (exit 2), all problems at once', () => {
    let thrown: unknown;
    try {
      assertReasonText(`{{${'x'.repeat(400)}`);
    } catch (error) {
      thrown = error;
    }
    expect(isGildError(thrown) && thrown.kind === 'usage' && thrown.details.length === 2).toBe(true);
  });

  it('accepts exactly what leaves no {{ and fits (property)', () => {
    fc.assert(
      fc.property(fc.string({ unit: fc.constantFrom('a', '{', '}', ' ', 'é'), maxLength: 320 }), (reason) => {
        const fits = reason.trim() !== '' && [...reason].length <= ledgerReasonLimit && !reason.includes('{{');
        expect(reasonTextProblems(reason).length === 0).toBe(fits);
      }),
    );
  });
});
