/**
 * The events a CloudFormation rollback sends, answered by each handler: an Update back (ResourceProperties the
 * previous ones, OldResourceProperties those of the update rolled back, the same physical id) returns the resource to
 * what it was, also after an Update that failed midway; a Delete of a resource whose Create failed (the CREATE_FAILED
 * marker) succeeds and touches nothing; the sweep resource's Delete sweeps nothing. What each handler leaves is read
 * through the API, before the update and after the rollback.
 */
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import {
  CreateRepositoryCommand,
  DescribeImagesCommand,
  GetRegistryCatalogDataCommand,
  GetRepositoryCatalogDataCommand,
  GetRepositoryPolicyCommand,
  ListTagsForResourceCommand,
} from '@aws-sdk/client-ecr-public';
import { handler as lifecycleSweeper } from '../../lambda/lifecycle-sweeper';
import { handler as registry } from '../../lambda/registry';
import { handler as repository } from '../../lambda/repository';
import { handler as catalogData } from '../../lambda/repository-catalog-data';
import { handler as repositoryPolicy } from '../../lambda/repository-policy';
import type { CustomResourceEvent } from '../../lambda/shared/cfn-response';
import {
  CatalogDataProperties, CREATE_FAILED_MARKER, PolicyProperties, RegistryProperties, RepositoryProperties, RESOURCE_TYPES,
} from '../../src/shared/handler-contract';
import { makePng, pushSmallImage, uniqueName } from '../support/ecr-fixtures';
import { createEvent, deleteEvent, Handler, invoke, invokeOk, updateEvent, useHandlerHarness } from '../support/handler-harness';
import { makeTempDir, removeTempDir } from '../support/temp-dirs';

const h = useHandlerHarness();
/** Two logos, served from an asset bucket as the deployer serves them. */
const BUCKET = 'rollback-assets';
let assetDir: string;

beforeAll(() => {
  assetDir = makeTempDir('rollback-assets-');
  fs.writeFileSync(path.join(assetDir, 'one.png'), makePng(16, [0x10, 0x80, 0x20]));
  fs.writeFileSync(path.join(assetDir, 'two.png'), makePng(24, [0x90, 0x10, 0x40]));
  h.emu.addBucket(BUCKET, assetDir);
});

afterAll(() => removeTempDir(assetDir));

function policy(sid: string): string {
  return JSON.stringify({
    Version: '2012-10-17',
    Statement: [{ Sid: sid, Effect: 'Allow', Principal: { AWS: 'arn:aws:iam::111122223333:root' }, Action: ['ecr-public:BatchCheckLayerAvailability'] }],
  });
}

async function newRepository(): Promise<string> {
  const name = uniqueName('rollback');
  await h.client.send(new CreateRepositoryCommand({ repositoryName: name }));
  return name;
}

/** What the API shows of a repository: catalog data, policy, tags. */
async function repositoryView(name: string): Promise<unknown> {
  const read = await h.client.send(new GetRepositoryCatalogDataCommand({ repositoryName: name })).then((o) => o.catalogData, (e: Error) => e.name);
  // Each upload of a logo gets a URL of its own: the logo is compared by its content.
  const catalog = typeof read === 'object' && read.logoUrl
    ? { ...read, logoUrl: createHash('sha256').update(Buffer.from(await (await fetch(read.logoUrl)).arrayBuffer())).digest('hex') }
    : read;
  const policyText = await h.client.send(new GetRepositoryPolicyCommand({ repositoryName: name })).then((o) => o.policyText, (e: Error) => e.name);
  const arn = `arn:aws:ecr-public::${h.accountId}:repository/${name}`;
  const tags = (await h.client.send(new ListTagsForResourceCommand({ resourceArn: arn }))).tags ?? [];
  return { catalog, policyText, tags: [...tags].sort((a, b) => (a.Key! < b.Key! ? -1 : 1)) };
}

/**
 * Creates with `before`, updates to `after` (which may fail: `afterFails`), then sends the rollback's Update back;
 * expects what `read` shows after it to be what it showed after the Create.
 */
async function expectUpdatedBack<P>(
  handler: Handler<P>, type: string, before: P, after: P, read: () => Promise<unknown>, afterFails = false,
): Promise<void> {
  const created = await invokeOk(h, handler, createEvent(h, type, before));
  const atBefore = await read();
  const updated = await invoke(h, handler, updateEvent(h, type, created.PhysicalResourceId, after, before));
  expect(updated.Status).toBe(afterFails ? 'FAILED' : 'SUCCESS');
  expect(await read()).not.toEqual(atBefore);
  const back = await invokeOk(h, handler, updateEvent(h, type, created.PhysicalResourceId, before, after));
  expect(back.PhysicalResourceId).toBe(created.PhysicalResourceId);
  expect(await read()).toEqual(atBefore);
}

