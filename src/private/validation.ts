/**
 * Synth-time checks. Each error names the construct path, the property and the rule; values that are tokens are left to
 * the service, which checks them at deploy time.
 */
import * as fs from 'fs';
import * as cdk from 'aws-cdk-lib';
import { Token } from 'aws-cdk-lib';
import { IConstruct } from 'constructs';

/** The model's pattern for repository names (whole-string match). */
const REPOSITORY_NAME = /^(?:[a-z0-9]+(?:[._-][a-z0-9]+)*\/)*[a-z0-9]+(?:[._-][a-z0-9]+)*$/;

const PNG_SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
const JPEG_SIGNATURE = Buffer.from([0xff, 0xd8, 0xff]);
/** The model's limit on `logoImageBlob`. */
const MAX_LOGO_BYTES = 512_000;

/** The error code our synth-time errors carry where aws-cdk-lib records one (`ValidationError`'s name). */
const VALIDATION_ERROR_CODE = 'EcrPublicInvalidProperty';

/** Throws an error that names the construct, the property and the rule. */
export function invalid(scope: IConstruct, prop: string, rule: string, got?: string): never {
  throw validationError(scope, `${scope.node.path}: ${prop} ${rule}${got !== undefined ? ` (got ${got})` : ''}`);
}

/**
 * aws-cdk-lib's `ValidationError` where the installed aws-cdk-lib has one, so that the CLI reports it as the app's
 * validation error (pointing at the construct, not at a stack trace into this library); a plain Error otherwise.
 *
 * The class is not part of aws-cdk-lib's typed API and its constructor changed within our peer range: 2.189 takes
 * `(message, scope)`, later releases `(code, message, scope)`. Its arity tells them apart.
 */
export function validationError(scope: IConstruct, message: string): Error {
  const ValidationError = (cdk as unknown as Record<string, unknown>).ValidationError;
  if (typeof ValidationError !== 'function') return new Error(message);
  const Ctor = ValidationError as new (...args: unknown[]) => Error;
  return ValidationError.length >= 3 ? new Ctor(VALIDATION_ERROR_CODE, message, scope) : new Ctor(message, scope);
}

function quoted(value: string, max = 60): string {
  return JSON.stringify(value.length > max ? `${value.slice(0, max)}...` : value);
}

function length(value: string): number {
  return [...value].length;
}

export function validateRepositoryName(scope: IConstruct, prop: string, name: string): void {
  if (Token.isUnresolved(name)) return;
  if (length(name) < 2 || length(name) > 205) invalid(scope, prop, 'must be 2 to 205 characters', `${length(name)} characters: ${quoted(name)}`);
  if (!REPOSITORY_NAME.test(name)) {
    invalid(scope, prop, "must be lower-case letters and digits, with '.', '_' or '-' only between them and '/' between path components", quoted(name));
  }
}

export function validateMaxLength(scope: IConstruct, prop: string, value: string | undefined, max: number): void {
  // Code points never outnumber UTF-16 units: a short string needs no counting (catalog texts run to 25,600).
  if (value === undefined || value.length <= max || Token.isUnresolved(value)) return;
  if (length(value) > max) invalid(scope, prop, `must be at most ${max} characters`, `${length(value)} characters`);
}

export function validateCatalogList(scope: IConstruct, prop: string, values: readonly string[] | undefined): void {
  if (values === undefined) return;
  if (values.length > 50) invalid(scope, prop, 'must have at most 50 items', `${values.length} items`);
  values.forEach((value, i) => {
    if (Token.isUnresolved(value)) return;
    if (length(value) < 1 || length(value) > 50) invalid(scope, `${prop}[${i}]`, 'must be 1 to 50 characters', quoted(value));
  });
}

export function validateLogoFile(scope: IConstruct, prop: string, filePath: string): void {
  if (!fs.existsSync(filePath) || !fs.statSync(filePath).isFile()) invalid(scope, prop, 'must be an existing file', quoted(filePath, 200));
  const size = fs.statSync(filePath).size;
  if (size === 0 || size > MAX_LOGO_BYTES) invalid(scope, prop, `must be 1 to ${MAX_LOGO_BYTES} bytes`, `${size} bytes in ${filePath}`);
  const head = Buffer.alloc(PNG_SIGNATURE.length);
  const fd = fs.openSync(filePath, 'r');
  try {
    fs.readSync(fd, head, 0, head.length, 0);
  } finally {
    fs.closeSync(fd);
  }
  if (!head.equals(PNG_SIGNATURE) && !head.subarray(0, JPEG_SIGNATURE.length).equals(JPEG_SIGNATURE)) {
    invalid(scope, prop, 'must be a PNG or JPEG image (checked by its signature)', filePath);
  }
}

/**
 * AWS's tag character rules (the tagging guide; ECR's model states no pattern, so the strict reading, as the emulator
 * takes it): letters, digits and spaces representable in UTF-8, and `_ . : / = + - @`.
 */
const TAG_CHARACTERS = /^[\p{L}\p{Z}\p{N}_.:/=+\-@]*$/u;
const TAG_CHARACTERS_RULE = "may contain only letters, digits, spaces and '_ . : / = + - @' (AWS's tag character rules)";

/**
 * Checks rendered tags: at most 50, keys of 1-128 characters not starting with `aws:`, values of at most 256, both of
 * AWS's tag characters.
 */
export function tagProblems(tags: Array<{ key: string; value: string }>): string[] {
  const problems: string[] = [];
  if (tags.length > 50) problems.push(`tags must number at most 50 (got ${tags.length})`);
  for (const { key, value } of tags) {
    if (Token.isUnresolved(key) || Token.isUnresolved(value)) continue;
    if (length(key) < 1 || length(key) > 128) problems.push(`tag key ${quoted(key)} must be 1 to 128 characters`);
    if (key.toLowerCase().startsWith('aws:')) problems.push(`tag key ${quoted(key)} must not start with 'aws:'`);
    if (length(value) > 256) problems.push(`tag value of ${quoted(key)} must be at most 256 characters`);
    if (!TAG_CHARACTERS.test(key)) problems.push(`tag key ${quoted(key)} ${TAG_CHARACTERS_RULE}`);
    if (!TAG_CHARACTERS.test(value)) problems.push(`tag value of ${quoted(key)} ${TAG_CHARACTERS_RULE}`);
  }
  return problems;
}
