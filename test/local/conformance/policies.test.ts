import {
  DeleteRepositoryPolicyCommand,
  GetRepositoryPolicyCommand,
  SetRepositoryPolicyCommand,
  SetRepositoryPolicyCommandInput,
} from '@aws-sdk/client-ecr-public';
import { createRepo, expectError, expectInvalidParameter, uniqueName, useEmulator } from './support';

const h = useEmulator();

const POLICY = JSON.stringify({
  Version: '2012-10-17',
  Statement: [{
    Sid: 'AllowPush',
    Effect: 'Allow',
    Principal: { AWS: 'arn:aws:iam::123456789012:root' },
    Action: ['ecr-public:BatchCheckLayerAvailability', 'ecr-public:PutImage'],
  }],
});

function setPolicy(repositoryName: string, policyText: string, extra: Partial<SetRepositoryPolicyCommandInput> = {}) {
  return h.client.send(new SetRepositoryPolicyCommand({ repositoryName, policyText, ...extra }));
}

describe('repository policies', () => {
  test('Set, Get and Delete round-trip the policy text', async () => {
    const repo = await createRepo(h.client);
    const set = await setPolicy(repo, POLICY);
    expect(set).toMatchObject({ registryId: h.emu.accountId, repositoryName: repo, policyText: POLICY });
    const got = await h.client.send(new GetRepositoryPolicyCommand({ repositoryName: repo }));
    expect(got).toMatchObject({ registryId: h.emu.accountId, repositoryName: repo, policyText: POLICY });
    const deleted = await h.client.send(new DeleteRepositoryPolicyCommand({ repositoryName: repo }));
    expect(deleted).toMatchObject({ registryId: h.emu.accountId, repositoryName: repo, policyText: POLICY });
    await expectError(h.client.send(new GetRepositoryPolicyCommand({ repositoryName: repo })), 'RepositoryPolicyNotFoundException');
    await expectError(h.client.send(new DeleteRepositoryPolicyCommand({ repositoryName: repo })), 'RepositoryPolicyNotFoundException');
  });

  test('Set replaces the previous policy; Delete returns the latest text', async () => {
    const repo = await createRepo(h.client);
    await setPolicy(repo, POLICY);
    const second = JSON.stringify({ Statement: [{ Effect: 'Deny', Principal: '*', Action: 'ecr-public:*' }] });
    await setPolicy(repo, second, { force: true });
    expect((await h.client.send(new GetRepositoryPolicyCommand({ repositoryName: repo }))).policyText).toBe(second);
    expect((await h.client.send(new DeleteRepositoryPolicyCommand({ repositoryName: repo }))).policyText).toBe(second);
  });

  test('a repository without a policy is RepositoryPolicyNotFoundException', async () => {
    const repo = await createRepo(h.client);
    await expectError(h.client.send(new GetRepositoryPolicyCommand({ repositoryName: repo })), 'RepositoryPolicyNotFoundException');
    await expectError(h.client.send(new DeleteRepositoryPolicyCommand({ repositoryName: repo })), 'RepositoryPolicyNotFoundException');
  });

  test('the policy text is stored verbatim (whitespace preserved)', async () => {
    const repo = await createRepo(h.client);
    const pretty = JSON.stringify(JSON.parse(POLICY), null, 4);
    await setPolicy(repo, pretty);
    expect((await h.client.send(new GetRepositoryPolicyCommand({ repositoryName: repo }))).policyText).toBe(pretty);
  });

  test.each([
    ['not JSON', '{"Statement": ['],
    ['a JSON array', '[]'],
    ['a JSON string', '"policy"'],
    ['no Statement', '{"Version":"2012-10-17"}'],
    ['an empty Statement', '{"Statement":[]}'],
    ['a Statement without Effect', '{"Statement":[{"Principal":"*","Action":"ecr-public:*"}]}'],
    ['an invalid Effect', '{"Statement":[{"Effect":"Maybe","Principal":"*","Action":"ecr-public:*"}]}'],
    ['a Statement without Principal', '{"Statement":[{"Effect":"Allow","Action":"ecr-public:*"}]}'],
    ['a Statement without Action', '{"Statement":[{"Effect":"Allow","Principal":"*"}]}'],
    ['an empty text', ''],
    ['a Statement entry that is not an object', '{"Statement":["Allow"]}'],
    ['a Statement that is a string', '{"Statement":"Allow"}'],
    ['a Statement with a Resource', '{"Statement":[{"Effect":"Allow","Principal":"*","Action":"ecr-public:*","Resource":"*"}]}'],
    ['a Statement with a NotResource', '{"Statement":[{"Effect":"Allow","Principal":"*","Action":"ecr-public:*","NotResource":"*"}]}'],
    ['a Resource in the second Statement', `{"Statement":[${JSON.stringify(JSON.parse(POLICY).Statement[0])},`
      + '{"Effect":"Allow","Principal":"*","Action":"ecr-public:*","Resource":["arn:aws:ecr-public::123456789012:repository/x"]}]}'],
  ])('%s is InvalidParameterException (Invalid repository policy provided)', async (_what, text) => {
    const repo = await createRepo(h.client);
    await expectError(setPolicy(repo, text), 'InvalidParameterException', 'Invalid repository policy provided');
    await expectError(h.client.send(new GetRepositoryPolicyCommand({ repositoryName: repo })), 'RepositoryPolicyNotFoundException');
  });

  test('policyText of 10240 characters is accepted, 10241 is InvalidParameterException', async () => {
    const repo = await createRepo(h.client);
    const pad = (n: number) => POLICY.slice(0, -1) + ' '.repeat(n - POLICY.length) + '}';
    const max = pad(10240);
    expect(max).toHaveLength(10240);
    const out = await setPolicy(repo, max);
    expect(out.policyText).toBe(max);
    const over = pad(10241);
    expect(over).toHaveLength(10241);
    await expectInvalidParameter(setPolicy(repo, over), 'policyText');
    expect((await h.client.send(new GetRepositoryPolicyCommand({ repositoryName: repo }))).policyText).toBe(max);
  });

  test('missing policyText is InvalidParameterException', async () => {
    const repo = await createRepo(h.client);
    await expectInvalidParameter(h.client.send(new SetRepositoryPolicyCommand({ repositoryName: repo } as SetRepositoryPolicyCommandInput)), 'policyText');
  });

  test('unknown repository is RepositoryNotFoundException on all three operations', async () => {
    const name = uniqueName('missing');
    await expectError(setPolicy(name, POLICY), 'RepositoryNotFoundException');
    await expectError(h.client.send(new GetRepositoryPolicyCommand({ repositoryName: name })), 'RepositoryNotFoundException');
    await expectError(h.client.send(new DeleteRepositoryPolicyCommand({ repositoryName: name })), 'RepositoryNotFoundException');
  });

  test('registryId: account accepted, another account is RepositoryNotFoundException, malformed is invalid', async () => {
    const repo = await createRepo(h.client);
    await setPolicy(repo, POLICY, { registryId: h.emu.accountId });
    await expectError(setPolicy(repo, POLICY, { registryId: '000000000001' }), 'RepositoryNotFoundException');
    await expectError(h.client.send(new GetRepositoryPolicyCommand({ repositoryName: repo, registryId: '000000000001' })), 'RepositoryNotFoundException');
    await expectError(h.client.send(new DeleteRepositoryPolicyCommand({ repositoryName: repo, registryId: '000000000001' })), 'RepositoryNotFoundException');
    await expectInvalidParameter(h.client.send(new GetRepositoryPolicyCommand({ repositoryName: repo, registryId: 'abc' })), 'registryId');
    expect((await h.client.send(new GetRepositoryPolicyCommand({ repositoryName: repo, registryId: h.emu.accountId }))).policyText).toBe(POLICY);
  });
});
