/**
 * The OCI distribution API (`/v2/...`): one route table, method and path to handler, as distribution's
 * `api/v2/descriptors.go` and its dispatchers. Pulls (`pulls.ts`) are anonymous; pushes (`pushes.ts`) need
 * credentials, checked here before anything else. Every error a handler throws is answered here, in one shape.
 */
import { IncomingMessage, ServerResponse } from 'http';
import { ClientGone, discardBody } from '../http';
import { requirePushCredentials } from './credentials';
import { fromServiceError, RegistryError } from './errors';
import { getBlob, getManifest, listTags, ping } from './pulls';
import {
  deleteUpload, getUpload, patchUpload, postUpload, putManifest, putUpload, refuseOnBlob, refuseOnManifest, refuseOnUpload,
  unsupported,
} from './pushes';
import { sendRegistryError } from './responses';
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
  /** Every request to an upload URL is a push, a GET (the upload's state) included. @default false */
  readonly uploads?: boolean;
  /** What any other method is answered. @default - 405 UNSUPPORTED naming the method and the path */
  readonly otherwise?: Handler;
}

/** In order: the first pattern that matches is the route (upload URLs before blobs, which they also match). */
const ROUTES: readonly Route[] = [
  { pattern: /^\/v2\/?$/, methods: new Map([['GET', ping]]) },
  { pattern: /^\/v2\/(.+)\/blobs\/uploads\/?$/, uploads: true, methods: new Map([['POST', postUpload]]) },
  {
    pattern: /^\/v2\/(.+)\/blobs\/uploads\/([^/]+)$/,
    uploads: true,
    methods: new Map<string, Handler>([['PATCH', patchUpload], ['PUT', putUpload], ['GET', getUpload], ['DELETE', deleteUpload]]),
    otherwise: refuseOnUpload,
  },
  { pattern: /^\/v2\/(.+)\/tags\/list$/, methods: new Map([['GET', listTags]]) },
  { pattern: /^\/v2\/(.+)\/manifests\/([^/]+)$/, methods: new Map([['GET', getManifest], ['PUT', putManifest]]), otherwise: refuseOnManifest },
  { pattern: /^\/v2\/(.+)\/blobs\/([^/]+)$/, methods: new Map([['GET', getBlob]]), otherwise: refuseOnBlob },
];

/** Whether `pathname` is the registry API's. */
export function isDistributionPath(pathname: string): boolean {
  return pathname === '/v2' || pathname.startsWith('/v2/');
}

export class DistributionEndpoint {
  constructor(private readonly ctx: Context) {}

  public async handle(req: IncomingMessage, res: ServerResponse, url: URL): Promise<void> {
    try {
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
    let params: readonly string[] = [];
    const route = ROUTES.find((r) => {
      const match = r.pattern.exec(path);
      if (match) params = match.slice(1);
      return match !== null;
    });
    // Pushes (every method but GET and HEAD, and every request to an upload URL) show their credentials first.
    if (!read || route?.uploads) requirePushCredentials(this.ctx, req);
    if (!route) {
      if (read) throw new RegistryError('NAME_INVALID', `not a registry API path: ${path}`);
      throw unsupported(`${method} is not supported on ${path}`);
    }
    const handler = route.methods.get(method === 'HEAD' ? 'GET' : method) ?? route.otherwise;
    if (!handler) throw unsupported(`${method} is not supported on ${path}`);
    await handler({ ctx: this.ctx, req, res, url, params });
  }
}
