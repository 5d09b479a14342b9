/**
 * Reading blobs out of the staged archive in S3: one ranged GetObject per blob, streamed (never buffered whole, never
 * written to disk), reopened from the current position when the body breaks off or stalls (`resumable-read.ts`).
 */
import { GetObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { BlobSource, SourceBlob } from './blob-source';
import { ImagePublishError, withContext } from './errors';
import { readResumably } from './resumable-read';
import { PlanBlob } from '../../src/shared/publish-plan';

/** The staged, uncompressed tar of one image in S3; the plan says where each blob's bytes are. */
export class ArchiveBlobSource implements BlobSource {
  private readonly offsets: ReadonlyMap<string, PlanBlob>;

  constructor(
    private readonly s3: S3Client,
    public readonly bucket: string,
    public readonly key: string,
    blobs: readonly PlanBlob[],
  ) {
    this.offsets = new Map(blobs.map((b) => [b.digest, b]));
  }

  /** The object key: failure messages name the blob's archive by it. */
  public get name(): string {
    return this.key;
  }

  /** `s3://bucket/key`, for messages. */
  public get location(): string {
    return `s3://${this.bucket}/${this.key}`;
  }

  public read(blob: SourceBlob): AsyncIterable<Buffer> {
    const planned = this.offsets.get(blob.digest);
    if (!planned) throw new ImagePublishError(`blob ${blob.digest} is not among the plan's blobs`);
    return this.readRange(planned.offset, planned.size);
  }

  /** The bytes [offset, offset + size) of the archive, as they arrive. Fails when the object ends early. */
  public readRange(offset: number, size: number): AsyncGenerator<Buffer> {
    return readResumably({
      what: `bytes ${offset}-${offset + size - 1} of ${this.location}`,
      size,
      beyondSize: 'cut',
      open: async (position) => {
        const body = await this.open(offset + position, offset + size - 1);
        // The SDK's body is a Node stream: destroying it releases the connection.
        return { chunks: body, abort: (reason) => (body as { destroy?: (err: Error) => void }).destroy?.(reason) };
      },
    });
  }

  private async open(first: number, last: number): Promise<AsyncIterable<Uint8Array>> {
    try {
      const out = await this.s3.send(new GetObjectCommand({ Bucket: this.bucket, Key: this.key, Range: `bytes=${first}-${last}` }));
      if (!out.Body) throw new Error(`GetObject of ${this.location} returned no body`);
      return out.Body as AsyncIterable<Uint8Array>;
    } catch (err) {
      throw withContext(err, `reading bytes ${first}-${last} of ${this.location}`);
    }
  }
}

/** An S3 client for the asset bucket, which is in the stack's Region (taken from the Lambda environment). */
export function assetClient(): S3Client {
  return new S3Client({});
}
