import {
  CreateRepositoryCommand,
  DescribeImagesCommand,
  DescribeImageTagsCommand,
  DescribeRegistriesCommand,
  DescribeRepositoriesCommand,
  paginateDescribeRepositories,
  PutImageCommand,
} from '@aws-sdk/client-ecr-public';
import { buildImage, expectError, expectInvalidParameter, useEmulator } from './support';

const h = useEmulator();
const TOTAL = 250;
const names: string[] = [];
const IMAGE_REPO = 'paged/images';
const OTHER_REPO = 'paged/other';
const imageDigests: string[] = [];
const tags: string[] = [];

beforeAll(async () => {
  for (let i = 0; i < TOTAL - 2; i++) {
    const name = `repo-${String(i).padStart(3, '0')}`;
    await h.client.send(new CreateRepositoryCommand({ repositoryName: name }));
    names.push(name);
  }
  await h.client.send(new CreateRepositoryCommand({ repositoryName: IMAGE_REPO }));
  await h.client.send(new CreateRepositoryCommand({ repositoryName: OTHER_REPO }));
  names.push(IMAGE_REPO, OTHER_REPO);
  // 5 images in IMAGE_REPO sharing one config and one layer, 7 tags in total
  const first = await buildImage(h.client, IMAGE_REPO, { annotation: 'img-0' });
  for (let i = 0; i < 5; i++) {
    const img = i === 0 ? first : await buildImage(h.client, IMAGE_REPO, { config: first.config, layers: first.layers, annotation: `img-${i}` });
    const tag = `t${i}`;
    await h.client.send(new PutImageCommand({ repositoryName: IMAGE_REPO, imageManifest: img.manifest, imageTag: tag }));
    tags.push(tag);
    if (i < 2) {
      await h.client.send(new PutImageCommand({ repositoryName: IMAGE_REPO, imageManifest: img.manifest, imageTag: `extra${i}` }));
      tags.push(`extra${i}`);
    }
    imageDigests.push(img.digest);
  }
  // one image in OTHER_REPO too
  const o = await buildImage(h.client, OTHER_REPO, {});
  await h.client.send(new PutImageCommand({ repositoryName: OTHER_REPO, imageManifest: o.manifest, imageTag: 'x' }));
});

describe('DescribeRepositories pagination', () => {
  test('default page size is 100 and nextToken round-trips through all 250', async () => {
    const seen: string[] = [];
    const sizes: number[] = [];
    let token: string | undefined;
    do {
      const out = await h.client.send(new DescribeRepositoriesCommand({ nextToken: token }));
      sizes.push(out.repositories!.length);
      seen.push(...out.repositories!.map((r) => r.repositoryName!));
      token = out.nextToken;
    } while (token);
    expect(sizes).toEqual([100, 100, 50]);
    expect(new Set(seen).size).toBe(TOTAL);
    expect([...seen].sort()).toEqual([...names].sort());
  });

  test('maxResults pages', async () => {
    const sizes: number[] = [];
    const seen = new Set<string>();
    let token: string | undefined;
    do {
      const out = await h.client.send(new DescribeRepositoriesCommand({ maxResults: 60, nextToken: token }));
      sizes.push(out.repositories!.length);
      out.repositories!.forEach((r) => seen.add(r.repositoryName!));
      token = out.nextToken;
    } while (token);
    expect(sizes).toEqual([60, 60, 60, 60, 10]);
    expect(seen.size).toBe(TOTAL);
  });

  test('maxResults 1000 returns all without nextToken', async () => {
    const out = await h.client.send(new DescribeRepositoriesCommand({ maxResults: 1000 }));
    expect(out.repositories).toHaveLength(TOTAL);
    expect(out.nextToken).toBeUndefined();
  });

  test('maxResults 1 returns one and a token', async () => {
    const out = await h.client.send(new DescribeRepositoriesCommand({ maxResults: 1 }));
    expect(out.repositories).toHaveLength(1);
    expect(typeof out.nextToken).toBe('string');
  });

  test('the SDK paginator sees every repository', async () => {
    const seen: string[] = [];
    for await (const page of paginateDescribeRepositories({ client: h.client, pageSize: 99 }, {})) {
      seen.push(...(page.repositories ?? []).map((r) => r.repositoryName!));
    }
    expect(seen).toHaveLength(TOTAL);
    expect(new Set(seen).size).toBe(TOTAL);
  });

  test.each([0, 1001, -1])('maxResults %d is out of range', async (n) => {
    await expectInvalidParameter(h.client.send(new DescribeRepositoriesCommand({ maxResults: n })), 'maxResults');
  });

  test('an invalid nextToken is rejected', async () => {
    await expectError(h.client.send(new DescribeRepositoriesCommand({ nextToken: 'not-a-token' })), 'InvalidParameterException');
  });

  test('repositoryNames cannot be combined with maxResults or nextToken', async () => {
    await expectError(h.client.send(new DescribeRepositoriesCommand({ repositoryNames: [names[0]], maxResults: 10 })), 'InvalidParameterException');
    const out = await h.client.send(new DescribeRepositoriesCommand({ maxResults: 5 }));
    await expectError(h.client.send(new DescribeRepositoriesCommand({ repositoryNames: [names[0]], nextToken: out.nextToken })), 'InvalidParameterException');
  });

  test('a DescribeRepositories token is not valid for DescribeImages', async () => {
    const out = await h.client.send(new DescribeRepositoriesCommand({ maxResults: 5 }));
    await expectError(h.client.send(new DescribeImagesCommand({ repositoryName: IMAGE_REPO, nextToken: out.nextToken })), 'InvalidParameterException');
  });
});

