/**
 * Starts and stops the emulator: one HTTP server on 127.0.0.1 routing to its front doors, the ECR Public API (`api/`),
 * the OCI distribution API (`distribution/`), the private ECR API's GetAuthorizationToken (`private-ecr/`), the
 * Gallery preview (`gallery/`), logos and asset buckets (`s3/`), all over the service core (`service/`) and the state
 * in `store/`.
 */
import * as fs from 'fs';
import { createServer, IncomingMessage, ServerResponse } from 'http';
import { AddressInfo, Socket } from 'net';
import { ApiEndpoint } from './api/endpoint';
import { Clock } from './clock';
import { CONTROL_TARGET_PREFIX, ControlEndpoint } from './control/endpoint';
import { DistributionEndpoint } from './distribution/routes';
import { FaultInjector, FaultOptions } from './faults';
import { isGalleryPath, serveGallery } from './gallery/routes';
import { BodyBudget, decodeSegment, refuseForeignRequest, sendFile, sendJson } from './http';
import { s3ReadRefusal } from './iam/authorizer';
import { PrincipalDirectory } from './iam/principals';
import { isPrivateEcrCall, PrivateEcrEndpoint } from './private-ecr/endpoint';
import { RateQuotas } from './rate-quotas';
import { BucketEndpoint } from './s3/bucket';
import { logoContentType } from './service/catalog-data';
import { Context, defaultAlias, Limits } from './service/context';
import { resourceFacts } from './service/iam-facts';
import { expireUploads } from './service/layers';
import { Store } from './store/store';

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
  /** Service quotas, and how long an abandoned upload lives. @default - the service's defaults, uploads expire after 24 hours */
  readonly limits?: Partial<Limits>;
  /**
   * Bytes of ECR Public API request bodies held in memory at once, across all requests; a body that does not fit is
   * answered `ThrottlingException`. @default 67108864 (64 MiB)
   */
  readonly maxBufferedBytes?: number;
  /** Seconds added to the real time on the emulator's clock (see `setClockOffset`). @default 0 */
  readonly clockOffsetSeconds?: number;
  /** Answer calls beyond the service's documented rate quotas with ThrottlingException. @default false */
  readonly rateQuotas?: boolean;
  /**
   * Verify every SigV4 signature (ECR Public API and S3) and let IAM decide every call, as AWS does: the account root
   * signs with `root` and may do everything; other principals are added through `RunningEmulator.principals`.
   * @default - no IAM: any SigV4-shaped credentials are taken, and nothing is denied
   */
  readonly iam?: IamOptions;
}

/** IAM in the emulator. */
export interface IamOptions {
  /** The account root's long-term key pair. @default - `local` / `local` */
  readonly rootCredentials?: { readonly accessKeyId: string; readonly secretAccessKey: string };
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
  /** The principals IAM knows, when IAM is on (`iam` option): define roles and users, issue their credentials. */
  readonly principals?: PrincipalDirectory;
  /** Replaces the fault settings (and restarts the fault sequence from its seed). */
  setFaults(faults: FaultOptions): void;
  /** Serves `dir` as the S3 bucket `name`. */
  addBucket(name: string, dir: string): void;
  /**
   * Moves the emulator's clock to real time plus `seconds`: push and tag times recorded from now on, token and upload
   * expiry all follow it, so that age-based rules can be tested without waiting.
   */
  setClockOffset(seconds: number): void;
  /** Epoch seconds on the emulator's clock. */
  now(): number;
  stop(): Promise<void>;
}

/** An upload untouched for a day expires (the service documents no expiry of its own). */
export const DEFAULT_UPLOAD_EXPIRY_SECONDS = 24 * 60 * 60;
/**
 * Room for four 10 MiB UploadLayerPart bodies (about 14 MB of JSON each) at once: the publisher's default concurrency,
 * with the peak resident memory of a flood of 100 connections under 400 MB (96 MiB came within a few MB of it).
 */
