/** Errors of the publisher: the digest mismatch, and API errors given context while keeping their name. */

/** A failure found by the publisher itself (not an API error). */
export class ImagePublishError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ImagePublishError';
  }
}

/** The publisher's stages give API errors context with the handlers' one wrapping helper. */
export { withContext } from '../shared/errors';

/**
 * A failure of the image-format rules (the plain `Error`s of `src/shared/oci`, shared with synth time) as the
 * publisher's own; an error that already has a name (an API or registry error) as it is.
 */
export function asPublishError(err: unknown): Error {
  if (!(err instanceof Error)) return new ImagePublishError(String(err));
  return err.constructor === Error && err.name === 'Error' ? new ImagePublishError(err.message) : err;
}
