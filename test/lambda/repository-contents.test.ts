/**
 * The repository handler keeps the repository's catalog data and policy too (one resource per repository): the
 * create / update / delete matrix of catalog and policy added, changed and removed, on retained and destroyed
 * repositories, against the emulator through the real SDK, with texts and logos read from an asset bucket.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import {
  DescribeRepositoriesCommand,
  GetRepositoryCatalogDataCommand,
  GetRepositoryPolicyCommand,
  RepositoryCatalogData,
} from '@aws-sdk/client-ecr-public';
import { handler } from '../../lambda/repository';
import { RepositoryProperties, RESOURCE_TYPES } from '../../src/shared/handler-contract';
import { makePng, uniqueName } from '../support/ecr-fixtures';
import { createEvent, deleteEvent, invoke, invokeOk, updateEvent, useHandlerHarness } from '../support/handler-harness';
import { errorName } from '../support/rejections';
import { makeTempDir } from '../support/temp-dirs';

const h = useHandlerHarness();
const TYPE = RESOURCE_TYPES.repository;
const BUCKET = 'stack-assets';
const logo = makePng(16, [0xd7, 0x23, 0x8b]);
const otherLogo = makePng(24, [0x10, 0x80, 0x40]);
let assetDir: string;

/** The content-addressed object key of an asset, as the construct names it. */
const keys = {
  aboutV1: 'a1.md', aboutV2: 'a2.md', usage: 'u1.md', logo: 'l1.png', otherLogo: 'l2.png', notUtf8: 'bad.md',
};
const texts: Record<string, string> = {
  [keys.aboutV1]: '# About\nThe first text, with ünïcödé.',
  [keys.aboutV2]: '# About\nThe second text.',
  [keys.usage]: '## Usage\n`docker run it`',
};

beforeAll(() => {
  assetDir = makeTempDir('repository-assets-');
  for (const [key, text] of Object.entries(texts)) fs.writeFileSync(path.join(assetDir, key), text);
  fs.writeFileSync(path.join(assetDir, keys.logo), logo);
  fs.writeFileSync(path.join(assetDir, keys.otherLogo), otherLogo);
  fs.writeFileSync(path.join(assetDir, keys.notUtf8), Buffer.from([0xff, 0xfe, 0x41]));
  h.emu.addBucket(BUCKET, assetDir);
});

function policy(account: string): string {
  return JSON.stringify({
    Version: '2012-10-17',
    Statement: [{ Sid: 'Push', Effect: 'Allow', Principal: { AWS: `arn:aws:iam::${account}:root` }, Action: ['ecr-public:PutImage'] }],
  });
}

/** A repository with every catalog field and a policy. */
function full(name: string): RepositoryProperties {
  return {
    RepositoryName: name,
    Description: 'A tiny web server',
    Architectures: ['x86-64', 'ARM 64'],
    OperatingSystems: ['Linux'],
    AboutTextBucket: BUCKET,
    AboutTextKey: keys.aboutV1,
    UsageTextBucket: BUCKET,
    UsageTextKey: keys.usage,
    LogoBucket: BUCKET,
    LogoKey: keys.logo,
    PolicyText: policy('111122223333'),
  };
}

/** The repository's catalog; empty when it never had one (the emulator then answers RepositoryCatalogDataNotFoundException). */
async function catalogOf(name: string): Promise<RepositoryCatalogData> {
  try {
    return (await h.client.send(new GetRepositoryCatalogDataCommand({ repositoryName: name }))).catalogData!;
  } catch (err) {
    if ((err as Error).name === 'RepositoryCatalogDataNotFoundException') return {};
    throw err;
  }
}

async function policyOf(name: string): Promise<unknown> {
  try {
    return JSON.parse((await h.client.send(new GetRepositoryPolicyCommand({ repositoryName: name }))).policyText!);
  } catch (err) {
    if ((err as Error).name === 'RepositoryPolicyNotFoundException') return undefined;
    throw err;
  }
}

async function exists(name: string): Promise<boolean> {
  return errorName(h.client.send(new DescribeRepositoriesCommand({ repositoryNames: [name] }))).then(
    (n) => (n === 'RepositoryNotFoundException' ? false : Promise.reject(new Error(n))),
    () => true,
  );
}

async function download(url: string): Promise<Buffer> {
  const res = await fetch(url);
  expect(res.status).toBe(200);
  return Buffer.from(await res.arrayBuffer());
}

async function create(props: RepositoryProperties) {
  return invokeOk(h, handler, createEvent(h, TYPE, props));
}

