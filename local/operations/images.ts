/** PutImage, DescribeImages, DescribeImageTags and BatchDeleteImage. */
import { createHash } from 'crypto';
import { EcrPublicError, invalidParameter, repositoryNotFound } from '../errors';
import { INDEX_TYPES, MANIFEST_TYPES, SCHEMA1_MANIFEST_TYPES } from '../media-types';
import { ImageRecord, RepositoryRecord } from '../model';
import { Context, findRepository, findRepositoryForPush, nowSeconds, Operation, paginate, refusePaginationWith } from './context';

const DIGEST = /^[a-z0-9]+(?:[+._-][a-z0-9]+)*:[a-zA-Z0-9=_-]+$/;
const SHA256_DIGEST = /^sha256:[a-f0-9]{64}$/;

interface Descriptor {
  readonly mediaType?: string;
  readonly digest: string;
  readonly size?: number;
}

export const putImage: Operation = (ctx, input) => {
  const repo = findRepositoryForPush(ctx, input);
  const text: string = input.imageManifest;
  const bytes = Buffer.from(text, 'utf8');
  let manifest: any;
  try {
    manifest = JSON.parse(text);
  } catch {
    throw invalidParameter('imageManifest', 'must be valid JSON');
  }
  if (typeof manifest !== 'object' || manifest === null || Array.isArray(manifest)) {
    throw invalidParameter('imageManifest', 'must be a JSON object');
  }
  const mediaType = manifestMediaType(manifest, input.imageManifestMediaType);

  // The digest is over the exact bytes received: a client that re-serialises its manifest gets a different one.
  const digest = `sha256:${createHash('sha256').update(bytes).digest('hex')}`;
  if (input.imageDigest !== undefined && input.imageDigest !== digest) {
    throw new EcrPublicError('ImageDigestDoesNotMatchException',
      `The specified image digest '${input.imageDigest}' does not match the digest '${digest}' calculated for the manifest`);
  }

  const record: ImageRecord = { digest, manifestMediaType: mediaType, sizeInBytes: 0, pushedAt: nowSeconds() };
  if (INDEX_TYPES.includes(mediaType)) {
    const children = descriptors(manifest.manifests, 'manifests');
    const missing = children.filter((c) => !repo.images[c.digest]).map((c) => c.digest);
    if (missing.length > 0) {
      throw new EcrPublicError('ReferencedImagesNotFoundException',
        `Images with digests [${missing.join(', ')}] required for pushing the manifest list into repository '${repo.name}' do not exist`);
    }
    record.children = [...new Set(children.map((c) => c.digest))];
    record.sizeInBytes = Math.max(0, ...record.children.map((d) => repo.images[d].sizeInBytes));
  } else {
    const { config, layers } = imageBlobs(manifest, mediaType);
    if (layers.length === 0) throw invalidParameter('imageManifest', 'Image has to have at least 1 layer');
    const missing = [...(config ? [config] : []), ...layers].filter((d) => !repo.blobs[d.digest]).map((d) => d.digest);
    if (missing.length > 0) {
      throw new EcrPublicError('LayersNotFoundException',
        `The layers with digests [${[...new Set(missing)].join(', ')}] do not exist within the repository with name '${repo.name}' in the registry with id '${ctx.accountId}'`);
    }
    for (const d of [...(config ? [config] : []), ...layers]) {
      const blob = repo.blobs[d.digest];
      if (blob.mediaType === undefined && d.mediaType) blob.mediaType = d.mediaType;
    }
    record.artifactMediaType = config?.mediaType;
    record.sizeInBytes = layers.reduce((sum, l) => sum + repo.blobs[l.digest].size, 0);
  }

  const tag: string | undefined = input.imageTag;
  const existing = repo.images[digest];
  if (existing && (tag === undefined || repo.imageTags[tag]?.digest === digest)) {
    throw new EcrPublicError('ImageAlreadyExistsException',
      `Image with digest '${digest}'${tag ? ` and tag '${tag}'` : ''} already exists in the repository with name '${repo.name}' in registry with id '${ctx.accountId}'`);
  }
  if (!existing) {
    ctx.store.writeManifest(digest, bytes);
    repo.images[digest] = record;
  }
  if (tag !== undefined) repo.imageTags[tag] = { digest, createdAt: nowSeconds() };
  ctx.store.commit();
  return {
    image: {
      registryId: ctx.accountId,
      repositoryName: repo.name,
      imageId: { imageDigest: digest, imageTag: tag },
      imageManifest: text,
      imageManifestMediaType: mediaType,
    },
  };
};

/** The manifest's media type: its own `mediaType` member, else the one given with the request; they must agree. */
function manifestMediaType(manifest: any, given: string | undefined): string {
  const own = manifest.mediaType;
  if (own !== undefined && typeof own !== 'string') throw invalidParameter('imageManifest', 'mediaType must be a string');
  if (own !== undefined && given !== undefined && own !== given) {
    throw invalidParameter('imageManifestMediaType', `must match the manifest's mediaType '${own}'`);
  }
  const mediaType = own ?? given;
  if (mediaType === undefined) {
    throw invalidParameter('imageManifestMediaType', 'must be given when the manifest has no mediaType member');
  }
  if (!MANIFEST_TYPES.includes(mediaType)) {
    throw invalidParameter('imageManifestMediaType', `must be one of ${MANIFEST_TYPES.join(', ')} (got '${mediaType}')`);
  }
  if (!SCHEMA1_MANIFEST_TYPES.includes(mediaType) && manifest.schemaVersion !== 2) {
    throw invalidParameter('imageManifest', 'schemaVersion must be 2');
  }
  return mediaType;
}

function imageBlobs(manifest: any, mediaType: string): { config?: Descriptor; layers: Descriptor[] } {
  if (SCHEMA1_MANIFEST_TYPES.includes(mediaType)) {
    const fsLayers = Array.isArray(manifest.fsLayers) ? manifest.fsLayers : [];
    return { layers: descriptors(fsLayers.map((l: any) => ({ digest: l?.blobSum })), 'fsLayers') };
  }
  const [config] = descriptors([manifest.config], 'config');
  return { config, layers: descriptors(manifest.layers ?? [], 'layers') };
}

function descriptors(list: unknown, member: string): Descriptor[] {
  if (!Array.isArray(list)) throw invalidParameter('imageManifest', `${member} must be a list of descriptors`);
  return list.map((d: any, i) => {
    if (typeof d !== 'object' || d === null || typeof d.digest !== 'string' || !DIGEST.test(d.digest)) {
      throw invalidParameter('imageManifest', `${member}[${i}] must be a descriptor with a valid digest`);
    }
    return d as Descriptor;
  });
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
  return new EcrPublicError('ImageNotFoundException',
    `The image with imageId {${what}} does not exist within the repository with name '${repo.name}' in the registry with id '${ctx.accountId}'`);
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
