/**
 * Layers compressed at deploy, learnt from the image already published instead of compressed again.
 *
 * A layer gzipped at deploy has no digest known before it is compressed, and the ECR Public API cannot read a manifest
 * back. The repository's registry pull API can (anonymously, as public.ecr.aws and the emulator serve it). A manifest
 * found there is a candidate when rewriting this very plan with its layers gives it byte for byte (same config, layers,
 * order and everything). That alone proves nothing about the layers: anyone with push rights can put a manifest of
 * that shape with their own gzip blob in place of ours, and the test would take the blob's digest from that same
 * manifest. So a candidate's layers are adopted only when they are provably this image's:
 *
 * - the candidate is the root manifest this very resource published before: its digest comes from the resource's
 *   physical id, which only CloudFormation feeds back, and a manifest's digest pins its layers' digests, which pin their
 *   bytes; or
 * - every layer taken from it, read back from the registry, is checked: its bytes hash to its digest and have its size,
 *   and they gunzip (whole, to the last byte) to exactly the source layer (its sha256 is the layer's digest in the plan,
 *   the diff_id of the config). Streamed, never on disk; a blob that inflates beyond the source layer's size is cut off.
 *
 * Anything else (another image, a layer that does not check, a registry that cannot be reached) gives nothing, and the
 * layers are compressed as usual. The caller still checks that the layers are in the repository before it uses them.
 */
import { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGunzip } from 'node:zlib';
import { SourceBlob, SourcePlan } from './blob-source';
import { fetchManifest } from './distribution-manifests';
import { RegistryBlobSource } from './distribution-source';
import { DigestCounter } from './layer-compression';
import { BlobReplacement, rewriteManifests } from './manifest-rewrite';
import { parseImageReference } from '../../src/shared/image-reference';
import { ParsedManifest } from '../../src/shared/oci/manifest';
import { RegistryClient } from '../shared/distribution-client';
import { log } from '../shared/log';

/** The lookup only saves work: one attempt, and a registry slow to answer is not waited for. */
const LOOKUP_OPTIONS = { attempts: 1, headersTimeoutMs: 5_000 };
/** A layer read back for its check that sends nothing for this long is given up on (and compressed instead). */
const CHECK_IDLE_TIMEOUT_MS = 15_000;

/** Where the image is published. */
export interface PublishTarget {
  /** `public.ecr.aws/<alias>/<name>`, as DescribeRepositories gives it. */
  readonly repositoryUri: string;
  /** The tags of this publish; a tag that points at this plan's image compressed may give its layers. */
  readonly tags: readonly string[];
  /**
   * The digest of the root manifest this very resource published into this repository before, from its physical id
   * (an Update). Its layers need no check: the digest was recorded by the resource, not read from the registry.
   * @default - none (a Create, or another repository): layers found through a tag are each checked
   */
  readonly publishedByThisResource?: string;
}

/** A manifest that may hold this plan's layers compressed, and why it is looked at. */
interface Candidate {
  readonly ref: string;
  readonly recorded: boolean;
}

/**
 * The compressed form of each of `toCompress` (uncompressed layer digests of `plan`'s single image manifest), read
 * from the manifest this resource published before or from one a tag of `target` points at, when it is provably this
 * plan's image compressed; undefined otherwise.
 */
export async function previousCompression(
  plan: SourcePlan, toCompress: ReadonlySet<string>, target: PublishTarget,
): Promise<Map<string, BlobReplacement> | undefined> {
  // An index would need each child read back too: only a single image manifest is looked up.
  if (plan.manifests.length !== 1 || toCompress.size === 0) return undefined;
  const candidates: Candidate[] = [
    ...(target.publishedByThisResource ? [{ ref: target.publishedByThisResource, recorded: true }] : []),
    ...target.tags.map((ref) => ({ ref, recorded: false })),
  ];
  if (candidates.length === 0) return undefined;
  const byDigest = new Map(plan.blobs.map((b) => [b.digest, b]));
  try {
    const client = await RegistryClient.connect(parseImageReference(`${target.repositoryUri}:${target.tags[0] ?? 'latest'}`), LOOKUP_OPTIONS);
    const refused = new Set<string>();
    for (const candidate of candidates) {
      // A manifest that is not well formed (digests, sizes, media type) is refused by the parser: nothing learnt.
      const published = await fetchManifest(client, candidate.ref).catch(() => undefined);
      if (!published || refused.has(published.digest)) continue;
      const replacements = sameImageCompressed(plan, toCompress, published);
      if (!replacements) continue;
      const where = `${target.repositoryUri}${candidate.recorded ? '@' : ':'}${candidate.ref}`;
      if (!candidate.recorded) {
        const failure = await checkLayers(new RegistryBlobSource(client, CHECK_IDLE_TIMEOUT_MS), replacements, byDigest);
        if (failure) {
          refused.add(published.digest);
          log({ compressedLayersOf: where, manifest: published.digest, refused: failure });
          continue;
        }
      }
      log({ compressedLayersOf: where, manifest: published.digest, layers: replacements.size, provenance: candidate.recorded ? 'this resource' : 'checked' });
      return replacements;
    }
  } catch (err) {
    log({ compressedLayersOf: target.repositoryUri, unavailable: String(err) });
  }
  return undefined;
}

