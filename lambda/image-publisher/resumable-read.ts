/**
 * The one way the publisher reads a body it may have to open again: a blob from the staged archive in S3, a blob or a
 * manifest from a registry. A body that breaks off or stalls is released and reopened from the byte reached, a bounded
 * number of times, with one set of limits; bytes a server sends again (it ignored the range) are skipped.
 */
import { ImagePublishError } from './errors';
import { describe, withContext } from '../shared/errors';
import { log } from '../shared/log';

/** Times a body that breaks off, stalls or ends early is reopened (the client's own retries only start a response). */
export const BODY_REOPENS = 5;
/** A body that sends nothing for this long is given up on and reopened. */
export const BODY_IDLE_TIMEOUT_MS = 60_000;

/** A body opened at a position. */
export interface OpenedBody {
  readonly chunks: AsyncIterable<Uint8Array>;
  /** Bytes at its head that were already passed on (a server that answered a ranged request with everything). @default 0 */
  readonly skip?: number;
  /** Releases the connection (the reader stopped, the body stalled or failed). */
  abort(reason: Error): void;
}

/** A body to read, and how to open it again. */
export interface ResumableBody {
  /** What is read, for messages and logs (`blob sha256:... of ghcr.io/acme/tool`). */
  readonly what: string;
  /**
   * Its length: a body that ends before it is reopened from there. @default - unknown: the body is whole when it ends
   */
  readonly size?: number;
  /**
   * Bytes beyond `size`: `cut` for a range of a larger object (a server that ignores the range's end must not hand
   * out the next blob's bytes), `refuse` for a whole blob (it is longer than its descriptor says). @default 'refuse'
   */
  readonly beyondSize?: 'cut' | 'refuse';
  /** @default BODY_IDLE_TIMEOUT_MS */
  readonly idleTimeoutMs?: number;
  /** Opens the body from `position` (bytes from its start already passed on). */
  open(position: number): Promise<OpenedBody>;
}

/** The bytes of `body` as they arrive, reopened from the byte reached when it breaks off. */
export async function* readResumably(body: ResumableBody): AsyncGenerator<Buffer> {
  // Nothing to read: no request (a ranged GetObject of no bytes would be an invalid range).
  if (body.size === 0) return;
  const idleTimeoutMs = body.idleTimeoutMs ?? BODY_IDLE_TIMEOUT_MS;
  let position = 0;
  let reopens = 0;
  const reopen = (error: string): void => {
    log({ bodyReopen: body.what, position, error });
  };
  for (;;) {
    const opened = await body.open(position);
    let skip = opened.skip ?? 0;
    let timer: NodeJS.Timeout | undefined;
    // Restarted at every chunk: refreshing the one timer costs less than a new timer per chunk.
    const arm = (): void => {
      if (timer) timer.refresh();
      else timer = setTimeout(() => opened.abort(new Error(`no byte for ${idleTimeoutMs / 1000} s`)), idleTimeoutMs);
    };
    let finished = false;
    try {
      arm();
      for await (const chunk of opened.chunks) {
        arm();
        let bytes = Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
        if (skip > 0) {
          const dropped = Math.min(skip, bytes.length);
          skip -= dropped;
          bytes = bytes.subarray(dropped);
        }
        bytes = withinSize(body, position, bytes);
        if (bytes.length > 0) {
          position += bytes.length;
          yield bytes;
        }
        if (body.beyondSize === 'cut' && position >= body.size!) break;
      }
      finished = true;
    } catch (err) {
      if (err instanceof ImagePublishError) throw err;
      if (++reopens > BODY_REOPENS) throw withContext(err, `reading ${body.what} at byte ${position}`);
      reopen(describe(err));
      continue;
    } finally {
      clearTimeout(timer);
      if (!finished) opened.abort(new Error('the reader stopped'));
    }
    if (body.size === undefined || position >= body.size) return;
    if (++reopens > BODY_REOPENS) {
      throw new ImagePublishError(`${body.what} ended at byte ${position} of ${body.size}, ${reopens - 1} times reopened`);
    }
    reopen('the body ended early');
  }
}

/** `bytes` arriving at `position`, cut at `size` or refused beyond it. */
function withinSize(body: ResumableBody, position: number, bytes: Buffer): Buffer {
  if (body.size === undefined || position + bytes.length <= body.size) return bytes;
  if (body.beyondSize === 'cut') return bytes.subarray(0, Math.max(0, body.size - position));
  throw new ImagePublishError(`${body.what} is longer than the ${body.size} bytes its descriptor says`);
}

/**
 * A small body read whole (a manifest), opened again from its start when the read breaks off: a tag may have moved
 * meanwhile, so the bytes are never spliced from two answers. The same limit on reopens as {@link readResumably}; a
 * failure to open, or the publisher's own refusal (too large), is not retried.
 */
export async function readWhole<O>(
  what: string, open: () => Promise<O>, read: (opened: O) => Promise<Buffer>,
): Promise<{ opened: O; bytes: Buffer }> {
  for (let reopens = 0; ; reopens++) {
    const opened = await open();
    try {
      return { opened, bytes: await read(opened) };
    } catch (err) {
      if (err instanceof ImagePublishError || reopens >= BODY_REOPENS) throw err;
      log({ bodyReopen: what, position: 0, error: describe(err) });
    }
  }
}
