/**
 * A client of the registry pull API (OCI distribution spec) for one repository: the `GET /v2/` ping, authentication
 * from the registry's `WWW-Authenticate` challenge (the bearer-token flow, or HTTP Basic), authorised GETs with retries
 * (network errors, 429, 5xx, honouring `Retry-After`) and redirects (followed by hand: `Authorization` never goes to
 * another origin, such as the S3 pre-signed URL a private ECR blob redirects to).
 */
import { RegistryAnswerTooLarge, SourceRegistryError, sourceRegistryError } from './distribution-errors';
import { describe, withContext } from './errors';
import { log } from './log';
import { retry } from './retry';
import { Challenge, parseChallenges } from './www-authenticate';
import { formatImageReference, ImageReference } from '../../src/shared/image-reference';

/** A user name and password for HTTP Basic auth (to the registry, or to its token endpoint). */
export interface RegistryCredentials {
  readonly username: string;
  readonly password: string;
}

/** Docker Hub's registry answers as `registry-1.docker.io`. */
const DOCKER_HUB = 'docker.io';
const DOCKER_HUB_ENDPOINT = 'registry-1.docker.io';
const USER_AGENT = 'cdk-ecr-public-image-publisher';
const MAX_REDIRECTS = 5;
/** Bytes of an error answer kept for the message. */
const MAX_ERROR_BODY = 16 * 1024;
const RETRYABLE_STATUS = new Set([429, 500, 502, 503, 504]);
/** Tokens without `expires_in` last 60 s (the token spec); a token this close to expiry is renewed first. */
const DEFAULT_TOKEN_SECONDS = 60;
const TOKEN_MARGIN_MS = 10_000;

/** How the client behaves; the defaults suit a Lambda function. */
export interface RegistryClientOptions {
  /** For Basic auth, to the registry or to its token endpoint. */
  readonly credentials?: RegistryCredentials;
  /** Attempts of a request that meets a network error, 429 or 5xx. */
  readonly attempts?: number;
  /** First back-off; it doubles at each attempt. */
  readonly retryBaseMs?: number;
  /** Longest wait a `Retry-After` may ask for. */
  readonly maxRetryAfterMs?: number;
  /** How long to wait for the answer's headers. */
  readonly headersTimeoutMs?: number;
}

/** A GET answered with 2xx; `abort` ends the body early (an idle stream, or a reader that gave up). */
export interface OpenResponse {
  readonly response: Response;
  readonly abort: (reason: Error) => void;
}

/** Options of one GET. */
export interface GetOptions {
  /** The `Accept` header. */
  readonly accept?: string;
  /** Ask for the bytes from this offset on (`Range: bytes=<offset>-`). */
  readonly rangeStart?: number;
  /** What is being done, for messages: `manifest 2.1`, `blob sha256:...`. */
  readonly what: string;
}

type Auth =
  | { readonly kind: 'none' }
  | { readonly kind: 'basic'; readonly header: string }
  | { readonly kind: 'bearer'; readonly challenge: Challenge; header: string; expiresAt: number };

/** `https://<registry>`, or `http://` for a registry on loopback (which only tests have). */
export function registryOrigin(registry: string): string {
  const host = registry === DOCKER_HUB || registry === 'index.docker.io' ? DOCKER_HUB_ENDPOINT : registry;
  const hostname = host.startsWith('[') ? host.slice(0, host.indexOf(']') + 1) : host.replace(/:\d+$/, '');
  const loopback = hostname === 'localhost' || hostname === '[::1]' || /^127\.\d+\.\d+\.\d+$/.test(hostname);
  return `${loopback ? 'http' : 'https'}://${host}`;
}

export class RegistryClient {
  /** Connects to the repository of `reference`: pings the registry and authenticates as its challenge asks. */
  public static async connect(reference: ImageReference, options: RegistryClientOptions = {}): Promise<RegistryClient> {
    const client = new RegistryClient(reference, options);
    await client.ping();
    return client;
  }

  /** `https://ghcr.io`. */
  public readonly origin: string;
  /** The repository path, `acme/tool`. */
  public readonly repository: string;
  /** `ghcr.io/acme/tool`, for messages. */
  public readonly name: string;
  private auth: Auth = { kind: 'none' };
  private renewing?: Promise<void>;
  private readonly attempts: number;
  private readonly retryBaseMs: number;
  private readonly maxRetryAfterMs: number;
  private readonly headersTimeoutMs: number;

