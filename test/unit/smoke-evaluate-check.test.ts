import { describe, expect, it } from 'vitest';
import { evaluateCheck } from '../../src/smoke/evaluate-check.ts';

const success = { status: 'Success', exitCode: 0, stdout: 'nginx/1.24.0 ready\n', stderr: '' };

describe('evaluateCheck', () => {
  it('passes a successful command that meets every expectation', () => {
    expect(evaluateCheck({ stdoutMatches: ['nginx/1\\.2\\d'], stderrNotMatches: [/error/i] }, success)).toEqual({ outcome: 'passed' });
  });

  it('fails a command Run Command reports Failed, with its exit code', () => {
    expect(evaluateCheck({}, { ...success, status: 'Failed', exitCode: 3 })).toEqual({ outcome: 'failed', reason: 'exited with code 3, expected 0 (Run Command status Failed)' });
  });

  it('passes a Failed command whose exit code is the expected non-zero one', () => {
    expect(evaluateCheck({ expectExitCode: 3 }, { ...success, status: 'Failed', exitCode: 3 })).toEqual({ outcome: 'passed' });
  });

  it('fails a Failed command with no exit code as Failed', () => {
    expect(evaluateCheck({}, { ...success, status: 'Failed', exitCode: -1 })).toEqual({ outcome: 'failed', reason: 'Run Command reported status Failed' });
  });

  it('fails TimedOut and Cancelled with the status as the reason', () => {
    expect(evaluateCheck({}, { ...success, status: 'TimedOut', exitCode: -1 })).toMatchObject({ outcome: 'failed', reason: expect.stringContaining('TimedOut') });
    expect(evaluateCheck({}, { ...success, status: 'Cancelled', exitCode: -1 })).toEqual({ outcome: 'failed', reason: 'Run Command reported status Cancelled' });
  });

  it('fails an unexpected exit code even when the status is Success', () => {
    expect(evaluateCheck({ expectExitCode: 1 }, success)).toEqual({ outcome: 'failed', reason: 'exited with code 0, expected 1' });
  });

  it('fails when stdout does not match a required pattern', () => {
    expect(evaluateCheck({ stdoutMatches: ['ready', 'healthy'] }, success)).toEqual({ outcome: 'failed', reason: 'stdout does not match /healthy/' });
  });

  it('fails when stdout matches a forbidden pattern', () => {
    expect(evaluateCheck({ stdoutNotMatches: [/READY/i] }, success)).toEqual({ outcome: 'failed', reason: 'stdout matches /READY/i, which it must not' });
  });

  it('fails when stderr does not match, or matches what it must not', () => {
    expect(evaluateCheck({ stderrMatches: ['warn'] }, success)).toEqual({ outcome: 'failed', reason: 'stderr does not match /warn/' });
    expect(evaluateCheck({ stderrNotMatches: ['^WARN'] }, { ...success, stderr: 'ok\nWARN: disk' })).toEqual({ outcome: 'failed', reason: 'stderr matches /^WARN/, which it must not' });
  });

  it('gives the same answer twice for a global RegExp', () => {
    const check = { stdoutMatches: [/ready/g] };
    expect(evaluateCheck(check, success)).toEqual({ outcome: 'passed' });
    expect(evaluateCheck(check, success)).toEqual({ outcome: 'passed' });
  });
});
