/** The repository handler when answers are lost or a request is refused halfway: no orphan, no half-applied tags. */
import { CreateRepositoryCommand, DescribeRepositoriesCommand, ListTagsForResourceCommand } from '@aws-sdk/client-ecr-public';
import { createEvent, invoke, invokeOk, uniqueName, updateEvent, useHandlerHarness } from './support';
import { handler } from '../../lambda/repository';
import { RepositoryProperties, RESOURCE_TYPES } from '../../src/private/handler-contract';

const h = useHandlerHarness();
const TYPE = RESOURCE_TYPES.repository;

async function tagsOf(name: string): Promise<Record<string, string>> {
  const out = await h.client.send(new ListTagsForResourceCommand({ resourceArn: `arn:aws:ecr-public::${h.accountId}:repository/${name}` }));
  return Object.fromEntries((out.tags ?? []).map((t) => [t.Key!, t.Value!]));
}

afterEach(() => h.emu.setFaults({}));

test('a CreateRepository whose answer was lost is recognised as ours when the SDK retries it', async () => {
  const name = uniqueName('lost-create');
  // With this seed, the handler's first request (CreateRepository) runs and then its connection is dropped.
  h.emu.setFaults({ throttleRate: 0.1, serverErrorRate: 0.05, dropRate: 0.02, seed: 8 });
  const res = await invokeOk(h, handler, createEvent<RepositoryProperties>(h, TYPE, { RepositoryName: name, Tags: [{ Key: 'a', Value: '1' }] }));
  h.emu.setFaults({});
  expect(res.PhysicalResourceId).toBe(name);
  expect(res.Data?.RepositoryUri).toMatch(new RegExp(`/${name}$`));
  // The user's tag is there; the create marker is gone.
  expect(await tagsOf(name)).toEqual({ a: '1' });
});

test('a repository that somebody else created is still refused, however recent', async () => {
  const name = uniqueName('foreign');
  await h.client.send(new CreateRepositoryCommand({ repositoryName: name }));
  const res = await invoke(h, handler, createEvent<RepositoryProperties>(h, TYPE, { RepositoryName: name }));
  expect(res.Status).toBe('FAILED');
  expect(res.Reason).toMatch(/^RepositoryAlreadyExistsException: .*not created by this resource/);
});

test('with 50 tags (no room for the marker) the create still works', async () => {
  const name = uniqueName('fifty');
  const tags = Array.from({ length: 50 }, (_, i) => ({ Key: `k${i}`, Value: 'v' }));
  await invokeOk(h, handler, createEvent<RepositoryProperties>(h, TYPE, { RepositoryName: name, Tags: tags }));
  expect(Object.keys(await tagsOf(name))).toHaveLength(50);
});

test('an update refused for a bad tag leaves the old tags in place', async () => {
  const name = uniqueName('bad-tag-update');
  const old: RepositoryProperties = { RepositoryName: name, Tags: [{ Key: 'team', Value: 'web' }, { Key: 'env', Value: 'prod' }] };
  await invokeOk(h, handler, createEvent<RepositoryProperties>(h, TYPE, old));
  const res = await invoke(h, handler, updateEvent<RepositoryProperties>(h, TYPE, name,
    { RepositoryName: name, Tags: [{ Key: 'team', Value: 'web' }, { Key: 'k'.repeat(129), Value: 'v' }] }, old));
  expect(res.Status).toBe('FAILED');
  expect(res.Reason).toMatch(/^InvalidTagParameterException:/);
  expect(await tagsOf(name)).toEqual({ team: 'web', env: 'prod' });
  await h.client.send(new DescribeRepositoriesCommand({ repositoryNames: [name] }));
});

test('an update from 50 tags to 50 other tags removes before it adds', async () => {
  const name = uniqueName('swap-fifty');
  const before = Array.from({ length: 50 }, (_, i) => ({ Key: `old${i}`, Value: 'v' }));
  const after = Array.from({ length: 50 }, (_, i) => ({ Key: `new${i}`, Value: 'v' }));
  await invokeOk(h, handler, createEvent<RepositoryProperties>(h, TYPE, { RepositoryName: name, Tags: before }));
  const update = updateEvent<RepositoryProperties>(h, TYPE, name, { RepositoryName: name, Tags: after }, { RepositoryName: name, Tags: before });
  await invokeOk(h, handler, update);
  expect(Object.keys(await tagsOf(name)).sort()).toEqual(after.map((t) => t.Key).sort());
});
