/**
 * Real-client test of the emulator's registry pull API: images built with umoci, pushed through the ECR Public API
 * (pushOciLayout), pulled back with skopeo and by plain HTTP requests (OCI distribution spec).
 */
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { CreateRepositoryCommand, DescribeImagesCommand, ECRPUBLICClient } from '@aws-sdk/client-ecr-public';
import { sha256 } from '../../../src/shared/oci/digest';
import { DOCKER_MANIFEST, DOCKER_MANIFEST_LIST, OCI_INDEX, OCI_MANIFEST } from '../../../src/shared/oci/media-types';
import { pushOciLayout } from '../../support/ecr-push';
import { primaryRegistryAlias, RunningEmulator, startInProcess } from '../../support/emulator-harness';
import { OciLayoutImage, readOciLayout, sha256File } from '../../support/oci-layout';
import { skopeoCopy, skopeoInspect, skopeoInspectRaw, skopeoListTags } from '../../support/skopeo';
import { makeTempDir, removeTempDir } from '../../support/temp-dirs';
import { buildImage, buildMultiPlatformLayout } from '../../support/umoci-images';

type Emulator = RunningEmulator;

const ACCEPT_ALL = [OCI_MANIFEST, OCI_INDEX, DOCKER_MANIFEST, DOCKER_MANIFEST_LIST].join(', ');
const SINGLE_REPO = 'demo/web';
const MULTI_REPO = 'demo/multi';

let tmp: string;
let emu: Emulator;
let client: ECRPUBLICClient;
let alias: string;
let single: OciLayoutImage;
let multi: OciLayoutImage;
let singleDigest: string;
let multiDigest: string;
let againDigest: string;
const firstStats = { uploaded: [] as string[], skipped: [] as string[], parts: 0 };
const againStats = { uploaded: [] as string[], skipped: [] as string[], parts: 0 };

function dockerRef(repo: string, ref: string): string {
  return `docker://${emu.host}/${alias}/${repo}${ref.startsWith('sha256:') ? '@' : ':'}${ref}`;
}

function v2(repoPath: string): string {
  return `${emu.endpoint}/v2/${repoPath}`;
}

async function errorCode(res: Response): Promise<string | undefined> {
  const body = await res.text();
  let parsed: any;
  try {
    parsed = JSON.parse(body);
  } catch {
    throw new Error(`error body is not JSON (status ${res.status}): ${body}`);
  }
  expect(Array.isArray(parsed.errors)).toBe(true);
  expect(typeof parsed.errors[0].message).toBe('string');
  return parsed.errors[0].code;
}

beforeAll(async () => {
  tmp = makeTempDir('skopeo-pull-');
  ({ emu, client } = await startInProcess());

  const created = await client.send(new CreateRepositoryCommand({ repositoryName: SINGLE_REPO }));
  await client.send(new CreateRepositoryCommand({ repositoryName: MULTI_REPO }));
  alias = await primaryRegistryAlias(client);
  expect(created.repository?.repositoryUri).toBe(`${emu.host}/${alias}/${SINGLE_REPO}`);

  single = await buildImage(path.join(tmp, 'single'), {
    tag: 'v1',
    layers: 2,
    files: { 'etc/greeting': 'hello from umoci\n', 'usr/share/data.bin': Buffer.alloc(4096, 7), 'app/main.txt': 'main\n' },
  });
  multi = await buildMultiPlatformLayout(path.join(tmp, 'multi'), { tag: 'm1', files: { 'etc/motd': 'multi\n' } });

  singleDigest = await pushOciLayout(client, SINGLE_REPO, single.layoutDir, { tag: 'v1' }, firstStats);
  multiDigest = await pushOciLayout(client, MULTI_REPO, multi.layoutDir, { tag: 'm1' });
  // The same image again under a second tag: every blob is already there.
  againDigest = await pushOciLayout(client, SINGLE_REPO, single.layoutDir, { tag: 'again', layoutTag: 'v1' }, againStats);
});

afterAll(async () => {
  client?.destroy();
  await emu?.stop();
  removeTempDir(tmp);
});

