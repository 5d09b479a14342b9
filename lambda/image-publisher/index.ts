/**
 * Handler of `Custom::EcrPublicImage`: publishes an image staged in S3, or copied from a registry through the pull API,
 * into a public repository through the layered upload API, moves its tags, and removes it (when asked) with the
 * resource.
 *
 * The physical id is `<repository>@<digest>` of the published root manifest: a new image or a new repository is a new
 * id, for which CloudFormation later sends a Delete of the old one (which only deletes when DeleteOnRemove is 'true').
 */
import { DescribeRepositoriesCommand, ECRPUBLICClient } from '@aws-sdk/client-ecr-public';
import { S3Client } from '@aws-sdk/client-s3';
import { assetClient } from './archive-source';
import { WithArtifactsBlobSource } from './attached-artifacts';
import { continuedAcrossRuns, HandOverRequired, PublishRun } from './hand-over';
import { deleteImage, describeImage, removeTagIfOn } from './image-cleanup';
import { OpenedSource, openSource, pinned } from './image-origin';
import { putManifest } from './manifest-push';
import { PublishStats } from './progress';
import { PublishContext, pushImage, ResolvedImage, resolveImage } from './publish';
import { ScratchSpace } from './scratch-space';
import { ImageSettings, parseSettings, parseTags } from './settings';
import { formatImageReference } from '../../src/shared/image-reference';
import { isSha256Digest } from '../../src/shared/oci/digest';
import { isIndex } from '../../src/shared/oci/media-types';
import { ImageAttributes, ImageProperties } from '../../src/shared/publish-plan';
import { CreateEvent, customResourceHandler, DeleteEvent, HandlerResult, UpdateEvent } from '../shared/cfn-response';
import { ecrPublicClient, isErrorNamed, withAdvice } from '../shared/ecr-public-client';
import { log } from '../shared/log';

/** The Lambda entry point. */
export const handler = customResourceHandler<ImageProperties>(continuedAcrossRuns(async (event, run) => {
  const ecr = ecrPublicClient();
  const s3 = assetClient();
  try {
    switch (event.RequestType) {
      case 'Create': return await onCreate(ecr, s3, event, run);
      case 'Update': return await onUpdate(ecr, s3, event, run);
      case 'Delete': return await onDelete(ecr, s3, event);
    }
  } finally {
    ecr.destroy();
    s3.destroy();
  }
}));

async function onCreate(ecr: ECRPUBLICClient, s3: S3Client, event: CreateEvent<ImageProperties>, run?: PublishRun): Promise<HandlerResult> {
  const published = await publish(ecr, s3, parseSettings(event.ResourceProperties), undefined, run);
  return published.result;
}

async function onUpdate(ecr: ECRPUBLICClient, s3: S3Client, event: UpdateEvent<ImageProperties>, run?: PublishRun): Promise<HandlerResult> {
  const settings = parseSettings(event.ResourceProperties);
  const previous = parsePhysicalId(event.PhysicalResourceId);
  // The image this resource published before, as CloudFormation recorded it: its compressed layers are ours.
  const published = await publish(ecr, s3, settings, previous?.repositoryName === settings.repositoryName ? previous.digest : undefined, run);
  // In another repository the old tags are the old image's business (its Delete follows the new physical id).
  if (previous && previous.repositoryName === settings.repositoryName) {
    await removeDroppedTags(ecr, s3, event.OldResourceProperties, previous.digest, settings, published.image);
  }
  return published.result;
}

async function onDelete(ecr: ECRPUBLICClient, s3: S3Client, event: DeleteEvent<ImageProperties>): Promise<HandlerResult> {
  const physicalResourceId = event.PhysicalResourceId;
  const props = event.ResourceProperties;
  if (props.DeleteOnRemove !== 'true') return { physicalResourceId };
  const ref = parsePhysicalId(physicalResourceId);
  if (!ref) {
    log({ delete: physicalResourceId, skipped: 'the physical id names no image' });
    return { physicalResourceId };
  }
  try {
    await removeImage(ecr, s3, ref, props);
  } catch (err) {
    // The repository went first (or was never there): nothing of the image is left.
    if (isErrorNamed(err, 'RepositoryNotFoundException')) return { physicalResourceId };
    throw err;
  }
  return { physicalResourceId };
}

// ---------------------------------------------------------------------------------------------------------------

interface Published {
  readonly result: HandlerResult;
  readonly image: ResolvedImage;
}

