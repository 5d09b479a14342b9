/**
 * Pushing an OCI layout through the Amazon ECR Public API with the image publisher's own steps: `missingBlobs`
 * (BatchCheckLayerAvailability), `uploadLayerToEcrPublic` (InitiateLayerUpload / UploadLayerPart / CompleteLayerUpload) and
 * `putManifests` (PutImage), byte for byte, so the pushed digest equals the layout's. A test that must drive the API
 * step by step, or send something malformed, does so explicitly instead.
 */
import * as fs from 'node:fs';
import { ECRPUBLICClient } from '@aws-sdk/client-ecr-public';
import { readOciLayout } from './oci-layout';
import { uploadLayerToEcrPublic } from '../../lambda/image-publisher/blob-uploader';
import { putManifests } from '../../lambda/image-publisher/manifest-push';
import { missingBlobs } from '../../lambda/image-publisher/publish';

export interface PushOptions {
  /** The tag of the top manifest. Children of an index are pushed untagged. */
  readonly tag: string;
  /**
   * The layout tag to push.
   * @default the `tag` option
   */
  readonly layoutTag?: string;
}

/** What a push did, blob by blob. */
export interface PushStats {
  /** Blobs uploaded (reported missing by BatchCheckLayerAvailability). */
  readonly uploaded: string[];
  /** Blobs reported AVAILABLE, or whose upload ended in LayerAlreadyExistsException. */
  readonly skipped: string[];
  /** Number of UploadLayerPart calls. */
  parts: number;
}

/**
 * Pushes the image of an OCI layout to an ECR Public repository: the blobs the repository lacks, then the manifests
 * (children untagged, the top manifest with `tag`). Returns the digest of the top manifest, which equals the
 * layout's digest. `stats`, when given, is filled in.
 */
export async function pushOciLayout(client: ECRPUBLICClient, repositoryName: string, layoutDir: string, options: PushOptions,
  stats: PushStats = { uploaded: [], skipped: [], parts: 0 }): Promise<string> {
  const image = readOciLayout(layoutDir, options.layoutTag ?? options.tag);
  const missing = await missingBlobs(client, repositoryName, image.blobs.map((b) => b.digest));
  for (const blob of image.blobs) {
    if (!missing.has(blob.digest)) {
      stats.skipped.push(blob.digest);
      continue;
    }
    const result = await uploadLayerToEcrPublic(client, repositoryName, {
      digest: blob.digest,
      size: blob.size,
      open: () => fs.createReadStream(blob.path),
      verify: (streamed) => {
        if (streamed.digest !== blob.digest || streamed.bytes !== blob.size) {
          throw new Error(`blob file ${blob.path} is ${streamed.bytes} bytes hashing to ${streamed.digest}, expected ${blob.size} bytes of ${blob.digest}`);
        }
      },
    });
    stats.parts += result.parts;
    (result.outcome === 'uploaded' ? stats.uploaded : stats.skipped).push(blob.digest);
  }
  const manifests = image.manifests.map((m) => {
    const text = m.bytes.toString('utf8');
    if (!Buffer.from(text, 'utf8').equals(m.bytes)) throw new Error(`manifest ${m.digest} is not valid UTF-8`);
    return { digest: m.digest, mediaType: m.mediaType, manifest: text };
  });
  await putManifests(client, repositoryName, manifests, [options.tag]);
  return image.root.digest;
}
