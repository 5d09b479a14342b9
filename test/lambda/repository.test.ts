import {
  CreateRepositoryCommand,
  DeleteRepositoryCommand,
  DescribeImagesCommand,
  DescribeRegistriesCommand,
  DescribeRepositoriesCommand,
  ECRPUBLICClient,
  ListTagsForResourceCommand,
  TagResourceCommand,
} from '@aws-sdk/client-ecr-public';
import { handler } from '../../lambda/repository';
import { CREATE_FAILED_MARKER, RepositoryProperties, RESOURCE_TYPES } from '../../src/shared/handler-contract';
import { pushSmallImage, uniqueName } from '../support/ecr-fixtures';
import { createEvent, deleteEvent, invoke, invokeOk, LAMBDA_REGION, updateEvent, useHandlerHarness } from '../support/handler-harness';
import { errorName } from '../support/rejections';

const h = useHandlerHarness();
const TYPE = RESOURCE_TYPES.repository;

function arnOf(name: string): string {
  return `arn:aws:ecr-public::${h.accountId}:repository/${name}`;
}

async function tagsOf(name: string): Promise<Record<string, string>> {
  const out = await h.client.send(new ListTagsForResourceCommand({ resourceArn: arnOf(name) }));
  return Object.fromEntries((out.tags ?? []).map((t) => [t.Key!, t.Value!]));
}

async function exists(name: string): Promise<boolean> {
  try {
    await h.client.send(new DescribeRepositoriesCommand({ repositoryNames: [name] }));
    return true;
  } catch (err) {
    if ((err as Error).name === 'RepositoryNotFoundException') return false;
    throw err;
  }
}

async function alias(): Promise<string> {
  const out = await h.client.send(new DescribeRegistriesCommand({}));
  return out.registries![0].aliases!.find((a) => a.primaryRegistryAlias)!.name!;
}

/** Creates a repository through the handler and returns its name. */
async function created(props: Partial<RepositoryProperties> = {}): Promise<string> {
  const name = props.RepositoryName ?? uniqueName();
  await invokeOk(h, handler, createEvent<RepositoryProperties>(h, TYPE, { RepositoryName: name, ...props }));
  return name;
}

