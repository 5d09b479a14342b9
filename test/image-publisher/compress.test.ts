import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Readable } from 'node:stream';
import { gunzipSync, gzipSync } from 'node:zlib';
import { count, createRepository, findImage, imageProps, readConfig, spyOnClients, stage, Staged, summaries, TYPE, useAssetBucket, writeImage, writeLayer } from './support';
import { handler } from '../../lambda/image-publisher';
import { uploadLayerToEcrPublic } from '../../lambda/image-publisher/blob-uploader';
import { putManifest } from '../../lambda/image-publisher/manifest-push';
import { rewriteManifests } from '../../lambda/image-publisher/manifest-rewrite';
import { sha256 } from '../../src/private/oci/digest';
import { OCI_INDEX, OCI_MANIFEST } from '../../src/private/oci/media-types';
import { ImageProperties } from '../../src/private/publish-plan';
import { createEvent, deleteEvent, invokeOk, tempDir, uniqueName, updateEvent, useHandlerHarness } from '../lambda/support';
import { primaryRegistryAlias } from '../support/emulator-harness';
import { indexJsonText, LayoutDescriptor, OciLayoutImage, OciManifestJson, readOciLayout, writeBlob } from '../support/oci-layout';
import { skopeoCopy } from '../support/skopeo';
import { buildImage } from '../support/umoci-images';

const h = useHandlerHarness();
const bucket = useAssetBucket(h);
const OCI_TAR = 'application/vnd.oci.image.layer.v1.tar';
const OCI_TAR_GZIP = 'application/vnd.oci.image.layer.v1.tar+gzip';

/** Runs `fn` with the system's temporary directory (the handler's scratch space) at `dir`. */
async function withTmpdir<T>(dir: string, fn: () => Promise<T>): Promise<T> {
  const saved = process.env.TMPDIR;
  process.env.TMPDIR = dir;
  try {
    return await fn();
  } finally {
    if (saved === undefined) delete process.env.TMPDIR;
    else process.env.TMPDIR = saved;
  }
}

/** The layers of `image` (gzip blobs), decompressed. */
function gunzippedLayers(image: OciLayoutImage): Buffer[] {
  return (image.root.json as OciManifestJson).layers.map((l) => gunzipSync(fs.readFileSync(image.blobs.find((b) => b.digest === l.digest)!.path)));
}

/** An image as Docker 25's `docker save` writes it: uncompressed `application/vnd.oci.image.layer.v1.tar` layers. */
async function uncompressedImage(): Promise<{ staged: Staged; config: any; layers: Buffer[]; configDigest: string }> {
  const layout = path.join(tempDir('uncompressed-'), 'layout');
  const built = await buildImage(layout, {
    tag: 'gz', layers: 2, files: { 'text.txt': 'compressible '.repeat(50_000), 'noise.bin': randomBytes(300_000) },
  });
  const config = readConfig(built);
  const layers = gunzippedLayers(built);
  // The config's diff_ids are the digests of the uncompressed layers: exactly the blobs of this image.
  expect(layers.map((l) => sha256(l))).toEqual(config.rootfs.diff_ids);
  const descriptors = layers.map((l) => writeLayer(layout, l, OCI_TAR));
  writeImage(layout, 'docker25', config, descriptors);
  const staged = await stage(bucket.dir, layout, 'docker25');
  const configDigest = (readOciLayout(layout, 'docker25').root.json as OciManifestJson).config.digest;
  return { staged, config, layers, configDigest };
}

