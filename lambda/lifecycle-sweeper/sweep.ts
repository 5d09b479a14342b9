/**
 * One repository's sweep (handler side): every image listed (DescribeImages, all pages, before anything is decided, so
 * that counts are never taken on part of a repository), its referrers told apart (`referrers.ts`: they are no images
 * of their own, and expire with their subject), the rules evaluated, and the expired images deleted by digest in
 * batches of 100, referrers first, then image indexes so that the images they reference can go after them in the same
 * run. The service refuses to delete an image an index still references (ImageReferencedByManifestList): it is kept and reported.
 * The SDK client retries throttling (six attempts with backoff).
 */
import { BatchDeleteImageCommand, ECRPUBLICClient, ImageDetail, paginateDescribeImages } from '@aws-sdk/client-ecr-public';
import { evaluateRules, ImageFacts } from './evaluate';
import { findReferrers } from './referrers';
import { RepositoryLifecycle, RepositorySweepResult } from '../../src/shared/lifecycle-contract';
import { isIndex } from '../../src/shared/oci/media-types';
import { log } from '../shared/log';

/** The API's limit on image ids per BatchDeleteImage. */
const DELETE_BATCH = 100;
/** The API's largest page of DescribeImages. */
const PAGE_SIZE = 1000;
/** How many expired digests a dry run's summary lists (a log event holds 256 KB). */
const MAX_LISTED = 500;

export interface SweepOptions {
  /** "Now" for image ages, epoch ms. */
  readonly now: number;
  /** Stop before this time (epoch ms): nothing is started after it. */
  readonly deadline: number;
  /** Report only, whatever the repository's mode. */
  readonly dryRun?: boolean;
}

