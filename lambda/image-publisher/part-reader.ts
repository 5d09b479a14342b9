/**
 * Cuts a stream of chunks into layer parts of a fixed size, handed out as the source's own chunks (the last one of a
 * part cut): nothing is copied or gathered, so a part's bytes are held only while they are being encoded.
 */

export class PartReader {
  private readonly iterator: AsyncIterator<Buffer>;
  /** Bytes read but not yet handed out, oldest first. */
  private readonly queued: Buffer[] = [];
  private ended = false;

  constructor(source: AsyncIterable<Buffer>, private readonly partSize: number) {
    if (!(partSize > 0)) throw new Error(`part size must be positive (got ${partSize})`);
    this.iterator = source[Symbol.asyncIterator]();
  }

  /** Puts `bytes` back in front: they are the start of the next part (a part the registry took only the head of). */
  public unread(bytes: Buffer): void {
    if (bytes.length > 0) this.queued.unshift(bytes);
  }

  /**
   * The next part, as the chunks it is made of: `max` bytes (at most the part size), fewer only at the end of the
   * stream; nothing once the stream is exhausted. Read one part at a time: the next part starts where this one stopped.
   */
  public async *chunks(max: number = this.partSize): AsyncGenerator<Buffer> {
    let left = Math.min(max, this.partSize);
    while (left > 0) {
      let chunk = this.queued.shift();
      if (!chunk) {
        if (this.ended) break;
        const r = await this.iterator.next();
        if (r.done) {
          this.ended = true;
          break;
        }
        chunk = r.value;
      }
      if (chunk.length > left) {
        this.unread(chunk.subarray(left));
        chunk = chunk.subarray(0, left);
      }
      left -= chunk.length;
      yield chunk;
    }
  }

  /** Stops reading early (releases the source). */
  public async close(): Promise<void> {
    await this.iterator.return?.();
  }
}
