/**
 * Pieces of the reliability suite that the other harnesses do not have: a snapshot of everything the registry shows,
 * a counting (and holding) proxy in front of the emulator's API, the bundled image publisher run in a child process
 * that can be killed, a pull-and-compare with skopeo, and watches on files outside an archive.
 *
 * The emulator, the response capture, the asset bucket and the staging come from `test/lambda/support.ts` and
 * `test/image-publisher/support.ts`; the OCI tools from `test/support/oci-tools.ts`.
 */
import { ChildProcess, spawn } from 'node:child_process';
import * as fs from 'node:fs';
import { createServer, IncomingMessage, request, Server } from 'node:http';
import { AddressInfo } from 'node:net';
import * as path from 'node:path';
import {
  DescribeImagesCommand,
  DescribeRegistriesCommand,
  DescribeRepositoriesCommand,
  ECRPUBLICClient,
  GetRegistryCatalogDataCommand,
  GetRepositoryCatalogDataCommand,
  GetRepositoryPolicyCommand,
  ImageDetail,
  ListTagsForResourceCommand,
  Repository,
} from '@aws-sdk/client-ecr-public';
import { S3Client } from '@aws-sdk/client-s3';
import type { CustomResourceEvent } from '../../lambda/shared/cfn-response';
import { HandlerHarness, LAMBDA_REGION, tempDir } from '../lambda/support';
import { primaryRegistryAlias } from '../support/emulator-harness';
import { OciLayoutImage, readOciLayout, sha256File } from '../support/oci-layout';
import { run } from '../support/run-tool';
import { skopeoCopy } from '../support/skopeo';
import { TarSpec } from '../support/tar-files';

export const MiB = 1024 * 1024;

// ---------------------------------------------------------------------------------------------------------------
// What the registry shows

/** The outcome of a read: its value, or the name of the error it failed with. */
async function readOr<T>(promise: Promise<T>): Promise<T | { error: string }> {
  try {
    return await promise;
  } catch (err) {
    return { error: (err as Error).name };
  }
}

function imageView(d: ImageDetail): object {
  return {
    digest: d.imageDigest,
    tags: [...(d.imageTags ?? [])].sort(),
    mediaType: d.imageManifestMediaType,
    size: d.imageSizeInBytes,
  };
}

/**
 * Everything the API shows of the registry, in a stable order: the registries and the display name, and per
 * repository its description (DescribeRepositories), catalog data, policy, tags and images. Two equal snapshots mean
 * nothing visible changed. Call it with faults off (the client does not retry).
 */
export async function registrySnapshot(client: ECRPUBLICClient): Promise<Record<string, unknown>> {
  const repositories: Repository[] = [];
  let nextToken: string | undefined;
  do {
    const out = await client.send(new DescribeRepositoriesCommand({ maxResults: 1000, nextToken }));
    repositories.push(...(out.repositories ?? []));
    nextToken = out.nextToken;
  } while (nextToken);
  repositories.sort((a, b) => (a.repositoryName! < b.repositoryName! ? -1 : 1));

  const repos: Record<string, unknown> = {};
  for (const repo of repositories) {
    const name = repo.repositoryName!;
    const images: ImageDetail[] = [];
    let imagesToken: string | undefined;
    do {
      const out = await client.send(new DescribeImagesCommand({ repositoryName: name, maxResults: 1000, nextToken: imagesToken }));
      images.push(...(out.imageDetails ?? []));
      imagesToken = out.nextToken;
    } while (imagesToken);
    const catalog = await readOr(client.send(new GetRepositoryCatalogDataCommand({ repositoryName: name })).then((o) => o.catalogData));
    const policy = await readOr(client.send(new GetRepositoryPolicyCommand({ repositoryName: name })).then((o) => o.policyText));
    const tags = await client.send(new ListTagsForResourceCommand({ resourceArn: repo.repositoryArn }));
    repos[name] = {
      repository: { arn: repo.repositoryArn, uri: repo.repositoryUri, registryId: repo.registryId, createdAt: repo.createdAt?.toISOString() },
      catalog,
      policy,
      tags: [...(tags.tags ?? [])].sort((a, b) => (a.Key! < b.Key! ? -1 : 1)),
      images: images.map(imageView).sort((a: any, b: any) => (a.digest < b.digest ? -1 : 1)),
    };
  }
  const registries = await client.send(new DescribeRegistriesCommand({}));
  const displayName = await readOr(client.send(new GetRegistryCatalogDataCommand({})).then((o) => o.registryCatalogData?.displayName));
  return {
    registries: (registries.registries ?? []).map((r) => ({ id: r.registryId, uri: r.registryUri, aliases: r.aliases, verified: r.verified })),
    displayName,
    repositories: repos,
  };
}

