/**
 * One repository's sweep (handler side): every image listed (DescribeImages, all pages, before anything is decided, so
 * that counts are never taken on part of a repository), the rules evaluated, and the expired images deleted by digest
 * in batches of 100, image indexes first so that the images they reference can go after them in the same run. The
 * service refuses to delete an image an index still references (ImageReferencedByManifestList): it is kept and reported.
 * The SDK client retries throttling (six attempts with backoff).
 */
import { BatchDeleteImageCommand, ECRPUBLICClient, ImageDetail, paginateDescribeImages } from '@aws-sdk/client-ecr-public';
import { evaluateRules, ImageFacts } from './evaluate';
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
  const facts: ImageFacts[] = images.map((i) => ({
    digest: i.imageDigest!,
    tags: i.imageTags ?? [],
    pushedAt: i.imagePushedAt?.getTime() ?? options.now,
  }));
  const evaluation = evaluateRules(facts, lifecycle.rules, options.now, lifecycle.protectedTags);
  base.keptProtected.push(...evaluation.keptProtected);
  const ruleOf = new Map(evaluation.expire.map((e) => [e.digest, e.rulePriority]));
  const count = (digests: Iterable<string>) => {
    for (const d of digests) base.byRule[String(ruleOf.get(d))] = (base.byRule[String(ruleOf.get(d))] ?? 0) + 1;
  };

  if (dryRun) {
    const digests = evaluation.expire.map((e) => e.digest);
    count(digests);
    const wouldExpire = evaluation.expire.slice(0, MAX_LISTED)
      .map((e) => `${e.digest} [${(byDigest.get(e.digest)?.imageTags ?? []).join(',')}] rule ${e.rulePriority}`);
    return report({ ...base, imagesSeen: images.length, expired: digests.length, kept: images.length - digests.length, complete: true, wouldExpire });
  }

  // Indexes first, in batches of their own (whether the service deletes a batch in order is not documented): an image
  // an index references can only go after it.
  const listsOthers = (d: string) => isIndex(byDigest.get(d)?.imageManifestMediaType ?? '');
  const digests = evaluation.expire.map((e) => e.digest);
  const batches = [...chunks(digests.filter(listsOthers), DELETE_BATCH), ...chunks(digests.filter((d) => !listsOthers(d)), DELETE_BATCH)];
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
