/**
 * Helpers for tests that drive real container tools (umoci, skopeo) and push real OCI images through the
 * Amazon ECR Public API.
 *
 * - `buildImage` / `buildMultiPlatformLayout` make OCI image layouts with umoci (no Docker engine needed).
 * - `readOciLayout` resolves a tag of a layout into the exact manifest bytes and the blobs it needs.
 * - `pushOciLayout` pushes a layout through BatchCheckLayerAvailability / InitiateLayerUpload / UploadLayerPart /
 *   CompleteLayerUpload / PutImage, byte for byte (the pushed digest equals the layout's digest).
 * - `skopeo*` wrap the skopeo CLI with plain-HTTP settings for registries on loopback.
 *
 * Every external tool is run with `execFile` (no shell), and a failure message carries the command line, the exit
 * status and the tool's stderr.
 */
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { pipeline } from 'node:stream/promises';
import { createGzip, gunzipSync } from 'node:zlib';
import {
  BatchCheckLayerAvailabilityCommand,
  CompleteLayerUploadCommand,
  DescribeRegistriesCommand,
  ECRPUBLICClient,
  InitiateLayerUploadCommand,
  PutImageCommand,
  UploadLayerPartCommand,
} from '@aws-sdk/client-ecr-public';

// ---------------------------------------------------------------------------------------------------------------
// Media types and shapes

export const OCI_INDEX = 'application/vnd.oci.image.index.v1+json';
export const OCI_MANIFEST = 'application/vnd.oci.image.manifest.v1+json';
export const OCI_CONFIG = 'application/vnd.oci.image.config.v1+json';
export const DOCKER_MANIFEST = 'application/vnd.docker.distribution.manifest.v2+json';
export const DOCKER_MANIFEST_LIST = 'application/vnd.docker.distribution.manifest.list.v2+json';
const INDEX_TYPES = new Set([OCI_INDEX, DOCKER_MANIFEST_LIST]);
const MANIFEST_TYPES = new Set([OCI_MANIFEST, DOCKER_MANIFEST]);
const REF_NAME = 'org.opencontainers.image.ref.name';

/** The fallback part size when InitiateLayerUpload does not return one (10 MiB, the ECR Public quota). */
export const DEFAULT_PART_SIZE = 10 * 1024 * 1024;

export interface Platform {
  readonly architecture: string;
  readonly os: string;
  readonly variant?: string;
}

export interface Descriptor {
  readonly mediaType: string;
  readonly digest: string;
  readonly size: number;
  readonly annotations?: Record<string, string>;
  readonly platform?: Platform;
}

export interface OciIndexJson {
  readonly schemaVersion: number;
  readonly mediaType?: string;
  readonly manifests: Descriptor[];
  readonly annotations?: Record<string, string>;
}

export interface OciManifestJson {
  readonly schemaVersion: number;
  readonly mediaType?: string;
  readonly config: Descriptor;
  readonly layers: Descriptor[];
}

/** A manifest (image manifest or index) of a layout, with its exact bytes. */
export interface LayoutManifest {
  /** `sha256:<hex>` of `bytes` (checked against the referencing descriptor). */
  readonly digest: string;
  /** From the referencing descriptor (umoci's manifests carry no `mediaType` member of their own). */
  readonly mediaType: string;
  readonly size: number;
  readonly bytes: Buffer;
  /** The parsed JSON (an OciManifestJson or an OciIndexJson). */
  readonly json: any;
  readonly platform?: Platform;
  readonly isIndex: boolean;
}

/** A blob (config or layer) of a layout. */
export interface LayoutBlob {
  readonly digest: string;
  readonly size: number;
  readonly mediaType: string;
  /** Absolute path of the blob file. */
  readonly path: string;
}

export interface OciLayoutImage {
  readonly layoutDir: string;
  /** The parsed `index.json`. */
  readonly index: OciIndexJson;
  /** The `index.json` entry that was selected. */
  readonly descriptor: Descriptor;
  /** The top manifest (an image manifest, or an image index for multi-platform images). */
  readonly root: LayoutManifest;
  /** Every manifest, children before their index: the order in which they must be pushed. `root` is last. */
  readonly manifests: LayoutManifest[];
  /** The image manifests only (for a single image: `[root]`). */
  readonly images: LayoutManifest[];
  /** Every config and layer blob referenced, without duplicates, in manifest order. */
  readonly blobs: LayoutBlob[];
}

// ---------------------------------------------------------------------------------------------------------------
// Hashing

export function sha256Buffer(data: Buffer | string): string {
  return 'sha256:' + createHash('sha256').update(data).digest('hex');
}

export async function sha256File(file: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of fs.createReadStream(file)) {
    hash.update(chunk as Buffer);
  }
  return 'sha256:' + hash.digest('hex');
}

// ---------------------------------------------------------------------------------------------------------------
// Running tools

export interface RunResult {
  readonly stdout: Buffer;
  readonly stderr: string;
}

export interface RunOptions {
  readonly env?: NodeJS.ProcessEnv;
  readonly cwd?: string;
  readonly timeoutMs?: number;
}

/** An external tool failed; `exitCode`, `stdout` and `stderr` are kept for assertions. */
export class ToolError extends Error {
  constructor(
    message: string,
    public readonly exitCode: number | null,
    public readonly stdout: string,
    public readonly stderr: string,
  ) {
    super(message);
    this.name = 'ToolError';
  }
}

