/**
 * The stand-ins for the private Amazon ECR repositories the CDK bootstrap creates for Docker image assets
 * (`cdk-<qualifier>-container-assets-<account>-<region>`): one OCI image layout each under `<root>/private-ecr/<name>/`,
 * pushed to and pulled from through the registry API (`distribution/stand-in.ts`), whose clients authenticate with
 * the password of the private ECR API's GetAuthorizationToken (`private-ecr/endpoint.ts`). The local deployer's
 * container engine pushes asset images here, as cdk-assets pushes to ECR, and the image handler pulls them.
 *
 * The bootstrap creates its repository before any push; the emulator, which has no private ECR API to create one
 * with, holds a stand-in for each such name of its own account, empty until the first push. Uploads are files under
 * `<root>/private-ecr/.uploads/<name>/`; a blob is checked against its digest before it enters a layout, a manifest's
 * blobs must be in the layout before it does, and `index.json` is replaced atomically.
 */
import { randomUUID } from 'crypto';
import * as fs from 'fs';
import * as path from 'path';
import { replaceFile } from '../store/durable-file';
import { sha256Digest, sha256FileDigest } from '../store/image-format';

/** The folder of the emulator's root holding one OCI layout per stand-in repository. */
export const STAND_IN_FOLDER = 'private-ecr';

/** The bootstrap's repository for Docker image assets, of any qualifier and Region; the account is checked apart. */
const NAME = /^cdk-[a-z0-9]+-container-assets-([0-9]{12})-[a-z]{2}(?:-[a-z]+)+-[0-9]$/;
const DIGEST = /^sha256:([a-f0-9]{64})$/;
const UPLOAD_ID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const REF_NAME = 'org.opencontainers.image.ref.name';
/** A manifest larger than this is not read (ECR's own cap on manifests is 4 MiB). */
export const MAX_STAND_IN_MANIFEST_BYTES = 4 * 1024 * 1024;

/** Whether `name` is a repository the emulator of `accountId` stands in for. */
export function isStandInName(accountId: string, name: string): boolean {
  return NAME.exec(name)?.[1] === accountId;
}

/** The layout directory of the stand-in repository `name` (a name {@link isStandInName} accepts). */
export function standInDirectory(root: string, name: string): string {
  if (!NAME.test(name)) throw new Error(`'${name}' is not a stand-in repository name`);
  return path.join(root, STAND_IN_FOLDER, name);
}

/** A manifest of a stand-in repository, byte for byte as the layout holds it. */
export interface StandInManifest {
  readonly digest: string;
  readonly mediaType: string;
  readonly bytes: Buffer;
}

interface Descriptor {
  readonly mediaType?: unknown;
  readonly digest?: unknown;
  readonly annotations?: Record<string, unknown>;
}

/** The `manifests` of the layout's `index.json`; an unreadable index holds nothing. */
function indexEntries(dir: string): Descriptor[] {
  try {
    const index = JSON.parse(fs.readFileSync(path.join(dir, 'index.json'), 'utf8')) as { manifests?: unknown };
    return Array.isArray(index.manifests) ? index.manifests.filter((d): d is Descriptor => typeof d === 'object' && d !== null) : [];
  } catch {
    return [];
  }
}

/** The tags of the stand-in repository `name`, sorted. */
export function standInTags(root: string, name: string): string[] {
  const dir = standInDirectory(root, name);
  const tags = indexEntries(dir).map((d) => d.annotations?.[REF_NAME]).filter((t): t is string => typeof t === 'string');
  return [...new Set(tags)].sort();
}

/**
 * The manifest `reference` (a tag, or a digest the index names or one of its indexes lists) of the stand-in repository
 * `name`; undefined when it holds none. Its bytes are checked against their digest.
 */
export function standInManifest(root: string, name: string, reference: string): StandInManifest | undefined {
  const dir = standInDirectory(root, name);
  const entries = indexEntries(dir);
  const top = DIGEST.test(reference)
    ? entries.find((d) => d.digest === reference)
    : entries.find((d) => d.annotations?.[REF_NAME] === reference);
  if (top !== undefined) return readManifest(dir, top);
  if (!DIGEST.test(reference)) return undefined;
  // A platform's manifest, listed by an image index of the layout.
  for (const entry of entries) {
    const parent = readManifest(dir, entry);
    const children = parent ? (JSON.parse(parent.bytes.toString('utf8')) as { manifests?: unknown }).manifests : undefined;
    const child = Array.isArray(children) ? (children as Descriptor[]).find((d) => d?.digest === reference) : undefined;
    if (child) return readManifest(dir, child);
  }
  return undefined;
}

function readManifest(dir: string, descriptor: Descriptor): StandInManifest | undefined {
  if (typeof descriptor.digest !== 'string' || typeof descriptor.mediaType !== 'string') return undefined;
  const blob = blobFile(dir, descriptor.digest);
  if (blob === undefined || blob.size > MAX_STAND_IN_MANIFEST_BYTES) return undefined;
  const bytes = fs.readFileSync(blob.file);
  if (sha256Digest(bytes) !== descriptor.digest) return undefined;
  return { digest: descriptor.digest, mediaType: descriptor.mediaType, bytes };
}

/** The file and size of the blob `digest` of the stand-in repository `name`; undefined when it holds none. */
export function standInBlob(root: string, name: string, digest: string): { file: string; size: number } | undefined {
  return blobFile(standInDirectory(root, name), digest);
}

