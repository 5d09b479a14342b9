import {
  BatchDeleteImageCommand,
  BatchDeleteImageCommandInput,
  DescribeImagesCommand,
  DescribeImageTagsCommand,
  ImageIdentifier,
  PutImageCommand,
} from '@aws-sdk/client-ecr-public';
import {
  buildIndex,
  createRepo,
  DOCKER_CONFIG,
  DOCKER_MANIFEST,
  expectError,
  expectInvalidParameter,
  OCI_CONFIG,
  OCI_MANIFEST,
  pushImage,
  randomBytes,
  registryAlias,
  sha256,
  uniqueName,
  useEmulator,
} from './support';

const h = useEmulator();

async function images(repositoryName: string) {
  const out = await h.client.send(new DescribeImagesCommand({ repositoryName }));
  return out.imageDetails ?? [];
}

function del(repositoryName: string, imageIds: ImageIdentifier[], extra: Partial<BatchDeleteImageCommandInput> = {}) {
  return h.client.send(new BatchDeleteImageCommand({ repositoryName, imageIds, ...extra }));
}

function sortIds(ids: ImageIdentifier[] | undefined) {
  return [...(ids ?? [])].sort((a, b) => `${a.imageDigest}${a.imageTag}`.localeCompare(`${b.imageDigest}${b.imageTag}`));
}

describe('DescribeImages', () => {
  test('lists all images with their fields', async () => {
    const repo = await createRepo(h.client);
    const a = await pushImage(h.client, repo, 'a', { layerSizes: [11, 22] });
    const b = await pushImage(h.client, repo, undefined, { format: 'docker', layerSizes: [33] });
    const list = await images(repo);
    expect(list).toHaveLength(2);
    const da = list.find((d) => d.imageDigest === a.digest)!;
    const db = list.find((d) => d.imageDigest === b.digest)!;
    expect(da).toEqual({
      registryId: h.emu.accountId,
      repositoryName: repo,
      imageDigest: a.digest,
      imageTags: ['a'],
      imageSizeInBytes: 33,
      imagePushedAt: expect.any(Date),
      imageManifestMediaType: OCI_MANIFEST,
      artifactMediaType: OCI_CONFIG,
    });
    expect(db).toEqual({
      registryId: h.emu.accountId,
      repositoryName: repo,
      imageDigest: b.digest,
      imageSizeInBytes: 33,
      imagePushedAt: expect.any(Date),
      imageManifestMediaType: DOCKER_MANIFEST,
      artifactMediaType: DOCKER_CONFIG,
    });
    expect(db.imageTags).toBeUndefined();
  });

  test('an empty repository has no images', async () => {
    const repo = await createRepo(h.client);
    expect(await images(repo)).toEqual([]);
  });

  test('by imageIds (digest, tag, both)', async () => {
    const repo = await createRepo(h.client);
    const a = await pushImage(h.client, repo, 'a');
    const b = await pushImage(h.client, repo, 'b');
    const byDigest = await h.client.send(new DescribeImagesCommand({ repositoryName: repo, imageIds: [{ imageDigest: a.digest }] }));
    expect(byDigest.imageDetails?.map((d) => d.imageDigest)).toEqual([a.digest]);
    const byTag = await h.client.send(new DescribeImagesCommand({ repositoryName: repo, imageIds: [{ imageTag: 'b' }] }));
    expect(byTag.imageDetails?.map((d) => d.imageDigest)).toEqual([b.digest]);
    const both = await h.client.send(new DescribeImagesCommand({ repositoryName: repo, imageIds: [{ imageTag: 'a' }, { imageDigest: b.digest }] }));
    expect(both.imageDetails?.map((d) => d.imageDigest).sort()).toEqual([a.digest, b.digest].sort());
  });

  test('an unknown digest or tag in imageIds is ImageNotFoundException', async () => {
    const repo = await createRepo(h.client);
    await pushImage(h.client, repo, 'a');
    await expectError(h.client.send(new DescribeImagesCommand({ repositoryName: repo, imageIds: [{ imageDigest: sha256('nope') }] })), 'ImageNotFoundException');
    await expectError(h.client.send(new DescribeImagesCommand({ repositoryName: repo, imageIds: [{ imageTag: 'nope' }] })), 'ImageNotFoundException');
    await expectError(h.client.send(new DescribeImagesCommand({
      repositoryName: repo, imageIds: [{ imageTag: 'a' }, { imageTag: 'nope' }],
    })), 'ImageNotFoundException');
  });

  test('imageIds list constraints', async () => {
    const repo = await createRepo(h.client);
    await expectInvalidParameter(h.client.send(new DescribeImagesCommand({ repositoryName: repo, imageIds: [] })), 'imageIds');
    const ids = Array.from({ length: 101 }, (_, i) => ({ imageTag: `t${i}` }));
    await expectInvalidParameter(h.client.send(new DescribeImagesCommand({ repositoryName: repo, imageIds: ids })), 'imageIds');
    await expectInvalidParameter(h.client.send(new DescribeImagesCommand({ repositoryName: repo, imageIds: [{ imageTag: 'x'.repeat(301) }] })), 'imageIds[0].imageTag');
  });

  test('unknown repository; registryId of another account', async () => {
    const repo = await createRepo(h.client);
    await expectError(h.client.send(new DescribeImagesCommand({ repositoryName: uniqueName('missing') })), 'RepositoryNotFoundException');
    await expectError(h.client.send(new DescribeImagesCommand({ repositoryName: repo, registryId: '999999999999' })), 'RepositoryNotFoundException');
    const ok = await h.client.send(new DescribeImagesCommand({ repositoryName: repo, registryId: h.emu.accountId }));
    expect(ok.imageDetails ?? []).toEqual([]);
  });
});