/** Runs `file args...` without a shell; resolves with the raw stdout, rejects with a ToolError carrying stderr. */
export function run(file: string, args: readonly string[], options: RunOptions = {}): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    execFile(file, args, {
      encoding: 'buffer',
      env: options.env ?? process.env,
      cwd: options.cwd,
      timeout: options.timeoutMs ?? 60_000,
      maxBuffer: 64 * 1024 * 1024,
    }, (error, stdout, stderr) => {
      const err = stderr.toString('utf8');
      if (error) {
        const code = typeof (error as { code?: unknown }).code === 'number' ? (error as { code: number }).code : null;
        const signal = (error as { signal?: string }).signal;
        const status = code !== null ? `exit status ${code}` : signal ? `signal ${signal}` : String(error.message);
        reject(new ToolError(
          `command failed (${status}): ${[file, ...args].join(' ')}\n--- stderr ---\n${err.trim()}\n--- stdout ---\n${stdout.toString('utf8').trim().slice(0, 4000)}`,
          code, stdout.toString('utf8'), err));
        return;
      }
      resolve({ stdout, stderr: err });
    });
  });
}

async function umoci(args: readonly string[]): Promise<string> {
  return (await run('umoci', args)).stdout.toString('utf8');
}

// ---------------------------------------------------------------------------------------------------------------
// Building layouts with umoci

export interface BuildImageOptions {
  /** The tag in the layout (`org.opencontainers.image.ref.name`). */
  readonly tag: string;
  /** `amd64` unless given. The os is always `linux`. */
  readonly architecture?: string;
  /** Files of the image: path inside the root filesystem → content. */
  readonly files: Record<string, string | Buffer>;
  /**
   * Number of layers (one `umoci repack` each; default 1). The files are dealt to the layers round-robin in sorted
   * path order; a layer that would get no file gets a small `/.layer-<n>` file so that it is not an empty diff.
   */
  readonly layers?: number;
}

function layoutExists(dir: string): boolean {
  return fs.existsSync(path.join(dir, 'oci-layout')) && fs.existsSync(path.join(dir, 'index.json'));
}

function writeRootfsFile(rootfs: string, name: string, content: string | Buffer): void {
  const rel = path.posix.normalize(name.replace(/^\/+/, ''));
  if (rel === '' || rel === '.' || rel.startsWith('../')) {
    throw new Error(`bad file name for an image: ${JSON.stringify(name)}`);
  }
  const target = path.join(rootfs, ...rel.split('/'));
  fs.mkdirSync(path.dirname(target), { recursive: true });
  fs.writeFileSync(target, content);
}

/**
 * Builds (or adds to) the OCI image layout `dir` with umoci: an image tagged `tag` with `layers` layers holding
 * `files`. Unreferenced blobs are garbage-collected afterwards. Returns the layout read back for `tag`.
 */
export async function buildImage(dir: string, options: BuildImageOptions): Promise<OciLayoutImage> {
  const layers = options.layers ?? 1;
  if (!Number.isInteger(layers) || layers < 1) throw new Error(`layers must be a positive integer, got ${layers}`);
  const ref = `${dir}:${options.tag}`;
  if (!layoutExists(dir)) {
    fs.mkdirSync(path.dirname(path.resolve(dir)), { recursive: true });
    await umoci(['init', '--layout', dir]);
  }
  await umoci(['new', '--image', ref]);

  const names = Object.keys(options.files).sort();
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'umoci-bundle-'));
  try {
    for (let layer = 0; layer < layers; layer++) {
      const bundle = path.join(work, `bundle-${layer}`);
      await umoci(['unpack', '--rootless', '--image', ref, bundle]);
      const rootfs = path.join(bundle, 'rootfs');
      const mine = names.filter((_, i) => i % layers === layer);
      for (const name of mine) writeRootfsFile(rootfs, name, options.files[name]);
      if (mine.length === 0) writeRootfsFile(rootfs, `.layer-${layer}`, `${options.tag} layer ${layer}\n`);
      await umoci(['repack', '--refresh-bundle', '--image', ref, bundle]);
      fs.rmSync(bundle, { recursive: true, force: true });
    }
  } finally {
    fs.rmSync(work, { recursive: true, force: true });
  }
  await umoci(['config', '--image', ref, '--architecture', options.architecture ?? 'amd64', '--os', 'linux']);
  await umoci(['gc', '--layout', dir]);
  return readOciLayout(dir, options.tag);
}

export interface MultiPlatformOptions {
  /** The tag of the index in `index.json`. */
  readonly tag: string;
  /** Files of every platform image; each image also gets `/arch` holding its architecture. */
  readonly files?: Record<string, string | Buffer>;
  /** Architectures (os `linux`); default `['amd64', 'arm64']`. */
  readonly architectures?: string[];
  /** Layers per platform image (default 1). */
  readonly layers?: number;
}

/** Canonical JSON text of an image index for the given child descriptors (exactly the bytes written as the blob). */
export function indexJsonText(children: Descriptor[]): string {
  return JSON.stringify({ schemaVersion: 2, mediaType: OCI_INDEX, manifests: children });
}

