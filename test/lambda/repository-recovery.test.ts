/** The repository handler when answers are lost or a request is refused halfway: no orphan, no half-applied tags. */
import { CreateRepositoryCommand, DescribeRepositoriesCommand, ListTagsForResourceCommand, TagResourceCommand } from '@aws-sdk/client-ecr-public';
import { handler } from '../../lambda/repository';
import { RepositoryProperties, RESOURCE_TYPES } from '../../src/shared/handler-contract';
import { uniqueName } from '../support/ecr-fixtures';
import { createEvent, invoke, invokeOk, updateEvent, useHandlerHarness } from '../support/handler-harness';

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

describe('a Create delivered again (its Lambda run retried, or a local deploy killed and re-run)', () => {
  const MARKER = 'cdk-ecr-public:create-request';
  const GOOD = JSON.stringify({ Statement: [{ Effect: 'Allow', Principal: { AWS: 'arn:aws:iam::111122223333:root' }, Action: 'ecr-public:PutImage' }] });
  // Refused by the service: a repository policy takes no Resource element.
  const REFUSED = JSON.stringify({ Statement: [{ Effect: 'Allow', Principal: '*', Action: 'ecr-public:PutImage', Resource: '*' }] });

  async function exists(name: string): Promise<boolean> {
    const out = await h.client.send(new DescribeRepositoriesCommand({ repositoryNames: [name] })).catch((e: Error) => e);
    if (out instanceof Error && out.name !== 'RepositoryNotFoundException') throw out;
    return !(out instanceof Error);
  }

  test('after an earlier delivery answered SUCCESS, a refusal is reported and the repository stays', async () => {
    const name = uniqueName('answered');
    const event = createEvent<RepositoryProperties>(h, TYPE, { RepositoryName: name, PolicyText: GOOD });
    await invokeOk(h, handler, event);
    // As if that run died after its answer, before it removed the marker.
    await h.client.send(new TagResourceCommand({
      resourceArn: `arn:aws:ecr-public::${h.accountId}:repository/${name}`, tags: [{ Key: MARKER, Value: `${event.RequestId}/answered` }],
    }));
    await handler({ ...event, ResourceProperties: { ...event.ResourceProperties, PolicyText: REFUSED } });
    const responses = h.responses.get(event.RequestId) ?? [];
    expect(responses.map((r) => r.body.Status)).toEqual(['SUCCESS', 'FAILED']);
    expect(responses[1].body.Reason).toMatch(/Invalid repository policy provided/);
    expect(await exists(name)).toBe(true);
  });

  test('before any delivery answered, a refusal deletes the repository the request made', async () => {
    const name = uniqueName('unanswered');
    const event = createEvent<RepositoryProperties>(h, TYPE, { RepositoryName: name, PolicyText: REFUSED });
    // As if an earlier run created it and died before its answer.
    await h.client.send(new CreateRepositoryCommand({ repositoryName: name, tags: [{ Key: MARKER, Value: event.RequestId }] }));
    const res = await invoke(h, handler, event);
    expect(res.Status).toBe('FAILED');
    expect(res.Reason).toMatch(/Invalid repository policy provided/);
    expect(await exists(name)).toBe(false);
  });
});
