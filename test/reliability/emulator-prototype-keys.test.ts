/**
 * Names that are also properties of every plain JavaScript object (`__proto__`, `constructor`, `hasownproperty`,
 * `tostring`, `valueof`) are ordinary names to the emulator: as repository names (where the model's pattern allows
 * them), image tags, resource-tag keys and catalog text, through the SDK and through `/v2/`, and after a SIGKILL and
 * a restart from the data directory. The emulator runs as a real process; images are built with umoci, pushed with
 * the SDK and with skopeo, and pulled back with skopeo.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import {
  CreateRepositoryCommand,
  DeleteRepositoryCommand,
  DescribeImagesCommand,
  DescribeImageTagsCommand,
  DescribeRepositoriesCommand,
  ECRPUBLICClient,
  GetRepositoryCatalogDataCommand,
  InitiateLayerUploadCommand,
  ListTagsForResourceCommand,
  PutImageCommand,
  TagResourceCommand,
  UntagResourceCommand,
} from '@aws-sdk/client-ecr-public';
import { rawRequest, tearDown } from './emulator-process';
import { pushOciLayout } from '../support/ecr-push';
import { ecrPublicClient, ensureCompiledEmulator, killEmulator, loginPassword, primaryRegistryAlias, ServedEmulator, serveEmulator } from '../support/emulator-harness';
import { OciLayoutImage, readOciLayout } from '../support/oci-layout';
import { skopeoCopy } from '../support/skopeo';
import { makeTempDir } from '../support/temp-dirs';
import { buildImage } from '../support/umoci-images';

/** Names every plain object answers to; the first is not a valid repository name (it starts with `_`). */
const HOSTILE = ['__proto__', 'constructor', 'hasownproperty', 'tostring', 'valueof'];
const HOSTILE_REPOSITORIES = HOSTILE.filter((n) => /^[a-z0-9]/.test(n));
/** The mixed-case spellings of the same properties, as image tags and tag keys (both are case-sensitive). */
const HOSTILE_TAGS = ['__proto__', 'constructor', 'hasOwnProperty', 'toString', 'valueOf', ...HOSTILE.slice(2)];
/** Pushed through the registry API with skopeo (the rest through PutImage). */
const SKOPEO_TAGS = ['__proto__', 'toString'];

let tmp: string;
let dataDir: string;
let served: ServedEmulator | undefined;
let client: ECRPUBLICClient | undefined;
let image: OciLayoutImage;
let alias: string;

async function start(): Promise<void> {
  served = await serveEmulator(dataDir);
  client = ecrPublicClient(served.endpoint);
}

async function restart(): Promise<void> {
  client?.destroy();
  await killEmulator(served);
  await start();
}

async function errorOf(promise: Promise<unknown>): Promise<string> {
  try {
    await promise;
  } catch (err) {
    return (err as Error).name;
  }
  return 'no error';
}

/** Everything the API and the registry API show of the hostile repositories, in a stable order. */
async function view(): Promise<unknown> {
  const c = client!;
  const repositories = (await c.send(new DescribeRepositoriesCommand({}))).repositories ?? [];
  const out: Record<string, unknown> = { names: repositories.map((r) => r.repositoryName) };
  for (const repo of repositories) {
    const name = repo.repositoryName!;
    const images = (await c.send(new DescribeImagesCommand({ repositoryName: name }))).imageDetails ?? [];
    const tagDetails = (await c.send(new DescribeImageTagsCommand({ repositoryName: name }))).imageTagDetails ?? [];
    const listed = await rawRequest(served!.port, 'GET', `/v2/${alias}/${name}/tags/list`);
    const resourceTags = (await c.send(new ListTagsForResourceCommand({ resourceArn: repo.repositoryArn }))).tags ?? [];
    const catalog = (await c.send(new GetRepositoryCatalogDataCommand({ repositoryName: name }))).catalogData;
    out[name] = {
      uri: repo.repositoryUri?.replace(served!.host, '<host>'),
      images: images.map((i) => ({ digest: i.imageDigest, tags: [...(i.imageTags ?? [])].sort(), pushedAt: i.imagePushedAt?.getTime() })),
      tagDetails: tagDetails.map((t) => [t.imageTag, t.imageDetail?.imageDigest]),
      tagsList: { status: listed.status, body: JSON.parse(listed.body.toString('utf8')) },
      resourceTags: resourceTags.map((t) => [t.Key, t.Value]).sort(),
      catalog: { description: catalog?.description, aboutText: catalog?.aboutText, architectures: catalog?.architectures },
    };
  }
  return out;
}

beforeAll(async () => {
  await ensureCompiledEmulator();
  tmp = makeTempDir('emulator-prototype-');
  dataDir = path.join(tmp, 'data');
  image = await buildImage(path.join(tmp, 'layout'), { tag: 'v1', files: { '/hello.txt': 'prototype keys are keys\n' } });
  await start();
}, 200_000);

afterAll(() => tearDown(client, served, tmp));

test('a repository named like a prototype property does not exist before it is created', async () => {
  const c = client!;
  expect((await c.send(new DescribeRepositoriesCommand({}))).repositories).toEqual([]);
  for (const name of HOSTILE_REPOSITORIES) {
    expect(await errorOf(c.send(new DescribeRepositoriesCommand({ repositoryNames: [name] })))).toBe('RepositoryNotFoundException');
    expect(await errorOf(c.send(new DeleteRepositoryCommand({ repositoryName: name, force: true })))).toBe('RepositoryNotFoundException');
    expect(await errorOf(c.send(new InitiateLayerUploadCommand({ repositoryName: name })))).toBe('RepositoryNotFoundException');
  }
  // Nothing was recorded for a repository that does not exist.
  expect(fs.readdirSync(path.join(dataDir, 'uploads'))).toEqual([]);
});

