/**
 * Reading blobs out of the staged archive in S3: one ranged GetObject per blob, streamed (never buffered whole, never
 * written to disk), reopened from the current position when the body breaks off mid-way.
 */
import { GetObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { BlobSource, SourceBlob } from './blob-source';
import { ImagePublishError, withContext } from './errors';
import { PlanBlob } from '../../src/shared/publish-plan';
import { log } from '../shared/log';

/** Times a broken body is reopened (the SDK's own retries only cover getting the response started). */
const BODY_REOPENS = 3;

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

  /**
   * The bytes [offset, offset + size) of the archive, as they arrive. Fails when the object ends early.
   */
  public async *readRange(offset: number, size: number): AsyncGenerator<Buffer> {
    let position = offset;
    const end = offset + size;
    let reopens = 0;
    while (position < end) {
      const body = await this.open(position, end - 1);
      try {
        for await (const chunk of body) {
          let bytes = chunk as Buffer;
          // A server that ignores the upper bound must not hand out the next blob's bytes.
          if (position + bytes.length > end) bytes = bytes.subarray(0, end - position);
          position += bytes.length;
          if (bytes.length > 0) yield bytes;
          if (position >= end) break;
        }
      } catch (err) {
        if (++reopens > BODY_REOPENS) throw withContext(err, `reading bytes ${offset}-${end - 1} of ${this.location}`);
        log({ s3Reopen: this.location, position, error: String(err) });
        continue;
      }
      // The body ended early without an error: reopen from where it stopped, a few times.
      if (position < end && ++reopens > BODY_REOPENS) {
        throw new Error(`${this.location} ended at byte ${position}, before the end of the range ${offset}-${end - 1}`);
      }
    }
  }

  private async open(first: number, last: number): Promise<AsyncIterable<unknown>> {
    try {
      const out = await this.s3.send(new GetObjectCommand({ Bucket: this.bucket, Key: this.key, Range: `bytes=${first}-${last}` }));
      if (!out.Body) throw new Error(`GetObject of ${this.location} returned no body`);
      return out.Body as AsyncIterable<unknown>;
    } catch (err) {
      throw withContext(err, `reading bytes ${first}-${last} of ${this.location}`);
    }
  }
}

/** An S3 client for the asset bucket, which is in the stack's Region (taken from the Lambda environment). */
export function assetClient(): S3Client {
  return new S3Client({});
}