/** Writes `bytes` as a blob of the layout and returns its descriptor fields. */
export function writeBlob(layoutDir: string, bytes: Buffer): { digest: string; size: number } {
  const digest = sha256Buffer(bytes);
  const file = path.join(layoutDir, 'blobs', 'sha256', digest.slice('sha256:'.length));
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, bytes);
  return { digest, size: bytes.length };
}

/**
 * Builds an OCI layout whose `index.json` entry `tag` points to an OCI image index with one linux image per
 * architecture (each built with umoci). The index blob is written here as exact JSON bytes.
 */
export async function buildMultiPlatformLayout(dir: string, options: MultiPlatformOptions): Promise<OciLayoutImage> {
  const architectures = options.architectures ?? ['amd64', 'arm64'];
  const children: Descriptor[] = [];
  const childTags: string[] = [];
  for (const architecture of architectures) {
    const childTag = `${options.tag}-${architecture}`;
    childTags.push(childTag);
    const image = await buildImage(dir, {
      tag: childTag,
      architecture,
      layers: options.layers,
      files: { ...(options.files ?? {}), arch: `${architecture}\n` },
    });
    children.push({ mediaType: image.root.mediaType, digest: image.root.digest, size: image.root.size, platform: { architecture, os: 'linux' } });
  }
  const bytes = Buffer.from(indexJsonText(children), 'utf8');
  const blob = writeBlob(dir, bytes);

  const indexFile = path.join(dir, 'index.json');
  const current = JSON.parse(fs.readFileSync(indexFile, 'utf8')) as OciIndexJson;
  const kept = current.manifests.filter(d => {
    const name = d.annotations?.[REF_NAME];
    return name !== options.tag && !childTags.includes(name ?? '');
  });
  const entry: Descriptor = { mediaType: OCI_INDEX, digest: blob.digest, size: blob.size, annotations: { [REF_NAME]: options.tag } };
  fs.writeFileSync(indexFile, JSON.stringify({ ...current, manifests: [...kept, entry] }));
  return readOciLayout(dir, options.tag);
}

// ---------------------------------------------------------------------------------------------------------------
// Reading layouts

function blobPath(layoutDir: string, digest: string): string {
  const m = /^([a-z0-9]+(?:[+._-][a-z0-9]+)*):([a-zA-Z0-9=_-]+)$/.exec(digest);
  if (!m) throw new Error(`malformed digest ${JSON.stringify(digest)}`);
  return path.resolve(layoutDir, 'blobs', m[1], m[2]);
}

function readManifest(layoutDir: string, descriptor: Descriptor): LayoutManifest {
  const file = blobPath(layoutDir, descriptor.digest);
  if (!fs.existsSync(file)) throw new Error(`layout ${layoutDir}: manifest blob ${descriptor.digest} is missing`);
  const bytes = fs.readFileSync(file);
  const digest = sha256Buffer(bytes);
  if (digest !== descriptor.digest) throw new Error(`layout ${layoutDir}: blob ${descriptor.digest} hashes to ${digest}`);
  if (bytes.length !== descriptor.size) throw new Error(`layout ${layoutDir}: blob ${descriptor.digest} is ${bytes.length} bytes, descriptor says ${descriptor.size}`);
  const json = JSON.parse(bytes.toString('utf8'));
  const mediaType = descriptor.mediaType ?? json.mediaType;
  if (json.mediaType !== undefined && json.mediaType !== mediaType) {
    throw new Error(`layout ${layoutDir}: ${digest} says mediaType ${json.mediaType}, its descriptor says ${mediaType}`);
  }
  const isIndex = INDEX_TYPES.has(mediaType);
  if (!isIndex && !MANIFEST_TYPES.has(mediaType)) throw new Error(`layout ${layoutDir}: ${digest} has unsupported media type ${mediaType}`);
  return { digest, mediaType, size: bytes.length, bytes, json, platform: descriptor.platform, isIndex };
}

/**
 * Reads the image tagged `tag` (annotation `org.opencontainers.image.ref.name`) from the layout, or its only image
 * when `tag` is not given. Manifest bytes are verified against their digests; blob files must exist.
 */
