/**
 * The deployer's own HTTP server on 127.0.0.1: CloudFormation's side of the pre-signed response URLs (one URL per
 * request; the handler PUTs its JSON answer there). The handler tests use it too, watching every PUT. The assembly's
 * file assets are served by `asset-server.ts`.
 */
import { createServer, IncomingHttpHeaders, IncomingMessage, Server, ServerResponse } from 'http';
import { AddressInfo, Socket } from 'net';
import { parseJsonData } from './json-data';
import { decodeSegment, discardBody, refuseForeignRequest, sendJson } from '../http';

/** Path prefix of the response URLs: `<endpoint><prefix><request id>`. */
export const RESPONSE_PREFIX = '/_cfn-response/';

/** CloudFormation refuses response bodies of 4096 bytes and more. */
export const MAX_RESPONSE_BYTES = 4096;

/** What arrived on a response URL. */
export interface ReceivedResponse {
  /** The parsed body, or undefined when it was not JSON. */
  readonly body: unknown;
  readonly raw: string;
  readonly bytes: number;
  readonly headers: IncomingHttpHeaders;
}

/**
 * Sees every PUT on a response URL, the first and any later one (which CloudFormation ignores), before it counts:
 * `'drop'` closes the connection unanswered and uncounted, as a network fault would. With an observer, a PUT for a
 * request id not expected is answered as an expected one is (the handler tests deliver events of their own making);
 * without one, it is refused as S3 refuses an unknown pre-signed URL.
 */
export type ResponseObserver = (requestId: string, received: ReceivedResponse) => 'drop' | 'accept';

interface Waiter {
  readonly resolve: (response: ReceivedResponse) => void;
  readonly onFirst?: (response: ReceivedResponse) => void;
  received?: ReceivedResponse;
}

export class DeployerServer {
  /** Starts the server on a free port of 127.0.0.1. */
  public static async start(observer?: ResponseObserver): Promise<DeployerServer> {
    const server = new DeployerServer(observer);
    await new Promise<void>((resolve, reject) => {
      server.server.once('error', reject);
      server.server.listen(0, '127.0.0.1', () => resolve());
    });
    return server;
  }

  private readonly server: Server;
  private readonly sockets = new Set<Socket>();
  private readonly waiters = new Map<string, Waiter>();
  /** Other endpoints served here, by path prefix (Lambda's Invoke, `lambda-invoke-endpoint.ts`). */
  private readonly mounts = new Map<string, (req: IncomingMessage, res: ServerResponse) => void>();

  private constructor(private readonly observer?: ResponseObserver) {
    this.server = createServer((req, res) => this.route(req, res));
    this.server.on('connection', (socket) => {
      this.sockets.add(socket);
      socket.on('close', () => this.sockets.delete(socket));
    });
  }

  /** `http://127.0.0.1:PORT`. */
  public get endpoint(): string {
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  /**
   * A fresh response URL for `requestId`, and a promise of the first response PUT to it. `onFirst` is called with that
   * response before the PUT is answered: what it records is recorded before the handler goes on.
   */
  public expectResponse(requestId: string, onFirst?: (response: ReceivedResponse) => void): {
    url: string; response: Promise<ReceivedResponse>; cancel: () => void;
  } {
    let waiter!: Waiter;
    const response = new Promise<ReceivedResponse>((resolve) => {
      waiter = { resolve, onFirst };
    });
    this.waiters.set(requestId, waiter);
    return {
      url: `${this.endpoint}${RESPONSE_PREFIX}${encodeURIComponent(requestId)}`,
      response,
      cancel: () => this.waiters.delete(requestId),
    };
  }

  /** Serves the requests whose path starts with `prefix` with `handler`, which answers every one. */
  public mount(prefix: string, handler: (req: IncomingMessage, res: ServerResponse) => void): void {
    this.mounts.set(prefix, handler);
  }

  public async stop(): Promise<void> {
    await new Promise<void>((resolve) => {
      this.server.close(() => resolve());
      for (const socket of this.sockets) socket.destroy();
    });
  }

  /** Every request gets an answer: what cannot be parsed a 400, never an exception that would end the deployer. */
  private route(req: IncomingMessage, res: ServerResponse): void {
    if (refuseForeignRequest(req, res, (this.server.address() as AddressInfo).port)) return;
    const path = (req.url ?? '/').split('?')[0];
    if (path.startsWith(RESPONSE_PREFIX)) {
      const requestId = decodeSegment(path.slice(RESPONSE_PREFIX.length));
      if (requestId !== undefined) {
        this.receive(requestId, req, res);
        return;
      }
      sendJson(res, 400, { message: `Malformed percent-encoding in the response URL ${JSON.stringify(req.url)}` });
      discardBody(req);
      return;
    }
    for (const [prefix, handler] of this.mounts) {
      if (path.startsWith(prefix)) return handler(req, res);
    }
    discardBody(req);
    res.writeHead(404, { 'Content-Length': '0' }).end();
  }

  /** A PUT on a response URL: the first one counts (as with CloudFormation); an unknown URL is refused like S3 would. */
  private receive(requestId: string, req: IncomingMessage, res: ServerResponse): void {
    // Only what CloudFormation would accept is kept: a longer body is counted (to be refused), not buffered.
    const chunks: Buffer[] = [];
    let bytes = 0;
    req.on('data', (c: Buffer) => {
      if (bytes < MAX_RESPONSE_BYTES) chunks.push(c);
      bytes += c.length;
    });
    req.on('end', () => {
      const waiter = this.waiters.get(requestId);
      if (req.method !== 'PUT' || (!waiter && !this.observer)) {
        res.writeHead(req.method !== 'PUT' ? 405 : 403).end();
        return;
      }
      const raw = Buffer.concat(chunks);
      let body: unknown;
      try {
        body = bytes === raw.length ? parseJsonData(raw.toString('utf8')) : undefined;
      } catch {
        body = undefined;
      }
      const received: ReceivedResponse = { body, raw: raw.toString('utf8'), bytes, headers: req.headers };
      if (this.observer?.(requestId, received) === 'drop') {
        req.socket.destroy();
        return;
      }
      if (waiter && !waiter.received) {
        try {
          waiter.onFirst?.(received);
        } catch (err) {
          // Not recorded: the handler retries its PUT, as it would against S3.
          res.writeHead(500).end(String(err));
          return;
        }
        waiter.received = received;
        waiter.resolve(received);
      }
      res.writeHead(200, { 'Content-Length': '0' }).end();
    });
  }
}
