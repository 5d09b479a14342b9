/**
 * Starts and stops the emulator: one HTTP server on 127.0.0.1 for the API, the registry pull and push APIs, logos and
 * asset buckets.
 */
import * as fs from 'fs';
import { createServer, IncomingMessage, ServerResponse } from 'http';
import { AddressInfo, Socket } from 'net';
import { ApiEndpoint } from './api';
import { FaultInjector, FaultOptions } from './faults';
import { sendFile, sendJson } from './http';
import { logoContentType } from './operations/catalog-data';
import { Context, defaultAlias, Limits } from './operations/context';
import { RateQuotas } from './rate-quotas';
import { RegistryEndpoint } from './registry-api';
import { isPushRequest, RegistryPushEndpoint } from './registry-push';
import { BucketEndpoint } from './s3-bucket';
import { Store } from './store';

export interface EmulatorOptions {
  /** TCP port on 127.0.0.1; 0 picks a free one. @default 0 */
  readonly port?: number;
  /** Directory that persists the emulator's state across restarts. @default - state kept in memory */
  readonly dataDir?: string;
  /** The account id (registry id). @default '123456789012' */
  readonly accountId?: string;
  /** The default registry alias assigned at the first repository. @default - derived from the account id */
  readonly registryAlias?: string;
  /** Injected faults. @default - none */
  readonly faults?: FaultOptions;
  /** S3 buckets to serve: bucket name to directory. @default - none */
  readonly buckets?: Record<string, string>;
  /** Service quotas. @default - the service's defaults */
  readonly limits?: Partial<Limits>;
  /** Answer calls beyond the service's documented rate quotas with ThrottlingException. @default false */
  readonly rateQuotas?: boolean;
}

export interface RunningEmulator {
  /** `http://127.0.0.1:PORT`: the endpoint for the ECR Public and S3 clients. */
  readonly endpoint: string;
  /** `127.0.0.1:PORT`: the registry host in repository URIs. */
  readonly host: string;
  readonly port: number;
  readonly accountId: string;
  /** Where blobs and (with a data directory) metadata are kept. */
  readonly root: string;
  /** Replaces the fault settings (and restarts the fault sequence from its seed). */
  setFaults(faults: FaultOptions): void;
  /** Serves `dir` as the S3 bucket `name`. */
  addBucket(name: string, dir: string): void;
  stop(): Promise<void>;
}

export async function startEmulator(options: EmulatorOptions = {}): Promise<RunningEmulator> {
  const accountId = options.accountId ?? '123456789012';
  if (!/^[0-9]{12}$/.test(accountId)) throw new Error(`accountId must be 12 digits (got '${accountId}')`);
  const alias = options.registryAlias ?? defaultAlias(accountId);
  if (!/^[a-z][a-z0-9]+(?:[._-][a-z0-9]+)*$/.test(alias) || alias.length > 50) {
    throw new Error(`registryAlias '${alias}' must be 2-50 characters matching [a-z][a-z0-9]+(?:[._-][a-z0-9]+)*`);
  }
  const store = Store.open(options.dataDir);
  const faults = new FaultInjector(options.faults);
  const buckets = new BucketEndpoint();
  for (const [name, dir] of Object.entries(options.buckets ?? {})) buckets.addBucket(name, dir);

  let route: (req: IncomingMessage, res: ServerResponse) => Promise<void> = async (_req, res) => {
    res.writeHead(503).end();
  };
  const server = createServer((req, res) => {
    route(req, res).catch((err) => {
      console.error(err);
      if (!res.headersSent) sendJson(res, 500, { message: String(err) });
      else res.destroy();
    });
  });
  const sockets = new Set<Socket>();
  server.on('connection', (socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  // Loopback only: the emulator accepts any credentials and must never be reachable from elsewhere.
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, '127.0.0.1', () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  const host = `127.0.0.1:${port}`;
  const ctx: Context = {
    store,
    accountId,
    host,
    baseUrl: `http://${host}`,
    aliasToAssign: alias,
    limits: { maxRepositories: options.limits?.maxRepositories ?? 10_000 },
    authorizationTokens: new Map(),
  };
  const api = new ApiEndpoint(ctx, faults, options.rateQuotas ? new RateQuotas() : undefined);
  const registry = new RegistryEndpoint(ctx);
  const push = new RegistryPushEndpoint(ctx);

  route = async (req, res) => {
    const url = new URL(req.url ?? '/', `http://${host}`);
    if (req.method === 'POST' && req.headers['x-amz-target'] !== undefined) return api.handle(req, res);
    if (url.pathname === '/v2' || url.pathname.startsWith('/v2/')) {
      return isPushRequest(req.method, url.pathname) ? push.handle(req, res, url) : registry.handle(req, res, url);
    }
    if (url.pathname.startsWith('/logo/')) return serveLogo(req, res, store, url.pathname.slice('/logo/'.length));
    return buckets.handle(req, res, url);
  };

  return {
    endpoint: `http://${host}`,
    host,
    port,
    accountId,
    root: store.root,
    setFaults: (f) => faults.configure(f),
    addBucket: (name, dir) => buckets.addBucket(name, dir),
    stop: async () => {
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        for (const socket of sockets) socket.destroy();
      });
      store.close();
    },
  };
}

function serveLogo(req: IncomingMessage, res: ServerResponse, store: Store, name: string): void {
  const file = store.logoPath(decodeURIComponent(name));
  if (!fs.existsSync(file)) return sendJson(res, 404, { message: 'No such logo' });
  sendFile(req, res, file, fs.statSync(file).size, { 'Content-Type': logoContentType(file) });
}