/** The image `ref` (tag or digest) of the repository, or the name of the error DescribeImages gave. */
export async function describeImageRef(client: ECRPUBLICClient, repositoryName: string, ref: string): Promise<ImageDetail | string> {
  const imageId = ref.startsWith('sha256:') ? { imageDigest: ref } : { imageTag: ref };
  try {
    const out = await client.send(new DescribeImagesCommand({ repositoryName, imageIds: [imageId] }));
    return out.imageDetails?.[0] ?? 'none';
  } catch (err) {
    return (err as Error).name;
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Pulling back

/**
 * Pulls `repo:tag` with skopeo into a fresh OCI layout (every platform with `all`) and checks it against `source`: the
 * same root digest, the same manifests in the same order, the same blobs, and every pulled blob hashing to its digest.
 */
export async function pullAndCompare(h: HandlerHarness, repo: string, tag: string, source: OciLayoutImage, all = false): Promise<OciLayoutImage> {
  const alias = await primaryRegistryAlias(h.client);
  const dir = path.join(tempDir('reliability-pull-'), 'oci');
  try {
    await skopeoCopy(`docker://${h.emu.host}/${alias}/${repo}:${tag}`, `oci:${dir}:${tag}`, all ? ['--all'] : []);
    const pulled = readOciLayout(dir, tag);
    expect(pulled.root.digest).toBe(source.root.digest);
    expect(pulled.manifests.map((m) => m.digest)).toEqual(source.manifests.map((m) => m.digest));
    expect(pulled.blobs.map((b) => b.digest).sort()).toEqual(source.blobs.map((b) => b.digest).sort());
    for (const blob of pulled.blobs) expect(await sha256File(blob.path)).toBe(blob.digest);
    return pulled;
  } finally {
    fs.rmSync(path.dirname(dir), { recursive: true, force: true });
  }
}

// ---------------------------------------------------------------------------------------------------------------
// A proxy in front of the emulator's API

/** A request the proxy saw, with its operation, small bodies parsed, and what became of it. */
export interface ProxiedCall {
  readonly operation: string;
  /** The parsed JSON body (only for bodies under 1 MiB: parts are not parsed). */
  readonly input?: any;
  /** The HTTP status the emulator answered, once it has. */
  status?: number;
  /** The error the emulator answered with (`x-amzn-ErrorType`). */
  errorType?: string;
  /** The emulator dropped the connection (before or after running the operation). */
  dropped?: boolean;
  held?: boolean;
}

/** What the proxy does with a request before forwarding it. */
export type ProxyDecision = 'forward' | 'hold';

export interface ApiProxy {
  /** `http://127.0.0.1:PORT`: give this to the client as its ECR Public endpoint. */
  readonly endpoint: string;
  readonly calls: ProxiedCall[];
  /** Decides per request, before it is forwarded; may be async (e.g. to look at the registry first). */
  decide: (call: ProxiedCall) => ProxyDecision | Promise<ProxyDecision>;
  /** Calls answered with HTTP 200 for `operation`. */
  answered(operation: string): number;
  /** Drops every held request's connection. */
  releaseHeld(): void;
  close(): Promise<void>;
}

/**
 * An HTTP proxy for the ECR Public API (awsJson 1.1 over POST) in front of `target`: it records each operation (from
 * `X-Amz-Target`) and its answer, and can hold a request (never forward it, never answer it): the deterministic point
 * at which a test kills the client.
 */
export async function startApiProxy(target: string): Promise<ApiProxy> {
  const upstream = new URL(target);
  const held: IncomingMessage[] = [];
  const proxy: ApiProxy = {
    endpoint: '',
    calls: [],
    decide: () => 'forward',
    answered: (operation) => proxy.calls.filter((c) => c.operation === operation && c.status === 200).length,
    releaseHeld: () => {
      for (const req of held.splice(0)) req.socket.destroy();
    },
    close: async () => {
      proxy.releaseHeld();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      void (async () => {
        const body = Buffer.concat(chunks);
        const operation = String(req.headers['x-amz-target'] ?? '').replace(/^SpencerFrontendService\./, '');
        const call: ProxiedCall = { operation, input: body.length < MiB ? safeJson(body) : undefined };
        proxy.calls.push(call);
        if (await proxy.decide(call) === 'hold') {
          call.held = true;
          held.push(req);
          return;
        }
        const out = request({
          host: upstream.hostname, port: upstream.port, path: req.url, method: req.method, headers: { ...req.headers, host: upstream.host },
        }, (answer) => {
          call.status = answer.statusCode;
          const errorType = answer.headers['x-amzn-errortype'];
          if (errorType !== undefined) call.errorType = String(errorType).split(':')[0];
          res.writeHead(answer.statusCode ?? 502, answer.headers);
          answer.pipe(res);
        });
        out.on('error', () => {
          call.dropped = true;
          req.socket.destroy();
        });
        out.end(body);
      })().catch(() => req.socket.destroy());
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  (proxy as { endpoint: string }).endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return proxy;
}

function safeJson(body: Buffer): any {
  try {
    return JSON.parse(body.toString('utf8'));
  } catch {
    return undefined;
  }
}

// ---------------------------------------------------------------------------------------------------------------
// The bundled image publisher in a child process

/** The shipped, bundled handler of `Custom::EcrPublicImage`. */
export const BUNDLED_IMAGE_PUBLISHER = path.resolve(__dirname, '../../assets/image-publisher/index.js');

/** Bundles the handlers (`npx projen bundle`) when the image publisher's bundle is missing. */
export async function ensureBundledHandlers(): Promise<void> {
  if (fs.existsSync(BUNDLED_IMAGE_PUBLISHER)) return;
  await run('npx', ['projen', 'bundle'], { cwd: path.resolve(__dirname, '../..'), timeoutMs: 110_000 });
  if (!fs.existsSync(BUNDLED_IMAGE_PUBLISHER)) throw new Error(`npx projen bundle did not write ${BUNDLED_IMAGE_PUBLISHER}`);
}

/** Requires the bundle named by HANDLER_MODULE and calls its handler with the event in EVENT_FILE, as Lambda would. */
const CHILD_SCRIPT = `
const fs = require('fs');
const { handler } = require(process.env.HANDLER_MODULE);
const event = JSON.parse(fs.readFileSync(process.env.EVENT_FILE, 'utf8'));
handler(event).then(() => process.exit(0), (err) => { console.error(err); process.exit(1); });
`;

export interface ChildRun {
  readonly child: ChildProcess;
  /** Resolves with the exit code (null) and signal when the process ends. */
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** What the handler wrote (its JSON log lines on stdout, errors on stderr). */
  readonly output: () => string;
}

/**
 * Runs the bundled handler of `module` in a child Node process on `event` (written to a file), with the ECR Public
 * endpoint `ecrEndpoint` and the S3 endpoint `s3Endpoint`, in a Lambda-like environment.
 */
export function runHandlerInChild<P>(module: string, event: CustomResourceEvent<P>, ecrEndpoint: string, s3Endpoint: string): ChildRun {
  const dir = tempDir('reliability-child-');
  const eventFile = path.join(dir, 'event.json');
  fs.writeFileSync(eventFile, JSON.stringify(event));
  const env: NodeJS.ProcessEnv = { ...process.env };
  delete env.AWS_IGNORE_CONFIGURED_ENDPOINT_URLS;
  delete env.AWS_PROFILE;
  Object.assign(env, {
    HANDLER_MODULE: module,
    EVENT_FILE: eventFile,
    AWS_ENDPOINT_URL_ECR_PUBLIC: ecrEndpoint,
    AWS_ENDPOINT_URL_S3: s3Endpoint,
    AWS_REGION: LAMBDA_REGION,
    AWS_ACCESS_KEY_ID: 'AKIDCHILD',
    AWS_SECRET_ACCESS_KEY: 'child-secret',
    AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
  });
  const child = spawn(process.execPath, ['-e', CHILD_SCRIPT], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout!.on('data', (c: Buffer) => { output += c.toString('utf8'); });
  child.stderr!.on('data', (c: Buffer) => { output += c.toString('utf8'); });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    child.on('exit', (code, signal) => {
      fs.rmSync(dir, { recursive: true, force: true });
      resolve({ code, signal });
    });
  });
  return { child, exited, output: () => output };
}

// ---------------------------------------------------------------------------------------------------------------
// Watching what is outside an archive

/** Every file under `dir` (recursively, symlinks not followed) with its size and mtime, minus the `excluded` subtrees. */
export function treeListing(dir: string, excluded: readonly string[] = []): string[] {
  const out: string[] = [];
  const walk = (rel: string): void => {
    for (const name of fs.readdirSync(path.join(dir, rel)).sort()) {
      const relName = rel ? `${rel}/${name}` : name;
      const full = path.join(dir, relName);
      if (excluded.some((e) => full === e || full.startsWith(e + path.sep))) continue;
      const stat = fs.lstatSync(full);
      out.push(`${relName} ${stat.isDirectory() ? 'dir' : stat.isSymbolicLink() ? 'link' : stat.size} ${stat.mtimeMs}`);
      if (stat.isDirectory()) walk(relName);
    }
  };
  walk('');
  return out;
}

/** The files under `dirs` (recursively; symlinks not followed) whose content contains `needle`. */
export function filesContaining(dirs: readonly string[], needle: Buffer): string[] {
  const found: string[] = [];
  const walk = (p: string): void => {
    const stat = fs.lstatSync(p);
    if (stat.isDirectory()) {
      for (const name of fs.readdirSync(p)) walk(path.join(p, name));
    } else if (stat.isFile() && fs.readFileSync(p).includes(needle)) {
      found.push(p);
    }
  };
  for (const dir of dirs) if (fs.existsSync(dir)) walk(dir);
  return found;
}

/**
 * A file outside every archive whose reads are visible: its content is a random marker, and its access time is set a
 * day before its modification time, so that any read of its content moves the access time (Linux `relatime`: stat,
 * lstat and realpath do not).
 */
export class WatchedFile {
  private static readonly DAY_MS = 24 * 3600 * 1000;
  public readonly content: Buffer;
  private armedAt = 0;

  constructor(public readonly file: string, content: Buffer) {
    this.content = content;
    fs.writeFileSync(file, content);
    this.arm();
  }

  /** Sets the access time back, before a case. */
  public arm(): void {
    const stat = fs.statSync(this.file);
    const atime = new Date(stat.mtimeMs - WatchedFile.DAY_MS);
    fs.utimesSync(this.file, atime, stat.mtime);
    this.armedAt = fs.statSync(this.file).atimeMs;
  }

  /** Whether its content was read since `arm()`. */
  public wasRead(): boolean {
    return fs.statSync(this.file).atimeMs !== this.armedAt;
  }
}

/** Records every S3 GetObject the handler sends: bucket, key and range. Restored by the harness's `restoreAllMocks`. */
export function spyOnS3Reads(): Array<{ bucket: string; key: string; range?: string }> {
  const reads: Array<{ bucket: string; key: string; range?: string }> = [];
  const send = S3Client.prototype.send;
  jest.spyOn(S3Client.prototype, 'send').mockImplementation(function (this: S3Client, command: any, ...rest: any[]) {
    reads.push({ bucket: command.input?.Bucket, key: command.input?.Key, range: command.input?.Range });
    return (send as any).call(this, command, ...rest);
  } as any);
  return reads;
}

// ---------------------------------------------------------------------------------------------------------------
// Tampering with image layouts

/** The files of an OCI layout directory as tar entries, in sorted order (to be tampered with, then `tarBytes`). */
export function layoutTarSpecs(dir: string): TarSpec[] {
  const specs: TarSpec[] = [];
  const walk = (rel: string): void => {
    for (const name of fs.readdirSync(path.join(dir, rel)).sort()) {
      const relName = rel ? `${rel}/${name}` : name;
      if (fs.statSync(path.join(dir, relName)).isDirectory()) walk(relName);
      else specs.push({ name: relName, data: fs.readFileSync(path.join(dir, relName)) });
    }
  };
  walk('');
  return specs;
}

/** The entry name of a blob in an OCI layout. */
export function blobEntry(digest: string): string {
  return `blobs/sha256/${digest.slice('sha256:'.length)}`;
}
