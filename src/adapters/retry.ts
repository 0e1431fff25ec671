/**
 * The one retry gild makes around its own calls, with one backoff policy. The SDK already retries each call
 * (aws-client-config.ts); this is for what it cannot know: a read-back before trying again, a refusal that means "not
 * yet" (an SSM agent not registered, a security group still in use), a create sent once on purpose.
 *
 * NOTE: a loop of its own rather than p-retry: callers bound the waits by their own deadline (the smoke test's sleep)
 * and read back between attempts, and the whole policy is the ten lines below.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { isServerError, isThrottlingError, isTransientError } from '@smithy/core/retry';

/** Exponential backoff: `baseDelayMs` after the first failure, doubling, never more than `maxDelayMs`. */
export interface RetryPolicy {
  readonly attempts: number;
  readonly baseDelayMs: number;
  readonly maxDelayMs: number;
}

/** The wait after the `attempt`-th failure (1-based). */
export function backoffDelayMs(policy: Pick<RetryPolicy, 'baseDelayMs' | 'maxDelayMs'>, attempt: number): number {
  return Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** (attempt - 1));
}

export interface RetryOptions extends RetryPolicy {
  /** Whether this failure may pass on a later attempt; any other is thrown at once. */
  readonly retryable: (error: unknown) => boolean;
  readonly signal?: AbortSignal;
  /** How to wait (a caller's deadline-bounded sleep); default a timer that the signal cancels. */
  readonly sleep?: (ms: number) => Promise<void>;
}

/** Runs `operation` until it succeeds, fails in a way not `retryable`, or has had its attempts; throws the last error. */
export async function retry<T>(operation: (attempt: number) => Promise<T>, options: RetryOptions): Promise<T> {
  const wait = options.sleep ?? ((ms: number) => sleep(ms, undefined, options.signal ? { signal: options.signal } : {}));
  for (let attempt = 1; ; attempt++) {
    try {
      return await operation(attempt);
    } catch (error) {
      if (attempt >= options.attempts || !options.retryable(error) || options.signal?.aborted) throw error;
      await wait(backoffDelayMs(options, attempt));
    }
  }
}

/**
 * Whether the SDK would call this error worth another attempt: throttling, a transient failure (timeouts, dropped
 * connections, the listed 5xx) or any other server error. The SDK's own classification, not a list kept here.
 */
export function isRetryableAwsError(error: unknown): boolean {
  if (!error || typeof error !== 'object') return false;
  const sdkError = error as Parameters<typeof isTransientError>[0];
  return isThrottlingError(sdkError) || isTransientError(sdkError) || isServerError(sdkError);
}