export const DEFAULT_MAX_BUFFERED_BYTES = 64 * 1024 * 1024;

export async function startEmulator(options: EmulatorOptions = {}): Promise<RunningEmulator> {
  const { accountId, alias } = checkedIdentity(options);
  const clock = new Clock(options.clockOffsetSeconds ?? 0);
  const uploadExpirySeconds = options.limits?.uploadExpirySeconds ?? DEFAULT_UPLOAD_EXPIRY_SECONDS;
  if (!(uploadExpirySeconds > 0)) throw new Error(`limits.uploadExpirySeconds must be positive (got ${uploadExpirySeconds})`);
  const store = Store.open(options.dataDir, clock.now());
  const faults = new FaultInjector(options.faults);
  const principals = options.iam
    ? new PrincipalDirectory(accountId, options.iam.rootCredentials ?? { accessKeyId: 'local', secretAccessKey: 'local' })
    : undefined;
  const buckets = new BucketEndpoint(principals
    ? (request, bucket, key) => s3ReadRefusal(principals, accountId, request, bucket, key, clock.now())
    : undefined);
  for (const [name, dir] of Object.entries(options.buckets ?? {})) buckets.addBucket(name, dir);

  const listening = await listenForStore(store, options.port ?? 0);
  const host = `127.0.0.1:${listening.port}`;
  const ctx: Context = {
    store,
    accountId,
    host,
    baseUrl: `http://${host}`,
    aliasToAssign: alias,
    limits: { maxRepositories: options.limits?.maxRepositories ?? 10_000, uploadExpirySeconds },
    authorizationTokens: new Map(),
    clock,
  };
  const facts = resourceFacts(ctx);
  const api = new ApiEndpoint(ctx, faults, new BodyBudget(options.maxBufferedBytes ?? DEFAULT_MAX_BUFFERED_BYTES),
    options.rateQuotas ? new RateQuotas() : undefined, principals ? { principals, facts } : undefined);
  const distribution = new DistributionEndpoint(ctx, principals ? { principals, facts } : undefined);
  const control = new ControlEndpoint(accountId, clock, principals);
  const privateEcr = new PrivateEcrEndpoint(ctx, principals ? { principals, facts } : undefined);
  const sweeper = expireUploadsPeriodically(ctx);

  listening.route(async (req, res) => {
    if (refuseForeignRequest(req, res, listening.port)) return;
    let url: URL;
    try {
      url = new URL(req.url ?? '/', `http://${host}`);
    } catch {
      return sendJson(res, 400, { message: `Malformed request target: ${req.url}` });
    }
    const target = req.headers['x-amz-target'];
    if (req.method === 'POST' && typeof target === 'string' && target.startsWith(CONTROL_TARGET_PREFIX)) return control.handle(req, res);
    if (isPrivateEcrCall(req)) return privateEcr.handle(req, res);
    if (req.method === 'POST' && target !== undefined) return api.handle(req, res);
    if (distribution.serves(url.pathname)) return distribution.handle(req, res, url);
    if (isGalleryPath(url.pathname)) return serveGallery(ctx, req, res, url);
    if (url.pathname.startsWith('/logo/')) return serveLogo(req, res, store, url.pathname.slice('/logo/'.length));
    return buckets.handle(req, res, url);
  });

  return {
    endpoint: `http://${host}`,
    host,
    port: listening.port,
    accountId,
    principals,
    root: store.root,
    setFaults: (f) => faults.configure(f),
    addBucket: (name, dir) => buckets.addBucket(name, dir),
    setClockOffset: (seconds) => clock.setOffset(seconds),
    now: () => clock.now(),
    stop: async () => {
      clearInterval(sweeper);
      await listening.close();
      store.close();
    },
  };
}

/**
 * Listens on loopback for the emulator of `store`, which then records where it answers (whoever finds the data
 * directory taken learns it). On failure the store is closed: the data directory is released for whoever tries next
 * (another port, another process).
 */