  private constructor(reference: ImageReference, private readonly options: RegistryClientOptions) {
    this.origin = registryOrigin(reference.registry);
    this.repository = reference.repository;
    this.name = formatImageReference({ registry: reference.registry, repository: reference.repository });
    this.attempts = options.attempts ?? 5;
    this.retryBaseMs = options.retryBaseMs ?? 500;
    this.maxRetryAfterMs = options.maxRetryAfterMs ?? 30_000;
    this.headersTimeoutMs = options.headersTimeoutMs ?? 30_000;
  }

  /** How the client authenticates now: `none`, `basic` or `bearer`. */
  public get authKind(): string {
    return this.auth.kind;
  }

  /**
   * GET `/v2/<repository>/<path>` with the client's authentication; a 401 renews it from the answer's challenge and
   * tries once more. Resolves with a 2xx answer (206 too); anything else is a SourceRegistryError with the registry's code.
   */
  public async get(path: string, options: GetOptions): Promise<OpenResponse> {
    const url = `${this.origin}/v2/${this.repository}/${path}`;
    const what = `GET ${this.name} ${options.what}`;
    const headers: Record<string, string> = {};
    if (options.accept) headers.accept = options.accept;
    if (options.rangeStart !== undefined && options.rangeStart > 0) headers.range = `bytes=${options.rangeStart}-`;
    await this.renewIfExpiring();
    let open = await this.fetchWithRetries(url, headers, what);
    if (open.response.status === 401) {
      const challenges = parseChallenges(open.response.headers.get('www-authenticate'));
      await drain(open.response);
      await this.authenticate(challenges, what);
      open = await this.fetchWithRetries(url, headers, what);
    }
    if (open.response.ok) return open;
    const body = await readText(open.response);
    const err = sourceRegistryError(open.response.status, body, what);
    if (open.response.status === 401 || open.response.status === 403) {
      err.message += this.options.credentials
        ? ': the credentials were refused'
        : ': the registry wants credentials (give the image source credentials)';
    }
    throw err;
  }

  /** `GET /v2/`: 200 needs no authentication; 401 carries the challenge to answer. */
  private async ping(): Promise<void> {
    const url = `${this.origin}/v2/`;
    const what = `GET ${url}`;
    const { response } = await this.fetchWithRetries(url, {}, what);
    const body = await readText(response);
    if (response.ok) {
      log({ registry: this.origin, repository: this.repository, auth: 'none' });
      return;
    }
    if (response.status !== 401) {
      const err = sourceRegistryError(response.status, body, what);
      err.message += response.status === 404 ? ': this host does not serve the registry API' : '';
      throw err;
    }
    await this.authenticate(parseChallenges(response.headers.get('www-authenticate')), what);
  }

  /** Answers `challenges`: a token from the realm for Bearer, the credentials for Basic. */
  private async authenticate(challenges: Challenge[], what: string): Promise<void> {
    const bearer = challenges.find((c) => c.scheme === 'bearer' && c.params.realm);
    const basic = challenges.find((c) => c.scheme === 'basic');
    const { credentials } = this.options;
    if (bearer) {
      const auth: Auth = { kind: 'bearer', challenge: bearer, header: '', expiresAt: 0 };
      await this.fetchToken(auth);
      this.auth = auth;
    } else if (basic) {
      if (!credentials) {
        throw new SourceRegistryError('UNAUTHORIZED', `${what}: the registry asks for Basic credentials (realm ${JSON.stringify(basic.params.realm ?? '')}) `
          + 'and none were given: give the image source credentials', 401);
      }
      if (this.auth.kind === 'basic') {
        throw new SourceRegistryError('UNAUTHORIZED', `${what}: the registry refused the credentials`, 401);
      }
      this.auth = { kind: 'basic', header: basicHeader(credentials) };
    } else {
      throw new SourceRegistryError('UNAUTHORIZED', `${what}: the registry answered 401 without a Bearer or Basic challenge `
        + `(WWW-Authenticate: ${JSON.stringify(challenges.map((c) => c.scheme))})`, 401);
    }
    log({ registry: this.origin, repository: this.repository, auth: this.auth.kind, credentials: credentials !== undefined });
  }