/**
 * The replacements that rewrite `plan` into `published` byte for byte, taking the compressed form of each of
 * `toCompress` from the layer at its position; undefined when `published` is not this plan's image so rewritten.
 */
function sameImageCompressed(plan: SourcePlan, toCompress: ReadonlySet<string>, published: ParsedManifest): Map<string, BlobReplacement> | undefined {
  const root = plan.manifests[0];
  const layers = (JSON.parse(root.manifest) as { layers?: Array<{ digest: string }> }).layers ?? [];
  if (published.kind !== 'image' || published.mediaType !== root.mediaType || published.layers.length !== layers.length) return undefined;
  const replacements = new Map<string, BlobReplacement>();
  for (const [i, layer] of layers.entries()) {
    if (!toCompress.has(layer.digest)) continue;
    const candidate = { digest: published.layers[i].digest, size: published.layers[i].size };
    const earlier = replacements.get(layer.digest);
    // One source layer listed twice must have one compressed form.
    if (earlier && (earlier.digest !== candidate.digest || earlier.size !== candidate.size)) return undefined;
    replacements.set(layer.digest, candidate);
  }
  return rewriteManifests(plan.manifests, replacements)[0].digest === published.digest ? replacements : undefined;
}

/**
 * Reads each compressed layer of `replacements` back from the registry and checks that it is the gzip of its source
 * layer; the first failure, said in words, or undefined when every layer checks.
 */
async function checkLayers(
  registry: RegistryBlobSource, replacements: ReadonlyMap<string, BlobReplacement>, byDigest: ReadonlyMap<string, SourceBlob>,
): Promise<string | undefined> {
  for (const [original, compressed] of replacements) {
    const source = byDigest.get(original);
    if (!source) return `layer ${original} is not among the plan's blobs`;
    try {
      const failure = await checkLayer(registry, compressed, source);
      if (failure) return failure;
    } catch (err) {
      return `layer ${compressed.digest} could not be read back: ${(err as Error).message}`;
    }
  }
  return undefined;
}

/** Whether the blob `compressed` of the registry gunzips to exactly `source`; the failure in words, or undefined. */
async function checkLayer(registry: RegistryBlobSource, compressed: BlobReplacement, source: SourceBlob): Promise<string | undefined> {
  const stored = new DigestCounter();
  const inflated = new DigestCounter();
  const gunzip = createGunzip();
  const tapped = async function* (): AsyncGenerator<Buffer> {
    for await (const chunk of registry.read({ digest: compressed.digest, size: compressed.size })) {
      stored.update(chunk);
      yield chunk;
    }
  };
  const sink = new Writable({
    write(chunk: Buffer, _encoding, done) {
      inflated.update(chunk);
      // A blob that inflates beyond the layer is not its gzip, whatever follows: stop reading it.
      done(inflated.bytes > source.size ? new Error(`it inflates to more than the ${source.size} bytes of layer ${source.digest}`) : undefined);
    },
  });
  try {
    await pipeline(Readable.from(tapped()), gunzip, sink);
  } catch (err) {
    return `layer ${compressed.digest} is not the gzip of ${source.digest}: ${(err as Error).message}`;
  }
  const storedDigest = stored.digest();
  if (storedDigest !== compressed.digest || stored.bytes !== compressed.size) {
    return `layer ${compressed.digest} read back as ${stored.bytes} bytes with digest ${storedDigest}`;
  }
  // zlib stops at the end of the last gzip member and drops what follows: bytes it did not read are not part of a gzip.
  if (gunzip.bytesWritten !== stored.bytes) return `layer ${compressed.digest} has ${stored.bytes - gunzip.bytesWritten} bytes after its gzip data`;
  const inflatedDigest = inflated.digest();
  if (inflatedDigest !== source.digest || inflated.bytes !== source.size) {
    return `layer ${compressed.digest} gunzips to ${inflated.bytes} bytes with digest ${inflatedDigest}, not layer ${source.digest}`;
  }
  return undefined;
}
