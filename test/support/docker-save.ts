/**
 * The trees `docker save` writes (Docker 25+ as an OCI layout, and the legacy format of Docker 24 and earlier), made
 * from an image of a layout, for the tests of the synth-time archive inspector.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { gunzipSync } from 'node:zlib';
import { LayoutDescriptor, OciLayoutImage, OciManifestJson, REF_NAME, writeBlob } from './oci-layout';
import { blobName, sha256 } from '../../src/shared/oci/digest';
import { OCI_CONFIG, OCI_INDEX, OCI_LAYER_TAR, OCI_MANIFEST } from '../../src/shared/oci/media-types';

/** An image as `docker save` sees it: config bytes, uncompressed layer tars (base first), tags. */
export interface SavedImage {
  readonly config: Buffer;
  readonly layers: Buffer[];
  readonly repoTags: string[];
}

/** The config and uncompressed layers of a single-platform image read from a layout (umoci's layers are gzip). */
export function savedImage(image: OciLayoutImage, repoTags: string[]): SavedImage {
  if (image.root.isIndex) throw new Error('savedImage: needs a single-platform image');
  const json = image.root.json as OciManifestJson;
  const read = (d: LayoutDescriptor): Buffer => fs.readFileSync(path.join(image.layoutDir, blobName(d.digest)));
  return {
    config: read(json.config),
    layers: json.layers.map(l => (l.mediaType.endsWith('+gzip') ? gunzipSync(read(l)) : read(l))),
    repoTags,
  };
}

/** `docker.io/library/web:v1` for `web:v1`, as Docker writes `io.containerd.image.name`. */
export function fullImageName(tag: string): string {
  const first = tag.split('/')[0];
  if (!tag.includes('/')) return `docker.io/library/${tag}`;
  return first.includes('.') || first.includes(':') || first === 'localhost' ? tag : `docker.io/${tag}`;
}

function writeFileIn(dir: string, name: string, data: string | Buffer): void {
  const file = path.join(dir, ...name.split('/'));
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, data);
}

/**
 * Writes into `dir` the tree of a Docker 25+ `docker save` (classic store): an OCI layout with uncompressed layers
 * whose digests are the DiffIDs, one `index.json` entry per tag (annotations `io.containerd.image.name` and
 * `org.opencontainers.image.ref.name`), plus `manifest.json` and `repositories`. `nullManifests` reproduces moby#47210
 * (`"manifests": null`). Returns the OCI manifest digest of each image.
 */
export function writeDocker25Save(dir: string, images: readonly SavedImage[], options: { nullManifests?: boolean } = {}): string[] {
  writeFileIn(dir, 'oci-layout', '{"imageLayoutVersion":"1.0.0"}');
  const entries: object[] = [];
  const legacy: object[] = [];
  const digests: string[] = [];
  for (const image of images) {
    const config = writeBlob(dir, image.config);
    const layers = image.layers.map(l => writeBlob(dir, l));
    const manifest = Buffer.from(JSON.stringify({
      schemaVersion: 2,
      mediaType: OCI_MANIFEST,
      config: { mediaType: OCI_CONFIG, digest: config.digest, size: config.size },
      layers: layers.map(l => ({ mediaType: OCI_LAYER_TAR, digest: l.digest, size: l.size })),
    }));
    const m = writeBlob(dir, manifest);
    digests.push(m.digest);
    const descriptor = { mediaType: OCI_MANIFEST, digest: m.digest, size: m.size };
    if (image.repoTags.length === 0) entries.push(descriptor);
    for (const tag of image.repoTags) {
      const colon = tag.lastIndexOf(':');
      entries.push({ ...descriptor, annotations: { 'io.containerd.image.name': fullImageName(tag), [REF_NAME]: tag.slice(colon + 1) } });
    }
    legacy.push({ Config: blobName(config.digest), RepoTags: image.repoTags, Layers: layers.map(l => blobName(l.digest)) });
  }
  writeFileIn(dir, 'index.json', JSON.stringify({ schemaVersion: 2, mediaType: OCI_INDEX, manifests: options.nullManifests ? null : entries }));
  writeFileIn(dir, 'manifest.json', JSON.stringify(legacy));
  writeFileIn(dir, 'repositories', '{}');
  return digests;
}

/**
 * Writes into `dir` the tree of a legacy (Docker 24 and earlier) `docker save`: `<config-hex>.json`, one
 * `<v1-id>/{VERSION,json,layer.tar}` directory per layer, `manifest.json`, `repositories`. A layer whose DiffID already
 * occurred gets a `layer.tar` that is a SYMLINK to the first one (`../<v1-id>/layer.tar`), as Docker does.
 */
export function writeLegacyDockerSave(dir: string, images: readonly SavedImage[]): void {
  const firstByDiffId = new Map<string, string>();
  const legacy: object[] = [];
  for (const image of images) {
    const configHex = sha256(image.config).slice('sha256:'.length);
    writeFileIn(dir, `${configHex}.json`, image.config);
    const layerNames: string[] = [];
    let parent = '';
    for (const layer of image.layers) {
      const diffId = sha256(layer);
      const v1 = sha256(`${parent} ${diffId} ${configHex}`).slice('sha256:'.length);
      writeFileIn(dir, `${v1}/VERSION`, '1.0');
      writeFileIn(dir, `${v1}/json`, JSON.stringify({ id: v1, ...(parent ? { parent } : {}) }));
      const first = firstByDiffId.get(diffId);
      if (first) {
        fs.symlinkSync(`../${first}`, path.join(dir, v1, 'layer.tar'));
      } else {
        writeFileIn(dir, `${v1}/layer.tar`, layer);
        firstByDiffId.set(diffId, `${v1}/layer.tar`);
      }
      layerNames.push(`${v1}/layer.tar`);
      parent = v1;
    }
    legacy.push({ Config: `${configHex}.json`, RepoTags: image.repoTags, Layers: layerNames });
  }
  writeFileIn(dir, 'manifest.json', JSON.stringify(legacy));
  writeFileIn(dir, 'repositories', '{}');
}
