/**
 * The deployer's own calls to the emulator (the account check) retried as the handlers' SDK clients retry theirs:
 * the SDK's standard mode with the handlers' six attempts, exponential backoff with full jitter (100 ms base, 20 s
 * cap), on throttling, server errors and connections that fail or drop.
 */

/** As `maxAttempts` of the handlers' ECR Public client. */
export const MAX_ATTEMPTS = 6;
const BASE_DELAY_MS = 100;
const MAX_DELAY_MS = 20_000;

/** Runs `call` until it succeeds, fails for a reason `retryable` does not accept, or the attempts are spent. */
export async function withRetries<T>(call: () => Promise<T>, retryable: (err: unknown) => boolean): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await call();
    } catch (err) {
      if (attempt >= MAX_ATTEMPTS || !retryable(err)) throw err;
      const delay = Math.random() * Math.min(MAX_DELAY_MS, BASE_DELAY_MS * 2 ** attempt);
      await new Promise((resolve) => setTimeout(resolve, delay));
    }
  }
}
