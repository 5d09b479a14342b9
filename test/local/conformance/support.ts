/**
 * Shared helpers for the ecr-public-local SDK conformance suite.
 *
 * Every test file starts its own emulator (in memory unless a dataDir is given) so that files can run in parallel
 * workers without sharing state.
 */
import { randomBytes as cryptoRandomBytes, randomUUID } from 'crypto';
import {
  CreateRepositoryCommand,
  ECRPUBLICClient,
  ECRPUBLICServiceException,
  PutImageCommand,
  PutImageCommandOutput,
} from '@aws-sdk/client-ecr-public';
import { uploadLayerToEcrPublic } from '../../../lambda/image-publisher/blob-uploader';
import { Descriptor as OciDescriptor } from '../../../src/shared/oci/descriptor';
import { sha256 } from '../../../src/shared/oci/digest';
import {
  DOCKER_CONFIG, DOCKER_LAYER_GZIP, DOCKER_MANIFEST, DOCKER_MANIFEST_LIST, OCI_CONFIG, OCI_INDEX, OCI_LAYER_GZIP, OCI_MANIFEST,
} from '../../../src/shared/oci/media-types';
import {
  ecrPublicClient, EmulatorOptions, InProcessEmulator, LOCAL_CREDENTIALS, primaryRegistryAlias, RunningEmulator, startInProcess, stopInProcess,
} from '../../support/emulator-harness';

export type { EmulatorOptions, RunningEmulator };

export const MIB = 1024 * 1024;
export const PART_SIZE = 10485760;
export const MIN_PART = 5 * MIB;

export {
  DOCKER_CONFIG, DOCKER_LAYER_GZIP as DOCKER_LAYER, DOCKER_MANIFEST, DOCKER_MANIFEST_LIST as DOCKER_LIST, OCI_CONFIG, OCI_INDEX,
  OCI_LAYER_GZIP as OCI_LAYER, OCI_MANIFEST, sha256,
};

/** A 1x1 PNG. */
export const PNG_1X1 = Buffer.from(
  'iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg==',
  'base64',
);

/** Something that starts with the JPEG signature (SOI + APP0). */
export const JPEG_SMALL = Buffer.concat([
  Buffer.from([0xff, 0xd8, 0xff, 0xe0, 0x00, 0x10]),
  Buffer.from('JFIF\0', 'binary'),
  cryptoRandomBytes(64),
  Buffer.from([0xff, 0xd9]),
]);

/** A GIF header: neither PNG nor JPEG. */
export const GIF_SMALL = Buffer.concat([Buffer.from('GIF89a', 'ascii'), cryptoRandomBytes(32)]);

/** The client of these suites makes one attempt per call: every error is seen exactly as the emulator answered it. */
const ONE_ATTEMPT = { maxAttempts: 1 };

export const CREDENTIALS = LOCAL_CREDENTIALS;

export type Harness = InProcessEmulator;

export function makeClient(emu: RunningEmulator, region = 'us-east-1'): ECRPUBLICClient {
  return ecrPublicClient(emu.endpoint, { region, ...ONE_ATTEMPT });
}

/** Starts an emulator in beforeAll and stops it in afterAll. The returned object is filled in once beforeAll ran. */
export function useEmulator(options: EmulatorOptions = {}): Harness {
  const h = {} as Harness;
  beforeAll(async () => {
    Object.assign(h, await startInProcess(options, ONE_ATTEMPT));
  });
  afterAll(async () => {
    await stopInProcess(h.emu ? h : undefined);
  });
  return h;
}

export async function start(options: EmulatorOptions = {}): Promise<Harness> {
  return startInProcess(options, ONE_ATTEMPT);
}

export const stop = stopInProcess;

let counter = 0;
/** A unique, valid repository name. */
export function uniqueName(prefix = 'repo'): string {
  counter += 1;
  return `${prefix}-${process.pid}-${counter}-${cryptoRandomBytes(3).toString('hex')}`;
}

export function randomBytes(n: number): Buffer {
  return cryptoRandomBytes(n);
}

/**
 * Asserts that the promise rejects with a service error of the given name (and optionally a message containing
 * messageFragment). Returns the error for further checks.
 */
