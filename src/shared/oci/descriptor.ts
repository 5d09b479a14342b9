/** Content descriptors (OCI image spec, descriptor.md): what a manifest or index says about the content it lists. */
import { checkDigest } from './digest';

/** The platform an index entry is for (image-index.md); only its string members are kept. */
export interface DescriptorPlatform {
  readonly os?: string;
  readonly architecture?: string;
  readonly variant?: string;
}

/** A content descriptor, checked. */
export interface Descriptor {
  readonly digest: string;
  readonly size: number;
  readonly mediaType?: string;
  readonly urls?: unknown;
  /** Index entries only; absent when the entry names none. */
  readonly platform?: DescriptorPlatform;
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
  const platform = parsePlatform(d.platform);
  return { digest, size: d.size, mediaType: d.mediaType as string | undefined, urls: d.urls, ...(platform ? { platform } : {}) };
}

/** The string members of a descriptor's `platform`; anything else is not a platform anyone can select. */
function parsePlatform(value: unknown): DescriptorPlatform | undefined {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return undefined;
  const p = value as Record<string, unknown>;
  const text = (v: unknown) => (typeof v === 'string' ? v : undefined);
  return { os: text(p.os), architecture: text(p.architecture), variant: text(p.variant) };
}
