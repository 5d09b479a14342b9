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
 * limit, declared or counted), `busy` (the budget cannot hold it now), `slow` (it did not arrive at the minimum pace:
 * answer and close the connection), or `aborted` (the client went away).
 * Unless `read`, the body was not read to its end: answer, then {@link discardBody}.
 */
export type BodyRead =
  | { readonly outcome: 'read'; readonly body: Buffer; readonly release: () => void }
  | { readonly outcome: 'too-large' | 'busy' | 'slow' | 'aborted' };

/**
 * The pace a body must keep: at least `minBytes` in every `windowMs` until it is complete. A client that declares a
 * large body and sends a byte now and then would otherwise hold what it sent (and its connection) for as long as it
 * likes; on loopback any real client sends megabytes per second.
 */
export interface BodyPace {
  readonly windowMs: number;
  readonly minBytes: number;
}

/** The pace of request bodies the emulator buffers: 64 KiB every 10 s. */
export const DEFAULT_BODY_PACE: BodyPace = { windowMs: 10_000, minBytes: 64 * 1024 };

/**
 * Reads a request body into memory, bounded three ways: at most `limit` bytes for this request (a declared
 * `Content-Length` over it is refused before a byte is read), within `budget` across all requests (taken chunk by chunk
 * as the bytes arrive, so that a body declared large and sent slowly holds only what it sent), and at `pace`. Reading
 * stops at the first byte over a bound. This is the one place the emulator buffers a body: it returns the raw bytes for
 * the caller to decode.
 */
export function readBoundedBody(req: IncomingMessage, limit: number, budget: BodyBudget, pace: BodyPace = DEFAULT_BODY_PACE): Promise<BodyRead> {
  // Node's parser refuses a malformed Content-Length; anything else non-numeric is read as chunked.
  const declaredNumber = Number(req.headers['content-length'] ?? NaN);
  const declared = Number.isSafeInteger(declaredNumber) && declaredNumber >= 0 ? declaredNumber : undefined;
  if (declared !== undefined && declared > limit) return Promise.resolve({ outcome: 'too-large' });
  // A body that could never fit is refused before a byte is read.
  if (declared !== undefined && declared > budget.totalBytes) return Promise.resolve({ outcome: 'busy' });
  let taken = 0;
  const release = () => {
    budget.give(taken);
    taken = 0;
  };
  return new Promise<BodyRead>((resolve) => {
    const chunks: Buffer[] = [];
    followBody(req, limit, {
      chunk: (chunk) => {
        if (!budget.tryTake(chunk.length)) return false;
        taken += chunk.length;
        chunks.push(chunk);
        return true;
      },
      end: (outcome, size) => {
        if (outcome === 'end') return resolve({ outcome: 'read', body: chunks.length === 1 ? chunks[0] : joinChunks(chunks, size), release });
        release();
        resolve({ outcome: outcome === 'refused' ? 'busy' : outcome });
      },
    }, pace);
  });
}

/**
 * `Buffer.concat(chunks, size)`, by a plain copy loop into a buffer outside Node's pool: for the 14 MB body of an
 * UploadLayerPart (some 200 socket reads), `Buffer.concat` costs about three times as much.
 */
function joinChunks(chunks: readonly Buffer[], size: number): Buffer {
  const whole = Buffer.allocUnsafeSlow(size);
  let at = 0;
  for (const chunk of chunks) at += chunk.copy(whole, at);
  return whole;
}

/** A body received into a file: its length, or too large (not read to its end). */
export type ReceivedBody =
  | { readonly outcome: 'received'; readonly file: string; readonly length: number }
  | { readonly outcome: 'too-large'; readonly file: string };

/** The client went away before its body was in: there is nobody to answer. */
export class ClientGone extends Error {}

/**
 * Receives the request body into `file` (never into memory), bounded by `limit` bytes as {@link readBoundedBody} is:
 * its length, or 'too-large' as soon as it passes the limit (a declared Content-Length over it is refused before a
 * byte is read). Throws {@link ClientGone}, the partial file deleted, when the client goes away first.
 */
export function receiveBodyToFile(req: IncomingMessage, file: string, limit: number): Promise<ReceivedBody> {
  if (Number(req.headers['content-length'] ?? 0) > limit) return Promise.resolve({ outcome: 'too-large', file });
  const out = fs.createWriteStream(file);
  return new Promise<ReceivedBody>((resolve, reject) => {
    // `settled`: the body ended one way or another (nothing more is read here); `failed`: the file could not be written.
    let settled = false;
    let failed = false;
    const stop = followBody(req, limit, {
      chunk: (chunk) => {
        if (!out.write(chunk)) {
          req.pause();
          out.once('drain', () => {
            if (!settled) req.resume();
          });
        }
        return true;
      },
      end: (outcome, size) => {
        settled = true;
        out.end(() => {
          if (failed) return;
          if (outcome === 'end') return resolve({ outcome: 'received', file, length: size });
          if (outcome === 'too-large') return resolve({ outcome: 'too-large', file });
          // Nobody will run the change: the partial body goes now.
          fs.rmSync(file, { force: true });
          reject(new ClientGone());
        });
      },
    });
    out.on('error', (err) => {
      settled = true;
      failed = true;
      stop();
      fs.rmSync(file, { force: true });
      reject(err);
    });
  });
}

