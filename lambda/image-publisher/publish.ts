/**
 * Publishing one image: resolve what will be pushed (compressing uncompressed layers when asked, several at once: the
 * pass that learns their digests also writes them to the scratch space when they fit, and they are uploaded from
 * there), check which blobs the repository lacks, upload those in parallel, then put the manifests and the tags.
 */
import { createReadStream } from 'node:fs';
import { open } from 'node:fs/promises';
import { BatchCheckLayerAvailabilityCommand, ECRPUBLICClient } from '@aws-sdk/client-ecr-public';
import { artifactBlobs, artifactManifests } from './attached-artifacts';
import { BlobSource, SourceBlob, SourcePlan } from './blob-source';
import { uploadLayerToEcrPublic, UploadableBlob, UploadOptions } from './blob-uploader';
import { BodyPool, functionMemoryMiB, sharedBodies } from './body-pool';
import { ImagePublishError, withContext } from './errors';
import type { PublishRun } from './hand-over';
import { DigestCounter, gzipChunks } from './layer-compression';
import { putManifests } from './manifest-push';
import { BlobReplacement, referencedBlobs, rewriteManifests, uncompressedLayers } from './manifest-rewrite';
import { previousCompression, PublishTarget } from './previous-compression';
import { BlobProgress, PublishStats } from './progress';
import { gzipBound, ScratchSpace } from './scratch-space';
import { PlanArtifact, PlanManifest } from '../../src/shared/publish-plan';
import { log } from '../shared/log';
import { forEachConcurrent } from '../shared/pool';

/** Compressed bytes written to the scratch space at a time. */
const WRITE_BATCH_BYTES = 1024 * 1024;
/** BatchCheckLayerAvailability takes at most 100 digests. */
const AVAILABILITY_BATCH = 100;

/** A blob as it will be stored: its final digest and size, and the source blob its bytes are made from. */
export interface ResolvedBlob {
  readonly digest: string;
  readonly size: number;
  /** The blob of the source (uncompressed, as in the plan). */
  readonly source: SourceBlob;
  /** Whether the stored blob is the gzip of the source. */
  readonly gzip: boolean;
  /** For a gzip blob: the file the first pass wrote it to, when it fitted in the scratch space. */
  readonly file?: string;
}

/** The image as it will be stored. */
export interface ResolvedImage {
  readonly blobs: readonly ResolvedBlob[];
  /** Push order: children first, the root last. */
  readonly manifests: readonly PlanManifest[];
  readonly root: PlanManifest;
  /** The image's referrers (OCI 1.1), in push order: after the root, before the tags. */
  readonly referrers: readonly PlanManifest[];
}

/** How to reach and read the image. */
export interface PublishContext {
  readonly ecr: ECRPUBLICClient;
  /** Where the blobs' bytes come from: the archive in S3, or a registry. */
  readonly blobs: BlobSource;
  readonly plan: SourcePlan;
  readonly compressLayers: boolean;
  readonly concurrency: number;
  readonly stats: PublishStats;
  /** Where compressed layers are kept between their two uses. @default - none: they are compressed twice */
  readonly scratch?: ScratchSpace;
  /**
   * The repository and tags being published to, when compressed layers may be learnt from the image a tag already
   * points at, or that this resource published before (`previous-compression.ts`). @default - none: layers to compress are compressed
   */
  readonly target?: PublishTarget & { readonly repositoryName: string };
  /** Files attached to the image, whose bytes `blobs` also reads. @default - none */
  readonly artifacts?: readonly PlanArtifact[];
  /** The run of the function this publish is a step of, which may end before the publish does. @default - one run does it all */
  readonly run?: PublishRun;
}

/** The failure of a blob whose bytes in the source are not what the plan says. */
export function digestMismatch(blobs: BlobSource, planned: string, got: string): ImagePublishError {
  return new ImagePublishError(`blob ${planned} in ${blobs.name} does not match its digest (got ${got})`);
}

/**
 * What will be pushed. Without compression, the plan as it is. With it, every uncompressed layer is streamed once
 * through gzip to learn its compressed digest and size (nothing is uploaded; the output is kept in the scratch space
 * when it fits), and the manifests are rewritten; unless the target provably holds this image compressed already
 * (`previous-compression.ts`), whose layers are then taken as they are.
 */