  /** Renews a bearer token that is about to expire (once, however many requests wait for it). */
  private async renewIfExpiring(): Promise<void> {
    const auth = this.auth;
    if (auth.kind !== 'bearer' || Date.now() < auth.expiresAt - TOKEN_MARGIN_MS) return;
    this.renewing ??= this.fetchToken(auth).finally(() => {
      this.renewing = undefined;
    });
    await this.renewing;
  }

  /**
   * The token flow: `GET <realm>?service=<service>&scope=repository:<name>:pull`, with Basic credentials when there
   * are some; the answer's `token` (or `access_token`) is the bearer token.
   */
  private async fetchToken(auth: Extract<Auth, { kind: 'bearer' }>): Promise<void> {
    const { realm, service } = auth.challenge.params;
    let url: URL;
    try {
      url = new URL(realm);
      if (url.protocol !== 'https:' && url.protocol !== 'http:') throw new Error('not http(s)');
    } catch {
      throw new SourceRegistryError('UNAUTHORIZED', `${this.name}: the registry's token realm ${JSON.stringify(realm)} is not an http(s) URL`, 401);
    }
    if (service) url.searchParams.set('service', service);
    url.searchParams.set('scope', `repository:${this.repository}:pull`);
    const headers: Record<string, string> = { 'user-agent': USER_AGENT };
    const { credentials } = this.options;
    if (credentials) {
      url.searchParams.set('account', credentials.username);
      headers.authorization = basicHeader(credentials);
    }
    const what = `GET token for ${this.name} from ${url.origin}${url.pathname}`;
    const { response } = await this.retrying(what, () => this.fetchOnce(url.toString(), headers));
    const body = await readText(response);
    if (!response.ok) {
      const err = sourceRegistryError(response.status, body, what);
      if (response.status === 401 || response.status === 403) {
        err.name = err.name.startsWith('HTTP_') ? 'UNAUTHORIZED' : err.name;
        err.message += credentials ? ': the credentials were refused' : ': the registry wants credentials (give the image source credentials)';
      }
      throw err;
    }
    let parsed: { token?: unknown; access_token?: unknown; expires_in?: unknown; issued_at?: unknown };
    try {
      parsed = JSON.parse(body);
    } catch {
      throw new SourceRegistryError('UNAUTHORIZED', `${what}: the answer is not JSON`, response.status);
    }
    const token = typeof parsed.token === 'string' && parsed.token ? parsed.token
      : typeof parsed.access_token === 'string' && parsed.access_token ? parsed.access_token : undefined;
    if (!token) throw new SourceRegistryError('UNAUTHORIZED', `${what}: the answer has no token`, response.status);
    const seconds = typeof parsed.expires_in === 'number' && parsed.expires_in > DEFAULT_TOKEN_SECONDS ? parsed.expires_in : DEFAULT_TOKEN_SECONDS;
    const issued = typeof parsed.issued_at === 'string' ? Date.parse(parsed.issued_at) : NaN;
    // A registry clock ahead of ours must not make the token look newer than it is.
    const start = Number.isFinite(issued) ? Math.min(issued, Date.now()) : Date.now();
    auth.header = `Bearer ${token}`;
    auth.expiresAt = start + seconds * 1000;
  }

  /** One request with retries, following redirects; resolves with the final answer whatever its status. */
  private async fetchWithRetries(url: string, headers: Record<string, string>, what: string): Promise<OpenResponse> {
    return this.retrying(what, () => this.fetchFollowing(url, headers, what));
  }

  /** Runs `attempt` until it gives an answer that is not 429 or 5xx, or the attempts are spent. */
  private async retrying(what: string, attempt: () => Promise<OpenResponse>): Promise<OpenResponse> {
    const { outcome, attempts, exhausted } = await retry<OpenResponse>({
      attempts: this.attempts,
      baseMs: this.retryBaseMs,
      jitter: true,
      // A SourceRegistryError is an answer the client judged (a redirect without a Location): asking again changes nothing.
      retryable: (o) => (o.ok ? RETRYABLE_STATUS.has(o.value.response.status) : !(o.error instanceof SourceRegistryError)),
      waitMs: (o) => (o.ok ? this.retryAfter(o.value.response) : undefined),
      beforeRetry: async (o, n, wait) => {
        const status = o.ok ? o.value.response.status : undefined;
        const error = o.ok ? undefined : describe(o.error);
        log({ registryRetry: what, attempt: n, status, error, waitMs: wait });
        if (o.ok) await drain(o.value.response);
      },
    }, attempt);
    if (outcome.ok) return outcome.value;
    if (!exhausted) throw outcome.error;
    throw new SourceRegistryError('RegistryUnreachable', `${what}: ${describe(outcome.error)} (after ${attempts} attempts)`);
  }

