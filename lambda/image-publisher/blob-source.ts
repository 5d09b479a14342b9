/**
 * Where the bytes of an image's blobs come from: the staged archive in S3 (`ArchiveBlobSource`) or a registry
 * (`RegistryBlobSource`). The publisher only ever asks a source for one blob's bytes, as a stream: it never holds a
 * whole blob, and it checks the digest itself while uploading.
 */

/** A blob (config or layer) of the image to publish. */
export interface SourceBlob {
  /** `sha256:<hex>` of the blob's bytes. */
  readonly digest: string;
  /** Size in bytes. */
  readonly size: number;
  /** The media type a manifest gives the blob, when known. */
  readonly mediaType?: string;
}

/** The image as its source describes it: what the publisher resolves and pushes. */
export interface SourcePlan {
  /** Config and layer blobs, without duplicates. */
  readonly blobs: readonly SourceBlob[];
  /** Manifests in push order: every child before the index that references it; the root is last. */
  readonly manifests: ReadonlyArray<{ readonly digest: string; readonly mediaType: string; readonly manifest: string }>;
  /** Digest of the root manifest (the last of `manifests`). */
  readonly rootDigest: string;
  /** The reference the image was selected by, for messages. */
  readonly ref?: string;
  /** The image's referrers (OCI 1.1), pushed after it and before its tags, in this order. @default - none */
  readonly referrers?: ReadonlyArray<{ readonly digest: string; readonly mediaType: string; readonly manifest: string }>;
}

/** Reads blobs. */
export interface BlobSource {
  /** Names the source in messages: `blob X in <name> does not match its digest`. */
  readonly name: string;
  /**
   * The bytes of `blob`, as they arrive. A source that breaks off mid-way is reopened from where it stopped; the
   * stream fails when the bytes cannot all be read. The caller checks the digest.
   */
  read(blob: SourceBlob): AsyncIterable<Buffer>;
}
