/**
 * The emulator's own reading of images: manifest media types, digests, descriptors, and the parts of a manifest or an
 * index the service looks at. It stands in for the service, so it reads images independently of the library's own
 * image code (`src/shared/oci`), and is the one place the emulator does.
 */
import { createHash } from 'crypto';
import * as fs from 'fs';
import { InvalidManifestError } from './errors';

// --- media types -----------------------------------------------------------------------------------------------------
// The manifest media types the service stores (Docker schema 1 and 2, manifest lists, OCI manifests and indexes).

export const DOCKER_MANIFEST_V2 = 'application/vnd.docker.distribution.manifest.v2+json';
export const DOCKER_MANIFEST_LIST = 'application/vnd.docker.distribution.manifest.list.v2+json';
export const DOCKER_MANIFEST_V1 = 'application/vnd.docker.distribution.manifest.v1+json';
export const DOCKER_MANIFEST_V1_SIGNED = 'application/vnd.docker.distribution.manifest.v1+prettyjws';
export const OCI_MANIFEST = 'application/vnd.oci.image.manifest.v1+json';
export const OCI_INDEX = 'application/vnd.oci.image.index.v1+json';

export const IMAGE_MANIFEST_TYPES: readonly string[] = [DOCKER_MANIFEST_V2, OCI_MANIFEST];
export const SCHEMA1_MANIFEST_TYPES: readonly string[] = [DOCKER_MANIFEST_V1, DOCKER_MANIFEST_V1_SIGNED];
export const INDEX_TYPES: readonly string[] = [DOCKER_MANIFEST_LIST, OCI_INDEX];
export const MANIFEST_TYPES: readonly string[] = [...IMAGE_MANIFEST_TYPES, ...SCHEMA1_MANIFEST_TYPES, ...INDEX_TYPES];

// --- digests ---------------------------------------------------------------------------------------------------------

/** A sha256 digest, as the service computes every digest (of a manifest's bytes, of a blob). */
export const SHA256_DIGEST = /^sha256:[a-f0-9]{64}$/;
/** The API model's `LayerDigest` pattern (unanchored, as the model gives it): what a client may name a blob by. */
export const LAYER_DIGEST_PATTERN = /[a-zA-Z0-9-_+.]+:[a-fA-F0-9]+/;
const WELL_FORMED_LAYER_DIGEST = new RegExp(`^(?:${LAYER_DIGEST_PATTERN.source})$`);
/** A descriptor's digest in a manifest: `algorithm:encoded`, the OCI image spec's grammar. */
const DESCRIPTOR_DIGEST = /^[a-z0-9]+(?:[+._-][a-z0-9]+)*:[a-zA-Z0-9=_-]+$/;

/** Whether `digest` is well formed for a blob (completing an upload, checking a layer's availability). */
export function isWellFormedLayerDigest(digest: string): boolean {
  return WELL_FORMED_LAYER_DIGEST.test(digest);
}

/** `sha256:<hex>` of `data` (a string as its UTF-8 bytes). */
export function sha256Digest(data: Buffer | string): string {
  return `sha256:${createHash('sha256').update(data).digest('hex')}`;
}

/** `sha256:<hex>` of the file `file`, read a MiB at a time. */
export function sha256FileDigest(file: string): string {
  const hash = createHash('sha256');
  const fd = fs.openSync(file, 'r');
  try {
    const chunk = Buffer.alloc(1024 * 1024);
    for (let n = fs.readSync(fd, chunk); n > 0; n = fs.readSync(fd, chunk)) hash.update(chunk.subarray(0, n));
  } finally {
    fs.closeSync(fd);
  }
  return `sha256:${hash.digest('hex')}`;
}

// --- manifests -------------------------------------------------------------------------------------------------------

export interface Descriptor {
  readonly mediaType?: string;
  readonly digest: string;
  readonly size?: number;
}