async function listenForStore(store: Store, port: number): Promise<Listening> {
  let listening: Listening | undefined;
  try {
    listening = await listenOnLoopback(port);
    store.setEndpoint(`http://127.0.0.1:${listening.port}`);
    return listening;
  } catch (err) {
    await listening?.close();
    store.close();
    throw err;
  }
}

/** The account id and the alias to assign, checked. */
function checkedIdentity(options: EmulatorOptions): { accountId: string; alias: string } {
  const accountId = options.accountId ?? '123456789012';
  if (!/^[0-9]{12}$/.test(accountId)) throw new Error(`accountId must be 12 digits (got '${accountId}')`);
  const alias = options.registryAlias ?? defaultAlias(accountId);
  if (!/^[a-z][a-z0-9]+(?:[._-][a-z0-9]+)*$/.test(alias) || alias.length > 50) {
    throw new Error(`registryAlias '${alias}' must be 2-50 characters matching [a-z][a-z0-9]+(?:[._-][a-z0-9]+)*`);
  }
  return { accountId, alias };
}

type Route = (req: IncomingMessage, res: ServerResponse) => Promise<void>;

/** An HTTP server listening on 127.0.0.1, answering 503 until it is given its route. */
interface Listening {
  readonly port: number;
  route(route: Route): void;
  /** Stops listening and closes every connection. */
  close(): Promise<void>;
}

async function listenOnLoopback(port: number): Promise<Listening> {
  let route: Route = async (_req, res) => {
    res.writeHead(503).end();
  };
  const server = createServer((req, res) => {
    route(req, res).catch((err) => {
      console.error(err);
      if (!res.headersSent) sendJson(res, 500, { message: String(err) });
      else res.destroy();
    });
  });
  // An idle keep-alive connection is closed by the server after this long; a client that reuses it at that moment
  // sees a reset. Node's 5 s default makes that race likely for any client pausing between calls (a test building
  // an image, a deployer between resources); a minute makes it rare. close() closes every connection regardless.
  server.keepAliveTimeout = 65_000;
  server.headersTimeout = 66_000;
  const sockets = new Set<Socket>();
  server.on('connection', (socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  // Loopback only: the emulator accepts any credentials and must never be reachable from elsewhere.
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => resolve());
  });
  return {
    port: (server.address() as AddressInfo).port,
    route: (r) => {
      route = r;
    },
    close: () => new Promise<void>((resolve) => {
      server.close(() => resolve());
      for (const socket of sockets) socket.destroy();
    }),
  };
}

/** Abandoned uploads also expire while nobody asks: their bytes are deleted even on an idle emulator. */
function expireUploadsPeriodically(ctx: Context): NodeJS.Timeout {
  expireUploads(ctx);
  const sweeper = setInterval(() => {
    try {
      expireUploads(ctx);
    } catch (err) {
      console.error(err);
    }
  }, Math.min(ctx.limits.uploadExpirySeconds * 1000 / 4, 60_000));
  sweeper.unref();
  return sweeper;
}

/** Logos are stored as `<uuid>.png` or `<uuid>.jpg`: any other name (`.`, `..`, `a/..`, a bad escape) names none. */
const LOGO_NAME = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\.(?:png|jpg)$/;

function serveLogo(req: IncomingMessage, res: ServerResponse, store: Store, segment: string): void {
  const name = decodeSegment(segment);
  if (name === undefined) return sendJson(res, 400, { message: `Malformed percent-encoding in the logo name '${segment}'` });
  const file = LOGO_NAME.test(name) ? store.logoPath(name) : undefined;
  if (!file || !fs.existsSync(file) || !fs.statSync(file).isFile()) return sendJson(res, 404, { message: 'No such logo' });
  sendFile(req, res, file, fs.statSync(file).size, { 'Content-Type': logoContentType(file) });
}
