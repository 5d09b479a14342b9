/**
 * Reading an image's manifests from a registry: the root (a tag is resolved to the digest of the bytes received), one
 * platform's image when asked for, and every child of an index (attestation manifests included), each checked against
 * its digest; the result is the plan the publisher pushes, children before their index. What a manifest must be, and
 * how an index is walked, are the rules the synth-time archive inspector uses too (`src/shared/oci`).
 */
import { SourceBlob, SourcePlan } from './blob-source';
import { readRegistryReferrers } from './distribution-referrers';
import { asPublishError, ImagePublishError } from './errors';
import { readWhole } from './resumable-read';
import {
  formatImageReference, formatPlatform, ImageReference, PlatformSpec, platformMatches, preferredPlatform,
} from '../../src/shared/image-reference';
import { Descriptor } from '../../src/shared/oci/descriptor';
import { sha256 } from '../../src/shared/oci/digest';
import { parseManifest, ParsedManifest } from '../../src/shared/oci/manifest';
import { MANIFEST_TYPES } from '../../src/shared/oci/media-types';
import { checkNesting, walkManifestsAsync } from '../../src/shared/oci/walk';
import { readLimited, RegistryClient } from '../shared/distribution-client';
import { log } from '../shared/log';

/** The `Accept` of manifest requests: the types the publisher can push. */
export const MANIFEST_ACCEPT = MANIFEST_TYPES.join(', ');
/** ECR Public takes manifests of at most 4 MiB; nothing larger could be published anyway. */
const MAX_MANIFEST_BYTES = 4 * 1024 * 1024;
/** A config read to check a single image's platform. */
const MAX_CONFIG_BYTES = 4 * 1024 * 1024;

/** The image to copy. */
export interface RegistryImage {
  readonly plan: SourcePlan;
  /** What the reference resolved to (the index, when one platform was taken out of it). */
  readonly resolvedDigest: string;
}

/**
 * Reads the image `reference` names through `client`: the whole index by default, or the image of `platform` (which
 * is then the root); with `includeReferrers`, the referrers the registry lists for its manifests too.
 */
export async function readRegistryImage(client: RegistryClient, reference: ImageReference, platform?: PlatformSpec,
  includeReferrers = false): Promise<RegistryImage> {
  const text = formatImageReference(reference);
  const top = await fetchManifest(client, reference.digest ?? reference.tag ?? 'latest');
  log({ source: text, resolvedDigest: top.digest, mediaType: top.mediaType });
  const root = platform ? await selectPlatform(client, text, top, platform) : top;

  const manifests = await walkManifestsAsync(root, text, ({ descriptor }) => fetchManifest(client, descriptor.digest, descriptor))
    .catch((err: unknown) => { throw asPublishError(err); });
  const referrers = includeReferrers ? await readRegistryReferrers(client, manifests, text, fetchManifest) : [];
  const blobs = new Map<string, SourceBlob>();
  for (const m of [...manifests, ...referrers]) {
    if (m.kind !== 'image') continue;
    for (const d of [m.config, ...m.layers]) {
      if (!blobs.has(d.digest)) blobs.set(d.digest, { digest: d.digest, size: d.size, ...(d.mediaType ? { mediaType: d.mediaType } : {}) });
    }
  }
  log({ source: text, manifests: manifests.length, blobs: blobs.size, bytes: [...blobs.values()].reduce((n, b) => n + b.size, 0) });
  return {
    plan: {
      blobs: [...blobs.values()],
      manifests: manifests.map(({ digest, mediaType, text: manifest }) => ({ digest, mediaType, manifest })),
      rootDigest: root.digest,
      ref: text,
      ...(referrers.length > 0 ? { referrers: referrers.map(({ digest, mediaType, text: manifest }) => ({ digest, mediaType, manifest })) } : {}),
    },
    resolvedDigest: top.digest,
  };
}

/**
 * GET the manifest `ref` (a tag or a digest) and check it: its digest is the sha256 of the bytes received, and must be
 * the digest asked for, the `Docker-Content-Digest` the registry announced, and the descriptor's; the manifest itself
 * is read by the rules archives are read by (`parseManifest`), with the descriptor's type and the served `Content-Type`.
 */
export async function fetchManifest(client: RegistryClient, ref: string, expected?: Descriptor): Promise<ParsedManifest> {
  const what = `manifest ${ref} of ${client.name}`;
  // A body that broke off is asked for again; a manifest too large stays too large.
  const { opened: { response }, bytes } = await readWhole(what,
    () => client.get(`manifests/${ref}`, { accept: MANIFEST_ACCEPT, what: `manifest ${ref}` }),
    (open) => readLimited(open.response, open.abort, MAX_MANIFEST_BYTES, what));
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
  const served = response.headers.get('content-type')?.split(';')[0].trim().toLowerCase();
  try {
    return parseManifest(bytes, digest, { descriptor: expected?.mediaType, served }, what);
  } catch (err) {
    throw asPublishError(err);
  }
}

/**
 * The image of `platform` in the index `m` (recursively), or `m` itself when it is that platform's image. `path` holds
 * the indexes above `m`: nesting is bounded as in the walk.
 */
async function selectPlatform(
  client: RegistryClient, text: string, m: ParsedManifest, platform: PlatformSpec, path: ReadonlySet<string> = new Set(),
): Promise<ParsedManifest> {
  const wanted = formatPlatform(platform);
  if (m.kind === 'image') {
    const config = m.config;
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
  const entries = m.manifests;
  const matching = entries.filter((e) => e.platform && platformMatches(platform, e.platform));
  const chosen = preferredPlatform(platform, matching);
  if (!chosen) {
    const available = [...new Set(entries.filter((e) => e.platform && e.platform.os !== 'unknown').map((e) => formatPlatform(e.platform!)))];
    throw new ImagePublishError(`${text} has no image for ${wanted}; its platforms: ${available.join(', ') || 'none'}`);
  }
  const inner = new Set(path).add(m.digest);
  try {
    checkNesting(chosen.digest, inner.size, inner, text);
  } catch (err) {
    throw asPublishError(err);
  }
  log({ source: text, platform: wanted, selected: chosen.digest });
  return selectPlatform(client, text, await fetchManifest(client, chosen.digest, chosen), platform, inner);
}