export function readOciLayout(dir: string, tag?: string): OciLayoutImage {
  const layoutDir = path.resolve(dir);
  const header = JSON.parse(fs.readFileSync(path.join(layoutDir, 'oci-layout'), 'utf8'));
  if (typeof header.imageLayoutVersion !== 'string') throw new Error(`${layoutDir}/oci-layout has no imageLayoutVersion`);
  const index = JSON.parse(fs.readFileSync(path.join(layoutDir, 'index.json'), 'utf8')) as OciIndexJson;
  const entries = index.manifests ?? [];
  const matching = tag === undefined ? entries : entries.filter(d => d.annotations?.[REF_NAME] === tag);
  if (matching.length !== 1) {
    const known = entries.map(d => d.annotations?.[REF_NAME] ?? '(untagged)').join(', ');
    throw new Error(`layout ${layoutDir}: expected exactly one image${tag === undefined ? '' : ` tagged ${tag}`}, found ${matching.length} (entries: ${known})`);
  }
  const descriptor = matching[0];

  const manifests: LayoutManifest[] = [];
  const images: LayoutManifest[] = [];
  const blobs: LayoutBlob[] = [];
  const seenBlobs = new Set<string>();
  const seenManifests = new Set<string>();
  const addBlob = (d: Descriptor): void => {
    if (seenBlobs.has(d.digest)) return;
    seenBlobs.add(d.digest);
    const file = blobPath(layoutDir, d.digest);
    if (!fs.existsSync(file)) throw new Error(`layout ${layoutDir}: blob ${d.digest} is missing`);
    const size = fs.statSync(file).size;
    if (size !== d.size) throw new Error(`layout ${layoutDir}: blob ${d.digest} is ${size} bytes, descriptor says ${d.size}`);
    blobs.push({ digest: d.digest, size: d.size, mediaType: d.mediaType, path: file });
  };
  const visit = (d: Descriptor, depth: number): LayoutManifest => {
    if (depth > 4) throw new Error(`layout ${layoutDir}: indexes nested too deeply`);
    const m = readManifest(layoutDir, d);
    if (m.isIndex) {
      for (const child of (m.json as OciIndexJson).manifests ?? []) visit(child, depth + 1);
    } else {
      const json = m.json as OciManifestJson;
      addBlob(json.config);
      for (const layer of json.layers ?? []) addBlob(layer);
    }
    if (!seenManifests.has(m.digest)) {
      seenManifests.add(m.digest);
      manifests.push(m);
      if (!m.isIndex) images.push(m);
    }
    return m;
  };
  const root = visit(descriptor, 0);
  return { layoutDir, index, descriptor, root, manifests, images, blobs };
}

// ---------------------------------------------------------------------------------------------------------------
// Pushing through the ECR Public API

export interface PushOptions {
  /** The tag of the top manifest. Children of an index are pushed untagged. */
  readonly tag: string;
  /** The layout tag to push (default: `tag`). */
  readonly layoutTag?: string;
  /** `registryId` (account id or alias) on every push call; left out unless given. */
  readonly registryId?: string;
}

export interface PushStats {
  /** Blobs uploaded (reported missing by BatchCheckLayerAvailability). */
  readonly uploaded: string[];
  /** Blobs reported AVAILABLE, or whose upload ended in LayerAlreadyExistsException. */
  readonly skipped: string[];
  /** Number of UploadLayerPart calls. */
  readonly parts: number;
}

function errorName(e: unknown): string | undefined {
  return typeof e === 'object' && e !== null ? (e as { name?: string }).name : undefined;
}

/** Reads exactly `buffer.length` bytes at `position` unless the file ends first; returns the bytes read. */
async function readFully(handle: fs.promises.FileHandle, buffer: Buffer, position: number): Promise<number> {
  let filled = 0;
  while (filled < buffer.length) {
    const { bytesRead } = await handle.read(buffer, filled, buffer.length - filled, position + filled);
    if (bytesRead === 0) break;
    filled += bytesRead;
  }
  return filled;
}

async function uploadBlob(client: ECRPUBLICClient, repositoryName: string, blob: LayoutBlob, registryId: string | undefined,
  counters: { parts: number }): Promise<'uploaded' | 'existed'> {
  const init = await client.send(new InitiateLayerUploadCommand({ repositoryName, registryId }));
  const uploadId = init.uploadId;
  if (!uploadId) throw new Error(`InitiateLayerUpload returned no uploadId: ${JSON.stringify(init)}`);
  const partSize = init.partSize && init.partSize > 0 ? init.partSize : DEFAULT_PART_SIZE;

  const hash = createHash('sha256');
  const handle = await fs.promises.open(blob.path, 'r');
  let offset = 0;
  try {
    const buffer = Buffer.alloc(Math.min(partSize, Math.max(blob.size, 1)));
    for (;;) {
      const n = await readFully(handle, buffer, offset);
      if (n === 0) break;
      const part = buffer.subarray(0, n);
      hash.update(part);
      const out = await client.send(new UploadLayerPartCommand({
        repositoryName,
        registryId,
        uploadId,
        partFirstByte: offset,
        partLastByte: offset + n - 1,
        layerPartBlob: part,
      }));
      counters.parts++;
      if (out.lastByteReceived !== offset + n - 1) {
        throw new Error(`UploadLayerPart of ${blob.digest} [${offset}, ${offset + n - 1}] returned lastByteReceived ${out.lastByteReceived}`);
      }
      offset += n;
      if (n < buffer.length) break;
    }
  } finally {
    await handle.close();
  }
  if (offset !== blob.size) throw new Error(`blob ${blob.digest}: read ${offset} bytes from ${blob.path}, expected ${blob.size}`);
  const computed = 'sha256:' + hash.digest('hex');
  if (computed !== blob.digest) throw new Error(`blob file ${blob.path} hashes to ${computed}, expected ${blob.digest}`);

  try {
    const done = await client.send(new CompleteLayerUploadCommand({ repositoryName, registryId, uploadId, layerDigests: [blob.digest] }));
    if (done.layerDigest !== blob.digest) {
      throw new Error(`CompleteLayerUpload returned layerDigest ${done.layerDigest}, expected ${blob.digest}`);
    }
    return 'uploaded';
  } catch (e) {
    if (errorName(e) === 'LayerAlreadyExistsException') return 'existed';
    throw e;
  }
}

