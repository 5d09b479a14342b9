/**
 * Authentication and resilience of registry copies: a docker-registry behind htpasswd basic auth (credentials from a
 * Secrets Manager secret, or from ECR's GetAuthorizationToken, both faked over HTTP and reached through the SDK's
 * endpoint variables), a token-auth front (the bearer-token flow of Docker Hub, ghcr.io and public.ecr.aws), redirects
 * to another origin, retried 429/503 answers, and a blob body cut off mid-way.
 */
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { buildFixtures, emulatorDigest, Fixtures, logEntries, pullFromEmulator, registryProps, TYPE, useEnv } from './support';
import { handler } from '../../lambda/image-publisher';
import { ImageProperties } from '../../src/shared/publish-plan';
import { createRepository, summaries } from '../image-publisher/support';
import { pushToRegistry, RunningRegistry, startDockerRegistry, TEST_REGISTRY_USER } from '../support/docker-registry';
import { uniqueName } from '../support/ecr-fixtures';
import { AwsJsonError, FakeAwsJson, startFakeAwsJson } from '../support/fake-aws-json';
import { createEvent, Handler, invoke, invokeOk, useHandlerHarness } from '../support/handler-harness';
import { OciLayoutImage } from '../support/oci-layout';
import { makeTempDir } from '../support/temp-dirs';
import { startTokenAuthFront, TokenFront } from '../support/token-auth-front';
import { buildImage } from '../support/umoci-images';

const MiB = 1024 * 1024;
const SECRET_ARN = 'arn:aws:secretsmanager:eu-west-2:123456789012:secret:mirror-creds-AbCdEf';
const WRONG_SECRET_ARN = 'arn:aws:secretsmanager:eu-west-2:123456789012:secret:wrong-creds-AbCdEf';
const NOT_JSON_ARN = 'arn:aws:secretsmanager:eu-west-2:123456789012:secret:not-json-AbCdEf';
const NOT_JSON_VALUE = 'hunter2-plain-text';
const SECRETS: Record<string, string> = {
  [SECRET_ARN]: JSON.stringify({ username: TEST_REGISTRY_USER.username, password: TEST_REGISTRY_USER.password }),
  [WRONG_SECRET_ARN]: JSON.stringify({ username: TEST_REGISTRY_USER.username, password: 'not-the-password' }),
  [NOT_JSON_ARN]: NOT_JSON_VALUE,
};

const h = useHandlerHarness();
let fixtures: Fixtures;
let big: OciLayoutImage;
let privateRegistry: RunningRegistry;
let openRegistry: RunningRegistry;
let bearer: TokenFront;
let bearerWithCredentials: TokenFront;
let redirecting: TokenFront;
let secretsManager: FakeAwsJson;
let ecr: FakeAwsJson;
let singleDigest: string;
let bigDigest: string;

beforeAll(async () => {
  let layout: string;
  [fixtures, privateRegistry, openRegistry, layout] = await Promise.all([
    buildFixtures(),
    startDockerRegistry({ htpasswd: TEST_REGISTRY_USER }),
    startDockerRegistry(),
    (async () => path.join(makeTempDir('registry-big-'), 'layout'))(),
  ]);
  big = await buildImage(layout, { tag: 'big', files: { 'big.bin': randomBytes(3 * MiB) } });
  [singleDigest, bigDigest] = await Promise.all([
    pushToRegistry(privateRegistry, fixtures.single.layoutDir, 'single', 'acme/private', '1.0'),
    pushToRegistry(openRegistry, big.layoutDir, 'big', 'acme/big', '1.0'),
    pushToRegistry(openRegistry, fixtures.single.layoutDir, 'single', 'acme/tool', '1.0'),
  ]);
  bearer = await startTokenAuthFront({ upstream: openRegistry.url });
  bearerWithCredentials = await startTokenAuthFront({ upstream: openRegistry.url, tokenCredentials: TEST_REGISTRY_USER });
  redirecting = await startTokenAuthFront({ upstream: openRegistry.url, redirectBlobs: true });
  secretsManager = await startFakeAwsJson({
    GetSecretValue: (input: { SecretId: string }) => {
      const value = SECRETS[input.SecretId];
      if (value === undefined) throw new AwsJsonError('ResourceNotFoundException', "Secrets Manager can't find the specified secret.");
      return { ARN: input.SecretId, Name: 'mirror-creds', SecretString: value, VersionId: 'v1' };
    },
  });
  ecr = await startFakeAwsJson({
    GetAuthorizationToken: () => ({
      authorizationData: [{
        authorizationToken: Buffer.from(`${TEST_REGISTRY_USER.username}:${TEST_REGISTRY_USER.password}`).toString('base64'),
        expiresAt: Math.floor(Date.now() / 1000) + 12 * 3600,
        proxyEndpoint: 'https://123456789012.dkr.ecr.eu-central-1.amazonaws.com',
      }],
    }),
  });
});

