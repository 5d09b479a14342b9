/**
 * skopeo pushes images built with umoci into the emulator through the registry push API, with the password of
 * GetAuthorizationToken; the ECR Public API then sees them as images pushed through it, and skopeo pulls them back.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { DescribeRepositoriesCommand, PutImageCommand } from '@aws-sdk/client-ecr-public';
import {
  describeImages, Harness, layerAvailability, OCI_INDEX, OCI_MANIFEST, sha256, skopeoFailure, skopeoPush, startHarness, stopHarness,
} from './support';
import { OciLayoutImage, readOciLayout, sha256File } from '../../support/oci-layout';
import { skopeo, skopeoCopy, skopeoInspectRaw } from '../../support/skopeo';
import { makeTempDir, removeTempDir } from '../../support/temp-dirs';
import { buildImage, buildMultiPlatformLayout } from '../../support/umoci-images';

const SINGLE = 'push/single';
const MULTI = 'push/multi';
const OTHER = 'push/other';

let h: Harness;
let tmp: string;
let single: OciLayoutImage;
let second: OciLayoutImage;
let multi: OciLayoutImage;

function ref(repo: string, reference: string): string {
  return `docker://${h.emu.host}/${h.alias}/${repo}${reference.startsWith('sha256:') ? '@' : ':'}${reference}`;
}

function creds(): string {
  return `AWS:${h.password}`;
}

beforeAll(async () => {
  tmp = makeTempDir('skopeo-push-');
  h = await startHarness([SINGLE, MULTI, OTHER]);
  single = await buildImage(path.join(tmp, 'single'), {
    tag: 'v1',
    layers: 2,
    files: { 'etc/greeting': 'pushed by skopeo\n', 'usr/share/data.bin': Buffer.alloc(8192, 3) },
  });
  second = await buildImage(path.join(tmp, 'single'), { tag: 'v2', files: { 'etc/greeting': 'the second image\n' } });
  multi = await buildMultiPlatformLayout(path.join(tmp, 'multi'), { tag: 'm1', files: { 'etc/motd': 'multi\n' } });
});

afterAll(async () => {
  await stopHarness(h);
  removeTempDir(tmp);
});

describe('skopeo copy into the emulator', () => {
  test('a single-platform image: DescribeImages shows its digest and tag, its blobs are AVAILABLE', async () => {
    await skopeoPush(`oci:${single.layoutDir}:v1`, ref(SINGLE, 'v1'), creds());

    const images = await describeImages(h.client, SINGLE);
    expect(images).toHaveLength(1);
    expect(images[0].imageDigest).toBe(single.root.digest);
    expect(images[0].imageTags).toEqual(['v1']);
    expect(images[0].imageManifestMediaType).toBe(OCI_MANIFEST);
    const layers = single.root.json.layers as Array<{ digest: string; size: number }>;
    expect(layers).toHaveLength(2);
    expect(images[0].imageSizeInBytes).toBe(layers.reduce((n, l) => n + l.size, 0));

    const availability = await layerAvailability(h.client, SINGLE, single.blobs.map((b) => b.digest));
    expect(single.blobs).toHaveLength(3);
    for (const blob of single.blobs) expect(availability.get(blob.digest)).toBe('AVAILABLE');
    // Blobs are per repository: the other repository has none of them.
    const elsewhere = await layerAvailability(h.client, OTHER, single.blobs.map((b) => b.digest));
    for (const blob of single.blobs) expect(elsewhere.get(blob.digest)).toBe('UNAVAILABLE');
  });

  test('skopeo pulls it back byte for byte', async () => {
    const out = path.join(tmp, 'pulled-single');
    await skopeoCopy(ref(SINGLE, 'v1'), `oci:${out}:v1`);
    const pulled = readOciLayout(out, 'v1');
    expect(pulled.root.digest).toBe(single.root.digest);
    expect(pulled.root.bytes.equals(single.root.bytes)).toBe(true);
    expect(pulled.blobs.map((b) => b.digest)).toEqual(single.blobs.map((b) => b.digest));
    for (const blob of pulled.blobs) {
      const original = single.blobs.find((b) => b.digest === blob.digest)!;
      expect(fs.readFileSync(blob.path).equals(fs.readFileSync(original.path))).toBe(true);
      expect(await sha256File(blob.path)).toBe(blob.digest);
    }
  });

  test('a multi-platform index with --all: the index tagged, every child stored untagged', async () => {
    await skopeoPush(`oci:${multi.layoutDir}:m1`, ref(MULTI, 'm1'), creds(), ['--all']);

    const images = await describeImages(h.client, MULTI);
    expect(images.map((i) => i.imageDigest).sort()).toEqual(multi.manifests.map((m) => m.digest).sort());
    expect(images).toHaveLength(3);
    const index = images.find((i) => i.imageDigest === multi.root.digest)!;
    expect(index.imageTags).toEqual(['m1']);
    expect(index.imageManifestMediaType).toBe(OCI_INDEX);
    for (const child of multi.images) {
      const detail = images.find((i) => i.imageDigest === child.digest)!;
      expect(detail.imageTags).toBeUndefined();
      expect(detail.imageManifestMediaType).toBe(OCI_MANIFEST);
    }
    const availability = await layerAvailability(h.client, MULTI, multi.blobs.map((b) => b.digest));
    for (const blob of multi.blobs) expect(availability.get(blob.digest)).toBe('AVAILABLE');

    const out = path.join(tmp, 'pulled-multi');
    await skopeoCopy(ref(MULTI, 'm1'), `oci:${out}:m1`, ['--all']);
    const pulled = readOciLayout(out, 'm1');
    expect(pulled.root.bytes.equals(multi.root.bytes)).toBe(true);
    expect(pulled.manifests.map((m) => m.digest)).toEqual(multi.manifests.map((m) => m.digest));
    for (const m of pulled.manifests) {
      expect(m.bytes.equals(multi.manifests.find((o) => o.digest === m.digest)!.bytes)).toBe(true);
    }
    expect(pulled.blobs.map((b) => b.digest).sort()).toEqual(multi.blobs.map((b) => b.digest).sort());
    for (const blob of pulled.blobs) expect(await sha256File(blob.path)).toBe(blob.digest);
  });

  test('a second tag for the same image, then a tag moved to another image', async () => {
    await skopeoPush(`oci:${single.layoutDir}:v1`, ref(SINGLE, 'stable'), creds());
    let images = await describeImages(h.client, SINGLE);
    expect(images).toHaveLength(1);
    expect(images[0].imageTags?.slice().sort()).toEqual(['stable', 'v1']);

    // `stable` moves to the second image; the first keeps v1.
    await skopeoPush(`oci:${second.layoutDir}:v2`, ref(SINGLE, 'stable'), creds());
    images = await describeImages(h.client, SINGLE);
    expect(images).toHaveLength(2);
    expect(images.find((i) => i.imageDigest === single.root.digest)?.imageTags).toEqual(['v1']);
    expect(images.find((i) => i.imageDigest === second.root.digest)?.imageTags).toEqual(['stable']);
    expect(sha256(await skopeoInspectRaw(ref(SINGLE, 'stable')))).toBe(second.root.digest);
  });

  test('a pushed blob serves PutImage through the API: one store of blobs for both paths', async () => {
    // The manifest of the second image, put through the API under another tag, needs its blobs: they came by skopeo.
    const out = await h.client.send(new PutImageCommand({
      repositoryName: SINGLE,
      imageManifest: second.root.bytes.toString('utf8'),
      imageManifestMediaType: OCI_MANIFEST,
      imageTag: 'via-api',
    }));
    expect(out.image?.imageId?.imageDigest).toBe(second.root.digest);
    await expect(h.client.send(new PutImageCommand({
      repositoryName: OTHER,
      imageManifest: second.root.bytes.toString('utf8'),
      imageManifestMediaType: OCI_MANIFEST,
    }))).rejects.toThrow(expect.objectContaining({ name: 'LayersNotFoundException' }));
  });
});

describe('skopeo copy without good credentials', () => {
  test('without credentials the push fails and stores nothing', async () => {
    const stderr = await skopeoFailure(skopeoPush(`oci:${single.layoutDir}:v1`, ref(OTHER, 'v1'), undefined));
    expect(stderr).toMatch(/authentication required/);
    expect(await describeImages(h.client, OTHER)).toEqual([]);
    const availability = await layerAvailability(h.client, OTHER, single.blobs.map((b) => b.digest));
    for (const blob of single.blobs) expect(availability.get(blob.digest)).toBe('UNAVAILABLE');
  });

  test('a password GetAuthorizationToken did not issue is refused', async () => {
    for (const wrong of [`AWS:${h.password}x`, `admin:${h.password}`]) {
      const stderr = await skopeoFailure(skopeoPush(`oci:${single.layoutDir}:v1`, ref(OTHER, 'v1'), wrong));
      expect(stderr).toMatch(/not a password issued by GetAuthorizationToken/);
    }
    expect(await describeImages(h.client, OTHER)).toEqual([]);
  });

  test('skopeo login checks the password against the ping', async () => {
    const authfile = path.join(tmp, 'auth.json');
    const stderr = await skopeoFailure(skopeo(['login', '--tls-verify=false', '--authfile', authfile, '-u', 'AWS', '-p', 'not-issued', h.emu.host]));
    expect(stderr).toMatch(/invalid username\/password|unauthorized/i);
    expect(fs.existsSync(authfile) ? fs.readFileSync(authfile, 'utf8') : '').not.toContain(h.emu.host);
    await skopeo(['login', '--tls-verify=false', '--authfile', authfile, '-u', 'AWS', '-p', h.password, h.emu.host]);
    expect(fs.readFileSync(authfile, 'utf8')).toContain(h.emu.host);
  });

  test('a push into a repository that does not exist fails: pushes create no repository', async () => {
    const stderr = await skopeoFailure(skopeoPush(`oci:${single.layoutDir}:v1`, ref('push/nowhere', 'v1'), creds()));
    expect(stderr).toMatch(/name unknown: The repository with name 'push\/nowhere' does not exist/);
    const repos = await h.client.send(new DescribeRepositoriesCommand({}));
    expect((repos.repositories ?? []).map((r) => r.repositoryName).sort()).toEqual([MULTI, OTHER, SINGLE].sort());
  });
});
