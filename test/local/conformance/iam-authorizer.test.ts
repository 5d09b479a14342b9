/**
 * The emulator's IAM front door (`local/iam/authorizer.ts`) composed as it will serve: credentials issued by the
 * principal directory, requests signed with them by the AWS SDK for JavaScript and captured off the wire, each
 * operation's actions and resource from the one table (which must cover every operation the emulator answers).
 */
import {
  BatchCheckLayerAvailabilityCommand, CreateRepositoryCommand, DescribeRepositoriesCommand, ECRPUBLICClient, GetAuthorizationTokenCommand,
  PutImageCommand, TagResourceCommand,
} from '@aws-sdk/client-ecr-public';
import { OPERATION_ACCESS, RegistryScope } from '../../../local/iam/actions';
import { authenticate, authorizeOperation, ResourceFacts } from '../../../local/iam/authorizer';
import { Caller } from '../../../local/iam/evaluate';
import { parsePolicy, Policy } from '../../../local/iam/policy';
import { IssuedCredentials, PrincipalDirectory } from '../../../local/iam/principals';
import { ReceivedRequest } from '../../../local/iam/sigv4';
import { OPERATIONS } from '../../../local/service/operations';
import { AUTH_ACTIONS, IMAGE_PUBLISHER_ACTIONS } from '../../../src/private/ecr-public-actions';
import { RequestCapture, startRequestCapture } from '../../support/request-capture';

const ACCOUNT = '123456789012';
const PARTNER = '222233334444';
const REPO = 'acme/web';
const REPO_ARN = `arn:aws:ecr-public::${ACCOUNT}:repository/${REPO}`;
const PUBLISHER = `arn:aws:iam::${ACCOUNT}:role/Publisher`;

let server: RequestCapture;

beforeAll(async () => {
  server = await startRequestCapture();
});

afterAll(() => server.close());

const now = (): number => Date.now() / 1000;

/** The API front door's two steps, as it takes them: who signed the request, then may they call the operation. */
function authorizeApiCall(
  d: PrincipalDirectory, scope: RegistryScope, f: ResourceFacts,
  request: ReceivedRequest, operation: string, input: Record<string, unknown>, at: number,
): { ok: true; caller: Caller } | { ok: false; code: string; message: string } {
  const who = authenticate(d, request, 'ecr-public', at);
  if (!who.ok) return { ok: false, code: who.code, message: who.message };
  return authorizeOperation(who.caller, scope, f, operation, input) ?? { ok: true, caller: who.caller };
}

function directory(): PrincipalDirectory {
  const d = new PrincipalDirectory(ACCOUNT, { accessKeyId: 'local', secretAccessKey: 'local' });
  // The image publisher's role as the construct grants it: its actions on the repository, the auth ones on *.
  d.define({
    arn: PUBLISHER,
    policies: [parsePolicy('Publisher/DefaultPolicy', {
      Statement: [
        { Effect: 'Allow', Action: IMAGE_PUBLISHER_ACTIONS, Resource: `arn:aws:ecr-public::${ACCOUNT}:repository/*` },
        { Effect: 'Allow', Action: AUTH_ACTIONS, Resource: '*' },
      ],
    }, 'identity')],
  });
  return d;
}

function facts(policy?: Policy): ResourceFacts {
  return { policyOf: (name) => (name === REPO ? policy : undefined), tagsOf: (name) => (name === REPO ? new Map([['team', 'web']]) : undefined) };
}

/** Signs `command` with `credentials` through the real SDK and returns the request and the operation's input. */
async function signed(credentials: IssuedCredentials, command: object): Promise<{ request: ReceivedRequest; input: any; operation: string }> {
  const { accessKeyId, secretAccessKey, sessionToken } = credentials;
  const client = new ECRPUBLICClient({ region: 'us-east-1', endpoint: server.endpoint, maxAttempts: 1, credentials: { accessKeyId, secretAccessKey, sessionToken } });
  const request = await server.capture(() => client.send(command as any));
  client.destroy();
  return { request, input: JSON.parse(request.body.toString('utf8') || '{}'), operation: String(request.headers['x-amz-target']).split('.')[1] };
}

test('the access table covers every operation the emulator answers, and names no other', () => {
  expect([...OPERATION_ACCESS.keys()].sort()).toEqual(Object.keys(OPERATIONS).sort());
});

test('a role\'s issued credentials: what its policy allows is allowed, anything else denied in IAM\'s words', async () => {
  const d = directory();
  const creds = d.issue(PUBLISHER, now(), 'publish');
  expect(creds.accessKeyId).toMatch(/^ASIA[A-Z2-7]{16}$/);
  for (const command of [
    new BatchCheckLayerAvailabilityCommand({ repositoryName: REPO, layerDigests: [`sha256:${'0'.repeat(64)}`] }),
    new PutImageCommand({ repositoryName: REPO, imageManifest: '{}', imageTag: 'v1' }),
    new GetAuthorizationTokenCommand({}),
  ]) {
    const { request, input, operation } = await signed(creds, command);
    expect(authorizeApiCall(d, { account: ACCOUNT }, facts(), request, operation, input, now())).toMatchObject({
      ok: true, caller: { arn: `arn:aws:sts::${ACCOUNT}:assumed-role/Publisher/publish`, principalArn: PUBLISHER },
    });
  }
  const { request, input, operation } = await signed(creds, new CreateRepositoryCommand({ repositoryName: REPO }));
  expect(authorizeApiCall(d, { account: ACCOUNT }, facts(), request, operation, input, now())).toEqual({
    ok: false,
    code: 'AccessDeniedException',
    message: `User: arn:aws:sts::${ACCOUNT}:assumed-role/Publisher/publish is not authorized to perform: ecr-public:CreateRepository `
      + `on resource: ${REPO_ARN} because no identity-based policy allows the ecr-public:CreateRepository action`,
  });
});

