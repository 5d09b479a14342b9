/**
 * Walking an OCI image layout (a directory, an `oci-archive` tar, `docker buildx --output type=oci`, or Docker 25+
 * `docker save`): select an `index.json` entry, then visit manifests depth-first (children before the index that lists
 * them) and collect each image manifest's config and layers. Manifests and configs are small and are verified against
 * their digests here; layers are only checked for presence and size (the publisher hashes them while streaming).
 */
import { PlanManifest } from '../publish-plan';
import { ArchiveFile, ArchiveFiles } from './archive-files';
import { ImageCandidate, selectImage } from './image-refs';
import { BlobSet, MAX_JSON_BYTES, MAX_MANIFEST_BYTES, parseJson, WalkedImage } from './walked-image';
import { Descriptor, parseDescriptor } from '../oci/descriptor';
import { blobName, isSha256Digest, sha256 } from '../oci/digest';
import { IMAGE_MANIFEST_TYPES, INDEX_TYPES } from '../oci/media-types';

const REF_NAME = 'org.opencontainers.image.ref.name';
const CONTAINERD_NAME = 'io.containerd.image.name';
/** Deeper nesting than index → index → manifest does not occur in practice; a bound also stops reference cycles. */
const MAX_DEPTH = 8;

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Names an `index.json` entry carries: the ref-name annotation and containerd's image name. */
function entryNames(entry: Record<string, unknown>): string[] {
  const annotations = isObject(entry.annotations) ? entry.annotations : {};
  const names: string[] = [];
  for (const key of [REF_NAME, CONTAINERD_NAME]) {
    const value = annotations[key];
    if (typeof value === 'string' && value !== '' && !names.includes(value)) names.push(value);
  }
  return names;
}

/**
 * Selects the image `ref` names (or the only one) in the layout whose parsed `index.json` is `index`, and walks it.
 * `files` gives access to the blobs; `metadata` are the layout files a repacked copy keeps (`oci-layout`, `index.json`).
 */
export function walkOciLayout<F extends ArchiveFile>(files: ArchiveFiles<F>, index: Record<string, unknown>, metadata: F[],
  ref: string | undefined): WalkedImage<F> {
  const label = files.label;
  const entries = index.manifests;
  if (!Array.isArray(entries)) throw new Error(`${label}: index.json has no manifests array`);
  const candidates: ImageCandidate<Descriptor>[] = entries.map((entry, i) => {
    const where = `${label}: index.json manifests[${i}]`;
    const descriptor = parseDescriptor(entry, where);
    return { names: entryNames(entry as Record<string, unknown>), digest: descriptor.digest, value: descriptor };
  });
  // A ref that is the digest of any manifest in the layout selects it, even if index.json does not list it: e.g. one
  // platform of a multi-platform image of which `docker save` (containerd store) kept only the local platform's blobs.
  const byDigest = (wanted: string): ImageCandidate<Descriptor> | undefined => {
    const digest = wanted.slice(wanted.indexOf('@') + 1);
    if (!isSha256Digest(digest)) return undefined;
    const file = files.find(blobName(digest));
    if (!file) return undefined;
    // Its media type may only be in the descriptor of an index that lists it (umoci's manifests have no mediaType).
    const mediaType = listedMediaType(files, candidates.map(c => c.value), digest);
    return { names: [], digest, value: { digest, size: file.size, mediaType } };
  };
  const selection = selectImage(label, candidates, ref, byDigest);

  const walker = new OciWalker(files);
  walker.visit(selection.chosen.value, 'index.json', 0, new Set());
  return {
    manifests: walker.manifests,
    blobs: walker.blobs.list(),
    rootDigest: selection.chosen.digest,
    ref: selection.ref,
    refs: selection.refs,
    files: [...metadata, ...walker.files],
  };
}

/**
 * The media type the indexes reachable from `roots` give `digest`, searched breadth-first. Best effort: an unreadable
 * index is skipped here (walking the selected image reports what is wrong with it).
 */
function listedMediaType<F extends ArchiveFile>(files: ArchiveFiles<F>, roots: Descriptor[], digest: string): string | undefined {
  const queue = roots.map(d => ({ d, depth: 0 }));
  const seen = new Set<string>();
  for (let item = queue.shift(); item; item = queue.shift()) {
    if (item.d.digest === digest && item.d.mediaType !== undefined) return item.d.mediaType;
    if (seen.has(item.d.digest) || item.depth >= MAX_DEPTH || !INDEX_TYPES.has(item.d.mediaType ?? '')) continue;
    seen.add(item.d.digest);
    try {
      const file = files.find(blobName(item.d.digest));
      const json = file && parseJson(files.read(file, MAX_MANIFEST_BYTES, 'manifest'), 'index');
      const children = isObject(json) && Array.isArray(json.manifests) ? json.manifests : [];
      for (const child of children) queue.push({ d: parseDescriptor(child, 'index'), depth: item.depth + 1 });
    } catch {
      continue;
    }
  }
  return undefined;
}

