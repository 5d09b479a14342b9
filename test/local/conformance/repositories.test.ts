import {
  CreateRepositoryCommand,
  CreateRepositoryCommandInput,
  DeleteRepositoryCommand,
  DescribeImagesCommand,
  DescribeRepositoriesCommand,
  GetRepositoryCatalogDataCommand,
  PutImageCommand,
} from '@aws-sdk/client-ecr-public';
import {
  buildIndex,
  createRepo,
  expectError,
  expectInvalidParameter,
  pushImage,
  randomBytes,
  registryAlias,
  repositoryArn,
  start,
  stop,
  uniqueName,
  uploadTestBlob,
  useEmulator,
} from './support';

const h = useEmulator();

describe('CreateRepository', () => {
  test('returns the repository with ARN, registryId, URI and createdAt', async () => {
    const name = uniqueName('team/app');
    const before = Date.now();
    const out = await h.client.send(new CreateRepositoryCommand({ repositoryName: name }));
    const alias = await registryAlias(h.client);
    expect(out.repository).toEqual({
      repositoryArn: `arn:aws:ecr-public::${h.emu.accountId}:repository/${name}`,
      registryId: h.emu.accountId,
      repositoryName: name,
      repositoryUri: `${h.emu.host}/${alias}/${name}`,
      createdAt: expect.any(Date),
    });
    const created = out.repository!.createdAt!.getTime();
    expect(created).toBeGreaterThanOrEqual(before - 2000);
    expect(created).toBeLessThanOrEqual(Date.now() + 2000);
    expect(h.emu.accountId).toBe('123456789012');
  });

  test('returns an empty catalogData when none was given', async () => {
    const out = await h.client.send(new CreateRepositoryCommand({ repositoryName: uniqueName() }));
    expect(out.catalogData).toEqual({});
  });

  test('returns the catalogData that was given', async () => {
    const catalogData = {
      description: 'a description',
      architectures: ['x86-64', 'ARM 64'],
      operatingSystems: ['Linux'],
      aboutText: '# About',
      usageText: '# Usage',
    };
    const out = await h.client.send(new CreateRepositoryCommand({ repositoryName: uniqueName(), catalogData }));
    expect(out.catalogData).toMatchObject(catalogData);
    expect(out.catalogData?.logoUrl).toBeUndefined();
    const got = await h.client.send(new GetRepositoryCatalogDataCommand({ repositoryName: out.repository!.repositoryName! }));
    expect(got.catalogData).toMatchObject(catalogData);
  });

  test('a name of 205 characters with slashes and separators is accepted', async () => {
    const prefix = 'a.b_c-d/e/';
    const name = prefix + 'x'.repeat(205 - prefix.length);
    expect(name).toHaveLength(205);
    const out = await h.client.send(new CreateRepositoryCommand({ repositoryName: name }));
    expect(out.repository?.repositoryName).toBe(name);
  });

  test('a two-character name is accepted', async () => {
    const out = await h.client.send(new CreateRepositoryCommand({ repositoryName: 'z9' }));
    expect(out.repository?.repositoryName).toBe('z9');
  });

  test('missing repositoryName is InvalidParameterException', async () => {
    await expectInvalidParameter(h.client.send(new CreateRepositoryCommand({} as unknown as CreateRepositoryCommandInput)), 'repositoryName');
  });

  test('a one-character name is too short', async () => {
    await expectInvalidParameter(h.client.send(new CreateRepositoryCommand({ repositoryName: 'a' })), 'repositoryName');
  });

  test('a 206-character name is too long', async () => {
    await expectInvalidParameter(h.client.send(new CreateRepositoryCommand({ repositoryName: 'a'.repeat(206) })), 'repositoryName');
  });

  test.each([
    ['upper case', 'MyRepo'],
    ['upper case suffix (whole-string match)', 'repo/Name'],
    ['leading separator', '-repo'],
    ['trailing separator', 'repo-'],
    ['double slash', 'team//repo'],
    ['leading slash', '/repo'],
    ['trailing slash', 'repo/'],
    ['double separator', 'repo..x'],
    ['space', 'my repo'],
    ['colon', 'repo:tag'],
  ])('a name with %s violates the pattern', async (_what, name) => {
    const err = await expectInvalidParameter(h.client.send(new CreateRepositoryCommand({ repositoryName: name })), 'repositoryName');
    expect(err.message).toMatch(/regular expression|pattern/i);
  });

  test('a duplicate name is RepositoryAlreadyExistsException', async () => {
    const name = await createRepo(h.client);
    const err = await expectError(h.client.send(new CreateRepositoryCommand({ repositoryName: name })), 'RepositoryAlreadyExistsException');
    expect(err.$metadata.httpStatusCode).toBe(400);
    expect(err.$fault).toBe('client');
  });
});

