/**
 * Every source format, made by real tools from one umoci image (which includes an empty layer), published by the handler
 * and pulled back with skopeo: the digests match the source's (for a docker-save archive, whose uncompressed layers are
 * gzip-compressed on the way, the config is unchanged and the pulled layers decompress to its diff_ids).
 */
import { execFile } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { promisify } from 'node:util';
import { gunzipSync, gzipSync } from 'node:zlib';
import { createRepository, imageProps, readConfig, stage, TYPE, useAssetBucket, writeImage, writeLayer } from './support';
import { handler } from '../../lambda/image-publisher';
import { sha256 } from '../../src/shared/oci/digest';
import { ImageProperties } from '../../src/shared/publish-plan';
import { uniqueName } from '../support/ecr-fixtures';
import { primaryRegistryAlias } from '../support/emulator-harness';
import { createEvent, invokeOk, useHandlerHarness } from '../support/handler-harness';
import { OciManifestJson, readOciLayout } from '../support/oci-layout';
import { skopeoCopy, skopeoInspectRaw } from '../support/skopeo';
import { gzipFile } from '../support/tar-files';
import { makeTempDir } from '../support/temp-dirs';
import { addAttestationManifest, buildMultiPlatformLayout } from '../support/umoci-images';

const h = useHandlerHarness();
const bucket = useAssetBucket(h);
const run = promisify(execFile);
const OCI_TAR_GZIP = 'application/vnd.oci.image.layer.v1.tar+gzip';

let work: string;
let layout: string;
let source: ReturnType<typeof readOciLayout>;

/**
 * An image made with umoci (two layers), plus an EMPTY layer between them: umoci skips a repack without changes, so the
 * empty layer (a gzip-compressed empty tar, as builders write for a no-op step) is added to the manifest and diff_ids.
 */
beforeAll(async () => {
  work = makeTempDir('formats-');
  layout = path.join(work, 'layout');
  const umoci = (...args: string[]) => run('umoci', args);
  await umoci('init', '--layout', layout);
  await umoci('new', '--image', `${layout}:umoci`);
  for (const file of ['first.txt', 'third.txt']) {
    const bundle = path.join(work, `bundle-${file}`);
    await umoci('unpack', '--rootless', '--image', `${layout}:umoci`, bundle);
    fs.writeFileSync(path.join(bundle, 'rootfs', file), `${file}\n`.repeat(1000));
    await umoci('repack', '--refresh-bundle', '--image', `${layout}:umoci`, bundle);
    fs.rmSync(bundle, { recursive: true, force: true });
  }
  await umoci('config', '--image', `${layout}:umoci`, '--architecture', 'amd64', '--os', 'linux');
  const built = readOciLayout(layout, 'umoci');
  const [first, third] = (built.root.json as OciManifestJson).layers;
  const emptyTar = Buffer.alloc(1024);
  const empty = writeLayer(layout, gzipSync(emptyTar), OCI_TAR_GZIP);
  const config = readConfig(built);
  config.rootfs.diff_ids = [config.rootfs.diff_ids[0], sha256(emptyTar), config.rootfs.diff_ids[1]];
  writeImage(layout, 'src', config, [first, empty, third]);
  source = readOciLayout(layout, 'src');
  expect((source.root.json as OciManifestJson).layers).toHaveLength(3);
});

interface Published {
  readonly digest: string;
  /** The manifest bytes the registry serves for the tag, as `skopeo inspect --raw` prints them. */
  readonly raw: Buffer;
  /** The image copied into an OCI layout (skopeo converts a Docker manifest to OCI on the way; blobs stay). */
  readonly pulled: ReturnType<typeof readOciLayout>;
}

