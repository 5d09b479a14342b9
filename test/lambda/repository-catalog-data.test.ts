import * as fs from 'node:fs';
import * as path from 'node:path';
import {
  CreateRepositoryCommand,
  DeleteRepositoryCommand,
  ECRPUBLICClient,
  GetRepositoryCatalogDataCommand,
  PutRepositoryCatalogDataCommand,
  RepositoryCatalogData,
} from '@aws-sdk/client-ecr-public';
import { handler } from '../../lambda/repository-catalog-data';
import { CatalogDataProperties, RESOURCE_TYPES } from '../../src/shared/handler-contract';
import { makePng, uniqueName } from '../support/ecr-fixtures';
import { createEvent, deleteEvent, invoke, invokeOk, updateEvent, useHandlerHarness } from '../support/handler-harness';
import { makeTempDir } from '../support/temp-dirs';

const h = useHandlerHarness();
const TYPE = RESOURCE_TYPES.catalogData;
const BUCKET = 'assets';
const LOGO_KEY = 'logos/a1b2c3.png';
const logo = makePng(32, [0x23, 0x8b, 0xd7]);
let assetDir: string;

beforeAll(() => {
  assetDir = makeTempDir('catalog-assets-');
  fs.mkdirSync(path.join(assetDir, 'logos'));
  fs.writeFileSync(path.join(assetDir, LOGO_KEY), logo);
  h.emu.addBucket(BUCKET, assetDir);
});

afterAll(() => {
  fs.rmSync(assetDir, { recursive: true, force: true });
});

async function newRepository(): Promise<string> {
  const name = uniqueName('catalog');
  await h.client.send(new CreateRepositoryCommand({ repositoryName: name }));
  return name;
}

async function catalogOf(name: string): Promise<RepositoryCatalogData> {
  return (await h.client.send(new GetRepositoryCatalogDataCommand({ repositoryName: name }))).catalogData!;
}

async function download(url: string): Promise<Buffer> {
  const res = await fetch(url);
  expect(res.status).toBe(200);
  return Buffer.from(await res.arrayBuffer());
}

function fullProps(name: string): CatalogDataProperties {
  return {
    RepositoryName: name,
    Description: 'A tiny web server',
    Architectures: ['x86-64', 'ARM 64'],
    OperatingSystems: ['Linux'],
    AboutText: '## About\nServes files.',
    UsageText: '## Usage\n`docker run web`',
    LogoBucket: BUCKET,
    LogoKey: LOGO_KEY,
  };
}

