/**
 * Copying images from a real registry (Debian's docker-registry, anonymous, on loopback) into the emulator through
 * the image-publisher handler, and pulling them back with skopeo: the digests are the source registry's.
 */
import * as fs from 'node:fs';
import { buildFixtures, emulatorDigest, Fixtures, logEntries, pullFromEmulator, registryProps, spyOnFetch, TYPE } from './support';
import { handler } from '../../lambda/image-publisher';
import { CREATE_FAILED_MARKER } from '../../src/shared/handler-contract';
import { sha256 } from '../../src/shared/oci/digest';
import { ImageProperties } from '../../src/shared/publish-plan';
import { count, createRepository, findImage, spyOnClients, summaries } from '../image-publisher/support';
import { pushToRegistry, rawManifest, RunningRegistry, startDockerRegistry } from '../support/docker-registry';
import { uniqueName } from '../support/ecr-fixtures';
import { createEvent, deleteEvent, invoke, invokeOk, useHandlerHarness } from '../support/handler-harness';

const h = useHandlerHarness();
let registry: RunningRegistry;
let fixtures: Fixtures;
/** Digests in the source registry: the single image, the index and its children. */
let singleDigest: string;
let indexDigest: string;
let childDigests: { amd64: string; arm64: string };

beforeAll(async () => {
  [registry, fixtures] = await Promise.all([startDockerRegistry(), buildFixtures()]);
  singleDigest = await pushToRegistry(registry, fixtures.single.layoutDir, 'single', 'acme/tool', '1.0');
  indexDigest = await pushToRegistry(registry, fixtures.multi.layoutDir, 'multi', 'acme/multi', '2.0', { all: true });
  const index = JSON.parse((await rawManifest(registry, `acme/multi@${indexDigest}`)).toString('utf8'));
  const of = (arch: string) => index.manifests.find((m: any) => m.platform?.architecture === arch).digest as string;
  childDigests = { amd64: of('amd64'), arm64: of('arm64') };
});

afterAll(async () => {
  await registry?.stop();
});

beforeEach(() => {
  h.logs.length = 0;
});

