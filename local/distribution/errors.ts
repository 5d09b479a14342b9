/**
 * The registry API's errors, registered once as distribution's `errcode` registers them: each kind with the code on
 * the wire and its HTTP status. {@link RegistryError} is the one error the registry's handlers throw, and
 * `responses.ts` the one place that serialises it.
 */
import { EcrErrorCode, EcrPublicError } from '../service/errors';
import { ReferencesNotFoundError } from '../service/images';

/** A kind of registry error: its code on the wire and its HTTP status. */
export interface RegistryErrorKind {
  readonly code: string;
  readonly status: number;
}

/** Every error the registry API answers, by kind. */
export const REGISTRY_ERRORS = {
  /** No credentials where a push needs them, or credentials that are not a password GetAuthorizationToken issued. */
  UNAUTHORIZED: { code: 'UNAUTHORIZED', status: 401 },
  /** Under IAM: the principal the password was issued to may not do this push (the registry's DENIED, 403). */
  DENIED: { code: 'DENIED', status: 403 },
  /** A method the route does not serve (deletes included: images go with BatchDeleteImage, blobs with their repository). */
  UNSUPPORTED: { code: 'UNSUPPORTED', status: 405 },
  /** A name outside the registry's alias, or a repository that does not exist (pushes create none). */
  NAME_UNKNOWN: { code: 'NAME_UNKNOWN', status: 404 },
  /** A path that is no route of the registry API. */
  NAME_INVALID: { code: 'NAME_INVALID', status: 404 },
  MANIFEST_UNKNOWN: { code: 'MANIFEST_UNKNOWN', status: 404 },
  /** A manifest PutImage's rules refuse, or a manifest reference with a malformed escape. */
  MANIFEST_INVALID: { code: 'MANIFEST_INVALID', status: 400 },
  /** A manifest naming blobs (or an index naming images) the repository does not hold. */
  MANIFEST_BLOB_UNKNOWN: { code: 'MANIFEST_BLOB_UNKNOWN', status: 400 },
  BLOB_UNKNOWN: { code: 'BLOB_UNKNOWN', status: 404 },
  /** An upload that does not exist, belongs to another repository, has ended or has expired. */
  BLOB_UPLOAD_UNKNOWN: { code: 'BLOB_UPLOAD_UNKNOWN', status: 404 },
  /** An upload that cannot go on as asked (completed without bytes, a body where none belongs). */
  BLOB_UPLOAD_INVALID: { code: 'BLOB_UPLOAD_INVALID', status: 400 },
  /** Bytes that do not start where the upload stands, or a malformed Content-Range: answered with the upload's Range. */
  RANGE_INVALID: { code: 'BLOB_UPLOAD_INVALID', status: 416 },
  /** A digest that is malformed or not the sha256 of what arrived. */
  DIGEST_INVALID: { code: 'DIGEST_INVALID', status: 400 },
  /** A layer or a manifest over its size cap. */
  SIZE_INVALID: { code: 'SIZE_INVALID', status: 413 },
  TAG_INVALID: { code: 'TAG_INVALID', status: 400 },
  /** An error of the shared push rules that has no registry counterpart. */
  UNSUPPORTED_BY_REGISTRY: { code: 'UNSUPPORTED', status: 400 },
  /** The disk refused the change (full, failing): nothing of it was applied. */
  STORAGE_FAILED: { code: 'UNKNOWN', status: 500 },
} as const satisfies Record<string, RegistryErrorKind>;

export type RegistryErrorName = keyof typeof REGISTRY_ERRORS;

/** An answer of the registry API: `{"errors": [...]}` with the status of its kind, and extra headers. */
export class RegistryError extends Error {
  public readonly code: string;
  public readonly status: number;

  constructor(
    /** Its kind in {@link REGISTRY_ERRORS}. */
    public readonly kind: RegistryErrorName,
    message: string,
    /** Headers the answer carries besides the API version (an upload's Range, a challenge). @default - none */
    public readonly headers: Record<string, string> = {},
    /** One entry of `errors` per detail (the missing digests of a manifest). @default - one entry, detail null */
    public readonly details: readonly unknown[] = [null],
  ) {
    super(message);
    this.code = REGISTRY_ERRORS[kind].code;
    this.status = REGISTRY_ERRORS[kind].status;
  }
}

