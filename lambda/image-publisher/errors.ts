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

/**
 * A failure of the image-format rules (the plain `Error`s of `src/shared/oci`, shared with synth time) as the
 * publisher's own; an error that already has a name (an API or registry error) as it is.
 */
export function asPublishError(err: unknown): Error {
  if (!(err instanceof Error)) return new ImagePublishError(String(err));
  return err.constructor === Error && err.name === 'Error' ? new ImagePublishError(err.message) : err;
}
