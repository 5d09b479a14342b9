import { randomBytes } from 'node:crypto';
import * as path from 'node:path';
import { PassThrough, Readable } from 'node:stream';
import { ECRPUBLICClient, UploadLayerPartCommand } from '@aws-sdk/client-ecr-public';
import { GetObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { createRepository, imageProps, spyOnClients, stage, summaries, TYPE, useAssetBucket } from './support';
import { handler } from '../../lambda/image-publisher';
import { uploadLayerToEcrPublic } from '../../lambda/image-publisher/blob-uploader';
import { BodyPool } from '../../lambda/image-publisher/body-pool';
import { sha256 } from '../../src/shared/oci/digest';
import { ImageProperties } from '../../src/shared/publish-plan';
import { uniqueName } from '../support/ecr-fixtures';
import { primaryRegistryAlias } from '../support/emulator-harness';
import { createEvent, invokeOk, useHandlerHarness } from '../support/handler-harness';
import { OciLayoutImage, readOciLayout, sha256File } from '../support/oci-layout';
import { skopeoCopy } from '../support/skopeo';
import { makeTempDir } from '../support/temp-dirs';
import { buildImage } from '../support/umoci-images';

const h = useHandlerHarness();
const bucket = useAssetBucket(h);
const MiB = 1024 * 1024;

async function pullAndCompare(repo: string, tag: string, source: OciLayoutImage): Promise<void> {
  const alias = await primaryRegistryAlias(h.client);
  const dir = path.join(makeTempDir('pulled-'), 'oci');
  await skopeoCopy(`docker://${h.emu.host}/${alias}/${repo}:${tag}`, `oci:${dir}:${tag}`);
  const pulled = readOciLayout(dir, tag);
  expect(pulled.root.digest).toBe(source.root.digest);
  expect(pulled.blobs.map((b) => b.digest)).toEqual(source.blobs.map((b) => b.digest));
  for (const blob of pulled.blobs) expect(await sha256File(blob.path)).toBe(blob.digest);
}

describe('Custom::EcrPublicImage under faults', () => {
  afterEach(() => h.emu.setFaults({}));

  test('throttling, server errors and dropped connections are ridden out; the image arrives intact', async () => {
    const layout = path.join(makeTempDir('faults-'), 'layout');
    const source = await buildImage(layout, {
      tag: 'f', layers: 4, files: { 'big.bin': randomBytes(22 * MiB), 'a.bin': randomBytes(1000), 'b.bin': randomBytes(1000), 'c.bin': randomBytes(1000) },
    });
    const staged = await stage(bucket.dir, layout, 'f');
    const repo = uniqueName('faults');
    await createRepository(h.client, repo);
    const sent = spyOnClients(h);

    // One blob at a time, so that the requests, and so the faults each one meets, come in the same order every run.
    // Seed 8 drops, among others, a connection after the registry took a part: the upload goes on past it. (The seed
    // depends on the order of the calls: the hand-over guard's two calls come first.)
    h.emu.setFaults({ throttleRate: 0.1, serverErrorRate: 0.05, dropRate: 0.02, seed: 8 });
    await invokeOk(h, handler, createEvent<ImageProperties>(h, TYPE, imageProps(staged, repo, { Tags: ['f'], Concurrency: '1' })));
    h.emu.setFaults({});

    // Faults were met (and retried by the SDK), else this test would prove nothing.
    const retried = sent.ecr.filter((c) => (c.attempts ?? 1) > 1);
    expect(retried.length).toBeGreaterThan(0);
    expect(summaries(h).at(-1)?.partsResumed).toBeGreaterThanOrEqual(1);
    await pullAndCompare(repo, 'f', source);
  });

  test('a part whose answer was lost and that was sent again is taken as received (InvalidLayerPartException)', async () => {
    const layout = path.join(makeTempDir('lost-part-'), 'layout');
    const source = await buildImage(layout, { tag: 'lost', files: { 'big.bin': randomBytes(25 * MiB) } });
    const staged = await stage(bucket.dir, layout, 'lost');
    const repo = uniqueName('lost-part');
    await createRepository(h.client, repo);
    // Behave like the SDK after a connection dropped once the registry had the part: send the big layer's second
    // part twice.
    const send = ECRPUBLICClient.prototype.send;
    const refusals: string[] = [];
    jest.spyOn(ECRPUBLICClient.prototype, 'send').mockImplementation(async function (this: ECRPUBLICClient, command: any, ...rest: any[]) {
      if (command instanceof UploadLayerPartCommand && command.input.partFirstByte === 10 * MiB) {
        await (send as any).call(this, command, ...rest);
        try {
          return await (send as any).call(this, command, ...rest);
        } catch (err) {
          refusals.push(`${(err as Error).name} ${(err as any).lastValidByteReceived}`);
          throw err;
        }
      }
      return (send as any).call(this, command, ...rest);
    } as any);

    await invokeOk(h, handler, createEvent<ImageProperties>(h, TYPE, imageProps(staged, repo, { Tags: ['lost'] })));

    expect(refusals).toEqual([`InvalidLayerPartException ${2 * 10 * MiB - 1}`]);
    expect(summaries(h).at(-1)).toMatchObject({ partsResumed: 1, partsUploaded: 3 + 1 });
    await pullAndCompare(repo, 'lost', source);
  });

  test('a part the registry took only the head of goes on from there, for two uploads that share two part bodies', async () => {
    const repo = uniqueName('head-only');
    await createRepository(h.client, repo);
    // Both blobs hold the same bytes where their second part starts (so the part's head is known without knowing
    // which upload sends it), and differ after.
    const common = randomBytes(20 * MiB);
    const blobs = [Buffer.concat([common, randomBytes(5 * MiB + 7)]), Buffer.concat([common, randomBytes(3 * MiB + 1)])];
    // At least 5 MiB: the registry refuses a smaller part that is not the last.
    const head = 6 * MiB + 1;
    const cut = new Set<string>();
    const send = ECRPUBLICClient.prototype.send;
    // Behave like a registry that stored only the head of each upload's second part: that head is really sent, and the
    // part is refused with where the registry stands.
    jest.spyOn(ECRPUBLICClient.prototype, 'send').mockImplementation(async function (this: ECRPUBLICClient, command: any, ...rest: any[]) {
      const input = command.input;
      if (command instanceof UploadLayerPartCommand && input.partFirstByte === 10 * MiB && !cut.has(input.uploadId!)) {
        cut.add(input.uploadId!);
        await (send as any).call(this, new UploadLayerPartCommand({
          ...input, partLastByte: 10 * MiB + head - 1, layerPartBlob: common.subarray(10 * MiB, 10 * MiB + head),
        }));
        throw Object.assign(new Error('the part was cut short'), { name: 'InvalidLayerPartException', lastValidByteReceived: 10 * MiB + head - 1 });
      }
      return (send as any).call(this, command, ...rest);
    } as any);

    const bodies = new BodyPool(2);
    const results = await Promise.all(blobs.map((blob) => uploadLayerToEcrPublic(h.client, repo, {
      digest: sha256(blob),
      size: blob.length,
      open: () => Readable.from([blob.subarray(0, 7 * MiB), blob.subarray(7 * MiB)]),
      verify: ({ digest, bytes }) => {
        if (digest !== sha256(blob) || bytes !== blob.length) throw new Error(`streamed ${bytes} bytes with digest ${digest}`);
      },
    }, { bodies })));

    expect(cut.size).toBe(2);
    // 10 MiB, the head, then the rest in parts from the byte after the head.
    expect(results.map((r) => [r.outcome, r.bytes, r.parts, r.resumed])).toEqual([
      ['uploaded', blobs[0].length, 3, 1],
      ['uploaded', blobs[1].length, 3, 1],
    ]);
  });

  test('an S3 body that breaks off mid-way is reopened from where it stopped', async () => {
    const layout = path.join(makeTempDir('s3-break-'), 'layout');
    const source = await buildImage(layout, { tag: 's3', files: { 'big.bin': randomBytes(3 * MiB) } });
    const staged = await stage(bucket.dir, layout, 's3');
    const repo = uniqueName('s3-break');
    await createRepository(h.client, repo);
    const ranges: string[] = [];
    const send = S3Client.prototype.send;
    let broken = false;
    jest.spyOn(S3Client.prototype, 'send').mockImplementation(async function (this: S3Client, command: any, ...rest: any[]) {
      const out = await (send as any).call(this, command, ...rest);
      if (!(command instanceof GetObjectCommand)) return out;
      ranges.push(command.input.Range!);
      if (broken || Number(out.ContentLength) < MiB) return out;
      // The first big body fails after about 1 MiB.
      broken = true;
      const cut = new PassThrough();
      let passed = 0;
      (out.Body as Readable).on('data', (chunk: Buffer) => {
        passed += chunk.length;
        if (passed > MiB) cut.destroy(new Error('socket hang up'));
        else cut.write(chunk);
      });
      return { ...out, Body: cut };
    } as any);

    await invokeOk(h, handler, createEvent<ImageProperties>(h, TYPE, imageProps(staged, repo, { Tags: ['s3'] })));
    expect(broken).toBe(true);
    const layer = staged.plan.blobs.reduce((a, b) => (b.size > a.size ? b : a));
    const reopened = ranges.filter((r) => r.endsWith(`-${layer.offset + layer.size - 1}`));
    expect(reopened).toHaveLength(2);
    expect(Number(/bytes=(\d+)-/.exec(reopened[1])![1])).toBeGreaterThan(layer.offset);
    await pullAndCompare(repo, 's3', source);
  });
});