/** Whether the request declares no body (a chunked body counts as one). */
export function isEmptyBody(req: IncomingMessage): boolean {
  return req.headers['transfer-encoding'] === undefined && Number(req.headers['content-length'] ?? 0) === 0;
}

/** How a body followed by {@link followBody} ended. */
type BodyEnd = 'end' | 'too-large' | 'refused' | 'slow' | 'aborted';

/**
 * The one reading of a request body: every chunk goes to `chunk` (with the bytes before it) while the body stays
 * within `limit` bytes and `chunk` takes it; `end` is called once, when the body ends, passes the limit, is refused by
 * `chunk`, falls below `pace` (when given), or the client goes away. Unless it ended, the body was not read to its end
 * and the request stays paused: answer, then {@link discardBody}. Returns a function that stops following (no `end`).
 */
function followBody(req: IncomingMessage, limit: number, handlers: {
  readonly chunk: (chunk: Buffer, before: number) => boolean;
  readonly end: (outcome: BodyEnd, size: number) => void;
}, pace?: BodyPace): () => void {
  let size = 0;
  let done = false;
  let windowStart = 0;
  const pacer = pace === undefined ? undefined : setInterval(() => {
    if (size - windowStart < pace.minBytes) finish('slow');
    windowStart = size;
  }, pace.windowMs);
  pacer?.unref();
  const detach = () => {
    clearInterval(pacer);
    done = true;
    req.removeListener('data', onData);
    req.removeListener('end', onEnd);
    req.removeListener('error', onAborted);
    req.removeListener('close', onClose);
  };
  const finish = (outcome: BodyEnd) => {
    if (done) return;
    detach();
    // Nothing more is read until the answer is sent.
    if (outcome !== 'end') req.pause();
    handlers.end(outcome, size);
  };
  const onData = (chunk: Buffer) => {
    if (size + chunk.length > limit) return finish('too-large');
    if (!handlers.chunk(chunk, size)) return finish('refused');
    size += chunk.length;
  };
  const onEnd = () => finish('end');
  const onAborted = () => finish('aborted');
  const onClose = () => {
    if (!req.complete) finish('aborted');
  };
  req.on('data', onData);
  req.on('end', onEnd);
  req.on('error', onAborted);
  req.on('close', onClose);
  return detach;
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
  fs.createReadStream(file, { start, end, highWaterMark: READ_CHUNK_BYTES }).on('error', () => res.destroy()).pipe(res);
}

/**
 * The chunk a file is streamed in: a large blob or an image archive is most of what these servers send, and at the
 * default 64 KiB, the reads and socket writes per byte cost more CPU than the copy (a quarter of a second per 256 MiB).
 */
const READ_CHUNK_BYTES = 1024 * 1024;

/**
 * Why a request to a loopback server on `port` is refused, or undefined when it may be served. Only requests naming
 * the server's own address in `Host` (127.0.0.1, localhost or [::1], with its port) are served, and an `Origin`, when
 * sent, must be that address too: a page of another site that a browser on this machine shows can make the browser
 * send requests here under a name of its own (DNS rebinding), or from its own origin; neither names this server.
 */
export function foreignRequest(req: IncomingMessage, port: number): string | undefined {
  const own = [`127.0.0.1:${port}`, `localhost:${port}`, `[::1]:${port}`];
  const host = req.headers.host?.toLowerCase();
  if (host === undefined || !own.includes(host)) {
    return `Host ${JSON.stringify(req.headers.host ?? '')} is not this server's own address (${own.join(', ')})`;
  }
  const origin = req.headers.origin?.toLowerCase();
  if (origin !== undefined && !own.some((o) => origin === `http://${o}`)) {
    return `Origin ${JSON.stringify(req.headers.origin)} is not this server's own origin`;
  }
  return undefined;
}

/**
 * Answers 403 (JSON `{"message"}`) to a request {@link foreignRequest} refuses, its body thrown away; true when it did.
 */
export function refuseForeignRequest(req: IncomingMessage, res: ServerResponse, port: number): boolean {
  const reason = foreignRequest(req, port);
  if (reason === undefined) return false;
  sendJson(res, 403, { message: `${reason}: refused (only this machine's own clients are served)` });
  discardBody(req);
  return true;
}
