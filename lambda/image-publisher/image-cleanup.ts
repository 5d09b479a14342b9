/** Removing tags and images: conditional tag removal, deletion by digest, and the image's current state. */
import { BatchDeleteImageCommand, DescribeImagesCommand, ECRPUBLICClient, ImageDetail } from '@aws-sdk/client-ecr-public';
import { withContext } from './errors';
import { isErrorNamed } from '../shared/ecr-public-client';
import { log } from '../shared/log';

/** The image `digest` of the repository, or undefined when the image is not there. */
export async function describeImage(ecr: ECRPUBLICClient, repositoryName: string, digest: string): Promise<ImageDetail | undefined> {
  try {
    const out = await ecr.send(new DescribeImagesCommand({ repositoryName, imageIds: [{ imageDigest: digest }] }));
    return out.imageDetails?.find((d) => d.imageDigest === digest);
  } catch (err) {
    if (isErrorNamed(err, 'ImageNotFoundException')) return undefined;
    throw withContext(err, `DescribeImages of ${repositoryName}@${digest}`);
  }
}

/**
 * Removes `tag` if, and only if, it still points at `digest` (one BatchDeleteImage naming both, so a tag that has
 * moved to another image since is left alone). Note that ECR deletes an image together with its last tag.
 * Returns whether the tag was removed.
 */
export async function removeTagIfOn(ecr: ECRPUBLICClient, repositoryName: string, digest: string, tag: string): Promise<boolean> {
  const out = await ecr.send(new BatchDeleteImageCommand({ repositoryName, imageIds: [{ imageDigest: digest, imageTag: tag }] }))
    .catch((err: unknown) => { throw withContext(err, `BatchDeleteImage of tag '${tag}' of ${repositoryName}@${digest}`); });
  const removed = (out.imageIds ?? []).some((id) => id.imageTag === tag);
  for (const f of out.failures ?? []) {
    // The tag points elsewhere, or neither it nor the image is there (also what a retried request gets).
    if (f.failureCode === 'ImageTagDoesNotMatchDigest' || f.failureCode === 'ImageNotFound') continue;
    throw new Error(`BatchDeleteImage of tag '${tag}' of ${repositoryName}@${digest} failed: ${f.failureCode} ${f.failureReason ?? ''}`.trim());
  }
  log({ tag, imageDigest: digest, removed });
  return removed;
}

/** What became of an image deleted by digest. */
export type DeleteOutcome = 'deleted' | 'absent' | 'referenced';

/** Deletes the image `digest` (with all its tags); an image an index still refers to is left (`referenced`). */
export async function deleteImage(ecr: ECRPUBLICClient, repositoryName: string, digest: string): Promise<DeleteOutcome> {
  const out = await ecr.send(new BatchDeleteImageCommand({ repositoryName, imageIds: [{ imageDigest: digest }] }))
    .catch((err: unknown) => { throw withContext(err, `BatchDeleteImage of ${repositoryName}@${digest}`); });
  let outcome: DeleteOutcome = (out.imageIds ?? []).length > 0 ? 'deleted' : 'absent';
  for (const f of out.failures ?? []) {
    if (f.failureCode === 'ImageNotFound') continue;
    if (f.failureCode === 'ImageReferencedByManifestList') {
      outcome = 'referenced';
      continue;
    }
    throw new Error(`BatchDeleteImage of ${repositoryName}@${digest} failed: ${f.failureCode} ${f.failureReason ?? ''}`.trim());
  }
  log({ deleteImage: digest, outcome });
  return outcome;
}
