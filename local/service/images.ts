/** PutImage, DescribeImages, DescribeImageTags and BatchDeleteImage. */
import { Context, findRepository, findRepositoryForPush, nowSeconds, Operation, paginate, refusePaginationWith } from './context';
import { ecrError, ecrMessage, EcrPublicError, repositoryNotFound, withStoreErrors } from './errors';
import {
  Descriptor, imageBlobs, indexChildren, isIndex, OCI_INDEX, OCI_MANIFEST, readManifest, referrerFacts, SHA256_DIGEST,
} from '../store/image-format';
import { ImageRecord, RepositoryRecord } from '../store/model';

export const putImage: Operation = (ctx, input) => {
  const repo = findRepositoryForPush(ctx, input);
  const text: string = input.imageManifest;
  const tag: string | undefined = input.imageTag;
  const stored = storeImage(ctx, repo, {
    bytes: Buffer.from(text, 'utf8'),
    mediaType: input.imageManifestMediaType,
    tag,
    digest: input.imageDigest,
  });
  if (!stored.changed) {
    throw ecrError('ImageAlreadyExistsException', stored.digest, tag, repo.name, ctx.accountId);
  }
  return {
    image: {
      registryId: ctx.accountId,
      repositoryName: repo.name,
      imageId: { imageDigest: stored.digest, imageTag: tag },
      imageManifest: text,
      imageManifestMediaType: stored.mediaType,
    },
  };
};

/** A manifest to store, as PutImage or a registry client's `PUT /v2/<name>/manifests/<reference>` gives it. */
export interface ImageToStore {
  /** The exact manifest bytes: the digest is their sha256. */
  readonly bytes: Buffer;
  /** The media type given with the request (`imageManifestMediaType`, or the registry request's Content-Type). */
  readonly mediaType?: string;
  /** Where the request carried `mediaType`, for error messages. @default 'imageManifestMediaType' */
  readonly mediaTypeMember?: string;
  readonly tag?: string;
  /** The digest the client expects (ImageDigestDoesNotMatchException when it is not the computed one). */
  readonly digest?: string;
}

export interface StoredImage {
  readonly digest: string;
  readonly mediaType: string;
  /** The digest of the manifest's `subject` (OCI 1.1), which the registry API answers as `OCI-Subject`. */
  readonly subject?: string;
  /**
   * False when the image was already stored and carries the tag (or no tag was given): nothing changed. PutImage
   * refuses that with ImageAlreadyExistsException; a registry client's PUT of the same manifest succeeds, as
   * registries make it.
   */
  readonly changed: boolean;
}

/**
 * PutImage's rules, shared by the API operation and the registry API's manifest PUT: the media type (the manifest's
 * own, else the given one; both must agree and be a manifest type), the digest (sha256 of the exact bytes), an image
 * manifest's config and layers must be blobs of `repo` (LayersNotFoundException), an index's children images of
 * `repo` (ReferencedImagesNotFoundException), and a tag moves from the image it was on, which stays, untagged.
 */
export function storeImage(ctx: Context, repo: RepositoryRecord, request: ImageToStore): StoredImage {
  return withStoreErrors(() => storeManifest(ctx, repo, request));
}