class OciWalker<F extends ArchiveFile> {
  public readonly manifests: PlanManifest[] = [];
  public readonly blobs = new BlobSet<F>();
  public readonly files: F[] = [];
  private readonly visited = new Set<string>();
  private readonly label: string;

  constructor(private readonly archive: ArchiveFiles<F>) {
    this.label = archive.label;
  }

  /** Visits the manifest `descriptor` (listed by `referrer`), pushing it after everything it references. */
  public visit(descriptor: Descriptor, referrer: string, depth: number, path: Set<string>): void {
    const digest = descriptor.digest;
    if (path.has(digest)) throw new Error(`${this.label}: manifest ${digest} refers to itself through ${referrer}`);
    if (depth > MAX_DEPTH) throw new Error(`${this.label}: indexes nested more than ${MAX_DEPTH} deep at ${digest}`);
    if (this.visited.has(digest)) return;

    const file = this.archive.find(blobName(digest));
    if (!file) {
      throw new Error(`${this.label}: manifest ${digest} referenced by ${referrer} is missing`
        + (depth > 0 ? ' (an archive saved with only some platforms? select one platform\'s manifest by its digest as ref)' : ''));
    }
    if (file.size !== descriptor.size) {
      throw new Error(`${this.label}: manifest ${digest} referenced by ${referrer} is ${file.size} bytes, the descriptor says ${descriptor.size}`);
    }
    const bytes = this.archive.read(file, MAX_MANIFEST_BYTES, 'manifest');
    const actual = sha256(bytes);
    if (actual !== digest) throw new Error(`${this.label}: manifest ${digest} referenced by ${referrer} does not match its digest (its bytes hash to ${actual})`);
    const text = bytes.toString('utf8');
    // The plan carries the manifest as a string: it must turn back into exactly these bytes.
    if (!Buffer.from(text, 'utf8').equals(bytes)) throw new Error(`${this.label}: manifest ${digest} is not valid UTF-8`);
    const json = parseJson(bytes, `${this.label}: manifest ${digest}`);
    if (!isObject(json)) throw new Error(`${this.label}: manifest ${digest} is not a JSON object`);

    const own = json.mediaType;
    if (own !== undefined && typeof own !== 'string') throw new Error(`${this.label}: manifest ${digest} has a non-string mediaType`);
    const mediaType = own ?? descriptor.mediaType;
    if (mediaType === undefined) throw new Error(`${this.label}: manifest ${digest} has no media type (no mediaType member, none in its descriptor)`);

    const where = `${this.label}: manifest ${digest}`;
    this.files.push(file);
    if (INDEX_TYPES.has(mediaType)) {
      if (!Array.isArray(json.manifests)) throw new Error(`${where}: index has no manifests array`);
      const inner = new Set(path).add(digest);
      json.manifests.forEach((child, i) => {
        const childDescriptor = parseDescriptor(child, `${where} manifests[${i}]`);
        this.visit(childDescriptor, `index ${digest}`, depth + 1, inner);
      });
    } else if (IMAGE_MANIFEST_TYPES.has(mediaType)) {
      this.addConfig(parseDescriptor(json.config, `${where} config`), digest);
      const layers = json.layers ?? [];
      if (!Array.isArray(layers)) throw new Error(`${where}: layers is not an array`);
      layers.forEach((layer, i) => this.addLayer(parseDescriptor(layer, `${where} layers[${i}]`), digest));
    } else {
      throw new Error(`${where} has unknown media type '${mediaType}'`);
    }
    this.visited.add(digest);
    this.manifests.push({ digest, mediaType, manifest: text });
  }

  private findBlob(d: Descriptor, manifest: string, kind: string): F {
    const file = this.archive.find(blobName(d.digest));
    if (!file) {
      const foreign = d.urls !== undefined ? ' (a foreign layer, to be fetched from its urls: such layers cannot be published)' : '';
      throw new Error(`${this.label}: ${kind} ${d.digest} referenced by manifest ${manifest} is missing${foreign}`);
    }
    if (file.size !== d.size) {
      throw new Error(`${this.label}: ${kind} ${d.digest} referenced by manifest ${manifest} is ${file.size} bytes, the descriptor says ${d.size}`);
    }
    return file;
  }

  private addConfig(d: Descriptor, manifest: string): void {
    const file = this.findBlob(d, manifest, 'config');
    const actual = sha256(this.archive.read(file, MAX_JSON_BYTES, 'config'));
    if (actual !== d.digest) {
      throw new Error(`${this.label}: config ${d.digest} referenced by manifest ${manifest} does not match its digest (its bytes hash to ${actual})`);
    }
    this.addBlob(d, file, manifest);
  }

  private addLayer(d: Descriptor, manifest: string): void {
    this.addBlob(d, this.findBlob(d, manifest, 'blob'), manifest);
  }

  private addBlob(d: Descriptor, file: F, manifest: string): void {
    this.blobs.add({ digest: d.digest, size: d.size, mediaType: d.mediaType, file }, `${this.label}: manifest ${manifest}`);
    this.files.push(file);
  }
}

