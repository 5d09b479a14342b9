/**
 * The archive inspector on docker-save archives: the legacy format as skopeo writes it (`docker-archive:`), the Docker
 * 24 tree where a repeated layer's `layer.tar` is a symlink to the first one, several images in one archive, and the
 * checks of the config and layer list. The synthesised Docker schema 2 manifest must equal the one skopeo synthesises
 * from the same archive, except that its layers are (truthfully) labelled uncompressed.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { inspectImageArchive, InspectedArchive } from '../../src/private/archive/inspect';
import { sha256 } from '../../src/shared/oci/digest';
import { DOCKER_CONFIG, DOCKER_LAYER_TAR, DOCKER_MANIFEST } from '../../src/shared/oci/media-types';
import { SavedImage, savedImage, writeLegacyDockerSave } from '../support/docker-save';
import { OciLayoutImage } from '../support/oci-layout';
import { planProblems } from '../support/publish-plan-check';
import { run } from '../support/run-tool';
import { skopeoCopy, skopeoInspectRaw } from '../support/skopeo';
import { gzipFile, tarDirectory } from '../support/tar-files';
import { makeTempDir, removeTempDir } from '../support/temp-dirs';
import { buildImage } from '../support/umoci-images';

let tmp: string;
let staging: string;
let web: OciLayoutImage;
let api: OciLayoutImage;
let skopeoArchive: string;

beforeAll(async () => {
  tmp = makeTempDir('archive-docker-');
  staging = path.join(tmp, 'staging');
  const layout = path.join(tmp, 'layout');
  web = await buildImage(layout, { tag: 'web', layers: 2, files: { '/www/index.html': '<p>web</p>\n', '/www/big.bin': Buffer.alloc(30_000, 9) } });
  api = await buildImage(layout, { tag: 'api', files: { '/api/server.js': 'console.log(1)\n' } });
  skopeoArchive = path.join(tmp, 'skopeo-docker.tar');
  await skopeoCopy(`oci:${layout}:web`, `docker-archive:${skopeoArchive}:example.com/acme/web:v1`);
});

afterAll(() => removeTempDir(tmp));

function inspect(source: string, ref?: string): InspectedArchive {
  return inspectImageArchive(source, { ref, stagingDir: staging });
}

/** skopeo's manifest for a docker-archive source, with the layer media type it mislabels as gzip corrected. */
async function skopeoManifest(ref: string): Promise<string> {
  return (await skopeoInspectRaw(ref)).toString('utf8').split('rootfs.diff.tar.gzip').join('rootfs.diff.tar');
}

async function tarOf(name: string, images: SavedImage[]): Promise<string> {
  const dir = path.join(tmp, name);
  writeLegacyDockerSave(dir, images);
  const tar = path.join(tmp, `${name}.tar`);
  await tarDirectory(dir, tar);
  return tar;
}

describe('legacy docker-save written by skopeo', () => {
  test('a Docker schema 2 manifest is synthesised: config and uncompressed layers by DiffID, in place', async () => {
    const result = inspect(skopeoArchive);
    expect(result.archivePath).toBe(skopeoArchive);
    const [manifest] = result.plan.manifests;
    expect(manifest.manifest).toBe(await skopeoManifest(`docker-archive:${skopeoArchive}`));
    expect(manifest).toMatchObject({ mediaType: DOCKER_MANIFEST, digest: sha256(manifest.manifest) });
    expect(result.plan.rootDigest).toBe(manifest.digest);
    const json = JSON.parse(manifest.manifest);
    expect(json.config).toMatchObject({ mediaType: DOCKER_CONFIG, digest: (web.root.json as any).config.digest });
    expect(json.layers.map((l: any) => l.digest)).toEqual(JSON.parse(savedImage(web, []).config.toString()).rootfs.diff_ids);
    expect(result.plan.blobs.map(b => b.mediaType).sort()).toEqual([DOCKER_CONFIG, DOCKER_LAYER_TAR, DOCKER_LAYER_TAR]);
    expect(planProblems(result.archivePath, result.plan)).toEqual([]);
    expect(result.refs).toEqual(['example.com/acme/web:v1']);
    expect(result.plan.ref).toBe('example.com/acme/web:v1');
    expect(inspect(skopeoArchive, 'v1').plan.rootDigest).toBe(result.plan.rootDigest);
  });

  test('gzip-compressed (`docker save | gzip`)', async () => {
    const gz = path.join(tmp, 'skopeo-docker.tar.gz');
    await gzipFile(skopeoArchive, gz);
    const result = inspect(gz);
    expect(result.archivePath).not.toBe(gz);
    expect(result.plan).toEqual(inspect(skopeoArchive).plan);
    expect(planProblems(result.archivePath, result.plan)).toEqual([]);
  });

  test('an extracted docker-save directory is packed like a layout', async () => {
    const dir = path.join(tmp, 'extracted');
    fs.mkdirSync(dir);
    await run('tar', ['-xf', skopeoArchive, '-C', dir]);
    const result = inspect(dir);
    expect(path.dirname(result.archivePath)).toBe(staging);
    expect(result.plan.manifests).toEqual(inspect(skopeoArchive).plan.manifests);
    expect(planProblems(result.archivePath, result.plan)).toEqual([]);
  });
});