test('CreateRepository with tags needs TagResource too; DescribeRepositories without names is asked on every repository', async () => {
  const d = directory();
  d.define({
    arn: `arn:aws:iam::${ACCOUNT}:role/Creator`,
    policies: [parsePolicy('Creator/Default', {
      Statement: [{ Effect: 'Allow', Action: ['ecr-public:CreateRepository', 'ecr-public:DescribeRepositories'], Resource: REPO_ARN }],
    }, 'identity')],
  });
  const creds = d.issue(`arn:aws:iam::${ACCOUNT}:role/Creator`, now());
  const plain = await signed(creds, new CreateRepositoryCommand({ repositoryName: REPO }));
  expect(authorizeApiCall(d, { account: ACCOUNT }, facts(), plain.request, plain.operation, plain.input, now())).toMatchObject({ ok: true });
  const tagged = await signed(creds, new CreateRepositoryCommand({ repositoryName: REPO, tags: [{ Key: 'team', Value: 'web' }] }));
  expect(authorizeApiCall(d, { account: ACCOUNT }, facts(), tagged.request, tagged.operation, tagged.input, now()))
    .toMatchObject({ ok: false, code: 'AccessDeniedException', message: expect.stringContaining('perform: ecr-public:TagResource') });
  const all = await signed(creds, new DescribeRepositoriesCommand({}));
  expect(authorizeApiCall(d, { account: ACCOUNT }, facts(), all.request, all.operation, all.input, now()))
    .toMatchObject({ ok: false, message: expect.stringContaining(`on resource: arn:aws:ecr-public::${ACCOUNT}:repository/*`) });
});

test('the root may do everything; an unknown key, a forgotten role and expired credentials are not recognised', async () => {
  const d = directory();
  const root = await signed({ accessKeyId: 'local', secretAccessKey: 'local' }, new TagResourceCommand({ resourceArn: REPO_ARN, tags: [{ Key: 'a', Value: 'b' }] }));
  expect(authorizeApiCall(d, { account: ACCOUNT }, facts(), root.request, root.operation, root.input, now())).toMatchObject({ ok: true, caller: { type: 'Account' } });
  const stranger = await signed({ accessKeyId: 'AKIASTRANGER', secretAccessKey: 'x' }, new GetAuthorizationTokenCommand({}));
  expect(authorizeApiCall(d, { account: ACCOUNT }, facts(), stranger.request, stranger.operation, stranger.input, now()))
    .toMatchObject({ ok: false, code: 'UnrecognizedClientException' });
  const creds = d.issue(PUBLISHER, now());
  const call = await signed(creds, new GetAuthorizationTokenCommand({}));
  expect(authorizeApiCall(d, { account: ACCOUNT }, facts(), call.request, call.operation, call.input, creds.expiration! + 1))
    .toMatchObject({ ok: false, code: expect.stringMatching(/UnrecognizedClientException|InvalidSignatureException/) });
  d.remove(PUBLISHER);
  expect(authorizeApiCall(d, { account: ACCOUNT }, facts(), call.request, call.operation, call.input, now())).toMatchObject({ ok: false, code: 'UnrecognizedClientException' });
  const wrong = await signed({ ...creds, secretAccessKey: 'not-the-secret' }, new GetAuthorizationTokenCommand({}));
  d.define({ arn: PUBLISHER, policies: [] });
  expect(authorizeApiCall(d, { account: ACCOUNT }, facts(), wrong.request, wrong.operation, wrong.input, now())).toMatchObject({ ok: false, code: 'InvalidSignatureException' });
});

test('another account\'s root pushes only where the repository policy allows it', async () => {
  const d = directory();
  const partner = d.issue(`arn:aws:iam::${PARTNER}:root`, now());
  const put = await signed(partner, new PutImageCommand({ repositoryName: REPO, imageManifest: '{}' }));
  expect(authorizeApiCall(d, { account: ACCOUNT }, facts(), put.request, put.operation, put.input, now())).toMatchObject({
    ok: false, code: 'AccessDeniedException', message: expect.stringMatching(/because no resource-based policy allows the ecr-public:PutImage action$/),
  });
  const policy = parsePolicy('repository policy', { Statement: [{ Effect: 'Allow', Principal: { AWS: PARTNER }, Action: 'ecr-public:PutImage' }] }, 'resource');
  expect(authorizeApiCall(d, { account: ACCOUNT }, facts(policy), put.request, put.operation, put.input, now())).toMatchObject({ ok: true });
});
