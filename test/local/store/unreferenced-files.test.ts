/**
 * Files nothing refers to are removed with their last reference: the manifest of a deleted image (unless another
 * repository holds the same image), a replaced logo, and every blob, manifest and logo of a deleted repository. After
 * deleting everything, the data directory holds none.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import {
  BatchDeleteImageCommand,
  CreateRepositoryCommand,
  DeleteRepositoryCommand,
  PutImageCommand,
  PutRepositoryCatalogDataCommand,
} from '@aws-sdk/client-ecr-public';
import { makeTempDir, removeTempDir } from '../../support/temp-dirs';
import { buildImage, Harness, JPEG_SMALL, PNG_1X1, pushImage, start, stop, uploadTestBlob } from '../conformance/support';

describe('files nothing refers to', () => {
  let dir: string;
  let h: Harness;

  beforeAll(async () => {
    dir = makeTempDir('store-unreferenced-');
    h = await start({ dataDir: dir });
  });

  afterAll(async () => {
    await stop(h);
    removeTempDir(dir);
  });

  const files = (folder: string) => fs.readdirSync(path.join(dir, folder));

  test('a replaced logo, a deleted image and a deleted repository leave no file behind', async () => {
    const c = h.client;
    await c.send(new CreateRepositoryCommand({ repositoryName: 'files/a', catalogData: { logoImageBlob: PNG_1X1 } }));
    await c.send(new CreateRepositoryCommand({ repositoryName: 'files/b' }));
    await c.send(new PutRepositoryCatalogDataCommand({ repositoryName: 'files/a', catalogData: { logoImageBlob: JPEG_SMALL } }));
    expect(files('logos')).toHaveLength(1);
    expect(files('logos')[0]).toMatch(/\.jpg$/);

    const first = await pushImage(c, 'files/a', 'one');
    const second = await pushImage(c, 'files/a', 'two');
    // The same image in a second repository: its blobs uploaded there too, the manifest bytes the same.
    for (const d of [second.config, ...second.layers]) expect(await uploadTestBlob(c, 'files/b', await blobBytes(d.digest))).toBe(d.digest);
    await c.send(new PutImageCommand({ repositoryName: 'files/b', imageManifest: second.manifest, imageTag: 'two' }));
    expect(files('manifests/sha256')).toHaveLength(2);

    await c.send(new BatchDeleteImageCommand({ repositoryName: 'files/a', imageIds: [{ imageDigest: first.digest }] }));
    expect(files('manifests/sha256')).toEqual([second.digest.slice('sha256:'.length)]);

    await c.send(new DeleteRepositoryCommand({ repositoryName: 'files/a', force: true }));
    // files/b holds the second image: its manifest and blobs stay.
    expect(files('manifests/sha256')).toEqual([second.digest.slice('sha256:'.length)]);
    expect(files('logos')).toEqual([]);
    expect(files('blobs/sha256').sort()).toEqual([second.config, ...second.layers].map((d) => d.digest.slice('sha256:'.length)).sort());

    await c.send(new DeleteRepositoryCommand({ repositoryName: 'files/b', force: true }));
    expect(files('manifests/sha256')).toEqual([]);
    expect(files('blobs/sha256')).toEqual([]);
    expect(files('logos')).toEqual([]);
    expect(files('uploads')).toEqual([]);
  });

  test('an image pushed again after its manifest went is served again', async () => {
    const c = h.client;
    await c.send(new CreateRepositoryCommand({ repositoryName: 'files/again' }));
    const image = await buildImage(c, 'files/again');
    await c.send(new PutImageCommand({ repositoryName: 'files/again', imageManifest: image.manifest, imageTag: 'v1' }));
    await c.send(new BatchDeleteImageCommand({ repositoryName: 'files/again', imageIds: [{ imageTag: 'v1' }] }));
    expect(files('manifests/sha256')).toEqual([]);
    await c.send(new PutImageCommand({ repositoryName: 'files/again', imageManifest: image.manifest, imageTag: 'v1' }));
    expect(files('manifests/sha256')).toEqual([image.digest.slice('sha256:'.length)]);
  });

  /** A blob's bytes, as the store holds them. */
  function blobBytes(digest: string): Promise<Buffer> {
    return fs.promises.readFile(path.join(dir, 'blobs', ...digest.split(':')));
  }
});
