import {
  CreateRepositoryCommand,
  DeleteRepositoryCommand,
  GetRepositoryCatalogDataCommand,
  PutRepositoryCatalogDataCommand,
  PutRepositoryCatalogDataCommandInput,
  RepositoryCatalogDataInput,
} from '@aws-sdk/client-ecr-public';
import {
  createRepo,
  expectError,
  expectInvalidParameter,
  GIF_SMALL,
  JPEG_SMALL,
  PNG_1X1,
  randomBytes,
  uniqueName,
  useEmulator,
} from './support';

const h = useEmulator();

function putCatalog(repositoryName: string, catalogData: RepositoryCatalogDataInput, extra: Partial<PutRepositoryCatalogDataCommandInput> = {}) {
  return h.client.send(new PutRepositoryCatalogDataCommand({ repositoryName, catalogData, ...extra }));
}

async function getCatalog(repositoryName: string) {
  return (await h.client.send(new GetRepositoryCatalogDataCommand({ repositoryName }))).catalogData!;
}

async function fetchBytes(url: string): Promise<{ status: number; body: Buffer }> {
  const res = await fetch(url);
  return { status: res.status, body: Buffer.from(await res.arrayBuffer()) };
}

const FULL = {
  description: 'Short description',
  architectures: ['ARM', 'ARM 64', 'x86', 'x86-64', 'riscv'],
  operatingSystems: ['Linux', 'Windows'],
  aboutText: '## About\nmarkdown',
  usageText: '## Usage\n`docker run`',
};