useEnv(() => ({ AWS_ENDPOINT_URL_SECRETS_MANAGER: secretsManager.endpoint, AWS_ENDPOINT_URL_ECR: ecr.endpoint }));

afterAll(async () => {
  await Promise.all([privateRegistry?.stop(), openRegistry?.stop(), bearer?.stop(), bearerWithCredentials?.stop(),
    redirecting?.stop(), secretsManager?.stop(), ecr?.stop()]);
});

beforeEach(() => {
  h.logs.length = 0;
  secretsManager.calls.length = 0;
  ecr.calls.length = 0;
});

async function newRepository(prefix: string): Promise<string> {
  const repo = uniqueName(prefix);
  await createRepository(h.client, repo);
  return repo;
}

describe('a registry behind htpasswd basic auth', () => {
  test("'secret' auth: the credentials come from GetSecretValue in the secret's Region and never reach the logs", async () => {
    const repo = await newRepository('secret');
    const res = await invokeOk(h, handler, createEvent<ImageProperties>(h, TYPE, registryProps(repo, `${privateRegistry.host}/acme/private:1.0`,
      { SourceAuth: 'secret', SourceSecretArn: SECRET_ARN, Tags: ['1.0'] })));

    expect(secretsManager.calls).toEqual([{ operation: 'GetSecretValue', input: { SecretId: SECRET_ARN }, region: 'eu-west-2' }]);
    expect(res.Data).toMatchObject({ ImageDigest: singleDigest, SourceDigest: singleDigest });
    const pulled = await pullFromEmulator(h, repo, '1.0');
    expect(pulled.root.digest).toBe(singleDigest);
    expect(pulled.blobs.map((b) => b.digest)).toEqual(fixtures.single.blobs.map((b) => b.digest));
    expect(h.logs.join('\n')).not.toContain(TEST_REGISTRY_USER.password);
    expect(logEntries(h)).toContainEqual(expect.objectContaining({ auth: 'basic', credentials: true }));
  });

  test("'ecr' auth: the credentials come from GetAuthorizationToken in SourceEcrRegion", async () => {
    const repo = await newRepository('ecr');
    const res = await invokeOk(h, handler, createEvent<ImageProperties>(h, TYPE, registryProps(repo, `${privateRegistry.host}/acme/private:1.0`,
      { SourceAuth: 'ecr', SourceEcrRegion: 'eu-central-1', Tags: ['1.0'] })));

    expect(ecr.calls).toEqual([{ operation: 'GetAuthorizationToken', input: {}, region: 'eu-central-1' }]);
    expect(res.Data).toMatchObject({ ImageDigest: singleDigest });
    expect(await emulatorDigest(h, repo, '1.0')).toBe(singleDigest);
  });

  test('without credentials the copy fails: the registry asks for Basic credentials', async () => {
    const repo = await newRepository('anonymous');
    const res = await invoke(h, handler, createEvent<ImageProperties>(h, TYPE, registryProps(repo, `${privateRegistry.host}/acme/private:1.0`)));
    expect(res.Status).toBe('FAILED');
    expect(res.Reason).toBe(`UNAUTHORIZED: GET ${privateRegistry.url}/v2/: the registry asks for Basic credentials (realm "test-registry") `
      + 'and none were given: give the image source credentials');
  });

  test('the bundled asset (with its own SDK copies) copies with secret and ecr auth too', async () => {
    const asset = path.resolve(__dirname, '../../assets/image-publisher/index.js');
    if (!fs.existsSync(asset)) throw new Error(`${asset} is missing: run \`npx projen bundle\` before this test`);
    // The asset is plain CommonJS outside the TypeScript build, so it can only be required.
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const bundled = (require(asset) as { handler: Handler<ImageProperties> }).handler;
    const repo = await newRepository('bundled');
    await invokeOk(h, bundled, createEvent<ImageProperties>(h, TYPE, registryProps(repo, `${privateRegistry.host}/acme/private:1.0`,
      { SourceAuth: 'secret', SourceSecretArn: SECRET_ARN, Tags: ['secret'] })));
    await invokeOk(h, bundled, createEvent<ImageProperties>(h, TYPE, registryProps(repo, `${privateRegistry.host}/acme/private:1.0`,
      { SourceAuth: 'ecr', SourceEcrRegion: 'eu-central-1', Tags: ['ecr'] })));
    expect(secretsManager.calls.map((c) => c.operation)).toEqual(['GetSecretValue']);
    expect(ecr.calls.map((c) => c.operation)).toEqual(['GetAuthorizationToken']);
    expect(await emulatorDigest(h, repo, 'secret')).toBe(singleDigest);
    expect(await emulatorDigest(h, repo, 'ecr')).toBe(singleDigest);
  });

  test('a wrong password fails with UNAUTHORIZED', async () => {
    const repo = await newRepository('wrong');
    const res = await invoke(h, handler, createEvent<ImageProperties>(h, TYPE, registryProps(repo, `${privateRegistry.host}/acme/private:1.0`,
      { SourceAuth: 'secret', SourceSecretArn: WRONG_SECRET_ARN })));
    expect(res.Status).toBe('FAILED');
    expect(res.Reason).toBe(`UNAUTHORIZED: GET ${privateRegistry.host}/acme/private manifest 1.0: the registry refused the credentials`);
  });

  test('a secret that is not JSON, or not there, fails with the cause and without the secret value', async () => {
    const repo = await newRepository('bad-secret');
    const notJson = await invoke(h, handler, createEvent<ImageProperties>(h, TYPE, registryProps(repo, `${privateRegistry.host}/acme/private:1.0`,
      { SourceAuth: 'secret', SourceSecretArn: NOT_JSON_ARN })));
    expect(notJson.Reason).toBe(`ImagePublishError: the secret ${NOT_JSON_ARN} must hold a JSON object with "username" and "password" strings: its value is not JSON`);
    expect(h.logs.join('\n')).not.toContain(NOT_JSON_VALUE);

    const missing = `${SECRET_ARN.slice(0, -6)}Zz9999`;
    const absent = await invoke(h, handler, createEvent<ImageProperties>(h, TYPE, registryProps(repo, `${privateRegistry.host}/acme/private:1.0`,
      { SourceAuth: 'secret', SourceSecretArn: missing })));
    expect(absent.Reason).toBe(`ResourceNotFoundException: GetSecretValue of ${missing}: Secrets Manager can't find the specified secret.`);
  });
});

