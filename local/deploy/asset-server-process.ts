/**
 * The child process that serves the assembly's file assets to handlers (see `asset-server.ts`): a read-only S3
 * endpoint on 127.0.0.1 whose objects the deployer adds over the IPC channel. It exits when the deployer goes.
 */
import { createServer, IncomingMessage, Server, ServerResponse } from 'http';
import { AddressInfo, Server as Listener } from 'net';
import { callEmulator, EmulatorTarget, forwardedHeaders } from './emulator-calls';
import { refuseForeignRequest } from '../http';
import type { S3Refusal } from '../iam/authorizer';
import { BucketEndpoint, ReadCheck } from '../s3/bucket';

/** The emulator whose IAM decides each read (JSON of an `EmulatorTarget`), given to the child in its environment. */
export const ASSET_IAM_VARIABLE = 'ECR_PUBLIC_LOCAL_ASSET_IAM';

/** An object served: `file` as `s3://bucket/key`. */
export interface ServedObject {
  readonly bucket: string;
  readonly key: string;
  readonly file: string;
}

/**
 * The deployer's first message, sent with the listening socket (bound by the deployer, so that it knows the endpoint
 * before this process has loaded): the objects to serve from the start.
 */
export interface ServeMessage {
  readonly serve: readonly ServedObject[];
}

/** From the deployer, later: serve one more object. */
export interface AddObjectMessage extends ServedObject {
  readonly id: number;
}

/** To the deployer: an object was added (`id`, with `error` when it was refused). */
export interface AssetServerReply {
  readonly id: number;
  readonly error?: string;
}

/**
 * An HTTP server answering GetObject and HeadObject from `buckets`: on `listener` (a socket already listening), or on
 * a free port of 127.0.0.1.
 */
export async function listenForAssets(buckets: BucketEndpoint, listener?: Listener): Promise<Server> {
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    try {
      if (refuseForeignRequest(req, res, (server.address() as AddressInfo).port)) return;
      // The path as sent: a target such as `//x` is a path here, never a URL of another host.
      buckets.handle(req, res, new URL(`http://127.0.0.1${(req.url ?? '/').startsWith('/') ? req.url : '/'}`)).catch((err: unknown) => fail(res, err));
    } catch (err) {
      fail(res, err);
    }
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    if (listener) server.listen(listener, () => resolve());
    else server.listen(0, '127.0.0.1', () => resolve());
  });
  return server;
}

/**
 * Each read decided by the emulator at `target` (its control API's `AuthorizeS3Read`), which holds the principals and
 * their credentials: the handler's signature and its role's `s3:GetObject`, as S3 decides them.
 */
export function emulatorReadCheck(target: EmulatorTarget): ReadCheck {
  return async (request, bucket, key) => {
    const headers = forwardedHeaders(request.headers);
    const answer = await callEmulator(target, 'control', 'AuthorizeS3Read', { method: request.method, target: request.target, headers, bucket, key });
    return (answer as { refusal?: S3Refusal }).refusal;
  };
}

/** A failure of the server itself (the emulator did not answer the read's check): 500, which the SDK retries. */
function fail(res: ServerResponse, err: unknown): void {
  if (!res.headersSent) res.writeHead(500);
  res.end(String(err));
}

async function main(): Promise<void> {
  const iam = process.env[ASSET_IAM_VARIABLE];
  const buckets = new BucketEndpoint(iam ? emulatorReadCheck(JSON.parse(iam) as EmulatorTarget) : undefined);
  // The first message brings the listening socket and the objects: all of them are added before any request is taken.
  const [first, listener] = await new Promise<[ServeMessage, Listener]>((resolve) => {
    process.once('message', (message: ServeMessage, handle: Listener) => resolve([message, handle]));
  });
  for (const { bucket, key, file } of first.serve) buckets.addObject(bucket, key, file);
  await listenForAssets(buckets, listener);
  process.on('message', (message: AddObjectMessage) => {
    let reply: AssetServerReply;
    try {
      buckets.addObject(message.bucket, message.key, message.file);
      reply = { id: message.id };
    } catch (err) {
      reply = { id: message.id, error: err instanceof Error ? err.message : String(err) };
    }
    process.send!(reply);
  });
  // The deployer ended (or closed the channel): nothing is left to serve.
  process.on('disconnect', () => process.exit(0));
}

if (require.main === module && process.send) {
  main().catch((err) => {
    console.error(`asset server: ${err instanceof Error ? err.message : String(err)}`);
    process.exit(1);
  });
}
