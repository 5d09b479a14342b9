/**
 * The error shapes of the ECR Public API, plus the common AWS errors the emulator emits by name: each code once, with
 * its HTTP status and its wording, as moto's `exceptions.py` and distribution's `errcode.Register` keep theirs. A code
 * is a key of {@link ECR_ERRORS}, so a misspelt one is a compile error, and a front door that maps the codes (the
 * distribution API's `errors.ts`) can be checked against the table for completeness.
 *
 * One class carries them all; the awsJson endpoint (`api/endpoint.ts`) is the only place that serialises them.
 */
import { InvalidManifestError } from '../store/errors';

/** One error code: its HTTP status and the one wording of its message. */
interface EcrErrorSpec {
  /** @default 400 (every modelled client error) */
  readonly status?: number;
  readonly message: (...args: any[]) => string;
}

/** Where an upload is, as the service names it in its messages. */
export interface UploadWhere {
  readonly uploadId: string;
  readonly repositoryName: string;
  readonly registryId: string;
}

function uploadWhere(where: UploadWhere): string {
  return `The upload with id '${where.uploadId}' in the repository with name '${where.repositoryName}' in registry with id '${where.registryId}'`;
}

/** A service limit named in a LimitExceededException. */
export type Limit = 'repositories' | 'parts' | 'layer-bytes';

/** A tag rule named in an InvalidTagParameterException. */
export type TagRule = 'key-length' | 'reserved-prefix' | 'value-length' | 'characters';

/** Every error the emulator answers, by code. */
export const ECR_ERRORS = {
  // --- the ECR Public API's modelled errors ---
  EmptyUploadException: {
    message: (where: UploadWhere) => `${uploadWhere(where)} cannot be completed because it does not have any parts`,
  },
  ImageAlreadyExistsException: {
    message: (digest: string, tag: string | undefined, repositoryName: string, registryId: string) =>
      `Image with digest '${digest}'${tag ? ` and tag '${tag}'` : ''} already exists in the repository with name '${repositoryName}' in registry with id '${registryId}'`,
  },
  ImageDigestDoesNotMatchException: {
    message: (given: string, computed: string) =>
      `The specified image digest '${given}' does not match the digest '${computed}' calculated for the manifest`,
  },
  ImageNotFoundException: {
    message: (image: string, repositoryName: string, registryId: string) =>
      `The image with imageId {${image}} does not exist within the repository with name '${repositoryName}' in the registry with id '${registryId}'`,
  },
  InvalidLayerException: {
    message: (computed: string, given: readonly string[]) =>
      `The layer digest calculation performed by the emulator (${computed}) does not match the digest specified (${given.join(', ')})`,
  },
  /** Why the part is refused varies (its start, its length, its size): the caller says which. */
  InvalidLayerPartException: { message: (why: string) => why },
  InvalidParameterException: {
    message: (member: string, rule: string) => `Invalid parameter at '${member}' failed to satisfy constraint: '${rule}'`,
  },
  InvalidTagParameterException: {
    message: (rule: TagRule, where: string) => {
      switch (rule) {
        case 'key-length': return `Tag key at ${where} must be 1 to 128 characters`;
        case 'reserved-prefix': return `Tag key '${where}' uses the reserved prefix 'aws:'`;
        case 'value-length': return `Tag value for key '${where}' must be at most 256 characters`;
        case 'characters': return `Tag at ${where} may contain only letters, digits, spaces and '_ . : / = + - @' in its key and value`;
      }
    },
  },
  LayerAlreadyExistsException: {
    message: (digest: string, repositoryName: string, registryId: string) =>
      `The layer with digest '${digest}' already exists in the repository with name '${repositoryName}' in registry with id '${registryId}'`,
  },
  LayerPartTooSmallException: {
    message: (part: number, where: UploadWhere, size: number) =>
      `Layer parts must be at least 5 MiB in size; part ${part} of ${uploadWhere(where)} is ${size} bytes`,
  },
  LayersNotFoundException: {
    message: (digests: readonly string[], repositoryName: string, registryId: string) =>
      `The layers with digests [${digests.join(', ')}] do not exist within the repository with name '${repositoryName}' in the registry with id '${registryId}'`,
  },
  LimitExceededException: {
    message: (limit: Limit, max: number, registryId?: string) => {
      switch (limit) {
        case 'repositories': return `The registry with id '${registryId}' already has the maximum of ${max} repositories`;
        case 'parts': return `An upload can have at most ${max} parts`;
        case 'layer-bytes': return `A layer can be at most ${max} bytes`;
      }
    },
  },
  ReferencedImagesNotFoundException: {
    message: (digests: readonly string[], repositoryName: string) =>
      `Images with digests [${digests.join(', ')}] required for pushing the manifest list into repository '${repositoryName}' do not exist`,
  },
  RegistryNotFoundException: {
    message: (registryId: string) => `The registry with id '${registryId}' does not exist`,
  },
  RepositoryAlreadyExistsException: {
    message: (repositoryName: string, registryId: string) =>
      `The repository with name '${repositoryName}' already exists in the registry with id '${registryId}'`,
  },
  RepositoryCatalogDataNotFoundException: {
    message: (repositoryName: string, registryId: string) =>
      `The repository with name '${repositoryName}' in registry with id '${registryId}' has no catalog data`,
  },
  RepositoryNotEmptyException: {
    message: (repositoryName: string, registryId: string, imageCount: number) =>
      `The repository with name '${repositoryName}' in registry with id '${registryId}' cannot be deleted because it still contains ${imageCount} image(s); delete the images first or force the deletion with the force parameter`,
  },
  RepositoryNotFoundException: {
    message: (repositoryName: string, registryId: string) =>
      `The repository with name '${repositoryName}' does not exist in the registry with id '${registryId}'`,
  },
  RepositoryPolicyNotFoundException: {
    message: (repositoryName: string, registryId: string) =>
      `Repository policy does not exist for the repository with name '${repositoryName}' in the registry with id '${registryId}'`,
  },
  ServerException: {
    status: 500,
    message: (cause: 'injected' | Error) => cause === 'injected'
      ? 'The emulator injected a server-side fault'
      : `Internal error: ${cause.message}`,
  },
  UploadNotFoundException: {
    message: (uploadId: string, repositoryName: string, registryId: string) =>
      `The upload with id '${uploadId}' does not exist in the repository with name '${repositoryName}' in registry with id '${registryId}'`,
  },
  TooManyTagsException: {
    message: (max: number, wouldHave: number) => `A repository can have at most ${max} tags; this request would leave ${wouldHave}`,
  },

  // --- the common AWS errors of the awsJson protocol ---
  /** IAM's refusal, in IAM's words (`iam/evaluate.ts` writes them). */
  AccessDeniedException: { message: (iamMessage: string) => iamMessage },
  IncompleteSignatureException: {
    message: (why?: string) => why ?? 'The Authorization header must carry a SigV4 credential scope',
  },
  /** A signature that does not verify (`iam/sigv4.ts` says why, in the service's words). */
  InvalidSignatureException: { status: 403, message: (why: string) => why },
  /** Not a modelled error: the front end's answer to a body of undeclared length. */
  LengthRequiredException: {
    status: 411,
    message: () => 'The ECR Public API needs a Content-Length: request bodies of undeclared length are not accepted',
  },
  MissingAuthenticationTokenException: { message: () => 'Missing Authentication Token' },
  /** Not a modelled error: the front end's answer to a body sent slower than its pace (the connection is closed). */
  RequestTimeoutException: {
    status: 408,
    message: (minBytes: number, windowSeconds: number) =>
      `The request body arrived at less than ${minBytes} bytes per ${windowSeconds} s: the connection is closed`,
  },
  /** What could not be read varies (the JSON, a member's type, the body's size): the caller says which. */
  SerializationException: { message: (what: string) => what },
  ThrottlingException: {
    message: (budgetBytes?: number) => budgetBytes === undefined
      ? 'Rate exceeded'
      : `Rate exceeded: the emulator holds at most ${budgetBytes} bytes of request bodies at once; retry later`,
  },
  UnknownOperationException: { message: (target: string) => `Unknown operation '${target}'` },
  /** An access key or session token the emulator does not know (or that has expired). */
  UnrecognizedClientException: { status: 403, message: (why: string) => why },
  UnsupportedCommandException: {
    message: (region: string, served: string) =>
      `The action isn't supported in this Region (${region}); the ECR Public API is served from ${served}`,
  },
} as const satisfies Record<string, EcrErrorSpec>;

