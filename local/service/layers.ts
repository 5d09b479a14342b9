/**
 * The blob push path: BatchCheckLayerAvailability, InitiateLayerUpload, UploadLayerPart and CompleteLayerUpload.
 *
 * The rules an upload follows whichever way its bytes arrive (these operations, or the registry API's
 * `/v2/<name>/blobs/uploads/` of `../distribution/pushes.ts`) are the exported functions below: uploads belong to one
 * repository, bytes arrive in order, a layer has a size cap, completion checks the sha256 of what arrived, and blobs
 * are per repository. Both paths call them; only the API's part quotas (part size, part count) are its own.
 */
import { randomUUID } from 'crypto';
import { Context, findRepositoryForPush, nowSeconds, Operation } from './context';
import { ecrError, ecrMessage, EcrPublicError } from './errors';
import { isWellFormedLayerDigest } from '../store/image-format';
import { has, RepositoryRecord, UploadRecord } from '../store/model';

/** The part size InitiateLayerUpload announces, and the largest part UploadLayerPart takes (the 10 MiB quota). */
export const PART_SIZE = 10 * 1024 * 1024;
/** Every part but the last must be at least this large (the 5 MiB quota). */
export const MIN_PART_SIZE = 5 * 1024 * 1024;
const MAX_PARTS = 1000;
/** The largest layer (the 10,000 MiB quota), whichever way it is pushed. */
export const MAX_LAYER_BYTES = 10_000 * 1024 * 1024;

export const batchCheckLayerAvailability: Operation = (ctx, input) => {
  const repo = findRepositoryForPush(ctx, input);
  const layers: unknown[] = [];
  const failures: unknown[] = [];
  for (const digest of input.layerDigests as string[]) {
    if (digest === '') {
      failures.push({ layerDigest: digest, failureCode: 'MissingLayerDigest', failureReason: 'The layer digest is empty' });
    } else if (!isWellFormedLayerDigest(digest)) {
      failures.push({ layerDigest: digest, failureCode: 'InvalidLayerDigest', failureReason: `'${digest}' is not a valid layer digest` });
    } else {
      const blob = repo.blobs[digest];
      layers.push(blob
        ? { layerDigest: digest, layerAvailability: 'AVAILABLE', layerSize: blob.size, mediaType: blob.mediaType }
        : { layerDigest: digest, layerAvailability: 'UNAVAILABLE' });
    }
  }
  return { layers, failures };
};

export const initiateLayerUpload: Operation = (ctx, input) => {
  const repo = findRepositoryForPush(ctx, input);
  const upload = startUpload(ctx, repo);
  return { uploadId: upload.id, partSize: PART_SIZE };
};

export const uploadLayerPart: Operation = (ctx, input) => {
  const repo = findRepositoryForPush(ctx, input);
  const upload = findUpload(ctx, repo, input.uploadId);
  const bytes: Buffer = input.layerPartBlob;
  const first: number = input.partFirstByte;
  const last: number = input.partLastByte;
  checkPartStart(ctx, repo, upload, first);
  if (last < first || last - first + 1 !== bytes.length) {
    throw invalidPart(ctx, repo, upload, `The part declares bytes ${first}-${last} (${last - first + 1} bytes) but carries ${bytes.length} bytes`);
  }
  if (bytes.length > PART_SIZE) {
    throw invalidPart(ctx, repo, upload, `The part is ${bytes.length} bytes; layer parts must be at most ${PART_SIZE} bytes`);
  }
  if (upload.partSizes.length >= MAX_PARTS) {
    throw ecrError('LimitExceededException', 'parts', MAX_PARTS);
  }
  checkLayerSize(upload, bytes.length);
  ctx.store.appendPart(upload.id, upload.received, bytes);
  recordPart(ctx, upload, bytes.length);
  return { registryId: ctx.accountId, repositoryName: repo.name, uploadId: upload.id, lastByteReceived: last };
};

export const completeLayerUpload: Operation = (ctx, input) => {
  const repo = findRepositoryForPush(ctx, input);
  const upload = findUpload(ctx, repo, input.uploadId);
  const { digest, existed } = completeUpload(ctx, repo, upload, input.layerDigests as string[], { minPartSize: MIN_PART_SIZE });
  if (existed) {
    throw ecrError('LayerAlreadyExistsException', digest, repo.name, ctx.accountId);
  }
  return { registryId: ctx.accountId, repositoryName: repo.name, uploadId: upload.id, layerDigest: digest };
};

// --- the rules both push paths share -----------------------------------------------------------------------------

/** Opens an upload into `repo`; its bytes are appended to a file as they arrive. */
export function startUpload(ctx: Context, repo: RepositoryRecord): UploadRecord {
  expireUploads(ctx);
  const uploadId = randomUUID();
  ctx.store.startUpload(uploadId);
  const upload: UploadRecord = { id: uploadId, repositoryName: repo.name, received: 0, partSizes: [], touchedAt: nowSeconds(ctx) };
  ctx.store.state.uploads[uploadId] = upload;
  ctx.store.commit();
  return upload;
}

/**
 * An upload in progress of `repo`: an upload of another repository, one that ended, or one that expired is
 * UploadNotFoundException.
 */
