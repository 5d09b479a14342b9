/**
 * Which content files the records refer to, counted: blobs and manifests are content-addressed and shared between
 * repositories, a logo belongs to one repository. A file is removed in the same step as the change that drops its last
 * reference, so that a data directory whose repositories are all deleted holds no blob, manifest or logo.
 */
import { RepositoryRecord } from './model';

/** A content file: `blob:<digest>`, `manifest:<digest>` or `logo:<name>`. */
export type ContentKey = string;

/** The content files a repository refers to (each once). */
export function contentFilesOf(repo: RepositoryRecord | undefined): Set<ContentKey> {
  const keys = new Set<ContentKey>();
  if (!repo) return keys;
  for (const digest of Object.keys(repo.blobs)) keys.add(`blob:${digest}`);
  for (const digest of Object.keys(repo.images)) keys.add(`manifest:${digest}`);
  if (repo.catalogData?.logo) keys.add(`logo:${repo.catalogData.logo}`);
  return keys;
}

export class ReferenceCounts {
  private readonly counts = new Map<ContentKey, number>();

  public count(key: ContentKey): number {
    return this.counts.get(key) ?? 0;
  }

  /** Replaces the references of one repository, `before` with `after`; returns the files nothing refers to any more. */
  public replace(before: ReadonlySet<ContentKey>, after: ReadonlySet<ContentKey>): ContentKey[] {
    const unreferenced: ContentKey[] = [];
    for (const key of after) if (!before.has(key)) this.counts.set(key, this.count(key) + 1);
    for (const key of before) {
      if (after.has(key)) continue;
      const n = this.count(key) - 1;
      if (n > 0) {
        this.counts.set(key, n);
      } else {
        this.counts.delete(key);
        unreferenced.push(key);
      }
    }
    return unreferenced;
  }
}