export async function resolveImage(ctx: PublishContext): Promise<ResolvedImage> {
  const { plan } = ctx;
  const byDigest = new Map([...artifactBlobs(ctx.artifacts ?? []), ...plan.blobs].map((b) => [b.digest, b]));
  const toCompress = ctx.compressLayers ? [...uncompressedLayers(plan)] : [];
  const replacements = (await publishedCompression(ctx, toCompress)) ?? new Map<string, BlobReplacement>();
  const files = new Map<string, string>();
  await forEachConcurrent(toCompress.filter((d) => !replacements.has(d)), ctx.concurrency, async (digest) => {
    const source = planBlob(byDigest, digest);
    const compressed = await compressLayer(ctx.blobs, source, ctx.scratch);
    replacements.set(digest, compressed.replacement);
    if (compressed.file) files.set(compressed.replacement.digest, compressed.file);
    ctx.stats.blobsCompressed++;
  });
  // Referrers are rewritten with the image: a subject whose digest changed is pointed at its new digest.
  const planned = [...plan.manifests, ...plan.referrers ?? []];
  const rewritten = replacements.size > 0 ? rewriteManifests(planned, replacements) : planned;
  const manifests = rewritten.slice(0, plan.manifests.length);
  const root = manifests[manifests.length - 1];
  // The attached files last: their manifests are written for the image as published.
  const referrers = [...rewritten.slice(plan.manifests.length), ...artifactManifests(ctx.artifacts ?? [], root)];
  const compressedSources = new Map([...replacements].map(([orig, r]) => [r.digest, { replacement: r, source: planBlob(byDigest, orig) }]));

  const blobs: ResolvedBlob[] = [];
  const seen = new Set<string>();
  const add = (b: ResolvedBlob): void => {
    if (seen.has(b.digest)) return;
    seen.add(b.digest);
    blobs.push(b);
  };
  for (const digest of referencedBlobs([...manifests, ...referrers])) {
    const compressed = compressedSources.get(digest);
    if (compressed) {
      add({ digest, size: compressed.replacement.size, source: compressed.source, gzip: true, file: files.get(digest) });
    } else {
      const source = planBlob(byDigest, digest);
      add({ digest, size: source.size, source, gzip: false });
    }
  }
  // Blobs of the plan that no image manifest names as config or layer (such as those of formats it does not parse)
  // are pushed as they are, unless they were only ever an uncompressed layer that has been replaced.
  for (const b of plan.blobs) {
    if (!replacements.has(b.digest)) add({ digest: b.digest, size: b.size, source: b, gzip: false });
  }
  return { blobs, manifests, root, referrers };
}

/**
 * The compressed layers of this plan's image already in the target (published by this resource, or found through a tag
 * and checked), when those layers are all in the repository; undefined otherwise.
 */
async function publishedCompression(ctx: PublishContext, toCompress: readonly string[]): Promise<Map<string, BlobReplacement> | undefined> {
  if (!ctx.target || toCompress.length === 0) return undefined;
  const replacements = await previousCompression(ctx.plan, new Set(toCompress), ctx.target);
  if (!replacements) return undefined;
  const missing = await missingBlobs(ctx.ecr, ctx.target.repositoryName, [...new Set([...replacements.values()].map((r) => r.digest))]);
  if (missing.size > 0) {
    log({ compressedLayersMissing: [...missing] });
    return undefined;
  }
  return replacements;
}

function planBlob(byDigest: ReadonlyMap<string, SourceBlob>, digest: string): SourceBlob {
  const blob = byDigest.get(digest);
  if (!blob) throw new ImagePublishError(`the plan's manifests refer to blob ${digest}, which is not among the plan's blobs`);
  return blob;
}

/**
 * First pass of a compressed layer: source → gzip → sha256, and into a file of the scratch space when the output fits;
 * checks the uncompressed bytes on the way.
 */
async function compressLayer(
  blobs: BlobSource, source: SourceBlob, scratch: ScratchSpace | undefined,
): Promise<{ replacement: BlobReplacement; file?: string }> {
  const progress = new BlobProgress(source.digest, 'compress', source.size);
  const input = new DigestCounter();
  const output = new DigestCounter();
  const room = gzipBound(source.size);
  const file = scratch?.reserve(room);
  const handle = file === undefined ? undefined : await open(file, 'w');
  // The compressed pieces (a stored block is 5-byte headers around 64 KiB slices) are written a batch at a time: one
  // write per piece cost more than the deflate of a block, and took the threads deflate runs on.
  let batch: Buffer[] = [];
  let batched = 0;
  const flush = async (): Promise<void> => {
    if (handle && batch.length > 0) await handle.writev(batch);
    batch = [];
    batched = 0;
  };
  try {
    for await (const chunk of gzipChunks(blobs.read(source), (c) => {
      input.update(c);
      progress.advance(c.length);
    })) {
      output.update(chunk);
      if (!handle) continue;
      batch.push(chunk);
      batched += chunk.length;
      if (batched >= WRITE_BATCH_BYTES) await flush();
    }
    await flush();
  } finally {
    await handle?.close();
    if (file !== undefined) scratch!.release(room);
  }
  const got = input.digest();
  if (got !== source.digest) throw digestMismatch(blobs, source.digest, got);
  const replacement = { digest: output.digest(), size: output.bytes };
  progress.done('measured', { compressedDigest: replacement.digest, compressedSize: replacement.size, kept: file !== undefined });
  return { replacement, file };
}