/** Sweeps one repository; logs and returns its summary. */
export async function sweepRepository(ecr: ECRPUBLICClient, lifecycle: RepositoryLifecycle, options: SweepOptions): Promise<RepositorySweepResult> {
  const name = lifecycle.repositoryName;
  const dryRun = options.dryRun === true || lifecycle.mode === 'dry-run';
  const base = {
    repository: name,
    dryRun,
    // Keyed by rule priority: no prototype to collide with.
    byRule: Object.create(null) as Record<string, number>,
    keptProtected: [] as string[],
    keptReferenced: [] as string[],
    failures: [] as string[],
  };

  const images: ImageDetail[] = [];
  for await (const page of paginateDescribeImages({ client: ecr, pageSize: PAGE_SIZE }, { repositoryName: name })) {
    images.push(...(page.imageDetails ?? []));
    if (Date.now() >= options.deadline) return report({ ...base, imagesSeen: images.length, expired: 0, kept: images.length, complete: false });
  }
  const byDigest = new Map(images.map((i) => [i.imageDigest!, i]));
  const referrers = await findReferrers(ecr, name, [...byDigest.keys()], options.deadline);
  if (!referrers.complete) return report({ ...base, imagesSeen: images.length, expired: 0, kept: images.length, complete: false });
  // Referrers are no images of their own: no rule counts or selects them; they expire with their subject.
  const facts: ImageFacts[] = images.filter((i) => !referrers.subjectOf.has(i.imageDigest!)).map((i) => ({
    digest: i.imageDigest!,
    tags: i.imageTags ?? [],
    pushedAt: i.imagePushedAt?.getTime() ?? options.now,
  }));
  const evaluation = evaluateRules(facts, lifecycle.rules, options.now, lifecycle.protectedTags);
  base.keptProtected.push(...evaluation.keptProtected);
  const withReferrers = [...referrersOfExpired(evaluation.expire, referrers.subjectOf, byDigest, lifecycle.protectedTags), ...evaluation.expire];
  const ruleOf = new Map(withReferrers.map((e) => [e.digest, e.rulePriority]));
  const count = (digests: Iterable<string>) => {
    for (const d of digests) base.byRule[String(ruleOf.get(d))] = (base.byRule[String(ruleOf.get(d))] ?? 0) + 1;
  };

  if (dryRun) {
    const digests = withReferrers.map((e) => e.digest);
    count(digests);
    const wouldExpire = withReferrers.slice(0, MAX_LISTED).map((e) => {
      const subject = referrers.subjectOf.get(e.digest);
      return `${e.digest} [${(byDigest.get(e.digest)?.imageTags ?? []).join(',')}] rule ${e.rulePriority}${subject ? ` (referrer of ${subject})` : ''}`;
    });
    return report({ ...base, imagesSeen: images.length, expired: digests.length, kept: images.length - digests.length, complete: true, wouldExpire });
  }

  // Referrers first (a run stopped by its deadline leaves their subject, which the next run expires with them again),
  // then indexes, in batches of their own (whether the service deletes a batch in order is not documented): an image
  // an index references can only go after it.
  const listsOthers = (d: string) => isIndex(byDigest.get(d)?.imageManifestMediaType ?? '');
  const referrerDigests = withReferrers.filter((e) => referrers.subjectOf.has(e.digest)).map((e) => e.digest);
  const digests = evaluation.expire.map((e) => e.digest);
  const batches = [
    ...chunks(referrerDigests.filter(listsOthers), DELETE_BATCH), ...chunks(referrerDigests.filter((d) => !listsOthers(d)), DELETE_BATCH),
    ...chunks(digests.filter(listsOthers), DELETE_BATCH), ...chunks(digests.filter((d) => !listsOthers(d)), DELETE_BATCH),
  ];
  const deleted = new Set<string>();
  let complete = true;
  for (const batch of batches) {
    if (Date.now() >= options.deadline) {
      complete = false;
      break;
    }
    const out = await ecr.send(new BatchDeleteImageCommand({ repositoryName: name, imageIds: batch.map((imageDigest) => ({ imageDigest })) }));
    for (const id of out.imageIds ?? []) if (id.imageDigest) deleted.add(id.imageDigest);
    for (const failure of out.failures ?? []) {
      const digest = failure.imageId?.imageDigest ?? '?';
      if (failure.failureCode === 'ImageReferencedByManifestList') base.keptReferenced.push(digest);
      // Gone already (deleted by hand, or by an earlier run whose answer was lost): nothing left to do.
      else if (failure.failureCode === 'ImageNotFound') continue;
      else base.failures.push(`${digest}: ${failure.failureCode}: ${failure.failureReason ?? ''}`);
    }
  }
  count(deleted);
  return report({ ...base, imagesSeen: images.length, expired: deleted.size, kept: images.length - deleted.size, complete });
}

/**
 * The referrers of the images `expire`d (and theirs, a signature of an SBOM), each with the rule of the image it
 * hangs from; deepest first, so that a referrer goes before the one it refers to. A referrer carrying a protected tag
 * is kept, and so are its own referrers.
 */
function referrersOfExpired(expire: ReadonlyArray<{ digest: string; rulePriority: number }>, subjectOf: ReadonlyMap<string, string>,
  byDigest: ReadonlyMap<string, ImageDetail>, protectedTags: readonly string[] = []): Array<{ digest: string; rulePriority: number }> {
  const referrersOf = new Map<string, string[]>();
  for (const [referrer, subject] of subjectOf) referrersOf.set(subject, [...referrersOf.get(subject) ?? [], referrer]);
  const protectedSet = new Set(protectedTags);
  const out: Array<{ digest: string; rulePriority: number }> = [];
  const seen = new Set<string>();
  const visit = (subject: string, rulePriority: number): void => {
    for (const referrer of (referrersOf.get(subject) ?? []).sort()) {
      if (seen.has(referrer) || (byDigest.get(referrer)?.imageTags ?? []).some((t) => protectedSet.has(t))) continue;
      seen.add(referrer);
      visit(referrer, rulePriority);
      out.push({ digest: referrer, rulePriority });
    }
  };
  for (const e of expire) visit(e.digest, e.rulePriority);
  return out;
}

function chunks<T>(items: T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}

/** One JSON line per repository, so that CloudWatch Logs Insights can query the fields. */
function report(summary: RepositorySweepResult): RepositorySweepResult {
  log({ lifecycleSweep: summary });
  return summary;
}
