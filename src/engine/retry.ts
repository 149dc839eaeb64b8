import pRetry from 'p-retry';
import { isStorageError } from '../core/errors.js';

export interface RetryPolicy {
  /** Attempts in all, the first included. */
  attempts: number;
  /** Pause before the second attempt; each later pause doubles. */
  firstDelayMs: number;
}

// Five attempts, as the scripts this tool replaces made; 0.2+0.4+0.8+1.6 s rides out a virus
// scanner or an editor holding a file without stalling a run for long.
export const DEFAULT_RETRY: RetryPolicy = { attempts: 5, firstDelayMs: 200 };

/** Runs `fn` again while it fails with a retryable StorageError; anything else fails at once. */
export function withRetry<T>(fn: () => Promise<T>, policy: RetryPolicy, signal?: AbortSignal): Promise<T> {
  if (policy.attempts <= 1) return fn();
  return pRetry(fn, {
    retries: policy.attempts - 1,
    minTimeout: policy.firstDelayMs,
    factor: 2,
    signal,
    shouldRetry: ({ error }) => isStorageError(error) && error.retryable,
  });
}
