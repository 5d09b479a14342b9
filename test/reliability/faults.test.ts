/**
 * Every handler kind through its whole lifecycle, and ten image publishes, against an emulator that throttles 10 % of
 * the API requests, answers 5 % with ServerException and drops 2 % of the connections (half of those after the
 * operation ran). Then, with faults off, the registry holds exactly what was asked and every image pulls back intact.
 *
 * The handlers run one at a time and each image's blobs go up one at a time, so the requests, and the fault each one
 * meets, come in the same order on every run: the seeds below fix the whole sequence. A proxy in front of the emulator
 * records every answer, so the test also proves the faults were met.
 */
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { DescribeRepositoriesCommand, GetRepositoryCatalogDataCommand, GetRepositoryPolicyCommand, ListTagsForResourceCommand } from '@aws-sdk/client-ecr-public';
import { ApiProxy, describeImageRef, pullAndCompare, registrySnapshot, startApiProxy } from './support';
import { handler as imageHandler } from '../../lambda/image-publisher';
import { handler as registryHandler } from '../../lambda/registry';
import { handler as repositoryHandler } from '../../lambda/repository';
import { handler as catalogHandler } from '../../lambda/repository-catalog-data';
import { handler as policyHandler } from '../../lambda/repository-policy';
import { CatalogDataProperties, PolicyProperties, RegistryProperties, RepositoryProperties, RESOURCE_TYPES } from '../../src/shared/handler-contract';
import { ImageProperties } from '../../src/shared/publish-plan';
import { BUCKET, imageProps, stage, Staged, useAssetBucket } from '../image-publisher/support';
import { makePng, uniqueName } from '../support/ecr-fixtures';
import { createEvent, deleteEvent, invokeOk, updateEvent, useHandlerHarness } from '../support/handler-harness';
import { OciLayoutImage } from '../support/oci-layout';
import { errorName } from '../support/rejections';
import { makeTempDir } from '../support/temp-dirs';
import { buildImage, buildMultiPlatformLayout } from '../support/umoci-images';

const h = useHandlerHarness();
const bucket = useAssetBucket(h);

const RATES = { throttleRate: 0.1, serverErrorRate: 0.05, dropRate: 0.02 };
/** One seed per phase: each phase restarts the fault sequence. */
const SEEDS = { lifecycle: 7001, publish: 7002, delete: 7003 };

let proxy: ApiProxy;
let workDir: string;

interface TestImage {
  readonly tag: string;
  readonly source: OciLayoutImage;
  readonly staged: Staged;
  readonly multiPlatform: boolean;
}
const images: TestImage[] = [];

beforeAll(async () => {
  // The handlers reach the emulator through the proxy, which records every answer; the test's own client does not.
  proxy = await startApiProxy(h.emu.endpoint);
  process.env.AWS_ENDPOINT_URL_ECR_PUBLIC = proxy.endpoint;
  workDir = makeTempDir('reliability-faults-');

  // Nine single-platform images with one to three layers, and one two-platform index.
  const layout = path.join(workDir, 'layout');
  for (let i = 0; i < 9; i++) {
    const layers = (i % 3) + 1;
    const files: Record<string, Buffer | string> = { [`app-${i}.txt`]: `image ${i}\n` };
    for (let l = 0; l < layers; l++) files[`data-${l}.bin`] = randomBytes(20_000 + 7_000 * i);
    const tag = `img-${i}`;
    const source = await buildImage(layout, { tag, layers, files });
    images.push({ tag, source, staged: await stage(bucket.dir, layout, tag), multiPlatform: false });
  }
  const indexLayout = path.join(workDir, 'index-layout');
  const index = await buildMultiPlatformLayout(indexLayout, { tag: 'img-9', files: { 'shared.bin': randomBytes(30_000) } });
  images.push({ tag: 'img-9', source: index, staged: await stage(bucket.dir, indexLayout, 'img-9'), multiPlatform: true });

  fs.writeFileSync(path.join(bucket.dir, 'logo-v1.png'), makePng(16, [200, 30, 30]));
  fs.writeFileSync(path.join(bucket.dir, 'logo-v2.png'), makePng(24, [30, 30, 200]));
}, 110_000);

