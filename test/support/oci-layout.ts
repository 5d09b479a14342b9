/**
 * OCI image layouts on disk, for tests: `readOciLayout` resolves a tag of a layout into the exact manifest bytes and
 * the blobs it needs (every manifest checked against its digest); `writeBlob` and `indexJsonText` write into one.
 * Media types, digests and descriptors are the product's own (src/shared/oci).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { hashFile } from '../../src/private/archive/chunked-io';
import { Descriptor } from '../../src/shared/oci/descriptor';
import { blobName, checkDigest, sha256 } from '../../src/shared/oci/digest';
import { IMAGE_MANIFEST_TYPES, INDEX_TYPES, OCI_INDEX } from '../../src/shared/oci/media-types';

/** The annotation of an `index.json` entry that names its tag. */
export const REF_NAME = 'org.opencontainers.image.ref.name';

export interface Platform {
  readonly architecture: string;
  readonly os: string;
  readonly variant?: string;
}

/** A descriptor as a layout writes it: the checked descriptor of src/shared/oci, with its media type always given. */
export interface LayoutDescriptor extends Descriptor {
  readonly mediaType: string;
  readonly annotations?: Record<string, string>;
  readonly platform?: Platform;
}

export interface OciIndexJson {
  readonly schemaVersion: number;
  readonly mediaType?: string;
  readonly manifests: LayoutDescriptor[];
  readonly annotations?: Record<string, string>;
}

export interface OciManifestJson {
  readonly schemaVersion: number;
  readonly mediaType?: string;
  readonly config: LayoutDescriptor;
  readonly layers: LayoutDescriptor[];
}

/** A manifest (image manifest or index) of a layout, with its exact bytes. */
export interface LayoutManifest {
  /** `sha256:<hex>` of `bytes` (checked against the referencing descriptor). */
  readonly digest: string;
  /** From the referencing descriptor (umoci's manifests carry no `mediaType` member of their own). */
  readonly mediaType: string;
  readonly size: number;
  readonly bytes: Buffer;
  /** The parsed JSON (an OciManifestJson or an OciIndexJson). */
  readonly json: any;
  readonly platform?: Platform;
  readonly isIndex: boolean;
}

/** A blob (config or layer) of a layout. */
export interface LayoutBlob {
  readonly digest: string;
  readonly size: number;
  readonly mediaType: string;
  /** Absolute path of the blob file. */
  readonly path: string;
}

export interface OciLayoutImage {
  readonly layoutDir: string;
  /** The parsed `index.json`. */
  readonly index: OciIndexJson;
  /** The `index.json` entry that was selected. */
  readonly descriptor: LayoutDescriptor;
  /** The top manifest (an image manifest, or an image index for multi-platform images). */
  readonly root: LayoutManifest;
  /** Every manifest, children before their index: the order in which they must be pushed. `root` is last. */
  readonly manifests: LayoutManifest[];
  /** The image manifests only (for a single image: `[root]`). */
  readonly images: LayoutManifest[];
  /** Every config and layer blob referenced, without duplicates, in manifest order. */
  readonly blobs: LayoutBlob[];
}

/** `sha256:<hex>` of a file's content, read in chunks (layers can be large). */
export async function sha256File(file: string): Promise<string> {
  return `sha256:${hashFile(file)}`;
}

/** Writes `bytes` as a blob of the layout and returns its descriptor fields. */
export function writeBlob(layoutDir: string, bytes: Buffer): { digest: string; size: number } {
  const digest = sha256(bytes);
  const file = path.join(layoutDir, blobName(digest));
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, bytes);
  return { digest, size: bytes.length };
}

/** Canonical JSON text of an image index for the given child descriptors (exactly the bytes written as the blob). */
export function indexJsonText(children: LayoutDescriptor[]): string {
  return JSON.stringify({ schemaVersion: 2, mediaType: OCI_INDEX, manifests: children });
}

function blobPath(layoutDir: string, digest: string): string {
  return path.resolve(layoutDir, blobName(checkDigest(digest, `layout ${layoutDir}`)));
}