describe('PutRepositoryCatalogData / GetRepositoryCatalogData', () => {
  test('a repository that never had catalog data is RepositoryCatalogDataNotFoundException', async () => {
    const repo = await createRepo(h.client);
    const err = await expectError(h.client.send(new GetRepositoryCatalogDataCommand({ repositoryName: repo })), 'RepositoryCatalogDataNotFoundException');
    expect(err.$metadata.httpStatusCode).toBe(400);
  });

  test('put returns and stores the catalog data', async () => {
    const repo = await createRepo(h.client);
    const out = await putCatalog(repo, FULL);
    expect(out.catalogData).toMatchObject(FULL);
    expect(out.catalogData?.logoUrl).toBeUndefined();
    const got = await getCatalog(repo);
    expect(got).toMatchObject(FULL);
    expect(got.logoUrl).toBeUndefined();
  });

  test('put replaces the whole catalog: fields left out are cleared', async () => {
    const repo = await createRepo(h.client);
    await putCatalog(repo, FULL);
    const out = await putCatalog(repo, { aboutText: 'only about' });
    expect(out.catalogData?.aboutText).toBe('only about');
    const got = await getCatalog(repo);
    expect(got.aboutText).toBe('only about');
    expect(got.description).toBeUndefined();
    expect(got.usageText).toBeUndefined();
    expect(got.architectures ?? []).toEqual([]);
    expect(got.operatingSystems ?? []).toEqual([]);
  });

  test('a PNG logo is stored and served at logoUrl', async () => {
    const repo = await createRepo(h.client);
    const out = await putCatalog(repo, { description: 'with logo', logoImageBlob: PNG_1X1 });
    const url = out.catalogData?.logoUrl;
    expect(url!.startsWith(h.emu.endpoint + '/logo/')).toBe(true);
    const got = await getCatalog(repo);
    expect(got.logoUrl).toBe(url);
    const fetched = await fetchBytes(url!);
    expect(fetched.status).toBe(200);
    expect(fetched.body.equals(PNG_1X1)).toBe(true);
  });

  test('logoUrl has the documented form <endpoint>/logo/<file> with the image type as extension', async () => {
    const repo = await createRepo(h.client);
    const out = await putCatalog(repo, { logoImageBlob: PNG_1X1 });
    expect(out.catalogData?.logoUrl).toMatch(new RegExp(`^${h.emu.endpoint.replace(/[.]/g, '\\.')}/logo/[0-9a-f-]{36}\\.png$`));
  });

  test('a JPEG logo is accepted and served', async () => {
    const repo = await createRepo(h.client);
    const out = await putCatalog(repo, { logoImageBlob: JPEG_SMALL });
    const url = out.catalogData?.logoUrl;
    expect(url).toBeDefined();
    const fetched = await fetchBytes(url!);
    expect(fetched.status).toBe(200);
    expect(fetched.body.equals(JPEG_SMALL)).toBe(true);
  });

  test('a logo that is neither PNG nor JPEG is InvalidParameterException', async () => {
    const repo = await createRepo(h.client);
    await expectError(putCatalog(repo, { logoImageBlob: GIF_SMALL }), 'InvalidParameterException');
    await expectError(putCatalog(repo, { logoImageBlob: randomBytes(100) }), 'InvalidParameterException');
    await expectError(h.client.send(new CreateRepositoryCommand({
      repositoryName: uniqueName(), catalogData: { logoImageBlob: GIF_SMALL },
    })), 'InvalidParameterException');
  });

  test('a logo of 512000 bytes is accepted; 512001 bytes is InvalidParameterException', async () => {
    const repo = await createRepo(h.client);
    const maxPng = Buffer.concat([PNG_1X1, randomBytes(512000 - PNG_1X1.length)]);
    const out = await putCatalog(repo, { logoImageBlob: maxPng });
    const fetched = await fetchBytes(out.catalogData!.logoUrl!);
    expect(fetched.body.equals(maxPng)).toBe(true);
    const tooBig = Buffer.concat([PNG_1X1, randomBytes(512001 - PNG_1X1.length)]);
    await expectInvalidParameter(putCatalog(repo, { logoImageBlob: tooBig }), 'catalogData.logoImageBlob');
  });

  test('leaving the logo out of a later put clears it', async () => {
    const repo = await createRepo(h.client);
    await putCatalog(repo, { logoImageBlob: PNG_1X1 });
    await putCatalog(repo, { description: 'no logo now' });
    const got = await getCatalog(repo);
    expect(got.logoUrl).toBeUndefined();
    expect(got.description).toBe('no logo now');
  });

  test('an empty logoImageBlob clears the logo', async () => {
    const repo = await createRepo(h.client);
    await putCatalog(repo, { description: 'd', logoImageBlob: PNG_1X1 });
    const out = await putCatalog(repo, { description: 'd', logoImageBlob: new Uint8Array(0) });
    expect(out.catalogData?.logoUrl).toBeUndefined();
    expect((await getCatalog(repo)).logoUrl).toBeUndefined();
  });

  test('CreateRepository with a logo returns a fetchable logoUrl', async () => {
    const name = uniqueName();
    const out = await h.client.send(new CreateRepositoryCommand({ repositoryName: name, catalogData: { logoImageBlob: PNG_1X1 } }));
    const fetched = await fetchBytes(out.catalogData!.logoUrl!);
    expect(fetched.body.equals(PNG_1X1)).toBe(true);
  });

  test('an unknown logo path is 404', async () => {
    const res = await fetch(`${h.emu.endpoint}/logo/does-not-exist/none.png`);
    expect(res.status).toBe(404);
  });

  test('deleting the repository removes its catalog data', async () => {
    const repo = await createRepo(h.client);
    await putCatalog(repo, FULL);
    await h.client.send(new DeleteRepositoryCommand({ repositoryName: repo }));
    await expectError(h.client.send(new GetRepositoryCatalogDataCommand({ repositoryName: repo })), 'RepositoryNotFoundException');
    await createRepo(h.client, repo);
    await expectError(h.client.send(new GetRepositoryCatalogDataCommand({ repositoryName: repo })), 'RepositoryCatalogDataNotFoundException');
  });

  test('unknown repository', async () => {
    await expectError(putCatalog(uniqueName('missing'), FULL), 'RepositoryNotFoundException');
    await expectError(h.client.send(new GetRepositoryCatalogDataCommand({ repositoryName: uniqueName('missing') })), 'RepositoryNotFoundException');
  });

  test('registryId of another account is RepositoryNotFoundException', async () => {
    const repo = await createRepo(h.client);
    await putCatalog(repo, FULL);
    await expectError(putCatalog(repo, FULL, { registryId: '999999999999' }), 'RepositoryNotFoundException');
    await expectError(h.client.send(new GetRepositoryCatalogDataCommand({ repositoryName: repo, registryId: '999999999999' })), 'RepositoryNotFoundException');
    const ok = await h.client.send(new GetRepositoryCatalogDataCommand({ repositoryName: repo, registryId: h.emu.accountId }));
    expect(ok.catalogData?.description).toBe(FULL.description);
  });

  test('missing catalogData is InvalidParameterException', async () => {
    const repo = await createRepo(h.client);
    await expectInvalidParameter(h.client.send(new PutRepositoryCatalogDataCommand({ repositoryName: repo } as PutRepositoryCatalogDataCommandInput)), 'catalogData');
  });

  test.each<[string, RepositoryCatalogDataInput, string]>([
    ['description > 1024', { description: 'd'.repeat(1025) }, 'catalogData.description'],
    ['aboutText > 25600', { aboutText: 'a'.repeat(25601) }, 'catalogData.aboutText'],
    ['usageText > 25600', { usageText: 'u'.repeat(25601) }, 'catalogData.usageText'],
    ['51 architectures', { architectures: Array.from({ length: 51 }, (_, i) => `arch${i}`) }, 'catalogData.architectures'],
    ['an empty architecture', { architectures: ['x86', ''] }, 'catalogData.architectures[1]'],
    ['an architecture of 51 chars', { architectures: ['a'.repeat(51)] }, 'catalogData.architectures[0]'],
    ['51 operating systems', { operatingSystems: Array.from({ length: 51 }, (_, i) => `os${i}`) }, 'catalogData.operatingSystems'],
    ['an operating system of 51 chars', { operatingSystems: ['Linux', 'o'.repeat(51)] }, 'catalogData.operatingSystems[1]'],
  ])('%s is InvalidParameterException', async (_what, catalogData, path) => {
    const repo = await createRepo(h.client);
    await expectInvalidParameter(putCatalog(repo, catalogData), path);
    // and on CreateRepository too, which then creates nothing
    const name = uniqueName();
    await expectInvalidParameter(h.client.send(new CreateRepositoryCommand({ repositoryName: name, catalogData })), path);
    await expectError(h.client.send(new GetRepositoryCatalogDataCommand({ repositoryName: name })), 'RepositoryNotFoundException');
  });

  test('values at the maximum lengths are accepted', async () => {
    const repo = await createRepo(h.client);
    const data = {
      description: 'd'.repeat(1024),
      aboutText: 'a'.repeat(25600),
      usageText: 'u'.repeat(25600),
      architectures: Array.from({ length: 50 }, (_, i) => `${i}`.padEnd(50, 'x')),
      operatingSystems: Array.from({ length: 50 }, (_, i) => `os${i}`),
    };
    await putCatalog(repo, data);
    expect(await getCatalog(repo)).toMatchObject(data);
  });
});
