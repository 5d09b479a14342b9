/**
 * The shipped, bundled image publisher killed (SIGKILL) in the middle of a publish and run again: the second run
 * completes a correct image, and no tag ever points at an incomplete one.
 *
 * The handler runs in a child Node process and reaches the emulator through a proxy in this process. The proxy makes
 * the kill points deterministic: it holds (never forwards, never answers) the first request past the point, and the
 * child is killed while it waits for the answer. It also checks, at every PutImage that sets a tag, that everything the
 * image needs is already in the registry.
 */
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { BatchCheckLayerAvailabilityCommand } from '@aws-sdk/client-ecr-public';
import {
  ApiProxy, BUNDLED_IMAGE_PUBLISHER, describeImageRef, ensureBundledHandlers, MiB, ProxiedCall, pullAndCompare, runHandlerInChild, startApiProxy,
} from './support';
import { RESOURCE_TYPES } from '../../src/shared/handler-contract';
import { ImageProperties } from '../../src/shared/publish-plan';
import { createRepository, imageProps, stage, Staged, useAssetBucket } from '../image-publisher/support';
import { uniqueName } from '../support/ecr-fixtures';
import { createEvent, useHandlerHarness } from '../support/handler-harness';
import { OciLayoutImage } from '../support/oci-layout';
import { makeTempDir } from '../support/temp-dirs';
import { buildImage, buildMultiPlatformLayout } from '../support/umoci-images';

const h = useHandlerHarness();
const bucket = useAssetBucket(h);

let proxy: ApiProxy;
let workDir: string;
/** Every tagged PutImage that arrived while something the image needs was not in the registry. */
const violations: string[] = [];
/** Tagged PutImage requests checked that way. */
let taggedPutsChecked = 0;

beforeAll(async () => {
  await ensureBundledHandlers();
  proxy = await startApiProxy(h.emu.endpoint);
  workDir = makeTempDir('reliability-killed-');
}, 115_000);

afterAll(async () => {
  await proxy?.close();
  // The staged archives (one holds the 60 MiB layer) are in the bucket directory.
  for (const dir of [workDir, bucket.dir]) if (dir) fs.rmSync(dir, { recursive: true, force: true });
});

/** The blobs of `staged` the repository does not have. */
async function missingBlobs(repo: string, staged: Staged): Promise<string[]> {
  const digests = staged.plan.blobs.map((b) => b.digest);
  const out = await h.client.send(new BatchCheckLayerAvailabilityCommand({ repositoryName: repo, layerDigests: digests }));
  const available = new Set((out.layers ?? []).filter((l) => l.layerAvailability === 'AVAILABLE').map((l) => l.layerDigest));
  return digests.filter((d) => !available.has(d));
}

/**
 * Forwards everything but the first request `holdWhen` picks, which it holds; and before forwarding a PutImage that
 * sets a tag, records a violation if a blob or a child manifest of the image is not in the registry yet.
 */
function arm(repo: string, staged: Staged, holdWhen: (call: ProxiedCall) => boolean): void {
  let holding = false;
  proxy.decide = async (call) => {
    if (holding) return 'hold';
    if (holdWhen(call)) {
      holding = true;
      return 'hold';
    }
    if (call.operation === 'PutImage' && call.input?.imageTag !== undefined) {
      taggedPutsChecked++;
      const missing = await missingBlobs(repo, staged);
      const children = staged.plan.manifests.slice(0, -1).map((m) => m.digest);
      for (const child of children) {
        if (typeof await describeImageRef(h.client, repo, child) === 'string') missing.push(`manifest ${child}`);
      }
      if (missing.length > 0) violations.push(`tag '${call.input.imageTag}' set while missing ${missing.join(', ')}`);
    }
    return 'forward';
  };
}

/** Runs the bundled handler in a child until the proxy holds a request, then kills it; returns the held request. */
async function runAndKill(props: ImageProperties): Promise<ProxiedCall> {
  const event = createEvent<ImageProperties>(h, RESOURCE_TYPES.image, props);
  const first = proxy.calls.length;
  const run = runHandlerInChild(BUNDLED_IMAGE_PUBLISHER, event, proxy.endpoint, h.emu.endpoint);
  let ended = false;
  const endedEarly = run.exited.then((e) => {
    ended = true;
    throw new Error(`the handler ended (${JSON.stringify(e)}) before the kill point:\n${run.output()}`);
  });
  endedEarly.catch(() => undefined);
  const held = await Promise.race([waitForHold(first, () => ended), endedEarly]);
  run.child.kill('SIGKILL');
  expect(await run.exited).toEqual({ code: null, signal: 'SIGKILL' });
  proxy.releaseHeld();
  // Killed, the handler never answered CloudFormation.
  expect(h.responses.get(event.RequestId)).toBeUndefined();
  return held;
}

/** Resolves with the first held call at or after index `from` (polls until `stop()`). */
async function waitForHold(from: number, stop: () => boolean): Promise<ProxiedCall> {
  while (!stop()) {
    const held = proxy.calls.slice(from).find((c) => c.held);
    if (held) return held;
    await new Promise((r) => setTimeout(r, 20));
  }
  return new Promise<never>(() => undefined);
}