/** An error code of the ECR Public API (or a common AWS error) the emulator answers. */
export type EcrErrorCode = keyof typeof ECR_ERRORS;

/** The arguments of a code's message. */
export type EcrErrorArgs<C extends EcrErrorCode> = Parameters<(typeof ECR_ERRORS)[C]['message']>;

/** An error answered to the client as `{"__type": code, "message": message, ...extra}`. */
export class EcrPublicError extends Error {
  public readonly status: number;

  constructor(
    public readonly code: EcrErrorCode,
    message: string,
    /** Extra modelled members of the error shape (only InvalidLayerPartException has some). @default - none */
    public readonly extra: Record<string, unknown> = {},
  ) {
    super(message);
    this.name = code;
    this.status = (ECR_ERRORS[code] as EcrErrorSpec).status ?? 400;
  }
}

/** The error of `code`, in the table's wording. */
export function ecrError<C extends EcrErrorCode>(code: C, ...args: EcrErrorArgs<C>): EcrPublicError {
  return new EcrPublicError(code, ecrMessage(code, ...args));
}

/** The table's wording of `code` (for an error class that carries more than {@link EcrPublicError}). */
export function ecrMessage<C extends EcrErrorCode>(code: C, ...args: EcrErrorArgs<C>): string {
  return (ECR_ERRORS[code] as EcrErrorSpec).message(...args);
}

/** `InvalidParameterException` in the service's constraint-violation wording. */
export function invalidParameter(member: string, rule: string): EcrPublicError {
  return ecrError('InvalidParameterException', member, rule);
}

export function repositoryNotFound(name: string, registryId: string): EcrPublicError {
  return ecrError('RepositoryNotFoundException', name, registryId);
}

export function serializationError(message: string): EcrPublicError {
  return ecrError('SerializationException', message);
}

/** Runs `fn`, turning the store's neutral errors into the service's (a manifest the store refuses is InvalidParameter). */
export function withStoreErrors<T>(fn: () => T): T {
  try {
    return fn();
  } catch (err) {
    throw err instanceof InvalidManifestError ? invalidParameter(err.member, err.rule) : err;
  }
}