export async function expectError(promise: Promise<unknown>, name: string, messageFragment?: string): Promise<any> {
  let caught: any;
  let resolvedWith: unknown;
  let resolved = false;
  try {
    resolvedWith = await promise;
    resolved = true;
  } catch (e) {
    caught = e;
  }
  if (resolved) {
    throw new Error(`expected ${name} but the call succeeded with ${safeJson(resolvedWith)}`);
  }
  if (caught?.name !== name) {
    throw new Error(`expected ${name} but got ${caught?.name}: ${caught?.message}`);
  }
  if (messageFragment !== undefined && !String(caught.message).includes(messageFragment)) {
    throw new Error(`expected the ${name} message to contain ${JSON.stringify(messageFragment)}, got ${JSON.stringify(caught.message)}`);
  }
  return caught;
}

/** Like expectError, and also checks the constraint-message format and HTTP status of InvalidParameterException. */
export async function expectInvalidParameter(promise: Promise<unknown>, memberPath: string): Promise<any> {
  const err = await expectError(promise, 'InvalidParameterException', `Invalid parameter at '${memberPath}' failed to satisfy constraint`);
  expect(err.$metadata?.httpStatusCode).toBe(400);
  return err;
}

export function isServiceError(e: unknown): boolean {
  return e instanceof ECRPUBLICServiceException;
}

function safeJson(v: unknown): string {
  try {
    return JSON.stringify(v, (k, val) => (k === '$metadata' ? undefined : val))?.slice(0, 500) ?? String(v);
  } catch {
    return String(v);
  }
}

export async function createRepo(client: ECRPUBLICClient, name = uniqueName()): Promise<string> {
  await client.send(new CreateRepositoryCommand({ repositoryName: name }));
  return name;
}

/** The registry's primary alias (the registry exists once a repository was created). */
export const registryAlias = primaryRegistryAlias;

/**
 * Uploads `data` as a blob of the repository with the image publisher's own upload (InitiateLayerUpload, parts of the
 * announced size, CompleteLayerUpload). Returns the digest. A test of the upload steps themselves sends them explicitly.
 */
export async function uploadTestBlob(client: ECRPUBLICClient, repositoryName: string, data: Buffer): Promise<string> {
  const digest = sha256(data);
  await uploadLayerToEcrPublic(client, repositoryName, {
    digest,
    size: data.length,
    open: async function* () { yield data; },
    verify: (streamed) => {
      if (streamed.digest !== digest) throw new Error(`streamed ${streamed.digest}, expected ${digest}`);
    },
  });
  return digest;
}

/** A descriptor as these manifests write it: the checked descriptor of src/shared/oci, with its media type. */
export interface Descriptor extends OciDescriptor {
  readonly mediaType: string;
}

export interface BuiltImage {
  /** the manifest string as pushed */
  manifest: string;
  digest: string;
  mediaType: string;
  config: Descriptor;
  layers: Descriptor[];
  /** sum of the layer sizes */
  layerBytes: number;
}

export interface ImageSpec {
  /** 'oci' (default) or 'docker' */
  format?: 'oci' | 'docker';
  /** sizes of the layers to create (default: one layer of 100..600 bytes) */
  layerSizes?: number[];
  /** reuse already-uploaded blobs instead of creating new ones */
  layers?: Descriptor[];
  config?: Descriptor;
  /** leave `mediaType` out of the manifest */
  omitMediaType?: boolean;
  /** an annotation to make the manifest unique */
  annotation?: string;
}

/** Uploads config + layers (unless given) and builds the manifest string (does not push it). */
export async function buildImage(client: ECRPUBLICClient, repositoryName: string, spec: ImageSpec = {}): Promise<BuiltImage> {
  const format = spec.format ?? 'oci';
  const configMediaType = format === 'oci' ? OCI_CONFIG : DOCKER_CONFIG;
  const layerMediaType = format === 'oci' ? OCI_LAYER_GZIP : DOCKER_LAYER_GZIP;
  const mediaType = format === 'oci' ? OCI_MANIFEST : DOCKER_MANIFEST;
  let config = spec.config;
  if (!config) {
    const cfg = Buffer.from(JSON.stringify({
      architecture: 'amd64',
      os: 'linux',
      rootfs: { type: 'layers', diff_ids: [] },
      config: { Labels: { nonce: cryptoRandomBytes(8).toString('hex') } },
    }));
    config = { mediaType: configMediaType, digest: await uploadTestBlob(client, repositoryName, cfg), size: cfg.length };
  }
  let layers = spec.layers;
  if (!layers) {
    layers = [];
    for (const size of spec.layerSizes ?? [100 + Math.floor(Math.random() * 500)]) {
      const data = cryptoRandomBytes(size);
      layers.push({ mediaType: layerMediaType, digest: await uploadTestBlob(client, repositoryName, data), size });
    }
  }
  const body: Record<string, unknown> = { schemaVersion: 2 };
  if (!spec.omitMediaType) body.mediaType = mediaType;
  body.config = config;
  body.layers = layers;
  if (spec.annotation !== undefined) body.annotations = { 'org.example.nonce': spec.annotation };
  const manifest = JSON.stringify(body);
  return {
    manifest,
    digest: sha256(Buffer.from(manifest, 'utf8')),
    mediaType,
    config,
    layers,
    layerBytes: layers.reduce((a, l) => a + l.size, 0),
  };
}

