/** Content descriptors (OCI image spec, descriptor.md): what a manifest or index says about the content it lists. */
import { checkDigest } from './digest';

/** A content descriptor, checked. */
export interface Descriptor {
  readonly digest: string;
  readonly size: number;
  readonly mediaType?: string;
  readonly urls?: unknown;
}

/** Checks a descriptor object (`where` says whose it is). */
export function parseDescriptor(value: unknown, where: string): Descriptor {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new Error(`${where}: descriptor is not an object`);
  const d = value as Record<string, unknown>;
  const digest = checkDigest(d.digest, where);
  if (typeof d.size !== 'number' || !Number.isSafeInteger(d.size) || d.size < 0) {
    throw new Error(`${where}: descriptor of ${digest} has a bad size ${JSON.stringify(d.size)}`);
  }
  if (d.mediaType !== undefined && typeof d.mediaType !== 'string') throw new Error(`${where}: descriptor of ${digest} has a non-string mediaType`);
  return { digest, size: d.size, mediaType: d.mediaType as string | undefined, urls: d.urls };
}