/**
 * Publishes the image of `settings` with its tags and returns the resource's id and attributes. `publishedBefore` is the
 * root digest this resource published into the same repository before (from its physical id).
 */
async function publish(
  ecr: ECRPUBLICClient, s3: S3Client, settings: ImageSettings, publishedBefore: string | undefined, run?: PublishRun,
): Promise<Published> {
  const repositoryUri = await describeRepositoryUri(ecr, settings.repositoryName);
  const stats = new PublishStats();
  let image: ResolvedImage | undefined;
  let source: OpenedSource | undefined;
  // Only layers compressed here need a scratch space.
  const scratch = settings.compressLayers ? ScratchSpace.open() : undefined;
  try {
    source = await openSource(settings.source, s3);
    const target = { repositoryName: settings.repositoryName, repositoryUri, tags: settings.tags, publishedByThisResource: publishedBefore };
    const ctx = { ...context(ecr, s3, source, settings, stats), scratch, target, run };
    image = await resolveImage(ctx);
    await pushImage(ctx, settings.repositoryName, image, settings.tags);
  } catch (err) {
    const outcome = err instanceof HandOverRequired ? 'HANDED_OVER' : 'FAILED';
    stats.logSummary({ outcome, repositoryName: settings.repositoryName, ref: sourceRef(settings) });
    throw err;
  } finally {
    scratch?.dispose();
  }
  const digest = image.root.digest;
  stats.logSummary({ outcome: 'PUBLISHED', repositoryName: settings.repositoryName, imageDigest: digest, ref: sourceRef(settings) });
  const data: Record<keyof ImageAttributes, string> = {
    ImageDigest: digest,
    ImageUri: `${repositoryUri}@${digest}`,
    SourceDigest: source.resolvedDigest,
  };
  return { result: { physicalResourceId: physicalId(settings.repositoryName, digest), data }, image };
}

function context(ecr: ECRPUBLICClient, s3: S3Client, source: OpenedSource, settings: ImageSettings, stats = new PublishStats()): PublishContext {
  const { artifacts } = settings;
  return {
    ecr,
    blobs: artifacts ? new WithArtifactsBlobSource(source.blobs, s3, artifacts) : source.blobs,
    artifacts: artifacts?.artifacts,
    plan: source.plan,
    compressLayers: settings.compressLayers,
    concurrency: settings.concurrency,
    stats,
  };
}

/** The source, for the summary line: the archive's ref, or the registry reference. */
function sourceRef(settings: ImageSettings): string | undefined {
  return settings.source.kind === 'archive' ? settings.source.plan.ref : formatImageReference(settings.source.reference);
}

async function describeRepositoryUri(ecr: ECRPUBLICClient, repositoryName: string): Promise<string> {
  try {
    const out = await ecr.send(new DescribeRepositoriesCommand({ repositoryNames: [repositoryName] }));
    const uri = out.repositories?.[0]?.repositoryUri;
    if (!uri) throw new Error(`DescribeRepositories returned no repositoryUri for '${repositoryName}'`);
    return uri;
  } catch (err) {
    if (isErrorNamed(err, 'RepositoryNotFoundException')) {
      throw withAdvice(err, `The image is published into an existing repository: create '${repositoryName}' first.`);
    }
    throw err;
  }
}

/**
 * Removes the tags the old properties had and the new ones do not, each only if it still points at the image this
 * resource pushed before. ECR deletes an image with its last tag: an image that must stay (the one just published, or
 * the old one when DeleteOnRemove was not 'true') is put back, untagged.
 */
async function removeDroppedTags(
  ecr: ECRPUBLICClient, s3: S3Client, oldProps: ImageProperties, oldDigest: string, settings: ImageSettings, image: ResolvedImage,
): Promise<void> {
  const kept = new Set(settings.tags);
  const dropped = parseTags(oldProps.Tags).filter((t) => !kept.has(t));
  if (dropped.length === 0) return;
  for (const tag of dropped) await removeTagIfOn(ecr, settings.repositoryName, oldDigest, tag);
  // Whether the image went with its last tag is asked of the registry, not inferred from what the calls answered: a
  // BatchDeleteImage whose answer was lost and that the SDK sent again reports nothing removed, yet removed it.
  if (oldDigest === image.root.digest) {
    if (!(await describeImage(ecr, settings.repositoryName, oldDigest))) await putManifest(ecr, settings.repositoryName, image.root);
    return;
  }
  if (oldProps.DeleteOnRemove === 'true' || await describeImage(ecr, settings.repositoryName, oldDigest)) return;
  await restoreUntagged(ecr, s3, oldProps, oldDigest);
}

