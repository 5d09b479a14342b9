/**
 * The synth-time entry point: turns an image archive into one uncompressed tar to upload as an asset, and a
 * PublishPlan saying where each blob is in it. Synchronous, because CDK constructors are.
 */
import * as fs from 'fs';
import * as path from 'path';
import { ArchiveFile, ArchiveFiles, DirectoryFiles, TarFiles } from './archive-files';
import { walkDockerSave } from './docker-save';
import { compressionOf, defaultDecompressedBound, gunzipToStaging } from './gunzip-stage';
import { packLayout } from './layout-pack';
import { walkOciLayout } from './oci-walk';
import { MAX_JSON_BYTES, parseJson, WalkedImage } from './walked-image';
import { blobName } from '../../shared/oci/digest';
import { PlanBlob, PublishPlan } from '../../shared/publish-plan';

/** Options of `inspectImageArchive`. */
export interface InspectOptions {
  /**
   * Which image of the archive: a tag (`v1`), an image name (`example.com/web:v1`, as in `RepoTags` or the
   * `io.containerd.image.name` annotation) or a digest (`sha256:...`, of an `index.json` entry, any manifest of an
   * OCI layout, or a docker-save image's config). Required only when the archive holds several images.
   */
  readonly ref?: string;
  /** Where a decompressed or repacked tar is written (created if missing), e.g. a directory under `cdk.out`. */
  readonly stagingDir: string;
  /**
   * The most bytes a gzip-compressed archive may decompress to.
   * @default - `defaultDecompressedBound` of its size: 100 times, and at least 256 MiB
   */
  readonly maxDecompressedBytes?: number;
  /**
   * Whether the image's referrers in an OCI layout or archive (manifests listed in `index.json` whose `subject` is
   * the image or one of its manifests) are published with it.
   * @default true
   */
  readonly includeReferrers?: boolean;
}

/** What `inspectImageArchive` found. */
export interface InspectedArchive {
  /** The uncompressed tar to upload: the source itself when it is an uncompressed tar, else a file in the staging dir. */
  readonly archivePath: string;
  readonly plan: PublishPlan;
  /** Every ref the archive offers (image names and tags; digests of unnamed images). */
  readonly refs: string[];
}

/**
 * Inspects the image archive `source`: an OCI image layout directory, or a tar file (OCI archive, legacy docker-save,
 * Docker 25+ docker-save), optionally gzip-compressed as a whole. Selects the image `options.ref` names (or the only
 * one), verifies its manifests and configs against their digests and that every layer is present with its declared
 * size, and returns the tar to upload and the plan. Throws an Error whose message names `source` and the cause.
 *
 * An uncompressed tar is used in place and only its headers are read. A gzip-compressed tar is decompressed into the
 * staging directory; a directory is packed into a deterministic tar there. Both are named by content, so an unchanged
 * source is not processed twice.
 */
export function inspectImageArchive(source: string, options: InspectOptions): InspectedArchive {
  let stat: fs.Stats;
  try {
    stat = fs.statSync(source);
  } catch (e) {
    throw new Error(`${source}: cannot read the image archive (${(e as Error).message})`);
  }

  if (stat.isDirectory()) {
    const files = new DirectoryFiles(source, source);
    const image = readImage(files, options);
    const digests = new Map<string, string>();
    for (const m of [...image.manifests, ...image.referrers ?? []]) digests.set(blobName(m.digest), m.digest);
    for (const b of image.blobs) digests.set(b.file.name, b.digest);
    const packed = packLayout(image.files, digests, options.stagingDir);
    return result(packed.path, image, b => packed.offsets.get(b.file.name)!);
  }
  if (!stat.isFile()) throw new Error(`${source}: is not an image archive (neither a file nor a directory)`);

  if (compressionOf(source, source) !== 'gzip') {
    const tarPath = path.resolve(source);
    return result(tarPath, readImage(TarFiles.scan(tarPath, source), options), b => b.file.offset);
  }
  const maxBytes = options.maxDecompressedBytes ?? defaultDecompressedBound(stat.size);
  const tarPath = gunzipToStaging(source, options.stagingDir, source, maxBytes);
  try {
    return result(tarPath, readImage(TarFiles.scan(tarPath, source), options), b => b.file.offset);
  } catch (err) {
    // What is not an image is not kept: the staged tar may be as large as the bound.
    fs.rmSync(tarPath, { force: true });
    throw err;
  }
}

/**
 * Tells the format by its metadata files and walks the selected image: an `index.json` listing images makes an OCI
 * layout (Docker 25+ archives are also docker-save archives: the OCI side keeps the original manifests); without one,
 * or when it lists none (moby#47210 wrote `"manifests": null`), `manifest.json` makes a docker-save archive.
 */
function readImage<F extends ArchiveFile>(files: ArchiveFiles<F>, { ref, includeReferrers }: InspectOptions): WalkedImage<F> {
  const label = files.label;
  const indexFile = files.find('index.json');
  const legacyFile = files.find('manifest.json');
  if (indexFile) {
    const index = parseJson(files.read(indexFile, MAX_JSON_BYTES, 'index'), `${label}: index.json`);
    if (typeof index !== 'object' || index === null || Array.isArray(index)) throw new Error(`${label}: index.json is not a JSON object`);
    const entries = (index as Record<string, unknown>).manifests;
    const listsImages = Array.isArray(entries) && entries.length > 0;
    if (!listsImages && legacyFile) return walkDockerSave(files, legacyFile, ref);
    if (entries === null || entries === undefined || (Array.isArray(entries) && entries.length === 0)) {
      throw new Error(`${label}: holds no images (index.json lists none)`);
    }
    const layoutHeader = files.find('oci-layout');
    return walkOciLayout(files, index as Record<string, unknown>, layoutHeader ? [layoutHeader, indexFile] : [indexFile], ref,
      includeReferrers ?? true);
  }
  if (legacyFile) return walkDockerSave(files, legacyFile, ref);
  throw new Error(`${label}: is not an image archive (no index.json or manifest.json)`);
}

function result<F extends ArchiveFile>(archivePath: string, image: WalkedImage<F>, offsetOf: (blob: WalkedImage<F>['blobs'][number]) => number): InspectedArchive {
  const blobs: PlanBlob[] = image.blobs
    .map(b => ({ digest: b.digest, size: b.size, offset: offsetOf(b), ...(b.mediaType !== undefined ? { mediaType: b.mediaType } : {}) }))
    .sort((a, b) => a.offset - b.offset);
  const plan: PublishPlan = {
    version: 1,
    blobs,
    manifests: image.manifests,
    rootDigest: image.rootDigest,
    ...(image.referrers !== undefined ? { referrers: image.referrers } : {}),
    ...(image.ref !== undefined ? { ref: image.ref } : {}),
  };
  return { archivePath, plan, refs: image.refs };
}
