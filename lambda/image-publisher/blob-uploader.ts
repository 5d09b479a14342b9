/**
 * Uploads one blob through InitiateLayerUpload → UploadLayerPart (contiguous, strictly sequential parts of the
 * returned part size) → CompleteLayerUpload, hashing the bytes as they go, one part in memory at a time.
 */
import {
  BatchCheckLayerAvailabilityCommand,
  CompleteLayerUploadCommand,
  ECRPUBLICClient,
  InitiateLayerUploadCommand,
  UploadLayerPartCommand,
} from '@aws-sdk/client-ecr-public';
import { withContext } from './errors';
import { DigestCounter } from './layer-compression';
import { PartReader } from './part-reader';
import { BlobProgress, log } from './progress';
import { isErrorNamed } from '../shared/ecr-public-client';

/** The part size when InitiateLayerUpload announces none: the ECR Public quota, 10 MiB. */
export const DEFAULT_PART_SIZE = 10 * 1024 * 1024;
/** The largest part the API model allows. */
const MAX_PART_SIZE = 20 * 1024 * 1024;

/** A blob to upload: its digest and size as the registry will compute them, and where its bytes come from. */
export interface UploadableBlob {
  readonly digest: string;
  readonly size: number;
  /** Opens the blob's bytes (called once per upload). */
  readonly open: () => AsyncIterable<Buffer>;
  /**
   * Called with the digest and size of what was streamed, before the upload is completed: throws to abandon the
   * upload (the blob is then never completed, so nothing corrupt is ever stored).
   */
  readonly verify: (streamed: { digest: string; bytes: number }) => void;
}

/** What became of one upload. */
export interface UploadResult {
  /** `existed`: CompleteLayerUpload said the blob was already there (stored by a concurrent push). */
  readonly outcome: 'uploaded' | 'existed';
  readonly bytes: number;
  readonly parts: number;
  /** Parts found already received after their answer was lost. */
  readonly resumed: number;
}

/** Uploads `blob` into `repositoryName`. */
export async function uploadBlob(ecr: ECRPUBLICClient, repositoryName: string, blob: UploadableBlob): Promise<UploadResult> {
  const what = `blob ${blob.digest}`;
  const init = await ecr.send(new InitiateLayerUploadCommand({ repositoryName }))
    .catch((err: unknown) => { throw withContext(err, `InitiateLayerUpload for ${what}`); });
  const uploadId = init.uploadId;
  if (!uploadId) throw new Error(`InitiateLayerUpload for ${what} returned no uploadId`);
  const partSize = init.partSize && init.partSize > 0 ? Math.min(init.partSize, MAX_PART_SIZE) : DEFAULT_PART_SIZE;

  const progress = new BlobProgress(blob.digest, 'upload', blob.size);
  const counter = new DigestCounter();
  const reader = new PartReader(blob.open(), partSize);
  let parts = 0;
  let resumed = 0;
  try {
    for (let part = await reader.next(); part; part = await reader.next()) {
      const first = counter.bytes;
      const last = first + part.length - 1;
      const { received, lost } = await sendPart(ecr, repositoryName, uploadId, part, first, last, blob.digest);
      // `received` is the last byte the registry holds: normally `last`, or less when it took only the head of a
      // part (the rest is sent again as the start of the next part).
      const accepted = received - first + 1;
      if (accepted <= 0 || accepted > part.length) {
        throw new Error(`UploadLayerPart of ${what} (bytes ${first}-${last}) left the registry at byte ${received}`);
      }
      counter.update(part.subarray(0, accepted));
      reader.unread(part.subarray(accepted));
      progress.advance(accepted);
      parts++;
      if (lost) resumed++;
    }
  } finally {
    await reader.close();
  }
  // Before completing: a blob whose bytes are not what the plan says is never stored.
  blob.verify({ digest: counter.digest(), bytes: counter.bytes });

  const outcome = await complete(ecr, repositoryName, uploadId, blob.digest);
  progress.done(outcome, { parts, resumed });
  return { outcome, bytes: counter.bytes, parts, resumed };
}

/**
 * Sends one part and returns the last byte the registry now holds. A part whose answer was lost and that the SDK sent
 * again is refused with `InvalidLayerPartException`; its `lastValidByteReceived` then tells that the bytes arrived, and
 * the upload goes on from the byte after it.
 */
async function sendPart(
  ecr: ECRPUBLICClient, repositoryName: string, uploadId: string, part: Buffer, first: number, last: number, digest: string,
): Promise<{ received: number; lost: boolean }> {
  const what = `blob ${digest}`;
  try {
    const out = await ecr.send(new UploadLayerPartCommand({
      repositoryName, uploadId, partFirstByte: first, partLastByte: last, layerPartBlob: part,
    }));
    if (out.lastByteReceived !== last) {
      throw new Error(`UploadLayerPart of ${what} (bytes ${first}-${last}) returned lastByteReceived ${out.lastByteReceived}`);
    }
    return { received: last, lost: false };
  } catch (err) {
    const lastValid = isErrorNamed(err, 'InvalidLayerPartException')
      ? (err as { lastValidByteReceived?: number }).lastValidByteReceived
      : undefined;
    // Only progress within this very part proves a lost answer; anything else is a real refusal.
    if (lastValid !== undefined && lastValid >= first && lastValid <= last) {
      log({ blob: digest, partResumed: { first, last, lastValidByteReceived: lastValid } });
      return { received: lastValid, lost: true };
    }
    throw withContext(err, `UploadLayerPart of ${what} (bytes ${first}-${last})`);
  }
}

/** Completes the upload; an already stored blob, or an answer lost after the blob was stored, is a success. */
async function complete(ecr: ECRPUBLICClient, repositoryName: string, uploadId: string, digest: string): Promise<'uploaded' | 'existed'> {
  try {
    const out = await ecr.send(new CompleteLayerUploadCommand({ repositoryName, uploadId, layerDigests: [digest] }));
    if (out.layerDigest !== digest) {
      throw new Error(`CompleteLayerUpload of blob ${digest} returned layerDigest ${out.layerDigest}`);
    }
    return 'uploaded';
  } catch (err) {
    if (isErrorNamed(err, 'LayerAlreadyExistsException')) return 'existed';
    // The SDK sent the request again after losing the answer to one that completed the upload.
    if (isErrorNamed(err, 'UploadNotFoundException') && (await isAvailable(ecr, repositoryName, digest))) return 'uploaded';
    throw withContext(err, `CompleteLayerUpload of blob ${digest}`);
  }
}

async function isAvailable(ecr: ECRPUBLICClient, repositoryName: string, digest: string): Promise<boolean> {
  const out = await ecr.send(new BatchCheckLayerAvailabilityCommand({ repositoryName, layerDigests: [digest] }));
  return (out.layers ?? []).some((l) => l.layerDigest === digest && l.layerAvailability === 'AVAILABLE');
}