async function update(props: RepositoryProperties, old: RepositoryProperties) {
  return invokeOk(h, handler, updateEvent(h, TYPE, old.RepositoryName, props, old));
}

test('Create makes the repository with its catalog, texts and logo read from the assets, and its policy, in one call', async () => {
  const name = uniqueName('full');
  const res = await create(full(name));
  expect(res.PhysicalResourceId).toBe(name);
  expect(res.Data?.LogoUrl).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/logo\//);
  expect(await catalogOf(name)).toMatchObject({
    description: 'A tiny web server',
    architectures: ['x86-64', 'ARM 64'],
    operatingSystems: ['Linux'],
    aboutText: texts[keys.aboutV1],
    usageText: texts[keys.usage],
    logoUrl: res.Data?.LogoUrl,
  });
  expect((await download(res.Data!.LogoUrl)).equals(logo)).toBe(true);
  expect(await policyOf(name)).toEqual(JSON.parse(full(name).PolicyText!));
});

test('Create without catalog or policy leaves both empty', async () => {
  const name = uniqueName('bare');
  const res = await create({ RepositoryName: name });
  expect(res.Data?.LogoUrl).toBe('');
  const catalog = await catalogOf(name);
  expect([catalog.description, catalog.aboutText, catalog.usageText, catalog.logoUrl]).toEqual([undefined, undefined, undefined, undefined]);
  expect(await policyOf(name)).toBeUndefined();
});

type Change = [string, (p: RepositoryProperties) => RepositoryProperties, (name: string, logoUrl: string) => Promise<void>];

const without = (p: RepositoryProperties, ...fields: Array<keyof RepositoryProperties>): RepositoryProperties => {
  const copy: Record<string, unknown> = { ...p };
  for (const f of fields) delete copy[f];
  return copy as unknown as RepositoryProperties;
};

/** Each change from `full`, and what the registry holds after the update. */
const changes: Change[] = [
  ['the description removed', (p) => without(p, 'Description'), async (name) => {
    const c = await catalogOf(name);
    expect(c.description).toBeUndefined();
    expect(c.aboutText).toBe(texts[keys.aboutV1]);
  }],
  ['the about text changed (a new asset key)', (p) => ({ ...p, AboutTextKey: keys.aboutV2 }), async (name) => {
    expect((await catalogOf(name)).aboutText).toBe(texts[keys.aboutV2]);
  }],
  ['the about and usage texts removed', (p) => without(p, 'AboutTextBucket', 'AboutTextKey', 'UsageTextBucket', 'UsageTextKey'), async (name) => {
    const c = await catalogOf(name);
    expect([c.aboutText, c.usageText]).toEqual([undefined, undefined]);
    expect(c.description).toBe('A tiny web server');
  }],
  ['the logo changed', (p) => ({ ...p, LogoKey: keys.otherLogo }), async (name, logoUrl) => {
    expect((await download(logoUrl)).equals(otherLogo)).toBe(true);
    expect((await catalogOf(name)).logoUrl).toBe(logoUrl);
  }],
  ['the logo removed', (p) => without(p, 'LogoBucket', 'LogoKey'), async (name, logoUrl) => {
    expect(logoUrl).toBe('');
    expect((await catalogOf(name)).logoUrl).toBeUndefined();
  }],
  ['the whole catalog removed', (p) => ({ RepositoryName: p.RepositoryName, PolicyText: p.PolicyText }), async (name) => {
    const c = await catalogOf(name);
    expect([c.description, c.aboutText, c.usageText, c.logoUrl]).toEqual([undefined, undefined, undefined, undefined]);
    expect(c.architectures ?? []).toEqual([]);
    expect(await policyOf(name)).toBeDefined();
  }],
  ['the policy changed', (p) => ({ ...p, PolicyText: policy('444455556666') }), async (name) => {
    expect(JSON.stringify(await policyOf(name))).toContain('444455556666');
  }],
  ['the last statement removed (empty text)', (p) => ({ ...p, PolicyText: '' }), async (name) => {
    expect(await policyOf(name)).toBeUndefined();
    expect((await catalogOf(name)).description).toBe('A tiny web server');
  }],
  ['the policy property gone', (p) => without(p, 'PolicyText'), async (name) => {
    expect(await policyOf(name)).toBeUndefined();
  }],
];

