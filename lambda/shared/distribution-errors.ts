/**
 * Failures of the registry pull API, named by the registry's own error code (`MANIFEST_UNKNOWN`, `UNAUTHORIZED`,
 * `BLOB_UNKNOWN`, ...), so that a failure reason starts with what the registry said, as API errors start with theirs.
 */

/** An error answer of a registry, or a registry that could not be reached. */
export class SourceRegistryError extends Error {
  constructor(
    /** The registry's error code, or `HTTP_<status>` when it gave none, or `RegistryUnreachable`. */
    code: string,
    message: string,
    /** The HTTP status, when there was an answer. */
    public readonly status?: number,
  ) {
    super(message);
    this.name = code;
  }
}

/** An answer larger than any good one can be (a manifest, a config, a referrers list), stopped where it passed `max`. */
export class RegistryAnswerTooLarge extends SourceRegistryError {
  constructor(what: string, max: number) {
    super('RegistryAnswerTooLarge', `${what} is larger than ${max} bytes`);
  }
}

/** The error body distribution registries send: `{"errors": [{"code", "message", "detail"}]}`. */
interface ErrorBody {
  readonly errors?: ReadonlyArray<{ readonly code?: unknown; readonly message?: unknown; readonly detail?: unknown }>;
}

/**
 * The error for an answer of `status` with `body` (at most a few KiB of it), while doing `what`
 * (`GET ghcr.io/acme/tool manifest 2.1`).
 */
export function sourceRegistryError(status: number, body: string, what: string): SourceRegistryError {
  let code = `HTTP_${status}`;
  let detail = '';
  try {
    const parsed = JSON.parse(body) as ErrorBody;
    const first = parsed.errors?.[0];
    if (first && typeof first.code === 'string' && /^[A-Z_]+$/.test(first.code)) code = first.code;
    const messages = (parsed.errors ?? [])
      .map((e) => [e.message, e.detail === undefined || e.detail === null ? undefined : JSON.stringify(e.detail)]
        .filter((x) => typeof x === 'string' && x.length > 0).join(' '))
      .filter((m) => m.length > 0);
    detail = messages.join('; ');
  } catch {
    detail = body.replace(/\s+/g, ' ').trim().slice(0, 300);
  }
  return new SourceRegistryError(code, `${what}: ${detail ? `${detail} ` : ''}(HTTP ${status})`, status);
}