/** Which of `digests` the repository lacks, by BatchCheckLayerAvailability (100 per call). */
export async function missingBlobs(client: ECRPUBLICClient, repositoryName: string, digests: string[], registryId?: string): Promise<Set<string>> {
  const missing = new Set<string>();
  for (let i = 0; i < digests.length; i += 100) {
    const batch = digests.slice(i, i + 100);
    const out = await client.send(new BatchCheckLayerAvailabilityCommand({ repositoryName, registryId, layerDigests: batch }));
    const answered = new Set<string>();
    for (const layer of out.layers ?? []) {
      if (!layer.layerDigest) continue;
      answered.add(layer.layerDigest);
      if (layer.layerAvailability !== 'AVAILABLE') missing.add(layer.layerDigest);
    }
    for (const failure of out.failures ?? []) {
      if (!failure.layerDigest) continue;
      answered.add(failure.layerDigest);
      if (failure.failureCode === 'MissingLayerDigest') {
        missing.add(failure.layerDigest);
      } else {
        throw new Error(`BatchCheckLayerAvailability failure for ${failure.layerDigest}: ${failure.failureCode} ${failure.failureReason}`);
      }
    }
    for (const d of batch) {
      if (!answered.has(d)) throw new Error(`BatchCheckLayerAvailability said nothing about ${d}: ${JSON.stringify(out)}`);
    }
  }
  return missing;
}

/**
 * Pushes the image of an OCI layout to an ECR Public repository, byte for byte: blobs first (only those the repository
 * lacks; contiguous parts of the returned `partSize`, streamed from disk), then the manifests (children untagged,
 * the top manifest with `tag`), each PutImage with `imageDigest` and the returned digest checked.
 * Returns the digest of the top manifest, which equals the layout's digest.
 */
export async function pushOciLayout(client: ECRPUBLICClient, repositoryName: string, layoutDir: string, options: PushOptions,
  stats?: { uploaded: string[]; skipped: string[]; parts: number }): Promise<string> {
  const image = readOciLayout(layoutDir, options.layoutTag ?? options.tag);
  const registryId = options.registryId;
  const counters = stats ?? { uploaded: [], skipped: [], parts: 0 };

  const missing = await missingBlobs(client, repositoryName, image.blobs.map(b => b.digest), registryId);
  for (const blob of image.blobs) {
    if (!missing.has(blob.digest)) {
      counters.skipped.push(blob.digest);
      continue;
    }
    const result = await uploadBlob(client, repositoryName, blob, registryId, counters);
    (result === 'uploaded' ? counters.uploaded : counters.skipped).push(blob.digest);
  }

  for (const manifest of image.manifests) {
    const isRoot = manifest === image.root;
    const text = manifest.bytes.toString('utf8');
    if (!Buffer.from(text, 'utf8').equals(manifest.bytes)) throw new Error(`manifest ${manifest.digest} is not valid UTF-8`);
    try {
      const out = await client.send(new PutImageCommand({
        repositoryName,
        registryId,
        imageManifest: text,
        imageManifestMediaType: manifest.mediaType,
        imageDigest: manifest.digest,
        imageTag: isRoot ? options.tag : undefined,
      }));
      const got = out.image?.imageId?.imageDigest;
      if (got !== manifest.digest) throw new Error(`PutImage of ${manifest.digest} returned digest ${got}`);
      if (isRoot && out.image?.imageId?.imageTag !== options.tag) {
        throw new Error(`PutImage of ${manifest.digest} returned tag ${out.image?.imageId?.imageTag}, expected ${options.tag}`);
      }
    } catch (e) {
      // An untagged child that is already stored (a re-push of the same multi-platform image) is fine.
      if (!isRoot && errorName(e) === 'ImageAlreadyExistsException') continue;
      throw e;
    }
  }
  return image.root.digest;
}

/** An ECR Public client for a local endpoint: us-east-1, dummy static credentials. */
export function ecrPublicClient(endpoint: string, region = 'us-east-1'): ECRPUBLICClient {
  return new ECRPUBLICClient({ endpoint, region, credentials: { accessKeyId: 'local', secretAccessKey: 'local' } });
}

/** The primary alias of the caller's registry (`registries[0].aliases[0].name` of DescribeRegistries). */
export async function primaryRegistryAlias(client: ECRPUBLICClient): Promise<string> {
  const out = await client.send(new DescribeRegistriesCommand({}));
  const registry = out.registries?.[0];
  const alias = registry?.aliases?.find(a => a.primaryRegistryAlias)?.name ?? registry?.aliases?.[0]?.name;
  if (!alias) throw new Error(`DescribeRegistries returned no alias: ${JSON.stringify(out.registries)}`);
  return alias;
}

// ---------------------------------------------------------------------------------------------------------------
// skopeo

/** Runs `skopeo --insecure-policy args...` (no signature policy file needed); returns stdout as raw bytes. */
export async function skopeo(args: readonly string[], options: RunOptions = {}): Promise<Buffer> {
  return (await run('skopeo', ['--insecure-policy', ...args], { timeoutMs: 90_000, ...options })).stdout;
}

function isDocker(ref: string): boolean {
  return ref.startsWith('docker://');
}

/** `skopeo inspect --raw REF`: the exact manifest bytes (plain HTTP allowed for docker:// refs). */
export async function skopeoInspectRaw(ref: string): Promise<Buffer> {
  return skopeo(['inspect', '--raw', ...(isDocker(ref) ? ['--tls-verify=false'] : []), ref]);
}

