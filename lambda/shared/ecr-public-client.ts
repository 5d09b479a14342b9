/** The Amazon ECR Public client the handlers use, and helpers for the API's errors. */
import { ECRPUBLICClient } from '@aws-sdk/client-ecr-public';

/**
 * The only Region that serves the whole ECR Public API. The Lambda runs in the stack's Region, which must not leak
 * into the client: elsewhere the service answers `UnsupportedCommandException`.
 */
export const ECR_PUBLIC_REGION = 'us-east-1';

/**
 * Attempts of every AWS SDK client of the handlers: six ride out throttling, which the API applies per account and
 * which a stack creating many repositories at once runs into.
 */
export const SDK_MAX_ATTEMPTS = 6;

/**
 * A new ECR Public client pinned to us-east-1.
 *
 * Created per invocation so that the endpoint is resolved from the environment of this invocation; the SDK caches the
 * endpoint it read from `AWS_ENDPOINT_URL_ECR_PUBLIC` in the client on first use. Call `destroy()` when done.
 */
export function ecrPublicClient(): ECRPUBLICClient {
  return new ECRPUBLICClient({ region: ECR_PUBLIC_REGION, maxAttempts: SDK_MAX_ATTEMPTS });
}

/** Runs `fn` with a new client (see `ecrPublicClient`), destroyed afterwards whatever happens. */
export async function withEcrPublicClient<T>(fn: (ecr: ECRPUBLICClient) => Promise<T>): Promise<T> {
  const ecr = ecrPublicClient();
  try {
    return await fn(ecr);
  } finally {
    ecr.destroy();
  }
}

/** Whether `err` is the API error `name` (SDK errors are matched by name: the classes differ between bundles). */
export function isErrorNamed(err: unknown, name: string): boolean {
  return err instanceof Error && err.name === name;
}

/** The handlers' callers import `withAdvice` with the client; it is one of the shared error helpers. */
export { withAdvice } from './errors';