describe.each([['retained', 'Retain'], ['destroyed', 'Delete']])('on a %s repository', (_kind, deletionPolicy) => {
  test.each(changes)('an update with %s sends the full desired state', async (_what, change, check) => {
    const name = uniqueName(deletionPolicy.toLowerCase());
    const old = { ...full(name), EmptyOnDelete: String(deletionPolicy === 'Delete') };
    await create(old);
    const res = await update(change(old), old);
    expect(res.PhysicalResourceId).toBe(name);
    await check(name, res.Data!.LogoUrl);
  });

  test('the catalog and the policy added by an update to a bare repository', async () => {
    const name = uniqueName('added');
    const bare: RepositoryProperties = { RepositoryName: name, EmptyOnDelete: String(deletionPolicy === 'Delete') };
    await create(bare);
    const res = await update({ ...full(name), EmptyOnDelete: bare.EmptyOnDelete }, bare);
    expect((await catalogOf(name)).aboutText).toBe(texts[keys.aboutV1]);
    expect((await download(res.Data!.LogoUrl)).equals(logo)).toBe(true);
    expect(await policyOf(name)).toEqual(JSON.parse(full(name).PolicyText!));
  });
});

test('a rename creates the new repository with the catalog and policy; the retained old one keeps both', async () => {
  const oldName = uniqueName('old');
  const old = full(oldName);
  await create(old);
  const newName = uniqueName('new');
  const res = await update({ ...old, RepositoryName: newName }, old);
  expect(res.PhysicalResourceId).toBe(newName);
  expect((await catalogOf(newName)).aboutText).toBe(texts[keys.aboutV1]);
  expect(await policyOf(newName)).toEqual(JSON.parse(old.PolicyText!));
  // CloudFormation sends no Delete for a retained repository: it keeps its page and its access.
  expect((await catalogOf(oldName)).aboutText).toBe(texts[keys.aboutV1]);
  expect(await policyOf(oldName)).toEqual(JSON.parse(old.PolicyText!));
});

test('Delete of a destroyed repository takes its catalog and policy with it', async () => {
  const name = uniqueName('gone');
  const props = { ...full(name), EmptyOnDelete: 'true' };
  await create(props);
  await invokeOk(h, handler, deleteEvent(h, TYPE, name, props));
  expect(await exists(name)).toBe(false);
  // A repository made again under the name starts with neither.
  await create({ RepositoryName: name });
  expect((await catalogOf(name)).aboutText).toBeUndefined();
  expect(await policyOf(name)).toBeUndefined();
});

test('a policy the API refuses fails the Create with its error and leaves no repository behind', async () => {
  const name = uniqueName('bad-policy');
  const res = await invoke(h, handler, createEvent(h, TYPE, { ...full(name), PolicyText: '{"Statement":[]}' }));
  expect(res.Status).toBe('FAILED');
  expect(res.Reason).toMatch(/^InvalidParameterException: /);
  expect(await exists(name)).toBe(false);
});

test('a missing text asset fails the Create before any repository is made', async () => {
  const name = uniqueName('no-asset');
  const res = await invoke(h, handler, createEvent(h, TYPE, { ...full(name), UsageTextKey: 'missing.md' }));
  expect(res.Status).toBe('FAILED');
  expect(res.Reason).toMatch(/^NoSuchKey: /);
  expect(await exists(name)).toBe(false);
});

test('a missing or non-UTF-8 asset fails the Update and changes nothing', async () => {
  const name = uniqueName('keep');
  const old = full(name);
  await create(old);
  const before = { catalog: await catalogOf(name), policy: await policyOf(name) };
  for (const [change, reason] of [
    [{ AboutTextKey: 'missing.md', PolicyText: '' }, /^NoSuchKey: /],
    [{ AboutTextKey: keys.notUtf8, Description: 'changed' }, /AboutText asset s3:\/\/stack-assets\/bad\.md is not UTF-8 text/],
  ] as const) {
    const res = await invoke(h, handler, updateEvent(h, TYPE, name, { ...old, ...change }, old));
    expect(res.Status).toBe('FAILED');
    expect(res.Reason).toMatch(reason);
    expect({ catalog: await catalogOf(name), policy: await policyOf(name) }).toEqual(before);
  }
});

test('a text given both inline and as an asset is refused', async () => {
  const name = uniqueName('both');
  const res = await invoke(h, handler, createEvent(h, TYPE, { ...full(name), AboutText: 'inline' }));
  expect(res.Status).toBe('FAILED');
  expect(res.Reason).toMatch(/AboutText is given both inline and as the asset a1\.md/);
  expect(await exists(name)).toBe(false);
});

test('an inline text (one with deploy-time values) is put as given', async () => {
  const name = uniqueName('inline');
  await create({ RepositoryName: name, UsageText: 'docker pull 127.0.0.1/x' });
  expect((await catalogOf(name)).usageText).toBe('docker pull 127.0.0.1/x');
});