describe('Custom::EcrPublicRepositoryCatalogData', () => {
  test('Create puts every field and the logo read from the asset bucket', async () => {
    const name = await newRepository();
    const res = await invokeOk(h, handler, createEvent(h, TYPE, fullProps(name)));
    expect(res.PhysicalResourceId).toBe(`${name}/catalog-data`);
    const logoUrl = res.Data?.LogoUrl;
    expect(logoUrl).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/logo\//);

    const catalog = await catalogOf(name);
    expect(catalog).toMatchObject({
      description: 'A tiny web server',
      architectures: ['x86-64', 'ARM 64'],
      operatingSystems: ['Linux'],
      aboutText: '## About\nServes files.',
      usageText: '## Usage\n`docker run web`',
      logoUrl,
    });
    expect((await download(logoUrl!)).equals(logo)).toBe(true);
  });

  test('Update that drops the description clears it and keeps the other fields and the logo', async () => {
    const name = await newRepository();
    const oldProps = fullProps(name);
    await invokeOk(h, handler, createEvent(h, TYPE, oldProps));
    const { Description: _dropped, ...newProps } = oldProps;

    const res = await invokeOk(h, handler, updateEvent(h, TYPE, `${name}/catalog-data`, newProps, oldProps));
    expect(res.PhysicalResourceId).toBe(`${name}/catalog-data`);
    const catalog = await catalogOf(name);
    expect(catalog.description).toBeUndefined();
    expect(catalog.aboutText).toBe('## About\nServes files.');
    expect(catalog.architectures).toEqual(['x86-64', 'ARM 64']);
    expect(catalog.logoUrl).toBe(res.Data?.LogoUrl);
    expect((await download(catalog.logoUrl!)).equals(logo)).toBe(true);
  });

  test('Update that drops the logo clears it and reports an empty LogoUrl', async () => {
    const name = await newRepository();
    const oldProps = fullProps(name);
    await invokeOk(h, handler, createEvent(h, TYPE, oldProps));
    const { LogoBucket: _b, LogoKey: _k, ...newProps } = oldProps;

    const res = await invokeOk(h, handler, updateEvent(h, TYPE, `${name}/catalog-data`, newProps, oldProps));
    expect(res.Data).toEqual({ LogoUrl: '' });
    const catalog = await catalogOf(name);
    expect(catalog.logoUrl).toBeUndefined();
    expect(catalog.description).toBe('A tiny web server');
  });

  test('Delete clears the catalog', async () => {
    const name = await newRepository();
    const props = fullProps(name);
    await invokeOk(h, handler, createEvent(h, TYPE, props));

    await invokeOk(h, handler, deleteEvent(h, TYPE, `${name}/catalog-data`, props));
    const catalog = await catalogOf(name);
    expect(catalog.description).toBeUndefined();
    expect(catalog.aboutText).toBeUndefined();
    expect(catalog.usageText).toBeUndefined();
    expect(catalog.architectures ?? []).toEqual([]);
    expect(catalog.operatingSystems ?? []).toEqual([]);
    expect(catalog.logoUrl).toBeUndefined();
  });

  test('Delete with RetainOnDelete keeps the catalog', async () => {
    const name = await newRepository();
    const props: CatalogDataProperties = { ...fullProps(name), RetainOnDelete: 'true' };
    const created = await invokeOk(h, handler, createEvent(h, TYPE, props));

    await invokeOk(h, handler, deleteEvent(h, TYPE, `${name}/catalog-data`, props));
    const catalog = await catalogOf(name);
    expect(catalog.description).toBe('A tiny web server');
    expect(catalog.logoUrl).toBe(created.Data?.LogoUrl);
  });

  test('Delete after the repository is gone succeeds', async () => {
    const name = await newRepository();
    const props = fullProps(name);
    await invokeOk(h, handler, createEvent(h, TYPE, props));
    await h.client.send(new DeleteRepositoryCommand({ repositoryName: name }));

    const res = await invokeOk(h, handler, deleteEvent(h, TYPE, `${name}/catalog-data`, props));
    expect(res.PhysicalResourceId).toBe(`${name}/catalog-data`);
  });

  test('a logo key missing from the bucket fails with the S3 error', async () => {
    const name = await newRepository();
    const res = await invoke(h, handler, createEvent(h, TYPE, { ...fullProps(name), LogoKey: 'logos/missing.png' }));
    expect(res.Status).toBe('FAILED');
    expect(res.Reason).toMatch(/^NoSuchKey: /);
  });

  test('Create on a repository that does not exist fails with RepositoryNotFoundException', async () => {
    const res = await invoke(h, handler, createEvent<CatalogDataProperties>(h, TYPE, { RepositoryName: uniqueName('absent'), Description: 'x' }));
    expect(res.Status).toBe('FAILED');
    expect(res.Reason).toMatch(/^RepositoryNotFoundException: /);
  });
});

test('an empty logo object fails the update instead of clearing the logo', async () => {
  const name = await newRepository();
  const props = fullProps(name);
  await invokeOk(h, handler, createEvent(h, TYPE, props));
  const before = await catalogOf(name);
  fs.writeFileSync(path.join(assetDir, 'logos', 'empty.png'), Buffer.alloc(0));
  const res = await invoke(h, handler, updateEvent(h, TYPE, `${name}/catalog-data`, { ...props, LogoKey: 'logos/empty.png' }, props));
  expect(res.Status).toBe('FAILED');
  expect(res.Reason).toMatch(/logo s3:\/\/assets\/logos\/empty\.png is empty/);
  expect((await catalogOf(name)).logoUrl).toBe(before.logoUrl);
});

test('every field is sent, empty when not asked, so that a merging service would clear it too', async () => {
  const name = await newRepository();
  const send = jest.spyOn(ECRPUBLICClient.prototype, 'send');
  try {
    await invokeOk(h, handler, createEvent(h, TYPE, { RepositoryName: name, Description: 'only this' }));
    const put = send.mock.calls.map(([command]) => command).find((c) => c instanceof PutRepositoryCatalogDataCommand)!;
    const sent = (put as InstanceType<typeof PutRepositoryCatalogDataCommand>).input.catalogData!;
    expect(sent).toMatchObject({ description: 'only this', architectures: [], operatingSystems: [], aboutText: '', usageText: '' });
    expect(sent.logoImageBlob).toHaveLength(0);
  } finally {
    send.mockRestore();
  }
  const catalog = await catalogOf(name);
  expect(catalog.description).toBe('only this');
  expect(catalog.aboutText).toBeUndefined();
  expect(catalog.logoUrl).toBeUndefined();
});