afterAll(async () => {
  process.env.AWS_ENDPOINT_URL_ECR_PUBLIC = h.emu.endpoint;
  await proxy?.close();
  for (const dir of [workDir, bucket.dir]) if (dir) fs.rmSync(dir, { recursive: true, force: true });
});

afterEach(() => h.emu.setFaults({}));

/** The faults met over the whole file. */
const totals = { requests: 0, throttled: 0, serverErrors: 0, dropped: 0 };

/** Runs `body` with the faults on (seeded) and returns the faults the proxy saw it meet. */
async function underFaults(seed: number, body: () => Promise<void>): Promise<Record<string, number>> {
  const first = proxy.calls.length;
  h.emu.setFaults({ ...RATES, seed });
  try {
    await body();
  } finally {
    h.emu.setFaults({});
  }
  const calls = proxy.calls.slice(first);
  const met = {
    requests: calls.length,
    throttled: calls.filter((c) => c.errorType === 'ThrottlingException').length,
    serverErrors: calls.filter((c) => c.errorType === 'ServerException').length,
    dropped: calls.filter((c) => c.dropped).length,
  };
  for (const key of ['requests', 'throttled', 'serverErrors', 'dropped'] as const) totals[key] += met[key];
  return met;
}

/** The repository the images go to, and more repositories so that the lifecycle meets faults of every kind. */
const REPOS = Array.from({ length: 8 }, (_, i) => uniqueName(`rel-faults-${i}`));
const REPO = REPOS[0];

interface Versions {
  readonly repo: [RepositoryProperties, RepositoryProperties];
  readonly catalog: [CatalogDataProperties, CatalogDataProperties];
  readonly policy: [PolicyProperties, PolicyProperties];
}

const statement = (sid: string, action: string): object => ({ Sid: sid, Effect: 'Allow', Principal: { AWS: 'arn:aws:iam::123456789012:root' }, Action: [action] });

/** The first and second version of each resource of repository `name`. */
function versions(name: string): Versions {
  return {
    repo: [
      { RepositoryName: name, Tags: [{ Key: 'team', Value: 'web' }, { Key: 'env', Value: 'dev' }] },
      { RepositoryName: name, Tags: [{ Key: 'team', Value: 'platform' }, { Key: 'tier', Value: 'gold' }], EmptyOnDelete: 'true' },
    ],
    catalog: [
      {
        RepositoryName: name,
        Description: `first description of ${name}`,
        Architectures: ['x86-64'],
        OperatingSystems: ['Linux'],
        AboutText: '# About v1',
        UsageText: 'docker pull v1',
        LogoBucket: BUCKET,
        LogoKey: 'logo-v1.png',
      },
      {
        RepositoryName: name,
        Description: `second description of ${name}`,
        Architectures: ['x86-64', 'ARM 64'],
        OperatingSystems: ['Linux'],
        AboutText: '# About v2',
        LogoBucket: BUCKET,
        LogoKey: 'logo-v2.png',
      },
    ],
    policy: [
      { RepositoryName: name, PolicyText: JSON.stringify({ Version: '2012-10-17', Statement: [statement('Push', 'ecr-public:PutImage')] }) },
      {
        RepositoryName: name,
        PolicyText: JSON.stringify({ Version: '2012-10-17', Statement: [statement('Push', 'ecr-public:PutImage'), statement('Check', 'ecr-public:BatchCheckLayerAvailability')] }),
      },
    ],
  };
}
const registryV1: RegistryProperties = { DisplayName: 'Reliability One' };
const registryV2: RegistryProperties = { DisplayName: 'Reliability Two' };

/** What the images should be once published: each root with its tags, index children untagged. */
const expectedTags = new Map<string, string[]>();

