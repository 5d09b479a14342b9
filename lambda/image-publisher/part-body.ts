/**
 * The body of an UploadLayerPart request, built by the publisher instead of the SDK's serializer.
 *
 * The SDK encodes blob members with a JavaScript base64 encoder that goes byte by byte (about a fifth of
 * `Buffer#toString('base64')`'s speed) and hashes the 14 MB body for SigV4 only when the request is sent. Here the body
 * is built with Node's base64 straight from the chunks of the source into a buffer lent by the publish's `BodyPool`
 * (the layer bytes are never gathered into a part first), and its SHA-256 is taken on the way, yielding to the event
 * loop now and then: the next part is prepared while the one before it is on the wire. The SDK still sends the request
 * (signing, retries, errors): a build-step middleware swaps its body for this one, after checking that the SDK would
 * have sent the same members, and gives the signer the body's hash in `x-amz-content-sha256`, which SigV4 signs as the
 * payload hash instead of hashing the body again.
 */
import { createHash } from 'node:crypto';
import { setImmediate as nextTurn } from 'node:timers/promises';
import { UploadLayerPartCommand } from '@aws-sdk/client-ecr-public';
import { BodyPool } from './body-pool';
import { DigestCounter } from './layer-compression';

/**
 * Layer bytes encoded at a time: a multiple of 3, so that slices encode independently, and small enough that their
 * base64 string (120 KiB) is an ordinary young-generation object, which V8 collects cheaply, not a large object.
 */
const ENCODE_BYTES = 3 * 40 * 1024;
/** Layer bytes encoded between two turns of the event loop. */
const BYTES_PER_TURN = 1024 * 1024;
/** The header SigV4 takes the payload hash from when present (`@smithy/signature-v4`). */
const PAYLOAD_HASH_HEADER = 'x-amz-content-sha256';
const BLOB_MEMBER = 'layerPartBlob';

/** The members of UploadLayerPart other than the blob. */
export interface PartMembers {
  readonly repositoryName: string;
  readonly uploadId: string;
  readonly partFirstByte: number;
  readonly partLastByte: number;
}

/** A part ready to send. */
export interface PreparedPart {
  readonly members: PartMembers;
  /** The whole JSON body. */
  readonly body: Buffer;
  /** Hex SHA-256 of `body`. */
  readonly bodySha256: string;
  /** Where the base64 of the layer bytes starts in `body`. */
  readonly blobOffset: number;
  /** The layer bytes the part carries. */
  readonly length: number;
  /** The layer digest before this part's bytes were added: what it goes back to when the registry takes less. */
  readonly digestBefore: DigestCounter;
  /** Gives the body's memory back to the pool: once the part is answered, or will never be sent (`body` is then void). */
  readonly release: () => void;
}

/** Where a part starts and how long it is expected to be. */
export interface PartPlace {
  readonly repositoryName: string;
  readonly uploadId: string;
  readonly partFirstByte: number;
  /**
   * The part's length if the source holds the bytes the blob's size says: the body is laid out for it. A source that
   * ends sooner makes a shorter part (its body is then hashed again in one pass).
   */
  readonly expectedLength: number;
}

/**
 * Builds the body of the part at `place` from at most `expectedLength` bytes of `chunks`, in a buffer of `pool`, adding
 * the bytes to `digest` on the way; undefined when `chunks` has no byte (the buffer is then given back).
 */