describe('pushOciLayout against the emulator', () => {
  test('the pushed digests are the layout digests and DescribeImages reports the image', async () => {
    expect(single.root.isIndex).toBe(false);
    expect(single.root.json.layers).toHaveLength(2);
    expect(singleDigest).toBe(single.root.digest);
    // config + 2 layers, each smaller than a part: one part each.
    expect(firstStats.uploaded).toEqual(single.blobs.map(b => b.digest));
    expect(firstStats.uploaded).toHaveLength(3);
    expect(firstStats.parts).toBe(3);
    expect(multiDigest).toBe(multi.root.digest);

    const out = await client.send(new DescribeImagesCommand({ repositoryName: SINGLE_REPO }));
    expect(out.imageDetails).toHaveLength(1);
    const detail = out.imageDetails![0];
    expect(detail.imageDigest).toBe(single.root.digest);
    expect(detail.imageTags?.slice().sort()).toEqual(['again', 'v1']);
    expect(detail.imageManifestMediaType).toBe(OCI_MANIFEST);
    const layerSum = (single.root.json.layers as Array<{ size: number }>).reduce((n, l) => n + l.size, 0);
    expect(detail.imageSizeInBytes).toBe(layerSum);

    const multiImages = await client.send(new DescribeImagesCommand({ repositoryName: MULTI_REPO }));
    const digests = (multiImages.imageDetails ?? []).map(d => d.imageDigest).sort();
    expect(digests).toEqual(multi.manifests.map(m => m.digest).sort());
    const index = multiImages.imageDetails!.find(d => d.imageDigest === multi.root.digest)!;
    expect(index.imageTags).toEqual(['m1']);
    expect(index.imageManifestMediaType).toBe(OCI_INDEX);
  });

  test('a second push of the same layout under a new tag uploads nothing', async () => {
    expect(againDigest).toBe(single.root.digest);
    expect(againStats.uploaded).toEqual([]);
    expect(againStats.parts).toBe(0);
    expect(againStats.skipped.slice().sort()).toEqual(single.blobs.map(b => b.digest).sort());
    const out = await client.send(new DescribeImagesCommand({ repositoryName: SINGLE_REPO, imageIds: [{ imageDigest: againDigest }] }));
    expect(out.imageDetails?.[0].imageTags?.slice().sort()).toEqual(['again', 'v1']);
  });
});

describe('skopeo pulls from the emulator', () => {
  test('skopeo copy by tag reproduces the manifest, config and layers byte for byte', async () => {
    const out = path.join(tmp, 'pulled-by-tag');
    await skopeoCopy(dockerRef(SINGLE_REPO, 'v1'), `oci:${out}:v1`);
    const pulled = readOciLayout(out, 'v1');
    expect(pulled.root.digest).toBe(single.root.digest);
    expect(pulled.root.bytes.equals(single.root.bytes)).toBe(true);
    expect(pulled.root.json.config.digest).toBe(single.root.json.config.digest);
    expect(pulled.blobs.map(b => b.digest)).toEqual(single.blobs.map(b => b.digest));
    for (const blob of pulled.blobs) {
      expect(await sha256File(blob.path)).toBe(blob.digest);
    }
  });

  test('skopeo inspect --raw returns the exact manifest bytes, by tag and by digest', async () => {
    const byTag = await skopeoInspectRaw(dockerRef(SINGLE_REPO, 'v1'));
    expect(sha256(byTag)).toBe(single.root.digest);
    expect(byTag.equals(single.root.bytes)).toBe(true);
    const byDigest = await skopeoInspectRaw(dockerRef(SINGLE_REPO, single.root.digest));
    expect(byDigest.equals(single.root.bytes)).toBe(true);
    const index = await skopeoInspectRaw(dockerRef(MULTI_REPO, 'm1'));
    expect(index.equals(multi.root.bytes)).toBe(true);
  });

  test('skopeo inspect resolves the platform images of the index', async () => {
    for (const architecture of ['arm64', 'amd64']) {
      const child = multi.images.find(m => m.platform?.architecture === architecture)!;
      const info = await skopeoInspect(dockerRef(MULTI_REPO, 'm1'), { architecture });
      expect(info.Architecture).toBe(architecture);
      expect(info.Os).toBe('linux');
      expect(info.Digest).toBe(multi.root.digest);
      expect(info.Layers).toEqual(child.json.layers.map((l: { digest: string }) => l.digest));
    }
  });

  test('skopeo copy --all of a multi-platform index keeps the index and every child', async () => {
    const out = path.join(tmp, 'pulled-multi');
    await skopeoCopy(dockerRef(MULTI_REPO, 'm1'), `oci:${out}:m1`, ['--all']);
    const pulled = readOciLayout(out, 'm1');
    expect(pulled.root.isIndex).toBe(true);
    expect(pulled.root.digest).toBe(multi.root.digest);
    expect(pulled.root.bytes.equals(multi.root.bytes)).toBe(true);
    expect(pulled.manifests.map(m => m.digest)).toEqual(multi.manifests.map(m => m.digest));
    expect(pulled.images.map(m => m.platform?.architecture)).toEqual(['amd64', 'arm64']);
    expect(pulled.blobs.map(b => b.digest).sort()).toEqual(multi.blobs.map(b => b.digest).sort());
  });

  test('skopeo copy by digest', async () => {
    const out = path.join(tmp, 'pulled-by-digest');
    await skopeoCopy(dockerRef(SINGLE_REPO, single.root.digest), `oci:${out}:bydigest`);
    const pulled = readOciLayout(out, 'bydigest');
    expect(pulled.root.digest).toBe(single.root.digest);
    expect(pulled.blobs.map(b => b.digest)).toEqual(single.blobs.map(b => b.digest));
  });

  test('skopeo list-tags lists the tags and no untagged child', async () => {
    expect(await skopeoListTags(`docker://${emu.host}/${alias}/${MULTI_REPO}`)).toEqual(['m1']);
    expect((await skopeoListTags(`docker://${emu.host}/${alias}/${SINGLE_REPO}`)).sort()).toEqual(['again', 'v1']);
  });

  test('skopeo fails on a tag that does not exist', async () => {
    await expect(skopeoInspectRaw(dockerRef(SINGLE_REPO, 'no-such-tag'))).rejects.toThrow(/manifest unknown|MANIFEST_UNKNOWN|not found/i);
  });
});