describe('DescribeImageTags', () => {
  test('one entry per tag with the image detail', async () => {
    const repo = await createRepo(h.client);
    const a = await pushImage(h.client, repo, 'one', { layerSizes: [5, 6] });
    await h.client.send(new PutImageCommand({ repositoryName: repo, imageManifest: a.manifest, imageTag: 'two' }));
    await pushImage(h.client, repo); // untagged: no entry
    const b = await pushImage(h.client, repo, 'three', { format: 'docker', layerSizes: [9] });
    const out = await h.client.send(new DescribeImageTagsCommand({ repositoryName: repo }));
    const details = out.imageTagDetails ?? [];
    expect(details.map((d) => d.imageTag).sort()).toEqual(['one', 'three', 'two']);
    const one = details.find((d) => d.imageTag === 'one')!;
    expect(one).toEqual({
      imageTag: 'one',
      createdAt: expect.any(Date),
      imageDetail: {
        imageDigest: a.digest,
        imageSizeInBytes: 11,
        imagePushedAt: expect.any(Date),
        imageManifestMediaType: OCI_MANIFEST,
        artifactMediaType: OCI_CONFIG,
      },
    });
    expect(details.find((d) => d.imageTag === 'two')?.imageDetail?.imageDigest).toBe(a.digest);
    const three = details.find((d) => d.imageTag === 'three')!;
    expect(three.imageDetail).toMatchObject({
      imageDigest: b.digest, imageSizeInBytes: 9, imageManifestMediaType: DOCKER_MANIFEST, artifactMediaType: DOCKER_CONFIG,
    });
  });

  test('an empty repository has no tags; an unknown one is RepositoryNotFoundException', async () => {
    const repo = await createRepo(h.client);
    const out = await h.client.send(new DescribeImageTagsCommand({ repositoryName: repo }));
    expect(out.imageTagDetails ?? []).toEqual([]);
    await expectError(h.client.send(new DescribeImageTagsCommand({ repositoryName: uniqueName('missing') })), 'RepositoryNotFoundException');
    await expectInvalidParameter(h.client.send(new DescribeImageTagsCommand({ repositoryName: 'BAD' })), 'repositoryName');
    await expectError(h.client.send(new DescribeImageTagsCommand({ repositoryName: repo, registryId: '999999999999' })), 'RepositoryNotFoundException');
  });
});

