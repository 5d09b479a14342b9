import {
  CreateRepositoryCommand,
  DeleteRepositoryCommand,
  DescribeRegistriesCommand,
  GetAuthorizationTokenCommand,
  GetRegistryCatalogDataCommand,
  PutRegistryCatalogDataCommand,
} from '@aws-sdk/client-ecr-public';
import { expectInvalidParameter, start, stop, useEmulator } from './support';

const h = useEmulator({ accountId: '444455556666' });

describe('registry lifecycle (ordered)', () => {
  test('DescribeRegistries is empty before the first repository', async () => {
    const out = await h.client.send(new DescribeRegistriesCommand({}));
    expect(out.registries).toEqual([]);
    expect(out.nextToken).toBeUndefined();
  });

  test('after CreateRepository there is one registry with one ACTIVE primary default alias', async () => {
    const created = await h.client.send(new CreateRepositoryCommand({ repositoryName: 'first/repo' }));
    const out = await h.client.send(new DescribeRegistriesCommand({}));
    expect(out.registries).toHaveLength(1);
    const reg = out.registries![0];
    const alias = reg.aliases?.[0]?.name ?? '';
    expect(reg).toEqual({
      registryId: '444455556666',
      registryArn: 'arn:aws:ecr-public::444455556666:registry/444455556666',
      registryUri: `${h.emu.host}/${alias}`,
      verified: false,
      aliases: [{ name: alias, status: 'ACTIVE', primaryRegistryAlias: true, defaultRegistryAlias: true }],
    });
    expect(alias).toMatch(/^[a-z][a-z0-9]+(?:[._-][a-z0-9]+)*$/);
    expect(alias).toHaveLength(8);
    expect(alias).toBe(alias.toLowerCase());
    expect(created.repository?.repositoryUri).toBe(`${h.emu.host}/${alias}/first/repo`);
  });

  test('the registry stays after its last repository is deleted', async () => {
    await h.client.send(new DeleteRepositoryCommand({ repositoryName: 'first/repo' }));
    const out = await h.client.send(new DescribeRegistriesCommand({}));
    expect(out.registries).toHaveLength(1);
  });
});

describe('default alias', () => {
  test('is derived from the account id: same account → same alias, other account → other alias', async () => {
    const a = await start({ accountId: '444455556666' });
    const b = await start({ accountId: '777788889999' });
    try {
      await a.client.send(new CreateRepositoryCommand({ repositoryName: 'x1' }));
      await b.client.send(new CreateRepositoryCommand({ repositoryName: 'x1' }));
      const aliasA = (await a.client.send(new DescribeRegistriesCommand({}))).registries![0].aliases![0].name;
      const aliasB = (await b.client.send(new DescribeRegistriesCommand({}))).registries![0].aliases![0].name;
      const mine = (await h.client.send(new DescribeRegistriesCommand({}))).registries![0].aliases![0].name;
      expect(aliasA).toBe(mine);
      expect(aliasB).not.toBe(aliasA);
      expect(aliasB).toHaveLength(8);
    } finally {
      await stop(a);
      await stop(b);
    }
  });

  test('registryAlias option is used as the (primary, default) alias', async () => {
    const c = await start({ registryAlias: 'custom-alias' });
    try {
      const created = await c.client.send(new CreateRepositoryCommand({ repositoryName: 'aa' }));
      expect(created.repository?.repositoryUri).toBe(`${c.emu.host}/custom-alias/aa`);
      const out = await c.client.send(new DescribeRegistriesCommand({}));
      expect(out.registries?.[0]?.registryUri).toBe(`${c.emu.host}/custom-alias`);
      expect(out.registries?.[0]?.aliases).toEqual([{ name: 'custom-alias', status: 'ACTIVE', primaryRegistryAlias: true, defaultRegistryAlias: true }]);
    } finally {
      await stop(c);
    }
  });
});

describe('registry catalog data', () => {
  test('Get before any Put returns an empty registryCatalogData', async () => {
    const c = await start();
    try {
      await c.client.send(new CreateRepositoryCommand({ repositoryName: 'aa' }));
      const out = await c.client.send(new GetRegistryCatalogDataCommand({}));
      expect(out.registryCatalogData).toBeDefined();
      expect(out.registryCatalogData?.displayName ?? '').toBe('');
    } finally {
      await stop(c);
    }
  });

  test('Put stores displayName; Get returns it', async () => {
    const put = await h.client.send(new PutRegistryCatalogDataCommand({ displayName: 'My Registry' }));
    expect(put.registryCatalogData).toEqual({ displayName: 'My Registry' });
    const got = await h.client.send(new GetRegistryCatalogDataCommand({}));
    expect(got.registryCatalogData).toEqual({ displayName: 'My Registry' });
    const again = await h.client.send(new PutRegistryCatalogDataCommand({ displayName: 'Other Name' }));
    expect(again.registryCatalogData?.displayName).toBe('Other Name');
    expect((await h.client.send(new GetRegistryCatalogDataCommand({}))).registryCatalogData?.displayName).toBe('Other Name');
  });

  test('displayName of 100 characters is accepted, 101 is InvalidParameterException', async () => {
    const ok = await h.client.send(new PutRegistryCatalogDataCommand({ displayName: 'n'.repeat(100) }));
    expect(ok.registryCatalogData?.displayName).toBe('n'.repeat(100));
    await expectInvalidParameter(h.client.send(new PutRegistryCatalogDataCommand({ displayName: 'n'.repeat(101) })), 'displayName');
    const got = await h.client.send(new GetRegistryCatalogDataCommand({}));
    expect(got.registryCatalogData?.displayName).toBe('n'.repeat(100));
  });
});

describe('GetAuthorizationToken', () => {
  test('returns base64 of AWS:<password> valid for 12 hours', async () => {
    const before = Date.now();
    const out = await h.client.send(new GetAuthorizationTokenCommand({}));
    const token = out.authorizationData?.authorizationToken ?? '';
    expect(token).toMatch(/^\S+$/);
    expect(token).toMatch(/^[A-Za-z0-9+/]+={0,2}$/);
    const decoded = Buffer.from(token, 'base64').toString('utf8');
    expect(decoded).toMatch(/^AWS:\S+$/);
    expect(Buffer.from(decoded, 'utf8').toString('base64')).toBe(token);
    const expiresAt = out.authorizationData?.expiresAt;
    expect(expiresAt).toBeInstanceOf(Date);
    const twelveHours = 12 * 3600 * 1000;
    expect(expiresAt!.getTime()).toBeGreaterThanOrEqual(before + twelveHours - 60_000);
    expect(expiresAt!.getTime()).toBeLessThanOrEqual(Date.now() + twelveHours + 60_000);
  });
});
