/**
 * The referrers of a manifest (OCI 1.1): the images of a repository whose `subject` is it, each described as the
 * distribution spec's referrers API lists it. The registry API serves them (`GET /v2/<name>/referrers/<digest>`), the
 * Gallery preview shows them.
 */
import { Context } from './context';
import { readManifest } from '../store/image-format';
import { RepositoryRecord } from '../store/model';

/** One referrer, as a descriptor of the referrers API's image index. */
export interface ReferrerDescriptor {
  readonly mediaType: string;
  readonly digest: string;
  /** The size of the referrer's manifest, in bytes. */
  readonly size: number;
  /** @default - none (an index without `artifactType`) */
  readonly artifactType?: string;
  /** The referrer manifest's own annotations. @default - none */
  readonly annotations?: Readonly<Record<string, string>>;
}

/**
 * The referrers of `subject` in `repo`, oldest first (by push time, then digest): none for a digest nothing refers
 * to, whether or not it is stored. Referrers stay after their subject is deleted (see local/README.md), so they are
 * still listed then.
 */
export function listReferrers(ctx: Context, repo: RepositoryRecord, subject: string): ReferrerDescriptor[] {
  return Object.values(repo.images)
    .filter((image) => image.subject === subject)
    .sort((a, b) => a.pushedAt - b.pushedAt || a.digest.localeCompare(b.digest))
    .map((image) => {
      const bytes = ctx.store.readManifest(image.digest);
      const { annotations } = readManifest(bytes, image.manifestMediaType, 'imageManifestMediaType').manifest;
      return {
        mediaType: image.manifestMediaType,
        digest: image.digest,
        size: bytes.length,
        ...(image.artifactType !== undefined ? { artifactType: image.artifactType } : {}),
        ...(annotations !== undefined ? { annotations } : {}),
      };
    });
}
