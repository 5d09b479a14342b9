/**
 * Walking an OCI image layout (a directory, an `oci-archive` tar, `docker buildx --output type=oci`, or Docker 25+
 * `docker save`): select an `index.json` entry, then visit manifests depth-first (children before the index that lists
 * them) and collect each image manifest's config and layers. Manifests and configs are small and are verified against
 * their digests here; layers are only checked for presence and size (the publisher hashes them while streaming).
 */
import { ArchiveFile, ArchiveFiles } from './archive-files';
import { ImageCandidate, selectImage } from './image-refs';
import { BlobSet, MAX_JSON_BYTES, MAX_MANIFEST_BYTES, parseJson, WalkedImage } from './walked-image';
import { Descriptor, parseDescriptor } from '../../shared/oci/descriptor';
import { blobName, isSha256Digest, sha256 } from '../../shared/oci/digest';
import { parseManifest, ParsedManifest } from '../../shared/oci/manifest';
import { isIndex } from '../../shared/oci/media-types';
import { ManifestRequest, MAX_INDEX_DEPTH, walkManifestsSync } from '../../shared/oci/walk';
import { PlanManifest } from '../../shared/publish-plan';

const REF_NAME = 'org.opencontainers.image.ref.name';
const CONTAINERD_NAME = 'io.containerd.image.name';

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
  ref: string | undefined, includeReferrers: boolean = true): WalkedImage<F> {
  const label = files.label;
  const entries = index.manifests;
  if (!Array.isArray(entries)) throw new Error(`${label}: index.json has no manifests array`);
  const listed: ImageCandidate<Descriptor>[] = entries.map((entry, i) => {
    const where = `${label}: index.json manifests[${i}]`;
    const descriptor = parseDescriptor(entry, where);
    return { names: entryNames(entry as Record<string, unknown>), digest: descriptor.digest, value: descriptor };
  });
  // An entry whose manifest has a `subject` is a referrer (`oras attach --oci-layout` lists it so): it travels with
  // its subject and is no image to choose. Unnamed ones only: a name says someone meant it as an image.
  const referrerEntries = new Map<string, { descriptor: Descriptor; subject: string }>();
  for (const c of listed) {
    const subject = c.names.length === 0 ? subjectOf(files, c.value) : undefined;
    if (subject !== undefined) referrerEntries.set(c.digest, { descriptor: c.value, subject });
  }
  const candidates = listed.filter((c) => !referrerEntries.has(c.digest));
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
  const manifests = walker.walk(selection.chosen.value);
  const referrers = includeReferrers ? walkReferrers(walker, manifests, [...referrerEntries.values()]) : [];
  return {
    manifests,
    ...(referrers.length > 0 ? { referrers } : {}),
    blobs: walker.blobs.list(),
    rootDigest: selection.chosen.digest,
    ref: selection.ref,
    refs: selection.refs,
    files: [...metadata, ...walker.files],
  };
}

/**
 * The referrers among `entries` of the image whose manifests are `image`, walked (blobs and files collected by
 * `walker`): those whose subject is one of its manifests, then those whose subject is one of these (a signature of
 * an SBOM), and so on. In push order: a referrer after its subject, an index's children before it.
 */
function walkReferrers<F extends ArchiveFile>(walker: OciWalker<F>, image: readonly PlanManifest[],
  entries: ReadonlyArray<{ descriptor: Descriptor; subject: string }>): PlanManifest[] {
  const reached = new Set(image.map((m) => m.digest));
  const out: PlanManifest[] = [];
  let pending = [...entries];
  for (let found = true; found;) {
    found = false;
    const next: typeof pending = [];
    for (const entry of pending) {
      if (!reached.has(entry.subject)) {
        next.push(entry);
        continue;
      }
      found = true;
      for (const m of walker.walk(entry.descriptor)) {
        if (reached.has(m.digest)) continue;
        reached.add(m.digest);
        out.push(m);
      }
    }
    pending = next;
  }
  return out;
}

/**
 * The digest of the `subject` of the manifest `descriptor` names, when it is a readable OCI manifest or index that
 * has one. Best effort, as {@link listedMediaType}: walking reports what is wrong with a manifest that is walked.
 */
function subjectOf<F extends ArchiveFile>(files: ArchiveFiles<F>, descriptor: Descriptor): string | undefined {
  try {
    const file = files.find(blobName(descriptor.digest));
    const json = file && file.size <= MAX_MANIFEST_BYTES ? parseJson(files.read(file, MAX_MANIFEST_BYTES, 'manifest'), 'manifest') : undefined;
    return isObject(json) && json.subject !== undefined ? parseDescriptor(json.subject, 'subject').digest : undefined;
  } catch {
    return undefined;
  }
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
    if (seen.has(item.d.digest) || item.depth >= MAX_INDEX_DEPTH || !isIndex(item.d.mediaType ?? '')) continue;
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

/** Reads the manifests of the selected image from the archive, and collects the files and blobs they name. */
class OciWalker<F extends ArchiveFile> {
  public readonly blobs = new BlobSet<F>();
  public readonly files: F[] = [];
  private readonly label: string;

  constructor(private readonly archive: ArchiveFiles<F>) {
    this.label = archive.label;
  }

  /** Walks the manifest `root` (an `index.json` entry): the manifests to push, children before their index. */
  public walk(root: Descriptor): PlanManifest[] {
    const parsed = this.read({ descriptor: root, referrer: 'index.json', depth: 0 });
    const manifests = walkManifestsSync(parsed, this.label, (request) => this.read(request));
    return manifests.map((m) => ({ digest: m.digest, mediaType: m.mediaType, manifest: m.text }));
  }

  /** Reads and checks the manifest of `request`; an image manifest's config and layers are collected at once. */
  private read({ descriptor, referrer, depth }: ManifestRequest): ParsedManifest {
    const digest = descriptor.digest;
    const by = depth === 0 ? referrer : `index ${referrer}`;
    const file = this.archive.find(blobName(digest));
    if (!file) {
      throw new Error(`${this.label}: manifest ${digest} referenced by ${by} is missing`
        + (depth > 0 ? ' (an archive saved with only some platforms? select one platform\'s manifest by its digest as ref)' : ''));
    }
    if (file.size !== descriptor.size) {
      throw new Error(`${this.label}: manifest ${digest} referenced by ${by} is ${file.size} bytes, the descriptor says ${descriptor.size}`);
    }
    const bytes = this.archive.read(file, MAX_MANIFEST_BYTES, 'manifest');
    const actual = sha256(bytes);
    if (actual !== digest) throw new Error(`${this.label}: manifest ${digest} referenced by ${by} does not match its digest (its bytes hash to ${actual})`);
    const where = `${this.label}: manifest ${digest}`;
    const manifest = parseManifest(bytes, digest, { descriptor: descriptor.mediaType }, where);
    this.files.push(file);
    if (manifest.kind === 'image') {
      this.addConfig(manifest.config, digest);
      manifest.layers.forEach((layer) => this.addLayer(layer, digest));
    }
    return manifest;
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