describe('Docker 24 tree with a repeated layer', () => {
  let tar: string;
  let image: SavedImage;

  beforeAll(async () => {
    // The base layer again on top: its DiffID repeats, and docker save writes the third layer.tar as a symlink.
    const parts = savedImage(web, ['acme/repeat:1']);
    const config = JSON.parse(parts.config.toString('utf8'));
    config.rootfs.diff_ids.push(config.rootfs.diff_ids[0]);
    image = { config: Buffer.from(JSON.stringify(config)), layers: [...parts.layers, parts.layers[0]], repoTags: parts.repoTags };
    tar = await tarOf('repeat', [image]);
  });

  test('the symlinked layer.tar resolves to the first copy', async () => {
    const listing = (await run('tar', ['-tvf', tar])).stdout.toString('utf8');
    expect(listing).toMatch(/^l.* \.\/[0-9a-f]{64}\/layer\.tar -> \.\.\/[0-9a-f]{64}\/layer\.tar$/m);
    const result = inspect(tar);
    const json = JSON.parse(result.plan.manifests[0].manifest);
    expect(json.layers).toHaveLength(3);
    expect(json.layers[2]).toEqual(json.layers[0]);
    expect(result.plan.blobs).toHaveLength(3); // config + two distinct layers
    expect(result.plan.manifests[0].manifest).toBe(await skopeoManifest(`docker-archive:${tar}`));
    expect(planProblems(result.archivePath, result.plan)).toEqual([]);
  });
});

describe('several images in one archive', () => {
  let tar: string;
  let untaggedId: string;

  beforeAll(async () => {
    const third = savedImage(api, []);
    const config = JSON.parse(third.config.toString('utf8'));
    config.author = 'untagged';
    const untagged = { ...third, config: Buffer.from(JSON.stringify(config)) };
    untaggedId = sha256(untagged.config);
    tar = await tarOf('several', [savedImage(web, ['acme/web:v1', 'acme/web:latest']), savedImage(api, ['acme/api:v1']), untagged]);
  });

  test('no ref: an error listing every ref', () => {
    expect(() => inspect(tar)).toThrow(`${tar}: holds 3 images; choose one with ref: one of [acme/web:v1, acme/web:latest, acme/api:v1, ${untaggedId}]`);
  });

  test('a ref matching two images: an error', () => {
    expect(() => inspect(tar, 'v1')).toThrow(`${tar}: ref 'v1' matches 2 images ([acme/web:v1, acme/web:latest, acme/api:v1]); choose one with a more specific ref`);
  });

  test('a ref matching none: an error', () => {
    expect(() => inspect(tar, 'acme/db:v1')).toThrow(`${tar}: has no image matching ref 'acme/db:v1'; available refs: [acme/web:v1, acme/web:latest, acme/api:v1, ${untaggedId}]`);
  });

  test('selected by name:tag, by familiar name, or by image ID (config digest)', async () => {
    const api1 = inspect(tar, 'acme/api:v1');
    expect(api1.plan.manifests[0].manifest).toBe(await skopeoManifest(`docker-archive:${tar}:acme/api:v1`));
    expect(inspect(tar, 'docker.io/acme/api:v1').plan.rootDigest).toBe(api1.plan.rootDigest);
    const webLatest = inspect(tar, 'acme/web');
    expect(webLatest.plan.manifests[0].manifest).toBe(await skopeoManifest(`docker-archive:${tar}:acme/web:latest`));
    const untagged = inspect(tar, untaggedId);
    // Its only layer repeats api's, so its layer.tar is a symlink; skopeo 1.9 reports the symlink entry's size (0)
    // where the layer's is due. Everything else must agree.
    const theirs = JSON.parse(await skopeoManifest(`docker-archive:${tar}:@2`));
    expect(theirs.layers[0].size).toBe(0);
    theirs.layers[0].size = JSON.parse(api1.plan.manifests[0].manifest).layers[0].size;
    expect(untagged.plan.manifests[0].manifest).toBe(JSON.stringify(theirs));
    for (const r of [api1, webLatest, untagged]) expect(planProblems(r.archivePath, r.plan)).toEqual([]);
  });
});

