/**
 * Reading an image's manifests from a registry: the root (a tag is resolved to the digest of the bytes received), one
 * platform's image when asked for, and every child of an index (attestation manifests included), each checked against
 * its digest; the result is the plan the publisher pushes, children before their index.
 */
import { SourceBlob, SourcePlan } from './blob-source';
import { ImagePublishError } from './errors';
import { INDEX_TYPES, sha256 } from './manifest-rewrite';
import { log } from './progress';
import { readLimited, RegistryClient } from './registry-client';
import {
  formatImageReference, formatPlatform, ImageReference, PlatformSpec, platformMatches, preferredPlatform,
} from '../../src/private/image-reference';

const OCI_INDEX = 'application/vnd.oci.image.index.v1+json';
const OCI_MANIFEST = 'application/vnd.oci.image.manifest.v1+json';
const DOCKER_MANIFEST_LIST = 'application/vnd.docker.distribution.manifest.list.v2+json';
const DOCKER_MANIFEST = 'application/vnd.docker.distribution.manifest.v2+json';
const MANIFEST_TYPES: readonly string[] = [OCI_INDEX, DOCKER_MANIFEST_LIST, OCI_MANIFEST, DOCKER_MANIFEST];
/** The `Accept` of manifest requests: the types the publisher can push. */
export const MANIFEST_ACCEPT = MANIFEST_TYPES.join(', ');
/** ECR Public takes manifests of at most 4 MiB; nothing larger could be published anyway. */
const MAX_MANIFEST_BYTES = 4 * 1024 * 1024;
/** A config read to check a single image's platform. */
const MAX_CONFIG_BYTES = 4 * 1024 * 1024;
const MAX_DEPTH = 4;
/** Reads of a manifest whose body breaks off. */
const BODY_ATTEMPTS = 3;
const DIGEST = /^sha256:[a-f0-9]{64}$/;

interface Descriptor {
  readonly mediaType?: string;
  readonly digest: string;
  readonly size: number;
  readonly platform?: { readonly os?: string; readonly architecture?: string; readonly variant?: string };
}

interface ManifestJson {
  readonly schemaVersion?: number;
  readonly mediaType?: string;
  readonly config?: Descriptor;
  readonly layers?: Descriptor[];
  readonly manifests?: Descriptor[];
}

/** A manifest as received, with its exact text. */
export interface FetchedManifest {
  readonly digest: string;
  readonly mediaType: string;
  readonly manifest: string;
  readonly json: ManifestJson;
}

/** The image to copy. */
export interface RegistryImage {
  readonly plan: SourcePlan;
  /** What the reference resolved to (the index, when one platform was taken out of it). */
  readonly resolvedDigest: string;
}

/**
 * Reads the image `reference` names through `client`: the whole index by default, or the image of `platform` (which
 * is then the root).
 */
export async function readRegistryImage(client: RegistryClient, reference: ImageReference, platform?: PlatformSpec): Promise<RegistryImage> {
  const text = formatImageReference(reference);
  const top = await fetchManifest(client, reference.digest ?? reference.tag ?? 'latest');
  log({ source: text, resolvedDigest: top.digest, mediaType: top.mediaType });
  const root = platform ? await selectPlatform(client, text, top, platform, 0) : top;

  const manifests: FetchedManifest[] = [];
  const blobs: SourceBlob[] = [];
  const seenManifests = new Set<string>();
  const seenBlobs = new Set<string>();
  const addBlob = (d: Descriptor | undefined, owner: string): void => {
    const checked = checkDescriptor(d, `a blob of manifest ${owner}`);
    if (seenBlobs.has(checked.digest)) return;
    seenBlobs.add(checked.digest);
    blobs.push({ digest: checked.digest, size: checked.size, ...(checked.mediaType ? { mediaType: checked.mediaType } : {}) });
  };
  const walk = async (m: FetchedManifest, depth: number): Promise<void> => {
    if (seenManifests.has(m.digest)) return;
    if (isIndex(m.mediaType)) {
      if (depth >= MAX_DEPTH) throw new ImagePublishError(`${text}: indexes nested more than ${MAX_DEPTH} deep`);
      for (const entry of m.json.manifests ?? []) {
        const child = checkDescriptor(entry, `an entry of index ${m.digest}`);
        if (seenManifests.has(child.digest)) continue;
        await walk(await fetchManifest(client, child.digest, child), depth + 1);
      }
    } else {
      addBlob(m.json.config, m.digest);
      for (const layer of m.json.layers ?? []) addBlob(layer, m.digest);
    }
    seenManifests.add(m.digest);
    manifests.push(m);
  };
  await walk(root, 0);
  log({ source: text, manifests: manifests.length, blobs: blobs.length, bytes: blobs.reduce((n, b) => n + b.size, 0) });
  return {
    plan: {
      blobs,
      manifests: manifests.map(({ digest, mediaType, manifest }) => ({ digest, mediaType, manifest })),
      rootDigest: root.digest,
      ref: text,
    },
    resolvedDigest: top.digest,
  };
}

