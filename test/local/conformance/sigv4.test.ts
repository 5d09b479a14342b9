/**
 * The emulator's SigV4 verifier (`local/iam/sigv4.ts`) against what real signers send: the AWS SDK for JavaScript v3
 * (ECR Public's awsJson calls, S3 calls with keys that need encoding, a body) and the AWS CLI (botocore). Each request is
 * captured as it came off the wire by a server of the test's own, then verified: accepted with the right secret, and
 * refused with a wrong one, a changed body, a changed signed header, an unknown key, a missing or expired session
 * token, and a clock 16 minutes away.
 */
import { execFile } from 'node:child_process';
import { CreateRepositoryCommand, ECRPUBLICClient } from '@aws-sdk/client-ecr-public';
import { GetObjectCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { KnownKey, ReceivedRequest, verifySignature } from '../../../local/iam/sigv4';
import { RequestCapture, startRequestCapture } from '../../support/request-capture';

const KEY = 'AKIDSIGV4TEST';
const SECRET = 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY';
const TOKEN = 'FQoGZXIvYXdzEXAMPLETOKEN';

let server: RequestCapture;
let endpoint: string;

beforeAll(async () => {
  server = await startRequestCapture();
  endpoint = server.endpoint;
});

afterAll(() => server.close());

const known = (key: KnownKey) => (id: string): KnownKey | undefined => (id === KEY ? key : undefined);
const now = (): number => Date.now() / 1000;

/** Sends with `send`, ignoring the captured failure, and returns the request as received. */
function capture(send: () => Promise<unknown>): Promise<ReceivedRequest> {
  return server.capture(send);
}

function ecrPublic(sessionToken?: string): ECRPUBLICClient {
  return new ECRPUBLICClient({ region: 'us-east-1', endpoint, maxAttempts: 1, credentials: { accessKeyId: KEY, secretAccessKey: SECRET, sessionToken } });
}

function s3(): S3Client {
  return new S3Client({ region: 'us-east-1', endpoint, forcePathStyle: true, maxAttempts: 1, credentials: { accessKeyId: KEY, secretAccessKey: SECRET } });
}

describe('requests the AWS SDK for JavaScript signs', () => {
  test('an awsJson call (CreateRepository): accepted; a wrong secret, a changed body or header, an unknown key are refused', async () => {
    const client = ecrPublic();
    const request = await capture(() => client.send(new CreateRepositoryCommand({ repositoryName: 'signed/app', catalogData: { description: 'ünïcödé' } })));
    client.destroy();
    expect(verifySignature(request, 'ecr-public', known({ secretAccessKey: SECRET }), now())).toEqual({ ok: true, accessKeyId: KEY, region: 'us-east-1', service: 'ecr-public' });
    expect(verifySignature(request, 'ecr-public', known({ secretAccessKey: `${SECRET}x` }), now())).toMatchObject({ ok: false, kind: 'mismatch' });
    // The SDK declares the body's sha256 (x-amz-content-sha256, signed): a changed body no longer matches it.
    expect(request.headers['x-amz-content-sha256']).toMatch(/^[0-9a-f]{64}$/);
    expect(verifySignature({ ...request, body: Buffer.from(request.body.toString().replace('signed/app', 'signed/evil')) }, 'ecr-public',
      known({ secretAccessKey: SECRET }), now())).toMatchObject({ ok: false, kind: 'payload' });
    expect(verifySignature({ ...request, headers: { ...request.headers, 'x-amz-target': 'SpencerFrontendService.DeleteRepository' } }, 'ecr-public',
      known({ secretAccessKey: SECRET }), now())).toMatchObject({ ok: false, kind: 'mismatch' });
    expect(verifySignature(request, 'ecr-public', () => undefined, now())).toMatchObject({ ok: false, kind: 'unknown-key' });
    expect(verifySignature(request, 's3', known({ secretAccessKey: SECRET }), now())).toMatchObject({ ok: false, kind: 'mismatch' });
  });

  test('a clock more than 15 minutes away refuses the request; 14 minutes is within the skew', async () => {
    const client = ecrPublic();
    const request = await capture(() => client.send(new CreateRepositoryCommand({ repositoryName: 'signed/clock' })));
    client.destroy();
    expect(verifySignature(request, 'ecr-public', known({ secretAccessKey: SECRET }), now() + 14 * 60)).toMatchObject({ ok: true });
    expect(verifySignature(request, 'ecr-public', known({ secretAccessKey: SECRET }), now() + 16 * 60)).toMatchObject({ ok: false, kind: 'expired-request' });
    expect(verifySignature(request, 'ecr-public', known({ secretAccessKey: SECRET }), now() - 16 * 60)).toMatchObject({ ok: false, kind: 'expired-request' });
  });

  test('temporary credentials: the session token must come, unchanged, and before it expires', async () => {
    const client = ecrPublic(TOKEN);
    const request = await capture(() => client.send(new CreateRepositoryCommand({ repositoryName: 'signed/session' })));
    client.destroy();
    expect(verifySignature(request, 'ecr-public', known({ secretAccessKey: SECRET, sessionToken: TOKEN, expiresAt: now() + 60 }), now())).toMatchObject({ ok: true });
    expect(verifySignature(request, 'ecr-public', known({ secretAccessKey: SECRET, sessionToken: TOKEN, expiresAt: now() - 1 }), now())).toMatchObject({ ok: false, kind: 'token' });
    expect(verifySignature(request, 'ecr-public', known({ secretAccessKey: SECRET, sessionToken: 'other' }), now())).toMatchObject({ ok: false, kind: 'token' });
    const plain = ecrPublic();
    const unsigned = await capture(() => plain.send(new CreateRepositoryCommand({ repositoryName: 'signed/session' })));
    plain.destroy();
    expect(verifySignature(unsigned, 'ecr-public', known({ secretAccessKey: SECRET, sessionToken: TOKEN }), now())).toMatchObject({ ok: false, kind: 'token' });
  });

  test.each([
    ['a plain key', 'assets/archive.tar'],
    ['spaces, plus signs and tildes', 'assets/a b+c~d.tar'],
    ['non-ASCII and reserved characters', 'assets/ünï/(x)!*\'/=&?.tar'],
  ])('S3 GetObject with %s, and a ranged read: accepted', async (_what, key) => {
    const client = s3();
    const request = await capture(() => client.send(new GetObjectCommand({ Bucket: 'cdk-assets', Key: key, Range: 'bytes=0-99' })));
    client.destroy();
    expect(verifySignature(request, 's3', known({ secretAccessKey: SECRET }), now())).toMatchObject({ ok: true, service: 's3' });
    expect(verifySignature({ ...request, headers: { ...request.headers, range: 'bytes=0-999' } }, 's3', known({ secretAccessKey: SECRET }), now()))
      .toMatchObject({ ok: false, kind: 'mismatch' });
  });

  test('S3 PutObject: the x-amz-content-sha256 it declares must be the body\'s', async () => {
    const client = s3();
    const request = await capture(() => client.send(new PutObjectCommand({ Bucket: 'cdk-assets', Key: 'k', Body: 'hello' })));
    client.destroy();
    // The SDK declares the body's sha256 (over plain HTTP it signs the payload).
    expect(request.headers['x-amz-content-sha256']).toBe('2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824');
    expect(verifySignature(request, 's3', known({ secretAccessKey: SECRET }), now())).toMatchObject({ ok: true });
    expect(verifySignature({ ...request, body: Buffer.from('hellO') }, 's3', known({ secretAccessKey: SECRET }), now())).toMatchObject({ ok: false, kind: 'payload' });
  });
});

describe('requests the AWS CLI (botocore) signs', () => {
  function cli(args: string[]): Promise<void> {
    return new Promise((resolve) => {
      execFile('/usr/bin/aws', [...args, '--endpoint-url', endpoint, '--region', 'us-east-1', '--no-cli-pager'], {
        env: { ...process.env, AWS_ACCESS_KEY_ID: KEY, AWS_SECRET_ACCESS_KEY: SECRET, AWS_MAX_ATTEMPTS: '1', AWS_CONFIG_FILE: '/dev/null', AWS_SHARED_CREDENTIALS_FILE: '/dev/null' },
        timeout: 60_000,
      }, () => resolve());
    });
  }

  test('ecr-public describe-repositories and s3api get-object of an awkward key: accepted; a wrong secret is refused', async () => {
    const ecr = await capture(() => cli(['ecr-public', 'describe-repositories', '--repository-names', 'signed/cli']));
    expect(verifySignature(ecr, 'ecr-public', known({ secretAccessKey: SECRET }), now())).toMatchObject({ ok: true, service: 'ecr-public' });
    expect(verifySignature(ecr, 'ecr-public', known({ secretAccessKey: 'wrong' }), now())).toMatchObject({ ok: false, kind: 'mismatch' });
    const object = await capture(() => cli(['s3api', 'get-object', '--bucket', 'cdk-assets', '--key', 'assets/a b+c/ü.tar', '/dev/null']));
    expect(verifySignature(object, 's3', known({ secretAccessKey: SECRET }), now())).toMatchObject({ ok: true, service: 's3' });
  }, 120_000);
});

describe('malformed authorization', () => {
  const base: ReceivedRequest = { method: 'POST', target: '/', headers: { 'host': '127.0.0.1:1', 'x-amz-date': '20260101T000000Z' }, body: Buffer.alloc(0) };
  test.each([
    ['no Authorization', undefined, 'missing'],
    ['another scheme', 'Basic QVdTOng=', 'incomplete'],
    ['no Signature', 'AWS4-HMAC-SHA256 Credential=AKID/20260101/us-east-1/ecr-public/aws4_request, SignedHeaders=host;x-amz-date', 'incomplete'],
    ['a short scope', `AWS4-HMAC-SHA256 Credential=AKID/20260101/us-east-1/aws4_request, SignedHeaders=host;x-amz-date, Signature=${'0'.repeat(64)}`, 'incomplete'],
    ['x-amz-date not signed', `AWS4-HMAC-SHA256 Credential=AKID/20260101/us-east-1/ecr-public/aws4_request, SignedHeaders=host, Signature=${'0'.repeat(64)}`, 'incomplete'],
  ])('%s is refused', (_what, authorization, kind) => {
    const request = { ...base, headers: { ...base.headers, ...(authorization ? { authorization } : {}) } };
    expect(verifySignature(request, 'ecr-public', () => ({ secretAccessKey: 'x' }), Date.UTC(2026, 0, 1) / 1000)).toMatchObject({ ok: false, kind });
  });
});
