/**
 * Which images of a repository are referrers (OCI 1.1: SBOMs, signatures, attestations whose `subject` is another
 * image), asked of ECR Public's registry API, anonymously, as anyone pulls: DescribeImages does not say. ECR's
 * lifecycle expiry deletes an image's referrers with it and never counts them as images of their own; the sweeper does
 * the same with what this finds.
 */
import { DescribeRepositoriesCommand, ECRPUBLICClient } from '@aws-sdk/client-ecr-public';
import { parseImageReference } from '../../src/shared/image-reference';
import { OCI_INDEX } from '../../src/shared/oci/media-types';
import { readLimited, RegistryClient } from '../shared/distribution-client';
import { SourceRegistryError } from '../shared/distribution-errors';
import { log } from '../shared/log';
import { forEachConcurrent } from '../shared/pool';

/** Referrers lists asked for at once. */
const CONCURRENCY = 8;
/** A referrers list is small; this is far beyond any real one. */
const MAX_LIST_BYTES = 4 * 1024 * 1024;

/** The referrers found: each referrer's subject, and whether every image was asked about before the deadline. */
export interface FoundReferrers {
  /** Referrer digest → the digest of its subject. */
  readonly subjectOf: ReadonlyMap<string, string>;
  readonly complete: boolean;
}

/**
 * Asks the registry for the referrers of each of `digests` (the repository's images) and keeps those that are images
 * of the repository. Stops asking at `deadline` (then `complete` is false, and nothing may be decided on the answer).
 */
export async function findReferrers(
  ecr: ECRPUBLICClient, repositoryName: string, digests: readonly string[], deadline: number,
): Promise<FoundReferrers> {
  const subjectOf = new Map<string, string>();
  if (digests.length === 0) return { subjectOf, complete: true };
  const client = await registryClient(ecr, repositoryName);
  const inRepository = new Set(digests);
  let complete = true;
  await forEachConcurrent(digests, CONCURRENCY, async (subject) => {
    if (Date.now() >= deadline) {
      complete = false;
      return;
    }
    for (const referrer of await listReferrers(client, subject)) {
      if (inRepository.has(referrer) && referrer !== subject) subjectOf.set(referrer, subject);
    }
  });
  if (subjectOf.size > 0) log({ repository: repositoryName, referrers: subjectOf.size });
  return { subjectOf, complete };
}

async function registryClient(ecr: ECRPUBLICClient, repositoryName: string): Promise<RegistryClient> {
  const out = await ecr.send(new DescribeRepositoriesCommand({ repositoryNames: [repositoryName] }));
  const uri = out.repositories?.[0]?.repositoryUri;
  if (!uri) throw new Error(`DescribeRepositories returned no repositoryUri for '${repositoryName}'`);
  return RegistryClient.connect(parseImageReference(uri));
}

/** The digests the referrers API lists for `subject`; none where the registry does not serve the API (404). */
async function listReferrers(client: RegistryClient, subject: string): Promise<string[]> {
  const what = `referrers of ${subject}`;
  try {
    const { response, abort } = await client.get(`referrers/${subject}`, { accept: OCI_INDEX, what });
    const json = JSON.parse((await readLimited(response, abort, MAX_LIST_BYTES, `${what} of ${client.name}`)).toString('utf8'));
    const manifests: unknown = json?.manifests;
    if (!Array.isArray(manifests)) throw new Error(`${what} of ${client.name}: the answer is not an image index`);
    return manifests.map((d: any) => d?.digest).filter((d): d is string => typeof d === 'string');
  } catch (err) {
    if (err instanceof SourceRegistryError && err.status === 404) return [];
    throw err;
  }
}
