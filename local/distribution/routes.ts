/**
 * The OCI distribution API (`/v2/...`): one route table, method and path to handler, as distribution's
 * `api/v2/descriptors.go` and its dispatchers. Pulls (`pulls.ts`) are anonymous; pushes (`pushes.ts`) need
 * credentials, checked here before anything else: the password of GetAuthorizationToken as Basic credentials, or
 * under IAM a Bearer token of the registry's token endpoint for every request (`bearer-tokens.ts`, as on
 * public.ecr.aws). Every error a handler throws is answered here, in one shape.
 */
import { IncomingMessage, ServerResponse } from 'http';
import { ClientGone, decodeSegment, discardBody } from '../http';
import { withAllow } from './allow';
import { BearerTokens, TOKEN_PATH } from './bearer-tokens';
import { requirePushCredentials } from './credentials';
import { fromServiceError, RegistryError } from './errors';
import { getBlob, getManifest, listTags, ping } from './pulls';
import {
  deleteUpload, getUpload, patchUpload, postUpload, putManifest, putUpload, refuseOnBlob, refuseOnManifest, refuseOnUpload,
  unsupported,
} from './pushes';
import { getReferrers } from './referrers';
import { sendRegistryError, sendRegistryJson } from './responses';
import { isStandInPath, serveStandIn } from './stand-in';
import { REGISTRY_PUSH_ACTIONS, RegistryPush, repositoryArn } from '../iam/actions';
import { authorizeAccess, ResourceFacts } from '../iam/authorizer';
import { PrincipalDirectory } from '../iam/principals';
import { Context } from '../service/context';
import { EcrPublicError } from '../service/errors';
import { StorageError } from '../store/durable-file';

/** One request to the registry API, with the groups its route's pattern captured. */
export interface RegistryCall {
  readonly ctx: Context;
  readonly req: IncomingMessage;
  readonly res: ServerResponse;
  readonly url: URL;
  /** The route pattern's groups: the repository name (`<alias>/<repositoryName>`), then the reference or upload id. */
  readonly params: readonly string[];
}

type Handler = (call: RegistryCall) => void | Promise<void>;

interface Route {
  readonly pattern: RegExp;
  /** Handlers by method (HEAD is served by the GET handler, which sends no body for it). */
  readonly methods: ReadonlyMap<string, Handler>;
  /** Under IAM, the pushes each method of the route is (what the password's principal must be allowed). @default - none */
  readonly pushes?: ReadonlyMap<string, (url: URL) => readonly RegistryPush[]>;
  /** Every request to an upload URL is a push, a GET (the upload's state) included. @default false */
  readonly uploads?: boolean;
  /** What any other method is answered. @default - 405 UNSUPPORTED naming the method and the path */
  readonly otherwise?: Handler;
}

/** The ping's path (`GET /v2/`). */
const PING = /^\/v2\/?$/;

/** In order: the first pattern that matches is the route (upload URLs before blobs, which they also match). */
const ROUTES: readonly Route[] = [
  { pattern: PING, methods: new Map([['GET', ping]]) },
  {
    pattern: /^\/v2\/(.+)\/blobs\/uploads\/?$/,
    uploads: true,
    methods: new Map([['POST', postUpload]]),
    // With `?digest=` the whole blob comes at once: started, sent and completed.
    pushes: new Map([['POST', (url) => (url.searchParams.has('digest') ? ['start-upload', 'upload-chunk', 'complete-upload'] : ['start-upload'])]]),
  },
  {
    pattern: /^\/v2\/(.+)\/blobs\/uploads\/([^/]+)$/,
    uploads: true,
    methods: new Map<string, Handler>([['PATCH', patchUpload], ['PUT', putUpload], ['GET', getUpload], ['DELETE', deleteUpload]]),
    pushes: new Map<string, () => readonly RegistryPush[]>([
      ['PATCH', () => ['upload-chunk']], ['PUT', () => ['upload-chunk', 'complete-upload']], ['GET', () => ['start-upload']], ['DELETE', () => ['start-upload']],
    ]),
    otherwise: refuseOnUpload,
  },
  { pattern: /^\/v2\/(.+)\/tags\/list$/, methods: new Map([['GET', listTags]]) },
  {
    pattern: /^\/v2\/(.+)\/manifests\/([^/]+)$/,
    methods: new Map([['GET', getManifest], ['PUT', putManifest]]),
    pushes: new Map([['PUT', () => ['put-manifest']]]),
    otherwise: refuseOnManifest,
  },
  { pattern: /^\/v2\/(.+)\/blobs\/([^/]+)$/, methods: new Map([['GET', getBlob]]), otherwise: refuseOnBlob },
  { pattern: /^\/v2\/(.+)\/referrers\/([^/]+)$/, methods: new Map([['GET', getReferrers]]) },
];