/** The bytes of `blob` as they will be stored, and the check made before its upload is completed. */
function uploadable(blobs: BlobSource, blob: ResolvedBlob): UploadableBlob {
  const { source, file } = blob;
  if (file !== undefined) {
    return {
      digest: blob.digest,
      size: blob.size,
      // Read in 1 MiB chunks: a part is then a few copies, not a hundred and sixty.
      open: () => createReadStream(file, { highWaterMark: 1024 * 1024 }),
      verify: ({ digest, bytes }) => {
        if (digest !== blob.digest || bytes !== blob.size) {
          throw new ImagePublishError(`the compressed copy of blob ${source.digest} in ${file} changed: it is ${bytes} bytes `
            + `with digest ${digest}, not the ${blob.size} bytes with digest ${blob.digest} written`);
        }
      },
    };
  }
  if (!blob.gzip) {
    return {
      digest: blob.digest,
      size: blob.size,
      open: () => blobs.read(source),
      verify: ({ digest, bytes }) => {
        if (digest !== blob.digest) throw digestMismatch(blobs, blob.digest, digest);
        if (bytes !== blob.size) throw new ImagePublishError(`blob ${blob.digest} in ${blobs.name} is ${bytes} bytes, not the ${blob.size} its descriptor says`);
      },
    };
  }
  const input = new DigestCounter();
  return {
    digest: blob.digest,
    size: blob.size,
    open: () => gzipChunks(blobs.read(source), (c) => input.update(c)),
    verify: ({ digest }) => {
      const uncompressed = input.digest();
      if (uncompressed !== source.digest) throw digestMismatch(blobs, source.digest, uncompressed);
      if (digest !== blob.digest) {
        throw new ImagePublishError(`compressing blob ${source.digest} of ${blobs.name} gave ${digest}, not the ${blob.digest} `
          + 'of the first pass: gzip output is not deterministic here');
      }
    },
  };
}

/** The digests among `digests` that the repository does not have (UNAVAILABLE entries and MissingLayerDigest failures). */
export async function missingBlobs(ecr: ECRPUBLICClient, repositoryName: string, digests: readonly string[]): Promise<Set<string>> {
  const missing = new Set<string>();
  for (let i = 0; i < digests.length; i += AVAILABILITY_BATCH) {
    const batch = digests.slice(i, i + AVAILABILITY_BATCH);
    const out = await ecr.send(new BatchCheckLayerAvailabilityCommand({ repositoryName, layerDigests: batch }))
      .catch((err: unknown) => { throw withContext(err, 'BatchCheckLayerAvailability'); });
    const available = new Set<string>();
    for (const layer of out.layers ?? []) {
      if (layer.layerDigest && layer.layerAvailability === 'AVAILABLE') available.add(layer.layerDigest);
    }
    for (const failure of out.failures ?? []) {
      if (failure.failureCode === 'MissingLayerDigest') continue;
      throw new ImagePublishError(`BatchCheckLayerAvailability refused ${failure.layerDigest}: ${failure.failureCode} ${failure.failureReason ?? ''}`.trim());
    }
    // Whatever is not reported AVAILABLE (UNAVAILABLE, a MissingLayerDigest failure, or no answer) is uploaded.
    for (const d of batch) if (!available.has(d)) missing.add(d);
  }
  return missing;
}

/**
 * Pushes `image` into `repositoryName`: the missing blobs (several at once, each one's parts in order), then the
 * manifests, then its referrers, then `tags` on the root.
 */
export async function pushImage(ctx: PublishContext, repositoryName: string, image: ResolvedImage, tags: readonly string[]): Promise<void> {
  const { ecr, stats } = ctx;
  const missing = await missingBlobs(ecr, repositoryName, image.blobs.map((b) => b.digest));
  const toUpload = image.blobs.filter((b) => missing.has(b.digest));
  stats.blobsSkipped += image.blobs.length - toUpload.length;
  log({ blobs: image.blobs.length, missing: toUpload.length, bytesToUpload: toUpload.reduce((n, b) => n + b.size, 0) });
  // The largest first, so that a big layer does not start last and leave the other workers idle.
  const ordered = [...toUpload].sort((a, b) => b.size - a.size);
  // The part bodies of all the blobs in flight come from one pool, sized by the memory rather than the concurrency.
  const bodies = new BodyPool(sharedBodies(ctx.concurrency, functionMemoryMiB()));
  await forEachConcurrent(ordered, ctx.concurrency, async (blob) => {
    const upload = (options?: UploadOptions) => uploadLayerToEcrPublic(ecr, repositoryName, uploadable(ctx.blobs, blob), { ...options, bodies });
    const result = ctx.run ? await ctx.run.upload(blob, upload) : await upload();
    // Left for the next run of the function (`hand-over.ts`).
    if (!result) return;
    stats.partsUploaded += result.parts;
    stats.partsResumed += result.resumed;
    if (result.outcome === 'uploaded') {
      stats.blobsUploaded++;
      stats.bytesUploaded += result.bytes;
    } else {
      stats.blobsSkipped++;
    }
  });
  ctx.run?.beforeManifests();
  const put = await putManifests(ecr, repositoryName, image.manifests, tags, image.referrers);
  stats.manifestsPut += put.manifestsPut;
  stats.tagsPut += put.tagsPut;
}