/**
 * `skopeo inspect REF` parsed (plain HTTP allowed for docker:// refs). For an index, skopeo picks the child of
 * `platform` (default: the host's); `Digest` in the answer is still the digest of the manifest REF names.
 */
export async function skopeoInspect(ref: string, platform?: { architecture: string; os?: string }): Promise<any> {
  const global = platform ? ['--override-arch', platform.architecture, '--override-os', platform.os ?? 'linux'] : [];
  const out = await skopeo([...global, 'inspect', ...(isDocker(ref) ? ['--tls-verify=false'] : []), ref]);
  return JSON.parse(out.toString('utf8'));
}

/** `skopeo copy SRC DST` with `--src-tls-verify=false` / `--dest-tls-verify=false` for docker:// ends. */
export async function skopeoCopy(src: string, dst: string, extra: readonly string[] = []): Promise<string> {
  const args = ['copy'];
  if (isDocker(src)) args.push('--src-tls-verify=false');
  if (isDocker(dst)) args.push('--dest-tls-verify=false');
  const out = await skopeo([...args, ...extra, src, dst]);
  return out.toString('utf8');
}

/** `skopeo list-tags docker://HOST/NAME` → the tags. */
export async function skopeoListTags(ref: string): Promise<string[]> {
  const out = await skopeo(['list-tags', ...(isDocker(ref) ? ['--tls-verify=false'] : []), ref]);
  const parsed = JSON.parse(out.toString('utf8')) as { Tags?: string[] };
  return parsed.Tags ?? [];
}

// ---------------------------------------------------------------------------------------------------------------
// Small file helpers for tests

/** A fresh directory under os.tmpdir(); remove it with `removeTempDir`. */
export function makeTempDir(prefix: string): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), prefix));
}

export function removeTempDir(dir: string | undefined): void {
  if (dir) fs.rmSync(dir, { recursive: true, force: true });
}

// ---------------------------------------------------------------------------------------------------------------
// Tar files and image archives (for the tests of the synth-time archive inspector)

/** One entry of a tar written by `tarBytes`. */
export interface TarSpec {
  readonly name: string;
  readonly type?: 'file' | 'directory' | 'symlink' | 'hardlink';
  readonly data?: string | Buffer;
  readonly linkname?: string;
  /** The size written in the header when it must differ from the data's (a corrupt or hostile archive). */
  readonly declaredSize?: number;
}

const TAR_TYPEFLAGS = { file: '0', hardlink: '1', symlink: '2', directory: '5' } as const;

/**
 * A ustar tar, written here independently of the code under test so that it can hold what no well-behaved tool
 * writes (`..` names, links out of the archive, sizes that lie). Without `trailer: false` it ends with two zero blocks.
 */
export function tarBytes(entries: readonly TarSpec[], options: { trailer?: boolean } = {}): Buffer {
  const parts: Buffer[] = [];
  for (const entry of entries) {
    const type = entry.type ?? 'file';
    const data = Buffer.from(entry.data ?? '');
    const header = Buffer.alloc(512);
    const put = (offset: number, length: number, value: string): void => {
      const bytes = Buffer.from(value, 'utf8');
      if (bytes.length > length) throw new Error(`tarBytes: ${JSON.stringify(value)} does not fit in ${length} bytes`);
      bytes.copy(header, offset);
    };
    const octal = (offset: number, length: number, value: number): void => put(offset, length, value.toString(8).padStart(length - 1, '0') + '\0');
    put(0, 100, entry.name);
    octal(100, 8, type === 'directory' ? 0o755 : 0o644);
    octal(108, 8, 0);
    octal(116, 8, 0);
    octal(124, 12, entry.declaredSize ?? (type === 'file' ? data.length : 0));
    octal(136, 12, 0);
    put(156, 1, TAR_TYPEFLAGS[type]);
    put(157, 100, entry.linkname ?? '');
    put(257, 8, 'ustar\u000000');
    header.fill(0x20, 148, 156);
    let sum = 0;
    for (const b of header) sum += b;
    put(148, 8, sum.toString(8).padStart(6, '0') + '\0 ');
    parts.push(header);
    if (type === 'file' && data.length > 0) parts.push(data, Buffer.alloc((512 - (data.length % 512)) % 512));
  }
  if (options.trailer !== false) parts.push(Buffer.alloc(1024));
  return Buffer.concat(parts);
}

/** `size` bytes of `file` at `offset`, read synchronously. */
export function readRange(file: string, offset: number, size: number): Buffer {
  const fd = fs.openSync(file, 'r');
  try {
    const buffer = Buffer.alloc(size);
    let filled = 0;
    while (filled < size) {
      const n = fs.readSync(fd, buffer, filled, size - filled, offset + filled);
      if (n === 0) throw new Error(`${file} ends at ${offset + filled}, before ${offset + size}`);
      filled += n;
    }
    return buffer;
  } finally {
    fs.closeSync(fd);
  }
}

/** The parts of a publish plan these helpers check (structurally the PublishPlan of src/private/publish-plan.ts). */
export interface PlanShape {
  readonly blobs: ReadonlyArray<{ readonly digest: string; readonly size: number; readonly offset: number }>;
  readonly manifests: ReadonlyArray<{ readonly digest: string; readonly manifest: string }>;
  readonly rootDigest: string;
}

