/**
 * The child process that serves the assembly's file assets to handlers (see `asset-server.ts`): a read-only S3
 * endpoint on 127.0.0.1 whose objects the deployer adds over the IPC channel. It exits when the deployer goes.
 */
import { createServer, IncomingMessage, Server, ServerResponse } from 'http';
import { AddressInfo } from 'net';
import { refuseForeignRequest } from '../http';
import { BucketEndpoint } from '../s3/bucket';

/** From the deployer: serve `file` as `s3://bucket/key`. */
export interface AddObjectMessage {
  readonly id: number;
  readonly bucket: string;
  readonly key: string;
  readonly file: string;
}

/** To the deployer: the server listens (`port`), or an object was added (`id`, with `error` when it was refused). */
export type AssetServerReply = { readonly port: number } | { readonly id: number; readonly error?: string };

/** An HTTP server on a free port of 127.0.0.1 answering GetObject and HeadObject from `buckets`. */
export async function listenForAssets(buckets: BucketEndpoint): Promise<Server> {
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    try {
      if (refuseForeignRequest(req, res, (server.address() as AddressInfo).port)) return;
      // The path as sent: a target such as `//x` is a path here, never a URL of another host.
      buckets.handle(req, res, new URL(`http://127.0.0.1${(req.url ?? '/').startsWith('/') ? req.url : '/'}`));
    } catch (err) {
      if (!res.headersSent) res.writeHead(500);
      res.end(String(err));
    }
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  return server;
}

async function main(): Promise<void> {
  const buckets = new BucketEndpoint();
  const server = await listenForAssets(buckets);
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
  process.send!({ port: (server.address() as AddressInfo).port } satisfies AssetServerReply);
}

if (require.main === module && process.send) {
  main().catch((err) => {
    console.error(`asset server: ${err instanceof Error ? err.message : String(err)}`);
    process.exit(1);
  });
}
