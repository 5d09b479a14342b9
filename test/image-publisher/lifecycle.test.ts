import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { BatchDeleteImageCommand, DeleteRepositoryCommand, ECRPUBLICClient, PutImageCommand } from '@aws-sdk/client-ecr-public';
import { createRepository, findImage, imageProps, spyOnClients, stage, Staged, TYPE, useAssetBucket } from './support';
import { handler } from '../../lambda/image-publisher';
import { ImageProperties } from '../../src/shared/publish-plan';
import { pushSmallImage, uniqueName } from '../support/ecr-fixtures';
import { createEvent, deleteEvent, invoke, invokeOk, updateEvent, useHandlerHarness } from '../support/handler-harness';
import { makeTempDir } from '../support/temp-dirs';
import { buildImage, buildMultiPlatformLayout } from '../support/umoci-images';

const h = useHandlerHarness();
const bucket = useAssetBucket(h);

let imageCounter = 0;
/** A fresh one-layer image (random content, so that no blob is shared with another test's). */
async function freshImage(files: Record<string, string | Buffer> = {}): Promise<Staged> {
  imageCounter++;
  const layout = path.join(makeTempDir('lifecycle-'), 'layout');
  await buildImage(layout, { tag: 'img', files: { [`file-${imageCounter}.bin`]: randomBytes(20_000), ...files } });
  return stage(bucket.dir, layout, 'img');
}

async function digestOf(repo: string, ref: string): Promise<string | undefined> {
  return (await findImage(h.client, repo, ref))?.imageDigest;
}

