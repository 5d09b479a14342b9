/**
 * Legacy `docker save` archives (Docker 24 and earlier, `skopeo copy ... docker-archive:`), which hold no registry
 * manifest: `manifest.json` lists each image's config file, tags and layer tars. A Docker schema 2 manifest is
 * synthesised for the selected image, with uncompressed layers whose digests are the config's DiffIDs (the sha256 of
 * each layer tar). Also used for Docker 25+ archives whose `index.json` lists nothing (moby#47210).
 */
import { ArchiveFile, ArchiveFiles } from './archive-files';
import { ImageCandidate, selectImage } from './image-refs';
import { BlobSet, MAX_JSON_BYTES, parseJson, WalkedImage } from './walked-image';
import { checkDigest, sha256 } from '../../shared/oci/digest';
import { DOCKER_CONFIG, DOCKER_LAYER_TAR, DOCKER_MANIFEST } from '../../shared/oci/media-types';
import { PlanManifest } from '../../shared/publish-plan';

/** Config file names that say their digest: `<hex>.json` (legacy) and `blobs/sha256/<hex>` (Docker 25+). */
const NAMED_BY_DIGEST = /^(?:([0-9a-f]{64})\.json|blobs\/sha256\/([0-9a-f]{64}))$/;
/** Layer file names that say their digest (Docker 25+: the uncompressed layer blob, named by its DiffID). */
const LAYER_NAMED_BY_DIGEST = /^blobs\/sha256\/([0-9a-f]{64})$/;

interface LegacyImage<F extends ArchiveFile> {
  readonly index: number;
  readonly configFile: F;
  readonly config: Buffer;
  readonly layers: readonly string[];
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function stringArray(value: unknown): value is string[] {
  return Array.isArray(value) && value.every(v => typeof v === 'string');
}

/**
 * Selects the image `ref` names (or the only one) in a docker-save archive whose `manifest.json` is `manifestFile`, and
 * walks it. The image's config is verified against its file name when that is a digest; the number of layers must
 * equal the number of DiffIDs. Layer contents are not read (the publisher verifies them while streaming).
 */
export function walkDockerSave<F extends ArchiveFile>(files: ArchiveFiles<F>, manifestFile: F, ref: string | undefined): WalkedImage<F> {
  const label = files.label;
  const json = parseJson(files.read(manifestFile, MAX_JSON_BYTES, 'manifest.json'), `${label}: manifest.json`);
  if (!Array.isArray(json)) throw new Error(`${label}: manifest.json is not a JSON array`);

  const candidates: ImageCandidate<LegacyImage<F>>[] = json.map((entry, i) => {
    const where = `${label}: manifest.json[${i}]`;
    if (!isObject(entry)) throw new Error(`${where} is not an object`);
    if (typeof entry.Config !== 'string') throw new Error(`${where} has no Config file name`);
    if (!stringArray(entry.Layers)) throw new Error(`${where} has no Layers array of file names`);
    const tags = entry.RepoTags ?? [];
    if (!stringArray(tags)) throw new Error(`${where} has a RepoTags member that is not an array of strings`);
    const configFile = files.find(entry.Config);
    if (!configFile) throw new Error(`${where}: config ${entry.Config} is missing`);
    const config = files.read(configFile, MAX_JSON_BYTES, 'config');
    const digest = sha256(config);
    const named = NAMED_BY_DIGEST.exec(configFile.name);
    if (named && `sha256:${named[1] ?? named[2]}` !== digest) {
      throw new Error(`${where}: config ${configFile.name} does not match its digest (its bytes hash to ${digest})`);
    }
    return { names: tags, digest, value: { index: i, configFile, config, layers: entry.Layers } };
  });
  const selection = selectImage(label, candidates, ref);
  const image = selection.chosen.value;
  const configDigest = selection.chosen.digest;
  const where = `${label}: manifest.json[${image.index}]`;

  const config = parseJson(image.config, `${label}: config ${image.configFile.name}`);
  const diffIds = isObject(config) && isObject(config.rootfs) ? config.rootfs.diff_ids : undefined;
  if (!stringArray(diffIds)) throw new Error(`${label}: config ${image.configFile.name} has no rootfs.diff_ids array`);
  if (diffIds.length !== image.layers.length) {
    throw new Error(`${where} lists ${image.layers.length} layers but config ${image.configFile.name} has ${diffIds.length} diff_ids`);
  }

  const blobs = new BlobSet<F>();
  blobs.add({ digest: configDigest, size: image.configFile.size, mediaType: DOCKER_CONFIG, file: image.configFile }, where);
  const layers = image.layers.map((layerName, i) => {
    const digest = checkDigest(diffIds[i], `${label}: config ${image.configFile.name} rootfs.diff_ids[${i}]`);
    const file = files.find(layerName);
    if (!file) throw new Error(`${label}: layer ${layerName} of image ${configDigest} (manifest.json Layers[${i}]) is missing`);
    const named = LAYER_NAMED_BY_DIGEST.exec(file.name);
    if (named && `sha256:${named[1]}` !== digest) {
      // Only an uncompressed layer's digest is its DiffID; this one is stored under another digest (compressed?).
      throw new Error(`${where}: layer ${file.name} is not the layer with DiffID ${digest}`);
    }
    blobs.add({ digest, size: file.size, mediaType: DOCKER_LAYER_TAR, file }, where);
    return { file, digest };
  });

  // Key order as containers/image writes it for docker-archive sources (mediaType, size, digest).
  const text = JSON.stringify({
    schemaVersion: 2,
    mediaType: DOCKER_MANIFEST,
    config: { mediaType: DOCKER_CONFIG, size: image.configFile.size, digest: configDigest },
    layers: layers.map(l => ({ mediaType: DOCKER_LAYER_TAR, size: l.file.size, digest: l.digest })),
  });
  const manifest: PlanManifest = { digest: sha256(text), mediaType: DOCKER_MANIFEST, manifest: text };
  return {
    manifests: [manifest],
    blobs: blobs.list(),
    rootDigest: manifest.digest,
    ref: selection.ref,
    refs: selection.refs,
    files: [manifestFile, image.configFile, ...layers.map(l => l.file)],
  };
}