/** storeImage's work, in the store's neutral errors. */
function storeManifest(ctx: Context, repo: RepositoryRecord, request: ImageToStore): StoredImage {
  const bytes = request.bytes;
  const { manifest, mediaType, digest } = readManifest(bytes, request.mediaType, request.mediaTypeMember ?? 'imageManifestMediaType');
  if (request.digest !== undefined && request.digest !== digest) {
    throw ecrError('ImageDigestDoesNotMatchException', request.digest, digest);
  }

  const record: ImageRecord = { digest, manifestMediaType: mediaType, sizeInBytes: 0, pushedAt: nowSeconds(ctx) };
  let config: Descriptor | undefined;
  if (isIndex(mediaType)) {
    const children = indexChildren(manifest);
    const missing = children.filter((c) => !repo.images[c.digest]).map((c) => c.digest);
    if (missing.length > 0) {
      throw new ReferencesNotFoundError('ReferencedImagesNotFoundException',
        ecrMessage('ReferencedImagesNotFoundException', missing, repo.name), [...new Set(missing)]);
    }
    record.children = [...new Set(children.map((c) => c.digest))];
    record.sizeInBytes = Math.max(0, ...record.children.map((d) => repo.images[d].sizeInBytes));
  } else {
    const blobs = imageBlobs(manifest, mediaType);
    const layers = blobs.layers;
    config = blobs.config;
    const missing = [...new Set([...(config ? [config] : []), ...layers].filter((d) => !repo.blobs[d.digest]).map((d) => d.digest))];
    if (missing.length > 0) {
      throw new ReferencesNotFoundError('LayersNotFoundException',
        ecrMessage('LayersNotFoundException', missing, repo.name, ctx.accountId), missing);
    }
    for (const d of [...(config ? [config] : []), ...layers]) {
      const blob = repo.blobs[d.digest];
      if (blob.mediaType === undefined && d.mediaType) blob.mediaType = d.mediaType;
    }
    record.artifactMediaType = config?.mediaType;
    record.sizeInBytes = layers.reduce((sum, l) => sum + repo.blobs[l.digest].size, 0);
  }
  // Only OCI manifests and indexes carry OCI 1.1's members; the subject need not be stored: it may come later.
  const { subject, artifactType } = mediaType === OCI_MANIFEST || mediaType === OCI_INDEX ? referrerFacts(manifest, config) : {};
  if (subject !== undefined) {
    record.subject = subject;
    record.artifactType = artifactType;
  }

  const tag = request.tag;
  const existing = repo.images[digest];
  if (existing && (tag === undefined || repo.imageTags[tag]?.digest === digest)) {
    return { digest, mediaType, subject, changed: false };
  }
  if (!existing) {
    ctx.store.writeManifest(digest, bytes);
    repo.images[digest] = record;
  }
  if (tag !== undefined) repo.imageTags[tag] = { digest, createdAt: nowSeconds(ctx) };
  ctx.store.commit();
  return { digest, mediaType, subject, changed: true };
}

/** LayersNotFoundException or ReferencedImagesNotFoundException, with the missing digests for the registry API. */
export class ReferencesNotFoundError extends EcrPublicError {
  constructor(code: 'LayersNotFoundException' | 'ReferencedImagesNotFoundException', message: string,
    public readonly digests: readonly string[]) {
    super(code, message);
  }
}

// --- reading images ---------------------------------------------------------------------------------------------------

function tagsOf(repo: RepositoryRecord, digest: string): string[] {
  return Object.entries(repo.imageTags).filter(([, t]) => t.digest === digest).map(([tag]) => tag).sort();
}

function imageDetail(ctx: Context, repo: RepositoryRecord, image: ImageRecord): Record<string, unknown> {
  const tags = tagsOf(repo, image.digest);
  return {
    registryId: ctx.accountId,
    repositoryName: repo.name,
    imageDigest: image.digest,
    // Left out, not empty, for an untagged image: clients must cope with either, and this is the less forgiving one.
    imageTags: tags.length > 0 ? tags : undefined,
    imageSizeInBytes: image.sizeInBytes,
    imagePushedAt: image.pushedAt,
    imageManifestMediaType: image.manifestMediaType,
    artifactMediaType: image.artifactMediaType,
  };
}

function imageNotFound(ctx: Context, repo: RepositoryRecord, id: { imageDigest?: string; imageTag?: string }): EcrPublicError {
  const what = [id.imageDigest && `imageDigest=${id.imageDigest}`, id.imageTag && `imageTag=${id.imageTag}`].filter(Boolean).join(', ');
  return ecrError('ImageNotFoundException', what, repo.name, ctx.accountId);
}

