import {
  CreateRepositoryCommand,
  DeleteRepositoryCommand,
  DescribeRepositoriesCommand,
  ListTagsForResourceCommand,
  Tag,
  TagResourceCommand,
  TagResourceCommandInput,
  UntagResourceCommand,
} from '@aws-sdk/client-ecr-public';
import { createRepo, expectError, expectInvalidParameter, repositoryArn, uniqueName, useEmulator } from './support';

const h = useEmulator();

const arnOf = (name: string) => repositoryArn(h.emu.accountId, name);

async function listTags(name: string): Promise<Tag[]> {
  const out = await h.client.send(new ListTagsForResourceCommand({ resourceArn: arnOf(name) }));
  return [...(out.tags ?? [])].sort((a, b) => (a.Key ?? '').localeCompare(b.Key ?? ''));
}

function tagsN(n: number, prefix = 'k'): Tag[] {
  return Array.from({ length: n }, (_, i) => ({ Key: `${prefix}${String(i).padStart(3, '0')}`, Value: `v${i}` }));
}

describe('tags', () => {
  test('CreateRepository with tags; ListTagsForResource returns them', async () => {
    const name = uniqueName('team/tagged');
    await h.client.send(new CreateRepositoryCommand({ repositoryName: name, tags: [{ Key: 'team', Value: 'a' }, { Key: 'env', Value: '' }] }));
    expect(await listTags(name)).toEqual([{ Key: 'env', Value: '' }, { Key: 'team', Value: 'a' }]);
  });

  test('a repository without tags lists none', async () => {
    const name = await createRepo(h.client);
    expect(await listTags(name)).toEqual([]);
  });

  test('TagResource adds and overwrites; other keys are unchanged', async () => {
    const name = uniqueName();
    await h.client.send(new CreateRepositoryCommand({ repositoryName: name, tags: [{ Key: 'a', Value: '1' }, { Key: 'b', Value: '2' }] }));
    const out = await h.client.send(new TagResourceCommand({ resourceArn: arnOf(name), tags: [{ Key: 'b', Value: '20' }, { Key: 'c', Value: '3' }] }));
    expect(out.$metadata.httpStatusCode).toBe(200);
    expect(await listTags(name)).toEqual([{ Key: 'a', Value: '1' }, { Key: 'b', Value: '20' }, { Key: 'c', Value: '3' }]);
  });

  test('UntagResource removes the keys; unknown keys are ignored', async () => {
    const name = uniqueName();
    await h.client.send(new CreateRepositoryCommand({ repositoryName: name, tags: [{ Key: 'a', Value: '1' }, { Key: 'b', Value: '2' }] }));
    await h.client.send(new UntagResourceCommand({ resourceArn: arnOf(name), tagKeys: ['a', 'zzz'] }));
    expect(await listTags(name)).toEqual([{ Key: 'b', Value: '2' }]);
  });

  test('50 tags are allowed; the 51st is TooManyTagsException', async () => {
    const name = uniqueName();
    await h.client.send(new CreateRepositoryCommand({ repositoryName: name, tags: tagsN(50) }));
    expect(await listTags(name)).toHaveLength(50);
    await expectError(h.client.send(new TagResourceCommand({ resourceArn: arnOf(name), tags: [{ Key: 'one-more', Value: 'x' }] })), 'TooManyTagsException');
    expect(await listTags(name)).toHaveLength(50);
    // overwriting an existing key does not add a tag
    await h.client.send(new TagResourceCommand({ resourceArn: arnOf(name), tags: [{ Key: 'k000', Value: 'changed' }] }));
    const tags = await listTags(name);
    expect(tags).toHaveLength(50);
    expect(tags.find((t) => t.Key === 'k000')?.Value).toBe('changed');
    // after removing one there is room for one
    await h.client.send(new UntagResourceCommand({ resourceArn: arnOf(name), tagKeys: ['k001'] }));
    await h.client.send(new TagResourceCommand({ resourceArn: arnOf(name), tags: [{ Key: 'one-more', Value: 'x' }] }));
    expect(await listTags(name)).toHaveLength(50);
  });

  test('CreateRepository with 51 tags is TooManyTagsException and creates nothing', async () => {
    const name = uniqueName();
    await expectError(h.client.send(new CreateRepositoryCommand({ repositoryName: name, tags: tagsN(51) })), 'TooManyTagsException');
    await expectError(h.client.send(new DescribeRepositoriesCommand({ repositoryNames: [name] })), 'RepositoryNotFoundException');
  });

  test('TagResource pushing the total from 30 to 60 is TooManyTagsException and changes nothing', async () => {
    const name = uniqueName();
    await h.client.send(new CreateRepositoryCommand({ repositoryName: name, tags: tagsN(30, 'a') }));
    await expectError(h.client.send(new TagResourceCommand({ resourceArn: arnOf(name), tags: tagsN(30, 'b') })), 'TooManyTagsException');
    expect(await listTags(name)).toHaveLength(30);
  });

  test('more than 200 tags in one list violates the list constraint', async () => {
    const name = await createRepo(h.client);
    await expectInvalidParameter(h.client.send(new TagResourceCommand({ resourceArn: arnOf(name), tags: tagsN(201) })), 'tags');
  });

  test.each<[string, Tag]>([
    ['a key starting with aws:', { Key: 'aws:reserved', Value: 'x' }],
    ['a key of 129 characters', { Key: 'k'.repeat(129), Value: 'x' }],
    ['an empty key', { Key: '', Value: 'x' }],
    ['a value of 257 characters', { Key: 'k', Value: 'v'.repeat(257) }],
    // AWS's tag character rules (letters, digits, spaces, _ . : / = + - @); strict where ECR's model states none.
    ['a key with #', { Key: 'team#1', Value: 'x' }],
    ['a value with braces', { Key: 'k', Value: '{x}' }],
    ['a value with a quote', { Key: 'k', Value: 'it\'s' }],
  ])('%s is InvalidTagParameterException', async (_what, tag) => {
    const name = await createRepo(h.client);
    await expectError(h.client.send(new TagResourceCommand({ resourceArn: arnOf(name), tags: [tag] })), 'InvalidTagParameterException');
    expect(await listTags(name)).toEqual([]);
    const other = uniqueName();
    await expectError(h.client.send(new CreateRepositoryCommand({ repositoryName: other, tags: [tag] })), 'InvalidTagParameterException');
    await expectError(h.client.send(new DescribeRepositoriesCommand({ repositoryNames: [other] })), 'RepositoryNotFoundException');
  });

  test('keys of 128 and values of 256 characters are accepted', async () => {
    const name = await createRepo(h.client);
    const tag = { Key: 'k'.repeat(128), Value: 'v'.repeat(256) };
    await h.client.send(new TagResourceCommand({ resourceArn: arnOf(name), tags: [tag] }));
    expect(await listTags(name)).toEqual([tag]);
  });

  test("an UntagResource key outside AWS's tag characters is InvalidTagParameterException, and nothing is removed", async () => {
    const name = await createRepo(h.client);
    await h.client.send(new TagResourceCommand({ resourceArn: arnOf(name), tags: [{ Key: 'team', Value: 'web' }] }));
    await expectError(h.client.send(new UntagResourceCommand({ resourceArn: arnOf(name), tagKeys: ['team', 'team#1'] })), 'InvalidTagParameterException');
    expect(await listTags(name)).toEqual([{ Key: 'team', Value: 'web' }]);
  });

  test("every one of AWS's tag characters is accepted: letters and digits of any script, spaces, _ . : / = + - @", async () => {
    const name = await createRepo(h.client);
    const tag = { Key: 'Équipe 7_.:/=+-@', Value: 'Zürich 東京 ٣ _.:/=+-@' };
    await h.client.send(new TagResourceCommand({ resourceArn: arnOf(name), tags: [tag] }));
    expect(await listTags(name)).toEqual([tag]);
  });

  test.each([
    ['a private ECR ARN', (n: string) => `arn:aws:ecr:us-east-1:123456789012:repository/${n}`],
    ['a regional ecr-public ARN', (n: string) => `arn:aws:ecr-public:us-east-1:123456789012:repository/${n}`],
    ['a registry ARN', () => 'arn:aws:ecr-public::123456789012:registry/123456789012'],
    ['not an ARN', (n: string) => n],
  ])('%s is InvalidParameterException', async (_what, make) => {
    const name = await createRepo(h.client);
    const resourceArn = make(name);
    await expectError(h.client.send(new ListTagsForResourceCommand({ resourceArn })), 'InvalidParameterException');
    await expectError(h.client.send(new TagResourceCommand({ resourceArn, tags: [{ Key: 'a', Value: 'b' }] })), 'InvalidParameterException');
    await expectError(h.client.send(new UntagResourceCommand({ resourceArn, tagKeys: ['a'] })), 'InvalidParameterException');
  });

  test('an ARN of another account is refused (InvalidParameterException or RepositoryNotFoundException)', async () => {
    const name = await createRepo(h.client);
    const resourceArn = repositoryArn('999999999999', name);
    for (const call of [
      h.client.send(new ListTagsForResourceCommand({ resourceArn })),
      h.client.send(new TagResourceCommand({ resourceArn, tags: [{ Key: 'a', Value: 'b' }] })),
      h.client.send(new UntagResourceCommand({ resourceArn, tagKeys: ['a'] })),
    ]) {
      const err = await call.then(() => undefined, (e) => e);
      expect(['InvalidParameterException', 'RepositoryNotFoundException']).toContain(err?.name);
    }
    expect(await listTags(name)).toEqual([]);
  });

  test('an empty or missing resourceArn violates the model constraint', async () => {
    await expectInvalidParameter(h.client.send(new ListTagsForResourceCommand({ resourceArn: '' })), 'resourceArn');
    await expectInvalidParameter(h.client.send(new TagResourceCommand({ tags: [] } as unknown as TagResourceCommandInput)), 'resourceArn');
  });

  test('missing tags on TagResource is InvalidParameterException', async () => {
    const name = await createRepo(h.client);
    await expectInvalidParameter(h.client.send(new TagResourceCommand({ resourceArn: arnOf(name) } as TagResourceCommandInput)), 'tags');
  });

  test('a well-formed ARN of an unknown repository is RepositoryNotFoundException', async () => {
    const arn = arnOf(uniqueName('missing'));
    await expectError(h.client.send(new ListTagsForResourceCommand({ resourceArn: arn })), 'RepositoryNotFoundException');
    await expectError(h.client.send(new TagResourceCommand({ resourceArn: arn, tags: [{ Key: 'a', Value: 'b' }] })), 'RepositoryNotFoundException');
    await expectError(h.client.send(new UntagResourceCommand({ resourceArn: arn, tagKeys: ['a'] })), 'RepositoryNotFoundException');
  });

  test('tags are deleted with the repository', async () => {
    const name = uniqueName();
    await h.client.send(new CreateRepositoryCommand({ repositoryName: name, tags: [{ Key: 'a', Value: '1' }] }));
    await h.client.send(new DeleteRepositoryCommand({ repositoryName: name }));
    await expectError(h.client.send(new ListTagsForResourceCommand({ resourceArn: arnOf(name) })), 'RepositoryNotFoundException');
    await createRepo(h.client, name);
    expect(await listTags(name)).toEqual([]);
  });

  test('tags on a nested repository name', async () => {
    const name = uniqueName('a/b/c');
    await createRepo(h.client, name);
    await h.client.send(new TagResourceCommand({ resourceArn: arnOf(name), tags: [{ Key: 'x', Value: 'y' }] }));
    expect(await listTags(name)).toEqual([{ Key: 'x', Value: 'y' }]);
  });
});
