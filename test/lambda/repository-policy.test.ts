import {
  CreateRepositoryCommand,
  DeleteRepositoryCommand,
  GetRepositoryPolicyCommand,
} from '@aws-sdk/client-ecr-public';
import { handler } from '../../lambda/repository-policy';
import { PolicyProperties, RESOURCE_TYPES } from '../../src/shared/handler-contract';
import { uniqueName } from '../support/ecr-fixtures';
import { createEvent, deleteEvent, invoke, invokeOk, updateEvent, useHandlerHarness } from '../support/handler-harness';
import { errorName } from '../support/rejections';

const h = useHandlerHarness();
const TYPE = RESOURCE_TYPES.policy;

function policy(actions: string[]): string {
  return JSON.stringify({
    Version: '2012-10-17',
    Statement: [{ Sid: 'Push', Effect: 'Allow', Principal: { AWS: 'arn:aws:iam::111122223333:root' }, Action: actions }],
  });
}

async function newRepository(): Promise<string> {
  const name = uniqueName('policy');
  await h.client.send(new CreateRepositoryCommand({ repositoryName: name }));
  return name;
}

async function policyOf(name: string): Promise<string | undefined> {
  return (await h.client.send(new GetRepositoryPolicyCommand({ repositoryName: name }))).policyText;
}

describe('Custom::EcrPublicRepositoryPolicy', () => {
  test('Create sets the policy, Update replaces it, Delete removes it', async () => {
    const name = await newRepository();
    const v1: PolicyProperties = { RepositoryName: name, PolicyText: policy(['ecr-public:PutImage']) };
    const created = await invokeOk(h, handler, createEvent(h, TYPE, v1));
    expect(created.PhysicalResourceId).toBe(`${name}/policy`);
    expect(JSON.parse((await policyOf(name))!)).toEqual(JSON.parse(v1.PolicyText));

    const v2: PolicyProperties = { RepositoryName: name, PolicyText: policy(['ecr-public:PutImage', 'ecr-public:UploadLayerPart']) };
    const updated = await invokeOk(h, handler, updateEvent(h, TYPE, `${name}/policy`, v2, v1));
    expect(updated.PhysicalResourceId).toBe(`${name}/policy`);
    expect(JSON.parse((await policyOf(name))!)).toEqual(JSON.parse(v2.PolicyText));

    await invokeOk(h, handler, deleteEvent(h, TYPE, `${name}/policy`, v2));
    expect(await errorName(policyOf(name))).toBe('RepositoryPolicyNotFoundException');
  });

  test('Delete with RetainOnDelete keeps the policy', async () => {
    const name = await newRepository();
    const props: PolicyProperties = { RepositoryName: name, PolicyText: policy(['ecr-public:PutImage']), RetainOnDelete: 'true' };
    await invokeOk(h, handler, createEvent(h, TYPE, props));
    await invokeOk(h, handler, deleteEvent(h, TYPE, `${name}/policy`, props));
    expect(JSON.parse((await policyOf(name))!)).toEqual(JSON.parse(props.PolicyText));
  });

  test('Delete succeeds when the policy or the repository is already gone', async () => {
    const name = await newRepository();
    const props: PolicyProperties = { RepositoryName: name, PolicyText: policy(['ecr-public:PutImage']) };
    await invokeOk(h, handler, createEvent(h, TYPE, props));
    await invokeOk(h, handler, deleteEvent(h, TYPE, `${name}/policy`, props));
    // The policy is gone now.
    await invokeOk(h, handler, deleteEvent(h, TYPE, `${name}/policy`, props));
    await h.client.send(new DeleteRepositoryCommand({ repositoryName: name }));
    // And now the repository too.
    await invokeOk(h, handler, deleteEvent(h, TYPE, `${name}/policy`, props));
  });

  test('an invalid policy fails Create with the API error', async () => {
    const name = await newRepository();
    const res = await invoke(h, handler, createEvent<PolicyProperties>(h, TYPE, { RepositoryName: name, PolicyText: '{"Statement":[]}' }));
    expect(res.Status).toBe('FAILED');
    expect(res.Reason).toMatch(/^InvalidParameterException: /);
  });
});

test('an empty PolicyText means no policy: an Update to it removes the access even when the repository is retained', async () => {
  const name = await newRepository();
  const withStatement: PolicyProperties = { RepositoryName: name, PolicyText: policy(['ecr-public:PutImage']), RetainOnDelete: 'true' };
  await invokeOk(h, handler, createEvent(h, TYPE, withStatement));
  await invokeOk(h, handler, updateEvent(h, TYPE, `${name}/policy`, { ...withStatement, PolicyText: '' }, withStatement));
  expect(await errorName(policyOf(name))).toBe('RepositoryPolicyNotFoundException');
  // Created empty: nothing to remove, and that is fine.
  const empty = await newRepository();
  await invokeOk(h, handler, createEvent(h, TYPE, { RepositoryName: empty, PolicyText: '', RetainOnDelete: 'true' }));
  expect(await errorName(policyOf(empty))).toBe('RepositoryPolicyNotFoundException');
});
