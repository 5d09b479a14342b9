/**
 * Reading blobs from a registry: `GET /v2/<name>/blobs/<digest>` (redirects followed without `Authorization` to
 * another origin), streamed chunk by chunk into the uploader, never buffered whole. A body that breaks off or stalls is
 * reopened from the byte reached with a `Range` request (a registry that ignores the range sends everything again,
 * and the bytes already passed on are skipped).
 */
import { BlobSource, SourceBlob } from './blob-source';
import { ImagePublishError, withContext } from './errors';
import { RegistryClient } from './registry-client';
import { log } from '../shared/log';

/** Times a broken body is reopened. */
const BODY_REOPENS = 5;
/** A body that sends nothing for this long is given up on and reopened. */
const DEFAULT_IDLE_TIMEOUT_MS = 60_000;

/** The blobs of one repository of a registry. */
export class RegistryBlobSource implements BlobSource {
  constructor(private readonly client: RegistryClient, private readonly idleTimeoutMs = DEFAULT_IDLE_TIMEOUT_MS) {}

  /** `ghcr.io/acme/tool`. */
  public get name(): string {
    return this.client.name;
  }

  public async *read(blob: SourceBlob): AsyncGenerator<Buffer> {
    let position = 0;
    let reopens = 0;
    for (;;) {
      const { response, abort } = await this.client.get(`blobs/${blob.digest}`, { rangeStart: position, what: `blob ${blob.digest}` });
      // Bytes at the head of this body that were already passed on (a 200 answer to a ranged request).
      let skip = 0;
      if (position > 0) {
        if (response.status === 206) {
          const range = /^bytes (\d+)-/.exec(response.headers.get('content-range') ?? '');
          if (!range || Number(range[1]) !== position) {
            abort(new Error('unexpected range'));
            throw new ImagePublishError(`blob ${blob.digest} of ${this.name}: asked for bytes from ${position}, got ${response.headers.get('content-range')}`);
          }
        } else {
          skip = position;
        }
      }
      let timer: NodeJS.Timeout | undefined;
      const arm = () => {
        clearTimeout(timer);
        timer = setTimeout(() => abort(new Error(`no byte for ${this.idleTimeoutMs / 1000} s`)), this.idleTimeoutMs);
      };
      let finished = false;
      try {
        arm();
        for await (const chunk of (response.body ?? []) as AsyncIterable<Uint8Array>) {
          arm();
          let bytes = Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
          if (skip > 0) {
            const dropped = Math.min(skip, bytes.length);
            skip -= dropped;
            bytes = bytes.subarray(dropped);
          }
          if (bytes.length === 0) continue;
          if (position + bytes.length > blob.size) {
            throw new ImagePublishError(`blob ${blob.digest} of ${this.name} is longer than the ${blob.size} bytes its descriptor says`);
          }
          position += bytes.length;
          yield bytes;
        }
        finished = true;
      } catch (err) {
        if (err instanceof ImagePublishError) throw err;
        if (++reopens > BODY_REOPENS) throw withContext(err, `reading blob ${blob.digest} of ${this.name} at byte ${position}`);
        log({ registryReopen: `${this.name}@${blob.digest}`, position, error: describe(err) });
        continue;
      } finally {
        clearTimeout(timer);
        // The reader stopped early, or the body failed: release the connection.
        if (!finished) abort(new Error('the reader stopped'));
      }
      if (position >= blob.size) return;
      // The body ended early without an error.
      if (++reopens > BODY_REOPENS) {
        throw new ImagePublishError(`blob ${blob.digest} of ${this.name} ended at byte ${position} of ${blob.size}, ${reopens - 1} times reopened`);
      }
      log({ registryReopen: `${this.name}@${blob.digest}`, position, error: 'the body ended early' });
    }
  }
}

function describe(err: unknown): string {
  if (!(err instanceof Error)) return String(err);
  const cause = (err as { cause?: unknown }).cause;
  return cause instanceof Error ? `${err.message} (${cause.message})` : err.message;
}
