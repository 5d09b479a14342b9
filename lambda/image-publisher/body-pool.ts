/**
 * The memory of part bodies, shared by all the uploads of one publish. A part body (a part's bytes as base64 inside
 * JSON) is 14 MB for a 10 MiB part: each upload holding two of them (one in flight, the next being prepared) made the
 * memory grow with the concurrency. Here a fixed number of buffers is lent in turn to whichever upload needs one next,
 * so the peak stays the same however many blobs are in flight; an upload that finds none free waits for a part in flight
 * to be answered. The buffers are reused, never left to the garbage collector.
 */

/**
 * Part bodies held at a time by a publish: one being prepared while the other is on the wire keeps the publisher's CPU
 * and the registry busy at once. A third did not publish faster with 4 or 40 blobs (measured), and cost 14 MB more.
 */
export const SHARED_BODIES = 2;

/** A buffer lent by a `BodyPool`, given back by `release` (called again, it does nothing). */
export interface BodyLease {
  readonly buffer: Buffer;
  release(): void;
}

/** Buffers for part bodies, each lent to one holder at a time, at most `limit` of them. */
export class BodyPool {
  private readonly free: Buffer[] = [];
  private readonly waiting: Array<(buffer: Buffer) => void> = [];
  private created = 0;

  /** @param limit how many buffers may exist at once: at least two, so that a part is prepared while one is in flight. */
  constructor(public readonly limit: number) {
    if (!(limit >= 2)) throw new Error(`a part body pool needs at least two buffers (got ${limit})`);
  }

  /**
   * A buffer of at least `size` bytes, once one is free. A holder releases what it takes whatever happens, and never
   * waits for a second buffer while holding one that only a later step of its own would release.
   */
  public async take(size: number): Promise<BodyLease> {
    let buffer = this.free.pop();
    if (!buffer && this.created < this.limit) this.created++;
    else if (!buffer) buffer = await new Promise<Buffer>((resolve) => this.waiting.push(resolve));
    // Outside Node's shared pool (a buffer this size would not use it anyway); kept for reuse, grown if a part is larger.
    if (!buffer || buffer.length < size) buffer = Buffer.allocUnsafeSlow(size);
    let held = true;
    const lent = buffer;
    return {
      buffer: lent,
      release: () => {
        if (!held) return;
        held = false;
        const next = this.waiting.shift();
        if (next) next(lent);
        else this.free.push(lent);
      },
    };
  }
}