  /** The wait a 429 or 503 asks for (`Retry-After` in seconds or as a date), capped. */
  private retryAfter(response: Response): number | undefined {
    const value = response.headers.get('retry-after');
    if (!value) return undefined;
    const seconds = Number(value);
    const ms = Number.isFinite(seconds) ? seconds * 1000 : Date.parse(value) - Date.now();
    if (!Number.isFinite(ms)) return undefined;
    return Math.min(Math.max(0, ms), this.maxRetryAfterMs);
  }

  /** GET `url`, following redirects by hand: `Authorization` goes only to the registry's own origin. */
  private async fetchFollowing(url: string, headers: Record<string, string>, what: string): Promise<OpenResponse> {
    let current = url;
    for (let redirects = 0; ; redirects++) {
      const sameOrigin = new URL(current).origin === this.origin;
      const auth: Record<string, string> = this.auth.kind === 'none' || !sameOrigin ? {} : { authorization: this.auth.header };
      const open = await this.fetchOnce(current, { 'user-agent': USER_AGENT, ...headers, ...auth });
      const { status } = open.response;
      if (![301, 302, 303, 307, 308].includes(status)) return open;
      const location = open.response.headers.get('location');
      await drain(open.response);
      if (!location) throw new SourceRegistryError(`HTTP_${status}`, `${what}: a redirect without a Location`, status);
      if (redirects >= MAX_REDIRECTS) throw new SourceRegistryError(`HTTP_${status}`, `${what}: more than ${MAX_REDIRECTS} redirects`, status);
      current = new URL(location, current).toString();
    }
  }

  /** One GET; the headers must arrive within the timeout, the body is the caller's to read or abort. */
  private async fetchOnce(url: string, headers: Record<string, string>): Promise<OpenResponse> {
    const controller = new AbortController();
    const timer = setTimeout(() => controller.abort(new Error(`no answer within ${this.headersTimeoutMs / 1000} s`)), this.headersTimeoutMs);
    try {
      const response = await fetch(url, { headers, redirect: 'manual', signal: controller.signal });
      return { response, abort: (reason) => controller.abort(reason) };
    } finally {
      clearTimeout(timer);
    }
  }
}

function basicHeader(credentials: RegistryCredentials): string {
  return `Basic ${Buffer.from(`${credentials.username}:${credentials.password}`, 'utf8').toString('base64')}`;
}

/** The whole body of a small answer (a manifest, a config): more than `max` bytes is an error. */
export async function readLimited(response: Response, abort: (reason: Error) => void, max: number, what: string): Promise<Buffer> {
  const tooLarge = () => new RegistryAnswerTooLarge(what, max);
  const declared = Number(response.headers.get('content-length') ?? NaN);
  if (declared > max) {
    abort(tooLarge());
    throw tooLarge();
  }
  const chunks: Buffer[] = [];
  let size = 0;
  try {
    for await (const chunk of (response.body ?? []) as AsyncIterable<Uint8Array>) {
      size += chunk.length;
      if (size > max) {
        abort(tooLarge());
        throw tooLarge();
      }
      chunks.push(Buffer.from(chunk));
    }
  } catch (err) {
    throw err instanceof RegistryAnswerTooLarge ? err : withContext(err, `reading ${what}`);
  }
  return Buffer.concat(chunks);
}

/** The beginning of an answer's body, as text (for error messages). */
async function readText(response: Response): Promise<string> {
  if (!response.body) return '';
  const chunks: Buffer[] = [];
  let size = 0;
  try {
    for await (const chunk of response.body as unknown as AsyncIterable<Uint8Array>) {
      chunks.push(Buffer.from(chunk));
      size += chunk.length;
      if (size >= MAX_ERROR_BODY) break;
    }
  } catch {
    // A body that breaks off leaves what arrived.
  }
  return Buffer.concat(chunks).subarray(0, MAX_ERROR_BODY).toString('utf8');
}

/** Releases an answer whose body is not wanted. */
async function drain(response: Response): Promise<void> {
  try {
    await response.body?.cancel();
  } catch {
    // Already closed.
  }
}