export function findUpload(ctx: Context, repo: RepositoryRecord, uploadId: string): UploadRecord {
  expireUploads(ctx);
  const upload = has(ctx.store.state.uploads, uploadId) ? ctx.store.state.uploads[uploadId] : undefined;
  if (!upload || upload.repositoryName !== repo.name) {
    throw ecrError('UploadNotFoundException', uploadId, repo.name, ctx.accountId);
  }
  return upload;
}

/** Bytes arrive in order: the next ones must start where the upload stands (InvalidLayerPartException otherwise). */
export function checkPartStart(ctx: Context, repo: RepositoryRecord, upload: UploadRecord, first: number): void {
  if (first !== upload.received) {
    throw invalidPart(ctx, repo, upload,
      `The part's first byte ${first} is not consecutive to the last byte received (${upload.received - 1}); the next part must start at ${upload.received}`);
  }
}

/** A layer cannot grow past MAX_LAYER_BYTES (LimitExceededException). */
export function checkLayerSize(upload: UploadRecord, length: number): void {
  if (upload.received + length > MAX_LAYER_BYTES) {
    throw layerTooLarge();
  }
}

/** A layer over MAX_LAYER_BYTES, whichever way its bytes arrive. */
export function layerTooLarge(): EcrPublicError {
  return ecrError('LimitExceededException', 'layer-bytes', MAX_LAYER_BYTES);
}

/** Records `length` bytes the store appended at `upload.received`. */
export function recordPart(ctx: Context, upload: UploadRecord, length: number): void {
  upload.received += length;
  upload.partSizes.push(length);
  upload.touchedAt = nowSeconds(ctx);
  ctx.store.commit();
}

/**
 * Ends every upload untouched (no start, no part) for `limits.uploadExpirySeconds`, deleting its bytes: an abandoned
 * upload would otherwise hold its disk space forever. Runs before every upload lookup and on a timer.
 */
export function expireUploads(ctx: Context): void {
  let expired = false;
  for (const id of ctx.store.uploadsUntouchedSince(nowSeconds(ctx) - ctx.limits.uploadExpirySeconds)) {
    ctx.store.discardUpload(id);
    delete ctx.store.state.uploads[id];
    expired = true;
  }
  if (expired) ctx.store.commit();
}

/** Ends an upload without storing anything. */
export function cancelUpload(ctx: Context, upload: UploadRecord): void {
  ctx.store.discardUpload(upload.id);
  delete ctx.store.state.uploads[upload.id];
  ctx.store.commit();
}

export interface CompletionRules {
  /** Every part but the last must be at least this large (UploadLayerPart's quota). @default - no minimum */
  readonly minPartSize?: number;
}

export interface Completion {
  /** The sha256 of the bytes received. */
  readonly digest: string;
  /**
   * The repository already had the blob: nothing was stored. CompleteLayerUpload refuses this with
   * LayerAlreadyExistsException; a registry client is told the blob is there, as registries do.
   */
  readonly existed: boolean;
}

/**
 * Completes an upload, checking in order: no bytes (EmptyUploadException, the upload stays open), a non-final part
 * under `minPartSize` (LayerPartTooSmallException), none of `digests` equal to the sha256 computed as the bytes
 * arrived (InvalidLayerException). Every outcome but the first ends the upload. The blob then belongs to `repo`.
 */
export function completeUpload(ctx: Context, repo: RepositoryRecord, upload: UploadRecord, digests: readonly string[],
  rules: CompletionRules = {}): Completion {
  const where = { uploadId: upload.id, repositoryName: repo.name, registryId: ctx.accountId };
  if (upload.partSizes.length === 0) {
    throw ecrError('EmptyUploadException', where);
  }
  const minPartSize = rules.minPartSize ?? 0;
  const tooSmall = upload.partSizes.slice(0, -1).findIndex((size) => size < minPartSize);
  if (tooSmall >= 0) {
    cancelUpload(ctx, upload);
    throw ecrError('LayerPartTooSmallException', tooSmall + 1, where, upload.partSizes[tooSmall]);
  }
  const computed = ctx.store.uploadDigest(upload.id);
  if (!digests.includes(computed)) {
    cancelUpload(ctx, upload);
    throw ecrError('InvalidLayerException', computed, digests);
  }
  if (repo.blobs[computed]) {
    cancelUpload(ctx, upload);
    return { digest: computed, existed: true };
  }
  ctx.store.commitUpload(upload.id, computed);
  repo.blobs[computed] = { size: upload.received };
  delete ctx.store.state.uploads[upload.id];
  ctx.store.commit();
  return { digest: computed, existed: false };
}

function invalidPart(ctx: Context, repo: RepositoryRecord, upload: UploadRecord, why: string): EcrPublicError {
  return new EcrPublicError('InvalidLayerPartException', ecrMessage('InvalidLayerPartException', why), {
    registryId: ctx.accountId,
    repositoryName: repo.name,
    uploadId: upload.id,
    // Nothing received yet has no valid last byte; the member is left out rather than given a value below its minimum.
    ...(upload.received > 0 ? { lastValidByteReceived: upload.received - 1 } : {}),
  });
}
