/** The emulator's state: one registry (the emulator's account) and its repositories. Plain JSON, persisted as is. */

export interface State {
  readonly version: 1;
  registry: RegistryRecord;
  repositories: Record<string, RepositoryRecord>;
  uploads: Record<string, UploadRecord>;
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
  blobs: Record<string, BlobRecord>;
  images: Record<string, ImageRecord>;
  /** Image tag to the image it points at. */
  imageTags: Record<string, ImageTagRecord>;
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
  /** Epoch seconds. */
  pushedAt: number;
  /** Digests of the manifests an index or manifest list references. */
  children?: string[];
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
}

export function emptyState(): State {
  return { version: 1, registry: {}, repositories: {}, uploads: {} };
}