export async function preparePart(
  place: PartPlace, chunks: AsyncIterable<Buffer>, digest: DigestCounter, pool: BodyPool,
): Promise<PreparedPart | undefined> {
  const { expectedLength, ...where } = place;
  const [head, tail] = bodyAround({ ...where, partLastByte: where.partFirstByte + expectedLength - 1 });
  const lease = await pool.take(head.length + base64Length(expectedLength) + tail.length);
  try {
    const buffer = lease.buffer;
    const hash = createHash('sha256');
    const digestBefore = digest.copy();
    // The base64 starts right after the head written for the expected length; a shorter part's head is no longer.
    const blobAt = buffer.write(head, 0, 'latin1');
    hash.update(buffer.subarray(0, blobAt));
    let at = blobAt;
    const encode = (bytes: Buffer): void => {
      for (let start = 0; start < bytes.length; start += ENCODE_BYTES) {
        const written = buffer.write(bytes.toString('base64', start, Math.min(start + ENCODE_BYTES, bytes.length)), at, 'latin1');
        hash.update(buffer.subarray(at, at + written));
        at += written;
      }
    };
    // Chunks need not be multiples of 3 bytes: the 1 or 2 bytes after the last whole group wait for the next chunk.
    const carry = Buffer.alloc(3);
    let carried = 0;
    let length = 0;
    let sinceTurn = 0;
    for await (const chunk of chunks) {
      digest.update(chunk);
      length += chunk.length;
      let rest = chunk;
      if (carried > 0) {
        const fill = Math.min(3 - carried, rest.length);
        rest.copy(carry, carried, 0, fill);
        carried += fill;
        rest = rest.subarray(fill);
        if (carried < 3) continue;
        encode(carry);
        carried = 0;
      }
      const whole = rest.length - (rest.length % 3);
      encode(rest.subarray(0, whole));
      carried = rest.copy(carry, 0, whole);
      sinceTurn += chunk.length;
      if (sinceTurn >= BYTES_PER_TURN) {
        sinceTurn = 0;
        await nextTurn();
      }
    }
    if (carried > 0) encode(carry.subarray(0, carried));
    if (length === 0) {
      lease.release();
      return undefined;
    }
    const members = { ...where, partLastByte: where.partFirstByte + length - 1 };
    if (length === expectedLength) {
      at += buffer.write(tail, at, 'latin1');
      hash.update(buffer.subarray(at - tail.length, at));
      return { members, body: buffer.subarray(0, at), bodySha256: hash.digest('hex'), blobOffset: blobAt, length, digestBefore, release: lease.release };
    }
    // The source ended before the expected length: the head names the real last byte, and the body is hashed anew.
    const [shortHead] = bodyAround(members);
    const from = blobAt - shortHead.length;
    buffer.write(shortHead, from, 'latin1');
    const end = at + buffer.write(tail, at, 'latin1');
    const body = buffer.subarray(from, end);
    return {
      members, body, bodySha256: createHash('sha256').update(body).digest('hex'), blobOffset: blobAt - from, length, digestBefore, release: lease.release,
    };
  } catch (err) {
    lease.release();
    throw err;
  }
}

/** The layer bytes [from, to) of a prepared part, decoded back from its body (for a part the registry took only the head of). */
export function partBytes(prepared: PreparedPart, from: number, to: number): Buffer {
  const first = Math.floor(from / 3) * 3;
  const encoded = prepared.body.subarray(prepared.blobOffset + (first / 3) * 4, prepared.blobOffset + base64Length(to));
  return Buffer.from(encoded.toString('latin1'), 'base64').subarray(from - first, to - first);
}

/** The UploadLayerPart command that sends `prepared`. */
export function uploadPartCommand(prepared: PreparedPart): UploadLayerPartCommand {
  // The SDK serializes an empty blob (quickly); the middleware puts the prepared body in its place.
  const command = new UploadLayerPartCommand({ ...prepared.members, layerPartBlob: new Uint8Array(0) });
  command.middlewareStack.add((next) => async (args) => {
    const request = args.request as { body?: unknown; headers: Record<string, string> };
    checkSameMembers(request.body, prepared.members);
    request.body = prepared.body;
    for (const name of Object.keys(request.headers)) {
      const lower = name.toLowerCase();
      if (lower === 'content-length' || lower === PAYLOAD_HASH_HEADER) delete request.headers[name];
    }
    request.headers['content-length'] = String(prepared.body.length);
    request.headers[PAYLOAD_HASH_HEADER] = prepared.bodySha256;
    return next(args);
  }, { step: 'build', name: 'preparedLayerPartBody', priority: 'low' });
  return command;
}

/** The JSON text before and after the blob's base64. */
function bodyAround(members: PartMembers): [string, string] {
  const marker = '\u0000';
  const text = JSON.stringify({ ...members, [BLOB_MEMBER]: marker });
  // The blob is the last member: a marker inside another member's value comes before it.
  const at = text.lastIndexOf(JSON.stringify(marker));
  return [text.slice(0, at + 1), text.slice(at + JSON.stringify(marker).length - 1)];
}

function base64Length(bytes: number): number {
  return Math.ceil(bytes / 3) * 4;
}

/** The SDK's own serialization, with its (empty) blob left out, must carry exactly the members of the prepared body. */
function checkSameMembers(sdkBody: unknown, members: PartMembers): void {
  // Decoded from the view's bytes: the SDK's body type warns when its string methods (valueOf, which Buffer.from calls) are used.
  const text = typeof sdkBody === 'string' ? sdkBody : sdkBody instanceof Uint8Array ? new TextDecoder().decode(sdkBody) : undefined;
  const serialized = text === undefined ? undefined : JSON.parse(text) as Record<string, unknown>;
  const ok = serialized !== undefined && serialized[BLOB_MEMBER] === ''
    && Object.keys(serialized).length === Object.keys(members).length + 1
    && Object.entries(members).every(([k, v]) => serialized[k] === v);
  if (!ok) throw new Error(`the SDK serialized UploadLayerPart as ${String(text).slice(0, 300)}, not with the members of the prepared body`);
}
