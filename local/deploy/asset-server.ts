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
import { AddressInfo } from 'net';
import * as path from 'path';
import { AddObjectMessage, ASSET_IAM_VARIABLE, AssetServerReply, emulatorReadCheck, listenForAssets } from './asset-server-process';
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
 * Starts the asset endpoint: in a child process when the compiled child exists, else in this process. With `iam`, every
 * read is decided by that emulator's IAM (`s3:GetObject` of the handler's role), as S3 decides it.
 */
export async function startAssetServer(iam?: EmulatorTarget): Promise<AssetServer> {
  const child = path.join(__dirname, 'asset-server-process.js');
  return path.extname(__filename) === '.js' && fs.existsSync(child) ? ChildAssetServer.start(child, iam) : InProcessAssetServer.start(iam);
}

/**
 * The asset endpoint, started when a handler first needs it (`endpoint()`): the objects added before are checked as
 * they are added and handed to it then. A deploy that runs no handler (everything unchanged) starts no process.
 */
export class LazyAssetServer {
  private readonly waiting: Array<{ bucket: string; key: string; file: string }> = [];
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

  private async start(): Promise<AssetServer> {
    const server = await startAssetServer(this.iam);
    try {
      for (const { bucket, key, file } of this.waiting.splice(0)) await server.addObject(bucket, key, file);
    } catch (err) {
      await server.stop();
      throw err;
    }
    return server;
  }
}

class ChildAssetServer implements AssetServer {
  public static async start(entry: string, iam: EmulatorTarget | undefined): Promise<ChildAssetServer> {
    // No inherited flags (an inspector port, a profile of the deployer): the child is plain.
    const env = { ...process.env, [ASSET_IAM_VARIABLE]: iam === undefined ? '' : JSON.stringify(iam) };
    const child = fork(entry, [], { stdio: ['ignore', 'ignore', 'inherit', 'ipc'], execArgv: [], env });
    const port = await new Promise<number>((resolve, reject) => {
      child.once('message', (m: AssetServerReply) => ('port' in m ? resolve(m.port) : reject(new Error('the asset server did not start'))));
      child.once('exit', (code) => reject(new Error(`the asset server exited with code ${code} before it listened`)));
      child.once('error', reject);
    });
    return new ChildAssetServer(child, port);
  }

  private nextId = 0;
  private readonly pending = new Map<number, { resolve: () => void; reject: (err: Error) => void }>();

  private constructor(private readonly child: ChildProcess, private readonly port: number) {
    child.on('message', (m: AssetServerReply) => {
      if (!('id' in m)) return;
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
  public static async start(iam: EmulatorTarget | undefined): Promise<InProcessAssetServer> {
    const buckets = new BucketEndpoint(iam === undefined ? undefined : emulatorReadCheck(iam));
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