async function publish(sourcePath: string, ref: string | undefined, copyFlags: string[] = []): Promise<Published> {
  const staged = await stage(bucket.dir, sourcePath, ref);
  const repo = uniqueName('formats');
  await createRepository(h.client, repo);
  const res = await invokeOk(h, handler, createEvent<ImageProperties>(h, TYPE, imageProps(staged, repo, { CompressLayers: 'true', Tags: ['t'] })));
  const alias = await primaryRegistryAlias(h.client);
  const out = path.join(makeTempDir('formats-pulled-'), 'oci');
  const ref_ = `docker://${h.emu.host}/${alias}/${repo}:t`;
  await skopeoCopy(ref_, `oci:${out}:t`, ['--src-tls-verify=false', ...copyFlags]);
  const raw = await skopeoInspectRaw(ref_);
  return { digest: res.Data!.ImageDigest, raw, pulled: readOciLayout(out, 't') };
}

function blobDigests(image: ReturnType<typeof readOciLayout>): string[] {
  return image.blobs.map((b) => b.digest).sort();
}

describe('source formats, published and pulled back', () => {
  test('OCI image layout directory', async () => {
    const { digest, raw, pulled } = await publish(layout, 'src');
    expect(digest).toBe(source.root.digest);
    expect(raw.equals(source.root.bytes)).toBe(true);
    expect(pulled.root.digest).toBe(source.root.digest);
    expect(blobDigests(pulled)).toEqual(blobDigests(source));
  });

  test('OCI archive written by skopeo, and the same archive gzip-compressed', async () => {
    // Uncompressed archives are uploaded as they are: write them where the asset bucket serves them.
    const archive = path.join(bucket.dir, 'image.oci.tar');
    await skopeoCopy(`oci:${layout}:src`, `oci-archive:${archive}:src`);
    const gz = path.join(work, 'image.oci.tar.gz');
    await gzipFile(archive, gz);
    for (const file of [archive, gz]) {
      const { digest, raw, pulled } = await publish(file, undefined);
      expect(digest).toBe(source.root.digest);
      expect(sha256(raw)).toBe(source.root.digest);
      expect(pulled.root.digest).toBe(source.root.digest);
      expect(blobDigests(pulled)).toEqual(blobDigests(source));
    }
  });

  test('docker-save archive (legacy format, written by skopeo): layers gzip-compressed, diff_ids kept', async () => {
    const archive = path.join(bucket.dir, 'image.docker.tar');
    await skopeoCopy(`oci:${layout}:src`, `docker-archive:${archive}:acme/formats:src`);
    const { digest, raw, pulled } = await publish(archive, undefined);
    expect(sha256(raw)).toBe(digest);
    expect(JSON.parse(raw.toString()).layers.map((l: any) => l.mediaType)).toEqual(Array(3).fill('application/vnd.docker.image.rootfs.diff.tar.gzip'));
    const manifest = pulled.root.json as OciManifestJson;
    const config = JSON.parse(fs.readFileSync(pulled.blobs.find((b) => b.digest === manifest.config.digest)!.path, 'utf8'));
    const layers = manifest.layers.map((l) => gunzipSync(fs.readFileSync(pulled.blobs.find((b) => b.digest === l.digest)!.path)));
    expect(layers.map((l) => sha256(l))).toEqual(config.rootfs.diff_ids);
    // The source's layers, decompressed, are the same tars.
    const sourceLayers = (source.root.json as OciManifestJson).layers
      .map((l) => sha256(gunzipSync(fs.readFileSync(source.blobs.find((b) => b.digest === l.digest)!.path))));
    expect(config.rootfs.diff_ids).toEqual(sourceLayers);
  });
});

test('a multi-platform index with a build attestation arrives whole: every child, the attestation too', async () => {
  const dir = path.join(makeTempDir('formats-attested-'), 'layout');
  await buildMultiPlatformLayout(dir, { tag: 'multi', files: { 'hello.txt': 'hello\n' } });
  const attested = addAttestationManifest(dir, 'multi');
  const { digest, raw, pulled } = await publish(dir, 'multi', ['--all']);
  expect(digest).toBe(attested.root.digest);
  expect(raw.equals(attested.root.bytes)).toBe(true);
  expect(pulled.manifests.map((m) => m.digest).sort()).toEqual(attested.manifests.map((m) => m.digest).sort());
  expect(blobDigests(pulled)).toEqual(blobDigests(attested));
});