describe('DescribeRepositories', () => {
  test('by names returns exactly those repositories', async () => {
    const a = await createRepo(h.client);
    const b = await createRepo(h.client);
    const out = await h.client.send(new DescribeRepositoriesCommand({ repositoryNames: [a, b] }));
    const alias = await registryAlias(h.client);
    expect(out.repositories?.map((r) => r.repositoryName).sort()).toEqual([a, b].sort());
    for (const r of out.repositories!) {
      expect(r).toEqual({
        repositoryArn: repositoryArn(h.emu.accountId, r.repositoryName!),
        registryId: h.emu.accountId,
        repositoryName: r.repositoryName,
        repositoryUri: `${h.emu.host}/${alias}/${r.repositoryName}`,
        createdAt: expect.any(Date),
      });
    }
    expect(out.nextToken).toBeUndefined();
  });

  test('without names lists every repository', async () => {
    const a = await createRepo(h.client);
    const out = await h.client.send(new DescribeRepositoriesCommand({ maxResults: 1000 }));
    expect(out.repositories?.map((r) => r.repositoryName)).toContain(a);
  });

  test('createdAt is stored, not regenerated', async () => {
    const name = uniqueName();
    const created = await h.client.send(new CreateRepositoryCommand({ repositoryName: name }));
    await new Promise((r) => setTimeout(r, 30));
    const out = await h.client.send(new DescribeRepositoriesCommand({ repositoryNames: [name] }));
    expect(out.repositories?.[0]?.createdAt?.getTime()).toBe(created.repository?.createdAt?.getTime());
  });

  test('an unknown name is RepositoryNotFoundException', async () => {
    const a = await createRepo(h.client);
    await expectError(h.client.send(new DescribeRepositoriesCommand({ repositoryNames: [a, uniqueName('missing')] })), 'RepositoryNotFoundException');
  });

  test('registryId equal to the account is accepted', async () => {
    const a = await createRepo(h.client);
    const out = await h.client.send(new DescribeRepositoriesCommand({ registryId: h.emu.accountId, repositoryNames: [a] }));
    expect(out.repositories?.[0]?.repositoryName).toBe(a);
  });

  test('registryId of another account is RepositoryNotFoundException', async () => {
    const a = await createRepo(h.client);
    await expectError(h.client.send(new DescribeRepositoriesCommand({ registryId: '999999999999', repositoryNames: [a] })), 'RepositoryNotFoundException');
  });

  test('a malformed registryId violates the pattern', async () => {
    await expectInvalidParameter(h.client.send(new DescribeRepositoriesCommand({ registryId: '12345' })), 'registryId');
    await expectInvalidParameter(h.client.send(new DescribeRepositoriesCommand({ registryId: 'x123456789012' })), 'registryId');
  });

  test('an empty repositoryNames list is invalid', async () => {
    await expectInvalidParameter(h.client.send(new DescribeRepositoriesCommand({ repositoryNames: [] })), 'repositoryNames');
  });

  test('101 repositoryNames are invalid', async () => {
    const names = Array.from({ length: 101 }, (_, i) => `name-${i}`);
    await expectInvalidParameter(h.client.send(new DescribeRepositoriesCommand({ repositoryNames: names })), 'repositoryNames');
  });

  test('an invalid name inside repositoryNames names its index', async () => {
    const a = await createRepo(h.client);
    await expectInvalidParameter(h.client.send(new DescribeRepositoriesCommand({ repositoryNames: [a, 'Bad'] })), 'repositoryNames[1]');
  });
});