/** `blobs/sha256/<hex>` of the layout `dir`: a regular file whose real path lies inside the layout. */
function blobFile(dir: string, digest: string): { file: string; size: number } | undefined {
  const hex = DIGEST.exec(digest)?.[1];
  if (hex === undefined) return undefined;
  try {
    const real = fs.realpathSync(path.join(dir, 'blobs', 'sha256', hex));
    if (!real.startsWith(fs.realpathSync(dir) + path.sep)) return undefined;
    const stat = fs.statSync(real);
    return stat.isFile() ? { file: real, size: stat.size } : undefined;
  } catch {
    return undefined;
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Pushes

/** The file of the upload `id` of the stand-in repository `name`; undefined for an id that is not one of its uploads. */
export function standInUpload(root: string, name: string, id: string): { file: string; size: number } | undefined {
  if (!UPLOAD_ID.test(id)) return undefined;
  const file = path.join(uploadsDirectory(root, name), id);
  return fs.existsSync(file) ? { file, size: fs.statSync(file).size } : undefined;
}

/** Starts an upload to the stand-in repository `name`: its id. */
export function startStandInUpload(root: string, name: string): string {
  const id = randomUUID();
  const dir = uploadsDirectory(root, name);
  fs.mkdirSync(dir, { recursive: true });
  fs.writeFileSync(path.join(dir, id), Buffer.alloc(0), { flag: 'wx' });
  return id;
}

/**
 * Ends the upload `id`: its bytes become the blob `digest` of the layout when they hash to it; false (the upload
 * kept, as the distribution spec leaves it) when they do not.
 */
export function completeStandInUpload(root: string, name: string, id: string, digest: string): boolean {
  const upload = standInUpload(root, name, id);
  const hex = DIGEST.exec(digest)?.[1];
  if (!upload || hex === undefined) return false;
  if (sha256FileDigest(upload.file) !== digest) return false;
  const dir = initLayout(root, name);
  fs.renameSync(upload.file, path.join(dir, 'blobs', 'sha256', hex));
  return true;
}

/** Drops the upload `id` (nothing when it does not exist). */
export function cancelStandInUpload(root: string, name: string, id: string): void {
  const upload = standInUpload(root, name, id);
  if (upload) fs.rmSync(upload.file, { force: true });
}

/** Why a manifest cannot be stored, in the registry's terms. */
export class StandInManifestError extends Error {
  constructor(public readonly kind: 'MANIFEST_INVALID' | 'MANIFEST_BLOB_UNKNOWN', message: string) {
    super(message);
  }
}

/**
 * Stores `bytes` (a manifest of `mediaType`) in the stand-in repository `name` under `reference` (a tag, or its own
 * digest); its digest. Every blob (or, for an index, every manifest) it names must be in the layout already.
 */
export function putStandInManifest(root: string, name: string, reference: string, mediaType: string, bytes: Buffer): string {
  const digest = sha256Digest(bytes);
  if (DIGEST.test(reference) && reference !== digest) throw new StandInManifestError('MANIFEST_INVALID', `the manifest's digest is ${digest}, not ${reference}`);
  let json: { config?: { digest?: unknown }; layers?: Array<{ digest?: unknown }>; manifests?: Array<{ digest?: unknown }> };
  try {
    json = JSON.parse(bytes.toString('utf8'));
  } catch {
    throw new StandInManifestError('MANIFEST_INVALID', 'the manifest is not JSON');
  }
  if (typeof json !== 'object' || json === null || Array.isArray(json) || (json as { schemaVersion?: unknown }).schemaVersion !== 2) {
    throw new StandInManifestError('MANIFEST_INVALID', 'the manifest is not a JSON object of schemaVersion 2');
  }
  const dir = initLayout(root, name);
  const named = [json.config, ...(Array.isArray(json.layers) ? json.layers : []), ...(Array.isArray(json.manifests) ? json.manifests : [])];
  for (const descriptor of named) {
    if (descriptor === undefined) continue;
    const blob = typeof descriptor?.digest === 'string' ? blobFile(dir, descriptor.digest) : undefined;
    if (!blob) throw new StandInManifestError('MANIFEST_BLOB_UNKNOWN', `blob unknown to registry: ${String(descriptor?.digest)}`);
  }
  fs.writeFileSync(path.join(dir, 'blobs', 'sha256', digest.slice('sha256:'.length)), bytes);
  const entry = { mediaType, digest, size: bytes.length, ...(DIGEST.test(reference) ? {} : { annotations: { [REF_NAME]: reference } }) };
  // A tag moves: the entry that held it before goes.
  const kept = indexEntries(dir).filter((d) => (DIGEST.test(reference) ? d.digest !== digest : d.annotations?.[REF_NAME] !== reference));
  replaceFile(path.join(dir, 'index.json'), Buffer.from(JSON.stringify({ schemaVersion: 2, manifests: [...kept, entry] })));
  return digest;
}

/** Where the uploads to the stand-in repository `name` are kept (beside the layouts: `.uploads` is no name). */
function uploadsDirectory(root: string, name: string): string {
  return path.join(path.dirname(standInDirectory(root, name)), '.uploads', name);
}

/** The layout of the stand-in repository `name`, created empty at its first push. */
function initLayout(root: string, name: string): string {
  const dir = standInDirectory(root, name);
  if (!fs.existsSync(path.join(dir, 'index.json'))) {
    fs.mkdirSync(path.join(dir, 'blobs', 'sha256'), { recursive: true });
    fs.writeFileSync(path.join(dir, 'oci-layout'), JSON.stringify({ imageLayoutVersion: '1.0.0' }));
    replaceFile(path.join(dir, 'index.json'), Buffer.from(JSON.stringify({ schemaVersion: 2, manifests: [] })));
  }
  return dir;
}