export interface PushedImage extends BuiltImage {
  output: PutImageCommandOutput;
}

/** Builds and pushes an image manifest. */
export async function pushImage(client: ECRPUBLICClient, repositoryName: string, tag?: string, spec: ImageSpec = {}): Promise<PushedImage> {
  const built = await buildImage(client, repositoryName, spec);
  const output = await client.send(new PutImageCommand({
    repositoryName,
    imageManifest: built.manifest,
    imageTag: tag,
    imageManifestMediaType: spec.omitMediaType ? built.mediaType : undefined,
  }));
  return { ...built, output };
}

/** Builds an index/manifest list string over the given images. */
export function buildIndex(children: Array<{ digest: string; manifest: string; mediaType: string }>, format: 'oci' | 'docker' = 'oci'): { manifest: string; digest: string; mediaType: string } {
  const mediaType = format === 'oci' ? OCI_INDEX : DOCKER_MANIFEST_LIST;
  const archs = ['amd64', 'arm64', 'ppc64le', 's390x', '386'];
  const manifest = JSON.stringify({
    schemaVersion: 2,
    mediaType,
    manifests: children.map((c, i) => ({
      mediaType: c.mediaType,
      digest: c.digest,
      size: Buffer.byteLength(c.manifest, 'utf8'),
      platform: { architecture: archs[i % archs.length], os: 'linux' },
    })),
  });
  return { manifest, digest: sha256(Buffer.from(manifest, 'utf8')), mediaType };
}

export function repositoryArn(accountId: string, name: string): string {
  return `arn:aws:ecr-public::${accountId}:repository/${name}`;
}

export function randomUploadId(): string {
  return randomUUID();
}

// ---------------------------------------------------------------------------------------------------------------
// raw protocol

export interface RawResponse {
  status: number;
  headers: Headers;
  text: string;
  json: any;
}

export interface RawOptions {
  /** region of the SigV4 credential scope (default us-east-1); null: no Authorization header */
  region?: string | null;
  contentType?: string;
  /** the raw body; objects are JSON-encoded */
  body?: string | object;
}

export function authorizationHeader(region: string): string {
  const day = new Date().toISOString().slice(0, 10).replace(/-/g, '');
  return `AWS4-HMAC-SHA256 Credential=AKIDLOCAL/${day}/${region}/ecr-public/aws4_request, SignedHeaders=content-type;host;x-amz-date;x-amz-target, Signature=${'0'.repeat(64)}`;
}

/** Sends one hand-written awsJson1_1 request. */
export async function rawCall(emu: RunningEmulator, target: string, opts: RawOptions = {}): Promise<RawResponse> {
  const headers: Record<string, string> = {
    'content-type': opts.contentType ?? 'application/x-amz-json-1.1',
    'x-amz-target': target.includes('.') ? target : `SpencerFrontendService.${target}`,
    'x-amz-date': new Date().toISOString().replace(/[-:]/g, '').replace(/\.\d{3}/, ''),
  };
  const region = opts.region === undefined ? 'us-east-1' : opts.region;
  if (region !== null) headers.authorization = authorizationHeader(region);
  const body = opts.body === undefined ? '{}' : typeof opts.body === 'string' ? opts.body : JSON.stringify(opts.body);
  const res = await fetch(`${emu.endpoint}/`, { method: 'POST', headers, body });
  const text = await res.text();
  let json: any;
  try {
    json = text.length ? JSON.parse(text) : undefined;
  } catch {
    json = undefined;
  }
  return { status: res.status, headers: res.headers, text, json };
}

/** Checks the awsJson error shape: status, `__type`, `message`, `x-amzn-errortype`. */
export function expectRawError(res: RawResponse, name: string, status = 400): void {
  expect({ status: res.status, type: res.json?.__type }).toEqual({ status, type: name });
  expect(typeof res.json.message).toBe('string');
  expect(res.headers.get('x-amzn-errortype') ?? '').toMatch(new RegExp(`^${name}(:|$)`));
}