describe('DeleteRepository', () => {
  test('returns the deleted repository; it is then gone', async () => {
    const name = await createRepo(h.client);
    const out = await h.client.send(new DeleteRepositoryCommand({ repositoryName: name }));
    expect(out.repository).toMatchObject({
      repositoryArn: repositoryArn(h.emu.accountId, name),
      registryId: h.emu.accountId,
      repositoryName: name,
      createdAt: expect.any(Date),
    });
    expect(out.repository?.repositoryUri).toMatch(new RegExp(`^${h.emu.host.replace(/\./g, '\\.')}/[a-z][a-z0-9._-]+/${name}$`));
    await expectError(h.client.send(new DescribeRepositoriesCommand({ repositoryNames: [name] })), 'RepositoryNotFoundException');
    await expectError(h.client.send(new DeleteRepositoryCommand({ repositoryName: name })), 'RepositoryNotFoundException');
  });

  test('an unknown repository is RepositoryNotFoundException', async () => {
    await expectError(h.client.send(new DeleteRepositoryCommand({ repositoryName: uniqueName('missing') })), 'RepositoryNotFoundException');
  });

  test('registryId of another account is RepositoryNotFoundException', async () => {
    const name = await createRepo(h.client);
    await expectError(h.client.send(new DeleteRepositoryCommand({ repositoryName: name, registryId: '210987654321' })), 'RepositoryNotFoundException');
    await h.client.send(new DescribeRepositoriesCommand({ repositoryNames: [name] }));
  });

  test('a repository with images is RepositoryNotEmptyException without force, deleted with force', async () => {
    const name = await createRepo(h.client);
    await pushImage(h.client, name, 'latest');
    await expectError(h.client.send(new DeleteRepositoryCommand({ repositoryName: name })), 'RepositoryNotEmptyException');
    await expectError(h.client.send(new DeleteRepositoryCommand({ repositoryName: name, force: false })), 'RepositoryNotEmptyException');
    // still there
    const still = await h.client.send(new DescribeImagesCommand({ repositoryName: name }));
    expect(still.imageDetails).toHaveLength(1);
    const out = await h.client.send(new DeleteRepositoryCommand({ repositoryName: name, force: true }));
    expect(out.repository?.repositoryName).toBe(name);
    // re-created repository starts empty
    await createRepo(h.client, name);
    const images = await h.client.send(new DescribeImagesCommand({ repositoryName: name }));
    expect(images.imageDetails ?? []).toEqual([]);
  });

  test('force deletes a repository holding an index and its children', async () => {
    const name = await createRepo(h.client);
    const a = await pushImage(h.client, name);
    const b = await pushImage(h.client, name);
    const index = buildIndex([a, b]);
    await h.client.send(new PutImageCommand({ repositoryName: name, imageManifest: index.manifest, imageTag: 'multi' }));
    await expectError(h.client.send(new DeleteRepositoryCommand({ repositoryName: name })), 'RepositoryNotEmptyException');
    await h.client.send(new DeleteRepositoryCommand({ repositoryName: name, force: true }));
    await expectError(h.client.send(new DescribeImagesCommand({ repositoryName: name })), 'RepositoryNotFoundException');
  });

  test('a repository with only uploaded blobs (no images) is deleted without force', async () => {
    const name = await createRepo(h.client);
    await uploadTestBlob(h.client, name, randomBytes(64));
    await h.client.send(new DeleteRepositoryCommand({ repositoryName: name }));
  });

  test('an invalid name is InvalidParameterException', async () => {
    await expectInvalidParameter(h.client.send(new DeleteRepositoryCommand({ repositoryName: 'Upper' })), 'repositoryName');
  });
});

describe('options', () => {
  test('accountId and registryAlias options shape ARNs and URIs', async () => {
    const other = await start({ accountId: '111122223333', registryAlias: 'my-alias' });
    try {
      expect(other.emu.accountId).toBe('111122223333');
      expect(other.emu.endpoint).toBe(`http://${other.emu.host}`);
      expect(other.emu.host).toMatch(/^127\.0\.0\.1:\d+$/);
      const out = await other.client.send(new CreateRepositoryCommand({ repositoryName: 'web' }));
      expect(out.repository).toMatchObject({
        repositoryArn: 'arn:aws:ecr-public::111122223333:repository/web',
        registryId: '111122223333',
        repositoryUri: `${other.emu.host}/my-alias/web`,
      });
    } finally {
      await stop(other);
    }
  });
});

describe('LimitExceededException', () => {
  test('limits.maxRepositories caps the number of repositories', async () => {
    const limited = await start({ limits: { maxRepositories: 3 } });
    try {
      await createRepo(limited.client, 'r1');
      await createRepo(limited.client, 'r2');
      await createRepo(limited.client, 'r3');
      await expectError(limited.client.send(new CreateRepositoryCommand({ repositoryName: 'r4' })), 'LimitExceededException');
      await expectError(limited.client.send(new DescribeRepositoriesCommand({ repositoryNames: ['r4'] })), 'RepositoryNotFoundException');
      await limited.client.send(new DeleteRepositoryCommand({ repositoryName: 'r1' }));
      await createRepo(limited.client, 'r4');
    } finally {
      await stop(limited);
    }
  });
});
