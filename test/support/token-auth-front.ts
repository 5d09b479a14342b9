/**
 * A token-auth front for a registry on loopback, as Docker Hub, ghcr.io and public.ecr.aws behave: without a valid
 * bearer token every `/v2/` request gets 401 and `WWW-Authenticate: Bearer realm="http://127.0.0.1:P/token",
 * service="test",scope="..."`; `GET /token` hands out the token (only for Basic credentials, when asked); authorised
 * requests are forwarded to the (anonymous) registry behind it.
 *
 * For the client's failure paths it can also answer chosen requests with an error status, cut a blob body off
 * mid-way, and redirect blob downloads to a "storage" server on another origin (as private ECR redirects to S3), which
 * refuses requests that carry an `Authorization` header (as S3 does for pre-signed URLs).
 */
import { randomBytes } from 'node:crypto';
import { createServer, IncomingMessage, request, Server, ServerResponse } from 'node:http';
import { AddressInfo } from 'node:net';

export interface TokenFrontOptions {
  /** The registry behind the front: `http://127.0.0.1:PORT`, anonymous. */
  readonly upstream: string;
  /** Basic credentials the token endpoint requires. */
  readonly tokenCredentials?: { readonly username: string; readonly password: string };
  /** Answer blob GETs with a 307 to the storage server. */
  readonly redirectBlobs?: boolean;
}

/** A request the front (or its storage server) received. */
export interface SeenRequest {
  readonly method: string;
  readonly path: string;
  readonly authorization?: string;
  readonly range?: string;
  /** The status answered. */
  status?: number;
}

export interface TokenFront {
  /** `127.0.0.1:PORT`: the registry to name in image references. */
  readonly host: string;
  /** The token handed out. */
  readonly token: string;
  /** `/v2/...` requests, in order. */
  readonly requests: SeenRequest[];
  /** `/token` requests: their query and Authorization header. */
  readonly tokenRequests: Array<{ query: Record<string, string>; authorization?: string }>;
  /** Requests of the storage server (redirected blob downloads). */
  readonly storageRequests: SeenRequest[];
  /** The next `times` requests whose path matches `match` are answered `status` with `headers` (and an error body). */
  failNext(match: RegExp, status: number, headers?: Record<string, string>, times?: number): void;
  /** The next GET whose path matches `match` has its body cut off (the connection destroyed) after `afterBytes` bytes. */
  cutNext(match: RegExp, afterBytes: number): void;
  stop(): Promise<void>;
}

function listen(server: Server): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve((server.address() as AddressInfo).port));
  });
}

function close(server: Server): Promise<void> {
  server.closeAllConnections();
  return new Promise((resolve) => server.close(() => resolve()));
}

