/**
 * The archive inspector on OCI sources built by real tools: layouts from umoci, `oci-archive` tars from skopeo, the
 * same gzip-compressed, a multi-platform index with an attestation manifest, a layout holding two images, and a
 * Docker 25+ `docker save` (an OCI layout that is also a docker-save archive). Each plan's root digest must equal what
 * skopeo reads from the same source, and every blob's byte range in the returned tar must hash to its digest.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { inspectImageArchive, InspectedArchive } from '../../src/private/archive/inspect';
import { sha256 } from '../../src/shared/oci/digest';
import { OCI_INDEX, OCI_MANIFEST, DOCKER_MANIFEST } from '../../src/shared/oci/media-types';
import { savedImage, writeDocker25Save } from '../support/docker-save';
import { OciLayoutImage, readOciLayout } from '../support/oci-layout';
import { planProblems } from '../support/publish-plan-check';
import { run } from '../support/run-tool';
import { skopeoCopy, skopeoInspectRaw, skopeoRawDigest } from '../support/skopeo';
import { gzipFile, tarDirectory } from '../support/tar-files';
import { makeTempDir, removeTempDir } from '../support/temp-dirs';
import { addAttestationManifest, buildImage, buildMultiPlatformLayout } from '../support/umoci-images';

let tmp: string;
let staging: string;
let single: OciLayoutImage;
let singleDir: string;
let ociArchive: string;
let multi: OciLayoutImage;
let multiDir: string;
let twoDir: string;

beforeAll(async () => {
  tmp = makeTempDir('archive-oci-');
  staging = path.join(tmp, 'staging');
  singleDir = path.join(tmp, 'single');
  single = await buildImage(singleDir, { tag: 'v1', layers: 2, files: { '/etc/motd': 'hello\n', '/app/data.bin': Buffer.alloc(40_000, 3) } });
  ociArchive = path.join(tmp, 'single.oci.tar');
  await skopeoCopy(`oci:${singleDir}:v1`, `oci-archive:${ociArchive}:v1`);

  multiDir = path.join(tmp, 'multi');
  await buildMultiPlatformLayout(multiDir, { tag: 'all', files: { '/srv/index.html': '<h1>hi</h1>\n' } });
  multi = addAttestationManifest(multiDir, 'all');

  twoDir = path.join(tmp, 'two');
  await buildImage(twoDir, { tag: 'one', files: { '/one': '1\n' } });
  await buildImage(twoDir, { tag: 'two', files: { '/two': '2\n' } });
});

afterAll(() => removeTempDir(tmp));

function inspect(source: string, ref?: string): InspectedArchive {
  return inspectImageArchive(source, { ref, stagingDir: staging });
}

function blobDigests(result: InspectedArchive): string[] {
  return result.plan.blobs.map(b => b.digest).sort();
}

describe('single-platform image', () => {
  test('an OCI layout directory is packed into a tar in the staging dir, which skopeo also reads', async () => {
    const result = inspect(singleDir);
    expect(path.dirname(result.archivePath)).toBe(staging);
    expect(path.basename(result.archivePath)).toMatch(/^layout-[0-9a-f]{64}\.tar$/);
    expect(result.plan.rootDigest).toBe(await skopeoRawDigest(`oci:${singleDir}:v1`));
    expect(result.plan.rootDigest).toBe(single.root.digest);
    expect(planProblems(result.archivePath, result.plan)).toEqual([]);
    expect(blobDigests(result)).toEqual(single.blobs.map(b => b.digest).sort());
    expect(result.plan.manifests).toEqual([{ digest: single.root.digest, mediaType: OCI_MANIFEST, manifest: single.root.bytes.toString('utf8') }]);
    expect(result.plan.ref).toBe('v1');
    expect(result.refs).toEqual(['v1']);
    // The packed tar is a valid OCI archive in its own right.
    expect(await skopeoRawDigest(`oci-archive:${result.archivePath}:v1`)).toBe(single.root.digest);
  });

  test('packing is deterministic and a re-synth reuses the staged tar', () => {
    const first = inspect(singleDir);
    const mtime = fs.statSync(first.archivePath).mtimeMs;
    const again = inspectImageArchive(singleDir, { stagingDir: staging });
    expect(again).toEqual(first);
    expect(fs.statSync(again.archivePath).mtimeMs).toBe(mtime);
    const elsewhere = inspectImageArchive(singleDir, { stagingDir: path.join(tmp, 'other-staging') });
    expect(path.basename(elsewhere.archivePath)).toBe(path.basename(first.archivePath));
    expect(fs.readFileSync(elsewhere.archivePath).equals(fs.readFileSync(first.archivePath))).toBe(true);
  });

  test('an oci-archive written by skopeo is used in place, nothing is staged', async () => {
    const unused = path.join(tmp, 'unused-staging');
    const result = inspectImageArchive(ociArchive, { stagingDir: unused });
    expect(fs.existsSync(unused)).toBe(false);
    expect(result.archivePath).toBe(path.resolve(ociArchive));
    expect(result.plan.rootDigest).toBe(await skopeoRawDigest(`oci-archive:${ociArchive}:v1`));
    expect(planProblems(result.archivePath, result.plan)).toEqual([]);
    expect(blobDigests(result)).toEqual(single.blobs.map(b => b.digest).sort());
  });

  test('a gzip-compressed oci-archive (detected by magic, whatever its name) is decompressed into the staging dir', async () => {
    const gz = path.join(tmp, 'single.oci.tar.bin');
    await gzipFile(ociArchive, gz);
    const plain = inspect(ociArchive);
    const result = inspect(gz);
    expect(path.dirname(result.archivePath)).toBe(staging);
    expect(path.basename(result.archivePath)).toMatch(/^gunzip-[0-9a-f]{64}\.tar$/);
    expect(fs.readFileSync(result.archivePath).equals(fs.readFileSync(ociArchive))).toBe(true);
    expect(result.plan).toEqual(plain.plan);
    expect(planProblems(result.archivePath, result.plan)).toEqual([]);
    const mtime = fs.statSync(result.archivePath).mtimeMs;
    expect(inspect(gz).archivePath).toBe(result.archivePath);
    expect(fs.statSync(result.archivePath).mtimeMs).toBe(mtime);
    expect(fs.readdirSync(staging).filter(f => f.endsWith('.tmp'))).toEqual([]);
  });

  test('a docker schema 2 manifest in an OCI layout (skopeo --format v2s2) keeps its own media type', async () => {
    const v2s2 = path.join(tmp, 'v2s2');
    await skopeoCopy(`oci:${singleDir}:v1`, `oci:${v2s2}:v1`, ['--format', 'v2s2']);
    // skopeo writes the layout but does not read docker media types back from one: check the blob itself.
    const entry = JSON.parse(fs.readFileSync(path.join(v2s2, 'index.json'), 'utf8')).manifests[0];
    const raw = fs.readFileSync(path.join(v2s2, 'blobs', 'sha256', entry.digest.slice('sha256:'.length)));
    expect(entry.mediaType).toBe(DOCKER_MANIFEST);
    const result = inspect(v2s2);
    expect(result.plan.rootDigest).toBe(sha256(raw));
    expect(result.plan.rootDigest).toBe(entry.digest);
    expect(result.plan.manifests[0].mediaType).toBe(DOCKER_MANIFEST);
    expect(planProblems(result.archivePath, result.plan)).toEqual([]);
  });
});

describe('multi-platform index with an attestation manifest', () => {
  test('the layout: every child manifest, the artifact included, before the index', async () => {
    const result = inspect(multiDir);
    expect(result.plan.rootDigest).toBe(await skopeoRawDigest(`oci:${multiDir}:all`));
    const digests = result.plan.manifests.map(m => m.digest);
    expect(digests).toEqual(multi.manifests.map(m => m.digest));
    expect(digests).toHaveLength(4); // amd64, arm64, attestation, index
    expect(result.plan.manifests[3]).toMatchObject({ digest: multi.root.digest, mediaType: OCI_INDEX });
    const attestation = JSON.parse(result.plan.manifests[2].manifest);
    expect(attestation.artifactType).toBe('application/vnd.in-toto+json');
    expect(result.plan.blobs.map(b => b.mediaType)).toEqual(expect.arrayContaining(['application/vnd.in-toto+json', 'application/vnd.oci.empty.v1+json']));
    expect(blobDigests(result)).toEqual(multi.blobs.map(b => b.digest).sort());
    expect(planProblems(result.archivePath, result.plan)).toEqual([]);
  });

  test('the same layout as a tar (as `docker buildx --output type=oci` writes it)', async () => {
    const tar = path.join(tmp, 'multi.tar');
    await tarDirectory(multiDir, tar);
    const result = inspect(tar);
    expect(result.archivePath).toBe(tar);
    expect(result.plan.rootDigest).toBe(await skopeoRawDigest(`oci-archive:${tar}:all`));
    expect(result.plan.manifests.map(m => m.digest)).toEqual(multi.manifests.map(m => m.digest));
    expect(planProblems(result.archivePath, result.plan)).toEqual([]);
  });

  test('one platform can be selected by its manifest digest, though index.json does not list it', async () => {
    const arm64 = multi.manifests.find(m => m.platform?.architecture === 'arm64')!;
    const result = inspect(multiDir, arm64.digest);
    expect(result.plan.rootDigest).toBe(arm64.digest);
    expect(result.plan.manifests.map(m => m.digest)).toEqual([arm64.digest]);
    expect(result.plan.ref).toBe(arm64.digest);
    expect(planProblems(result.archivePath, result.plan)).toEqual([]);
  });
});

describe('an archive with two images', () => {
  test('without a ref: an error listing the refs', () => {
    expect(() => inspect(twoDir)).toThrow(`${twoDir}: holds 2 images; choose one with ref: one of [one, two]`);
  });

  test('a ref that matches nothing: an error listing the refs', () => {
    expect(() => inspect(twoDir, 'three')).toThrow(`${twoDir}: has no image matching ref 'three'; available refs: [one, two]`);
  });

  test('selected by tag or by digest, in a layout and in a tar', async () => {
    const tar = path.join(tmp, 'two.tar');
    await tarDirectory(twoDir, tar);
    for (const source of [twoDir, tar]) {
      const two = inspect(source, 'two');
      expect(two.refs).toEqual(['one', 'two']);
      expect(two.plan.ref).toBe('two');
      expect(two.plan.rootDigest).toBe(await skopeoRawDigest(`oci:${twoDir}:two`));
      expect(planProblems(two.archivePath, two.plan)).toEqual([]);
      const one = inspect(source, 'one');
      expect(one.plan.rootDigest).toBe(await skopeoRawDigest(`oci-archive:${tar}:one`));
      expect(inspect(source, one.plan.rootDigest).plan).toEqual({ ...one.plan, ref: one.plan.rootDigest });
    }
  });

  test('the packed tar of one image holds the layout metadata and that image\'s blobs only', async () => {
    const one = inspect(twoDir, 'one');
    expect(one.archivePath).not.toBe(inspect(twoDir, 'two').archivePath);
    const listed = (await run('tar', ['-tf', one.archivePath])).stdout.toString('utf8').trim().split('\n');
    const image = readOciLayout(twoDir, 'one');
    const expected = ['oci-layout', 'index.json', ...[image.root, ...image.blobs].map(b => `blobs/sha256/${b.digest.slice('sha256:'.length)}`)];
    expect(listed.sort()).toEqual(expected.sort());
  });
});

describe('Docker 25+ docker save (OCI layout and manifest.json in one tar)', () => {
  let dir: string;
  let tar: string;
  let digest: string;

  beforeAll(async () => {
    dir = path.join(tmp, 'docker25');
    [digest] = writeDocker25Save(dir, [savedImage(single, ['web:v1', 'web:latest'])]);
    tar = path.join(tmp, 'docker25.tar');
    await tarDirectory(dir, tar);
  });

  test('the OCI side is used: the generated manifest with uncompressed layers, byte for byte', async () => {
    const result = inspect(tar);
    expect(result.plan.rootDigest).toBe(digest);
    expect(result.plan.rootDigest).toBe(await skopeoRawDigest(`oci-archive:${tar}:v1`));
    expect(result.plan.blobs.filter(b => b.mediaType === 'application/vnd.oci.image.layer.v1.tar')).toHaveLength(2);
    expect(planProblems(result.archivePath, result.plan)).toEqual([]);
    // Two tags of one image are one image: no ref needed.
    expect(result.refs).toEqual(['v1', 'docker.io/library/web:v1', 'latest', 'docker.io/library/web:latest']);
  });

  test('a tag, a familiar name, a full name or a digest selects it', () => {
    for (const ref of ['v1', 'latest', 'web:v1', 'web', 'docker.io/library/web:v1', digest, `web@${digest}`]) {
      expect(inspect(tar, ref).plan).toMatchObject({ rootDigest: digest, ref });
    }
  });

  test('"manifests": null in index.json (moby#47210) falls back to manifest.json', async () => {
    const nullDir = path.join(tmp, 'docker25-null');
    writeDocker25Save(nullDir, [savedImage(single, ['web:v1'])], { nullManifests: true });
    const nullTar = path.join(tmp, 'docker25-null.tar');
    await tarDirectory(nullDir, nullTar);
    const result = inspect(nullTar);
    const skopeoRaw = (await skopeoInspectRaw(`docker-archive:${nullTar}`)).toString('utf8');
    // containers/image labels docker-archive layers gzip although they are not; everything else must be identical.
    expect(result.plan.manifests[0].manifest).toBe(skopeoRaw.split('rootfs.diff.tar.gzip').join('rootfs.diff.tar'));
    expect(result.plan.manifests[0].mediaType).toBe(DOCKER_MANIFEST);
    expect(planProblems(result.archivePath, result.plan)).toEqual([]);
    expect(result.refs).toEqual(['web:v1']);
  });
});
