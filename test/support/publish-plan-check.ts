/** Checks of a publish plan against the archive it was made from: every byte range and manifest hashes to its digest. */
import * as fs from 'node:fs';
import { readAt } from '../../src/private/archive/tar-scan';
import { sha256 } from '../../src/shared/oci/digest';

/** `size` bytes of `file` at `offset`, read synchronously. */
export function readRange(file: string, offset: number, size: number): Buffer {
  const fd = fs.openSync(file, 'r');
  try {
    return readAt(fd, size, offset, file);
  } finally {
    fs.closeSync(fd);
  }
}

/** The parts of a publish plan these helpers check (structurally the PublishPlan of src/shared/publish-plan.ts). */
export interface PlanShape {
  readonly blobs: ReadonlyArray<{ readonly digest: string; readonly size: number; readonly offset: number }>;
  readonly manifests: ReadonlyArray<{ readonly digest: string; readonly manifest: string }>;
  readonly rootDigest: string;
}

/**
 * What is wrong with a plan against its tar (an empty list when nothing is): every blob's bytes at
 * [offset, offset + size) must hash to its digest, every manifest's text to its digest, the root must be the last
 * manifest, blobs must be unique and ordered by offset.
 */
export function planProblems(archivePath: string, plan: PlanShape): string[] {
  const problems: string[] = [];
  const seen = new Set<string>();
  let last = -1;
  for (const blob of plan.blobs) {
    if (seen.has(blob.digest)) problems.push(`blob ${blob.digest} listed twice`);
    seen.add(blob.digest);
    if (blob.offset < last) problems.push(`blob ${blob.digest} is out of offset order`);
    last = blob.offset;
    const actual = sha256(readRange(archivePath, blob.offset, blob.size));
    if (actual !== blob.digest) problems.push(`blob ${blob.digest} at [${blob.offset}, +${blob.size}) hashes to ${actual}`);
  }
  for (const m of plan.manifests) {
    const actual = sha256(Buffer.from(m.manifest, 'utf8'));
    if (actual !== m.digest) problems.push(`manifest ${m.digest} hashes to ${actual}`);
  }
  if (plan.manifests.length === 0 || plan.manifests[plan.manifests.length - 1].digest !== plan.rootDigest) {
    problems.push(`root ${plan.rootDigest} is not the last manifest`);
  }
  return problems;
}
