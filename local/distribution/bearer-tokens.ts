/**
 * Registry authentication as on public.ecr.aws (emulator side, under `serve --iam`): every registry request carries a
 * Bearer token; without one it is answered `401` with `WWW-Authenticate: Bearer realm="http://<host>/token/",
 * service="<host>",scope="..."`, and the client fetches a token from that realm, as the distribution token
 * specification has it: anonymously for pulls (the repositories are public), with Basic `AWS:<password of
 * GetAuthorizationToken>` for pushes. A push scope is granted for a repository only where IAM lets the password's
 * principal start an upload; each push request is decided by IAM again (`routes.ts`). Tokens expire (the clients
 * fetch another); Basic credentials on the registry API itself are refused, as public.ecr.aws refuses them.
 */
import { randomBytes } from 'crypto';
import { IncomingMessage, ServerResponse } from 'http';
import { checkCredentials } from './credentials';
import { RegistryError } from './errors';
import { sendRegistryJson } from './responses';
import { REGISTRY_PUSH_ACTIONS, repositoryArn } from '../iam/actions';
import { authorizeAccess, ResourceFacts } from '../iam/authorizer';
import { PrincipalDirectory } from '../iam/principals';
import { Context } from '../service/context';

/** The token endpoint's path on the emulator's port (public.ecr.aws: `https://public.ecr.aws/token/`). */
export const TOKEN_PATH = '/token/';
/**
 * How long a token lasts. UNVERIFIED for public.ecr.aws: the shortest the token specification allows clients to
 * assume (60 s) would make long pushes renew often; five minutes makes them renew at least once in the tests.
 */
export const TOKEN_SECONDS = 300;
/** Tokens kept at most: the oldest go first (a client whose token went fetches another). */
const MAX_TOKENS = 10_000;

/** What a token allows. */
interface BearerToken {
  readonly expiresAt: number;
  /** The principal of the password the token was fetched with. @default - anonymous: pulls only */
  readonly accessKeyId?: string;
  /** Repositories (`<alias>/<name>`) it may push to, and why it may not push to those it asked for and was refused. */
  readonly push: ReadonlyMap<string, true | string>;
}

/** IAM, for push scopes. */
export interface TokenIam {
  readonly principals: PrincipalDirectory;
  readonly facts: ResourceFacts;
}

export class BearerTokens {
  private readonly tokens = new Map<string, BearerToken>();

  constructor(private readonly ctx: Context, private readonly iam: TokenIam) {}

  /** `GET /token/?service=...&scope=repository:<name>:pull,push`: a token, anonymous or for the password's principal. */
  public issue(req: IncomingMessage, res: ServerResponse, url: URL): void {
    if (req.method !== 'GET' && req.method !== 'HEAD') throw new RegistryError('UNSUPPORTED', `${req.method} is not supported on ${TOKEN_PATH}`);
    const credentials = checkCredentials(this.ctx, req.headers.authorization);
    if (credentials === 'invalid') {
      throw new RegistryError('UNAUTHORIZED', 'the credentials are not a password issued by GetAuthorizationToken to user AWS, or it has expired',
        { 'WWW-Authenticate': `Basic realm="${this.ctx.host}"` });
    }
    const accessKeyId = credentials === 'missing' ? undefined : credentials.accessKeyId;
    const push = new Map<string, true | string>();
    for (const scope of url.searchParams.getAll('scope')) {
      const m = /^repository:(.+):([a-z*,]+)$/.exec(scope);
      // An anonymous token holds no push scope: a push with it asks for credentials (401), as a client expects.
      if (!m || accessKeyId === undefined || !m[2].split(',').some((a) => a === 'push' || a === '*')) continue;
      push.set(m[1], this.pushRefusal(accessKeyId, m[1]) ?? true);
    }
    const now = this.ctx.clock.now();
    const token = randomBytes(32).toString('base64url');
    if (this.tokens.size >= MAX_TOKENS) this.tokens.delete(this.tokens.keys().next().value!);
    this.tokens.set(token, { expiresAt: now + TOKEN_SECONDS, accessKeyId, push });
    sendRegistryJson(res, 200, {
      token, access_token: token, expires_in: TOKEN_SECONDS, issued_at: new Date(now * 1000).toISOString(),
    });
  }

  /** The challenge a request without a good token is answered with, naming the scope it needs. */
  public challenge(repository: string | undefined, push: boolean): string {
    const scope = repository === undefined ? 'aws' : `repository:${repository}:${push ? 'pull,push' : 'pull'}`;
    return `Bearer realm="${this.ctx.baseUrl}${TOKEN_PATH}",service="${this.ctx.host}",scope="${scope}"`;
  }

  /**
   * The token of `req` when it allows the request (a pull, or a push into `repository`): 401 with the challenge
   * without a good one; 403 DENIED when it may not push there. Returns the principal a push is decided as.
   */
  public require(req: IncomingMessage, repository: string | undefined, push: boolean): { accessKeyId?: string } {
    const header = req.headers.authorization ?? '';
    const match = /^Bearer\s+(\S+)\s*$/i.exec(header);
    const token = match ? this.tokens.get(match[1]) : undefined;
    if (token === undefined || this.ctx.clock.now() >= token.expiresAt) {
      if (token !== undefined) this.tokens.delete(match![1]);
      const why = header === '' ? 'authentication required' : match ? 'the token is not one this registry issued, or it has expired'
        : 'the registry API takes Bearer tokens from its token endpoint (the password of GetAuthorizationToken goes there, as Basic credentials)';
      throw new RegistryError('UNAUTHORIZED', why, { 'WWW-Authenticate': this.challenge(repository, push) });
    }
    if (!push) return token;
    const allowed = repository === undefined ? undefined : token.push.get(repository);
    if (allowed === true) return token;
    if (typeof allowed === 'string') throw new RegistryError('DENIED', allowed);
    throw new RegistryError('UNAUTHORIZED', token.accessKeyId === undefined
      ? 'authentication required: pushes need a token fetched with the password of GetAuthorizationToken (user AWS)'
      : `the token does not grant push to ${repository ?? 'this path'}: fetch one with scope repository:${repository}:push`,
    { 'WWW-Authenticate': `${this.challenge(repository, true)},error="insufficient_scope"` });
  }

  /** Why the principal of `accessKeyId` may not push into `repository` (`<alias>/<name>`); undefined when it may start uploads there. */
  private pushRefusal(accessKeyId: string, repository: string): string | undefined {
    const caller = this.iam.principals.callerOf(accessKeyId);
    if (caller === undefined) return 'the principal this password was issued to is not known (any more)';
    const scope = { account: this.ctx.accountId };
    const name = repository.slice(repository.indexOf('/') + 1);
    const refusal = authorizeAccess(caller, scope, this.iam.facts, { actions: [REGISTRY_PUSH_ACTIONS['start-upload']], resource: repositoryArn(scope, name) });
    return refusal?.message;
  }
}
