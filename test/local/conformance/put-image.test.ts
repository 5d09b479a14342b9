import { DescribeImagesCommand, PutImageCommand, PutImageCommandInput } from '@aws-sdk/client-ecr-public';
import {
  buildImage,
  buildIndex,
  createRepo,
  DOCKER_CONFIG,
  DOCKER_LIST,
  DOCKER_MANIFEST,
  expectError,
  expectInvalidParameter,
  OCI_CONFIG,
  OCI_INDEX,
  OCI_LAYER,
  OCI_MANIFEST,
  pushImage,
  randomBytes,
  registryAlias,
  sha256,
  uniqueName,
  uploadTestBlob,
  useEmulator,
} from './support';

const h = useEmulator();

function put(input: PutImageCommandInput) {
  return h.client.send(new PutImageCommand(input));
}

async function describe1(repositoryName: string, imageDigest: string) {
  const out = await h.client.send(new DescribeImagesCommand({ repositoryName, imageIds: [{ imageDigest }] }));
  expect(out.imageDetails).toHaveLength(1);
  return out.imageDetails![0];
}

describe('PutImage', () => {
  test('an OCI manifest with a tag: response shape and digest of the exact bytes', async () => {
    const repo = await createRepo(h.client);
    const img = await buildImage(h.client, repo, { layerSizes: [100, 250] });
    const out = await put({ repositoryName: repo, imageManifest: img.manifest, imageTag: 'v1' });
    expect(out.image).toEqual({
      registryId: h.emu.accountId,
      repositoryName: repo,
      imageId: { imageDigest: img.digest, imageTag: 'v1' },
      imageManifest: img.manifest,
      imageManifestMediaType: OCI_MANIFEST,
    });
    const d = await describe1(repo, img.digest);
    expect(d).toEqual({
      registryId: h.emu.accountId,
      repositoryName: repo,
      imageDigest: img.digest,
      imageTags: ['v1'],
      imageSizeInBytes: 350,
      imagePushedAt: expect.any(Date),
      imageManifestMediaType: OCI_MANIFEST,
      artifactMediaType: OCI_CONFIG,
    });
    expect(Math.abs(d.imagePushedAt!.getTime() - Date.now())).toBeLessThan(60_000);
  });

  test('a Docker schema 2 manifest', async () => {
    const repo = await createRepo(h.client);
    const img = await buildImage(h.client, repo, { format: 'docker', layerSizes: [10, 20, 30] });
    const out = await put({ repositoryName: repo, imageManifest: img.manifest, imageTag: 'latest' });
    expect(out.image?.imageManifestMediaType).toBe(DOCKER_MANIFEST);
    expect(out.image?.imageId?.imageDigest).toBe(img.digest);
    const d = await describe1(repo, img.digest);
    expect(d.imageManifestMediaType).toBe(DOCKER_MANIFEST);
    expect(d.artifactMediaType).toBe(DOCKER_CONFIG);
    expect(d.imageSizeInBytes).toBe(60);
  });

  test('the digest is the sha256 of the UTF-8 bytes as sent (whitespace, key order, non-ASCII)', async () => {
    const repo = await createRepo(h.client);
    const img = await buildImage(h.client, repo, {});
    const obj = JSON.parse(img.manifest);
    const pretty = JSON.stringify({ ...obj, annotations: { 'org.example.title': 'café ☕ 日本' } }, null, 3) + '\n';
    const expected = sha256(Buffer.from(pretty, 'utf8'));
    const out = await put({ repositoryName: repo, imageManifest: pretty });
    expect(out.image?.imageId?.imageDigest).toBe(expected);
    expect(out.image?.imageManifest).toBe(pretty);
    // the same content in another key order is another image
    const reordered = JSON.stringify({ layers: obj.layers, config: obj.config, mediaType: obj.mediaType, schemaVersion: 2 });
    const out2 = await put({ repositoryName: repo, imageManifest: reordered });
    expect(out2.image?.imageId?.imageDigest).toBe(sha256(Buffer.from(reordered, 'utf8')));
    expect(out2.image?.imageId?.imageDigest).not.toBe(expected);
  });

  test('a manifest without mediaType takes imageManifestMediaType', async () => {
    const repo = await createRepo(h.client);
    const img = await buildImage(h.client, repo, { omitMediaType: true });
    expect(JSON.parse(img.manifest).mediaType).toBeUndefined();
    const out = await put({ repositoryName: repo, imageManifest: img.manifest, imageManifestMediaType: OCI_MANIFEST, imageTag: 'a' });
    expect(out.image?.imageManifestMediaType).toBe(OCI_MANIFEST);
    expect((await describe1(repo, img.digest)).imageManifestMediaType).toBe(OCI_MANIFEST);
  });

  test('mediaType and an equal imageManifestMediaType are accepted', async () => {
    const repo = await createRepo(h.client);
    const img = await buildImage(h.client, repo, {});
    const out = await put({ repositoryName: repo, imageManifest: img.manifest, imageManifestMediaType: OCI_MANIFEST });
    expect(out.image?.imageManifestMediaType).toBe(OCI_MANIFEST);
  });

  test('no media type anywhere is InvalidParameterException', async () => {
    const repo = await createRepo(h.client);
    const img = await buildImage(h.client, repo, { omitMediaType: true });
    await expectError(put({ repositoryName: repo, imageManifest: img.manifest }), 'InvalidParameterException');
  });

  test('mediaType differing from imageManifestMediaType is InvalidParameterException', async () => {
    const repo = await createRepo(h.client);
    const img = await buildImage(h.client, repo, {});
    await expectError(put({ repositoryName: repo, imageManifest: img.manifest, imageManifestMediaType: DOCKER_MANIFEST }), 'InvalidParameterException');
  });

  test('a media type that is not a manifest type is InvalidParameterException', async () => {
    const repo = await createRepo(h.client);
    const img = await buildImage(h.client, repo, { omitMediaType: true });
    await expectError(put({ repositoryName: repo, imageManifest: img.manifest, imageManifestMediaType: 'application/json' }), 'InvalidParameterException');
    await expectError(put({ repositoryName: repo, imageManifest: img.manifest, imageManifestMediaType: OCI_CONFIG }), 'InvalidParameterException');
  });

  test('a manifest that is not JSON is InvalidParameterException', async () => {
    const repo = await createRepo(h.client);
    await expectError(put({ repositoryName: repo, imageManifest: '{not json', imageManifestMediaType: OCI_MANIFEST }), 'InvalidParameterException');
  });

  test('zero layers is InvalidParameterException', async () => {
    const repo = await createRepo(h.client);
    const img = await buildImage(h.client, repo, { layers: [] });
    await expectError(put({ repositoryName: repo, imageManifest: img.manifest, imageTag: 'x' }), 'InvalidParameterException');
    const out = await h.client.send(new DescribeImagesCommand({ repositoryName: repo }));
    expect(out.imageDetails ?? []).toHaveLength(0);
  });

  test('a missing layer is LayersNotFoundException', async () => {
    const repo = await createRepo(h.client);
    const img = await buildImage(h.client, repo, {});
    const missing = { mediaType: OCI_LAYER, digest: sha256(randomBytes(50)), size: 50 };
    const bad = await buildImage(h.client, repo, { config: img.config, layers: [...img.layers, missing] });
    await expectError(put({ repositoryName: repo, imageManifest: bad.manifest }), 'LayersNotFoundException');
  });

  test('a missing config blob is LayersNotFoundException', async () => {
    const repo = await createRepo(h.client);
    const img = await buildImage(h.client, repo, {});
    const config = { mediaType: OCI_CONFIG, digest: sha256(randomBytes(50)), size: 50 };
    const bad = await buildImage(h.client, repo, { config, layers: img.layers });
    await expectError(put({ repositoryName: repo, imageManifest: bad.manifest }), 'LayersNotFoundException');
  });

  test('blobs of another repository are LayersNotFoundException', async () => {
    const repoA = await createRepo(h.client);
    const repoB = await createRepo(h.client);
    const img = await buildImage(h.client, repoA, {});
    await expectError(put({ repositoryName: repoB, imageManifest: img.manifest }), 'LayersNotFoundException');
  });

  test('imageDigest equal to the computed digest is accepted; a different one is ImageDigestDoesNotMatchException', async () => {
    const repo = await createRepo(h.client);
    const img = await buildImage(h.client, repo, {});
    await expectError(put({ repositoryName: repo, imageManifest: img.manifest, imageDigest: sha256('other') }), 'ImageDigestDoesNotMatchException');
    const out = await put({ repositoryName: repo, imageManifest: img.manifest, imageDigest: img.digest });
    expect(out.image?.imageId?.imageDigest).toBe(img.digest);
  });

  test('same manifest and same tag is ImageAlreadyExistsException; a new tag is added', async () => {
    const repo = await createRepo(h.client);
    const img = await pushImage(h.client, repo, 'one');
    await expectError(put({ repositoryName: repo, imageManifest: img.manifest, imageTag: 'one' }), 'ImageAlreadyExistsException');
    await expectError(put({ repositoryName: repo, imageManifest: img.manifest }), 'ImageAlreadyExistsException');
    const out = await put({ repositoryName: repo, imageManifest: img.manifest, imageTag: 'two' });
    expect(out.image?.imageId).toEqual({ imageDigest: img.digest, imageTag: 'two' });
    const d = await describe1(repo, img.digest);
    expect([...d.imageTags!].sort()).toEqual(['one', 'two']);
    const all = await h.client.send(new DescribeImagesCommand({ repositoryName: repo }));
    expect(all.imageDetails).toHaveLength(1);
  });

  test('an untagged image pushed again without a tag is ImageAlreadyExistsException', async () => {
    const repo = await createRepo(h.client);
    const img = await pushImage(h.client, repo);
    expect(img.output.image?.imageId?.imageTag).toBeUndefined();
    await expectError(put({ repositoryName: repo, imageManifest: img.manifest }), 'ImageAlreadyExistsException');
    const d = await describe1(repo, img.digest);
    expect(d.imageTags).toBeUndefined();
  });

  test('a tag moves to the new image; the old image stays, untagged', async () => {
    const repo = await createRepo(h.client);
    const first = await pushImage(h.client, repo, 'latest');
    const second = await pushImage(h.client, repo, 'latest', { config: first.config, layers: first.layers, annotation: 'second' });
    expect(second.digest).not.toBe(first.digest);
    const old = await describe1(repo, first.digest);
    expect(old.imageTags).toBeUndefined();
    const cur = await describe1(repo, second.digest);
    expect(cur.imageTags).toEqual(['latest']);
    const byTag = await h.client.send(new DescribeImagesCommand({ repositoryName: repo, imageIds: [{ imageTag: 'latest' }] }));
    expect(byTag.imageDetails?.map((x) => x.imageDigest)).toEqual([second.digest]);
    // moving it back works too
    await put({ repositoryName: repo, imageManifest: first.manifest, imageTag: 'latest' });
    expect((await describe1(repo, first.digest)).imageTags).toEqual(['latest']);
    expect((await describe1(repo, second.digest)).imageTags).toBeUndefined();
  });

  test('an OCI index pushed before its children is ReferencedImagesNotFoundException; after them it succeeds', async () => {
    const repo = await createRepo(h.client);
    const a = await buildImage(h.client, repo, { layerSizes: [100] });
    const b = await buildImage(h.client, repo, { layerSizes: [300, 200] });
    const index = buildIndex([a, b]);
    await expectError(put({ repositoryName: repo, imageManifest: index.manifest, imageTag: 'multi' }), 'ReferencedImagesNotFoundException');
    await put({ repositoryName: repo, imageManifest: a.manifest });
    await expectError(put({ repositoryName: repo, imageManifest: index.manifest, imageTag: 'multi' }), 'ReferencedImagesNotFoundException');
    await put({ repositoryName: repo, imageManifest: b.manifest });
    const out = await put({ repositoryName: repo, imageManifest: index.manifest, imageTag: 'multi' });
    expect(out.image?.imageManifestMediaType).toBe(OCI_INDEX);
    expect(out.image?.imageId).toEqual({ imageDigest: index.digest, imageTag: 'multi' });
    const d = await describe1(repo, index.digest);
    expect(d.imageManifestMediaType).toBe(OCI_INDEX);
    expect(d.imageSizeInBytes).toBe(500);
    expect(d.imageTags).toEqual(['multi']);
  });

  test('children in another repository do not count', async () => {
    const repoA = await createRepo(h.client);
    const repoB = await createRepo(h.client);
    const a = await pushImage(h.client, repoA);
    const index = buildIndex([a]);
    await expectError(put({ repositoryName: repoB, imageManifest: index.manifest }), 'ReferencedImagesNotFoundException');
  });

  test('a Docker manifest list over Docker manifests', async () => {
    const repo = await createRepo(h.client);
    const a = await pushImage(h.client, repo, undefined, { format: 'docker', layerSizes: [40] });
    const b = await pushImage(h.client, repo, undefined, { format: 'docker', layerSizes: [70] });
    const list = buildIndex([a, b], 'docker');
    const out = await put({ repositoryName: repo, imageManifest: list.manifest, imageTag: 'list' });
    expect(out.image?.imageManifestMediaType).toBe(DOCKER_LIST);
    const d = await describe1(repo, list.digest);
    expect(d.imageManifestMediaType).toBe(DOCKER_LIST);
    expect(d.imageSizeInBytes).toBe(70);
  });

  test('member constraints', async () => {
    const repo = await createRepo(h.client);
    const img = await buildImage(h.client, repo, {});
    await expectInvalidParameter(put({ repositoryName: repo, imageManifest: img.manifest, imageTag: 't'.repeat(301) }), 'imageTag');
    await expectInvalidParameter(put({ repositoryName: repo, imageManifest: img.manifest, imageTag: '' }), 'imageTag');
    await expectInvalidParameter(put({ repositoryName: repo, imageManifest: '' }), 'imageManifest');
    await expectInvalidParameter(put({ repositoryName: repo } as PutImageCommandInput), 'imageManifest');
    await expectInvalidParameter(put({ repositoryName: 'Bad', imageManifest: img.manifest }), 'repositoryName');
    await expectInvalidParameter(put({ repositoryName: repo, imageManifest: img.manifest, registryId: 'x' }), 'registryId');
    await expectInvalidParameter(put({ repositoryName: repo, imageManifest: ' '.repeat(4194305) }), 'imageManifest');
    // The model allows 300 characters, the tag grammar both push paths share 128 (the strict reading, local/README).
    await expectInvalidParameter(put({ repositoryName: repo, imageManifest: img.manifest, imageTag: 't'.repeat(129) }), 'imageTag');
    await expectInvalidParameter(put({ repositoryName: repo, imageManifest: img.manifest, imageTag: 'a/b' }), 'imageTag');
    const out = await put({ repositoryName: repo, imageManifest: img.manifest, imageTag: 't'.repeat(128) });
    expect(out.image?.imageId?.imageTag).toHaveLength(128);
  });

  test('an unknown repository is RepositoryNotFoundException', async () => {
    const repo = await createRepo(h.client);
    const img = await buildImage(h.client, repo, {});
    await expectError(put({ repositoryName: uniqueName('missing'), imageManifest: img.manifest }), 'RepositoryNotFoundException');
  });

  test('registryId: account and alias accepted, anything else is RegistryNotFoundException', async () => {
    const repo = await createRepo(h.client);
    const img = await buildImage(h.client, repo, {});
    await expectError(put({ repositoryName: repo, imageManifest: img.manifest, registryId: '999999999999' }), 'RegistryNotFoundException');
    await expectError(put({ repositoryName: repo, imageManifest: img.manifest, registryId: 'someone-else' }), 'RegistryNotFoundException');
    const viaAlias = await put({ repositoryName: repo, imageManifest: img.manifest, registryId: await registryAlias(h.client), imageTag: 'a' });
    expect(viaAlias.image?.imageId?.imageDigest).toBe(img.digest);
    const viaAccount = await put({ repositoryName: repo, imageManifest: img.manifest, registryId: h.emu.accountId, imageTag: 'b' });
    expect(viaAccount.image?.imageId?.imageDigest).toBe(img.digest);
  });

  test('layers uploaded with the layer API and a shared config work across two images', async () => {
    const repo = await createRepo(h.client);
    const layerData = randomBytes(1234);
    const layer = { mediaType: OCI_LAYER, digest: await uploadTestBlob(h.client, repo, layerData), size: layerData.length };
    const a = await pushImage(h.client, repo, 'a', { layers: [layer] });
    const b = await pushImage(h.client, repo, 'b', { layers: [layer, layer] });
    expect((await describe1(repo, a.digest)).imageSizeInBytes).toBe(1234);
    expect((await describe1(repo, b.digest)).imageSizeInBytes).toBe(2468);
  });
});
