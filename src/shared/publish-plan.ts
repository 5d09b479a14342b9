/**
 * The contract between synth time and the image-publisher handler. At synth, an image archive (OCI layout, OCI archive,
 * docker-save archive, optionally gzip-compressed) is inspected and staged as ONE UNCOMPRESSED TAR, uploaded as an S3
 * asset; the plan says where each blob's bytes are in that tar, so the handler can fetch every blob with a ranged
 * GetObject, in parallel, without reading the archive twice or writing it to disk.
 */
import { ArtifactFile } from './oci/artifact';
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
  /**
   * The image's referrers (OCI 1.1: manifests whose `subject` is the root, one of its children, or an earlier
   * referrer), pushed after the image and before its tags, in this order (an index's children before it). Their blobs
   * are among `blobs`. Left out when there are none, so that the plan of an image without referrers is unchanged.
   */
  readonly referrers?: PlanManifest[];
}

/**
 * A file attached to the image as an OCI 1.1 artifact (`ImageArtifact.fromFile`): what its manifest says of it, and
 * where its bytes are in the staged artifacts tar. The handler writes the manifest (`artifactManifest` of
 * `oci/artifact.ts`), its subject the image as published.
 */
export interface PlanArtifact extends ArtifactFile {
  /** Byte offset of the file's data in the staged artifacts tar. */
  readonly offset: number;
}

/**
 * The files attached to an image, staged at synth as one uncompressed tar (an S3 asset of its own, whatever the
 * image's source), read at deploy with ranged GetObjects as an archive's blobs are.
 */
export interface ArtifactsPlan {
  readonly version: 1;
  /** In the order given; each is pushed after the image's own referrers, before its tags. */
  readonly artifacts: PlanArtifact[];
}

/** The largest file an artifact can be: what the layered upload takes (1,000 parts of 10 MiB). */
export const MAX_ARTIFACT_BYTES = 10_000 * 1024 * 1024;

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
  /**
   * 'false' not to copy the referrers (OCI 1.1) the source registry lists for the image (registry sources; an archive's
   * plan lists the referrers to publish). @default 'true'
   */
  readonly IncludeReferrers?: string;
  /** S3 location of the staged artifacts tar, when files are attached (`ImageArtifact`). */
  readonly ArtifactsBucket?: string;
  readonly ArtifactsKey?: string;
  /** The ArtifactsPlan as JSON text, with `ArtifactsBucket` and `ArtifactsKey`. */
  readonly Artifacts?: string;
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