describe('a layer larger than one part', () => {
  test('goes up in contiguous parts of partSize and comes back intact through skopeo', async () => {
    const repo = 'demo/big';
    await client.send(new CreateRepositoryCommand({ repositoryName: repo }));
    // Random bytes do not compress: the gzip layer stays above the 10 MiB part size.
    const big = await buildImage(path.join(tmp, 'big'), { tag: 'big', files: { 'data/random.bin': randomBytes(11 * 1024 * 1024) } });
    const layer = big.blobs.find(b => b.digest === big.root.json.layers[0].digest)!;
    expect(layer.size).toBeGreaterThan(10 * 1024 * 1024);

    const stats = { uploaded: [] as string[], skipped: [] as string[], parts: 0 };
    expect(await pushOciLayout(client, repo, big.layoutDir, { tag: 'big' }, stats)).toBe(big.root.digest);
    expect(stats.uploaded).toHaveLength(2);
    expect(stats.parts).toBe(3); // the config in one part, the layer in two

    const out = path.join(tmp, 'pulled-big');
    await skopeoCopy(dockerRef(repo, 'big'), `oci:${out}:big`);
    const pulled = readOciLayout(out, 'big');
    expect(pulled.root.digest).toBe(big.root.digest);
    const pulledLayer = pulled.blobs.find(b => b.digest === layer.digest)!;
    expect(fs.statSync(pulledLayer.path).size).toBe(layer.size);
    expect(await sha256File(pulledLayer.path)).toBe(layer.digest);
  });
});