describe('checks of the image', () => {
  function editedArchive(name: string, edit: (dir: string, manifest: any[]) => void): Promise<string> {
    const dir = path.join(tmp, name);
    writeLegacyDockerSave(dir, [savedImage(web, ['acme/web:v1'])]);
    const manifestFile = path.join(dir, 'manifest.json');
    const manifest = JSON.parse(fs.readFileSync(manifestFile, 'utf8'));
    edit(dir, manifest);
    fs.writeFileSync(manifestFile, JSON.stringify(manifest));
    const tar = path.join(tmp, `${name}.tar`);
    return tarDirectory(dir, tar).then(() => tar);
  }

  test('a config whose bytes do not match its name', async () => {
    const tar = await editedArchive('bad-config', (dir, manifest) => {
      const file = path.join(dir, manifest[0].Config);
      fs.writeFileSync(file, fs.readFileSync(file, 'utf8').replace('"amd64"', '"arm64"'));
    });
    expect(() => inspect(tar)).toThrow(new RegExp(`${tar}: manifest.json\\[0\\]: config [0-9a-f]{64}\\.json does not match its digest \\(its bytes hash to sha256:[0-9a-f]{64}\\)`));
  });

  test('more layers than diff_ids', async () => {
    const tar = await editedArchive('extra-layer', (_, manifest) => manifest[0].Layers.push(manifest[0].Layers[0]));
    expect(() => inspect(tar)).toThrow(/manifest\.json\[0\] lists 3 layers but config [0-9a-f]{64}\.json has 2 diff_ids/);
  });

  test('a missing layer', async () => {
    const tar = await editedArchive('missing-layer', (dir, manifest) => fs.rmSync(path.join(dir, manifest[0].Layers[1])));
    expect(() => inspect(tar)).toThrow(/layer [0-9a-f]{64}\/layer\.tar of image sha256:[0-9a-f]{64} \(manifest\.json Layers\[1\]\) is missing/);
  });

  test('a layer.tar symlink to an entry that is not there', async () => {
    const tar = await editedArchive('dangling-layer', (dir, manifest) => {
      const layer = path.join(dir, manifest[0].Layers[1]);
      fs.rmSync(layer);
      fs.symlinkSync('../0000/layer.tar', layer);
    });
    expect(() => inspect(tar)).toThrow(/layer\.tar is a link \(via [0-9a-f]{64}\/layer\.tar\) to 0000\/layer\.tar, which is not in the archive/);
  });

  test('a layer path that climbs out of the archive', async () => {
    const tar = await editedArchive('climbing-layer', (_, manifest) => {
      manifest[0].Layers[0] = '../../etc/passwd';
    });
    expect(() => inspect(tar)).toThrow(`${tar}: unsafe name with a '..' component "../../etc/passwd"`);
  });
});