test('hostile repository names, image tags, resource-tag keys and catalog text are stored, listed and survive a SIGKILL', async () => {
  const c = client!;
  for (const name of HOSTILE_REPOSITORIES) {
    const out = await c.send(new CreateRepositoryCommand({
      repositoryName: name,
      tags: HOSTILE_TAGS.map((Key, i) => ({ Key, Value: `value-${i}` })),
      catalogData: { description: '__proto__', aboutText: 'constructor', architectures: ['x86-64'] },
    }));
    expect(out.repository?.repositoryName).toBe(name);
  }
  alias = await primaryRegistryAlias(c);
  for (const name of HOSTILE_REPOSITORIES) {
    expect(await errorOf(c.send(new CreateRepositoryCommand({ repositoryName: name })))).toBe('RepositoryAlreadyExistsException');
  }

  // Tags through PutImage (the first push uploads the blobs), and through the registry API with skopeo.
  const password = await loginPassword(c);
  for (const name of HOSTILE_REPOSITORIES) {
    await pushOciLayout(c, name, image.layoutDir, { tag: 'constructor', layoutTag: 'v1' });
    for (const tag of HOSTILE_TAGS.filter((t) => t !== 'constructor' && !SKOPEO_TAGS.includes(t))) {
      const put = await c.send(new PutImageCommand({ repositoryName: name, imageManifest: image.root.bytes.toString('utf8'), imageManifestMediaType: image.root.mediaType, imageTag: tag }));
      expect(put.image?.imageId).toEqual({ imageDigest: image.root.digest, imageTag: tag });
    }
    for (const tag of SKOPEO_TAGS) {
      await skopeoCopy(`oci:${image.layoutDir}:v1`, `docker://${served!.host}/${alias}/${name}:${tag}`, ['--dest-creds', `AWS:${password}`]);
    }
  }
  // A resource-tag key named like a prototype property can be removed again, and only it.
  const arn = (name: string) => `arn:aws:ecr-public::123456789012:repository/${name}`;
  await c.send(new UntagResourceCommand({ resourceArn: arn('valueof'), tagKeys: ['__proto__'] }));
  await c.send(new TagResourceCommand({ resourceArn: arn('valueof'), tags: [{ Key: '__proto__', Value: 'again' }] }));

  const before = await view() as Record<string, any>;
  expect(before.names).toEqual([...HOSTILE_REPOSITORIES].sort());
  const allTags = [...HOSTILE_TAGS].sort();
  for (const name of HOSTILE_REPOSITORIES) {
    const repo = before[name];
    expect(repo.images).toHaveLength(1);
    expect(repo.images[0].digest).toBe(image.root.digest);
    expect(repo.images[0].tags).toEqual(allTags);
    expect(repo.tagDetails.map((t: string[]) => t[0]).sort()).toEqual(allTags);
    expect(repo.tagDetails.every((t: string[]) => t[1] === image.root.digest)).toBe(true);
    expect(repo.tagsList).toEqual({ status: 200, body: { name: `${alias}/${name}`, tags: allTags } });
    expect(repo.resourceTags.map((t: string[]) => t[0]).sort()).toEqual(allTags);
    expect(repo.catalog).toEqual({ description: '__proto__', aboutText: 'constructor', architectures: ['x86-64'] });
  }
  expect(before.valueof.resourceTags).toContainEqual(['__proto__', 'again']);

  await restart();
  expect(await view()).toEqual(before);

  // Pulled back by a hostile tag, the image is the one pushed.
  const pulled = path.join(tmp, 'pulled');
  await skopeoCopy(`docker://${served!.host}/${alias}/constructor:__proto__`, `oci:${pulled}:out`);
  expect(readOciLayout(pulled, 'out').root.digest).toBe(image.root.digest);
}, 300_000);

test('a repository named constructor is deleted, and only it, across a restart', async () => {
  const out = await client!.send(new DeleteRepositoryCommand({ repositoryName: 'constructor', force: true }));
  expect(out.repository?.repositoryName).toBe('constructor');
  await restart();
  const c = client!;
  const names = ((await c.send(new DescribeRepositoriesCommand({}))).repositories ?? []).map((r) => r.repositoryName);
  expect(names).toEqual(HOSTILE_REPOSITORIES.filter((n) => n !== 'constructor').sort());
  const gone = await rawRequest(served!.port, 'GET', `/v2/${alias}/constructor/manifests/__proto__`);
  expect(gone.status).toBe(404);
  expect(JSON.parse(gone.body.toString('utf8')).errors[0].code).toBe('NAME_UNKNOWN');
  expect(await errorOf(c.send(new DescribeImagesCommand({ repositoryName: 'constructor' })))).toBe('RepositoryNotFoundException');
  // It can be created again, empty.
  await c.send(new CreateRepositoryCommand({ repositoryName: 'constructor' }));
  expect((await c.send(new DescribeImagesCommand({ repositoryName: 'constructor' }))).imageDetails).toEqual([]);
}, 120_000);
