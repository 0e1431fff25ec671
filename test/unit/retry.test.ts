import { describe, expect, it } from 'vitest';
import { backoffDelayMs, isRetryableAwsError, retry } from '../../src/adapters/retry.ts';

const awsFailure = (name: string, httpStatusCode: number) => Object.assign(new Error(name), { name, $metadata: { httpStatusCode } });

describe('retry', () => {
  it('waits base, then double, never more than the cap, between attempts, and returns the first success', async () => {
    const waits: number[] = [];
    let calls = 0;
    const result = await retry(
      async (attempt) => {
        calls++;
        if (attempt < 5) throw awsFailure('Throttling', 400);
        return `done on ${attempt}`;
      },
      { attempts: 5, baseDelayMs: 100, maxDelayMs: 300, retryable: () => true, sleep: async (ms) => void waits.push(ms) },
    );
    expect(result).toBe('done on 5');
    expect(calls).toBe(5);
    expect(waits).toEqual([100, 200, 300, 300]);
  });

  it('throws the last error once the attempts are spent, without a wait after the last', async () => {
    const waits: number[] = [];
    const failure = awsFailure('InternalError', 500);
    await expect(retry(async () => Promise.reject(failure), { attempts: 3, baseDelayMs: 10, maxDelayMs: 100, retryable: () => true, sleep: async (ms) => void waits.push(ms) })).rejects.toBe(failure);
    expect(waits).toEqual([10, 20]);
  });

  it('throws a failure that is not retryable at once', async () => {
    let calls = 0;
    const refusal = awsFailure('UnauthorizedOperation', 403);
    const attempt = retry(
      async () => {
        calls++;
        throw refusal;
      },
      { attempts: 5, baseDelayMs: 10, maxDelayMs: 100, retryable: isRetryableAwsError, sleep: async () => undefined },
    );
    await expect(attempt).rejects.toBe(refusal);
    expect(calls).toBe(1);
  });

  it('stops waiting when the signal aborts', async () => {
    const abort = new AbortController();
    const attempt = retry(
      async () => {
        abort.abort();
        throw awsFailure('Throttling', 400);
      },
      { attempts: 5, baseDelayMs: 60_000, maxDelayMs: 60_000, retryable: () => true, signal: abort.signal },
    );
    await expect(attempt).rejects.toMatchObject({ name: 'Throttling' });
  });

  it('doubles from the base and caps', () => {
    expect([1, 2, 3, 4, 5].map((attempt) => backoffDelayMs({ baseDelayMs: 500, maxDelayMs: 3000 }, attempt))).toEqual([500, 1000, 2000, 3000, 3000]);
  });
});

describe('isRetryableAwsError (the SDK classification)', () => {
  it('retries throttling, transient codes and server errors', () => {
    expect(isRetryableAwsError(awsFailure('RequestLimitExceeded', 503))).toBe(true);
    expect(isRetryableAwsError(awsFailure('ThrottlingException', 400))).toBe(true);
    expect(isRetryableAwsError(awsFailure('InternalError', 500))).toBe(true);
    expect(isRetryableAwsError(awsFailure('SomethingNew', 502))).toBe(true);
    expect(isRetryableAwsError(Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' }))).toBe(true);
  });

  it('does not retry a refusal, a bad request or an abort', () => {
    expect(isRetryableAwsError(awsFailure('UnauthorizedOperation', 403))).toBe(false);
    expect(isRetryableAwsError(awsFailure('InvalidParameterValue', 400))).toBe(false);
    expect(isRetryableAwsError(Object.assign(new Error('aborted'), { name: 'AbortError' }))).toBe(false);
    expect(isRetryableAwsError(undefined)).toBe(false);
  });
});