/** Runs the bundled handler in a child to the end (everything forwarded); returns the response it PUT. */
async function runToCompletion(props: ImageProperties): Promise<{ status: string; reason?: string; digest?: string; calls: ProxiedCall[] }> {
  const event = createEvent<ImageProperties>(h, RESOURCE_TYPES.image, props);
  const first = proxy.calls.length;
  const run = runHandlerInChild(BUNDLED_IMAGE_PUBLISHER, event, proxy.endpoint, h.emu.endpoint);
  const exit = await run.exited;
  expect({ exit, output: exit.code === 0 ? '' : run.output() }).toEqual({ exit: { code: 0, signal: null }, output: '' });
  const responses = h.responses.get(event.RequestId) ?? [];
  expect(responses).toHaveLength(1);
  const body = responses[0].body;
  return { status: body.Status, reason: body.Reason, digest: body.Data?.ImageDigest, calls: proxy.calls.slice(first) };
}

describe('the bundled image publisher, killed and run again', () => {
  test('killed while uploading a 60 MiB layer, then after all blobs and before any manifest: the third run completes it', async () => {
    const layout = path.join(workDir, 'big');
    const source: OciLayoutImage = await buildImage(layout, {
      tag: 'big', layers: 2, files: { 'random.bin': randomBytes(60 * MiB), 'small.txt': 'small\n' },
    });
    const staged = await stage(bucket.dir, layout, 'big');
    const big = staged.plan.blobs.reduce((a, b) => (b.size > a.size ? b : a));
    expect(big.size).toBeGreaterThan(60 * MiB);
    const repo = uniqueName('rel-killed');
    await createRepository(h.client, repo);
    const props = imageProps(staged, repo, { Tags: ['v1', 'latest'] });
    // The blob needs 7 parts of 10 MiB; the other two blobs one part each.
    const partsAnswered = (): number => proxy.answered('UploadLayerPart');

    // Kill 1: once four parts were answered (so at least two of the big layer), the next part is held.
    const start = partsAnswered();
    arm(repo, staged, (call) => call.operation === 'UploadLayerPart' && partsAnswered() - start >= 4);
    const held1 = await runAndKill(props);
    expect(held1.operation).toBe('UploadLayerPart');
    expect(partsAnswered() - start).toBeGreaterThanOrEqual(4);
    // No image, no tag; the big layer is not in the registry (its upload is unfinished).
    expect(await describeImageRef(h.client, repo, 'v1')).toBe('ImageNotFoundException');
    expect(await describeImageRef(h.client, repo, 'latest')).toBe('ImageNotFoundException');
    expect(await describeImageRef(h.client, repo, source.root.digest)).toBe('ImageNotFoundException');
    expect(await missingBlobs(repo, staged)).toContain(big.digest);

    // Kill 2: after every blob, at the first PutImage.
    arm(repo, staged, (call) => call.operation === 'PutImage');
    const held2 = await runAndKill(props);
    expect(held2.operation).toBe('PutImage');
    expect(await missingBlobs(repo, staged)).toEqual([]);
    expect(await describeImageRef(h.client, repo, 'v1')).toBe('ImageNotFoundException');
    expect(await describeImageRef(h.client, repo, source.root.digest)).toBe('ImageNotFoundException');

    // Run 3: nothing held. Every blob is there already: nothing is uploaded again.
    arm(repo, staged, () => false);
    const done = await runToCompletion(props);
    expect(done).toMatchObject({ status: 'SUCCESS', digest: source.root.digest });
    expect(done.calls.filter((c) => c.operation === 'UploadLayerPart')).toEqual([]);
    for (const tag of ['v1', 'latest']) {
      expect(await describeImageRef(h.client, repo, tag)).toMatchObject({ imageDigest: source.root.digest });
    }
    await pullAndCompare(h, repo, 'v1', source);
    // Both tags were checked on their way in, and neither arrived before the image was whole.
    expect(taggedPutsChecked).toBeGreaterThanOrEqual(2);
    expect(violations).toEqual([]);
  });

  test('a two-platform index killed after its children and before the index: the tag appears only with the whole index', async () => {
    const layout = path.join(workDir, 'index');
    const source = await buildMultiPlatformLayout(layout, { tag: 'multi', layers: 2, files: { 'data.bin': randomBytes(3 * MiB) } });
    const staged = await stage(bucket.dir, layout, 'multi');
    expect(staged.plan.manifests).toHaveLength(3);
    const repo = uniqueName('rel-killed-index');
    await createRepository(h.client, repo);
    const props = imageProps(staged, repo, { Tags: ['multi'] });

    // Kill: the PutImage of the index itself is held; both children were put before it.
    arm(repo, staged, (call) => call.operation === 'PutImage' && call.input?.imageDigest === source.root.digest);
    const held = await runAndKill(props);
    expect(held.input).toMatchObject({ imageDigest: source.root.digest, imageTag: 'multi' });
    for (const child of source.images) {
      const detail = await describeImageRef(h.client, repo, child.digest);
      expect(detail).toMatchObject({ imageDigest: child.digest });
      expect((detail as { imageTags?: string[] }).imageTags).toBeUndefined();
    }
    expect(await describeImageRef(h.client, repo, 'multi')).toBe('ImageNotFoundException');
    expect(await describeImageRef(h.client, repo, source.root.digest)).toBe('ImageNotFoundException');

    arm(repo, staged, () => false);
    const done = await runToCompletion(props);
    expect(done).toMatchObject({ status: 'SUCCESS', digest: source.root.digest });
    expect(done.calls.filter((c) => c.operation === 'UploadLayerPart')).toEqual([]);
    expect(await describeImageRef(h.client, repo, 'multi')).toMatchObject({ imageDigest: source.root.digest });
    await pullAndCompare(h, repo, 'multi', source, true);
    expect(taggedPutsChecked).toBeGreaterThanOrEqual(3);
    expect(violations).toEqual([]);
  });
});
