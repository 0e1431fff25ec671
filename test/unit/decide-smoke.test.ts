/** The smoke verdict from what the instances found: pure, so every case is a table row. */
import { describe, expect, it } from 'vitest';
import { decideSmoke } from '../../src/smoke/decide-smoke.ts';
import type { CheckResult } from '../../src/stages/stage.ts';

const check = (name: string, outcome: CheckResult['outcome'], reason?: string): CheckResult => ({
  name,
  instanceType: 't3.micro',
  instanceId: 'i-1',
  outcome,
  reason,
  status: 'Success',
  exitCode: 0,
  stdout: '',
  stderr: '',
  durationMs: 1,
});
const builtIns = (outcome: 'not-verified' | 'kept-by-choice', reason: string) => ['host keys', 'authorized keys', 'machine-id'].map((name) => check(`new machine: ${name}`, outcome, reason));
const decide = (checks: CheckResult[], problems: { outcome: 'failed' | 'timed-out'; reason: string }[] = []) => decideSmoke({ checks, problems, timeoutSeconds: 600 });

describe('decideSmoke', () => {
  it('passes when a check passed and none failed, whatever the built-in checks could not verify', () => {
    const checks = [...builtIns('not-verified', 'no record'), check('nginx', 'passed')];
    expect(decide(checks)).toEqual({ result: 'passed', checks });
  });

  it('says skipped, never passed, when only built-in checks ran and none was verified (a resumed AMI on AWS)', () => {
    expect(decide(builtIns('not-verified', 'gild has no record of the build instance'))).toEqual({
      result: 'skipped',
      reason: 'nothing was verified: 3 not verified (gild has no record of the build instance)',
    });
  });

  it('says skipped when every built-in check is kept by choice and the image has no check of its own', () => {
    expect(decide(builtIns('kept-by-choice', 'generalize is turned off: forensic copy'))).toEqual({
      result: 'skipped',
      reason: 'nothing was verified: 3 kept by choice (generalize is turned off: forensic copy)',
    });
  });

  it('says skipped, with how many and why, when no check of the definition ran (no twin on the emulator)', () => {
    expect(decide([...builtIns('not-verified', 'no record'), check('nginx', 'not-run', 'not run: no twin'), check('kernel', 'skipped', 'needs a VM')])).toEqual({
      result: 'skipped',
      reason: 'no check ran: 1 not run, 1 skipped (not run: no twin; needs a VM)',
    });
  });

  it('fails on any failed check or problem, a failure outranking a timeout, naming the first and counting the rest', () => {
    const result = decide([check('slow', 'timed-out', 'did not finish'), check('nginx', 'failed', 'exited with code 3')], [{ outcome: 'failed', reason: 'the package manifest command failed' }]);
    expect(result).toMatchObject({ result: 'failed', reason: 'the package manifest command failed (and 2 more)' });
  });

  it('times out when only timeouts were found', () => {
    expect(decide([check('slow', 'timed-out', 'did not finish within its 1s timeout')])).toMatchObject({
      result: 'timed-out',
      reason: 'check "slow" on t3.micro (i-1) did not finish within its 1s timeout',
    });
  });
});
