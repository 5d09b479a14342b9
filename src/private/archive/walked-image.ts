/**
 * What walking an image yields, independent of the archive format: the manifests to push (exact bytes, push order),
 * the blobs to upload (with the archive file each is in), and the archive files a repacked copy must contain. Also the
 * small helpers both walkers share (JSON parsing, blob collection); digests and descriptors are in ../oci.
 */
import { ArchiveFile } from './archive-files';
import { PlanManifest } from '../../shared/publish-plan';

/** Manifests are pushed with PutImage, whose `imageManifest` is at most 4 MiB. */
export const MAX_MANIFEST_BYTES = 4 * 1024 * 1024;
/** `index.json`, `manifest.json` and image configs are read whole; real ones are kilobytes. */
export const MAX_JSON_BYTES = 16 * 1024 * 1024;

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
  /** The image's referrers (OCI 1.1) to publish after it, in push order. @default - none */
  readonly referrers?: PlanManifest[];
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
