/**
 * Opening the source of an image: the plan and the blobs of an archive staged in S3, or the manifests and the blobs of
 * an image in a registry (with the credentials its settings call for).
 */
import { S3Client } from '@aws-sdk/client-s3';
import { ArchiveBlobSource } from './archive-source';
import { BlobSource, SourcePlan } from './blob-source';
import { ecrCredentials, RegistryCredentials, secretCredentials } from './distribution-credentials';
import { readRegistryImage } from './distribution-manifests';
import { RegistryBlobSource } from './distribution-source';
import { RegistrySettings, SourceSettings } from './settings';
import { RegistryClient } from '../shared/distribution-client';

/** An image source, ready to be read. */
export interface OpenedSource {
  readonly plan: SourcePlan;
  readonly blobs: BlobSource;
  /** The digest the source's reference resolved to (for an archive: its root's). */
  readonly resolvedDigest: string;
}

/** Opens `source`: reads the plan (from the properties, or from the registry) and prepares the blob reads. */
export async function openSource(source: SourceSettings, s3: S3Client): Promise<OpenedSource> {
  if (source.kind === 'archive') {
    const { bucket, key, plan } = source;
    return { plan, blobs: new ArchiveBlobSource(s3, bucket, key, plan.blobs), resolvedDigest: plan.rootDigest };
  }
  const client = await RegistryClient.connect(source.reference, { credentials: await credentialsFor(source) });
  const image = await readRegistryImage(client, source.reference, source.platform, source.includeReferrers);
  return { plan: image.plan, blobs: new RegistryBlobSource(client), resolvedDigest: image.resolvedDigest };
}

/**
 * `source` pinned to the image `digest` it published: reading it again gives that image even if its tag has moved
 * since (a copied image has its source's digests).
 */
export function pinned(source: SourceSettings, digest: string): SourceSettings {
  if (source.kind === 'archive') return source;
  const { platform: _platform, ...rest } = source;
  return { ...rest, reference: { registry: source.reference.registry, repository: source.reference.repository, digest } };
}

async function credentialsFor(source: RegistrySettings): Promise<RegistryCredentials | undefined> {
  switch (source.auth) {
    case 'ecr': return ecrCredentials(source.ecrRegion!);
    case 'secret': return secretCredentials(source.secretArn!);
    default: return undefined;
  }
}