/** Whether `pathname` is the registry API's. */
function isDistributionPath(pathname: string): boolean {
  return pathname === '/v2' || pathname.startsWith('/v2/');
}

/** IAM on pushes (`serve --iam`): the principal a password was issued to must be allowed each push. */
export interface DistributionIam {
  readonly principals: PrincipalDirectory;
  readonly facts: ResourceFacts;
}

export class DistributionEndpoint {
  /** Under IAM: the token endpoint, and the tokens every request must carry. */
  private readonly tokens?: BearerTokens;

  /**
   * @param iam pushes decided by IAM, and Bearer tokens required as on public.ecr.aws. @default - pulls anonymous, and
   * any password GetAuthorizationToken issued may push (Basic credentials)
   */
  constructor(private readonly ctx: Context, private readonly iam?: DistributionIam) {
    if (iam) this.tokens = new BearerTokens(ctx, iam);
  }

  /** Whether `pathname` is this endpoint's: the registry API, and under IAM its token endpoint. */
  public serves(pathname: string): boolean {
    return isDistributionPath(pathname) || (this.tokens !== undefined && pathname === TOKEN_PATH);
  }

  public async handle(req: IncomingMessage, res: ServerResponse, url: URL): Promise<void> {
    try {
      if (this.tokens && url.pathname === TOKEN_PATH) return this.tokens.issue(req, res, url);
      await this.route(req, res, url);
    } catch (err) {
      // A client that went away in the middle of its body cannot be answered; its upload is as it was.
      if (err instanceof ClientGone || (req.destroyed && !req.complete)) return;
      const error = err instanceof EcrPublicError ? fromServiceError(err)
        : err instanceof StorageError ? new RegistryError('STORAGE_FAILED', err.message) : err;
      if (!(error instanceof RegistryError)) throw err;
      sendRegistryError(res, error);
      // Answered before the body was read to its end (refused from the headers, or too large): throw the rest away.
      discardBody(req);
    }
  }

  private async route(req: IncomingMessage, res: ServerResponse, url: URL): Promise<void> {
    const path = url.pathname;
    const method = req.method ?? '';
    const read = method === 'GET' || method === 'HEAD';
    if (isStandInPath(this.ctx.accountId, path)) {
      // A client that learnt this host's Bearer challenge (under IAM) comes with a token fetched with the password.
      return serveStandIn({ ctx: this.ctx, req, res, url, params: [] }, this.tokens?.credentialed(req) ?? false);
    }
    let params: readonly string[] = [];
    const route = ROUTES.find((r) => {
      const match = r.pattern.exec(path);
      if (match) params = match.slice(1);
      return match !== null;
    });
    // Pushes (every method but GET and HEAD, and every request to an upload URL) show their credentials first; under
    // IAM every request shows a token, and a push is decided as the principal the token was fetched for.
    const push = !read || route?.uploads === true;
    if (this.tokens) {
      const { accessKeyId } = this.tokens.require(req, params[0], push);
      if (push && route) this.authorizePush(accessKeyId, route.pushes?.get(method)?.(url) ?? [], params[0] ?? '');
      // The ping answers a client that has its token; the Basic challenge of `ping` is not this registry's.
      if (PING.test(path) && read) return sendRegistryJson(res, 200, {});
    } else if (push) {
      requirePushCredentials(this.ctx, req);
    }
    if (!route) {
      if (read) throw new RegistryError('NAME_INVALID', `not a registry API path: ${path}`);
      throw withAllow(unsupported(`${method} is not supported on ${path}`), []);
    }
    const handler = route.methods.get(method === 'HEAD' ? 'GET' : method) ?? route.otherwise;
    if (!handler) throw withAllow(unsupported(`${method} is not supported on ${path}`), route.methods.keys());
    try {
      await handler({ ctx: this.ctx, req, res, url, params });
    } catch (err) {
      throw withAllow(err, route.methods.keys());
    }
  }

  /** Under IAM: `pushes` into the repository `<alias>/<name>` as the principal the password was issued to; DENIED otherwise. */
  private authorizePush(accessKeyId: string | undefined, pushes: readonly RegistryPush[], aliasAndName: string): void {
    const iam = this.iam!;
    const caller = accessKeyId === undefined ? undefined : iam.principals.callerOf(accessKeyId);
    if (caller === undefined) throw new RegistryError('DENIED', 'the principal this password was issued to is not known (any more)');
    const name = decodeSegment(aliasAndName.slice(aliasAndName.indexOf('/') + 1));
    if (name === undefined) throw new RegistryError('NAME_INVALID', `malformed percent-encoding in the repository name '${aliasAndName}'`);
    const scope = { account: this.ctx.accountId };
    for (const push of pushes) {
      const refusal = authorizeAccess(caller, scope, iam.facts, { actions: [REGISTRY_PUSH_ACTIONS[push]], resource: repositoryArn(scope, name) });
      if (refusal) throw new RegistryError('DENIED', refusal.message);
    }
  }
}
