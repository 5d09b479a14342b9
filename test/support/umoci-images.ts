/**
 * Real OCI images built with umoci (no Docker engine needed): single images of any number of layers, multi-platform
 * indexes, and an attestation manifest added to an index as buildx writes one.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { indexJsonText, LayoutDescriptor, OciIndexJson, OciLayoutImage, readOciLayout, REF_NAME, writeBlob } from './oci-layout';
import { run } from './run-tool';
import { makeTempDir } from './temp-dirs';
import { OCI_EMPTY, OCI_INDEX, OCI_MANIFEST } from '../../src/shared/oci/media-types';

async function umoci(args: readonly string[]): Promise<string> {
  return (await run('umoci', args)).stdout.toString('utf8');
}

export interface BuildImageOptions {
  /** The tag in the layout (`org.opencontainers.image.ref.name`). */
  readonly tag: string;
  /** `amd64` unless given. The os is always `linux`. */
  readonly architecture?: string;
  /** Files of the image: path inside the root filesystem → content. */
  readonly files: Record<string, string | Buffer>;
  /**
   * Number of layers (one `umoci repack` each; default 1). The files are dealt to the layers round-robin in sorted
   * path order; a layer that would get no file gets a small `/.layer-<n>` file so that it is not an empty diff.
   */
  readonly layers?: number;
}

function layoutExists(dir: string): boolean {
  return fs.existsSync(path.join(dir, 'oci-layout')) && fs.existsSync(path.join(dir, 'index.json'));
}

function writeRootfsFile(rootfs: string, name: string, content: string | Buffer): void {
  const rel = path.posix.normalize(name.replace(/^\/+/, ''));
  if (rel === '' || rel === '.' || rel.startsWith('../')) {
    throw new Error(`bad file name for an image: ${JSON.stringify(name)}`);
  }
  const target = path.join(rootfs, ...rel.split('/'));
  fs.mkdirSync(path.dirname(target), { recursive: true });
  fs.writeFileSync(target, content);
}

/**
 * Builds (or adds to) the OCI image layout `dir` with umoci: an image tagged `tag` with `layers` layers holding
 * `files`. Unreferenced blobs are garbage-collected afterwards. Returns the layout read back for `tag`.
 */
export async function buildImage(dir: string, options: BuildImageOptions): Promise<OciLayoutImage> {
  const layers = options.layers ?? 1;
  if (!Number.isInteger(layers) || layers < 1) throw new Error(`layers must be a positive integer, got ${layers}`);
  const ref = `${dir}:${options.tag}`;
  if (!layoutExists(dir)) {
    fs.mkdirSync(path.dirname(path.resolve(dir)), { recursive: true });
    await umoci(['init', '--layout', dir]);
  }
  await umoci(['new', '--image', ref]);

  const names = Object.keys(options.files).sort();
  const work = makeTempDir('umoci-bundle-');
  try {
    for (let layer = 0; layer < layers; layer++) {
      const bundle = path.join(work, `bundle-${layer}`);
      await umoci(['unpack', '--rootless', '--image', ref, bundle]);
      const rootfs = path.join(bundle, 'rootfs');
      const mine = names.filter((_, i) => i % layers === layer);
      for (const name of mine) writeRootfsFile(rootfs, name, options.files[name]);
      if (mine.length === 0) writeRootfsFile(rootfs, `.layer-${layer}`, `${options.tag} layer ${layer}\n`);
      await umoci(['repack', '--refresh-bundle', '--image', ref, bundle]);
      fs.rmSync(bundle, { recursive: true, force: true });
    }
  } finally {
    fs.rmSync(work, { recursive: true, force: true });
  }
  await umoci(['config', '--image', ref, '--architecture', options.architecture ?? 'amd64', '--os', 'linux']);
  await umoci(['gc', '--layout', dir]);
  return readOciLayout(dir, options.tag);
}

export interface MultiPlatformOptions {
  /** The tag of the index in `index.json`. */
  readonly tag: string;
  /** Files of every platform image; each image also gets `/arch` holding its architecture. */
  readonly files?: Record<string, string | Buffer>;
  /** Architectures (os `linux`); default `['amd64', 'arm64']`. */
  readonly architectures?: string[];
  /** Layers per platform image (default 1). */
  readonly layers?: number;
}

