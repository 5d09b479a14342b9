/**
 * Uploads one blob through InitiateLayerUpload → UploadLayerPart (contiguous, strictly sequential parts of the
 * returned part size) → CompleteLayerUpload, hashing the bytes as they go. While one part is in flight the next one
 * is read and prepared (`part-body.ts`) into a buffer of the `BodyPool`, which bounds the memory of all the uploads
 * of a publish together.
 */
import {
  BatchCheckLayerAvailabilityCommand,
  CompleteLayerUploadCommand,
  ECRPUBLICClient,
  InitiateLayerUploadCommand,
} from '@aws-sdk/client-ecr-public';
import { BodyPool } from './body-pool';
import { withContext } from './errors';
import { DigestCounter } from './layer-compression';
import { partBytes, PreparedPart, preparePart, uploadPartCommand } from './part-body';
import { PartReader } from './part-reader';
import { BlobProgress } from './progress';
import { isErrorNamed } from '../shared/ecr-public-client';
import { log } from '../shared/log';

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

/** An upload an earlier run of the function started and left between two parts (`hand-over.ts`). */
export interface ResumableUpload {
  readonly uploadId: string;
  /** The first byte not yet sent: the registry holds bytes 0 to offset - 1. */
  readonly offset: number;
  /** The part size InitiateLayerUpload gave. */
  readonly partSize: number;
}

/** How an upload starts and when it stops early. */
export interface UploadOptions {
  /** Go on with this upload rather than initiating one: its first `offset` bytes are read and hashed, not sent. @default - a new upload */
  readonly resume?: ResumableUpload;
  /** Asked before each part after the first one sent: true leaves the upload there (`paused`). @default - never */
  readonly shouldPause?: () => boolean;
  /** Where part bodies are built, shared with the other uploads of the publish. @default - two buffers of its own */
  readonly bodies?: BodyPool;
}

/** What became of one upload. */
export interface UploadResult {
  /**
   * `existed`: CompleteLayerUpload said the blob was already there (stored by a concurrent push); `paused`: left
   * between two parts as `shouldPause` asked (`upload` says where).
   */
  readonly outcome: 'uploaded' | 'existed' | 'paused';
  readonly bytes: number;
  readonly parts: number;
  /** Parts found already received after their answer was lost. */
  readonly resumed: number;
  /** For a paused upload: where another run goes on with it. */
  readonly upload?: ResumableUpload;
}

/** Uploads `blob` into `repositoryName`. */
export async function uploadLayerToEcrPublic(
  ecr: ECRPUBLICClient, repositoryName: string, blob: UploadableBlob, options: UploadOptions = {},
): Promise<UploadResult> {
  const what = `blob ${blob.digest}`;
  const { uploadId, partSize, offset } = options.resume ?? await initiate(ecr, repositoryName, what);

  const progress = new BlobProgress(blob.digest, 'upload', blob.size);
  let counter = new DigestCounter();
  const reader = new PartReader(skipHashed(blob.open(), offset, counter), partSize);
  const pool = options.bodies ?? new BodyPool(2);
  const prepare = (first: number): Promise<PreparedPart | undefined> => {
    // The body is laid out for the bytes the blob's size says are left (a whole part past its end: the source lies).
    const left = blob.size - first;
    const expectedLength = left > 0 ? Math.min(partSize, left) : partSize;
    return preparePart({ repositoryName, uploadId, partFirstByte: first, expectedLength }, reader.chunks(expectedLength), counter, pool);
  };
  let parts = 0;
  let resumed = 0;
  let next = settledLater(prepare(offset));
  let current: PreparedPart | undefined;
  progress.advance(offset);
  try {
    for (current = await next; current; current = await next) {
      if (parts > 0 && options.shouldPause?.()) {
        const upload = { uploadId, offset: current.members.partFirstByte, partSize };
        progress.done('paused', { parts, ...upload });
        return { outcome: 'paused', bytes: upload.offset, parts, resumed, upload };
      }
      const first = current.members.partFirstByte;
      const sending = sendPart(ecr, current, blob.digest);
      // The next part is read, encoded and hashed while this one is on the wire.
      next = settledLater(prepare(current.members.partLastByte + 1));
      const { received, lost } = await sending;
      // `received` is the last byte the registry holds: normally the part's last, or less when it took only the head
      // of a part (the rest is sent again as the start of the next part).
      const accepted = received - first + 1;
      if (accepted <= 0 || accepted > current.length) {
        throw new Error(`UploadLayerPart of ${what} (bytes ${first}-${current.members.partLastByte}) left the registry at byte ${received}`);
      }
      if (accepted < current.length) {
        // The part prepared meanwhile starts after the whole of this one: its bytes go back, behind this part's rest,
        // and the digest goes back to the bytes the registry holds. This part's body is given back before waiting for
        // the next one's: every upload of the publish may be here at once.
        const rest = partBytes(current, accepted, current.length);
        counter = current.digestBefore;
        counter.update(partBytes(current, 0, accepted));
        current.release();
        const ahead = await next;
        if (ahead) {
          reader.unread(partBytes(ahead, 0, ahead.length));
          ahead.release();
        }
        reader.unread(rest);
        next = settledLater(prepare(received + 1));
      }
      // Answered: the body is not sent again.
      current.release();
      progress.advance(accepted);
      parts++;
      if (lost) resumed++;
    }
  } finally {
    // The reader is released only once nothing reads it any more; no body is kept.
    current?.release();
    (await next.catch(() => undefined))?.release();
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
async function sendPart(ecr: ECRPUBLICClient, part: PreparedPart, digest: string): Promise<{ received: number; lost: boolean }> {
  const { partFirstByte: first, partLastByte: last } = part.members;
  const what = `blob ${digest}`;
  try {
    const out = await ecr.send(uploadPartCommand(part));
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

async function initiate(ecr: ECRPUBLICClient, repositoryName: string, what: string): Promise<ResumableUpload> {
  const init = await ecr.send(new InitiateLayerUploadCommand({ repositoryName }))
    .catch((err: unknown) => { throw withContext(err, `InitiateLayerUpload for ${what}`); });
  const uploadId = init.uploadId;
  if (!uploadId) throw new Error(`InitiateLayerUpload for ${what} returned no uploadId`);
  const partSize = init.partSize && init.partSize > 0 ? Math.min(init.partSize, MAX_PART_SIZE) : DEFAULT_PART_SIZE;
  return { uploadId, partSize, offset: 0 };
}

/**
 * `source` from byte `offset` on; the bytes before it go into `counter` only (the registry holds them already, and the
 * blob's digest covers them: sha256 cannot be carried from one run to the next, so they are read again).
 */
async function* skipHashed(source: AsyncIterable<Buffer>, offset: number, counter: DigestCounter): AsyncGenerator<Buffer> {
  let skip = offset;
  for await (const chunk of source) {
    if (skip === 0) {
      yield chunk;
    } else if (chunk.length <= skip) {
      counter.update(chunk);
      skip -= chunk.length;
    } else {
      counter.update(chunk.subarray(0, skip));
      yield chunk.subarray(skip);
      skip = 0;
    }
  }
  if (skip > 0) throw new Error(`the blob ended ${skip} bytes before the offset ${offset} its upload was left at`);
}

/** `promise`, marked as handled: its failure surfaces where it is awaited, even if that comes after it failed. */
function settledLater<T>(promise: Promise<T>): Promise<T> {
  promise.catch(() => undefined);
  return promise;
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
