/**
 * The contract between synth time and the image-publisher handler. At synth, an image archive (OCI layout, OCI archive,
 * docker-save archive, optionally gzip-compressed) is inspected and staged as ONE UNCOMPRESSED TAR, uploaded as an S3
 * asset; the plan says where each blob's bytes are in that tar, so the handler can fetch every blob with a ranged
 * GetObject, in parallel, without reading the archive twice or writing it to disk.
 */
import { DOCKER_LAYER_TAR, OCI_LAYER_TAR } from './oci/media-types';

/** A blob (config or layer) to publish, located in the staged tar. */
export interface PlanBlob {
  /** `sha256:<hex>` of the bytes at [offset, offset + size). Verified by the handler while streaming. */
  readonly digest: string;
  /** Size in bytes. */
  readonly size: number;
  /** Byte offset of the blob's data in the staged tar. */
  readonly offset: number;
  /** The media type a manifest gives the blob (the first one that references it). */
  readonly mediaType?: string;
}

/** A manifest to publish, with its exact bytes (the digest is over them: they are never re-serialised). */
export interface PlanManifest {
  /** `sha256:<hex>` of `manifest` as UTF-8 bytes. */
  readonly digest: string;
  /** The manifest's media type (from the manifest, or from the descriptor that referenced it). */
  readonly mediaType: string;
  /** The manifest text, byte for byte as in the archive. */
  readonly manifest: string;
}

/** Everything the handler needs to publish one image (a manifest, or an index with its children). */
export interface PublishPlan {
  readonly version: 1;
  /** Blobs, deduplicated by digest, ordered by offset. */
  readonly blobs: PlanBlob[];
  /** Manifests in push order: every child before the index that references it; the root is last. */
  readonly manifests: PlanManifest[];
  /** Digest of the root manifest (the last of `manifests`). */
  readonly rootDigest: string;
  /** The reference the image was selected by (a tag name, an image name or a digest), for messages. */
  readonly ref?: string;
}

/** Media types of uncompressed layers: these are gzip-compressed at deploy unless told otherwise. */
export const UNCOMPRESSED_LAYER_TYPES: readonly string[] = [OCI_LAYER_TAR, DOCKER_LAYER_TAR];

/** How the handler authenticates to a source registry. */
export type SourceAuth = 'anonymous' | 'ecr' | 'secret';

/**
 * Properties of `Custom::EcrPublicImage`. CloudFormation passes scalars as strings.
 *
 * Two kinds of source: an archive staged in S3 (`ArchiveBucket`, `ArchiveKey`, `Plan`, `SourceDigest`), or an image in
 * a registry (`SourceImage` and the other `Source*` properties), copied through the registry pull API.
 */
export interface ImageProperties {
  readonly RepositoryName: string;
  /** S3 location of the staged, uncompressed tar (archive sources). */
  readonly ArchiveBucket?: string;
  readonly ArchiveKey?: string;
  /** The PublishPlan as JSON text (archive sources). */
  readonly Plan?: string;
  /** The source's root manifest digest: an unchanged image is an unchanged property, so no update (archive sources). */
  readonly SourceDigest?: string;
  /**
   * The image to copy from a registry (registry sources): `registry/repository[:tag][@digest]`. A tag is resolved to a
   * digest at deploy; the `SourceDigest` attribute reports it.
   */
  readonly SourceImage?: string;
  /** How to authenticate to the source registry: 'anonymous' (the default), 'ecr' or 'secret'. */
  readonly SourceAuth?: SourceAuth;
  /** The Secrets Manager secret holding `{"username": ..., "password": ...}` ('secret' auth). */
  readonly SourceSecretArn?: string;
  /** The Region whose `ecr:GetAuthorizationToken` gives the credentials ('ecr' auth). */
  readonly SourceEcrRegion?: string;
  /** `os/architecture[/variant]`: copy only this platform's image out of a multi-platform index. */
  readonly SourcePlatform?: string;
  /** Tags to apply once everything else is in place. */
  readonly Tags?: string[];
  /** 'true' to gzip uncompressed layers (deterministically) before publishing them (archive sources only). */
  readonly CompressLayers: string;
  /** How many blobs upload at once. */
  readonly Concurrency: string;
  /** 'true' to delete the pushed image when the resource is deleted. */
  readonly DeleteOnRemove: string;
  /** Seconds the publish may take over all its runs (the custom resource's ServiceTimeout); one hour when absent. */
  readonly PublishTimeout?: string;
}

/** Attributes of `Custom::EcrPublicImage`. */
export interface ImageAttributes {
  /** Digest of the published root manifest (differs from SourceDigest when layers were compressed). */
  readonly ImageDigest: string;
  /** `<repositoryUri>@<ImageDigest>`. */
  readonly ImageUri: string;
  /** Digest of the source's root manifest; for a registry source, what its tag resolved to at this deploy. */
  readonly SourceDigest: string;
}
