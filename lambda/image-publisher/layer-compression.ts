/**
 * Deterministic gzip of uncompressed layers: the same input gives the same bytes (and so the same digest) at every
 * deploy, because the input is cut into blocks at fixed offsets, each block is stored or deflated by its own content
 * with fixed zlib settings, and the gzip header carries no time or name.
 */
import { createHash, Hash } from 'node:crypto';
import { promisify } from 'node:util';
import * as zlib from 'node:zlib';
import { DOCKER_LAYER_GZIP, DOCKER_MANIFEST, OCI_LAYER_GZIP } from '../../src/shared/oci/media-types';

/**
 * The gzip level of compressed layers (blocks that do not compress are stored). Changing it, or how blocks are judged,
 * changes every compressed digest: never change them casually.
 */
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
 * `source` gzip-compressed, block by block. Every input chunk is passed to `onInput` first, so that the uncompressed
 * bytes can be verified on the way.
 *
 * The input is cut into blocks of `BLOCK_BYTES` counted from its start (so the cut does not depend on how the source
 * delivers it). A block that does not compress (`isIncompressible`: already compressed files, random data) is written
 * as deflate stored blocks, at the cost of a copy: deflate spends as much CPU on such data as on text, for no gain
 * (skopeo's compressor stores them too). Any other block is deflated on its own (zlib on Node's thread pool) and ends
 * with a sync flush, so blocks follow each other on byte boundaries. One gzip member: header, the blocks, an empty
 * final stored block, CRC-32 and length.
 */
export async function* gzipChunks(source: AsyncIterable<Buffer>, onInput?: (chunk: Buffer) => void): AsyncGenerator<Buffer> {
  const blocks = new BlockCutter(BLOCK_BYTES);
  let crc = 0;
  let length = 0;
  const compress = async (block: Buffer): Promise<Buffer[]> => {
    crc = zlib.crc32(block, crc);
    length += block.length;
    return isIncompressible(block) ? storedBlocks(block) : [await deflateBlock(block)];
  };
  yield GZIP_HEADER;
  for await (const chunk of source) {
    onInput?.(chunk);
    for (const block of blocks.push(chunk)) yield* await compress(block);
  }
  const rest = blocks.rest();
  if (rest.length > 0) yield* await compress(rest);
  const trailer = Buffer.alloc(4 + 5 + 4 + 4);
  // The final block: empty, stored (BFINAL=1, BTYPE=00, LEN=0, NLEN=0xffff).
  trailer.set([0x01, 0x00, 0x00, 0xff, 0xff], 0);
  trailer.writeUInt32LE(crc, 5);
  trailer.writeUInt32LE(length % 2 ** 32, 9);
  yield trailer.subarray(0, 13);
}

/** Input blocks whose compressibility is judged, and which are compressed, one at a time. */
export const BLOCK_BYTES = 1024 * 1024;
/** Bytes of a block deflated to judge it (four samples spread over the block). */
const SAMPLE_BYTES = 4 * 4096;
/** A block whose samples deflate to more than this share of their size is stored. */
const STORE_ABOVE = 0.97;
/** A stored block holds at most 65,535 bytes (its LEN is 16 bits). */
const STORED_MAX = 0xffff;
/** ID1 ID2, CM=8 (deflate), no flags, MTIME=0 (no time: the bytes depend on the input alone), XFL=0, OS=255 (unknown). */
const GZIP_HEADER = Buffer.from([0x1f, 0x8b, 0x08, 0x00, 0, 0, 0, 0, 0x00, 0xff]);

const deflateRaw = promisify(zlib.deflateRaw);

/** Whether deflating `block` would hardly shrink it, judged on samples of it at level 1 (cheap and deterministic). */
export function isIncompressible(block: Buffer): boolean {
  if (block.length < SAMPLE_BYTES) return false;
  const step = Math.floor(block.length / 4);
  const sample = Buffer.concat([0, 1, 2, 3].map((i) => block.subarray(i * step, i * step + SAMPLE_BYTES / 4)));
  return zlib.deflateRawSync(sample, { level: 1 }).length > sample.length * STORE_ABOVE;
}

/** `block` deflated on its own, not final, ending on a byte boundary (a sync flush). */
function deflateBlock(block: Buffer): Promise<Buffer> {
  return deflateRaw(block, {
    level: GZIP_LEVEL,
    memLevel: 8,
    windowBits: 15,
    strategy: zlib.constants.Z_DEFAULT_STRATEGY,
    finishFlush: zlib.constants.Z_SYNC_FLUSH,
  });
}

/** `block` as deflate stored blocks (not final): each a 5-byte header (BTYPE=00, LEN, NLEN) and the bytes as they are. */
function storedBlocks(block: Buffer): Buffer[] {
  const out: Buffer[] = [];
  // The headers of a block share one buffer: one allocation per block rather than sixteen tiny ones per MiB.
  const headers = Buffer.alloc(5 * Math.ceil(block.length / STORED_MAX));
  for (let at = 0, i = 0; at < block.length; at += STORED_MAX, i++) {
    const bytes = block.subarray(at, at + STORED_MAX);
    const header = headers.subarray(5 * i, 5 * i + 5);
    header.writeUInt16LE(bytes.length, 1);
    // NLEN, the one's complement of LEN in 16 bits.
    header.writeUInt16LE(0xffff - bytes.length, 3);
    out.push(header, bytes);
  }
  return out;
}

/** Cuts a stream of chunks into blocks of one size (the last one shorter). */
class BlockCutter {
  private pending: Buffer[] = [];
  private pendingBytes = 0;

  constructor(private readonly size: number) {}

  public *push(chunk: Buffer): Generator<Buffer> {
    let rest = chunk;
    while (this.pendingBytes + rest.length >= this.size) {
      const take = this.size - this.pendingBytes;
      const block = this.pending.length === 0 ? rest.subarray(0, take) : Buffer.concat([...this.pending, rest.subarray(0, take)]);
      this.pending = [];
      this.pendingBytes = 0;
      rest = rest.subarray(take);
      yield block;
    }
    if (rest.length > 0) {
      this.pending.push(rest);
      this.pendingBytes += rest.length;
    }
  }

  public rest(): Buffer {
    return Buffer.concat(this.pending);
  }
}
