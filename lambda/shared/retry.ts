/**
 * Retrying a request: attempts, exponential back-off, and the caller's rule of which outcomes are worth another
 * attempt. The handlers' own HTTP requests (the CloudFormation response PUT, the registry pull API) retry through here;
 * AWS SDK calls retry in the SDK.
 */

/** What one attempt gave: a value (an HTTP answer, whatever its status) or an error. */
export type AttemptOutcome<T> = { readonly ok: true; readonly value: T } | { readonly ok: false; readonly error: unknown };

/** How to retry. */
export interface RetryPolicy<T> {
  /** Attempts in all (the first one included). */
  readonly attempts: number;
  /** The wait after the first attempt; it doubles at each further attempt. */
  readonly baseMs: number;
  /**
   * Waits are drawn from the upper half of the back-off, so that clients that failed together do not retry together.
   * @default false
   */
  readonly jitter?: boolean;
  /** Whether `outcome` may turn out otherwise when tried again (a network error, a 5xx, a 429). */
  readonly retryable: (outcome: AttemptOutcome<T>) => boolean;
  /**
   * The wait the outcome itself asks for (a `Retry-After`), instead of the back-off.
   * @default the back-off
   */
  readonly waitMs?: (outcome: AttemptOutcome<T>) => number | undefined;
  /**
   * Called before waiting for attempt `attempt + 1`: to log, and to release what the outcome holds (a response body).
   * @default nothing
   */
  readonly beforeRetry?: (outcome: AttemptOutcome<T>, attempt: number, waitMs: number) => void | Promise<void>;
}

/** The outcome that ended the retries, and how many attempts were made. */
export interface RetryResult<T> {
  readonly outcome: AttemptOutcome<T>;
  readonly attempts: number;
  /** True when the last outcome was still retryable: the attempts ran out. */
  readonly exhausted: boolean;
}

/** The back-off before attempt `attempt + 1`: `baseMs · 2^(attempt-1)`, with jitter drawn from its upper half. */
export function backoffMs(attempt: number, baseMs: number, jitter = false): number {
  const base = baseMs * 2 ** (attempt - 1);
  return jitter ? Math.round(base / 2 + Math.random() * base / 2) : base;
}

/**
 * Runs `attempt` until its outcome is not retryable or the attempts are spent, and returns the last outcome: what a
 * failure means (an error to throw, an answer to hand on) is the caller's to say.
 */
export async function retry<T>(policy: RetryPolicy<T>, attempt: (n: number) => Promise<T>): Promise<RetryResult<T>> {
  for (let n = 1; ; n++) {
    let outcome: AttemptOutcome<T>;
    try {
      outcome = { ok: true, value: await attempt(n) };
    } catch (error) {
      outcome = { ok: false, error };
    }
    const retryable = policy.retryable(outcome);
    if (!retryable || n >= policy.attempts) return { outcome, attempts: n, exhausted: retryable };
    const wait = policy.waitMs?.(outcome) ?? backoffMs(n, policy.baseMs, policy.jitter);
    await policy.beforeRetry?.(outcome, n, wait);
    await sleep(wait);
  }
}

/** Resolves after `ms` milliseconds. */
export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