/**
 * The registry error for each error code of the service core, every code listed (a code added to the core's table
 * without its registry counterpart is a compile error). Codes the shared push rules cannot raise, and the core's
 * rules with no registry counterpart, are UNSUPPORTED_BY_REGISTRY.
 */
const FROM_SERVICE_ERROR: Readonly<Record<EcrErrorCode, RegistryErrorName>> = {
  RepositoryNotFoundException: 'NAME_UNKNOWN',
  UploadNotFoundException: 'BLOB_UPLOAD_UNKNOWN',
  InvalidLayerPartException: 'RANGE_INVALID',
  EmptyUploadException: 'BLOB_UPLOAD_INVALID',
  InvalidLayerException: 'DIGEST_INVALID',
  LimitExceededException: 'SIZE_INVALID',
  InvalidParameterException: 'MANIFEST_INVALID',
  LayersNotFoundException: 'MANIFEST_BLOB_UNKNOWN',
  ReferencedImagesNotFoundException: 'MANIFEST_BLOB_UNKNOWN',
  ImageDigestDoesNotMatchException: 'DIGEST_INVALID',
  // A registry client is told an image or a blob that is already there was stored: the rules answer these to the
  // ECR Public API only, so they never reach the registry.
  ImageAlreadyExistsException: 'UNSUPPORTED_BY_REGISTRY',
  LayerAlreadyExistsException: 'UNSUPPORTED_BY_REGISTRY',
  // The registry takes whole blobs or chunks of any size: the API's part-size quota is not applied to it.
  LayerPartTooSmallException: 'UNSUPPORTED_BY_REGISTRY',
  // Operations the registry API has no counterpart of (its names are under the alias: `repositories.ts` answers
  // NAME_UNKNOWN for an unknown one itself).
  RegistryNotFoundException: 'UNSUPPORTED_BY_REGISTRY',
  ImageNotFoundException: 'UNSUPPORTED_BY_REGISTRY',
  InvalidTagParameterException: 'UNSUPPORTED_BY_REGISTRY',
  RepositoryAlreadyExistsException: 'UNSUPPORTED_BY_REGISTRY',
  RepositoryCatalogDataNotFoundException: 'UNSUPPORTED_BY_REGISTRY',
  RepositoryNotEmptyException: 'UNSUPPORTED_BY_REGISTRY',
  RepositoryPolicyNotFoundException: 'UNSUPPORTED_BY_REGISTRY',
  TooManyTagsException: 'UNSUPPORTED_BY_REGISTRY',
  // The awsJson protocol's own errors, raised by the API's front door alone.
  IncompleteSignatureException: 'UNSUPPORTED_BY_REGISTRY',
  LengthRequiredException: 'UNSUPPORTED_BY_REGISTRY',
  MissingAuthenticationTokenException: 'UNSUPPORTED_BY_REGISTRY',
  AccessDeniedException: 'UNSUPPORTED_BY_REGISTRY',
  InvalidSignatureException: 'UNSUPPORTED_BY_REGISTRY',
  UnrecognizedClientException: 'UNSUPPORTED_BY_REGISTRY',
  RequestTimeoutException: 'UNSUPPORTED_BY_REGISTRY',
  SerializationException: 'UNSUPPORTED_BY_REGISTRY',
  ServerException: 'UNSUPPORTED_BY_REGISTRY',
  ThrottlingException: 'UNSUPPORTED_BY_REGISTRY',
  UnknownOperationException: 'UNSUPPORTED_BY_REGISTRY',
  UnsupportedCommandException: 'UNSUPPORTED_BY_REGISTRY',
};

/** The registry's answer to an error of the shared rules (with `headers`, e.g. an upload's Range). */
export function fromServiceError(err: EcrPublicError, headers: Record<string, string> = {}): RegistryError {
  const details = err instanceof ReferencesNotFoundError ? err.digests.map((digest) => ({ digest })) : [null];
  return new RegistryError(FROM_SERVICE_ERROR[err.code], err.message, headers, details);
}

/** Runs `fn`, turning the shared rules' errors into registry errors (with `headers`, e.g. an upload's Range). */
export function asRegistry<T>(fn: () => T, headers: Record<string, string> = {}): T {
  try {
    return fn();
  } catch (err) {
    throw err instanceof EcrPublicError ? fromServiceError(err, headers) : err;
  }
}
