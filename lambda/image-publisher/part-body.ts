/**
 * The body of an UploadLayerPart request, built by the publisher instead of the SDK's serializer.
 *
 * The SDK encodes blob members with a JavaScript base64 encoder that goes byte by byte (about a fifth of
 * `Buffer#toString('base64')`'s speed) and hashes the 14 MB body for SigV4 only when the request is sent. Here the body
 * is built with Node's base64 into a reused buffer, and its SHA-256 is taken on the way, in slices that yield to the
 * event loop between them: the next part is prepared while the one before it is on the wire. The SDK still sends the
 * request (signing, retries, errors): a build-step middleware swaps its body for this one, after checking that the SDK
 * would have sent the same members, and gives the signer the body's hash in `x-amz-content-sha256`, which SigV4 signs
 * as the payload hash instead of hashing the body again.
 */
import { createHash } from 'node:crypto';
import { setImmediate as nextTurn } from 'node:timers/promises';
import { UploadLayerPartCommand } from '@aws-sdk/client-ecr-public';
import { DigestCounter } from './layer-compression';

/**
 * Layer bytes encoded at a time: a multiple of 3, so that slices encode independently, and small enough that their
 * base64 string (120 KiB) is an ordinary young-generation object, which V8 collects cheaply, not a large object.
 */
const ENCODE_BYTES = 3 * 40 * 1024;
/** Slices encoded between two turns of the event loop (about 1 MiB of layer bytes). */
const SLICES_PER_TURN = 9;
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
}

/** Two body buffers used in turn: one part is in flight while the next is prepared into the other. */
export class PartBodyBuffers {
  private readonly buffers: Buffer[] = [];
  private turn = 0;

  /** A buffer of at least `size` bytes, never the one handed out just before. */
  public take(size: number): Buffer {
    const i = this.turn++ % 2;
    if (!this.buffers[i] || this.buffers[i].length < size) this.buffers[i] = Buffer.allocUnsafeSlow(size);
    return this.buffers[i].subarray(0, size);
  }
}

/**
 * Builds the body for `part` (into a buffer of `buffers`), adding the part's bytes to `digest` on the way. Yields to
 * the event loop between slices, so that a request in flight keeps being written and its answer read.
 */
export async function preparePart(members: PartMembers, part: Buffer, digest: DigestCounter, buffers: PartBodyBuffers): Promise<PreparedPart> {
  const [head, tail] = bodyAround(members);
  const body = buffers.take(head.length + base64Length(part.length) + tail.length);
  const hash = createHash('sha256');
  const digestBefore = digest.copy();
  let at = body.write(head, 0, 'latin1');
  hash.update(body.subarray(0, at));
  const blobOffset = at;
  for (let start = 0, slices = 0; start < part.length; start += ENCODE_BYTES, slices++) {
    if (slices % SLICES_PER_TURN === 0) await nextTurn();
    const slice = part.subarray(start, Math.min(start + ENCODE_BYTES, part.length));
    digest.update(slice);
    const written = body.write(slice.toString('base64'), at, 'latin1');
    hash.update(body.subarray(at, at + written));
    at += written;
  }
  at += body.write(tail, at, 'latin1');
  hash.update(body.subarray(blobOffset + base64Length(part.length), at));
  return { members, body, bodySha256: hash.digest('hex'), blobOffset, length: part.length, digestBefore };
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