function readManifest(layoutDir: string, descriptor: LayoutDescriptor): LayoutManifest {
  const file = blobPath(layoutDir, descriptor.digest);
  if (!fs.existsSync(file)) throw new Error(`layout ${layoutDir}: manifest blob ${descriptor.digest} is missing`);
  const bytes = fs.readFileSync(file);
  const digest = sha256(bytes);
  if (digest !== descriptor.digest) throw new Error(`layout ${layoutDir}: blob ${descriptor.digest} hashes to ${digest}`);
  if (bytes.length !== descriptor.size) throw new Error(`layout ${layoutDir}: blob ${descriptor.digest} is ${bytes.length} bytes, descriptor says ${descriptor.size}`);
  const json = JSON.parse(bytes.toString('utf8'));
  const mediaType = descriptor.mediaType ?? json.mediaType;
  if (json.mediaType !== undefined && json.mediaType !== mediaType) {
    throw new Error(`layout ${layoutDir}: ${digest} says mediaType ${json.mediaType}, its descriptor says ${mediaType}`);
  }
  const isIndex = INDEX_TYPES.has(mediaType);
  if (!isIndex && !IMAGE_MANIFEST_TYPES.has(mediaType)) throw new Error(`layout ${layoutDir}: ${digest} has unsupported media type ${mediaType}`);
  return { digest, mediaType, size: bytes.length, bytes, json, platform: descriptor.platform, isIndex };
}

/**
 * Reads the image tagged `tag` (annotation `org.opencontainers.image.ref.name`) from the layout, or its only image
 * when `tag` is not given. Manifest bytes are verified against their digests; blob files must exist.
 */
export function readOciLayout(dir: string, tag?: string): OciLayoutImage {
  const layoutDir = path.resolve(dir);
  const header = JSON.parse(fs.readFileSync(path.join(layoutDir, 'oci-layout'), 'utf8'));
  if (typeof header.imageLayoutVersion !== 'string') throw new Error(`${layoutDir}/oci-layout has no imageLayoutVersion`);
  const index = JSON.parse(fs.readFileSync(path.join(layoutDir, 'index.json'), 'utf8')) as OciIndexJson;
  const entries = index.manifests ?? [];
  const matching = tag === undefined ? entries : entries.filter(d => d.annotations?.[REF_NAME] === tag);
  if (matching.length !== 1) {
    const known = entries.map(d => d.annotations?.[REF_NAME] ?? '(untagged)').join(', ');
    throw new Error(`layout ${layoutDir}: expected exactly one image${tag === undefined ? '' : ` tagged ${tag}`}, found ${matching.length} (entries: ${known})`);
  }
  const descriptor = matching[0];

  const manifests: LayoutManifest[] = [];
  const images: LayoutManifest[] = [];
  const blobs: LayoutBlob[] = [];
  const seenBlobs = new Set<string>();
  const seenManifests = new Set<string>();
  const addBlob = (d: LayoutDescriptor): void => {
    if (seenBlobs.has(d.digest)) return;
    seenBlobs.add(d.digest);
    const file = blobPath(layoutDir, d.digest);
    if (!fs.existsSync(file)) throw new Error(`layout ${layoutDir}: blob ${d.digest} is missing`);
    const size = fs.statSync(file).size;
    if (size !== d.size) throw new Error(`layout ${layoutDir}: blob ${d.digest} is ${size} bytes, descriptor says ${d.size}`);
    blobs.push({ digest: d.digest, size: d.size, mediaType: d.mediaType, path: file });
  };
  const visit = (d: LayoutDescriptor, depth: number): LayoutManifest => {
    if (depth > 4) throw new Error(`layout ${layoutDir}: indexes nested too deeply`);
    const m = readManifest(layoutDir, d);
    if (m.isIndex) {
      for (const child of (m.json as OciIndexJson).manifests ?? []) visit(child, depth + 1);
    } else {
      const json = m.json as OciManifestJson;
      addBlob(json.config);
      for (const layer of json.layers ?? []) addBlob(layer);
    }
    if (!seenManifests.has(m.digest)) {
      seenManifests.add(m.digest);
      manifests.push(m);
      if (!m.isIndex) images.push(m);
    }
    return m;
  };
  const root = visit(descriptor, 0);
  return { layoutDir, index, descriptor, root, manifests, images, blobs };
}
