/**
 * Deterministic gzip of uncompressed layers: the same input gives the same bytes (and so the same digest) at every
 * deploy, because the level and the other zlib settings are fixed, the gzip header carries no time or name, and deflate
 * without flushes does not depend on how the input is cut into chunks.
 */
import { createHash, Hash } from 'node:crypto';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { constants, createGzip } from 'node:zlib';
import { DOCKER_LAYER_GZIP, DOCKER_MANIFEST, OCI_LAYER_GZIP } from '../../src/private/oci/media-types';

/** The gzip level of compressed layers. Changing it changes every compressed digest: never change it casually. */
export const GZIP_LEVEL = 6;

/** The media type of a compressed layer: Docker's in a Docker manifest, OCI's otherwise. */
export function compressedLayerType(manifestMediaType: string): string {
  return manifestMediaType === DOCKER_MANIFEST ? DOCKER_LAYER_GZIP : OCI_LAYER_GZIP;
}

/** Counts and hashes the bytes that pass through it. */
export class DigestCounter {
  public bytes = 0;

  constructor(private readonly hash: Hash = createHash('sha256')) {}

  public update(chunk: Buffer): void {
    this.hash.update(chunk);
    this.bytes += chunk.length;
  }

  /** An independent counter that has seen what this one has. */
  public copy(): DigestCounter {
    const copy = new DigestCounter(this.hash.copy());
    copy.bytes = this.bytes;
    return copy;
  }

  /** `sha256:<hex>` of everything seen; call once. */
  public digest(): string {
    return 'sha256:' + this.hash.digest('hex');
  }
}

/**
 * `source` gzip-compressed, chunk by chunk (one zlib stream; back-pressure holds the source while the consumer is
 * busy). Every input chunk is passed to `onInput` first, so that the uncompressed bytes can be verified on the way.
 */
export async function* gzipChunks(source: AsyncIterable<Buffer>, onInput?: (chunk: Buffer) => void): AsyncGenerator<Buffer> {
  const gzip = createGzip({
    level: GZIP_LEVEL,
    memLevel: 8,
    windowBits: 15,
    strategy: constants.Z_DEFAULT_STRATEGY,
    chunkSize: 64 * 1024,
  });
  async function* tapped(): AsyncGenerator<Buffer> {
    for await (const chunk of source) {
      onInput?.(chunk);
      yield chunk;
    }
  }
  const feeding = pipeline(Readable.from(tapped()), gzip);
  // The pipeline's failure surfaces through the iteration of `gzip`; this keeps it from also being unhandled.
  feeding.catch(() => undefined);
  try {
    for await (const chunk of gzip) yield chunk as Buffer;
    await feeding;
  } finally {
    // The consumer stopped early (or failed): tear the chain down so that the S3 body is released.
    if (!gzip.destroyed) gzip.destroy();
  }
}
