/**
 * Layers compressed at deploy, learnt from the image already published instead of compressed again.
 *
 * A layer gzipped at deploy has no digest known before it is compressed, and the ECR Public API cannot read a manifest
 * back. The repository's registry pull API can (anonymously, as public.ecr.aws and the emulator serve it): when a tag
 * of this publish points at the manifest that rewriting this very plan with that manifest's layers gives, byte for
 * byte, that manifest was written by this publisher for this image, and its layers are the compressed forms of ours
 * (the publisher checks each compressed layer against its first pass before completing its upload). The caller still
 * checks that those layers are in the repository before it uses them. Anything else (another image, a manifest of
 * another shape, a registry that cannot be reached) gives nothing, and the layers are compressed as usual.
 */
import { SourcePlan } from './blob-source';
import { RegistryClient } from './distribution-client';
import { fetchManifest } from './distribution-manifests';
import { BlobReplacement, rewriteManifests } from './manifest-rewrite';
import { parseImageReference } from '../../src/shared/image-reference';
import { log } from '../shared/log';

/** The lookup only saves work: one attempt, and a registry slow to answer is not waited for. */
const LOOKUP_OPTIONS = { attempts: 1, headersTimeoutMs: 5_000 };

/** Where the image is published. */
export interface PublishTarget {
  /** `public.ecr.aws/<alias>/<name>`, as DescribeRepositories gives it. */
  readonly repositoryUri: string;
  /** The tags of this publish; the first that points at this plan's compressed image gives its layers. */
  readonly tags: readonly string[];
}

/**
 * The compressed form of each of `toCompress` (uncompressed layer digests of `plan`'s single image manifest), read
 * from the manifest a tag of `target` points at; undefined when no tag points at this plan's image compressed.
 */
export async function previousCompression(
  plan: SourcePlan, toCompress: ReadonlySet<string>, target: PublishTarget,
): Promise<Map<string, BlobReplacement> | undefined> {
  // An index would need each child read back too: only a single image manifest is looked up.
  if (plan.manifests.length !== 1 || toCompress.size === 0 || target.tags.length === 0) return undefined;
  const root = plan.manifests[0];
  const layers = (JSON.parse(root.manifest) as { layers?: Array<{ digest: string }> }).layers ?? [];
  try {
    const client = await RegistryClient.connect(parseImageReference(`${target.repositoryUri}:${target.tags[0]}`), LOOKUP_OPTIONS);
    for (const tag of target.tags) {
      // A manifest that is not well formed (digests, sizes, media type) is refused by the parser: nothing learnt.
      const published = await fetchManifest(client, tag).catch(() => undefined);
      if (published?.kind !== 'image' || published.mediaType !== root.mediaType || published.layers.length !== layers.length) continue;
      const publishedLayers = published.layers;
      const replacements = new Map<string, BlobReplacement>();
      layers.forEach((layer, i) => {
        if (toCompress.has(layer.digest)) replacements.set(layer.digest, { digest: publishedLayers[i].digest, size: publishedLayers[i].size });
      });
      // Byte for byte what this plan rewritten with those layers gives: the same config, layers, order and everything.
      if (rewriteManifests(plan.manifests, replacements)[0].digest !== published.digest) continue;
      log({ compressedLayersOf: `${target.repositoryUri}:${tag}`, manifest: published.digest, layers: replacements.size });
      return replacements;
    }
  } catch (err) {
    log({ compressedLayersOf: target.repositoryUri, unavailable: String(err) });
  }
  return undefined;
}
