/**
 * The emulator's state: one registry (the emulator's account) and its repositories. Plain JSON, persisted as is.
 *
 * Every collection keyed by a name a client chooses (repositories, blobs, images, image tags, uploads) is a
 * {@link Dict}: an object without a prototype, so that `__proto__`, `constructor`, `toString` and the like are keys like
 * any other. A plain `{}` would answer `constructor` with `Object` and swallow a write to `__proto__`.
 */

import { Dict, dict } from '../dictionary';

export { dict, has } from '../dictionary';
export type { Dict } from '../dictionary';

export interface State {
  readonly version: 1;
  registry: RegistryRecord;
  repositories: Dict<RepositoryRecord>;
  uploads: Dict<UploadRecord>;
}

export interface RegistryRecord {
  /** The default alias, assigned at the first CreateRepository. */
  alias?: string;
  displayName?: string;
}

export interface RepositoryRecord {
  name: string;
  /** Epoch seconds. */
  createdAt: number;
  /** Absent until catalog data is first given. */
  catalogData?: CatalogRecord;
  policyText?: string;
  resourceTags: Array<{ Key: string; Value: string }>;
  /** Blobs (layers and configs) completed in this repository. */
  blobs: Dict<BlobRecord>;
  images: Dict<ImageRecord>;
  /** Image tag to the image it points at. */
  imageTags: Dict<ImageTagRecord>;
}

export interface CatalogRecord {
  description?: string;
  architectures?: string[];
  operatingSystems?: string[];
  aboutText?: string;
  usageText?: string;
  /** Path of the stored logo under the data directory's `logos/`. */
  logo?: string;
}

export interface BlobRecord {
  size: number;
  /** Learnt from the first manifest that references the blob. */
  mediaType?: string;
}

export interface ImageRecord {
  digest: string;
  manifestMediaType: string;
  artifactMediaType?: string;
  sizeInBytes: number;
  /** Epoch seconds (the emulator's clock), persisted: age-based rules read it. */
  pushedAt: number;
  /** Digests of the manifests an index or manifest list references. */
  children?: string[];
  /** A referrer's (OCI 1.1): the digest of its `subject`, which may be stored after it, or never. */
  subject?: string;
  /** A referrer's type, as the referrers API lists it (`artifactType`, else the config's media type). */
  artifactType?: string;
}

export interface ImageTagRecord {
  digest: string;
  /** Epoch seconds. */
  createdAt: number;
}

export interface UploadRecord {
  id: string;
  repositoryName: string;
  /** Bytes received so far (the next part must start here). */
  received: number;
  /** Size of each part received, in order. */
  partSizes: number[];
  /** Epoch seconds (the emulator's clock) of its start or last part: it expires this long after. */
  touchedAt: number;
}

export function emptyState(): State {
  return { version: 1, registry: {}, repositories: dict(), uploads: dict() };
}

/** A repository with nothing in it yet. */
export function emptyRepository(name: string, createdAt: number): RepositoryRecord {
  return { name, createdAt, resourceTags: [], blobs: dict(), images: dict(), imageTags: dict() };
}

/**
 * The state read back from its JSON document, every {@link Dict} made prototype-less again. JSON.parse keeps a
 * `__proto__` key as an own property, so copying the own entries round-trips every name. An upload written before
 * uploads expired gets `now` as its last touch.
 */
export function reviveState(parsed: any, now: number): State {
  const repositories = dict<RepositoryRecord>();
  for (const [name, repo] of Object.entries<RepositoryRecord>(parsed.repositories ?? {})) repositories[name] = reviveRepository(repo);
  const uploads = dict<UploadRecord>();
  for (const [id, upload] of Object.entries<UploadRecord>(parsed.uploads ?? {})) uploads[id] = reviveUpload(upload, now);
  return { version: 1, registry: { ...parsed.registry }, repositories, uploads };
}

/** A repository read back from JSON, its dictionaries prototype-less again. */
export function reviveRepository(repo: RepositoryRecord): RepositoryRecord {
  return { ...repo, blobs: dict(repo.blobs), images: dict(repo.images), imageTags: dict(repo.imageTags) };
}

/** An upload read back from JSON; one written before uploads expired gets `now` as its last touch. */
export function reviveUpload(upload: UploadRecord, now: number): UploadRecord {
  return { ...upload, touchedAt: upload.touchedAt ?? now };
}
