import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { BatchCheckLayerAvailabilityCommand, ECRPUBLICClient } from '@aws-sdk/client-ecr-public';
import { count, createRepository, diffId, findImage, imageProps, readConfig, spyOnClients, stage, summaries, TYPE, useAssetBucket, writeImage } from './support';
import { handler } from '../../lambda/image-publisher';
import { ImageProperties } from '../../src/shared/publish-plan';
import { uniqueName } from '../support/ecr-fixtures';
import { primaryRegistryAlias } from '../support/emulator-harness';
import { createEvent, Handler, invokeOk, useHandlerHarness } from '../support/handler-harness';
import { OciLayoutImage, OciManifestJson, readOciLayout, sha256File } from '../support/oci-layout';
import { skopeoCopy } from '../support/skopeo';
import { makeTempDir } from '../support/temp-dirs';
import { buildImage, buildMultiPlatformLayout } from '../support/umoci-images';

const h = useHandlerHarness();
const ASSET = path.resolve(__dirname, '../../assets/image-publisher/index.js');
const bucket = useAssetBucket(h);

describe('Custom::EcrPublicImage publish', () => {
  beforeEach(() => {
    h.logs.length = 0;
  });

  test('publishes a one-layer image with its tag and returns its digest and URI', async () => {
    const layout = path.join(makeTempDir('one-layer-'), 'layout');
    await buildImage(layout, { tag: 'v1', files: { 'hello.txt': 'hello\n' } });
    const staged = await stage(bucket.dir, layout, 'v1');
    const repo = uniqueName('one-layer');
    await createRepository(h.client, repo);
    const sent = spyOnClients(h);

    const res = await invokeOk(h, handler, createEvent<ImageProperties>(h, TYPE, imageProps(staged, repo, { Tags: ['v1', 'latest'] })));

    const digest = staged.plan.rootDigest;
    expect(res.PhysicalResourceId).toBe(`${repo}@${digest}`);
    const alias = await primaryRegistryAlias(h.client);
    expect(res.Data).toEqual({ ImageDigest: digest, ImageUri: `${h.emu.host}/${alias}/${repo}@${digest}`, SourceDigest: digest });
    expect((await findImage(h.client, repo, 'v1'))?.imageDigest).toBe(digest);
    expect((await findImage(h.client, repo, 'latest'))?.imageDigest).toBe(digest);
    // Config and layer, each read with exactly its own byte range.
    expect(count(sent.ecr, 'CompleteLayerUpload')).toBe(2);
    expect(sent.s3Ranges.sort()).toEqual(staged.plan.blobs.map((b) => `bytes=${b.offset}-${b.offset + b.size - 1}`).sort());
    // PutImage always names the media type and the digest.
    for (const put of sent.ecr.filter((c) => c.name === 'PutImage')) {
      expect(put.input).toMatchObject({ imageManifestMediaType: 'application/vnd.oci.image.manifest.v1+json', imageDigest: digest });
    }
    expect(summaries(h).at(-1)).toMatchObject({ blobsUploaded: 2, blobsSkipped: 0, outcome: 'PUBLISHED' });
  });

  test('a 25 MiB layer goes up in 10 MiB parts, read from S3 in one ranged stream, and its digest matches', async () => {
    const layout = path.join(makeTempDir('big-layer-'), 'layout');
    const big = randomBytes(25 * 1024 * 1024);
    await buildImage(layout, { tag: 'big', files: { 'random.bin': big, 'small.txt': 'small\n' }, layers: 2 });
    const staged = await stage(bucket.dir, layout, 'big');
    const layer = staged.plan.blobs.reduce((a, b) => (b.size > a.size ? b : a));
    expect(layer.size).toBeGreaterThan(25 * 1024 * 1024);
    const repo = uniqueName('big-layer');
    await createRepository(h.client, repo);
    const sent = spyOnClients(h);

    await invokeOk(h, handler, createEvent<ImageProperties>(h, TYPE, imageProps(staged, repo)));

    const parts = sent.ecr.filter((c) => c.name === 'UploadLayerPart');
    const byUpload = new Map<string, typeof parts>();
    for (const p of parts) byUpload.set(p.input.uploadId, [...(byUpload.get(p.input.uploadId) ?? []), p]);
    const partsOfBig = [...byUpload.values()].find((list) => list.length > 1) ?? [];
    expect(partsOfBig.map((p) => [p.input.partFirstByte, p.input.partLastByte])).toEqual([
      [0, 10 * 1024 * 1024 - 1],
      [10 * 1024 * 1024, 20 * 1024 * 1024 - 1],
      [20 * 1024 * 1024, layer.size - 1],
    ]);
    // Two more blobs (the config and the small layer) of one part each.
    expect([...byUpload.values()].map((list) => list.length).sort()).toEqual([1, 1, 3]);
    expect(summaries(h).at(-1)).toMatchObject({ partsUploaded: 5, blobsUploaded: 3 });
    // One ranged GetObject per blob: the big layer is streamed, not fetched part by part.
    expect(sent.s3Ranges).toHaveLength(3);
    expect(sent.s3Ranges).toContain(`bytes=${layer.offset}-${layer.offset + layer.size - 1}`);
    expect((await findImage(h.client, repo, 'latest'))?.imageDigest).toBe(staged.plan.rootDigest);
    // Progress was logged at every tenth of the big layer.
    const progress = h.logs.map((l) => JSON.parse(l)).filter((e) => e.blob === layer.digest && e.event === 'progress');
    expect(progress.length).toBeGreaterThanOrEqual(2);
  });

  test('a multi-layer image pulled back with skopeo has the same manifest digest and blobs', async () => {
    const layout = path.join(makeTempDir('multi-layer-'), 'layout');
    const source = await buildImage(layout, {
      tag: 'multi', layers: 4, files: { 'a.txt': 'a\n', 'b.txt': 'b\n', 'c.bin': randomBytes(200_000), 'd.txt': 'd\n' },
    });
    expect(source.blobs).toHaveLength(5);
    const staged = await stage(bucket.dir, layout, 'multi');
    const repo = uniqueName('multi-layer');
    await createRepository(h.client, repo);

    await invokeOk(h, handler, createEvent<ImageProperties>(h, TYPE, imageProps(staged, repo, { Tags: ['multi'] })));

    const pulled = await pullWithSkopeo(repo, 'multi');
    expect(pulled.root.digest).toBe(source.root.digest);
    expect(pulled.blobs.map((b) => b.digest)).toEqual(source.blobs.map((b) => b.digest));
    for (const blob of pulled.blobs) expect(await sha256File(blob.path)).toBe(blob.digest);
    expect(summaries(h).at(-1)).toMatchObject({ blobsUploaded: 5, blobsSkipped: 0 });
  });

  test('a two-platform index: children untagged first, then the index with the tag; skopeo --all gets it all back', async () => {
    const layout = path.join(makeTempDir('index-'), 'layout');
    const source = await buildMultiPlatformLayout(layout, { tag: 'multi-arch', files: { 'app.txt': 'app\n' } });
    const staged = await stage(bucket.dir, layout, 'multi-arch');
    expect(staged.plan.manifests).toHaveLength(3);
    const repo = uniqueName('index');
    await createRepository(h.client, repo);
    const sent = spyOnClients(h);

    const res = await invokeOk(h, handler, createEvent<ImageProperties>(h, TYPE, imageProps(staged, repo, { Tags: ['multi-arch'] })));

    expect(res.Data?.ImageDigest).toBe(source.root.digest);
    const puts = sent.ecr.filter((c) => c.name === 'PutImage').map((c) => [c.input.imageDigest, c.input.imageTag]);
    expect(puts).toEqual([
      [source.manifests[0].digest, undefined],
      [source.manifests[1].digest, undefined],
      [source.root.digest, 'multi-arch'],
    ]);
    // Every PutImage came after the last blob upload.
    const lastComplete = sent.ecr.map((c) => c.name).lastIndexOf('CompleteLayerUpload');
    expect(sent.ecr.findIndex((c) => c.name === 'PutImage')).toBeGreaterThan(lastComplete);

    const pulled = await pullWithSkopeo(repo, 'multi-arch', ['--all']);
    expect(pulled.root.digest).toBe(source.root.digest);
    expect(pulled.manifests.map((m) => m.digest)).toEqual(source.manifests.map((m) => m.digest));
    expect(pulled.blobs.map((b) => b.digest).sort()).toEqual(source.blobs.map((b) => b.digest).sort());
    const child = await findImage(h.client, repo, source.manifests[0].digest);
    expect(child?.imageDigest).toBe(source.manifests[0].digest);
    expect(child?.imageTags).toBeUndefined();
  });

  test('publishing the same image again uploads nothing; a second image sharing layers uploads only its new ones', async () => {
    const layout = path.join(makeTempDir('shared-'), 'layout');
    const base = { 'base-1.bin': randomBytes(50_000), 'base-2.bin': randomBytes(50_000) };
    const first = await buildImage(layout, { tag: 'one', layers: 2, files: base });
    const stagedOne = await stage(bucket.dir, layout, 'one');
    const repo = uniqueName('shared');
    await createRepository(h.client, repo);
    await invokeOk(h, handler, createEvent<ImageProperties>(h, TYPE, imageProps(stagedOne, repo, { Tags: ['one'] })));

    let sent = spyOnClients(h);
    await invokeOk(h, handler, createEvent<ImageProperties>(h, TYPE, imageProps(stagedOne, repo, { Tags: ['one'] })));
    expect(count(sent.ecr, 'UploadLayerPart')).toBe(0);
    expect(count(sent.ecr, 'InitiateLayerUpload')).toBe(0);
    expect(sent.s3Ranges).toEqual([]);
    expect(summaries(h).at(-1)).toMatchObject({ blobsUploaded: 0, blobsSkipped: first.blobs.length, bytesUploaded: 0 });
    sent.restore();

    // The same two layers, plus a third one on top (taken from another image).
    const extra = await buildImage(layout, { tag: 'extra', files: { 'top.bin': randomBytes(30_000) } });
    const extraLayer = (extra.root.json as OciManifestJson).layers[0];
    const config = readConfig(first);
    writeImage(layout, 'two', { ...config, rootfs: { type: 'layers', diff_ids: [...config.rootfs.diff_ids, diffId(extra.blobs.find((b) => b.digest === extraLayer.digest)!.path)] } },
      [...(first.root.json as OciManifestJson).layers, extraLayer]);
    const second = readOciLayout(layout, 'two');
    const shared = second.blobs.filter((b) => first.blobs.some((f) => f.digest === b.digest));
    const fresh = second.blobs.filter((b) => !shared.includes(b));
    expect(shared).toHaveLength(2);
    expect(fresh).toHaveLength(2); // the new config and the new layer
    const stagedTwo = await stage(bucket.dir, layout, 'two');
    sent = spyOnClients(h);
    await invokeOk(h, handler, createEvent<ImageProperties>(h, TYPE, imageProps(stagedTwo, repo, { Tags: ['two'] })));
    const completed = sent.ecr.filter((c) => c.name === 'CompleteLayerUpload').map((c) => c.input.layerDigests[0]);
    expect(completed.sort()).toEqual(fresh.map((b) => b.digest).sort());
    expect(summaries(h).at(-1)).toMatchObject({ blobsUploaded: fresh.length, blobsSkipped: shared.length });
  });

  test('absent blobs reported as MissingLayerDigest failures (not UNAVAILABLE entries) are uploaded too', async () => {
    const layout = path.join(makeTempDir('missing-'), 'layout');
    await buildImage(layout, { tag: 'm', files: { 'm.txt': 'missing layer digest\n' } });
    const staged = await stage(bucket.dir, layout, 'm');
    const repo = uniqueName('missing');
    await createRepository(h.client, repo);
    const send = ECRPUBLICClient.prototype.send;
    // Answer like the third-party emulators do: no entry in `layers`, a failure instead.
    jest.spyOn(ECRPUBLICClient.prototype, 'send').mockImplementation(async function (this: ECRPUBLICClient, command: any, ...rest: any[]) {
      const out = await (send as any).call(this, command, ...rest);
      if (!(command instanceof BatchCheckLayerAvailabilityCommand)) return out;
      const absent = (out.layers ?? []).filter((l: any) => l.layerAvailability === 'UNAVAILABLE');
      return {
        ...out,
        layers: (out.layers ?? []).filter((l: any) => l.layerAvailability !== 'UNAVAILABLE'),
        failures: absent.map((l: any) => ({ layerDigest: l.layerDigest, failureCode: 'MissingLayerDigest', failureReason: 'not found' })),
      };
    } as any);

    await invokeOk(h, handler, createEvent<ImageProperties>(h, TYPE, imageProps(staged, repo)));
    expect(summaries(h).at(-1)).toMatchObject({ blobsUploaded: 2, blobsSkipped: 0 });
    expect((await findImage(h.client, repo, 'latest'))?.imageDigest).toBe(staged.plan.rootDigest);
  });

  test('the bundled asset (assets/image-publisher/index.js, with its own SDK copy) publishes an image too', async () => {
    if (!fs.existsSync(ASSET)) throw new Error(`${ASSET} is missing: run \`npx projen bundle\` before this test`);
    // The asset is plain CommonJS outside the TypeScript build, so it can only be required.
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const bundled = (require(ASSET) as { handler: Handler<ImageProperties> }).handler;
    const layout = path.join(makeTempDir('bundled-'), 'layout');
    await buildImage(layout, { tag: 'b', files: { 'bundled.txt': 'esbuild\n', 'r.bin': randomBytes(12 * 1024 * 1024) } });
    const staged = await stage(bucket.dir, layout, 'b');
    const repo = uniqueName('bundled');
    await createRepository(h.client, repo);
    const res = await invokeOk(h, bundled, createEvent<ImageProperties>(h, TYPE, imageProps(staged, repo, { Tags: ['b'], CompressLayers: 'true' })));
    expect(res.Data?.ImageDigest).toBe(staged.plan.rootDigest);
    expect((await findImage(h.client, repo, 'b'))?.imageDigest).toBe(staged.plan.rootDigest);
    expect(summaries(h).at(-1)).toMatchObject({ blobsUploaded: 2, partsUploaded: 3 });
  });
});

/** `skopeo copy docker://<emulator>/<alias>/<repo>:<tag> oci:<dir>:<tag>`, read back. */
async function pullWithSkopeo(repo: string, tag: string, extra: string[] = []): Promise<OciLayoutImage> {
  const alias = await primaryRegistryAlias(h.client);
  const dir = path.join(makeTempDir('pulled-'), 'oci');
  await skopeoCopy(`docker://${h.emu.host}/${alias}/${repo}:${tag}`, `oci:${dir}:${tag}`, extra);
  return readOciLayout(dir, tag);
}
