/**
 * What walking an image yields, independent of the archive format: the manifests to push (exact bytes, push order),
 * the blobs to upload (with the archive file each is in), and the archive files a repacked copy must contain. Also the
 * small helpers both walkers share: digest and descriptor checks, hashing, JSON parsing.
 */
import { createHash } from 'crypto';
import { PlanManifest } from '../publish-plan';
import { ArchiveFile } from './archive-files';

/** Manifests are pushed with PutImage, whose `imageManifest` is at most 4 MiB. */
export const MAX_MANIFEST_BYTES = 4 * 1024 * 1024;
/** `index.json`, `manifest.json` and image configs are read whole; real ones are kilobytes. */
export const MAX_JSON_BYTES = 16 * 1024 * 1024;

const SHA256_DIGEST = /^sha256:[0-9a-f]{64}$/;

/** A blob to upload, and where it is. */
export interface FoundBlob<F extends ArchiveFile> {
  readonly digest: string;
  readonly size: number;
  readonly mediaType?: string;
  readonly file: F;
}

/** The image selected in an archive, walked. */
export interface WalkedImage<F extends ArchiveFile> {
  /** Children before the indexes that list them; the root last. */
  readonly manifests: PlanManifest[];
  /** Config and layer blobs, deduplicated by digest, in the order first referenced. */
  readonly blobs: FoundBlob<F>[];
  readonly rootDigest: string;
  /** The ref the image was selected by, or its first name when it was the only image. */
  readonly ref?: string;
  /** Every ref the archive offers (names, or digests of unnamed images). */
  readonly refs: string[];
  /** Every archive file the image is read from (metadata, manifests, configs, layers): what a repacked tar holds. */
  readonly files: F[];
}

/** A content descriptor, checked. */
export interface Descriptor {
  readonly digest: string;
  readonly size: number;
  readonly mediaType?: string;
  readonly urls?: unknown;
}

/** `sha256:<hex>` of the bytes (of a string: of its UTF-8 encoding). */
export function sha256(data: Buffer | string): string {
  return 'sha256:' + createHash('sha256').update(data).digest('hex');
}

/** Throws unless `digest` is `sha256:<64 lowercase hex>` (the only algorithm the publisher and ECR handle). */
export function checkDigest(digest: unknown, where: string): string {
  if (typeof digest !== 'string') throw new Error(`${where}: digest is missing or not a string`);
  if (!SHA256_DIGEST.test(digest)) {
    throw new Error(`${where}: ${/^[a-z0-9+._-]+:/.test(digest) && !digest.startsWith('sha256:')
      ? `unsupported digest algorithm in ${JSON.stringify(digest.slice(0, 80))} (only sha256 is supported)`
      : `malformed digest ${JSON.stringify(digest.slice(0, 80))}`}`);
  }
  return digest;
}

/** The blob name of a digest in an OCI layout. */
export function blobName(digest: string): string {
  return `blobs/sha256/${digest.slice('sha256:'.length)}`;
}

/** Checks a descriptor object (`where` says whose it is). */
export function parseDescriptor(value: unknown, where: string): Descriptor {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new Error(`${where}: descriptor is not an object`);
  const d = value as Record<string, unknown>;
  const digest = checkDigest(d.digest, where);
  if (typeof d.size !== 'number' || !Number.isSafeInteger(d.size) || d.size < 0) {
    throw new Error(`${where}: descriptor of ${digest} has a bad size ${JSON.stringify(d.size)}`);
  }
  if (d.mediaType !== undefined && typeof d.mediaType !== 'string') throw new Error(`${where}: descriptor of ${digest} has a non-string mediaType`);
  return { digest, size: d.size, mediaType: d.mediaType as string | undefined, urls: d.urls };
}

/** Parses JSON text, with `where` in the message when it is not JSON. */
export function parseJson(bytes: Buffer, where: string): unknown {
  try {
    return JSON.parse(bytes.toString('utf8'));
  } catch (e) {
    throw new Error(`${where}: is not valid JSON (${(e as Error).message})`);
  }
}

/** Collects blobs once per digest; the first reference gives the media type. */
export class BlobSet<F extends ArchiveFile> {
  private readonly byDigest = new Map<string, FoundBlob<F>>();

  public add(blob: FoundBlob<F>, where: string): void {
    const seen = this.byDigest.get(blob.digest);
    if (!seen) {
      this.byDigest.set(blob.digest, blob);
    } else if (seen.size !== blob.size) {
      throw new Error(`${where}: blob ${blob.digest} is referenced with sizes ${seen.size} and ${blob.size}`);
    }
  }

  public list(): FoundBlob<F>[] {
    return [...this.byDigest.values()];
  }
}