/** A manifest read from its exact bytes: the parsed document, its media type and its digest. */
export interface ManifestRead {
  readonly manifest: any;
  readonly mediaType: string;
  /** The sha256 of the exact bytes: a client that re-serialises its manifest gets a different one. */
  readonly digest: string;
}

/**
 * Reads a manifest as the service stores it: UTF-8 text (the service keeps a manifest as a string: other bytes could
 * not round-trip) of a JSON object, with a media type that is its own `mediaType` member, else the one `given` with
 * the request (in the request member `givenMember`); both must agree and be a manifest type, and anything but
 * schema 1 is `schemaVersion` 2. InvalidManifestError otherwise.
 */
export function readManifest(bytes: Buffer, given: string | undefined, givenMember: string): ManifestRead {
  const text = bytes.toString('utf8');
  if (!Buffer.from(text, 'utf8').equals(bytes)) throw new InvalidManifestError('imageManifest', 'must be UTF-8 text');
  let manifest: any;
  try {
    manifest = JSON.parse(text);
  } catch {
    throw new InvalidManifestError('imageManifest', 'must be valid JSON');
  }
  if (typeof manifest !== 'object' || manifest === null || Array.isArray(manifest)) {
    throw new InvalidManifestError('imageManifest', 'must be a JSON object');
  }
  return { manifest, mediaType: manifestMediaType(manifest, given, givenMember), digest: sha256Digest(bytes) };
}

/** Whether a manifest of `mediaType` is an index (or manifest list), whose children are images. */
export function isIndex(mediaType: string): boolean {
  return INDEX_TYPES.includes(mediaType);
}

/** An index's children (`manifests`), each a descriptor with a well-formed digest. */
export function indexChildren(manifest: any): Descriptor[] {
  return descriptors(manifest.manifests, 'manifests');
}

/**
 * The blobs an image manifest references: its config (none in schema 1) and its layers (`fsLayers` in schema 1), at
 * least one, each a descriptor with a well-formed digest.
 */
export function imageBlobs(manifest: any, mediaType: string): { config?: Descriptor; layers: Descriptor[] } {
  let blobs: { config?: Descriptor; layers: Descriptor[] };
  if (SCHEMA1_MANIFEST_TYPES.includes(mediaType)) {
    const fsLayers = Array.isArray(manifest.fsLayers) ? manifest.fsLayers : [];
    blobs = { layers: descriptors(fsLayers.map((l: any) => ({ digest: l?.blobSum })), 'fsLayers') };
  } else {
    const [config] = descriptors([manifest.config], 'config');
    blobs = { config, layers: descriptors(manifest.layers ?? [], 'layers') };
  }
  if (blobs.layers.length === 0) throw new InvalidManifestError('imageManifest', 'Image has to have at least 1 layer');
  return blobs;
}

