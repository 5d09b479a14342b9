/**
 * The emulator's control API (`EcrPublicLocal.*`), through which the local tools register principals, get their
 * credentials and have forwarded requests decided: only the account root may call it, and only under IAM; its input is
 * a client's, so malformed policies, unknown principals and hostile header names are answered as errors, never 5xx.
 */
import { RunningEmulator, startEmulator } from '../../../local';
import { callEmulator, DEFAULT_ROOT_CREDENTIALS, EmulatorApiError, EmulatorTarget } from '../../../local/deploy/emulator-calls';

let iam: RunningEmulator;
let open: RunningEmulator;
let root: EmulatorTarget;

beforeAll(async () => {
  iam = await startEmulator({ iam: {} });
  open = await startEmulator({});
  root = { endpoint: iam.endpoint, credentials: DEFAULT_ROOT_CREDENTIALS };
});

afterAll(async () => {
  await iam?.stop();
  await open?.stop();
});

/** The error code and status a control call is refused with. */
async function refusal(target: EmulatorTarget, operation: string, input: object): Promise<[string, number]> {
  try {
    await callEmulator(target, 'control', operation, input);
  } catch (err) {
    if (err instanceof EmulatorApiError) return [err.code, err.status];
    throw err;
  }
  throw new Error(`${operation} succeeded`);
}

test('without IAM, Describe says so and the rest is refused', async () => {
  const target = { endpoint: open.endpoint, credentials: DEFAULT_ROOT_CREDENTIALS };
  expect(await callEmulator(target, 'control', 'Describe', {})).toEqual({ account: open.accountId, iam: false });
  expect(await refusal(target, 'DefinePrincipal', { arn: `arn:aws:iam::${open.accountId}:role/R`, policies: [] })).toEqual(['IamNotEnabledException', 400]);
});

test('only the root may call it: a wrong secret and a role are refused', async () => {
  expect(await refusal({ ...root, credentials: { accessKeyId: 'local', secretAccessKey: 'wrong' } }, 'IssueCredentials', { arn: 'x' }))
    .toEqual(['InvalidSignatureException', 403]);
  const arn = `arn:aws:iam::${iam.accountId}:role/Caller`;
  await callEmulator(root, 'control', 'DefinePrincipal', { arn, policies: [{ name: 'All', document: { Statement: [{ Effect: 'Allow', Action: '*', Resource: '*' }] } }] });
  const issued = await callEmulator(root, 'control', 'IssueCredentials', { arn }) as { accessKeyId: string; secretAccessKey: string; sessionToken: string };
  expect(await refusal({ ...root, credentials: issued }, 'IssueCredentials', { arn })).toEqual(['AccessDeniedException', 400]);
});

test('a malformed policy, an unknown principal and a bad session name are refused, naming what is wrong', async () => {
  const arn = `arn:aws:iam::${iam.accountId}:role/Bad`;
  expect(await refusal(root, 'DefinePrincipal', { arn, policies: [{ name: 'P', document: '{not json' }] })).toEqual(['MalformedPolicyDocumentException', 400]);
  expect(await refusal(root, 'IssueCredentials', { arn: `arn:aws:iam::${iam.accountId}:role/Nobody` })).toEqual(['NoSuchEntityException', 404]);
  expect(await refusal(root, 'IssueCredentials', { arn, sessionName: 'a b' })).toEqual(['InvalidParameterException', 400]);
});

test('a forwarded request whose header names are __proto__ and constructor is decided, not a server error', async () => {
  // Signed now, for the root's key, with the empty body's hash: what is left to decide is the signature itself.
  const amzDate = new Date().toISOString().replace(/[-:]/g, '').replace(/\.\d{3}/, '');
  const emptySha = 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855';
  const headers = JSON.parse(`{"__proto__": "x", "host": "127.0.0.1:1", "x-amz-date": "${amzDate}", "x-amz-content-sha256": "${emptySha}", `
    + `"authorization": "AWS4-HMAC-SHA256 Credential=local/${amzDate.slice(0, 8)}/us-east-1/s3/aws4_request, `
    + `SignedHeaders=constructor;host;x-amz-date, Signature=${'0'.repeat(64)}"}`);
  const answer = await callEmulator(root, 'control', 'AuthorizeS3Read', { method: 'GET', target: '/bucket/key', headers, bucket: 'bucket', key: 'key' });
  expect(answer).toEqual({ refusal: [expect.any(Number), 'SignatureDoesNotMatch', expect.any(String)] });
  expect(await refusal(root, 'AuthorizeS3Read', { method: 'GET', target: '/b/k', headers: { host: 1 }, bucket: 'b', key: 'k' }))
    .toEqual(['InvalidParameterException', 400]);
});