describe('registry pull API over plain HTTP', () => {
  test('GET /v2/ is 200', async () => {
    const res = await fetch(`${emu.endpoint}/v2/`);
    expect(res.status).toBe(200);
  });

  test('HEAD and GET of a manifest by tag and by digest', async () => {
    for (const ref of ['v1', single.root.digest]) {
      const url = v2(`${alias}/${SINGLE_REPO}/manifests/${ref}`);
      const head = await fetch(url, { method: 'HEAD', headers: { Accept: ACCEPT_ALL } });
      expect(head.status).toBe(200);
      expect(head.headers.get('content-type')).toBe(OCI_MANIFEST);
      expect(head.headers.get('docker-content-digest')).toBe(single.root.digest);
      expect(head.headers.get('content-length')).toBe(String(single.root.size));
      expect((await head.arrayBuffer()).byteLength).toBe(0);

      const get = await fetch(url, { headers: { Accept: ACCEPT_ALL } });
      expect(get.status).toBe(200);
      expect(get.headers.get('content-type')).toBe(OCI_MANIFEST);
      expect(get.headers.get('docker-content-digest')).toBe(single.root.digest);
      expect(Buffer.from(await get.arrayBuffer()).equals(single.root.bytes)).toBe(true);
    }
  });

  test('GET of an index has the index media type', async () => {
    const res = await fetch(v2(`${alias}/${MULTI_REPO}/manifests/m1`), { headers: { Accept: ACCEPT_ALL } });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe(OCI_INDEX);
    expect(res.headers.get('docker-content-digest')).toBe(multi.root.digest);
    expect(Buffer.from(await res.arrayBuffer()).equals(multi.root.bytes)).toBe(true);
  });

  test('GET and HEAD of a blob, and a Range request', async () => {
    const config = single.blobs.find(b => b.digest === single.root.json.config.digest)!;
    const bytes = fs.readFileSync(config.path);
    expect(bytes.length).toBeGreaterThan(20);
    const url = v2(`${alias}/${SINGLE_REPO}/blobs/${config.digest}`);

    const get = await fetch(url);
    expect(get.status).toBe(200);
    expect(get.headers.get('docker-content-digest')).toBe(config.digest);
    expect(Buffer.from(await get.arrayBuffer()).equals(bytes)).toBe(true);

    const head = await fetch(url, { method: 'HEAD' });
    expect(head.status).toBe(200);
    expect(head.headers.get('content-length')).toBe(String(bytes.length));
    expect(head.headers.get('docker-content-digest')).toBe(config.digest);

    const ranged = await fetch(url, { headers: { Range: 'bytes=10-19' } });
    expect(ranged.status).toBe(206);
    expect(ranged.headers.get('content-range')).toBe(`bytes 10-19/${bytes.length}`);
    expect(Buffer.from(await ranged.arrayBuffer()).equals(bytes.subarray(10, 20))).toBe(true);

    const layer = single.blobs.find(b => b.digest === single.root.json.layers[1].digest)!;
    const layerRes = await fetch(v2(`${alias}/${SINGLE_REPO}/blobs/${layer.digest}`));
    expect(layerRes.status).toBe(200);
    expect(sha256(Buffer.from(await layerRes.arrayBuffer()))).toBe(layer.digest);
  });

  test('an unknown manifest is 404 MANIFEST_UNKNOWN, by tag and by digest', async () => {
    const byTag = await fetch(v2(`${alias}/${SINGLE_REPO}/manifests/nope`), { headers: { Accept: ACCEPT_ALL } });
    expect(byTag.status).toBe(404);
    expect(await errorCode(byTag)).toBe('MANIFEST_UNKNOWN');
    const byDigest = await fetch(v2(`${alias}/${SINGLE_REPO}/manifests/sha256:${'0'.repeat(64)}`), { headers: { Accept: ACCEPT_ALL } });
    expect(byDigest.status).toBe(404);
    expect(await errorCode(byDigest)).toBe('MANIFEST_UNKNOWN');
    // The index lives in the other repository: manifests are per repository.
    const otherRepo = await fetch(v2(`${alias}/${SINGLE_REPO}/manifests/${multi.root.digest}`), { headers: { Accept: ACCEPT_ALL } });
    expect(otherRepo.status).toBe(404);
    expect(await errorCode(otherRepo)).toBe('MANIFEST_UNKNOWN');
  });

  test('an unknown blob is 404 BLOB_UNKNOWN, also for a blob of another repository', async () => {
    const unknown = await fetch(v2(`${alias}/${SINGLE_REPO}/blobs/sha256:${'0'.repeat(64)}`));
    expect(unknown.status).toBe(404);
    expect(await errorCode(unknown)).toBe('BLOB_UNKNOWN');
    const otherRepo = await fetch(v2(`${alias}/${MULTI_REPO}/blobs/${single.root.json.config.digest}`));
    expect(otherRepo.status).toBe(404);
    expect(await errorCode(otherRepo)).toBe('BLOB_UNKNOWN');
  });

  test('an unknown repository or alias is 404', async () => {
    const repo = await fetch(v2(`${alias}/no/such-repo/manifests/v1`), { headers: { Accept: ACCEPT_ALL } });
    expect(repo.status).toBe(404);
    expect(['NAME_UNKNOWN', 'MANIFEST_UNKNOWN']).toContain(await errorCode(repo));
    const wrongAlias = await fetch(v2(`zz${alias}/${SINGLE_REPO}/manifests/v1`), { headers: { Accept: ACCEPT_ALL } });
    expect(wrongAlias.status).toBe(404);
    expect(['NAME_UNKNOWN', 'MANIFEST_UNKNOWN']).toContain(await errorCode(wrongAlias));
    const tags = await fetch(v2(`${alias}/no/such-repo/tags/list`));
    expect(tags.status).toBe(404);
    expect(await errorCode(tags)).toBe('NAME_UNKNOWN');
  });

  test('tags/list', async () => {
    const res = await fetch(v2(`${alias}/${SINGLE_REPO}/tags/list`));
    expect(res.status).toBe(200);
    const body = await res.json() as { name: string; tags: string[] };
    expect(body.name).toBe(`${alias}/${SINGLE_REPO}`);
    expect(body.tags.slice().sort()).toEqual(['again', 'v1']);
  });
});