describe('Custom::EcrPublicImage with CompressLayers', () => {
  beforeEach(() => {
    h.logs.length = 0;
  });

  test('uncompressed layers are published gzip-compressed, the config (and its diff_ids) unchanged, deterministically', async () => {
    const { staged, config, layers, configDigest } = await uncompressedImage();
    const repo = uniqueName('compress');
    await createRepository(h.client, repo);
    const props = imageProps(staged, repo, { CompressLayers: 'true', Tags: ['gz'] });

    const res = await invokeOk(h, handler, createEvent<ImageProperties>(h, TYPE, props));
    const digest = res.Data!.ImageDigest;
    expect(digest).not.toBe(staged.plan.rootDigest);
    expect(res.PhysicalResourceId).toBe(`${repo}@${digest}`);
    expect((await findImage(h.client, repo, 'gz'))?.imageDigest).toBe(digest);
    expect(summaries(h).at(-1)).toMatchObject({ blobsCompressed: 2, blobsUploaded: 3 });

    const alias = await primaryRegistryAlias(h.client);
    const dir = path.join(tempDir('pulled-gz-'), 'oci');
    await skopeoCopy(`docker://${h.emu.host}/${alias}/${repo}:gz`, `oci:${dir}:gz`);
    const pulled = readOciLayout(dir, 'gz');
    expect(pulled.root.digest).toBe(digest);
    const manifest = pulled.root.json as OciManifestJson;
    expect(manifest.config.digest).toBe(configDigest);
    expect(manifest.layers.map((l) => l.mediaType)).toEqual([OCI_TAR_GZIP, OCI_TAR_GZIP]);
    const unpacked = gunzippedLayers(pulled);
    expect(unpacked.map((l) => sha256(l))).toEqual(config.rootfs.diff_ids);
    expect(Buffer.compare(unpacked[0], layers[0])).toBe(0);
    // The text layer really shrank.
    const sizes = manifest.layers.map((l) => l.size);
    expect(Math.min(...sizes)).toBeLessThan(Math.min(...layers.map((l) => l.length)) / 2);

    // Again, into the same repository: the same digest, nothing uploaded, and no layer read nor compressed (the tag
    // points at this image compressed, whose layers are all in the repository).
    h.logs.length = 0;
    let sent = spyOnClients(h);
    const again = await invokeOk(h, handler, createEvent<ImageProperties>(h, TYPE, props));
    expect(again.Data!.ImageDigest).toBe(digest);
    expect(count(sent.ecr, 'UploadLayerPart')).toBe(0);
    expect(sent.s3Ranges).toEqual([]);
    expect(summaries(h).at(-1)).toMatchObject({ blobsCompressed: 0, blobsUploaded: 0 });
    sent.restore();

    // And into a fresh repository, where everything is compressed and uploaded again: still the same digest.
    const other = uniqueName('compress-again');
    await createRepository(h.client, other);
    const scratchRoot = tempDir('scratch-');
    h.logs.length = 0;
    sent = spyOnClients(h);
    const fresh = await withTmpdir(scratchRoot, () => invokeOk(h, handler, createEvent<ImageProperties>(h, TYPE, { ...props, RepositoryName: other, Concurrency: '1' })));
    expect(fresh.Data!.ImageDigest).toBe(digest);
    expect(count(sent.ecr, 'CompleteLayerUpload')).toBe(3);
    // Each compressed layer was read and compressed once (kept in the scratch space for its upload), the config once.
    expect(sent.s3Ranges).toHaveLength(2 + 1);
    sent.restore();
    // The scratch space was used, and nothing is left in it.
    expect(h.logs.filter((l) => l.includes('"kept":true'))).toHaveLength(2);
    expect(fs.readdirSync(scratchRoot)).toEqual([]);
    h.logs.length = 0;

    // Without a scratch space, each compressed layer is read and compressed twice (measure, then upload): same digest.
    const third = uniqueName('compress-twice');
    await createRepository(h.client, third);
    sent = spyOnClients(h);
    const twice = await withTmpdir(path.join(scratchRoot, 'missing'), () => invokeOk(h, handler, createEvent<ImageProperties>(h, TYPE, { ...props, RepositoryName: third, Concurrency: '1' })));
    expect(twice.Data!.ImageDigest).toBe(digest);
    expect(count(sent.ecr, 'CompleteLayerUpload')).toBe(3);
    expect(sent.s3Ranges).toHaveLength(2 * 2 + 1);
    expect(h.logs.some((l) => l.includes('"scratch":"unavailable'))).toBe(true);
    sent.restore();
    expect(h.logs.some((l) => l.includes('"scratch":"unavailable'))).toBe(true);
  });

  test('a tag on another image, or on this image uncompressed, gives no compressed layers: they are compressed', async () => {
    const first = await uncompressedImage();
    const second = await uncompressedImage();
    const repo = uniqueName('compress-moved');
    await createRepository(h.client, repo);

    // The tag on this image published as it is: its layers are not compressed ones, so they are compressed.
    const plain = await invokeOk(h, handler, createEvent<ImageProperties>(h, TYPE, imageProps(first.staged, repo, { CompressLayers: 'false', Tags: ['t'] })));
    expect(plain.Data!.ImageDigest).toBe(first.staged.plan.rootDigest);
    h.logs.length = 0;
    const compressed = await invokeOk(h, handler, createEvent<ImageProperties>(h, TYPE, imageProps(first.staged, repo, { CompressLayers: 'true', Tags: ['t'] })));
    expect(compressed.Data!.ImageDigest).not.toBe(first.staged.plan.rootDigest);
    expect(summaries(h).at(-1)).toMatchObject({ blobsCompressed: 2, blobsUploaded: 2 });

    // The tag on the first image compressed, and another image published with it: each of its layers is compressed,
    // its config and its new layers uploaded (a layer of the same files may be the first image's), and the pulled
    // image is the second one.
    h.logs.length = 0;
    const moved = await invokeOk(h, handler, createEvent<ImageProperties>(h, TYPE, imageProps(second.staged, repo, { CompressLayers: 'true', Tags: ['t'] })));
    expect(moved.Data!.ImageDigest).not.toBe(compressed.Data!.ImageDigest);
    expect(summaries(h).at(-1)).toMatchObject({ blobsCompressed: 2 });
    expect(summaries(h).at(-1)!.blobsUploaded).toBeGreaterThanOrEqual(2);
    const alias = await primaryRegistryAlias(h.client);
    const dir = path.join(tempDir('pulled-moved-'), 'oci');
    await skopeoCopy(`docker://${h.emu.host}/${alias}/${repo}:t`, `oci:${dir}:t`);
    const pulled = readOciLayout(dir, 't');
    expect(pulled.root.digest).toBe(moved.Data!.ImageDigest);
    expect((pulled.root.json as OciManifestJson).config.digest).toBe(second.configDigest);
    expect(gunzippedLayers(pulled).map((l) => sha256(l))).toEqual(second.config.rootfs.diff_ids);

    // Published again with a tag added in front: the tag that points at it is found, and nothing is compressed.
    h.logs.length = 0;
    const retagged = await invokeOk(h, handler, createEvent<ImageProperties>(h, TYPE, imageProps(second.staged, repo, { CompressLayers: 'true', Tags: ['new', 't'] })));
    expect(retagged.Data!.ImageDigest).toBe(moved.Data!.ImageDigest);
    expect(summaries(h).at(-1)).toMatchObject({ blobsCompressed: 0, blobsUploaded: 0, tagsPut: 1 });
  });

  test('without CompressLayers the uncompressed layers are published as they are', async () => {
    const { staged } = await uncompressedImage();
    const repo = uniqueName('no-compress');
    await createRepository(h.client, repo);
    const res = await invokeOk(h, handler, createEvent<ImageProperties>(h, TYPE, imageProps(staged, repo, { CompressLayers: 'false' })));
    expect(res.Data!.ImageDigest).toBe(staged.plan.rootDigest);
    expect(summaries(h).at(-1)).toMatchObject({ blobsCompressed: 0, blobsUploaded: 3 });
  });

  test('a two-platform index of uncompressed images: children rewritten, the index follows; Delete finds the children', async () => {
    const layout = path.join(tempDir('uncompressed-index-'), 'layout');
    const children: LayoutDescriptor[] = [];
    for (const architecture of ['amd64', 'arm64']) {
      const built = await buildImage(layout, { tag: architecture, architecture, files: { 'arch': `${architecture}\n`, 'n.bin': randomBytes(50_000) } });
      const layers = gunzippedLayers(built).map((l) => writeLayer(layout, l, OCI_TAR));
      const digest = writeImage(layout, `${architecture}-tar`, readConfig(built), layers);
      children.push({ mediaType: OCI_MANIFEST, digest, size: fs.statSync(path.join(layout, 'blobs', 'sha256', digest.slice(7))).size, platform: { architecture, os: 'linux' } });
    }
    const index = writeBlob(layout, Buffer.from(indexJsonText(children)));
    const indexFile = path.join(layout, 'index.json');
    const top = JSON.parse(fs.readFileSync(indexFile, 'utf8'));
    top.manifests.push({ mediaType: OCI_INDEX, ...index, annotations: { 'org.opencontainers.image.ref.name': 'both' } });
    fs.writeFileSync(indexFile, JSON.stringify(top));
    const staged = await stage(bucket.dir, layout, 'both');
    expect(staged.plan.manifests).toHaveLength(3);

    const repo = uniqueName('compress-index');
    await createRepository(h.client, repo);
    const props = imageProps(staged, repo, { CompressLayers: 'true', Tags: ['both'], DeleteOnRemove: 'true' });
    const res = await invokeOk(h, handler, createEvent<ImageProperties>(h, TYPE, props));
    const digest = res.Data!.ImageDigest;
    expect(digest).not.toBe(staged.plan.rootDigest);

    const alias = await primaryRegistryAlias(h.client);
    const dir = path.join(tempDir('pulled-index-'), 'oci');
    await skopeoCopy(`docker://${h.emu.host}/${alias}/${repo}:both`, `oci:${dir}:both`, ['--all']);
    const pulled = readOciLayout(dir, 'both');
    expect(pulled.root.digest).toBe(digest);
    expect(pulled.images).toHaveLength(2);
    for (const image of pulled.images) {
      expect(children.map((c) => c.digest)).not.toContain(image.digest);
      expect((image.json as OciManifestJson).layers.every((l) => l.mediaType === OCI_TAR_GZIP)).toBe(true);
    }
    const platforms = (pulled.root.json as { manifests: LayoutDescriptor[] }).manifests.map((m) => m.platform?.architecture);
    expect(platforms).toEqual(['amd64', 'arm64']);

    await invokeOk(h, handler, deleteEvent<ImageProperties>(h, TYPE, res.PhysicalResourceId, props));
    expect(await findImage(h.client, repo, digest)).toBeUndefined();
    for (const image of pulled.images) expect(await findImage(h.client, repo, image.digest)).toBeUndefined();
  });
});