/**
 * GET the manifest `ref` (a tag or a digest) and check it: its digest is the sha256 of the bytes received, and must be
 * the digest asked for, the `Docker-Content-Digest` the registry announced, and the descriptor's; its media type is one
 * the publisher can push.
 */
export async function fetchManifest(client: RegistryClient, ref: string, expected?: Descriptor): Promise<FetchedManifest> {
  const what = `manifest ${ref} of ${client.name}`;
  let response: Response;
  let bytes: Buffer;
  for (let attempt = 1; ; attempt++) {
    const open = await client.get(`manifests/${ref}`, { accept: MANIFEST_ACCEPT, what: `manifest ${ref}` });
    response = open.response;
    try {
      bytes = await readLimited(response, open.abort, MAX_MANIFEST_BYTES, what);
      break;
    } catch (err) {
      // A body that broke off is asked for again; a manifest too large stays too large.
      if (err instanceof ImagePublishError || attempt >= BODY_ATTEMPTS) throw err;
      log({ registryRetry: what, attempt, error: String(err) });
    }
  }
  const digest = sha256(bytes);
  const announced = response.headers.get('docker-content-digest');
  if (ref.startsWith('sha256:') && digest !== ref) {
    throw new ImagePublishError(`${what}: the registry sent bytes whose digest is ${digest}`);
  }
  if (announced && announced !== digest) {
    throw new ImagePublishError(`${what}: Docker-Content-Digest says ${announced} but the bytes received hash to ${digest}`);
  }
  if (expected && expected.size !== bytes.length) {
    throw new ImagePublishError(`${what}: ${bytes.length} bytes received, its descriptor says ${expected.size}`);
  }
  const text = bytes.toString('utf8');
  if (!Buffer.from(text, 'utf8').equals(bytes)) throw new ImagePublishError(`${what} is not valid UTF-8: ECR Public cannot store it`);
  let json: ManifestJson;
  try {
    json = JSON.parse(text) as ManifestJson;
  } catch (err) {
    throw new ImagePublishError(`${what} is not JSON: ${(err as Error).message}`);
  }
  if (typeof json !== 'object' || json === null || Array.isArray(json)) throw new ImagePublishError(`${what} is not a JSON object`);
  const mediaType = manifestMediaType(json, response.headers.get('content-type'), what);
  if (expected?.mediaType && MANIFEST_TYPES.includes(expected.mediaType) && expected.mediaType !== mediaType) {
    throw new ImagePublishError(`${what} is ${mediaType}, its descriptor says ${expected.mediaType}`);
  }
  return { digest, mediaType, manifest: text, json };
}

