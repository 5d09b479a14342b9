import * as fs from 'fs';
import * as path from 'path';
import {
  BatchCheckLayerAvailabilityCommand,
  CompleteLayerUploadCommand,
  CreateRepositoryCommand,
  DescribeImagesCommand,
  DescribeImageTagsCommand,
  DescribeRegistriesCommand,
  DescribeRepositoriesCommand,
  GetRegistryCatalogDataCommand,
  GetRepositoryCatalogDataCommand,
  GetRepositoryPolicyCommand,
  InitiateLayerUploadCommand,
  ListTagsForResourceCommand,
  PutRegistryCatalogDataCommand,
  SetRepositoryPolicyCommand,
  UploadLayerPartCommand,
} from '@aws-sdk/client-ecr-public';
import {
  expectError,
  Harness,
  MIN_PART,
  PNG_1X1,
  pushImage,
  PushedImage,
  randomBytes,
  repositoryArn,
  sha256,
  start,
  stop,
} from './support';
import { makeTempDir } from '../../support/temp-dirs';

const POLICY = JSON.stringify({ Statement: [{ Effect: 'Allow', Principal: '*', Action: 'ecr-public:DescribeImages' }] });

describe('persistence across restarts with dataDir', () => {
  let dataDir: string;
  let h: Harness | undefined;

  beforeAll(() => {
    dataDir = makeTempDir('ecr-public-conformance-');
  });

  afterAll(async () => {
    await stop(h);
    fs.rmSync(dataDir, { recursive: true, force: true });
  });

  test('state written by one instance is read by the next', async () => {
    h = await start({ dataDir });
    const c = h.client;
    await c.send(new CreateRepositoryCommand({
      repositoryName: 'persist/app',
      tags: [{ Key: 'team', Value: 'core' }],
      catalogData: { description: 'persisted', architectures: ['x86-64'], logoImageBlob: PNG_1X1 },
    }));
    await c.send(new CreateRepositoryCommand({ repositoryName: 'persist/other' }));
    await c.send(new SetRepositoryPolicyCommand({ repositoryName: 'persist/app', policyText: POLICY }));
    await c.send(new PutRegistryCatalogDataCommand({ displayName: 'Persisted Registry' }));
    const img: PushedImage = await pushImage(c, 'persist/app', 'v1', { layerSizes: [123, 456] });
    const aliasBefore = (await c.send(new DescribeRegistriesCommand({}))).registries![0].aliases![0].name;
    const createdBefore = (await c.send(new DescribeRepositoriesCommand({ repositoryNames: ['persist/app'] }))).repositories![0].createdAt!;

    // an upload in progress: one 5 MiB part received
    const blob = randomBytes(MIN_PART + 2048);
    const uploadId = (await c.send(new InitiateLayerUploadCommand({ repositoryName: 'persist/app' }))).uploadId!;
    await c.send(new UploadLayerPartCommand({
      repositoryName: 'persist/app', uploadId, partFirstByte: 0, partLastByte: MIN_PART - 1, layerPartBlob: blob.subarray(0, MIN_PART),
    }));

    await stop(h);
    h = undefined;
    h = await start({ dataDir });
    const d = h.client;

    // repositories
    const repos = await d.send(new DescribeRepositoriesCommand({}));
    expect(repos.repositories?.map((r) => r.repositoryName).sort()).toEqual(['persist/app', 'persist/other']);
    const app = repos.repositories!.find((r) => r.repositoryName === 'persist/app')!;
    expect(app.repositoryArn).toBe(repositoryArn(h.emu.accountId, 'persist/app'));
    expect(app.repositoryUri).toBe(`${h.emu.host}/${aliasBefore}/persist/app`);
    expect(app.createdAt?.getTime()).toBe(createdBefore.getTime());

    // registry
    const regs = await d.send(new DescribeRegistriesCommand({}));
    expect(regs.registries?.[0]?.aliases?.[0]?.name).toBe(aliasBefore);
    expect((await d.send(new GetRegistryCatalogDataCommand({}))).registryCatalogData?.displayName).toBe('Persisted Registry');

    // catalog data and logo
    const cat = (await d.send(new GetRepositoryCatalogDataCommand({ repositoryName: 'persist/app' }))).catalogData!;
    expect(cat).toMatchObject({ description: 'persisted', architectures: ['x86-64'] });
    expect(cat.logoUrl).toBeDefined();
    const logo = await fetch(h.emu.endpoint + new URL(cat.logoUrl!).pathname);
    expect(logo.status).toBe(200);
    expect(Buffer.from(await logo.arrayBuffer()).equals(PNG_1X1)).toBe(true);
    await expectError(d.send(new GetRepositoryCatalogDataCommand({ repositoryName: 'persist/other' })), 'RepositoryCatalogDataNotFoundException');

    // policy and tags
    expect((await d.send(new GetRepositoryPolicyCommand({ repositoryName: 'persist/app' }))).policyText).toBe(POLICY);
    const tags = await d.send(new ListTagsForResourceCommand({ resourceArn: repositoryArn(h.emu.accountId, 'persist/app') }));
    expect(tags.tags).toEqual([{ Key: 'team', Value: 'core' }]);

    // images and blobs
    const images = await d.send(new DescribeImagesCommand({ repositoryName: 'persist/app' }));
    expect(images.imageDetails).toHaveLength(1);
    expect(images.imageDetails![0]).toMatchObject({ imageDigest: img.digest, imageTags: ['v1'], imageSizeInBytes: 579 });
    const imageTags = await d.send(new DescribeImageTagsCommand({ repositoryName: 'persist/app' }));
    expect(imageTags.imageTagDetails?.map((t) => t.imageTag)).toEqual(['v1']);
    const avail = await d.send(new BatchCheckLayerAvailabilityCommand({
      repositoryName: 'persist/app', layerDigests: [img.config.digest, ...img.layers.map((l) => l.digest)],
    }));
    expect(avail.layers?.map((l) => l.layerAvailability)).toEqual(['AVAILABLE', 'AVAILABLE', 'AVAILABLE']);
    expect(avail.layers?.find((l) => l.layerDigest === img.layers[0].digest)?.layerSize).toBe(123);
    expect(avail.layers?.find((l) => l.layerDigest === img.layers[1].digest)?.layerSize).toBe(456);

    // the upload in progress continues where it stopped
    const wrong = await expectError(d.send(new UploadLayerPartCommand({
      repositoryName: 'persist/app', uploadId, partFirstByte: 0, partLastByte: 9, layerPartBlob: randomBytes(10),
    })), 'InvalidLayerPartException');
    expect(wrong.lastValidByteReceived).toBe(MIN_PART - 1);
    const cont = await d.send(new UploadLayerPartCommand({
      repositoryName: 'persist/app', uploadId, partFirstByte: MIN_PART, partLastByte: blob.length - 1, layerPartBlob: blob.subarray(MIN_PART),
    }));
    expect(cont.lastByteReceived).toBe(blob.length - 1);
    const done = await d.send(new CompleteLayerUploadCommand({ repositoryName: 'persist/app', uploadId, layerDigests: [sha256(blob)] }));
    expect(done.layerDigest).toBe(sha256(blob));

    // and a third instance sees the completed blob
    await stop(h);
    h = undefined;
    h = await start({ dataDir });
    const e = h.client;
    const after = await e.send(new BatchCheckLayerAvailabilityCommand({ repositoryName: 'persist/app', layerDigests: [sha256(blob)] }));
    expect(after.layers?.[0]).toMatchObject({ layerAvailability: 'AVAILABLE', layerSize: blob.length });
    await expectError(e.send(new CompleteLayerUploadCommand({ repositoryName: 'persist/app', uploadId, layerDigests: [sha256(blob)] })), 'UploadNotFoundException');
  });

  test('without dataDir nothing survives a restart', async () => {
    const a = await start();
    await a.client.send(new CreateRepositoryCommand({ repositoryName: 'ephemeral' }));
    await stop(a);
    const b = await start();
    try {
      const out = await b.client.send(new DescribeRepositoriesCommand({}));
      expect(out.repositories ?? []).toEqual([]);
    } finally {
      await stop(b);
    }
  });

  test('dataDir files are written (the directory is not left empty)', async () => {
    const dir = makeTempDir('ecr-public-conformance-');
    try {
      const a = await start({ dataDir: dir });
      await a.client.send(new CreateRepositoryCommand({ repositoryName: 'on-disk' }));
      await stop(a);
      expect(fs.readdirSync(dir).length).toBeGreaterThan(0);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  test('long catalog texts are kept with their repository, apart from its images, and come back whole after a restart', async () => {
    const dir = makeTempDir('ecr-public-conformance-');
    // Multi-byte characters at the limit: the text is stored as given, byte for byte.
    const about = `# About\n${'é'.repeat(25_590)}`;
    const usage = 'u'.repeat(5000);
    try {
      const a = await start({ dataDir: dir });
      for (const name of ['texts/one', 'texts/two']) {
        await a.client.send(new CreateRepositoryCommand({ repositoryName: name, catalogData: { aboutText: about, usageText: usage, description: 'short' } }));
      }
      await pushImage(a.client, 'texts/one', 'v1', { layerSizes: [10] });
      await stop(a);
      const records = (folder: string) => fs.readdirSync(path.join(dir, 'meta', folder)).map((n) => fs.readFileSync(path.join(dir, 'meta', folder, n), 'utf8'));
      // Each repository's texts are in its own record; its images in another, which a push rewrites without the texts.
      expect(records('repositories').filter((r) => r.includes('éééé'))).toHaveLength(2);
      expect(records('contents').some((r) => r.includes('éééé') || r.includes('uuuu'))).toBe(false);
      expect(records('contents').some((r) => r.includes('"v1"'))).toBe(true);

      const b = await start({ dataDir: dir });
      try {
        for (const name of ['texts/one', 'texts/two']) {
          const { catalogData } = await b.client.send(new GetRepositoryCatalogDataCommand({ repositoryName: name }));
          expect(catalogData).toMatchObject({ aboutText: about, usageText: usage, description: 'short' });
        }
      } finally {
        await stop(b);
      }
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