/** The owner's image, and the digests of the owner's manifest and of the one a tag was moved to. */
interface Swapped {
  readonly repo: string;
  readonly props: ImageProperties;
  readonly owner: string;
  readonly swapped: string;
  readonly image: Awaited<ReturnType<typeof uncompressedImage>>;
}

describe('compressed layers found in the repository are adopted only when provably this image\'s', () => {
  beforeEach(() => {
    h.logs.length = 0;
  });

  /**
   * The owner publishes an uncompressed image compressed, tagged `v1`. Then somebody else with push rights reads that
   * manifest, uploads a blob of their own (`swap`, made from the first layer's bytes) and moves `v1` to the manifest
   * the owner's plan gives when its first layer is swapped for that blob: exactly the shape the owner would publish.
   */
  async function ownerThenSwap(swap: (layer: Buffer) => Buffer): Promise<Swapped> {
    const image = await uncompressedImage();
    const repo = uniqueName('adopt');
    await createRepository(h.client, repo);
    const props = imageProps(image.staged, repo, { CompressLayers: 'true', Tags: ['v1'] });
    const owner = (await invokeOk(h, handler, createEvent<ImageProperties>(h, TYPE, props))).Data!.ImageDigest;

    const alias = await primaryRegistryAlias(h.client);
    const dir = path.join(tempDir('adopt-pulled-'), 'oci');
    await skopeoCopy(`docker://${h.emu.host}/${alias}/${repo}:v1`, `oci:${dir}:v1`);
    const published = readOciLayout(dir, 'v1').root.json as OciManifestJson;
    const planLayers = (JSON.parse(image.staged.plan.manifests[0].manifest) as OciManifestJson).layers;
    const blob = swap(image.layers[0]);
    const theirs = { digest: sha256(blob), size: blob.length };
    await uploadLayerToEcrPublic(h.client, repo, { ...theirs, open: () => Readable.from([blob]), verify: () => undefined });
    const ownSecond = { digest: published.layers[1].digest, size: published.layers[1].size };
    const replacements = new Map([[planLayers[0].digest, theirs], [planLayers[1].digest, ownSecond]]);
    const swapped = rewriteManifests(image.staged.plan.manifests, replacements)[0];
    await putManifest(h.client, repo, swapped, 'v1');
    expect((await findImage(h.client, repo, 'v1'))?.imageDigest).toBe(swapped.digest);
    expect(swapped.digest).not.toBe(owner);
    h.logs.length = 0;
    return { repo, props, owner, swapped: swapped.digest, image };
  }

  test.each([
    ['the gzip of other bytes', (layer: Buffer) => gzipSync(Buffer.concat([layer.subarray(0, layer.length - 512), Buffer.alloc(512, 7)]))],
    ['the gzip of this layer with bytes after it', (layer: Buffer) => Buffer.concat([gzipSync(layer), Buffer.alloc(64)])],
    ['the gzip of this layer and more', (layer: Buffer) => gzipSync(Buffer.concat([layer, Buffer.alloc(4 * 1024 * 1024)]))],
    ['not a gzip at all', (layer: Buffer) => Buffer.concat([layer, Buffer.from('x')])],
  ])('a tag moved to the owner\'s manifest with %s in place of a layer: a Create compresses again and publishes the owner\'s image', async (_what, swap) => {
    const { repo, props, owner, swapped, image } = await ownerThenSwap(swap);
    // A new resource publishing the same image (a Create: no physical id to trust) finds the moved tag.
    const res = await invokeOk(h, handler, createEvent<ImageProperties>(h, TYPE, props));
    expect(res.Data!.ImageDigest).toBe(owner);
    expect((await findImage(h.client, repo, 'v1'))?.imageDigest).toBe(owner);
    expect(summaries(h).at(-1)).toMatchObject({ blobsCompressed: 2 });
    expect(h.logs.some((l) => l.includes('"refused"') && l.includes(swapped))).toBe(true);

    // What consumers pull is the owner's image: its layers gunzip to the config's diff_ids.
    const alias = await primaryRegistryAlias(h.client);
    const dir = path.join(tempDir('adopt-after-'), 'oci');
    await skopeoCopy(`docker://${h.emu.host}/${alias}/${repo}:v1`, `oci:${dir}:v1`);
    const pulled = readOciLayout(dir, 'v1');
    expect(pulled.root.digest).toBe(owner);
    expect(gunzippedLayers(pulled).map((l) => sha256(l))).toEqual(image.config.rootfs.diff_ids);
  });

  test('an Update takes the manifest its physical id records, not the one a tag points at, and compresses nothing', async () => {
    const { repo, props, owner, swapped } = await ownerThenSwap((layer) => gzipSync(Buffer.concat([layer, Buffer.from('!')])));
    const sent = spyOnClients(h);
    const next = { ...props, Tags: ['v1', 'v2'] };
    const res = await invokeOk(h, handler, updateEvent<ImageProperties>(h, TYPE, `${repo}@${owner}`, next, props));
    sent.restore();
    expect(res.Data!.ImageDigest).toBe(owner);
    expect(res.PhysicalResourceId).toBe(`${repo}@${owner}`);
    expect(summaries(h).at(-1)).toMatchObject({ blobsCompressed: 0, blobsUploaded: 0 });
    expect(count(sent.ecr, 'UploadLayerPart')).toBe(0);
    expect(sent.s3Ranges).toEqual([]);
    expect(h.logs.some((l) => l.includes('"provenance":"this resource"'))).toBe(true);
    for (const tag of ['v1', 'v2']) expect((await findImage(h.client, repo, tag))?.imageDigest).toBe(owner);
    expect((await findImage(h.client, repo, swapped))?.imageTags ?? []).toEqual([]);
  });

  test('a layer that is this layer gzipped otherwise is read back, checked and adopted: the image pulled is whole', async () => {
    const { repo, props, swapped, image } = await ownerThenSwap((layer) => gzipSync(layer, { level: 9 }));
    const sent = spyOnClients(h);
    const res = await invokeOk(h, handler, createEvent<ImageProperties>(h, TYPE, props));
    sent.restore();
    expect(res.Data!.ImageDigest).toBe(swapped);
    expect(summaries(h).at(-1)).toMatchObject({ blobsCompressed: 0, blobsUploaded: 0 });
    expect(sent.s3Ranges).toEqual([]);
    expect(h.logs.some((l) => l.includes('"provenance":"checked"'))).toBe(true);
    const alias = await primaryRegistryAlias(h.client);
    const dir = path.join(tempDir('adopt-checked-'), 'oci');
    await skopeoCopy(`docker://${h.emu.host}/${alias}/${repo}:v1`, `oci:${dir}:v1`);
    expect(gunzippedLayers(readOciLayout(dir, 'v1')).map((l) => sha256(l))).toEqual(image.config.rootfs.diff_ids);
  });
});