describe('DescribeImages pagination', () => {
  test('maxResults 2 pages through 5 images', async () => {
    const sizes: number[] = [];
    const seen: string[] = [];
    let token: string | undefined;
    do {
      const out = await h.client.send(new DescribeImagesCommand({ repositoryName: IMAGE_REPO, maxResults: 2, nextToken: token }));
      sizes.push(out.imageDetails!.length);
      seen.push(...out.imageDetails!.map((d) => d.imageDigest!));
      token = out.nextToken;
    } while (token);
    expect(sizes).toEqual([2, 2, 1]);
    expect([...seen].sort()).toEqual([...imageDigests].sort());
  });

  test('default returns all 5 without a token', async () => {
    const out = await h.client.send(new DescribeImagesCommand({ repositoryName: IMAGE_REPO }));
    expect(out.imageDetails).toHaveLength(5);
    expect(out.nextToken).toBeUndefined();
  });

  test.each([0, 1001])('maxResults %d is out of range', async (n) => {
    await expectInvalidParameter(h.client.send(new DescribeImagesCommand({ repositoryName: IMAGE_REPO, maxResults: n })), 'maxResults');
  });

  test('an invalid nextToken is rejected', async () => {
    await expectError(h.client.send(new DescribeImagesCommand({ repositoryName: IMAGE_REPO, nextToken: 'garbage' })), 'InvalidParameterException');
  });

  test('a token is bound to the repository of the request', async () => {
    const out = await h.client.send(new DescribeImagesCommand({ repositoryName: IMAGE_REPO, maxResults: 1 }));
    expect(out.nextToken).toBeDefined();
    await expectError(h.client.send(new DescribeImagesCommand({ repositoryName: OTHER_REPO, nextToken: out.nextToken })), 'InvalidParameterException');
  });

  test('imageIds cannot be combined with maxResults or nextToken', async () => {
    await expectError(h.client.send(new DescribeImagesCommand({
      repositoryName: IMAGE_REPO, imageIds: [{ imageTag: 't0' }], maxResults: 2,
    })), 'InvalidParameterException');
    const out = await h.client.send(new DescribeImagesCommand({ repositoryName: IMAGE_REPO, maxResults: 1 }));
    await expectError(h.client.send(new DescribeImagesCommand({
      repositoryName: IMAGE_REPO, imageIds: [{ imageTag: 't0' }], nextToken: out.nextToken,
    })), 'InvalidParameterException');
  });
});

describe('DescribeImageTags pagination', () => {
  test('maxResults 3 pages through 7 tags', async () => {
    const sizes: number[] = [];
    const seen: string[] = [];
    let token: string | undefined;
    do {
      const out = await h.client.send(new DescribeImageTagsCommand({ repositoryName: IMAGE_REPO, maxResults: 3, nextToken: token }));
      sizes.push(out.imageTagDetails!.length);
      seen.push(...out.imageTagDetails!.map((d) => d.imageTag!));
      token = out.nextToken;
    } while (token);
    expect(sizes).toEqual([3, 3, 1]);
    expect([...seen].sort()).toEqual([...tags].sort());
  });

  test.each([0, 1001])('maxResults %d is out of range', async (n) => {
    await expectInvalidParameter(h.client.send(new DescribeImageTagsCommand({ repositoryName: IMAGE_REPO, maxResults: n })), 'maxResults');
  });

  test('an invalid nextToken is rejected', async () => {
    await expectError(h.client.send(new DescribeImageTagsCommand({ repositoryName: IMAGE_REPO, nextToken: 'garbage' })), 'InvalidParameterException');
  });

  test('a DescribeImages token is not valid for DescribeImageTags', async () => {
    const out = await h.client.send(new DescribeImagesCommand({ repositoryName: IMAGE_REPO, maxResults: 1 }));
    await expectError(h.client.send(new DescribeImageTagsCommand({ repositoryName: IMAGE_REPO, nextToken: out.nextToken })), 'InvalidParameterException');
  });
});

describe('DescribeRegistries pagination', () => {
  test('one registry, no token, with and without maxResults', async () => {
    const a = await h.client.send(new DescribeRegistriesCommand({}));
    expect(a.registries).toHaveLength(1);
    expect(a.nextToken).toBeUndefined();
    const b = await h.client.send(new DescribeRegistriesCommand({ maxResults: 1 }));
    expect(b.registries).toHaveLength(1);
    expect(b.nextToken).toBeUndefined();
  });

  test.each([0, 1001])('maxResults %d is out of range', async (n) => {
    await expectInvalidParameter(h.client.send(new DescribeRegistriesCommand({ maxResults: n })), 'maxResults');
  });

  test('an invalid nextToken is rejected', async () => {
    await expectError(h.client.send(new DescribeRegistriesCommand({ nextToken: 'garbage' })), 'InvalidParameterException');
  });
});
