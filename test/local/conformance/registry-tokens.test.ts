/**
 * The registry API under IAM authenticates as public.ecr.aws does: every request carries a Bearer token from the
 * realm its 401 challenge names; tokens are anonymous for pulls and fetched with the password of GetAuthorizationToken
 * for pushes, whose scope IAM decides; Basic credentials on the registry API itself, unknown and expired tokens are
 * refused with the challenge. Checked over plain HTTP against each rule, and with skopeo, which does the dance itself.
 */
import * as path from 'node:path';
import { CreateRepositoryCommand } from '@aws-sdk/client-ecr-public';
import { parsePolicy, RunningEmulator } from '../../../local';
import { TOKEN_SECONDS } from '../../../local/distribution/bearer-tokens';
import { PUSH_ACTIONS } from '../../../src/private/ecr-public-actions';
import { basicAuthorization, ecrPublicClient, loginPassword, primaryRegistryAlias, startInProcess } from '../../support/emulator-harness';
import { readOciLayout } from '../../support/oci-layout';
import { skopeoCopy } from '../../support/skopeo';
import { makeTempDir } from '../../support/temp-dirs';
import { buildImage } from '../../support/umoci-images';

const AUTH = { Effect: 'Allow', Action: ['ecr-public:GetAuthorizationToken', 'sts:GetServiceBearerToken'], Resource: '*' };

let emu: RunningEmulator;
let alias: string;
let rootPassword: string;
let layout: string;

beforeAll(async () => {
  const started = await startInProcess({ iam: {} }, { maxAttempts: 1 });
  emu = started.emu;
  await started.client.send(new CreateRepositoryCommand({ repositoryName: 'tokens/web' }));
  alias = await primaryRegistryAlias(started.client);
  rootPassword = await loginPassword(started.client);
  started.client.destroy();
  layout = path.join(makeTempDir('registry-tokens-'), 'layout');
  await buildImage(layout, { tag: 'v1', files: { 'hello.txt': 'hello\n' } });
}, 60_000);

afterAll(() => emu?.stop());

/** The password of GetAuthorizationToken for a role allowed `statements`. */
async function rolePassword(name: string, statements: object[]): Promise<string> {
  const arn = `arn:aws:iam::${emu.accountId}:role/${name}`;
  emu.principals!.define({ arn, policies: [parsePolicy(`${name}/Default`, { Statement: statements }, 'identity')] });
  const { accessKeyId, secretAccessKey, sessionToken } = emu.principals!.issue(arn, emu.now());
  const client = ecrPublicClient(emu.endpoint, { maxAttempts: 1 });
  client.config.credentials = async () => ({ accessKeyId, secretAccessKey, sessionToken });
  try {
    return await loginPassword(client);
  } finally {
    client.destroy();
  }
}