/**
 * What is wrong with a plan against its tar (an empty list when nothing is): every blob's bytes at
 * [offset, offset + size) must hash to its digest, every manifest's text to its digest, the root must be the last
 * manifest, blobs must be unique and ordered by offset.
 */
export function planProblems(archivePath: string, plan: PlanShape): string[] {
  const problems: string[] = [];
  const seen = new Set<string>();
  let last = -1;
  for (const blob of plan.blobs) {
    if (seen.has(blob.digest)) problems.push(`blob ${blob.digest} listed twice`);
    seen.add(blob.digest);
    if (blob.offset < last) problems.push(`blob ${blob.digest} is out of offset order`);
    last = blob.offset;
    const actual = sha256Buffer(readRange(archivePath, blob.offset, blob.size));
    if (actual !== blob.digest) problems.push(`blob ${blob.digest} at [${blob.offset}, +${blob.size}) hashes to ${actual}`);
  }
  for (const m of plan.manifests) {
    const actual = sha256Buffer(Buffer.from(m.manifest, 'utf8'));
    if (actual !== m.digest) problems.push(`manifest ${m.digest} hashes to ${actual}`);
  }
  if (plan.manifests.length === 0 || plan.manifests[plan.manifests.length - 1].digest !== plan.rootDigest) {
    problems.push(`root ${plan.rootDigest} is not the last manifest`);
  }
  return problems;
}

/** sha256 of `skopeo inspect --raw REF`: the digest of the manifest skopeo sees for REF. */
export async function skopeoRawDigest(ref: string): Promise<string> {
  return sha256Buffer(await skopeoInspectRaw(ref));
}

/** Tars the content of `dir` into `out` with the system tar, deterministically (sorted names, owner 0, mtime 0). */
export async function tarDirectory(dir: string, out: string, format: 'gnu' | 'pax' | 'ustar' = 'gnu'): Promise<void> {
  await run('tar', ['--sort=name', '--owner=0', '--group=0', '--numeric-owner', '--mtime=@0', `--format=${format}`, '-cf', out, '-C', dir, '.']);
}

/** gzip-compresses `src` into `dst` with node's zlib (streaming). */
export async function gzipFile(src: string, dst: string): Promise<void> {
  await pipeline(fs.createReadStream(src), createGzip(), fs.createWriteStream(dst));
}

/** An image as `docker save` sees it: config bytes, uncompressed layer tars (base first), tags. */
export interface SavedImage {
  readonly config: Buffer;
  readonly layers: Buffer[];
  readonly repoTags: string[];
}

/** The config and uncompressed layers of a single-platform image read from a layout (umoci's layers are gzip). */
export function savedImage(image: OciLayoutImage, repoTags: string[]): SavedImage {
  if (image.root.isIndex) throw new Error('savedImage: needs a single-platform image');
  const json = image.root.json as OciManifestJson;
  const read = (d: Descriptor): Buffer => fs.readFileSync(path.join(image.layoutDir, 'blobs', 'sha256', d.digest.slice('sha256:'.length)));
  return {
    config: read(json.config),
    layers: json.layers.map(l => (l.mediaType.endsWith('+gzip') ? gunzipSync(read(l)) : read(l))),
    repoTags,
  };
}

/** `docker.io/library/web:v1` for `web:v1`, as Docker writes `io.containerd.image.name`. */
export function fullImageName(tag: string): string {
  const first = tag.split('/')[0];
  if (!tag.includes('/')) return `docker.io/library/${tag}`;
  return first.includes('.') || first.includes(':') || first === 'localhost' ? tag : `docker.io/${tag}`;
}

function writeFileIn(dir: string, name: string, data: string | Buffer): void {
  const file = path.join(dir, ...name.split('/'));
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, data);
}

/**
 * Writes into `dir` the tree of a Docker 25+ `docker save` (classic store): an OCI layout with uncompressed layers
 * whose digests are the DiffIDs, one `index.json` entry per tag (annotations `io.containerd.image.name` and
 * `org.opencontainers.image.ref.name`), plus `manifest.json` and `repositories`. `nullManifests` reproduces moby#47210
 * (`"manifests": null`). Returns the OCI manifest digest of each image.
 */
export function writeDocker25Save(dir: string, images: readonly SavedImage[], options: { nullManifests?: boolean } = {}): string[] {
  writeFileIn(dir, 'oci-layout', '{"imageLayoutVersion":"1.0.0"}');
  const entries: object[] = [];
  const legacy: object[] = [];
  const digests: string[] = [];
  for (const image of images) {
    const config = writeBlob(dir, image.config);
    const layers = image.layers.map(l => writeBlob(dir, l));
    const manifest = Buffer.from(JSON.stringify({
      schemaVersion: 2,
      mediaType: OCI_MANIFEST,
      config: { mediaType: OCI_CONFIG, digest: config.digest, size: config.size },
      layers: layers.map(l => ({ mediaType: 'application/vnd.oci.image.layer.v1.tar', digest: l.digest, size: l.size })),
    }));
    const m = writeBlob(dir, manifest);
    digests.push(m.digest);
    const descriptor = { mediaType: OCI_MANIFEST, digest: m.digest, size: m.size };
    if (image.repoTags.length === 0) entries.push(descriptor);
    for (const tag of image.repoTags) {
      const colon = tag.lastIndexOf(':');
      entries.push({ ...descriptor, annotations: { 'io.containerd.image.name': fullImageName(tag), [REF_NAME]: tag.slice(colon + 1) } });
    }
    const hex = (d: string): string => `blobs/sha256/${d.slice('sha256:'.length)}`;
    legacy.push({ Config: hex(config.digest), RepoTags: image.repoTags, Layers: layers.map(l => hex(l.digest)) });
  }
  writeFileIn(dir, 'index.json', JSON.stringify({ schemaVersion: 2, mediaType: OCI_INDEX, manifests: options.nullManifests ? null : entries }));
  writeFileIn(dir, 'manifest.json', JSON.stringify(legacy));
  writeFileIn(dir, 'repositories', '{}');
  return digests;
}

