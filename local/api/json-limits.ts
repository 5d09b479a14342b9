/**
 * What a request body may cost to parse, checked on its bytes before `JSON.parse` builds anything. The API's inputs
 * are shallow (a catalog-data structure three levels down is the deepest) and their lists are short (200 tags, 100
 * image ids); a body of nested arrays or of millions of tiny elements is not a request but a way to make the parser
 * allocate gigabytes. The scan is one pass over the bytes, and strings (a layer part's base64) are skipped whole.
 */
import { BACKSLASH, CLOSE_ARRAY, CLOSE_OBJECT, COMMA, OPEN_ARRAY, OPEN_OBJECT, QUOTE } from './json-bytes';

/** Nesting of arrays and objects a body may have. */
export const MAX_JSON_DEPTH = 16;
/** Values (array elements and object members) a body may hold in all. */
export const MAX_JSON_ELEMENTS = 20_000;


/** Why `body` (JSON text, or not) is too costly to parse, or undefined when it is within the limits. */
export function jsonCostProblem(body: Buffer): string | undefined {
  let depth = 0;
  let elements = 0;
  for (let i = 0; i < body.length; i++) {
    const byte = body[i];
    if (byte === QUOTE) {
      // Skip the string: an escaped character is two bytes; UTF-8 continuation bytes are never a quote or backslash.
      for (i++; i < body.length && body[i] !== QUOTE; i++) if (body[i] === BACKSLASH) i++;
    } else if (byte === OPEN_ARRAY || byte === OPEN_OBJECT) {
      if (++depth > MAX_JSON_DEPTH) return `The request body nests arrays and objects more than ${MAX_JSON_DEPTH} deep`;
      elements++;
    } else if (byte === CLOSE_ARRAY || byte === CLOSE_OBJECT) {
      depth--;
    } else if (byte === COMMA && ++elements > MAX_JSON_ELEMENTS) {
      return `The request body holds more than ${MAX_JSON_ELEMENTS} values`;
    }
  }
  return elements > MAX_JSON_ELEMENTS ? `The request body holds more than ${MAX_JSON_ELEMENTS} values` : undefined;
}