/** The OCI 1.1 empty descriptor's media type: the config of an artifact that has none (`{}`, 2 bytes). */
export const OCI_EMPTY = 'application/vnd.oci.empty.v1+json';
/** A media type as RFC 6838 words it (`type/subtype`, with suffixes and parameters-free), as `artifactType` must be. */
const MEDIA_TYPE = /^[A-Za-z0-9][A-Za-z0-9!#$&^_.+-]{0,126}\/[A-Za-z0-9][A-Za-z0-9!#$&^_.+-]{0,126}$/;

/** What makes a manifest a referrer (OCI 1.1): the manifest it refers to, and the type of artifact it is. */
export interface ReferrerFacts {
  /** The digest of the manifest's `subject`, which need not be stored (yet). */
  readonly subject?: string;
  /**
   * The type the referrers API lists it under: its own `artifactType`, else its config's media type (an image
   * manifest), else none (an index without `artifactType`).
   */
  readonly artifactType?: string;
}

/**
 * The OCI 1.1 members of a manifest or an index: `subject` (a descriptor with a well-formed digest and a media type),
 * `artifactType` (a media type, required when the config is the empty descriptor, as the image spec says) and
 * `annotations` (strings by string). InvalidManifestError otherwise.
 */
export function referrerFacts(manifest: any, config: Descriptor | undefined): ReferrerFacts {
  const { subject, artifactType, annotations } = manifest;
  if (subject !== undefined) {
    const [d] = descriptors([subject], 'subject');
    if (typeof d.mediaType !== 'string' || !MANIFEST_TYPES.includes(d.mediaType)) {
      throw new InvalidManifestError('imageManifest', 'subject must be the descriptor of a manifest (mediaType a manifest type)');
    }
  }
  if (artifactType !== undefined && (typeof artifactType !== 'string' || !MEDIA_TYPE.test(artifactType))) {
    throw new InvalidManifestError('imageManifest', 'artifactType must be a media type (type/subtype)');
  }
  if (artifactType === undefined && config?.mediaType === OCI_EMPTY) {
    throw new InvalidManifestError('imageManifest', `artifactType must be set when the config is the empty descriptor (${OCI_EMPTY})`);
  }
  if (annotations !== undefined && !isStringMap(annotations)) {
    throw new InvalidManifestError('imageManifest', 'annotations must be an object of string values');
  }
  return { subject: subject?.digest, artifactType: artifactType ?? config?.mediaType };
}

function isStringMap(value: unknown): boolean {
  return typeof value === 'object' && value !== null && !Array.isArray(value) && Object.values(value).every((v) => typeof v === 'string');
}

function manifestMediaType(manifest: any, given: string | undefined, givenMember: string): string {
  const own = manifest.mediaType;
  if (own !== undefined && typeof own !== 'string') throw new InvalidManifestError('imageManifest', 'mediaType must be a string');
  if (own !== undefined && given !== undefined && own !== given) {
    throw new InvalidManifestError(givenMember, `must match the manifest's mediaType '${own}'`);
  }
  const mediaType = own ?? given;
  if (mediaType === undefined) {
    throw new InvalidManifestError(givenMember, 'must be given when the manifest has no mediaType member');
  }
  if (!MANIFEST_TYPES.includes(mediaType)) {
    throw new InvalidManifestError(givenMember, `must be one of ${MANIFEST_TYPES.join(', ')} (got '${mediaType}')`);
  }
  if (!SCHEMA1_MANIFEST_TYPES.includes(mediaType) && manifest.schemaVersion !== 2) {
    throw new InvalidManifestError('imageManifest', 'schemaVersion must be 2');
  }
  return mediaType;
}

function descriptors(list: unknown, member: string): Descriptor[] {
  if (!Array.isArray(list)) throw new InvalidManifestError('imageManifest', `${member} must be a list of descriptors`);
  return list.map((d: any, i) => {
    if (typeof d !== 'object' || d === null || typeof d.digest !== 'string' || !DESCRIPTOR_DIGEST.test(d.digest)) {
      throw new InvalidManifestError('imageManifest', `${member}[${i}] must be a descriptor with a valid digest`);
    }
    return d as Descriptor;
  });
}

/**
 * The one tag grammar of both push paths (PutImage and the registry's manifest PUT): the distribution spec's, which
 * is what the registry API can serve (`GET /v2/<name>/manifests/<tag>`). The API model only bounds a tag to 1-300
 * characters; private ECR's backend was seen refusing `a/b`, `a:b` and spaces (`[a-zA-Z0-9-_.]+`). For ECR Public
 * this is unverified: the emulator takes the strict reading, so that no tag is stored that no client could pull.
 */
export const IMAGE_TAG_PATTERN = /[a-zA-Z0-9_][a-zA-Z0-9._-]{0,127}/;

/** Whether `tag` is a tag both push paths store (the whole string matches {@link IMAGE_TAG_PATTERN}). */
export function isStorableTag(tag: string): boolean {
  return new RegExp(`^(?:${IMAGE_TAG_PATTERN.source})$`).test(tag);
}