/** The challenge's parameters. */
function bearerChallenge(res: Response): Record<string, string> {
  const header = res.headers.get('www-authenticate') ?? '';
  expect(header).toMatch(/^Bearer /);
  return Object.fromEntries([...header.matchAll(/(\w+)="([^"]*)"/g)].map((m) => [m[1], m[2]]));
}

async function token(scope: string, password?: string): Promise<{ status: number; token?: string; expires_in?: number }> {
  const url = `${emu.endpoint}/token/?service=${encodeURIComponent(emu.host)}&scope=${encodeURIComponent(scope)}`;
  const res = await fetch(url, { headers: password === undefined ? {} : { authorization: basicAuthorization('AWS', password) } });
  return { status: res.status, ...(res.ok ? await res.json() as { token: string; expires_in: number } : {}) };
}

test('the ping and every request without a token answer 401 with a Bearer challenge whose realm is the emulator\'s token endpoint', async () => {
  const ping = await fetch(`${emu.endpoint}/v2/`);
  expect(ping.status).toBe(401);
  expect(bearerChallenge(ping)).toEqual({ realm: `${emu.endpoint}/token/`, service: emu.host, scope: 'aws' });
  const manifest = await fetch(`${emu.endpoint}/v2/${alias}/tokens/web/manifests/v1`);
  expect(manifest.status).toBe(401);
  expect(bearerChallenge(manifest).scope).toBe(`repository:${alias}/tokens/web:pull`);
  const upload = await fetch(`${emu.endpoint}/v2/${alias}/tokens/web/blobs/uploads/`, { method: 'POST' });
  expect(bearerChallenge(upload).scope).toBe(`repository:${alias}/tokens/web:pull,push`);
  // The password itself, as Basic credentials on the registry API, is not how public.ecr.aws takes it.
  const basic = await fetch(`${emu.endpoint}/v2/`, { headers: { authorization: basicAuthorization('AWS', rootPassword) } });
  expect(basic.status).toBe(401);
  expect(((await basic.json()) as any).errors[0].message).toMatch(/takes Bearer tokens from its token endpoint/);
});

test('an anonymous token pulls, and cannot push: 401 insufficient_scope', async () => {
  const anonymous = await token(`repository:${alias}/tokens/web:pull,push`);
  expect(anonymous).toMatchObject({ status: 200, expires_in: TOKEN_SECONDS });
  const headers = { authorization: `Bearer ${anonymous.token}` };
  expect((await fetch(`${emu.endpoint}/v2/`, { headers })).status).toBe(200);
  expect((await fetch(`${emu.endpoint}/v2/${alias}/tokens/web/tags/list`, { headers })).status).toBe(200);
  const push = await fetch(`${emu.endpoint}/v2/${alias}/tokens/web/blobs/uploads/`, { method: 'POST', headers });
  expect(push.status).toBe(401);
  expect(push.headers.get('www-authenticate')).toMatch(/error="insufficient_scope"/);
});

test('a token fetched with a password pushes where IAM lets its principal; elsewhere DENIED in IAM\'s words', async () => {
  const pusher = await rolePassword('TokenPusher', [AUTH, { Effect: 'Allow', Action: PUSH_ACTIONS, Resource: '*' }]);
  const granted = await token(`repository:${alias}/tokens/web:pull,push`, pusher);
  const post = await fetch(`${emu.endpoint}/v2/${alias}/tokens/web/blobs/uploads/`, { method: 'POST', headers: { authorization: `Bearer ${granted.token}` } });
  expect(post.status).toBe(202);
  const reader = await rolePassword('TokenReader', [AUTH]);
  const refused = await token(`repository:${alias}/tokens/web:pull,push`, reader);
  const denied = await fetch(`${emu.endpoint}/v2/${alias}/tokens/web/blobs/uploads/`, { method: 'POST', headers: { authorization: `Bearer ${refused.token}` } });
  expect(denied.status).toBe(403);
  expect(((await denied.json()) as any).errors[0]).toMatchObject({ code: 'DENIED', message: expect.stringMatching(/is not authorized to perform: ecr-public:InitiateLayerUpload/) });
  // A password GetAuthorizationToken did not issue gets no token at all.
  expect((await token(`repository:${alias}/tokens/web:push`, 'not-a-password')).status).toBe(401);
});

test('unknown and expired tokens are refused with the challenge, and skopeo fetches new ones as it goes', async () => {
  const unknown = await fetch(`${emu.endpoint}/v2/`, { headers: { authorization: 'Bearer not-a-token' } });
  expect(unknown.status).toBe(401);
  const old = await token(`repository:${alias}/tokens/web:pull`);
  emu.setClockOffset(TOKEN_SECONDS + 1);
  try {
    const expired = await fetch(`${emu.endpoint}/v2/`, { headers: { authorization: `Bearer ${old.token}` } });
    expect(expired.status).toBe(401);
    expect(((await expired.json()) as any).errors[0].message).toMatch(/expired/);
    const target = `docker://${emu.host}/${alias}/tokens/web:pushed`;
    await skopeoCopy(`oci:${layout}:v1`, target, ['--dest-creds', `AWS:${rootPassword}`]);
    const out = path.join(makeTempDir('registry-tokens-pulled-'), 'oci');
    await skopeoCopy(target, `oci:${out}:pulled`);
    expect(readOciLayout(out, 'pulled').root.digest).toBe(readOciLayout(layout, 'v1').root.digest);
  } finally {
    emu.setClockOffset(0);
  }
}, 60_000);