describe('Custom::EcrPublicImage updates', () => {
  test('a new image moves the kept tags, removes dropped tags that still point at the old image, and keeps the old image', async () => {
    const repo = uniqueName('update');
    await createRepository(h.client, repo);
    const one = await freshImage();
    const two = await freshImage();
    const v1 = imageProps(one, repo, { Tags: ['a', 'b', 'x'] });
    const created = await invokeOk(h, handler, createEvent<ImageProperties>(h, TYPE, v1));
    const d1 = one.plan.rootDigest;
    expect(created.PhysicalResourceId).toBe(`${repo}@${d1}`);
    // Somebody else moves 'x' to their own image: dropping 'x' must not touch it.
    const foreign = await pushSmallImage(h.client, repo, 'x');

    const v2 = imageProps(two, repo, { Tags: ['b', 'c'] });
    const updated = await invokeOk(h, handler, updateEvent<ImageProperties>(h, TYPE, created.PhysicalResourceId, v2, v1));
    const d2 = two.plan.rootDigest;
    expect(updated.PhysicalResourceId).toBe(`${repo}@${d2}`);
    expect(updated.Data?.ImageDigest).toBe(d2);
    expect(await digestOf(repo, 'b')).toBe(d2);
    expect(await digestOf(repo, 'c')).toBe(d2);
    expect(await digestOf(repo, 'a')).toBeUndefined();
    expect(await digestOf(repo, 'x')).toBe(foreign);
    // ECR deletes an image with its last tag; with DeleteOnRemove 'false' the old image is put back, untagged.
    const old = await findImage(h.client, repo, d1);
    expect(old?.imageDigest).toBe(d1);
    expect(old?.imageTags).toBeUndefined();
    expect(h.logs).toContainEqual(JSON.stringify({ restore: d1, outcome: 'restored untagged' }));

    // Tags only: the same image (same physical id), 'b' dropped, and then every tag dropped: the image stays.
    const v3 = { ...v2, Tags: ['c'] };
    const tagsOnly = await invokeOk(h, handler, updateEvent<ImageProperties>(h, TYPE, updated.PhysicalResourceId, v3, v2));
    expect(tagsOnly.PhysicalResourceId).toBe(updated.PhysicalResourceId);
    expect(await digestOf(repo, 'b')).toBeUndefined();
    expect(await digestOf(repo, 'c')).toBe(d2);
    const v4 = { ...v2, Tags: [] };
    await invokeOk(h, handler, updateEvent<ImageProperties>(h, TYPE, updated.PhysicalResourceId, v4, v3));
    expect(await digestOf(repo, 'c')).toBeUndefined();
    expect((await findImage(h.client, repo, d2))?.imageDigest).toBe(d2);
  });

  test('a new repository name is a new physical id; the old repository is left to the Delete that follows', async () => {
    const first = uniqueName('rename-a');
    const second = uniqueName('rename-b');
    await createRepository(h.client, first);
    await createRepository(h.client, second);
    const image = await freshImage();
    const v1 = imageProps(image, first, { Tags: ['t'] });
    const created = await invokeOk(h, handler, createEvent<ImageProperties>(h, TYPE, v1));
    const v2 = { ...v1, RepositoryName: second };
    const updated = await invokeOk(h, handler, updateEvent<ImageProperties>(h, TYPE, created.PhysicalResourceId, v2, v1));
    expect(updated.PhysicalResourceId).toBe(`${second}@${image.plan.rootDigest}`);
    expect(await digestOf(second, 't')).toBe(image.plan.rootDigest);
    expect(await digestOf(first, 't')).toBe(image.plan.rootDigest);
  });

  test('a corrupted blob fails with the digest mismatch, is never completed, and the tag stays on the previous image', async () => {
    const repo = uniqueName('corrupt');
    await createRepository(h.client, repo);
    const good = await freshImage();
    const v1 = imageProps(good, repo, { Tags: ['v'] });
    const created = await invokeOk(h, handler, createEvent<ImageProperties>(h, TYPE, v1));

    const bad = await freshImage();
    const layer = bad.plan.blobs.reduce((a, b) => (b.size > a.size ? b : a));
    const fd = fs.openSync(bad.archivePath, 'r+');
    const byte = Buffer.alloc(1);
    fs.readSync(fd, byte, 0, 1, layer.offset + 100);
    byte[0] ^= 0xff; // eslint-disable-line no-bitwise
    fs.writeSync(fd, byte, 0, 1, layer.offset + 100);
    fs.closeSync(fd);
    const sent = spyOnClients(h);

    const v2 = imageProps(bad, repo, { Tags: ['v'] });
    const res = await invoke(h, handler, updateEvent<ImageProperties>(h, TYPE, created.PhysicalResourceId, v2, v1));
    expect(res.Status).toBe('FAILED');
    expect(res.Reason).toMatch(new RegExp(`^ImagePublishError: blob ${layer.digest} in ${bad.key} does not match its digest \\(got sha256:[a-f0-9]{64}\\)$`));
    expect(res.PhysicalResourceId).toBe(created.PhysicalResourceId);
    expect(sent.ecr.filter((c) => c.name === 'CompleteLayerUpload').map((c) => c.input.layerDigests[0])).not.toContain(layer.digest);
    expect(sent.ecr.filter((c) => c.name === 'PutImage')).toEqual([]);
    expect(await digestOf(repo, 'v')).toBe(good.plan.rootDigest);
    expect(await findImage(h.client, repo, bad.plan.rootDigest)).toBeUndefined();
  });

  test('an API failure names the error: publishing into a repository that does not exist', async () => {
    const image = await freshImage();
    const res = await invoke(h, handler, createEvent<ImageProperties>(h, TYPE, imageProps(image, uniqueName('nowhere'))));
    expect(res.Status).toBe('FAILED');
    expect(res.Reason).toMatch(/^RepositoryNotFoundException: .*create '.*' first\.$/);
  });
});