describe('Custom::EcrPublicImage from a registry (anonymous)', () => {
  test('a tag is resolved to its digest, reported in Data, and the copy pulled back has the source digests', async () => {
    // The registry serves what skopeo pushed, byte for byte.
    expect(singleDigest).toBe(fixtures.single.root.digest);
    const repo = uniqueName('tag');
    await createRepository(h.client, repo);
    const sent = spyOnClients(h);

    const res = await invokeOk(h, handler, createEvent<ImageProperties>(h, TYPE,
      registryProps(repo, `${registry.host}/acme/tool:1.0`, { Tags: ['1.0', 'latest'] })));

    expect(res.PhysicalResourceId).toBe(`${repo}@${singleDigest}`);
    expect(res.Data).toMatchObject({ ImageDigest: singleDigest, SourceDigest: singleDigest });
    expect((await findImage(h.client, repo, '1.0'))?.imageDigest).toBe(singleDigest);
    expect((await findImage(h.client, repo, 'latest'))?.imageDigest).toBe(singleDigest);
    // Config and two layers, each uploaded once; the tags only after the last blob.
    expect(count(sent.ecr, 'CompleteLayerUpload')).toBe(3);
    const lastComplete = sent.ecr.map((c) => c.name).lastIndexOf('CompleteLayerUpload');
    expect(sent.ecr.findIndex((c) => c.name === 'PutImage')).toBeGreaterThan(lastComplete);
    expect(logEntries(h).find((e) => e.resolvedDigest)).toMatchObject({ source: `${registry.host}/acme/tool:1.0`, resolvedDigest: singleDigest });

    const pulled = await pullFromEmulator(h, repo, '1.0');
    expect(pulled.root.digest).toBe(singleDigest);
    expect(pulled.blobs.map((b) => b.digest)).toEqual(fixtures.single.blobs.map((b) => b.digest));
    expect(summaries(h).at(-1)).toMatchObject({ outcome: 'PUBLISHED', blobsUploaded: 3, blobsSkipped: 0 });
  });

  test('a reference by digest copies that image', async () => {
    const repo = uniqueName('digest');
    await createRepository(h.client, repo);
    const res = await invokeOk(h, handler, createEvent<ImageProperties>(h, TYPE,
      registryProps(repo, `${registry.host}/acme/tool@${singleDigest}`, { Tags: ['pinned'] })));
    expect(res.Data).toMatchObject({ ImageDigest: singleDigest, SourceDigest: singleDigest });
    expect(await emulatorDigest(h, repo, 'pinned')).toBe(singleDigest);
  });

  test('a multi-platform index is copied whole: every platform and the attestation manifest, children first', async () => {
    const repo = uniqueName('index');
    await createRepository(h.client, repo);
    const sent = spyOnClients(h);

    const res = await invokeOk(h, handler, createEvent<ImageProperties>(h, TYPE,
      registryProps(repo, `${registry.host}/acme/multi:2.0`, { Tags: ['2.0'] })));

    expect(res.Data).toMatchObject({ ImageDigest: indexDigest, SourceDigest: indexDigest });
    const puts = sent.ecr.filter((c) => c.name === 'PutImage').map((c) => [c.input.imageDigest, c.input.imageTag]);
    expect(puts).toHaveLength(4);
    expect(puts.at(-1)).toEqual([indexDigest, '2.0']);
    expect(puts.slice(0, 3).map((p) => p[0]).sort()).toEqual([childDigests.amd64, childDigests.arm64, fixtures.attestation].sort());
    expect(puts.slice(0, 3).every((p) => p[1] === undefined)).toBe(true);
    // The attestation manifest is there, untagged, by its digest.
    const attestation = await findImage(h.client, repo, fixtures.attestation);
    expect(attestation?.imageDigest).toBe(fixtures.attestation);

    const pulled = await pullFromEmulator(h, repo, '2.0', true);
    expect(pulled.root.digest).toBe(indexDigest);
    expect(pulled.manifests.map((m) => m.digest).sort()).toEqual(fixtures.multi.manifests.map((m) => m.digest).sort());
    expect(pulled.blobs.map((b) => b.digest).sort()).toEqual(fixtures.multi.blobs.map((b) => b.digest).sort());
    for (const m of pulled.manifests) expect(sha256(m.bytes)).toBe(m.digest);
  });

  test('one platform out of an index: its image is the root, the tag points at it, the other platform stays behind', async () => {
    const repo = uniqueName('platform');
    await createRepository(h.client, repo);

    const res = await invokeOk(h, handler, createEvent<ImageProperties>(h, TYPE,
      registryProps(repo, `${registry.host}/acme/multi:2.0`, { Tags: ['arm'], SourcePlatform: 'linux/arm64' })));

    expect(res.Data).toMatchObject({ ImageDigest: childDigests.arm64, SourceDigest: indexDigest });
    expect(res.PhysicalResourceId).toBe(`${repo}@${childDigests.arm64}`);
    expect(await emulatorDigest(h, repo, 'arm')).toBe(childDigests.arm64);
    expect(await findImage(h.client, repo, childDigests.amd64)).toBeUndefined();
    expect(await findImage(h.client, repo, indexDigest)).toBeUndefined();
    const pulled = await pullFromEmulator(h, repo, 'arm');
    expect(pulled.root.digest).toBe(childDigests.arm64);
    const configDigest = JSON.parse(pulled.root.bytes.toString('utf8')).config.digest;
    const config = JSON.parse(fs.readFileSync(pulled.blobs.find((b) => b.digest === configDigest)!.path, 'utf8'));
    expect(config).toMatchObject({ os: 'linux', architecture: 'arm64' });
  });

  test('copying again uploads nothing and reads no blob from the source', async () => {
    const repo = uniqueName('again');
    await createRepository(h.client, repo);
    const props = registryProps(repo, `${registry.host}/acme/multi:2.0`, { Tags: ['2.0'] });
    await invokeOk(h, handler, createEvent<ImageProperties>(h, TYPE, props));

    const sent = spyOnClients(h);
    const urls = spyOnFetch();
    const res = await invokeOk(h, handler, createEvent<ImageProperties>(h, TYPE, props));

    expect(res.Data).toMatchObject({ ImageDigest: indexDigest });
    expect(count(sent.ecr, 'InitiateLayerUpload')).toBe(0);
    expect(count(sent.ecr, 'UploadLayerPart')).toBe(0);
    const fromSource = urls.filter((u) => u.startsWith(registry.url));
    // Each of the 4 manifests, and for each its referrers: the API (404 on docker-registry), then the referrers tag.
    expect(fromSource.filter((u) => u.includes('/manifests/sha256:') || u.endsWith('/manifests/2.0')).length).toBe(4);
    expect(fromSource.filter((u) => u.includes('/referrers/sha256:')).length).toBe(4);
    expect(fromSource.filter((u) => u.includes('/manifests/sha256-')).length).toBe(4);
    expect(fromSource.filter((u) => u.includes('/blobs/'))).toEqual([]);
    expect(summaries(h).at(-1)).toMatchObject({ blobsUploaded: 0, bytesUploaded: 0, blobsSkipped: fixtures.multi.blobs.length });
  });

  test('a tag that is not there fails with the registry\'s MANIFEST_UNKNOWN, and nothing is pushed', async () => {
    const repo = uniqueName('missing');
    await createRepository(h.client, repo);
    const sent = spyOnClients(h);

    const res = await invoke(h, handler, createEvent<ImageProperties>(h, TYPE, registryProps(repo, `${registry.host}/acme/tool:nope`)));

    expect(res.Status).toBe('FAILED');
    expect(res.PhysicalResourceId).toBe(CREATE_FAILED_MARKER);
    expect(res.Reason).toMatch(new RegExp(`^MANIFEST_UNKNOWN: GET ${registry.host}/acme/tool manifest nope: manifest unknown .*\\(HTTP 404\\)`));
    expect(count(sent.ecr, 'PutImage')).toBe(0);
    expect(count(sent.ecr, 'InitiateLayerUpload')).toBe(0);
    expect(summaries(h).at(-1)).toMatchObject({ outcome: 'FAILED', ref: `${registry.host}/acme/tool:nope` });
  });

  test('a platform the index does not have fails and lists the platforms it has', async () => {
    const repo = uniqueName('no-platform');
    await createRepository(h.client, repo);
    const res = await invoke(h, handler, createEvent<ImageProperties>(h, TYPE,
      registryProps(repo, `${registry.host}/acme/multi:2.0`, { SourcePlatform: 'linux/s390x' })));
    expect(res.Status).toBe('FAILED');
    expect(res.Reason).toBe(`ImagePublishError: ${registry.host}/acme/multi:2.0 has no image for linux/s390x; its platforms: linux/amd64, linux/arm64`);
  });

  test('a single-platform image asked for another platform fails naming the platform it is', async () => {
    const repo = uniqueName('wrong-platform');
    await createRepository(h.client, repo);
    const res = await invoke(h, handler, createEvent<ImageProperties>(h, TYPE,
      registryProps(repo, `${registry.host}/acme/tool:1.0`, { SourcePlatform: 'linux/arm64' })));
    expect(res.Status).toBe('FAILED');
    expect(res.Reason).toBe(`ImagePublishError: ${registry.host}/acme/tool:1.0 is a single-platform image for linux/amd64, not linux/arm64`);
  });

  test('delete with DeleteOnRemove removes the index and its children, read again from the source by digest', async () => {
    const repo = uniqueName('delete');
    await createRepository(h.client, repo);
    const props = registryProps(repo, `${registry.host}/acme/multi:2.0`, { Tags: ['2.0'], DeleteOnRemove: 'true' });
    const created = await invokeOk(h, handler, createEvent<ImageProperties>(h, TYPE, props));
    expect((await findImage(h.client, repo, childDigests.arm64))?.imageDigest).toBe(childDigests.arm64);
    const urls = spyOnFetch();

    await invokeOk(h, handler, deleteEvent<ImageProperties>(h, TYPE, created.PhysicalResourceId, props));

    // The index was read by the digest that was published, not by its (movable) tag.
    expect(urls.filter((u) => u.startsWith(registry.url) && u.includes('/manifests/'))[0]).toBe(`${registry.url}/v2/acme/multi/manifests/${indexDigest}`);
    for (const digest of [indexDigest, childDigests.amd64, childDigests.arm64, fixtures.attestation]) {
      expect(await findImage(h.client, repo, digest)).toBeUndefined();
    }
  });
});