describe('under 10 % throttling, 5 % ServerException and 2 % dropped connections', () => {
  test('create and update of repositories with tags, catalog data with a logo, policies and the registry succeed', async () => {
    const met = await underFaults(SEEDS.lifecycle, async () => {
      for (const name of REPOS) {
        const v = versions(name);
        await invokeOk(h, repositoryHandler, createEvent(h, RESOURCE_TYPES.repository, v.repo[0]));
        await invokeOk(h, catalogHandler, createEvent(h, RESOURCE_TYPES.catalogData, v.catalog[0]));
        await invokeOk(h, policyHandler, createEvent(h, RESOURCE_TYPES.policy, v.policy[0]));
      }
      await invokeOk(h, registryHandler, createEvent(h, RESOURCE_TYPES.registry, registryV1));
      for (const name of REPOS) {
        const v = versions(name);
        await invokeOk(h, repositoryHandler, updateEvent(h, RESOURCE_TYPES.repository, name, v.repo[1], v.repo[0]));
        await invokeOk(h, catalogHandler, updateEvent(h, RESOURCE_TYPES.catalogData, `${name}/catalog-data`, v.catalog[1], v.catalog[0]));
        await invokeOk(h, policyHandler, updateEvent(h, RESOURCE_TYPES.policy, `${name}/policy`, v.policy[1], v.policy[0]));
      }
      await invokeOk(h, registryHandler, updateEvent(h, RESOURCE_TYPES.registry, h.accountId, registryV2, registryV1));
    });
    // The faults were met (and ridden out), else this test would prove nothing.
    expect(met.throttled + met.serverErrors + met.dropped).toBeGreaterThanOrEqual(3);

    // With faults off: exactly the second version of every resource.
    const logoV2 = fs.readFileSync(path.join(bucket.dir, 'logo-v2.png'));
    for (const name of REPOS) {
      const v = versions(name);
      const repo = (await h.client.send(new DescribeRepositoriesCommand({ repositoryNames: [name] }))).repositories![0];
      expect(repo.repositoryName).toBe(name);
      const tags = await h.client.send(new ListTagsForResourceCommand({ resourceArn: repo.repositoryArn }));
      expect([...tags.tags!].sort((a, b) => a.Key!.localeCompare(b.Key!))).toEqual(v.repo[1].Tags);
      const catalog = (await h.client.send(new GetRepositoryCatalogDataCommand({ repositoryName: name }))).catalogData!;
      expect(catalog).toEqual({
        description: v.catalog[1].Description,
        architectures: v.catalog[1].Architectures,
        operatingSystems: v.catalog[1].OperatingSystems,
        aboutText: v.catalog[1].AboutText,
        logoUrl: expect.stringMatching(/^http:\/\/127\.0\.0\.1:\d+\/logo\/.+\.png$/),
        marketplaceCertified: false,
      });
      const logo = Buffer.from(await (await fetch(catalog.logoUrl!)).arrayBuffer());
      expect(logo.equals(logoV2)).toBe(true);
      const policy = await h.client.send(new GetRepositoryPolicyCommand({ repositoryName: name }));
      expect(policy.policyText).toBe(v.policy[1].PolicyText);
    }
    const snapshot = await registrySnapshot(h.client);
    expect(Object.keys(snapshot.repositories as object).sort()).toEqual([...REPOS].sort());
    expect(snapshot.displayName).toBe('Reliability Two');
  });

  test('ten image publishes (single-layer, multi-layer, a two-platform index) and a tag update succeed', async () => {
    const met = await underFaults(SEEDS.publish, async () => {
      for (const image of images) {
        const res = await invokeOk(h, imageHandler, createEvent<ImageProperties>(h, RESOURCE_TYPES.image,
          imageProps(image.staged, REPO, { Tags: [image.tag], Concurrency: '1' })));
        expect(res.Data?.ImageDigest).toBe(image.source.root.digest);
        expectedTags.set(image.source.root.digest, [image.tag]);
        if (image.multiPlatform) for (const child of image.source.images) expectedTags.set(child.digest, []);
      }
      // Moving a tag: img-0 gets 'latest' and loses 'img-0'.
      const first = images[0];
      const oldProps = imageProps(first.staged, REPO, { Tags: [first.tag], Concurrency: '1' });
      const newProps = imageProps(first.staged, REPO, { Tags: ['latest'], Concurrency: '1' });
      await invokeOk(h, imageHandler, updateEvent<ImageProperties>(h, RESOURCE_TYPES.image,
        `${REPO}@${first.source.root.digest}`, newProps, oldProps));
      expectedTags.set(first.source.root.digest, ['latest']);
    });
    expect(met.requests).toBeGreaterThan(100);
    expect(met.throttled + met.serverErrors + met.dropped).toBeGreaterThanOrEqual(3);

    // With faults off: exactly these images with exactly these tags, nothing else.
    const snapshot = await registrySnapshot(h.client);
    const stored = (snapshot.repositories as any)[REPO].images as Array<{ digest: string; tags: string[] }>;
    expect(Object.fromEntries(stored.map((i) => [i.digest, i.tags]))).toEqual(Object.fromEntries(expectedTags));
  });

  test('with faults off, each image pulled back with skopeo has the source\'s manifest digest and blob digests', async () => {
    expect(expectedTags.size).toBe(12);
    for (const image of images) {
      const tag = image === images[0] ? 'latest' : image.tag;
      await pullAndCompare(h, REPO, tag, image.source, image.multiPlatform);
    }
  });

  test('deletes of an index image, the policies, the catalog data, the repositories and the registry succeed', async () => {
    const index = images[9];
    const met = await underFaults(SEEDS.delete, async () => {
      await invokeOk(h, imageHandler, deleteEvent<ImageProperties>(h, RESOURCE_TYPES.image, `${REPO}@${index.source.root.digest}`,
        imageProps(index.staged, REPO, { Tags: [index.tag], DeleteOnRemove: 'true' })));
      for (const name of REPOS.slice(1)) {
        const v = versions(name);
        await invokeOk(h, policyHandler, deleteEvent(h, RESOURCE_TYPES.policy, `${name}/policy`, v.policy[1]));
        await invokeOk(h, catalogHandler, deleteEvent(h, RESOURCE_TYPES.catalogData, `${name}/catalog-data`, v.catalog[1]));
        await invokeOk(h, repositoryHandler, deleteEvent(h, RESOURCE_TYPES.repository, name, v.repo[1]));
      }
    });
    expect(met.throttled + met.serverErrors + met.dropped).toBeGreaterThanOrEqual(3);

    // With faults off: the index and its children are gone, the other images stay; the other repositories are gone.
    for (const digest of [index.source.root.digest, ...index.source.images.map((m) => m.digest)]) {
      expect(await describeImageRef(h.client, REPO, digest)).toBe('ImageNotFoundException');
    }
    expect(await describeImageRef(h.client, REPO, 'img-8')).toMatchObject({ imageDigest: images[8].source.root.digest, imageTags: ['img-8'] });
    expect(Object.keys((await registrySnapshot(h.client)).repositories as object)).toEqual([REPO]);

    // The last repository: its policy, its catalog, then the repository with its images, then the registry resource.
    const v = versions(REPO);
    await underFaults(SEEDS.delete + 1, async () => {
      await invokeOk(h, policyHandler, deleteEvent(h, RESOURCE_TYPES.policy, `${REPO}/policy`, v.policy[1]));
      await invokeOk(h, catalogHandler, deleteEvent(h, RESOURCE_TYPES.catalogData, `${REPO}/catalog-data`, v.catalog[1]));
    });
    expect(await errorName(h.client.send(new GetRepositoryPolicyCommand({ repositoryName: REPO })))).toBe('RepositoryPolicyNotFoundException');
    // There is no DeleteRepositoryCatalogData: the handler leaves an empty catalog.
    expect((await h.client.send(new GetRepositoryCatalogDataCommand({ repositoryName: REPO }))).catalogData).toEqual({ marketplaceCertified: false });
    await underFaults(SEEDS.delete + 2, async () => {
      await invokeOk(h, repositoryHandler, deleteEvent(h, RESOURCE_TYPES.repository, REPO, v.repo[1]));
      await invokeOk(h, registryHandler, deleteEvent(h, RESOURCE_TYPES.registry, h.accountId, registryV2));
    });
    expect(await errorName(h.client.send(new DescribeRepositoriesCommand({ repositoryNames: [REPO] })))).toBe('RepositoryNotFoundException');
    const after = await registrySnapshot(h.client);
    expect(after.repositories).toEqual({});
    // The display name belongs to the account: removing the resource leaves it.
    expect(after.displayName).toBe('Reliability Two');

    // Over the whole file, every kind of fault was met (the seeds fix which requests; these are the counts at least).
    expect(totals.requests).toBeGreaterThan(250);
    expect(totals.throttled).toBeGreaterThanOrEqual(10);
    expect(totals.serverErrors).toBeGreaterThanOrEqual(3);
    expect(totals.dropped).toBeGreaterThanOrEqual(2);
  });
});