describe('BatchDeleteImage', () => {
  test('by tag removes only that tag; the last tag removes the image', async () => {
    const repo = await createRepo(h.client);
    const a = await pushImage(h.client, repo, 'x');
    await h.client.send(new PutImageCommand({ repositoryName: repo, imageManifest: a.manifest, imageTag: 'y' }));
    const first = await del(repo, [{ imageTag: 'x' }]);
    expect(first.imageIds).toEqual([{ imageDigest: a.digest, imageTag: 'x' }]);
    expect(first.failures ?? []).toEqual([]);
    const left = await images(repo);
    expect(left).toHaveLength(1);
    expect(left[0].imageTags).toEqual(['y']);
    const second = await del(repo, [{ imageTag: 'y' }]);
    expect(second.imageIds).toEqual([{ imageDigest: a.digest, imageTag: 'y' }]);
    expect(await images(repo)).toEqual([]);
  });

  test('by digest removes the image and returns one entry per removed tag', async () => {
    const repo = await createRepo(h.client);
    const a = await pushImage(h.client, repo, 'p');
    await h.client.send(new PutImageCommand({ repositoryName: repo, imageManifest: a.manifest, imageTag: 'q' }));
    const untagged = await pushImage(h.client, repo);
    const out = await del(repo, [{ imageDigest: a.digest }, { imageDigest: untagged.digest }]);
    expect(sortIds(out.imageIds)).toEqual(sortIds([
      { imageDigest: a.digest, imageTag: 'p' },
      { imageDigest: a.digest, imageTag: 'q' },
      { imageDigest: untagged.digest },
    ]));
    expect(out.failures ?? []).toEqual([]);
    expect(await images(repo)).toEqual([]);
    const tags = await h.client.send(new DescribeImageTagsCommand({ repositoryName: repo }));
    expect(tags.imageTagDetails ?? []).toEqual([]);
  });

  test('by digest and matching tag', async () => {
    const repo = await createRepo(h.client);
    const a = await pushImage(h.client, repo, 'only');
    const out = await del(repo, [{ imageDigest: a.digest, imageTag: 'only' }]);
    expect(out.imageIds).toEqual([{ imageDigest: a.digest, imageTag: 'only' }]);
    expect(await images(repo)).toEqual([]);
  });

  test('failures: ImageNotFound, MissingDigestAndTag, InvalidImageDigest, ImageTagDoesNotMatchDigest', async () => {
    const repo = await createRepo(h.client);
    const a = await pushImage(h.client, repo, 'a');
    const b = await pushImage(h.client, repo, 'b');
    const missingDigest = sha256(randomBytes(8));
    const out = await del(repo, [
      { imageDigest: missingDigest },
      { imageTag: 'no-such-tag' },
      {},
      { imageDigest: 'sha256:not-hex' },
      { imageDigest: b.digest, imageTag: 'a' },
    ]);
    expect(out.imageIds ?? []).toEqual([]);
    const codes = (out.failures ?? []).map((f) => f.failureCode);
    expect(codes).toHaveLength(5);
    const byId = (pred: (id: ImageIdentifier) => boolean) => out.failures!.find((f) => pred(f.imageId ?? {}));
    expect(byId((id) => id.imageDigest === missingDigest)?.failureCode).toBe('ImageNotFound');
    expect(byId((id) => id.imageTag === 'no-such-tag')?.failureCode).toBe('ImageNotFound');
    expect(byId((id) => !id.imageDigest && !id.imageTag)?.failureCode).toBe('MissingDigestAndTag');
    expect(byId((id) => id.imageDigest === 'sha256:not-hex')?.failureCode).toBe('InvalidImageDigest');
    expect(byId((id) => id.imageDigest === b.digest && id.imageTag === 'a')?.failureCode).toBe('ImageTagDoesNotMatchDigest');
    for (const f of out.failures!) expect(typeof f.failureReason).toBe('string');
    // nothing was deleted
    const left = await images(repo);
    expect(left.map((d) => d.imageDigest).sort()).toEqual([a.digest, b.digest].sort());
  });

  test('a child of a stored index fails with ImageReferencedByManifestList; after deleting the index it can go', async () => {
    const repo = await createRepo(h.client);
    const c1 = await pushImage(h.client, repo);
    const c2 = await pushImage(h.client, repo);
    const index = buildIndex([c1, c2]);
    await h.client.send(new PutImageCommand({ repositoryName: repo, imageManifest: index.manifest, imageTag: 'multi' }));
    const out = await del(repo, [{ imageDigest: c1.digest }]);
    expect(out.imageIds ?? []).toEqual([]);
    expect(out.failures).toHaveLength(1);
    expect(out.failures![0]).toMatchObject({ imageId: { imageDigest: c1.digest }, failureCode: 'ImageReferencedByManifestList' });
    expect(await images(repo)).toHaveLength(3);
    const idx = await del(repo, [{ imageTag: 'multi' }]);
    expect(idx.imageIds).toEqual([{ imageDigest: index.digest, imageTag: 'multi' }]);
    const children = await del(repo, [{ imageDigest: c1.digest }, { imageDigest: c2.digest }]);
    expect(children.failures ?? []).toEqual([]);
    expect(sortIds(children.imageIds)).toEqual(sortIds([{ imageDigest: c1.digest }, { imageDigest: c2.digest }]));
    expect(await images(repo)).toEqual([]);
  });

  test('constraints and errors', async () => {
    const repo = await createRepo(h.client);
    await expectInvalidParameter(del(repo, []), 'imageIds');
    await expectInvalidParameter(del(repo, Array.from({ length: 101 }, (_, i) => ({ imageTag: `t${i}` }))), 'imageIds');
    await expectInvalidParameter(h.client.send(new BatchDeleteImageCommand({ repositoryName: repo } as BatchDeleteImageCommandInput)), 'imageIds');
    await expectError(del(uniqueName('missing'), [{ imageTag: 'x' }]), 'RepositoryNotFoundException');
  });

  test('registryId may be the alias', async () => {
    const repo = await createRepo(h.client);
    const a = await pushImage(h.client, repo, 'z');
    const out = await del(repo, [{ imageTag: 'z' }], { registryId: await registryAlias(h.client) });
    expect(out.imageIds).toEqual([{ imageDigest: a.digest, imageTag: 'z' }]);
  });
});
