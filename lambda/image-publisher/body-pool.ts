/**
 * The memory of part bodies, shared by all the uploads of one publish. A part body (a part's bytes as base64 inside
 * JSON) is 14 MB for a 10 MiB part: each upload holding two of them (one in flight, the next being prepared) made the
 * memory grow with the concurrency. Here a number of buffers set by the memory (`sharedBodies`) is lent in turn to
 * whichever upload needs one next; an upload that finds none free waits for a part in flight to be answered. The
 * buffers are reused, never left to the garbage collector.
 */

/** The memory of everything but the part bodies at the peak of a publish, in MiB (about 150 MB measured). */
const OTHER_MIB = 160;
/** The body of a 10 MiB part (its base64 inside JSON), in MiB. */
const BODY_MIB = 14;

/**
 * How many part bodies a publish holds at a time. Where the function's memory is known (`memoryMiB`: Lambda's
 * AWS_LAMBDA_FUNCTION_MEMORY_SIZE), one per blob in flight and one being prepared, as far as half the memory above the
 * rest allows: a remote registry answers each part after a while, and the CPU keeps preparing parts meanwhile only
 * while bodies are free (with 150 ms per request, two bodies published 25% slower than five). Elsewhere (the local
 * deployer, the benchmark) two: one is prepared while the other is on the wire, which keeps the CPU and a registry on
 * the loopback busy (a third did not publish faster with 4 or 40 blobs, and cost 14 MB more).
 */
export function sharedBodies(concurrency: number, memoryMiB?: number): number {
  if (memoryMiB === undefined || !(memoryMiB > 0)) return 2;
  const affordable = Math.floor((memoryMiB - OTHER_MIB) / 2 / BODY_MIB);
  return Math.max(2, Math.min(concurrency + 1, affordable));
}

/** The memory of the Lambda function running this, in MiB; undefined outside Lambda. */
export function functionMemoryMiB(env: NodeJS.ProcessEnv = process.env): number | undefined {
  const mib = Number(env.AWS_LAMBDA_FUNCTION_MEMORY_SIZE);
  return Number.isInteger(mib) && mib > 0 ? mib : undefined;
}

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
