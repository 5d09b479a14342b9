/**
 * The error shapes of the ECR Public API, plus the common AWS errors the emulator emits by name.
 * One class carries them all; the API's endpoint (`endpoint.ts`) is the only place that serialises them.
 */

/** HTTP status per error code: every modelled client error is 400, the model's only server fault is 500. */
const STATUS: Record<string, number> = {
  ServerException: 500,
  // Not modelled errors: the front end's answers to a body of undeclared length, and to one sent too slowly.
  LengthRequiredException: 411,
  RequestTimeoutException: 408,
};

/** An error answered to the client as `{"__type": code, "message": message, ...extra}`. */
export class EcrPublicError extends Error {
  public readonly status: number;

  constructor(
    public readonly code: string,
    message: string,
    /** Extra modelled members of the error shape (only InvalidLayerPartException has some). */
    public readonly extra: Record<string, unknown> = {},
  ) {
    super(message);
    this.name = code;
    this.status = STATUS[code] ?? 400;
  }
}

/** `InvalidParameterException` in the service's constraint-violation wording. */
export function invalidParameter(member: string, rule: string): EcrPublicError {
  return new EcrPublicError('InvalidParameterException', `Invalid parameter at '${member}' failed to satisfy constraint: '${rule}'`);
}

export function repositoryNotFound(name: string, registryId: string): EcrPublicError {
  return new EcrPublicError('RepositoryNotFoundException',
    `The repository with name '${name}' does not exist in the registry with id '${registryId}'`);
}

export function serializationError(message: string): EcrPublicError {
  return new EcrPublicError('SerializationException', message);
}
