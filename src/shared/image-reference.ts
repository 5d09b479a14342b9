/**
 * Image references as Docker and the OCI tools write them: `[registry/]repository[:tag][@digest]`. Shared by the
 * construct (which checks a reference at synth) and the image-publisher handler (which pulls it at deploy), so both
 * read a reference the same way.
 */
import { isSha256Digest } from './oci/digest';

/** A parsed image reference. */
export interface ImageReference {
  /** The registry as written (`ghcr.io`, `127.0.0.1:5000`); `docker.io` when the reference names none. */
  readonly registry: string;
  /** The repository path in that registry (`acme/tool`; Docker Hub's official images get `library/`). */
  readonly repository: string;
  /** The tag; `latest` when the reference has neither a tag nor a digest. Left out when only a digest is given. */
  readonly tag?: string;
  /** `sha256:<hex>`: when present, it is what is pulled (the tag is then only informative). */
  readonly digest?: string;
}

/**
 * A tag, as the distribution spec and the registry pull API accept it (ECR Public's API would take more, which nothing
 * could then pull): the one tag grammar of the constructs and the handlers.
 */
export const TAG_PATTERN = /^[a-zA-Z0-9_][a-zA-Z0-9._-]{0,127}$/;

const DOCKER_HUB = 'docker.io';
/** Path components of a repository name (distribution's grammar). */
const PATH_COMPONENT = /^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*$/;
/** A host name or IPv4 address, or a bracketed IPv6 address, with an optional port. */
const REGISTRY = /^(?:(?:[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?)(?:\.[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?)*|\[[0-9a-fA-F:.]+\])(?::[0-9]{1,5})?$/;
/** The longest repository name distribution accepts. */
const MAX_NAME = 255;

/** Parses `text`; throws an Error saying what is wrong with it. */
export function parseImageReference(text: string): ImageReference {
  const bad = (why: string): Error => new Error(`${JSON.stringify(text)} is not an image reference: ${why}`);
  if (typeof text !== 'string' || text.length === 0) throw bad('it is empty');
  if (/\s/.test(text)) throw bad('it contains white space');
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(text)) throw bad("it must not have a scheme (write 'ghcr.io/acme/tool:1.0', not a URL)");

  let rest = text;
  let digest: string | undefined;
  const at = rest.indexOf('@');
  if (at >= 0) {
    digest = rest.slice(at + 1);
    rest = rest.slice(0, at);
    if (!isSha256Digest(digest)) throw bad(`the digest ${JSON.stringify(digest)} must be sha256: and 64 lower-case hex digits`);
  }
  let tag: string | undefined;
  // A ':' after the last '/' separates the tag (a ':' before it is the registry's port).
  const colon = rest.lastIndexOf(':');
  if (colon > rest.lastIndexOf('/')) {
    tag = rest.slice(colon + 1);
    rest = rest.slice(0, colon);
    if (!TAG_PATTERN.test(tag)) throw bad(`the tag ${JSON.stringify(tag)} must match ${TAG_PATTERN.source.slice(1, -1)}`);
  }

  const slash = rest.indexOf('/');
  const first = slash >= 0 ? rest.slice(0, slash) : '';
  const namesRegistry = slash >= 0 && (first.includes('.') || first.includes(':') || first === 'localhost' || first.startsWith('[') || first !== first.toLowerCase());
  const registry = namesRegistry ? first : DOCKER_HUB;
  let repository = namesRegistry ? rest.slice(slash + 1) : rest;
  if (namesRegistry && !REGISTRY.test(registry)) throw bad(`the registry ${JSON.stringify(registry)} is not a host name with an optional port`);
  if (repository.length === 0) throw bad('it names no repository');
  for (const component of repository.split('/')) {
    if (!PATH_COMPONENT.test(component)) {
      throw bad(`the repository component ${JSON.stringify(component)} must be lower-case letters and digits, separated by '.', '_', '__' or '-'`);
    }
  }
  if (registry === DOCKER_HUB && !repository.includes('/')) repository = `library/${repository}`;
  if (repository.length > MAX_NAME) throw bad(`the repository name is longer than ${MAX_NAME} characters`);
  if (tag === undefined && digest === undefined) tag = 'latest';
  return { registry, repository, ...(tag !== undefined ? { tag } : {}), ...(digest !== undefined ? { digest } : {}) };
}

/** The reference as text, fully qualified: `registry/repository[:tag][@digest]`. */
export function formatImageReference(ref: ImageReference): string {
  return `${ref.registry}/${ref.repository}${ref.tag !== undefined ? `:${ref.tag}` : ''}${ref.digest !== undefined ? `@${ref.digest}` : ''}`;
}

/** The private Amazon ECR registry a host name belongs to, if it is one (`<account>.dkr.ecr[-fips].<region>.amazonaws.com[.cn]`). */
export function privateEcrRegistry(registry: string): { account: string; region: string } | undefined {
  const m = /^([0-9]{12})\.dkr\.ecr(?:-fips)?\.([a-z0-9-]+)\.amazonaws\.com(?:\.cn)?$/.exec(registry);
  return m ? { account: m[1], region: m[2] } : undefined;
}

/** A platform as `os/architecture[/variant]` (`linux/arm64`, `linux/arm/v7`). */
export interface PlatformSpec {
  readonly os: string;
  readonly architecture: string;
  readonly variant?: string;
}

const PLATFORM_PART = /^[a-z0-9_.-]+$/;

/** Parses `linux/arm64` or `linux/arm/v7`; throws an Error saying what is wrong. */
export function parsePlatform(text: string): PlatformSpec {
  const parts = typeof text === 'string' ? text.split('/') : [];
  if ((parts.length !== 2 && parts.length !== 3) || !parts.every((p) => PLATFORM_PART.test(p))) {
    throw new Error(`${JSON.stringify(text)} is not a platform: write os/architecture[/variant], for example linux/arm64`);
  }
  const [os, architecture, variant] = parts;
  return { os, architecture, ...(variant !== undefined ? { variant } : {}) };
}

/** `os/architecture[/variant]`. */
export function formatPlatform(p: { os?: string; architecture?: string; variant?: string }): string {
  return [p.os ?? '?', p.architecture ?? '?', ...(p.variant ? [p.variant] : [])].join('/');
}

/** The variant an architecture has when none is written (`linux/arm64` is `v8`, `linux/arm` is `v7`). */
/** By architecture (a user's string: a Map, so that `constructor` finds nothing). */
const DEFAULT_VARIANTS = new Map<string, string>([['arm64', 'v8'], ['arm', 'v7']]);

/**
 * Whether the platform of a manifest (from an index entry, or an image config) is `wanted`. A wanted platform without a
 * variant matches every variant of its architecture; a variant left out on either side is the architecture's default.
 */
export function platformMatches(wanted: PlatformSpec, actual: { os?: string; architecture?: string; variant?: string }): boolean {
  if (actual.os !== wanted.os || actual.architecture !== wanted.architecture) return false;
  if (wanted.variant === undefined) return true;
  const normal = (v: string | undefined): string | undefined => v ?? DEFAULT_VARIANTS.get(wanted.architecture);
  return normal(actual.variant) === normal(wanted.variant);
}

/**
 * Of several manifests matching `wanted`, the one to take: the one with the architecture's default variant (or none),
 * else the first.
 */
export function preferredPlatform<T extends { platform?: { variant?: string } }>(wanted: PlatformSpec, matching: readonly T[]): T | undefined {
  const preferred = wanted.variant ?? DEFAULT_VARIANTS.get(wanted.architecture);
  return matching.find((m) => (m.platform?.variant ?? DEFAULT_VARIANTS.get(wanted.architecture)) === preferred) ?? matching[0];
}
