/** The blob push path: BatchCheckLayerAvailability, InitiateLayerUpload, UploadLayerPart and CompleteLayerUpload. */
import { randomUUID } from 'crypto';
import { EcrPublicError } from '../errors';
import { RepositoryRecord, UploadRecord } from '../model';
import { LAYER_DIGEST_PATTERN } from '../shapes';
import { Context, findRepositoryForPush, Operation } from './context';

/** The part size InitiateLayerUpload announces, and the largest part UploadLayerPart takes (the 10 MiB quota). */
export const PART_SIZE = 10 * 1024 * 1024;
/** Every part but the last must be at least this large (the 5 MiB quota). */
export const MIN_PART_SIZE = 5 * 1024 * 1024;
const MAX_PARTS = 1000;
const MAX_LAYER_BYTES = 10_000 * 1024 * 1024;

const WELL_FORMED_DIGEST = new RegExp(`^(?:${LAYER_DIGEST_PATTERN.source})$`);

export const batchCheckLayerAvailability: Operation = (ctx, input) => {
  const repo = findRepositoryForPush(ctx, input);
  const layers: unknown[] = [];
  const failures: unknown[] = [];
  for (const digest of input.layerDigests as string[]) {
    if (digest === '') {
      failures.push({ layerDigest: digest, failureCode: 'MissingLayerDigest', failureReason: 'The layer digest is empty' });
    } else if (!WELL_FORMED_DIGEST.test(digest)) {
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
  const uploadId = randomUUID();
  ctx.store.startUpload(uploadId);
  ctx.store.state.uploads[uploadId] = { id: uploadId, repositoryName: repo.name, received: 0, partSizes: [] };
  ctx.store.commit();
  return { uploadId, partSize: PART_SIZE };
};

export const uploadLayerPart: Operation = (ctx, input) => {
  const repo = findRepositoryForPush(ctx, input);
  const upload = findUpload(ctx, repo, input.uploadId);
  const bytes: Buffer = input.layerPartBlob;
  const first: number = input.partFirstByte;
  const last: number = input.partLastByte;
  const refusePart = (why: string) => new EcrPublicError('InvalidLayerPartException', why, {
    registryId: ctx.accountId,
    repositoryName: repo.name,
    uploadId: upload.id,
    // Nothing received yet has no valid last byte; the member is left out rather than given a value below its minimum.
    ...(upload.received > 0 ? { lastValidByteReceived: upload.received - 1 } : {}),
  });
  if (first !== upload.received) {
    throw refusePart(`The part's first byte ${first} is not consecutive to the last byte received (${upload.received - 1}); the next part must start at ${upload.received}`);
  }
  if (last < first || last - first + 1 !== bytes.length) {
    throw refusePart(`The part declares bytes ${first}-${last} (${last - first + 1} bytes) but carries ${bytes.length} bytes`);
  }
  if (bytes.length > PART_SIZE) {
    throw refusePart(`The part is ${bytes.length} bytes; layer parts must be at most ${PART_SIZE} bytes`);
  }
  if (upload.partSizes.length >= MAX_PARTS) {
    throw new EcrPublicError('LimitExceededException', `An upload can have at most ${MAX_PARTS} parts`);
  }
  if (upload.received + bytes.length > MAX_LAYER_BYTES) {
    throw new EcrPublicError('LimitExceededException', `A layer can be at most ${MAX_LAYER_BYTES} bytes`);
  }
  ctx.store.appendPart(upload.id, upload.received, bytes);
  upload.received += bytes.length;
  upload.partSizes.push(bytes.length);
  ctx.store.commit();
  return { registryId: ctx.accountId, repositoryName: repo.name, uploadId: upload.id, lastByteReceived: last };
};

export const completeLayerUpload: Operation = (ctx, input) => {
  const repo = findRepositoryForPush(ctx, input);
  const upload = findUpload(ctx, repo, input.uploadId);
  const where = `The upload with id '${upload.id}' in the repository with name '${repo.name}' in registry with id '${ctx.accountId}'`;
  if (upload.partSizes.length === 0) {
    throw new EcrPublicError('EmptyUploadException', `${where} cannot be completed because it does not have any parts`);
  }
  // From here on, every outcome ends the upload.
  const end = () => {
    delete ctx.store.state.uploads[upload.id];
    ctx.store.commit();
  };
  const tooSmall = upload.partSizes.slice(0, -1).findIndex((size) => size < MIN_PART_SIZE);
  if (tooSmall >= 0) {
    ctx.store.discardUpload(upload.id);
    end();
    throw new EcrPublicError('LayerPartTooSmallException',
      `Layer parts must be at least 5 MiB in size; part ${tooSmall + 1} of ${where} is ${upload.partSizes[tooSmall]} bytes`);
  }
  const computed = ctx.store.uploadDigest(upload.id);
  if (!(input.layerDigests as string[]).includes(computed)) {
    ctx.store.discardUpload(upload.id);
    end();
    throw new EcrPublicError('InvalidLayerException',
      `The layer digest calculation performed by the emulator (${computed}) does not match the digest specified (${(input.layerDigests as string[]).join(', ')})`);
  }
  if (repo.blobs[computed]) {
    ctx.store.discardUpload(upload.id);
    end();
    throw new EcrPublicError('LayerAlreadyExistsException',
      `The layer with digest '${computed}' already exists in the repository with name '${repo.name}' in registry with id '${ctx.accountId}'`);
  }
  ctx.store.commitUpload(upload.id, computed);
  repo.blobs[computed] = { size: upload.received };
  end();
  return { registryId: ctx.accountId, repositoryName: repo.name, uploadId: upload.id, layerDigest: computed };
};

function findUpload(ctx: Context, repo: RepositoryRecord, uploadId: string): UploadRecord {
  const upload = ctx.store.state.uploads[uploadId];
  if (!upload || upload.repositoryName !== repo.name) {
    throw new EcrPublicError('UploadNotFoundException',
      `The upload with id '${uploadId}' does not exist in the repository with name '${repo.name}' in registry with id '${ctx.accountId}'`);
  }
  return upload;
}