/**
 * Builds an OCI layout whose `index.json` entry `tag` points to an OCI image index with one linux image per
 * architecture (each built with umoci). The index blob is written here as exact JSON bytes.
 */
export async function buildMultiPlatformLayout(dir: string, options: MultiPlatformOptions): Promise<OciLayoutImage> {
  const architectures = options.architectures ?? ['amd64', 'arm64'];
  const children: LayoutDescriptor[] = [];
  const childTags: string[] = [];
  for (const architecture of architectures) {
    const childTag = `${options.tag}-${architecture}`;
    childTags.push(childTag);
    const image = await buildImage(dir, {
      tag: childTag,
      architecture,
      layers: options.layers,
      files: { ...(options.files ?? {}), arch: `${architecture}\n` },
    });
    children.push({ mediaType: image.root.mediaType, digest: image.root.digest, size: image.root.size, platform: { architecture, os: 'linux' } });
  }
  const bytes = Buffer.from(indexJsonText(children), 'utf8');
  const blob = writeBlob(dir, bytes);

  const indexFile = path.join(dir, 'index.json');
  const current = JSON.parse(fs.readFileSync(indexFile, 'utf8')) as OciIndexJson;
  const kept = current.manifests.filter(d => {
    const name = d.annotations?.[REF_NAME];
    return name !== options.tag && !childTags.includes(name ?? '');
  });
  const entry: LayoutDescriptor = { mediaType: OCI_INDEX, digest: blob.digest, size: blob.size, annotations: { [REF_NAME]: options.tag } };
  fs.writeFileSync(indexFile, JSON.stringify({ ...current, manifests: [...kept, entry] }));
  return readOciLayout(dir, options.tag);
}

/**
 * Adds an attestation-like artifact manifest (OCI 1.1 `artifactType`, empty config, one in-toto layer; platform
 * `unknown/unknown` as buildx writes it) to the index tagged `tag` in the layout, rewriting the index blob and its
 * `index.json` entry. Returns the layout read back for `tag`.
 */
export function addAttestationManifest(dir: string, tag: string): OciLayoutImage {
  const before = readOciLayout(dir, tag);
  if (!before.root.isIndex) throw new Error('addAttestationManifest: needs an index');
  const subject = (before.root.json as OciIndexJson).manifests[0];
  const statement = writeBlob(dir, Buffer.from(JSON.stringify({ _type: 'https://in-toto.io/Statement/v0.1', predicateType: 'https://slsa.dev/provenance/v0.2', subject: [] })));
  const empty = writeBlob(dir, Buffer.from('{}'));
  const manifest = writeBlob(dir, Buffer.from(JSON.stringify({
    schemaVersion: 2,
    mediaType: OCI_MANIFEST,
    artifactType: 'application/vnd.in-toto+json',
    config: { mediaType: OCI_EMPTY, digest: empty.digest, size: empty.size },
    layers: [{ mediaType: 'application/vnd.in-toto+json', digest: statement.digest, size: statement.size, annotations: { 'in-toto.io/predicate-type': 'https://slsa.dev/provenance/v0.2' } }],
  })));
  const children: LayoutDescriptor[] = [
    ...(before.root.json as OciIndexJson).manifests,
    {
      mediaType: OCI_MANIFEST,
      digest: manifest.digest,
      size: manifest.size,
      platform: { architecture: 'unknown', os: 'unknown' },
      annotations: { 'vnd.docker.reference.type': 'attestation-manifest', 'vnd.docker.reference.digest': subject.digest },
    },
  ];
  const index = writeBlob(dir, Buffer.from(indexJsonText(children), 'utf8'));
  const indexFile = path.join(dir, 'index.json');
  const current = JSON.parse(fs.readFileSync(indexFile, 'utf8')) as OciIndexJson;
  const manifests = current.manifests.map(d => (d.annotations?.[REF_NAME] === tag ? { ...d, digest: index.digest, size: index.size } : d));
  fs.writeFileSync(indexFile, JSON.stringify({ ...current, manifests }));
  return readOciLayout(dir, tag);
}
