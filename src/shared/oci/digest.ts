/**
 * Content digests: the one place that says what a digest looks like and how one is computed. The synth-time archive
 * inspector, the image publisher and the test tools use it; the emulator keeps its own reading (it stands in for AWS).
 */
import { createHash } from 'crypto';

/** `sha256:<64 lowercase hex>`: the only algorithm the publisher and ECR handle. */
export const SHA256_DIGEST = /^sha256:[0-9a-f]{64}$/;

/** `sha256:<hex>` of the bytes (of a string: of its UTF-8 encoding). */
export function sha256(data: Buffer | Uint8Array | string): string {
  return 'sha256:' + createHash('sha256').update(data).digest('hex');
}

/** True when `value` is a well-formed sha256 digest. */
export function isSha256Digest(value: unknown): value is string {
  return typeof value === 'string' && SHA256_DIGEST.test(value);
}

/** Throws unless `digest` is `sha256:<64 lowercase hex>` (`where` says whose it is). */
export function checkDigest(digest: unknown, where: string): string {
  if (typeof digest !== 'string') throw new Error(`${where}: digest is missing or not a string`);
  if (!SHA256_DIGEST.test(digest)) {
    throw new Error(`${where}: ${/^[a-z0-9+._-]+:/.test(digest) && !digest.startsWith('sha256:')
      ? `unsupported digest algorithm in ${JSON.stringify(digest.slice(0, 80))} (only sha256 is supported)`
      : `malformed digest ${JSON.stringify(digest.slice(0, 80))}`}`);
  }
  return digest;
}

/** The blob name of a digest in an OCI layout. */
export function blobName(digest: string): string {
  return `blobs/sha256/${digest.slice('sha256:'.length)}`;
}
