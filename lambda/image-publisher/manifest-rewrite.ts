/**
 * Manifests after layer compression: each image manifest that names an uncompressed layer gets the compressed layer's
 * media type, digest and size (the config is left as it is, so its diff_ids, which are digests of the uncompressed
 * layers, still match), and each index that names a rewritten manifest gets the new digest and size. A manifest that
 * nothing changed keeps its exact bytes, and so its digest.
 */
import { compressedLayerType } from './layer-compression';
import { Descriptor } from '../../src/shared/oci/descriptor';
import { sha256 } from '../../src/shared/oci/digest';
import { isImageManifest, isIndex } from '../../src/shared/oci/media-types';
import { PlanManifest, UNCOMPRESSED_LAYER_TYPES } from '../../src/shared/publish-plan';

/** A blob's new identity (the compressed layer). */
export interface BlobReplacement {
  readonly digest: string;
  readonly size: number;
}

/** A descriptor as written in the manifest: rewriting keeps every member it does not change (annotations, urls, ...). */
type WrittenDescriptor = Descriptor & { readonly [key: string]: unknown };

/** Digests of the blobs that some image manifest of the plan lists as an uncompressed layer. */
export function uncompressedLayers(plan: { readonly manifests: readonly PlanManifest[] }): Set<string> {
  const found = new Set<string>();
  for (const m of plan.manifests) {
    if (!isImageManifest(m.mediaType)) continue;
    for (const layer of parseManifest(m).layers ?? []) {
      if (layer.mediaType !== undefined && UNCOMPRESSED_LAYER_TYPES.includes(layer.mediaType)) found.add(layer.digest);
    }
  }
  return found;
}

/** Digests of the blobs (config and layers) the image manifests among `manifests` refer to. */
export function referencedBlobs(manifests: readonly PlanManifest[]): Set<string> {
  const found = new Set<string>();
  for (const m of manifests) {
    if (!isImageManifest(m.mediaType)) continue;
    const json = parseManifest(m);
    if (json.config) found.add(json.config.digest);
    for (const layer of json.layers ?? []) found.add(layer.digest);
  }
  return found;
}

/**
 * `manifests` (in push order, children first, referrers after their subject) with the uncompressed layers in
 * `replacements` swapped for their compressed versions, and the change carried up into every index that refers to a
 * changed manifest and every referrer whose `subject` is one: an SBOM stays attached to the image as published.
 */
export function rewriteManifests(manifests: readonly PlanManifest[], replacements: ReadonlyMap<string, BlobReplacement>): PlanManifest[] {
  const changed = new Map<string, BlobReplacement>();
  const out: PlanManifest[] = [];
  for (const m of manifests) {
    const rewritten = isImageManifest(m.mediaType) ? rewriteImageManifest(m, replacements)
      : isIndex(m.mediaType) ? rewriteIndex(m, changed)
        : undefined;
    const text = rewriteSubject(rewritten ?? m.manifest, changed) ?? rewritten;
    if (text === undefined) {
      out.push(m);
      continue;
    }
    const digest = sha256(text);
    changed.set(m.digest, { digest, size: Buffer.byteLength(text, 'utf8') });
    out.push({ digest, mediaType: m.mediaType, manifest: text });
  }
  return out;
}

/** The rewritten text, or undefined when no layer of the manifest changes. */
function rewriteImageManifest(m: PlanManifest, replacements: ReadonlyMap<string, BlobReplacement>): string | undefined {
  const json = parseManifest(m);
  let touched = false;
  const layers = (json.layers ?? []).map((layer) => {
    const replacement = replacements.get(layer.digest);
    if (!replacement || layer.mediaType === undefined || !UNCOMPRESSED_LAYER_TYPES.includes(layer.mediaType)) return layer;
    touched = true;
    return { ...layer, mediaType: compressedLayerType(m.mediaType), digest: replacement.digest, size: replacement.size };
  });
  return touched ? JSON.stringify({ ...json, layers }) : undefined;
}

/** `text` with its `subject` (OCI 1.1) pointing at the manifest's new digest and size, or undefined when it did not change. */
function rewriteSubject(text: string, changed: ReadonlyMap<string, BlobReplacement>): string | undefined {
  const json = JSON.parse(text) as ManifestJson;
  const replacement = json.subject ? changed.get(json.subject.digest) : undefined;
  if (!replacement) return undefined;
  return JSON.stringify({ ...json, subject: { ...json.subject, digest: replacement.digest, size: replacement.size } });
}

/** The rewritten text, or undefined when no child of the index changed. */
function rewriteIndex(m: PlanManifest, changed: ReadonlyMap<string, BlobReplacement>): string | undefined {
  const json = parseManifest(m);
  let touched = false;
  const children = (json.manifests ?? []).map((child) => {
    const replacement = changed.get(child.digest);
    if (!replacement) return child;
    touched = true;
    return { ...child, digest: replacement.digest, size: replacement.size };
  });
  return touched ? JSON.stringify({ ...json, manifests: children }) : undefined;
}

interface ManifestJson {
  readonly config?: WrittenDescriptor;
  readonly layers?: WrittenDescriptor[];
  readonly manifests?: WrittenDescriptor[];
  readonly subject?: WrittenDescriptor;
  readonly [key: string]: unknown;
}

function parseManifest(m: PlanManifest): ManifestJson {
  const json = JSON.parse(m.manifest) as ManifestJson;
  if (typeof json !== 'object' || json === null) throw new Error(`manifest ${m.digest} is not a JSON object`);
  return json;
}