/** The media type: the manifest's own `mediaType`, else the `Content-Type`, else what its shape says. */
function manifestMediaType(json: ManifestJson, contentType: string | null, what: string): string {
  if (json.schemaVersion === 1) {
    throw new ImagePublishError(`${what} is a Docker schema 1 manifest, which ECR Public does not take: copy a schema 2 or OCI image`);
  }
  const header = contentType?.split(';')[0].trim().toLowerCase();
  const own = typeof json.mediaType === 'string' ? json.mediaType : undefined;
  if (own && header && MANIFEST_TYPES.includes(header) && own !== header) {
    throw new ImagePublishError(`${what}: the manifest says it is ${own} but was served as ${header}`);
  }
  const inferred = Array.isArray(json.manifests) ? OCI_INDEX : json.config ? OCI_MANIFEST : undefined;
  const mediaType = own ?? (header && MANIFEST_TYPES.includes(header) ? header : inferred);
  if (!mediaType || !MANIFEST_TYPES.includes(mediaType)) {
    throw new ImagePublishError(`${what} has the unsupported media type ${JSON.stringify(mediaType ?? header ?? null)}: `
      + `the publisher takes ${MANIFEST_TYPES.join(', ')}`);
  }
  return mediaType;
}

/** The image of `platform` in the index `m` (recursively), or `m` itself when it is that platform's image. */
async function selectPlatform(
  client: RegistryClient, text: string, m: FetchedManifest, platform: PlatformSpec, depth: number,
): Promise<FetchedManifest> {
  const wanted = formatPlatform(platform);
  if (!isIndex(m.mediaType)) {
    const config = checkDescriptor(m.json.config, `the config of ${m.digest}`);
    const { response, abort } = await client.get(`blobs/${config.digest}`, { what: `config ${config.digest}` });
    const bytes = await readLimited(response, abort, MAX_CONFIG_BYTES, `config ${config.digest} of ${client.name}`);
    if (sha256(bytes) !== config.digest) throw new ImagePublishError(`config ${config.digest} of ${client.name} does not match its digest`);
    let actual: { os?: string; architecture?: string; variant?: string } = {};
    try {
      actual = JSON.parse(bytes.toString('utf8'));
    } catch {
      // Not an image config (an artifact): no platform, which matches nothing.
    }
    if (!platformMatches(platform, actual)) {
      throw new ImagePublishError(`${text} is a single-platform image for ${formatPlatform(actual)}, not ${wanted}`);
    }
    return m;
  }
  if (depth >= MAX_DEPTH) throw new ImagePublishError(`${text}: indexes nested more than ${MAX_DEPTH} deep`);
  const entries = (m.json.manifests ?? []).map((e) => checkDescriptor(e, `an entry of index ${m.digest}`));
  const matching = entries.filter((e) => e.platform && platformMatches(platform, e.platform));
  const chosen = preferredPlatform(platform, matching);
  if (!chosen) {
    const available = [...new Set(entries.filter((e) => e.platform && e.platform.os !== 'unknown').map((e) => formatPlatform(e.platform!)))];
    throw new ImagePublishError(`${text} has no image for ${wanted}; its platforms: ${available.join(', ') || 'none'}`);
  }
  log({ source: text, platform: wanted, selected: chosen.digest });
  return selectPlatform(client, text, await fetchManifest(client, chosen.digest, chosen), platform, depth + 1);
}

function isIndex(mediaType: string): boolean {
  return INDEX_TYPES.includes(mediaType);
}

/** `d` if it is a descriptor the publisher can follow: a sha256 digest and a size. */
function checkDescriptor(d: Descriptor | undefined, what: string): Descriptor {
  if (typeof d !== 'object' || d === null) throw new ImagePublishError(`${what} is not a descriptor`);
  if (typeof d.digest !== 'string' || !DIGEST.test(d.digest)) {
    throw new ImagePublishError(`${what} has the digest ${JSON.stringify(d.digest)}: only sha256 digests can be published`);
  }
  if (!Number.isSafeInteger(d.size) || d.size < 0) throw new ImagePublishError(`${what} (${d.digest}) has no valid size`);
  return d;
}