/** Puts the image of `props` back, untagged, if it resolves to `digest` (its blobs and children are still there). */
async function restoreUntagged(ecr: ECRPUBLICClient, s3: S3Client, props: ImageProperties, digest: string): Promise<void> {
  try {
    const settings = parseSettings(props);
    const ctx = context(ecr, s3, await openSource(pinned(settings.source, digest), s3), settings);
    const image = await resolveImage(ctx);
    if (image.root.digest !== digest) {
      log({ restore: digest, skipped: `the previous properties resolve to ${image.root.digest}` });
      return;
    }
    await pushImage(ctx, settings.repositoryName, image, []);
    log({ restore: digest, outcome: 'restored untagged' });
  } catch (err) {
    // Keeping an image whose last tag was removed is a courtesy: it never fails the update.
    log({ restore: digest, failed: `${(err as Error).name}: ${(err as Error).message}` });
  }
}

/**
 * Deletes the image this resource pushed, unless other tags point at it: then only this resource's tags are removed.
 * An index goes first, then its untagged children.
 */
async function removeImage(ecr: ECRPUBLICClient, s3: S3Client, ref: ImageRef, props: ImageProperties): Promise<void> {
  const { repositoryName, digest } = ref;
  const detail = await describeImage(ecr, repositoryName, digest);
  if (!detail) {
    log({ delete: `${repositoryName}@${digest}`, outcome: 'absent' });
    return;
  }
  const own = new Set(parseTags(props.Tags));
  const current = detail.imageTags ?? [];
  if (current.some((t) => !own.has(t))) {
    for (const tag of current.filter((t) => own.has(t))) await removeTagIfOn(ecr, repositoryName, digest, tag);
    log({ delete: `${repositoryName}@${digest}`, outcome: 'kept: other tags point at it', tags: current.filter((t) => !own.has(t)) });
    return;
  }
  const outcome = await deleteImage(ecr, repositoryName, digest);
  if (outcome !== 'deleted' || !(isIndex(detail.imageManifestMediaType ?? '') || mayHaveReferrers(props))) return;
  // Its children, then its referrers (ECR Public keeps referrers when their subject goes).
  for (const owned of await ownedDigests(ecr, s3, props, digest)) {
    const ownedDetail = await describeImage(ecr, repositoryName, owned);
    // A manifest that is tagged is somebody's image too.
    if (!ownedDetail || (ownedDetail.imageTags ?? []).length > 0) continue;
    await deleteImage(ecr, repositoryName, owned);
  }
}

/** Whether the image of `props` may have come with referrers: read them only then. */
function mayHaveReferrers(props: ImageProperties): boolean {
  try {
    const { source, artifacts } = parseSettings(props);
    if (artifacts && artifacts.artifacts.length > 0) return true;
    return source.kind === 'archive' ? (source.plan.referrers ?? []).length > 0 : source.includeReferrers;
  } catch {
    return false;
  }
}

/**
 * The manifests pushed with the image `digest`, in the order they can be deleted: the manifests under it (parents
 * before children), then its referrers (each index before its children), from the resource's properties (there is no
 * API to read a manifest back). Empty when the properties do not resolve to that image.
 */
async function ownedDigests(ecr: ECRPUBLICClient, s3: S3Client, props: ImageProperties, digest: string): Promise<string[]> {
  try {
    const settings = parseSettings(props);
    const image = await resolveImage(context(ecr, s3, await openSource(pinned(settings.source, digest), s3), settings));
    if (image.root.digest !== digest) {
      log({ delete: digest, childrenLeft: `the properties resolve to ${image.root.digest}` });
      return [];
    }
    return [...image.referrers, ...image.manifests.slice(0, -1)].map((m) => m.digest).reverse();
  } catch (err) {
    log({ delete: digest, childrenLeft: `${(err as Error).name}: ${(err as Error).message}` });
    return [];
  }
}

// ---------------------------------------------------------------------------------------------------------------

interface ImageRef {
  readonly repositoryName: string;
  readonly digest: string;
}

function physicalId(repositoryName: string, digest: string): string {
  return `${repositoryName}@${digest}`;
}

function parsePhysicalId(id: string): ImageRef | undefined {
  const at = id.lastIndexOf('@');
  if (at <= 0) return undefined;
  const digest = id.slice(at + 1);
  if (!isSha256Digest(digest)) return undefined;
  return { repositoryName: id.slice(0, at), digest };
}
