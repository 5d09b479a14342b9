/**
 * The read-only S3 endpoint from which handlers read the assembly's file assets (a published image's archive), under
 * their bucket and key.
 *
 * It runs in a child process of its own: handlers run in the deployer's thread, and a publish reads its archive while
 * it uploads it, so serving the file from the same thread would take turns with the upload. When the deployer runs
 * from its TypeScript sources (its tests), there is no compiled child to start and the endpoint is served in-process.
 */
import { ChildProcess, fork } from 'child_process';
import * as fs from 'fs';
import { Server } from 'http';
import { AddressInfo, createServer } from 'net';
import * as path from 'path';
import {
  AddObjectMessage, ASSET_IAM_VARIABLE, AssetServerReply, emulatorReadCheck, listenForAssets, ServedObject, ServeMessage,
} from './asset-server-process';
import type { EmulatorTarget } from './emulator-calls';
import { BucketEndpoint, servableFile } from '../s3/bucket';

export interface AssetServer {
  /** `http://127.0.0.1:PORT`: the S3 endpoint handlers reach through AWS_ENDPOINT_URL_S3. */
  readonly endpoint: string;
  /** Serves `file` as `s3://bucket/key`; fails when it is not a file. */
  addObject(bucket: string, key: string, file: string): Promise<void>;
  stop(): Promise<void>;
}

/**
 * Starts the asset endpoint serving `objects` (more can be added): in a child process when the compiled child exists,
 * else in this process. With `iam`, every read is decided by that emulator's IAM (`s3:GetObject` of the handler's
 * role), as S3 decides it.
 */
export async function startAssetServer(iam?: EmulatorTarget, objects: readonly ServedObject[] = []): Promise<AssetServer> {
  const child = path.join(__dirname, 'asset-server-process.js');
  return path.extname(__filename) === '.js' && fs.existsSync(child) ? ChildAssetServer.start(child, iam, objects) : InProcessAssetServer.start(iam, objects);
}

/**
 * The asset endpoint, started when a handler first needs it (`endpoint()`): the objects added before are checked as
 * they are added and handed to it then. A deploy that runs no handler (everything unchanged) starts no process.
 */
export class LazyAssetServer {
  private readonly waiting: ServedObject[] = [];
  private server?: Promise<AssetServer>;

  constructor(private readonly iam?: EmulatorTarget) {}

  public async addObject(bucket: string, key: string, file: string): Promise<void> {
    if (this.server) return (await this.server).addObject(bucket, key, file);
    this.waiting.push({ bucket, key, file: servableFile(file) });
  }

  /** Starts the endpoint, once; its URL. */
  public async endpoint(): Promise<string> {
    this.server ??= this.start();
    return (await this.server).endpoint;
  }

  public async stop(): Promise<void> {
    const server = await this.server?.catch(() => undefined);
    await server?.stop();
  }

  private start(): Promise<AssetServer> {
    return startAssetServer(this.iam, this.waiting.splice(0));
  }
}

class ChildAssetServer implements AssetServer {
  /**
   * The socket is bound here and handed to the child with the objects: the endpoint is known at once, the child loads
   * while the first handler starts, and a connection made before it is ready waits in the socket's backlog.
   */
  public static async start(entry: string, iam: EmulatorTarget | undefined, objects: readonly ServedObject[]): Promise<ChildAssetServer> {
    const listener = createServer();
    await new Promise<void>((resolve, reject) => {
      listener.once('error', reject);
      listener.listen(0, '127.0.0.1', () => resolve());
    });
    const port = (listener.address() as AddressInfo).port;
    try {
      // No inherited flags (an inspector port, a profile of the deployer): the child is plain.
      const env = { ...process.env, [ASSET_IAM_VARIABLE]: iam === undefined ? '' : JSON.stringify(iam) };
      const child = fork(entry, [], { stdio: ['ignore', 'ignore', 'inherit', 'ipc'], execArgv: [], env });
      await new Promise<void>((resolve, reject) => {
        child.once('error', reject);
        child.send({ serve: objects } satisfies ServeMessage, listener, (err) => (err ? reject(err) : resolve()));
      });
      return new ChildAssetServer(child, port);
    } finally {
      // The child holds the socket now: this process takes no connection on it.
      listener.close();
    }
  }

  private nextId = 0;
  private readonly pending = new Map<number, { resolve: () => void; reject: (err: Error) => void }>();

  private constructor(private readonly child: ChildProcess, private readonly port: number) {
    child.on('message', (m: AssetServerReply) => {
      const waiter = this.pending.get(m.id);
      this.pending.delete(m.id);
      if (m.error === undefined) waiter?.resolve();
      else waiter?.reject(new Error(m.error));
    });
    child.on('exit', (code) => {
      for (const waiter of this.pending.values()) waiter.reject(new Error(`the asset server exited with code ${code}`));
      this.pending.clear();
    });
  }

  public get endpoint(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  public addObject(bucket: string, key: string, file: string): Promise<void> {
    const id = this.nextId++;
    return new Promise<void>((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      this.child.send({ id, bucket, key, file } satisfies AddObjectMessage);
    });
  }

  public async stop(): Promise<void> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return;
    await new Promise<void>((resolve) => {
      this.child.once('exit', () => resolve());
      this.child.disconnect();
    });
  }
}

class InProcessAssetServer implements AssetServer {
  public static async start(iam: EmulatorTarget | undefined, objects: readonly ServedObject[]): Promise<InProcessAssetServer> {
    const buckets = new BucketEndpoint(iam === undefined ? undefined : emulatorReadCheck(iam));
    for (const { bucket, key, file } of objects) buckets.addObject(bucket, key, file);
    return new InProcessAssetServer(buckets, await listenForAssets(buckets));
  }

  private constructor(private readonly buckets: BucketEndpoint, private readonly server: Server) {}

  public get endpoint(): string {
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  public async addObject(bucket: string, key: string, file: string): Promise<void> {
    this.buckets.addObject(bucket, key, file);
  }

  public async stop(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}
