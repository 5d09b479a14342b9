/**
 * The store's own errors, neutral of any API (as distribution's storage speaks `ErrBlobInvalidDigest`, not HTTP): the
 * service core (`../service/`) turns them into the errors of the API that asked.
 */

/** A manifest the store's image reading refuses: the request member it came in, and the rule it breaks. */
export class InvalidManifestError extends Error {
  constructor(public readonly member: string, public readonly rule: string) {
    super(`${member}: ${rule}`);
    this.name = 'InvalidManifestError';
  }
}
