/**
 * PutImage of the manifests: every child untagged, then the root, then each tag on the root. Each call sends the exact
 * manifest bytes with their media type and digest, and the digest the registry computed is checked.
 */
import { ECRPUBLICClient, PutImageCommand } from '@aws-sdk/client-ecr-public';
import { withContext } from './errors';
import { PlanManifest } from '../../src/shared/publish-plan';
import { isErrorNamed } from '../shared/ecr-public-client';
import { log } from '../shared/log';

/** What PutImage did: `stored` the manifest or the tag, or found it `present` already. */
export type PutOutcome = 'stored' | 'present';

/**
 * Puts `manifest`, with `tag` if given. `ImageAlreadyExistsException` (the same manifest, with that tag if any, is
 * already there; also what a retry of a call whose answer was lost gets) counts as done.
 */
export async function putManifest(ecr: ECRPUBLICClient, repositoryName: string, manifest: PlanManifest, tag?: string): Promise<PutOutcome> {
  const what = `manifest ${manifest.digest}${tag === undefined ? '' : ` with tag '${tag}'`}`;
  try {
    const out = await ecr.send(new PutImageCommand({
      repositoryName,
      imageManifest: manifest.manifest,
      imageManifestMediaType: manifest.mediaType,
      imageDigest: manifest.digest,
      imageTag: tag,
    }));
    const got = out.image?.imageId?.imageDigest;
    if (got !== manifest.digest) throw new Error(`PutImage of ${what} returned digest ${got}`);
    log({ manifest: manifest.digest, mediaType: manifest.mediaType, tag, outcome: 'stored' });
    return 'stored';
  } catch (err) {
    if (isErrorNamed(err, 'ImageAlreadyExistsException')) {
      log({ manifest: manifest.digest, mediaType: manifest.mediaType, tag, outcome: 'present' });
      return 'present';
    }
    throw withContext(err, `PutImage of ${what}`);
  }
}

/**
 * Puts the children (all but the last of `manifests`, in order), then the root untagged or with the first tag, then
 * every other tag: a tag is only ever set once everything the image needs is in place. With `referrers` (OCI 1.1),
 * the root goes untagged, then the referrers (their subject is in place: ECR Public's acceptance of a referrer before
 * its subject is not documented), then every tag, so that whoever follows a tag finds the image's SBOMs and signatures.
 */
export async function putManifests(
  ecr: ECRPUBLICClient, repositoryName: string, manifests: readonly PlanManifest[], tags: readonly string[],
  referrers: readonly PlanManifest[] = [],
): Promise<{ manifestsPut: number; tagsPut: number }> {
  let manifestsPut = 0;
  let tagsPut = 0;
  const root = manifests[manifests.length - 1];
  for (const child of manifests.slice(0, -1)) {
    if (await putManifest(ecr, repositoryName, child) === 'stored') manifestsPut++;
  }
  const [firstTag, ...otherTags] = referrers.length > 0 ? [undefined, ...tags] : tags;
  if (await putManifest(ecr, repositoryName, root, firstTag) === 'stored') {
    manifestsPut++;
    if (firstTag !== undefined) tagsPut++;
  }
  for (const referrer of referrers) {
    if (await putManifest(ecr, repositoryName, referrer) === 'stored') manifestsPut++;
  }
  for (const tag of otherTags) {
    if (await putManifest(ecr, repositoryName, root, tag) === 'stored') tagsPut++;
  }
  return { manifestsPut, tagsPut };
}