/**
 * Writes into `dir` the tree of a legacy (Docker 24 and earlier) `docker save`: `<config-hex>.json`, one
 * `<v1-id>/{VERSION,json,layer.tar}` directory per layer, `manifest.json`, `repositories`. A layer whose DiffID already
 * occurred gets a `layer.tar` that is a SYMLINK to the first one (`../<v1-id>/layer.tar`), as Docker does.
 */
export function writeLegacyDockerSave(dir: string, images: readonly SavedImage[]): void {
  const firstByDiffId = new Map<string, string>();
  const legacy: object[] = [];
  for (const image of images) {
    const configHex = sha256Buffer(image.config).slice('sha256:'.length);
    writeFileIn(dir, `${configHex}.json`, image.config);
    const layerNames: string[] = [];
    let parent = '';
    for (const layer of image.layers) {
      const diffId = sha256Buffer(layer);
      const v1 = sha256Buffer(`${parent} ${diffId} ${configHex}`).slice('sha256:'.length);
      writeFileIn(dir, `${v1}/VERSION`, '1.0');
      writeFileIn(dir, `${v1}/json`, JSON.stringify({ id: v1, ...(parent ? { parent } : {}) }));
      const first = firstByDiffId.get(diffId);
      if (first) {
        fs.symlinkSync(`../${first}`, path.join(dir, v1, 'layer.tar'));
      } else {
        writeFileIn(dir, `${v1}/layer.tar`, layer);
        firstByDiffId.set(diffId, `${v1}/layer.tar`);
      }
      layerNames.push(`${v1}/layer.tar`);
      parent = v1;
    }
    legacy.push({ Config: `${configHex}.json`, RepoTags: image.repoTags, Layers: layerNames });
  }
  writeFileIn(dir, 'manifest.json', JSON.stringify(legacy));
  writeFileIn(dir, 'repositories', '{}');
}

/** The empty JSON blob OCI 1.1 artifacts use as config. */
export const OCI_EMPTY = 'application/vnd.oci.empty.v1+json';

/**
 * Adds an attestation-like artifact manifest (OCI 1.1 `artifactType`, empty config, one in-toto layer; platform
 * `unknown/unknown` as buildx writes it) to the index tagged `tag` in the layout, rewriting the index blob and its
 * `index.json` entry. Returns the layout read back for `tag`.
 */
export function addAttestationManifest(dir: string, tag: string): OciLayoutImage {
  const before = readOciLayout(dir, tag);
  if (!before.root.isIndex) throw new Error('addAttestationManifest: needs an index');
  const subject = (before.root.json as OciIndexJson).manifests[0];
  const statement = writeBlob(dir, Buffer.from(JSON.stringify({ _type: 'https://in-toto.io/Statement/v0.1', predicateType: 'https://slsa.dev/provenance/v0.2', subject: [] })));
  const empty = writeBlob(dir, Buffer.from('{}'));
  const manifest = writeBlob(dir, Buffer.from(JSON.stringify({
    schemaVersion: 2,
    mediaType: OCI_MANIFEST,
    artifactType: 'application/vnd.in-toto+json',
    config: { mediaType: OCI_EMPTY, digest: empty.digest, size: empty.size },
    layers: [{ mediaType: 'application/vnd.in-toto+json', digest: statement.digest, size: statement.size, annotations: { 'in-toto.io/predicate-type': 'https://slsa.dev/provenance/v0.2' } }],
  })));
  const children: Descriptor[] = [
    ...(before.root.json as OciIndexJson).manifests,
    {
      mediaType: OCI_MANIFEST,
      digest: manifest.digest,
      size: manifest.size,
      platform: { architecture: 'unknown', os: 'unknown' },
      annotations: { 'vnd.docker.reference.type': 'attestation-manifest', 'vnd.docker.reference.digest': subject.digest },
    },
  ];
  const index = writeBlob(dir, Buffer.from(indexJsonText(children), 'utf8'));
  const indexFile = path.join(dir, 'index.json');
  const current = JSON.parse(fs.readFileSync(indexFile, 'utf8')) as OciIndexJson;
  const manifests = current.manifests.map(d => (d.annotations?.[REF_NAME] === tag ? { ...d, digest: index.digest, size: index.size } : d));
  fs.writeFileSync(indexFile, JSON.stringify({ ...current, manifests }));
  return readOciLayout(dir, tag);
}