describe('Custom::EcrPublicRepository', () => {
  test('the emulator refuses a client in the Lambda Region, so every success below proves the handler pins us-east-1', async () => {
    const stray = new ECRPUBLICClient({ region: LAMBDA_REGION, endpoint: h.emu.endpoint, maxAttempts: 1 });
    try {
      expect(await errorName(stray.send(new DescribeRepositoriesCommand({})))).toBe('UnsupportedCommandException');
    } finally {
      stray.destroy();
    }
    expect(process.env.AWS_REGION).toBe(LAMBDA_REGION);
  });

  test('Create makes the repository with its tags and returns its attributes', async () => {
    const name = uniqueName();
    const res = await invokeOk(h, handler, createEvent<RepositoryProperties>(h, TYPE, {
      RepositoryName: name,
      Tags: [{ Key: 'team', Value: 'platform' }, { Key: 'cost-centre', Value: '42' }],
    }));
    expect(res.PhysicalResourceId).toBe(name);
    expect(res.Data).toEqual({
      RepositoryName: name,
      RepositoryArn: arnOf(name),
      RepositoryUri: `${h.emu.host}/${await alias()}/${name}`,
      RegistryId: h.accountId,
      // No logo asked: empty, so that Fn::GetAtt LogoUrl still resolves.
      LogoUrl: '',
    });
    expect(await tagsOf(name)).toEqual({ 'team': 'platform', 'cost-centre': '42' });
  });

  test('Create without tags makes an untagged repository', async () => {
    const name = await created();
    expect(await exists(name)).toBe(true);
    expect(await tagsOf(name)).toEqual({});
  });

  test('Update of the tags removes the dropped keys, sets the rest and leaves tags from outside the stack alone', async () => {
    const oldProps: RepositoryProperties = {
      RepositoryName: uniqueName(),
      Tags: [{ Key: 'keep', Value: 'old' }, { Key: 'drop', Value: 'x' }],
    };
    const createRes = await invokeOk(h, handler, createEvent(h, TYPE, oldProps));
    const name = oldProps.RepositoryName;
    await h.client.send(new TagResourceCommand({ resourceArn: arnOf(name), tags: [{ Key: 'outside', Value: 'manual' }] }));

    const newProps: RepositoryProperties = { RepositoryName: name, Tags: [{ Key: 'keep', Value: 'new' }, { Key: 'added', Value: 'y' }] };
    const res = await invokeOk(h, handler, updateEvent(h, TYPE, name, newProps, oldProps));
    expect(res.PhysicalResourceId).toBe(name);
    expect(res.Data).toEqual(createRes.Data);
    expect(await tagsOf(name)).toEqual({ keep: 'new', added: 'y', outside: 'manual' });

    // Removing every tag from the template.
    await invokeOk(h, handler, updateEvent(h, TYPE, name, { RepositoryName: name }, newProps));
    expect(await tagsOf(name)).toEqual({ outside: 'manual' });
  });

  test('Update of the name creates the new repository under a new physical id; the Delete that follows removes the old', async () => {
    const oldName = uniqueName('old');
    const newName = uniqueName('new');
    const oldProps: RepositoryProperties = { RepositoryName: oldName, Tags: [{ Key: 't', Value: '1' }] };
    await invokeOk(h, handler, createEvent(h, TYPE, oldProps));
    const newProps: RepositoryProperties = { RepositoryName: newName, Tags: [{ Key: 't', Value: '2' }] };

    const res = await invokeOk(h, handler, updateEvent(h, TYPE, oldName, newProps, oldProps));
    expect(res.PhysicalResourceId).toBe(newName);
    expect(res.Data).toMatchObject({ RepositoryName: newName, RepositoryArn: arnOf(newName) });
    expect(await tagsOf(newName)).toEqual({ t: '2' });
    // CloudFormation removes the old repository only in its cleanup phase, after the whole update succeeded.
    expect(await exists(oldName)).toBe(true);

    await invokeOk(h, handler, deleteEvent(h, TYPE, oldName, oldProps));
    expect(await exists(oldName)).toBe(false);
    expect(await exists(newName)).toBe(true);
  });

  test('a failed Update keeps the physical id and reports the API error', async () => {
    const name = await created();
    await h.client.send(new DeleteRepositoryCommand({ repositoryName: name }));
    const props: RepositoryProperties = { RepositoryName: name, Tags: [{ Key: 'a', Value: 'b' }] };
    const res = await invoke(h, handler, updateEvent(h, TYPE, name, props, { RepositoryName: name }));
    expect(res.Status).toBe('FAILED');
    expect(res.PhysicalResourceId).toBe(name);
    expect(res.Reason).toMatch(/^RepositoryNotFoundException: /);
  });

  test('Delete of an empty repository deletes it', async () => {
    const name = await created();
    const res = await invokeOk(h, handler, deleteEvent<RepositoryProperties>(h, TYPE, name, { RepositoryName: name }));
    expect(res.PhysicalResourceId).toBe(name);
    expect(await exists(name)).toBe(false);
  });

  test('Delete with EmptyOnDelete deletes a repository that holds an image', async () => {
    const name = await created({ EmptyOnDelete: 'true' });
    await pushSmallImage(h.client, name, 'v1');
    const images = await h.client.send(new DescribeImagesCommand({ repositoryName: name }));
    expect(images.imageDetails).toHaveLength(1);

    await invokeOk(h, handler, deleteEvent<RepositoryProperties>(h, TYPE, name, { RepositoryName: name, EmptyOnDelete: 'true' }));
    expect(await exists(name)).toBe(false);
  });

  test('Delete of a repository that holds an image, without EmptyOnDelete, fails with the API error and what to do', async () => {
    const name = await created();
    await pushSmallImage(h.client, name, 'v1');

    const res = await invoke(h, handler, deleteEvent<RepositoryProperties>(h, TYPE, name, { RepositoryName: name, EmptyOnDelete: 'false' }));
    expect(res.Status).toBe('FAILED');
    expect(res.PhysicalResourceId).toBe(name);
    expect(res.Reason!.startsWith('RepositoryNotEmptyException: ')).toBe(true);
    expect(res.Reason).toContain('emptyOnDelete: true');
    expect(res.Reason).toContain('RemovalPolicy.DESTROY');
    expect(res.Reason).toContain('RemovalPolicy.RETAIN');
    expect(await exists(name)).toBe(true);
  });

  test('Delete of a repository that is already gone succeeds', async () => {
    const name = await created();
    await h.client.send(new DeleteRepositoryCommand({ repositoryName: name }));
    const res = await invokeOk(h, handler, deleteEvent<RepositoryProperties>(h, TYPE, name, { RepositoryName: name }));
    expect(res.PhysicalResourceId).toBe(name);
  });

  test('a failed Create reports the marker, and the Delete of the marker succeeds without calling the API', async () => {
    const props: RepositoryProperties = { RepositoryName: 'Not_A_Valid_Name' };
    const res = await invoke(h, handler, createEvent(h, TYPE, props));
    expect(res.Status).toBe('FAILED');
    expect(res.PhysicalResourceId).toBe(CREATE_FAILED_MARKER);
    expect(res.Reason).toMatch(/^InvalidParameterException: Invalid parameter at 'repositoryName'/);

    // Any API call would now fail: nothing listens on port 1.
    process.env.AWS_ENDPOINT_URL_ECR_PUBLIC = 'http://127.0.0.1:1';
    try {
      const del = await invoke(h, handler, deleteEvent(h, TYPE, CREATE_FAILED_MARKER, props));
      expect(del.Status).toBe('SUCCESS');
      expect(del.PhysicalResourceId).toBe(CREATE_FAILED_MARKER);
    } finally {
      process.env.AWS_ENDPOINT_URL_ECR_PUBLIC = h.emu.endpoint;
    }
  });

  test('the client follows the endpoint of each invocation\'s environment', async () => {
    // The same check as above, the other way round: with a dead endpoint a real call must fail.
    process.env.AWS_ENDPOINT_URL_ECR_PUBLIC = 'http://127.0.0.1:1';
    try {
      const name = uniqueName();
      const res = await invoke(h, handler, deleteEvent<RepositoryProperties>(h, TYPE, name, { RepositoryName: name }));
      expect(res.Status).toBe('FAILED');
      expect(res.Reason).toMatch(/ECONNREFUSED/);
    } finally {
      process.env.AWS_ENDPOINT_URL_ECR_PUBLIC = h.emu.endpoint;
    }
  });

  test('Create of a name that already exists fails, suggests importing it, and the rollback leaves it alone', async () => {
    const name = uniqueName('existing');
    await h.client.send(new CreateRepositoryCommand({ repositoryName: name }));
    const props: RepositoryProperties = { RepositoryName: name };

    const res = await invoke(h, handler, createEvent(h, TYPE, props));
    expect(res.Status).toBe('FAILED');
    expect(res.PhysicalResourceId).toBe(CREATE_FAILED_MARKER);
    expect(res.Reason!.startsWith('RepositoryAlreadyExistsException: ')).toBe(true);
    expect(res.Reason).toContain(`PublicRepository.fromRepositoryName(this, 'Repository', '${name}')`);

    await invokeOk(h, handler, deleteEvent(h, TYPE, CREATE_FAILED_MARKER, props));
    expect(await exists(name)).toBe(true);
  });
});