describe('an Update back returns the resource to its previous properties', () => {
  test('a repository: tags, catalog data and policy', async () => {
    const name = uniqueName('rollback');
    const before: RepositoryProperties = {
      RepositoryName: name, Tags: [{ Key: 'version', Value: 'one' }], EmptyOnDelete: 'false', Description: 'one', PolicyText: policy('One'),
    };
    const after: RepositoryProperties = {
      ...before, Tags: [{ Key: 'version', Value: 'two' }, { Key: 'added', Value: 'yes' }], Description: 'two', Architectures: ['ARM 64'], PolicyText: policy('Two'),
    };
    await expectUpdatedBack(repository, RESOURCE_TYPES.repository, before, after, () => repositoryView(name));
  });

  test('a repository whose Update failed midway (its tags and catalog changed, its policy refused)', async () => {
    const name = uniqueName('rollback');
    const before: RepositoryProperties = { RepositoryName: name, Tags: [{ Key: 'version', Value: 'one' }], EmptyOnDelete: 'false', Description: 'one', PolicyText: '' };
    const after: RepositoryProperties = { ...before, Tags: [{ Key: 'only-two', Value: 'yes' }], Description: 'two', PolicyText: '{"not": "a policy"}' };
    await expectUpdatedBack(repository, RESOURCE_TYPES.repository, before, after, () => repositoryView(name), true);
  });

  test('catalog data, its logo included', async () => {
    const name = await newRepository();
    const before: CatalogDataProperties = {
      RepositoryName: name, Description: 'one', Architectures: ['x86-64'], AboutText: '# one', LogoBucket: BUCKET, LogoKey: 'one.png',
    };
    const after: CatalogDataProperties = {
      RepositoryName: name, Description: 'two', OperatingSystems: ['Linux'], UsageText: 'two', LogoBucket: BUCKET, LogoKey: 'two.png',
    };
    await expectUpdatedBack(catalogData, RESOURCE_TYPES.catalogData, before, after, () => repositoryView(name));
  });

  test('a repository policy', async () => {
    const name = await newRepository();
    const before: PolicyProperties = { RepositoryName: name, PolicyText: policy('One') };
    const after: PolicyProperties = { RepositoryName: name, PolicyText: policy('Two') };
    await expectUpdatedBack(repositoryPolicy, RESOURCE_TYPES.policy, before, after, () => repositoryView(name));
  });

  test('the registry\'s display name', async () => {
    const read = async () => (await h.client.send(new GetRegistryCatalogDataCommand({}))).registryCatalogData?.displayName;
    await expectUpdatedBack<RegistryProperties>(registry, RESOURCE_TYPES.registry, { DisplayName: 'Before' }, { DisplayName: 'After' }, read);
  });
});

describe('a Delete the rollback sends', () => {
  test.each([
    ['repository', repository, RESOURCE_TYPES.repository],
    ['catalog data', catalogData, RESOURCE_TYPES.catalogData],
    ['repository policy', repositoryPolicy, RESOURCE_TYPES.policy],
    ['registry', registry, RESOURCE_TYPES.registry],
    ['lifecycle sweep', lifecycleSweeper as unknown as Handler<unknown>, RESOURCE_TYPES.lifecycleSweep],
  ] as Array<[string, Handler<any>, string]>)('of a %s whose Create failed succeeds and touches nothing', async (_kind, handler, type) => {
    // A repository of the same name holding an image: a Delete that acted on the properties would meet it.
    const name = await newRepository();
    await pushSmallImage(h.client, name, 'v1');
    const props = { RepositoryName: name, EmptyOnDelete: 'true', PolicyText: policy('One'), DisplayName: 'Kept', Repositories: [] };
    const res = await invokeOk(h, handler, deleteEvent(h, type, CREATE_FAILED_MARKER, props) as CustomResourceEvent<unknown>);
    expect(res.PhysicalResourceId).toBe(CREATE_FAILED_MARKER);
    expect((await h.client.send(new DescribeImagesCommand({ repositoryName: name }))).imageDetails).toHaveLength(1);
  });

  test('of the sweep resource expires nothing', async () => {
    const name = await newRepository();
    await pushSmallImage(h.client, name, 'v1');
    const props = { Repositories: JSON.stringify([{ repositoryName: name, rules: [{ maxImageCount: 0 }] }]) };
    const res = await invokeOk(h, lifecycleSweeper as unknown as Handler<unknown>, deleteEvent(h, RESOURCE_TYPES.lifecycleSweep, 'lifecycle-sweep', props));
    expect(res.PhysicalResourceId).toBe('lifecycle-sweep');
    expect((await h.client.send(new DescribeImagesCommand({ repositoryName: name }))).imageDetails).toHaveLength(1);
  });
});
