/**
 * Cuts a stream of chunks into layer parts of a fixed size. Unless told otherwise, while a part is being uploaded the
 * next one is read ahead (the source's latency then overlaps the upload), so at most two parts (plus one chunk) are
 * held at a time.
 */

export class PartReader {
  private readonly iterator: AsyncIterator<Buffer>;
  /** Bytes read but not yet handed out, oldest first. */
  private readonly queued: Buffer[] = [];
  private queuedBytes = 0;
  private ended = false;
  /** The read-ahead in progress, if any: the only other reader of the source. */
  private filling?: Promise<void>;
  private fillError?: unknown;

  constructor(
    source: AsyncIterable<Buffer>,
    private readonly partSize: number,
    /**
     * Read the next part in the background after handing one out. A caller that asks for the next part while the
     * previous one is still in flight overlaps the source's latency already, and holds one part less without it.
     * @default true
     */
    private readonly readsAhead = true,
  ) {
    if (!(partSize > 0)) throw new Error(`part size must be positive (got ${partSize})`);
    this.iterator = source[Symbol.asyncIterator]();
  }

  /** Puts `bytes` back in front: they are the start of the next part (a part the registry took only the head of). */
  public unread(bytes: Buffer): void {
    if (bytes.length === 0) return;
    this.queued.unshift(bytes);
    this.queuedBytes += bytes.length;
  }

  /**
   * The next part: `partSize` bytes, fewer only at the end of the stream; undefined once the stream is exhausted.
   * With `into` (at least `partSize` bytes), the part is a view of it: a caller done with each part before asking for
   * the next one reuses one buffer instead of leaving one per part to the garbage collector.
   */
  public async next(into?: Buffer): Promise<Buffer | undefined> {
    await this.filling;
    if (this.fillError !== undefined) throw this.fillError;
    if (into && into.length < this.partSize) throw new Error(`a part of ${this.partSize} bytes does not fit in ${into.length}`);
    const part = into ?? Buffer.allocUnsafe(this.partSize);
    let filled = 0;
    // Bytes put back or left over from the last chunk come first; then chunks are copied in as they arrive.
    while (filled < this.partSize) {
      let chunk = this.queued.shift();
      if (chunk) {
        this.queuedBytes -= chunk.length;
      } else {
        if (this.ended) break;
        const r = await this.iterator.next();
        if (r.done) {
          this.ended = true;
          break;
        }
        chunk = r.value;
      }
      const take = Math.min(chunk.length, this.partSize - filled);
      chunk.copy(part, filled, 0, take);
      filled += take;
      if (take < chunk.length) {
        this.queued.unshift(chunk.subarray(take));
        this.queuedBytes += chunk.length - take;
      }
    }
    if (filled === 0) return undefined;
    if (this.readsAhead) this.readAhead();
    return filled === this.partSize ? part : part.subarray(0, filled);
  }

  /** Starts filling the queue up to one part in the background; a failure surfaces at the next `next()`. */
  private readAhead(): void {
    if (this.ended || this.filling) return;
    this.filling = (async () => {
      while (!this.ended && this.queuedBytes < this.partSize) {
        const r = await this.iterator.next();
        if (r.done) {
          this.ended = true;
          break;
        }
        this.queued.push(r.value);
        this.queuedBytes += r.value.length;
      }
    })().catch((err) => {
      this.fillError = err;
    }).finally(() => {
      this.filling = undefined;
    });
  }

  /** Stops reading early (releases the source). */
  public async close(): Promise<void> {
    await this.filling;
    await this.iterator.return?.();
  }
}