describe('a registry with bearer-token auth', () => {
  test('anonymous: the 401 challenge leads to the token realm, and every later request carries the token', async () => {
    const repo = await newRepository('bearer');
    bearer.requests.length = 0;
    bearer.tokenRequests.length = 0;
    const res = await invokeOk(h, handler, createEvent<ImageProperties>(h, TYPE, registryProps(repo, `${bearer.host}/acme/tool:1.0`, { Tags: ['1.0'] })));

    expect(res.Data).toMatchObject({ ImageDigest: singleDigest, SourceDigest: singleDigest });
    expect(bearer.requests[0]).toMatchObject({ path: '/v2/', authorization: undefined, status: 401 });
    expect(bearer.tokenRequests).toEqual([{ query: { service: 'test', scope: 'repository:acme/tool:pull' }, authorization: undefined }]);
    const later = bearer.requests.slice(1);
    // The manifest and each blob; and the image's referrers asked for (neither the API nor the referrers tag is there).
    const referrersLookups = later.filter((r) => /\/(referrers\/sha256:|manifests\/sha256-)/.test(r.path));
    expect(referrersLookups.map((r) => r.status)).toEqual([404, 404]);
    expect(later.length).toBe(1 + fixtures.single.blobs.length + referrersLookups.length);
    expect(later.every((r) => r.authorization === `Bearer ${bearer.token}` && (r.status === 200 || referrersLookups.includes(r)))).toBe(true);
    const pulled = await pullFromEmulator(h, repo, '1.0');
    expect(pulled.root.digest).toBe(singleDigest);
  });

  test('with credentials: the token endpoint gets them as Basic auth; without them it refuses, and so does the copy', async () => {
    const repo = await newRepository('bearer-creds');
    bearerWithCredentials.tokenRequests.length = 0;
    await invokeOk(h, handler, createEvent<ImageProperties>(h, TYPE, registryProps(repo, `${bearerWithCredentials.host}/acme/tool:1.0`,
      { SourceAuth: 'secret', SourceSecretArn: SECRET_ARN, Tags: ['1.0'] })));
    const basic = `Basic ${Buffer.from(`${TEST_REGISTRY_USER.username}:${TEST_REGISTRY_USER.password}`).toString('base64')}`;
    expect(bearerWithCredentials.tokenRequests).toEqual([
      { query: { service: 'test', scope: 'repository:acme/tool:pull', account: TEST_REGISTRY_USER.username }, authorization: basic },
    ]);
    expect(await emulatorDigest(h, repo, '1.0')).toBe(singleDigest);

    const refused = await invoke(h, handler, createEvent<ImageProperties>(h, TYPE, registryProps(repo, `${bearerWithCredentials.host}/acme/tool:1.0`)));
    expect(refused.Status).toBe('FAILED');
    expect(refused.Reason).toBe(`UNAUTHORIZED: GET token for ${bearerWithCredentials.host}/acme/tool from http://${bearerWithCredentials.host}/token: `
      + 'authentication required (HTTP 401): the registry wants credentials (give the image source credentials)');
  });

  test('blob downloads redirected to another origin are followed without the Authorization header', async () => {
    const repo = await newRepository('redirect');
    redirecting.storageRequests.length = 0;
    await invokeOk(h, handler, createEvent<ImageProperties>(h, TYPE, registryProps(repo, `${redirecting.host}/acme/tool:1.0`, { Tags: ['1.0'] })));

    expect(redirecting.storageRequests).toHaveLength(fixtures.single.blobs.length);
    expect(redirecting.storageRequests.every((r) => r.authorization === undefined && r.status === 200)).toBe(true);
    const pulled = await pullFromEmulator(h, repo, '1.0');
    expect(pulled.root.digest).toBe(singleDigest);
    expect(pulled.blobs.map((b) => b.digest)).toEqual(fixtures.single.blobs.map((b) => b.digest));
  });

  test('503 and 429 (with Retry-After) answers are retried', async () => {
    const repo = await newRepository('retry');
    bearer.requests.length = 0;
    bearer.failNext(/\/manifests\/1\.0$/, 503);
    bearer.failNext(/\/manifests\/1\.0$/, 429, { 'retry-after': '0' });
    const res = await invokeOk(h, handler, createEvent<ImageProperties>(h, TYPE, registryProps(repo, `${bearer.host}/acme/tool:1.0`, { Tags: ['1.0'] })));

    expect(res.Data).toMatchObject({ ImageDigest: singleDigest });
    expect(bearer.requests.filter((r) => r.path.endsWith('/manifests/1.0')).map((r) => r.status)).toEqual([503, 429, 200]);
    expect(logEntries(h).filter((e) => e.registryRetry).map((e) => e.status)).toEqual([503, 429]);
  });

  test('a blob body cut off mid-way is reopened from the byte reached with a Range request', async () => {
    const repo = await newRepository('cut');
    const layer = big.blobs.reduce((a, b) => (b.size > a.size ? b : a));
    expect(layer.size).toBeGreaterThan(2 * MiB);
    bearer.requests.length = 0;
    bearer.cutNext(new RegExp(`/blobs/${layer.digest}$`), MiB);

    const res = await invokeOk(h, handler, createEvent<ImageProperties>(h, TYPE, registryProps(repo, `${bearer.host}/acme/big:1.0`, { Tags: ['1.0'] })));

    expect(res.Data).toMatchObject({ ImageDigest: bigDigest });
    const reads = bearer.requests.filter((r) => r.path.endsWith(`/blobs/${layer.digest}`));
    expect(reads).toHaveLength(2);
    expect(reads[0].range).toBeUndefined();
    const from = Number(/^bytes=(\d+)-$/.exec(reads[1].range ?? '')?.[1]);
    expect(from).toBeGreaterThan(0);
    expect(from).toBeLessThanOrEqual(MiB);
    expect(logEntries(h).filter((e) => e.bodyReopen)).toHaveLength(1);
    expect(summaries(h).at(-1)).toMatchObject({ blobsUploaded: big.blobs.length });
    const pulled = await pullFromEmulator(h, repo, '1.0');
    expect(pulled.root.digest).toBe(bigDigest);
    expect(pulled.blobs.map((b) => b.digest)).toEqual(big.blobs.map((b) => b.digest));
  });
});
