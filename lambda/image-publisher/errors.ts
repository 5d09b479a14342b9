/** Errors of the publisher: the digest mismatch, and API errors given context while keeping their name. */

/** A failure found by the publisher itself (not an API error). */
export class ImagePublishError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ImagePublishError';
  }
}

/**
 * `err` with `context` put before its message and its name kept, so that a failure reason still starts with the API's
 * error code and also says what was being done.
 */
export function withContext(err: unknown, context: string): Error {
  if (!(err instanceof Error)) return new Error(`${context}: ${String(err)}`);
  const wrapped = new Error(`${context}: ${err.message}`, { cause: err });
  wrapped.name = err.name;
  return wrapped;
}