export const describeImages: Operation = (ctx, input) => {
  const repo = findRepository(ctx, input);
  refusePaginationWith(input, 'imageIds');
  if (input.imageIds) {
    const found = new Map<string, ImageRecord>();
    for (const id of input.imageIds as Array<{ imageDigest?: string; imageTag?: string }>) {
      const digest = id.imageTag !== undefined ? repo.imageTags[id.imageTag]?.digest : id.imageDigest;
      const image = digest ? repo.images[digest] : undefined;
      if (!image || (id.imageDigest !== undefined && id.imageDigest !== image.digest)) throw imageNotFound(ctx, repo, id);
      found.set(image.digest, image);
    }
    return { imageDetails: [...found.values()].map((i) => imageDetail(ctx, repo, i)) };
  }
  const all = Object.values(repo.images).sort((a, b) => a.pushedAt - b.pushedAt || a.digest.localeCompare(b.digest));
  const { page, nextToken } = paginate(all, input, `DescribeImages:${repo.name}`);
  return { imageDetails: page.map((i) => imageDetail(ctx, repo, i)), nextToken };
};

export const describeImageTags: Operation = (ctx, input) => {
  const repo = findRepository(ctx, input);
  const all = Object.entries(repo.imageTags).sort(([a], [b]) => a.localeCompare(b));
  const { page, nextToken } = paginate(all, input, `DescribeImageTags:${repo.name}`);
  return {
    imageTagDetails: page.map(([tag, t]) => {
      const image = repo.images[t.digest];
      return {
        imageTag: tag,
        createdAt: t.createdAt,
        imageDetail: {
          imageDigest: image.digest,
          imageSizeInBytes: image.sizeInBytes,
          imagePushedAt: image.pushedAt,
          imageManifestMediaType: image.manifestMediaType,
          artifactMediaType: image.artifactMediaType,
        },
      };
    }),
    nextToken,
  };
};

export const batchDeleteImage: Operation = (ctx, input) => {
  // registryId is a RegistryIdOrAlias here, but the operation declares no RegistryNotFoundException.
  const registryId = input.registryId === ctx.store.state.registry.alias ? ctx.accountId : input.registryId;
  if (registryId !== undefined && registryId !== ctx.accountId) throw repositoryNotFound(input.repositoryName, registryId);
  const repo = findRepository(ctx, { repositoryName: input.repositoryName });
  const imageIds: unknown[] = [];
  const failures: unknown[] = [];
  const fail = (imageId: object, failureCode: string, failureReason: string) => failures.push({ imageId, failureCode, failureReason });

  for (const id of input.imageIds as Array<{ imageDigest?: string; imageTag?: string }>) {
    const { imageDigest, imageTag } = id;
    if (imageDigest === undefined && imageTag === undefined) {
      fail(id, 'MissingDigestAndTag', 'Invalid request parameters: both tag and digest cannot be null');
      continue;
    }
    if (imageDigest !== undefined && !SHA256_DIGEST.test(imageDigest)) {
      fail(id, 'InvalidImageDigest', `Invalid image digest '${imageDigest}'`);
      continue;
    }
    const digest = imageTag !== undefined ? repo.imageTags[imageTag]?.digest : imageDigest!;
    if (imageTag !== undefined && imageDigest !== undefined && digest !== undefined && digest !== imageDigest) {
      fail(id, 'ImageTagDoesNotMatchDigest', `The tag '${imageTag}' does not point at the image with digest '${imageDigest}'`);
      continue;
    }
    const image = digest ? repo.images[digest] : undefined;
    if (!image) {
      fail(id, 'ImageNotFound', 'Requested image not found');
      continue;
    }
    const tags = tagsOf(repo, image.digest);
    const removesImage = imageTag === undefined || (tags.length === 1 && tags[0] === imageTag);
    if (removesImage) {
      const parent = Object.values(repo.images).find((i) => i.children?.includes(image.digest));
      if (parent) {
        fail(id, 'ImageReferencedByManifestList', `The image is referenced by the manifest list '${parent.digest}'`);
        continue;
      }
    }
    if (imageTag !== undefined && !removesImage) {
      delete repo.imageTags[imageTag];
      imageIds.push({ imageDigest: image.digest, imageTag });
      continue;
    }
    for (const tag of tags) delete repo.imageTags[tag];
    delete repo.images[image.digest];
    if (tags.length === 0) imageIds.push({ imageDigest: image.digest });
    for (const tag of tags) imageIds.push({ imageDigest: image.digest, imageTag: tag });
  }
  ctx.store.commit();
  return { imageIds, failures };
};
