/**
 * Reading the body of an UploadLayerPart request without turning the whole of it into a string.
 *
 * The body is a small JSON object around one large base64 string (a 10 MiB part is 14 MB of base64). Decoding all of
 * it as UTF-8 and handing it to `JSON.parse` costs more than everything else the emulator does with a part. Here the
 * blob member's string is found in the bytes and cut out; the rest (a few hundred bytes) goes through `JSON.parse`,
 * and the blob is decoded from the bytes, slice by slice, with the same checks the validator makes of any blob.
 *
 * Only the plain shape is read this way: a flat object of scalars whose strings carry no escapes, with one blob member.
 * Anything else (nested values, escapes, a repeated member, malformed JSON) returns undefined, and the caller parses
 * the body the ordinary way, so every request gets exactly the answer `JSON.parse` would give it.
 */
import { BACKSLASH, CLOSE_OBJECT, COLON, COMMA, OPEN_OBJECT, QUOTE } from './json-bytes';

const BLOB_MEMBER = 'layerPartBlob';

/** Base64's padding. */
const EQUALS = 0x3d;

/** The parsed body, its blob member decoded from the bytes; undefined when it is not of the plain shape. */
export function parseUploadPartBody(body: Buffer): Record<string, unknown> | undefined {
  let i = skipSpace(body, 0);
  if (body[i] !== OPEN_OBJECT) return undefined;
  i = skipSpace(body, i + 1);
  let blob: { start: number; end: number } | undefined;
  if (body[i] !== CLOSE_OBJECT) {
    for (;;) {
      const key = readString(body, i);
      if (!key) return undefined;
      i = skipSpace(body, key.end + 1);
      if (body[i] !== COLON) return undefined;
      i = skipSpace(body, i + 1);
      let valueEnd: number;
      if (body[i] === QUOTE) {
        const value = readString(body, i);
        if (!value) return undefined;
        if (body.toString('latin1', key.start, key.end) === BLOB_MEMBER) {
          if (blob) return undefined;
          blob = value;
        }
        valueEnd = value.end + 1;
      } else {
        valueEnd = skipScalar(body, i);
        if (valueEnd === i) return undefined;
      }
      i = skipSpace(body, valueEnd);
      if (body[i] === CLOSE_OBJECT) break;
      if (body[i] !== COMMA) return undefined;
      i = skipSpace(body, i + 1);
    }
  }
  if (!blob || skipSpace(body, i + 1) !== body.length) return undefined;
  // The object with an empty blob string: what is left is small, and JSON.parse judges it.
  const rest = body.toString('utf8', 0, blob.start) + body.toString('utf8', blob.end);
  let parsed: unknown;
  try {
    parsed = JSON.parse(rest);
  } catch {
    return undefined;
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) return undefined;
  const bytes = decodeBase64Bytes(body, blob.start, blob.end);
  if (!bytes) return undefined;
  const members = parsed as Record<string, unknown>;
  members[BLOB_MEMBER] = bytes;
  return members;
}

/**
 * Base64 characters decoded at a time: a multiple of 4, so that slices decode independently, and small enough that each
 * slice's string is an ordinary young-generation object (not a 14 MB string V8 maps fresh pages for at every part).
 */
const DECODE_CHARS = 4 * 30 * 1024;

/**
 * The bytes of the standard base64 in `body[start, end)`, or undefined when it is not exactly that (Node's decoder
 * skips characters outside the alphabet: a slice that decodes to fewer bytes than its length implies is refused, as
 * the validator refuses the whole string; the caller then parses the body the ordinary way and gives the same answer).
 */
function decodeBase64Bytes(body: Buffer, start: number, end: number): Buffer | undefined {
  const length = end - start;
  if (length % 4 !== 0) return undefined;
  const padding = length === 0 ? 0 : body[end - 1] !== EQUALS ? 0 : body[end - 2] === EQUALS ? 2 : 1;
  const bytes = Buffer.allocUnsafe((length / 4) * 3 - padding);
  let written = 0;
  for (let at = start; at < end; at += DECODE_CHARS) {
    const sliceEnd = Math.min(at + DECODE_CHARS, end);
    const expected = ((sliceEnd - at) / 4) * 3 - (sliceEnd === end ? padding : 0);
    if (bytes.write(body.toString('latin1', at, sliceEnd), written, 'base64') !== expected) return undefined;
    written += expected;
  }
  return bytes;
}

/** A string starting at `start` (its opening quote): where its characters start and end; undefined if it has escapes. */
function readString(body: Buffer, start: number): { start: number; end: number } | undefined {
  if (body[start] !== QUOTE) return undefined;
  const end = body.indexOf(QUOTE, start + 1);
  if (end < 0) return undefined;
  if (body.subarray(start + 1, end).indexOf(BACKSLASH) >= 0) return undefined;
  return { start: start + 1, end };
}

/** Past a number, `true`, `false` or `null` (JSON.parse checks which one later). */
function skipScalar(body: Buffer, i: number): number {
  while (i < body.length && isScalarByte(body[i])) i++;
  return i;
}

/** `-`, `+`, `.`, a digit or a letter. */
function isScalarByte(b: number): boolean {
  return b === 0x2d || b === 0x2b || b === 0x2e || (b >= 0x30 && b <= 0x39) || (b >= 0x41 && b <= 0x5a) || (b >= 0x61 && b <= 0x7a);
}

function skipSpace(body: Buffer, i: number): number {
  while (i < body.length && (body[i] === 0x20 || body[i] === 0x0a || body[i] === 0x0d || body[i] === 0x09)) i++;
  return i;
}
