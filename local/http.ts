/** Small HTTP helpers shared by the emulator's endpoints. */
import * as fs from 'fs';
import { IncomingMessage, ServerResponse } from 'http';

/**
 * The bytes of request bodies held in memory at once, across all requests. A body is only buffered while it fits;
 * the emulator's memory therefore stays bounded however many clients send large or endless bodies.
 */
export class BodyBudget {
  private used = 0;

  constructor(public readonly totalBytes: number) {}

  /** Takes `bytes` from the budget; false (and nothing taken) when they do not fit. */
  public tryTake(bytes: number): boolean {
    if (this.used + bytes > this.totalBytes) return false;
    this.used += bytes;
    return true;
  }

  public give(bytes: number): void {
    this.used = Math.max(0, this.used - bytes);
  }

  public get inUse(): number {
    return this.used;
  }
}

/**
 * What became of a request body: `read` (the raw bytes; call `release` once done with them), `too-large` (over the
 * limit, declared or counted), `busy` (the budget cannot hold it now), or `aborted` (the client went away).
 * Unless `read`, the body was not read to its end: answer, then {@link discardBody}.
 */
export type BodyRead =
  | { readonly outcome: 'read'; readonly body: Buffer; readonly release: () => void }
  | { readonly outcome: 'too-large' | 'busy' | 'aborted' };

/**
 * Reads a request body into memory, bounded twice: at most `limit` bytes for this request (a declared
 * `Content-Length` over it is refused before a byte is read), and within `budget` across all requests (taken for the
 * declared length at once, or chunk by chunk for a chunked body). Reading stops at the first byte over either bound.
 * This is the one place the emulator buffers a body: it returns the raw bytes for the caller to decode.
 */
export function readBoundedBody(req: IncomingMessage, limit: number, budget: BodyBudget): Promise<BodyRead> {
  // Node's parser refuses a malformed Content-Length; anything else non-numeric is read as chunked.
  const declaredNumber = Number(req.headers['content-length'] ?? NaN);
  const declared = Number.isSafeInteger(declaredNumber) && declaredNumber >= 0 ? declaredNumber : undefined;
  if (declared !== undefined && declared > limit) return Promise.resolve({ outcome: 'too-large' });
  if (declared !== undefined && !budget.tryTake(declared)) return Promise.resolve({ outcome: 'busy' });
  let taken = declared ?? 0;
  const release = () => {
    budget.give(taken);
    taken = 0;
  };
  return new Promise<BodyRead>((resolve) => {
    // A declared length is received into one buffer of that size: no chunk list, no copy at the end.
    const whole = declared !== undefined ? Buffer.allocUnsafe(declared) : undefined;
    const chunks: Buffer[] = [];
    let size = 0;
    let done = false;
    const finish = (result: BodyRead) => {
      if (done) return;
      done = true;
      req.removeListener('data', onData);
      req.removeListener('end', onEnd);
      req.removeListener('error', onAborted);
      req.removeListener('close', onClose);
      if (result.outcome !== 'read') {
        // Nothing more is read until the answer is sent.
        req.pause();
        release();
      }
      resolve(result);
    };
    const onData = (chunk: Buffer) => {
      if (size + chunk.length > limit) return finish({ outcome: 'too-large' });
      if (whole) {
        chunk.copy(whole, size);
      } else {
        if (!budget.tryTake(chunk.length)) return finish({ outcome: 'busy' });
        taken += chunk.length;
        chunks.push(chunk);
      }
      size += chunk.length;
    };
    const onEnd = () => finish({ outcome: 'read', body: whole ?? Buffer.concat(chunks, size), release });
    const onAborted = () => finish({ outcome: 'aborted' });
    const onClose = () => {
      if (!req.complete) finish({ outcome: 'aborted' });
    };
    req.on('data', onData);
    req.on('end', onEnd);
    req.on('error', onAborted);
    req.on('close', onClose);
  });
}

/** How much of a refused body is read and thrown away after the answer before the connection is closed. */
export const MAX_DISCARDED_BYTES = 64 * 1024 * 1024;

/**
 * Throws away the rest of a body that was refused (call it once the answer is sent), so that a client still sending
 * reads its answer rather than a reset connection, and the connection can serve the next request. Nothing is held;
 * past {@link MAX_DISCARDED_BYTES} (a client that sends without end) the connection is closed.
 */
export function discardBody(req: IncomingMessage): void {
  if (req.complete) return;
  let discarded = 0;
  req.on('data', (chunk: Buffer) => {
    discarded += chunk.length;
    if (discarded > MAX_DISCARDED_BYTES) req.socket.destroy();
  });
  req.on('error', () => undefined);
  req.resume();
}

/**
 * Decodes one percent-encoded path segment; undefined when an escape is malformed (`%E0%A4%A`), for the caller to
 * answer with a 4xx.
 */
export function decodeSegment(segment: string): string | undefined {
  try {
    return decodeURIComponent(segment);
  } catch {
    return undefined;
  }
}

export function sendJson(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const bytes = Buffer.from(JSON.stringify(body));
  res.writeHead(status, { 'Content-Type': 'application/json', 'Content-Length': String(bytes.length), ...headers });
  res.end(bytes);
}

export interface ByteRange {
  readonly start: number;
  /** Inclusive. */
  readonly end: number;
}

/**
 * Parses a single `Range: bytes=...` header against a resource of `size` bytes (RFC 9110): undefined when absent,
 * 'unsatisfiable' when it cannot be served.
 */
export function parseRange(header: string | undefined, size: number): ByteRange | 'unsatisfiable' | undefined {
  if (header === undefined) return undefined;
  const match = /^bytes=(\d*)-(\d*)$/.exec(header.trim());
  if (!match || (match[1] === '' && match[2] === '')) return 'unsatisfiable';
  if (match[1] === '') {
    const suffix = Number(match[2]);
    if (suffix === 0 || size === 0) return 'unsatisfiable';
    return { start: Math.max(0, size - suffix), end: size - 1 };
  }
  const start = Number(match[1]);
  const end = match[2] === '' ? size - 1 : Math.min(Number(match[2]), size - 1);
  if (start >= size || end < start) return 'unsatisfiable';
  return { start, end };
}

/** Streams (part of) a file as the response body; HEAD sends the headers only. */
export function sendFile(
  req: IncomingMessage, res: ServerResponse, file: string, size: number, headers: Record<string, string>,
): void {
  const range = parseRange(req.headers.range, size);
  if (range === 'unsatisfiable') {
    res.writeHead(416, { 'Content-Range': `bytes */${size}` });
    res.end();
    return;
  }
  const status = range ? 206 : 200;
  const start = range?.start ?? 0;
  const end = range?.end ?? size - 1;
  const length = size === 0 ? 0 : end - start + 1;
  res.writeHead(status, {
    ...headers,
    'Accept-Ranges': 'bytes',
    'Content-Length': String(length),
    ...(range ? { 'Content-Range': `bytes ${start}-${end}/${size}` } : {}),
  });
  if (req.method === 'HEAD' || length === 0) {
    res.end();
    return;
  }
  fs.createReadStream(file, { start, end }).on('error', () => res.destroy()).pipe(res);
}
