/**
 * Member constraints of the ECR Public model, checked the way the service checks them: a value of the wrong JSON type
 * is a SerializationException; a value that breaks a length, range, pattern or enum rule is an
 * InvalidParameterException naming the member path and the rule.
 */
import { invalidParameter, serializationError } from './errors';

/** A shape of the model, reduced to what the service validates. */
export type Shape =
  | { readonly type: 'string'; readonly min?: number; readonly max?: number; readonly pattern?: RegExp; readonly enum?: readonly string[] }
  | { readonly type: 'integer'; readonly min?: number; readonly max?: number }
  | { readonly type: 'boolean' }
  | { readonly type: 'blob'; readonly min?: number; readonly max?: number }
  | { readonly type: 'list'; readonly member: Shape; readonly min?: number; readonly max?: number }
  | { readonly type: 'structure'; readonly members: Readonly<Record<string, Shape>>; readonly required?: readonly string[] };

/**
 * Decodes standard base64, refusing anything else. Node's decoder skips characters outside the alphabet, so a string
 * is valid exactly when it has a multiple of 4 characters and decodes to as many bytes as its length implies; this
 * costs no pass over the (up to 28 MB) string beyond the decode itself.
 */
function decodeBase64(value: string): Buffer | undefined {
  if (value.length % 4 !== 0) return undefined;
  const padding = value.endsWith('==') ? 2 : value.endsWith('=') ? 1 : 0;
  const bytes = Buffer.from(value, 'base64');
  return bytes.length === (value.length / 4) * 3 - padding ? bytes : undefined;
}

/**
 * Validates `value` against `shape` and returns it with every blob decoded into a Buffer.
 * Patterns are whole-string matches, as the service enforces them.
 */
export function validate(shape: Shape, value: unknown, path: string): any {
  switch (shape.type) {
    case 'string': {
      if (typeof value !== 'string') throw typeError(path, 'a string', value);
      const length = codePointLength(value, shape.min, shape.max);
      checkLength(path, length, shape.min, shape.max);
      if (shape.pattern && !wholeMatch(shape.pattern, value)) {
        throw invalidParameter(path, `must satisfy regular expression '${shape.pattern.source}'`);
      }
      if (shape.enum && !shape.enum.includes(value)) {
        throw invalidParameter(path, `must satisfy enum value set: [${shape.enum.join(', ')}]`);
      }
      return value;
    }
    case 'integer': {
      if (typeof value !== 'number' || !Number.isInteger(value)) throw typeError(path, 'an integer', value);
      if (shape.min !== undefined && value < shape.min) throw invalidParameter(path, `must have value greater than or equal to ${shape.min}`);
      if (shape.max !== undefined && value > shape.max) throw invalidParameter(path, `must have value less than or equal to ${shape.max}`);
      return value;
    }
    case 'boolean':
      if (typeof value !== 'boolean') throw typeError(path, 'a boolean', value);
      return value;
    case 'blob': {
      // A Buffer is a blob the request reader already decoded and checked (JSON itself never yields one).
      const bytes = Buffer.isBuffer(value) ? value : typeof value === 'string' ? decodeBase64(value) : undefined;
      if (!bytes) throw serializationError(`'${path}' must be a base64-encoded string`);
      checkLength(path, bytes.length, shape.min, shape.max);
      return bytes;
    }
    case 'list': {
      if (!Array.isArray(value)) throw typeError(path, 'a list', value);
      checkLength(path, value.length, shape.min, shape.max);
      return value.map((item, i) => {
        if (item === null) throw invalidParameter(`${path}[${i}]`, 'must not be null');
        return validate(shape.member, item, `${path}[${i}]`);
      });
    }
    case 'structure': {
      if (typeof value !== 'object' || value === null || Array.isArray(value)) throw typeError(path, 'a structure', value);
      const input = value as Record<string, unknown>;
      const out: Record<string, unknown> = {};
      for (const name of shape.required ?? []) {
        if (input[name] === undefined || input[name] === null) throw invalidParameter(join(path, name), 'must not be null');
      }
      // Unknown members are ignored, as the service's deserializer does.
      for (const [name, memberShape] of Object.entries(shape.members)) {
        const member = input[name];
        if (member === undefined || member === null) continue;
        out[name] = validate(memberShape, member, join(path, name));
      }
      return out;
    }
  }
}

function checkLength(path: string, length: number, min?: number, max?: number): void {
  if (min !== undefined && length < min) throw invalidParameter(path, `must have length greater than or equal to ${min}`);
  if (max !== undefined && length > max) throw invalidParameter(path, `must have length less than or equal to ${max}`);
}

function wholeMatch(pattern: RegExp, value: string): boolean {
  return new RegExp(`^(?:${pattern.source})$`, pattern.flags).test(value);
}

/**
 * The length in code points as far as `min` and `max` need it: a string of `length` UTF-16 units holds between
 * `length / 2` and `length` code points, so only a length between the two bounds is counted, without allocating.
 */
function codePointLength(value: string, min: number | undefined, max: number | undefined): number {
  if ((max === undefined || value.length <= max) && (min === undefined || value.length / 2 >= min)) return value.length;
  if (max !== undefined && value.length / 2 > max) return Math.ceil(value.length / 2);
  let n = 0;
  for (let i = 0; i < value.length; i++) {
    const unit = value.charCodeAt(i);
    // A high surrogate followed by a low one is one code point.
    if (unit >= 0xd800 && unit <= 0xdbff && i + 1 < value.length) {
      const next = value.charCodeAt(i + 1);
      if (next >= 0xdc00 && next <= 0xdfff) i++;
    }
    n++;
  }
  return n;
}

function join(path: string, member: string): string {
  return path ? `${path}.${member}` : member;
}

function typeError(path: string, expected: string, value: unknown): Error {
  const got = Array.isArray(value) ? 'a list' : value === null ? 'null' : `a ${typeof value}`;
  return serializationError(`Expected ${expected} for '${path || 'the request'}' but found ${got}`);
}