describe('Custom::EcrPublicImage deletes', () => {
  test('DeleteOnRemove false leaves the image and its tags', async () => {
    const repo = uniqueName('keep');
    await createRepository(h.client, repo);
    const image = await freshImage();
    const props = imageProps(image, repo, { Tags: ['kept'], DeleteOnRemove: 'false' });
    const created = await invokeOk(h, handler, createEvent<ImageProperties>(h, TYPE, props));
    await invokeOk(h, handler, deleteEvent<ImageProperties>(h, TYPE, created.PhysicalResourceId, props));
    expect(await digestOf(repo, 'kept')).toBe(image.plan.rootDigest);
  });

  test('DeleteOnRemove true deletes the image, or only this resource\'s tags when other tags point at it', async () => {
    const repo = uniqueName('delete');
    await createRepository(h.client, repo);
    const image = await freshImage();
    const props = imageProps(image, repo, { Tags: ['mine', 'also-mine'], DeleteOnRemove: 'true' });
    const created = await invokeOk(h, handler, createEvent<ImageProperties>(h, TYPE, props));
    // Another owner tags the same image.
    const root = image.plan.manifests[image.plan.manifests.length - 1];
    await h.client.send(new PutImageCommand({ repositoryName: repo, imageManifest: root.manifest, imageManifestMediaType: root.mediaType, imageTag: 'theirs' }));

    await invokeOk(h, handler, deleteEvent<ImageProperties>(h, TYPE, created.PhysicalResourceId, props));
    expect(await digestOf(repo, 'mine')).toBeUndefined();
    expect(await digestOf(repo, 'also-mine')).toBeUndefined();
    expect((await findImage(h.client, repo, image.plan.rootDigest))?.imageTags).toEqual(['theirs']);

    // Once only this resource's tags are on it, the image itself goes.
    const again = await invokeOk(h, handler, createEvent<ImageProperties>(h, TYPE, { ...props, Tags: ['mine', 'theirs'] }));
    await invokeOk(h, handler, deleteEvent<ImageProperties>(h, TYPE, again.PhysicalResourceId, { ...props, Tags: ['mine', 'theirs'] }));
    expect(await findImage(h.client, repo, image.plan.rootDigest)).toBeUndefined();
    // A second Delete (a retried request) finds nothing to do.
    await invokeOk(h, handler, deleteEvent<ImageProperties>(h, TYPE, again.PhysicalResourceId, props));
  });

  test('deleting an index deletes the index, then its children', async () => {
    const repo = uniqueName('delete-index');
    await createRepository(h.client, repo);
    const layout = path.join(makeTempDir('delete-index-'), 'layout');
    const source = await buildMultiPlatformLayout(layout, { tag: 'idx', files: { 'x.bin': randomBytes(10_000) } });
    const staged = await stage(bucket.dir, layout, 'idx');
    const props = imageProps(staged, repo, { Tags: ['idx'], DeleteOnRemove: 'true' });
    const created = await invokeOk(h, handler, createEvent<ImageProperties>(h, TYPE, props));
    for (const m of source.manifests) expect(await findImage(h.client, repo, m.digest)).toBeDefined();

    await invokeOk(h, handler, deleteEvent<ImageProperties>(h, TYPE, created.PhysicalResourceId, props));
    for (const m of source.manifests) expect(await findImage(h.client, repo, m.digest)).toBeUndefined();
  });

  test('a Delete after the repository is gone succeeds', async () => {
    const repo = uniqueName('gone');
    await createRepository(h.client, repo);
    const image = await freshImage();
    const props = imageProps(image, repo, { DeleteOnRemove: 'true' });
    const created = await invokeOk(h, handler, createEvent<ImageProperties>(h, TYPE, props));
    await h.client.send(new DeleteRepositoryCommand({ repositoryName: repo, force: true }));
    const res = await invokeOk(h, handler, deleteEvent<ImageProperties>(h, TYPE, created.PhysicalResourceId, props));
    expect(res.PhysicalResourceId).toBe(created.PhysicalResourceId);
  });
});

test('dropping the last tag of an unchanged image keeps the image, even when the removal\'s answer was lost', async () => {
  const repo = uniqueName('last-tag');
  await createRepository(h.client, repo);
  const staged = await freshImage();
  const old = imageProps(staged, repo, { Tags: ['only'] });
  const created = await invokeOk(h, handler, createEvent<ImageProperties>(h, TYPE, old));
  const digest = created.Data!.ImageDigest;

  // The SDK's view of a lost answer: the BatchDeleteImage ran (the tag, and the image with it, are gone), then the
  // retry reports ImageNotFound, so the handler cannot tell from the answer that anything was removed.
  const original = ECRPUBLICClient.prototype.send;
  const send = jest.spyOn(ECRPUBLICClient.prototype, 'send').mockImplementation(function (this: ECRPUBLICClient, command: any, ...rest: any[]) {
    if (command instanceof BatchDeleteImageCommand) {
      return (original as any).call(this, command).then(() => (original as any).call(this, command));
    }
    return (original as any).call(this, command, ...rest);
  });
  try {
    const updated = await invokeOk(h, handler, updateEvent<ImageProperties>(h, TYPE, created.PhysicalResourceId, { ...old, Tags: [] }, old));
    expect(updated.Data!.ImageDigest).toBe(digest);
  } finally {
    send.mockRestore();
  }
  expect(await digestOf(repo, digest)).toBe(digest);
  expect(await digestOf(repo, 'only')).toBeUndefined();
});