export async function startTokenAuthFront(options: TokenFrontOptions): Promise<TokenFront> {
  const token = randomBytes(16).toString('hex');
  const requests: SeenRequest[] = [];
  const tokenRequests: TokenFront['tokenRequests'] = [];
  const storageRequests: SeenRequest[] = [];
  const failures: Array<{ match: RegExp; status: number; headers: Record<string, string>; times: number }> = [];
  const cuts: Array<{ match: RegExp; afterBytes: number }> = [];
  const upstream = new URL(options.upstream);

  /** Forwards `req` to the registry, without its Authorization; cuts the body off when `cutAfter` is set. */
  const forward = (req: IncomingMessage, res: ServerResponse, path: string, seen: SeenRequest, cutAfter?: number): void => {
    const headers = { ...req.headers, host: upstream.host };
    delete headers.authorization;
    const out = request({ host: upstream.hostname, port: upstream.port, method: req.method, path, headers }, (up) => {
      seen.status = up.statusCode;
      res.writeHead(up.statusCode ?? 502, up.headers);
      if (cutAfter === undefined) {
        up.pipe(res);
        return;
      }
      let sent = 0;
      up.on('data', (chunk: Buffer) => {
        if (sent + chunk.length <= cutAfter) {
          res.write(chunk);
          sent += chunk.length;
          return;
        }
        res.write(chunk.subarray(0, cutAfter - sent), () => res.socket?.destroy());
        sent = cutAfter;
        up.destroy();
      });
      up.on('end', () => res.end());
    });
    out.on('error', () => res.destroy());
    req.pipe(out);
  };

  const storage = createServer((req, res) => {
    const seen: SeenRequest = { method: req.method ?? '', path: req.url ?? '', authorization: req.headers.authorization, range: req.headers.range };
    storageRequests.push(seen);
    // S3 refuses a pre-signed request that also carries an Authorization header.
    if (req.headers.authorization) {
      seen.status = 400;
      res.writeHead(400, { 'content-type': 'application/xml' }).end('<Error><Code>InvalidArgument</Code><Message>Only one auth mechanism allowed</Message></Error>');
      return;
    }
    const original = new URL(req.url ?? '/', 'http://storage').searchParams.get('path') ?? '/';
    forward(req, res, original, seen);
  });
  const storagePort = await listen(storage);

  const front = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://front');
    if (url.pathname === '/token') {
      const query = Object.fromEntries(url.searchParams.entries());
      tokenRequests.push({ query, authorization: req.headers.authorization });
      const wanted = options.tokenCredentials;
      const basic = wanted ? `Basic ${Buffer.from(`${wanted.username}:${wanted.password}`).toString('base64')}` : undefined;
      if (query.service !== 'test' || (basic !== undefined && req.headers.authorization !== basic)) {
        res.writeHead(401, { 'content-type': 'application/json' })
          .end(JSON.stringify({ errors: [{ code: 'UNAUTHORIZED', message: 'authentication required', detail: null }] }));
        return;
      }
      res.writeHead(200, { 'content-type': 'application/json' })
        .end(JSON.stringify({ token, expires_in: 300, issued_at: new Date().toISOString() }));
      return;
    }
    const seen: SeenRequest = { method: req.method ?? '', path: url.pathname, authorization: req.headers.authorization, range: req.headers.range };
    requests.push(seen);
    const failure = failures.find((f) => f.match.test(url.pathname));
    if (failure) {
      if (--failure.times <= 0) failures.splice(failures.indexOf(failure), 1);
      seen.status = failure.status;
      res.writeHead(failure.status, { 'content-type': 'application/json', ...failure.headers })
        .end(JSON.stringify({ errors: [{ code: failure.status === 429 ? 'TOOMANYREQUESTS' : 'UNAVAILABLE', message: 'injected' }] }));
      return;
    }
    if (req.headers.authorization !== `Bearer ${token}`) {
      const name = /^\/v2\/(.+)\/(?:manifests|blobs|tags)\//.exec(url.pathname)?.[1];
      const port = (front.address() as AddressInfo).port;
      seen.status = 401;
      res.writeHead(401, {
        'content-type': 'application/json',
        'www-authenticate': `Bearer realm="http://127.0.0.1:${port}/token",service="test"${name ? `,scope="repository:${name}:pull"` : ''}`,
      }).end(JSON.stringify({ errors: [{ code: 'UNAUTHORIZED', message: 'authentication required', detail: null }] }));
      return;
    }
    if (options.redirectBlobs && req.method === 'GET' && /\/blobs\/sha256:/.test(url.pathname)) {
      seen.status = 307;
      const target = `http://127.0.0.1:${storagePort}/storage?path=${encodeURIComponent(url.pathname)}&X-Amz-Signature=fake`;
      res.writeHead(307, { location: target }).end();
      return;
    }
    const cut = req.method === 'GET' ? cuts.find((c) => c.match.test(url.pathname)) : undefined;
    if (cut) cuts.splice(cuts.indexOf(cut), 1);
    forward(req, res, req.url ?? '/', seen, cut?.afterBytes);
  });
  const port = await listen(front);

  return {
    host: `127.0.0.1:${port}`,
    token,
    requests,
    tokenRequests,
    storageRequests,
    failNext: (match, status, headers = {}, times = 1) => {
      failures.push({ match, status, headers, times });
    },
    cutNext: (match, afterBytes) => {
      cuts.push({ match, afterBytes });
    },
    stop: async () => {
      await close(front);
      await close(storage);
    },
  };
}
