/**
 * Reading blobs from a registry: `GET /v2/<name>/blobs/<digest>` (redirects followed without `Authorization` to
 * another origin), streamed chunk by chunk into the uploader, never buffered whole. A body that breaks off or stalls is
 * reopened from the byte reached with a `Range` request (`resumable-read.ts`; a registry that ignores the range sends
 * everything again, and the bytes already passed on are skipped).
 */
import { BlobSource, SourceBlob } from './blob-source';
import { ImagePublishError } from './errors';
import { BODY_IDLE_TIMEOUT_MS, OpenedBody, readResumably } from './resumable-read';
import { RegistryClient } from '../shared/distribution-client';

/** The blobs of one repository of a registry. */
export class RegistryBlobSource implements BlobSource {
  constructor(private readonly client: RegistryClient, private readonly idleTimeoutMs = BODY_IDLE_TIMEOUT_MS) {}

  /** `ghcr.io/acme/tool`. */
  public get name(): string {
    return this.client.name;
  }

  public read(blob: SourceBlob): AsyncGenerator<Buffer> {
    return readResumably({
      what: `blob ${blob.digest} of ${this.name}`,
      size: blob.size,
      beyondSize: 'refuse',
      idleTimeoutMs: this.idleTimeoutMs,
      open: (position) => this.open(blob, position),
    });
  }

  /** The blob from `position`: a 206 must start there; a 200 starts from the beginning, its head skipped. */
  private async open(blob: SourceBlob, position: number): Promise<OpenedBody> {
    const { response, abort } = await this.client.get(`blobs/${blob.digest}`, { rangeStart: position, what: `blob ${blob.digest}` });
    const chunks = (response.body ?? []) as AsyncIterable<Uint8Array>;
    if (position === 0) return { chunks, abort };
    if (response.status !== 206) return { chunks, abort, skip: position };
    const range = /^bytes (\d+)-/.exec(response.headers.get('content-range') ?? '');
    if (!range || Number(range[1]) !== position) {
      abort(new Error('unexpected range'));
      throw new ImagePublishError(`blob ${blob.digest} of ${this.name}: asked for bytes from ${position}, got ${response.headers.get('content-range')}`);
    }
    return { chunks, abort };
  }
}
