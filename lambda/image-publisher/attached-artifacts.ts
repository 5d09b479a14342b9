/**
 * The files attached to the image (`ImageArtifact`): their manifests, written here with the image as published as
 * their subject (`artifactManifest`, the one builder), and the source of their bytes (the staged artifacts tar, and
 * the empty config, which the handler holds itself).
 */
import { S3Client } from '@aws-sdk/client-s3';
import { ArchiveBlobSource } from './archive-source';
import { BlobSource, SourceBlob } from './blob-source';
import { StagedArtifacts } from './settings';
import { artifactManifest, EMPTY_BLOB, EMPTY_DESCRIPTOR } from '../../src/shared/oci/artifact';
import { sha256 } from '../../src/shared/oci/digest';
import { OCI_MANIFEST } from '../../src/shared/oci/media-types';
import { PlanArtifact, PlanManifest } from '../../src/shared/publish-plan';

/** The manifests of `artifacts` attached to `root`, in their order. */
export function artifactManifests(artifacts: readonly PlanArtifact[], root: PlanManifest): PlanManifest[] {
  const subject = { mediaType: root.mediaType, digest: root.digest, size: Buffer.byteLength(root.manifest, 'utf8') };
  return artifacts.map((a) => {
    const manifest = artifactManifest(a, subject);
    return { digest: sha256(manifest), mediaType: OCI_MANIFEST, manifest };
  });
}

/** The blobs the artifact manifests name: the empty config and each file. */
export function artifactBlobs(artifacts: readonly PlanArtifact[]): SourceBlob[] {
  return [EMPTY_DESCRIPTOR, ...artifacts.map(({ digest, size, mediaType }) => ({ digest, size, mediaType }))];
}

/** Reads the image's blobs from its source, the attached files from their staged tar, the empty config from memory. */
export class WithArtifactsBlobSource implements BlobSource {
  private readonly files: ArchiveBlobSource;
  private readonly fileDigests: ReadonlySet<string>;

  constructor(private readonly image: BlobSource, s3: S3Client, staged: StagedArtifacts) {
    this.files = new ArchiveBlobSource(s3, staged.bucket, staged.key, staged.artifacts);
    this.fileDigests = new Set(staged.artifacts.map((a) => a.digest));
  }

  public get name(): string {
    return this.image.name;
  }

  public read(blob: SourceBlob): AsyncIterable<Buffer> {
    if (blob.digest === EMPTY_DESCRIPTOR.digest) return (async function* () { yield EMPTY_BLOB; })();
    return this.fileDigests.has(blob.digest) ? this.files.read(blob) : this.image.read(blob);
  }
}
