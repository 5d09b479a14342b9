import {
  CreateRepositoryCommand,
  DescribeRegistriesCommand,
  GetRegistryCatalogDataCommand,
} from '@aws-sdk/client-ecr-public';
import { handler } from '../../lambda/registry';
import { RegistryAttributes, RegistryProperties, RESOURCE_TYPES } from '../../src/shared/handler-contract';
import { uniqueName } from '../support/ecr-fixtures';
import { createEvent, deleteEvent, invokeOk, updateEvent, useHandlerHarness } from '../support/handler-harness';

// An account id of its own, so that the attributes built before the registry exists visibly come from the stack id.
const ACCOUNT = '210987654321';
const ALIAS = 'handlertests';
const h = useHandlerHarness({ accountId: ACCOUNT, registryAlias: ALIAS });
const TYPE = RESOURCE_TYPES.registry;

async function displayName(): Promise<string | undefined> {
  return (await h.client.send(new GetRegistryCatalogDataCommand({}))).registryCatalogData?.displayName;
}

// The tests run in order: the first ones need an account without any public repository.
describe('Custom::EcrPublicRegistry', () => {
  test('before any repository exists, the attributes come from the stack\'s account, with an empty alias and URI', async () => {
    expect((await h.client.send(new DescribeRegistriesCommand({}))).registries).toEqual([]);
    const res = await invokeOk(h, handler, createEvent<RegistryProperties>(h, TYPE, {}));
    const expected: RegistryAttributes = {
      RegistryId: ACCOUNT,
      RegistryArn: `arn:aws:ecr-public::${ACCOUNT}:registry/${ACCOUNT}`,
      RegistryAlias: '',
      RegistryUri: '',
    };
    expect(res.Data).toEqual(expected);
    expect(res.PhysicalResourceId).toBe(ACCOUNT);
  });

  test('the display name can be set before any repository exists', async () => {
    const res = await invokeOk(h, handler, createEvent<RegistryProperties>(h, TYPE, { DisplayName: 'Early Org' }));
    expect(await displayName()).toBe('Early Org');
    expect(res.Data?.RegistryAlias).toBe('');
  });

  test('once a repository exists, Update sets the display name and returns the registry\'s attributes', async () => {
    await h.client.send(new CreateRepositoryCommand({ repositoryName: uniqueName('registry') }));
    const res = await invokeOk(h, handler, updateEvent<RegistryProperties>(h, TYPE, ACCOUNT, { DisplayName: 'Example Org' }, { DisplayName: 'Early Org' }));
    expect(await displayName()).toBe('Example Org');
    const expected: RegistryAttributes = {
      RegistryId: ACCOUNT,
      RegistryArn: `arn:aws:ecr-public::${ACCOUNT}:registry/${ACCOUNT}`,
      RegistryAlias: ALIAS,
      RegistryUri: `${h.emu.host}/${ALIAS}`,
    };
    expect(res.Data).toEqual(expected);
    // The same id as before the registry existed: no replacement.
    expect(res.PhysicalResourceId).toBe(ACCOUNT);
  });

  test('without DisplayName the registry catalog is left alone (a lookup)', async () => {
    const res = await invokeOk(h, handler, updateEvent<RegistryProperties>(h, TYPE, ACCOUNT, {}, { DisplayName: 'Example Org' }));
    expect(await displayName()).toBe('Example Org');
    expect(res.Data?.RegistryAlias).toBe(ALIAS);
  });

  test('Delete leaves the account-wide display name in place', async () => {
    const res = await invokeOk(h, handler, deleteEvent<RegistryProperties>(h, TYPE, ACCOUNT, { DisplayName: 'Example Org' }));
    expect(res.PhysicalResourceId).toBe(ACCOUNT);
    expect(await displayName()).toBe('Example Org');
  });
});
