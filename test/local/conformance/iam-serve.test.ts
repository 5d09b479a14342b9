/**
 * The emulator with IAM on (`iam` option, `serve --iam`): every ECR Public API call and every S3 read has its SigV4
 * signature verified and is decided by IAM, through the real SDK and the AWS CLI. The root signs with its key pair;
 * a role defined in the principal directory gets issued credentials and only what its policies allow; another
 * account's root pushes only where the repository policy lets it; registry pushes (skopeo) are decided as the principal
 * their password was issued to (deploy runs each handler as its own role: test/local/deploy/iam.test.ts).
 */
import { execFile } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import {
  CreateRepositoryCommand, DescribeRepositoriesCommand, ECRPUBLICClient, GetAuthorizationTokenCommand, InitiateLayerUploadCommand,
  SetRepositoryPolicyCommand,
} from '@aws-sdk/client-ecr-public';
import { GetObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { parsePolicy, PrincipalDirectory, RunningEmulator, startEmulator } from '../../../local';
import { IssuedCredentials } from '../../../local/iam/principals';
import { PUSH_ACTIONS } from '../../../src/private/ecr-public-actions';
import { ecrPublicClient, ensureCompiledEmulator, killEmulator, loginPassword, primaryRegistryAlias, serveEmulator } from '../../support/emulator-harness';
import { readOciLayout } from '../../support/oci-layout';
import { skopeoCopy } from '../../support/skopeo';
import { makeTempDir } from '../../support/temp-dirs';
import { buildImage } from '../../support/umoci-images';

const ROOT = { accessKeyId: 'AKIAROOTLOCAL', secretAccessKey: 'root-secret' };
const CI_ROLE = '123456789012';
let emu: RunningEmulator;
let principals: PrincipalDirectory;
let bucketDir: string;

beforeAll(async () => {
  bucketDir = makeTempDir('iam-serve-bucket-');
  fs.writeFileSync(path.join(bucketDir, 'archive.tar'), 'the archive');
  emu = await startEmulator({ iam: { rootCredentials: ROOT }, buckets: { 'cdk-assets': bucketDir } });
  principals = emu.principals!;
});

afterAll(() => emu?.stop());

function ecr(credentials: { accessKeyId: string; secretAccessKey: string; sessionToken?: string }): ECRPUBLICClient {
  const { accessKeyId, secretAccessKey, sessionToken } = credentials;
  return new ECRPUBLICClient({ region: 'us-east-1', endpoint: emu.endpoint, maxAttempts: 1, credentials: { accessKeyId, secretAccessKey, sessionToken } });
}

function s3(credentials: { accessKeyId: string; secretAccessKey: string; sessionToken?: string }): S3Client {
  const { accessKeyId, secretAccessKey, sessionToken } = credentials;
  return new S3Client({ region: 'us-east-1', endpoint: emu.endpoint, forcePathStyle: true, maxAttempts: 1, credentials: { accessKeyId, secretAccessKey, sessionToken } });
}

/** A role of the deployed app's kind, with one inline policy. */
function role(name: string, statements: object[]): IssuedCredentials {
  const arn = `arn:aws:iam::${CI_ROLE}:role/${name}`;
  principals.define({ arn, policies: [parsePolicy(`${name}/Default`, { Statement: statements }, 'identity')] });
  return principals.issue(arn, emu.now(), 'test');
}

test('the root signs with its key pair and may do everything; a wrong secret or an unknown key is refused', async () => {
  const root = ecr(ROOT);
  await root.send(new CreateRepositoryCommand({ repositoryName: 'iam/web', tags: [{ Key: 'team', Value: 'web' }] }));
  expect((await root.send(new DescribeRepositoriesCommand({}))).repositories?.map((r) => r.repositoryName)).toContain('iam/web');
  root.destroy();
  const wrong = ecr({ ...ROOT, secretAccessKey: 'not-it' });
  await expect(wrong.send(new DescribeRepositoriesCommand({}))).rejects.toMatchObject({ name: 'InvalidSignatureException', $metadata: { httpStatusCode: 403 } });
  wrong.destroy();
  const stranger = ecr({ accessKeyId: 'AKIASTRANGER', secretAccessKey: 'x' });
  await expect(stranger.send(new DescribeRepositoriesCommand({}))).rejects.toMatchObject({ name: 'UnrecognizedClientException' });
  stranger.destroy();
});

test('a role gets what its policy allows, and an AccessDeniedException in IAM\'s words for anything else', async () => {
  const creds = role('Pusher', [{ Effect: 'Allow', Action: 'ecr-public:InitiateLayerUpload', Resource: `arn:aws:ecr-public::${CI_ROLE}:repository/iam/*` }]);
  const client = ecr(creds);
  await expect(client.send(new InitiateLayerUploadCommand({ repositoryName: 'iam/web' }))).resolves.toMatchObject({ uploadId: expect.any(String) });
  await expect(client.send(new CreateRepositoryCommand({ repositoryName: 'iam/other' }))).rejects.toMatchObject({
    name: 'AccessDeniedException',
    message: `User: arn:aws:sts::${CI_ROLE}:assumed-role/Pusher/test is not authorized to perform: ecr-public:CreateRepository on resource: `
      + `arn:aws:ecr-public::${CI_ROLE}:repository/iam/other because no identity-based policy allows the ecr-public:CreateRepository action`,
  });
  // Refused by IAM before its input is looked at: an invalid name is AccessDenied, not InvalidParameter.
  await expect(client.send(new CreateRepositoryCommand({ repositoryName: 'Not-Valid' }))).rejects.toMatchObject({ name: 'AccessDeniedException' });
  client.destroy();
  const root = ecr(ROOT);
  expect((await root.send(new DescribeRepositoriesCommand({}))).repositories?.map((r) => r.repositoryName)).not.toContain('iam/other');
  root.destroy();
});

test('a condition on the repository\'s tags decides with the tags the repository has', async () => {
  const creds = role('Tagged', [{
    Effect: 'Allow', Action: 'ecr-public:InitiateLayerUpload', Resource: '*', Condition: { StringEquals: { 'aws:ResourceTag/team': 'web' } },
  }]);
  const root = ecr(ROOT);
  await root.send(new CreateRepositoryCommand({ repositoryName: 'iam/untagged' }));
  root.destroy();
  const client = ecr(creds);
  await expect(client.send(new InitiateLayerUploadCommand({ repositoryName: 'iam/web' }))).resolves.toMatchObject({ uploadId: expect.any(String) });
  await expect(client.send(new InitiateLayerUploadCommand({ repositoryName: 'iam/untagged' }))).rejects.toMatchObject({ name: 'AccessDeniedException' });
  client.destroy();
});

test('another account\'s root pushes only where the repository policy allows it', async () => {
  const partner = principals.issue('arn:aws:iam::222233334444:root', emu.now());
  const client = ecr(partner);
  await expect(client.send(new InitiateLayerUploadCommand({ repositoryName: 'iam/web' }))).rejects.toMatchObject({
    name: 'AccessDeniedException', message: expect.stringMatching(/because no resource-based policy allows the ecr-public:InitiateLayerUpload action$/),
  });
  const root = ecr(ROOT);
  await root.send(new SetRepositoryPolicyCommand({
    repositoryName: 'iam/web',
    policyText: JSON.stringify({ Version: '2012-10-17', Statement: [{ Effect: 'Allow', Principal: { AWS: 'arn:aws:iam::222233334444:root' }, Action: 'ecr-public:InitiateLayerUpload' }] }),
  }));
  root.destroy();
  await expect(client.send(new InitiateLayerUploadCommand({ repositoryName: 'iam/web' }))).resolves.toMatchObject({ uploadId: expect.any(String) });
  client.destroy();
});

test('S3: the signature is verified and s3:GetObject decided; an anonymous read is denied', async () => {
  const root = s3(ROOT);
  const got = await root.send(new GetObjectCommand({ Bucket: 'cdk-assets', Key: 'archive.tar' }));
  expect(await got.Body!.transformToString()).toBe('the archive');
  root.destroy();
  const reader = role('Reader', [{ Effect: 'Allow', Action: 's3:GetObject', Resource: 'arn:aws:s3:::cdk-assets/*' }]);
  const allowed = s3(reader);
  expect(await (await allowed.send(new GetObjectCommand({ Bucket: 'cdk-assets', Key: 'archive.tar' }))).Body!.transformToString()).toBe('the archive');
  allowed.destroy();
  const other = role('NoRead', [{ Effect: 'Allow', Action: 's3:GetObject', Resource: 'arn:aws:s3:::elsewhere/*' }]);
  const denied = s3(other);
  await expect(denied.send(new GetObjectCommand({ Bucket: 'cdk-assets', Key: 'archive.tar' }))).rejects.toMatchObject({ name: 'AccessDenied', $metadata: { httpStatusCode: 403 } });
  denied.destroy();
  const wrong = s3({ ...ROOT, secretAccessKey: 'nope' });
  await expect(wrong.send(new GetObjectCommand({ Bucket: 'cdk-assets', Key: 'archive.tar' }))).rejects.toMatchObject({ name: 'SignatureDoesNotMatch' });
  wrong.destroy();
  const anonymous = await fetch(`${emu.endpoint}/cdk-assets/archive.tar`);
  expect(anonymous.status).toBe(403);
  expect(await anonymous.text()).toContain('<Code>AccessDenied</Code>');
});

test('the AWS CLI signs with the root\'s key pair as the SDK does', async () => {
  const run = (secret: string) => new Promise<{ code: number; stdout: string; stderr: string }>((resolve) => {
    execFile('/usr/bin/aws', ['ecr-public', 'describe-repositories', '--endpoint-url', emu.endpoint, '--region', 'us-east-1', '--output', 'json'], {
      env: { ...process.env, AWS_ACCESS_KEY_ID: ROOT.accessKeyId, AWS_SECRET_ACCESS_KEY: secret, AWS_MAX_ATTEMPTS: '1', AWS_CONFIG_FILE: '/dev/null', AWS_SHARED_CREDENTIALS_FILE: '/dev/null' },
      timeout: 60_000,
    }, (err, stdout, stderr) => resolve({ code: err ? Number((err as { code?: number }).code ?? 1) : 0, stdout, stderr }));
  });
  const ok = await run(ROOT.secretAccessKey);
  expect(ok.stderr).toBe('');
  expect(JSON.parse(ok.stdout).repositories.map((r: { repositoryName: string }) => r.repositoryName)).toContain('iam/web');
  const refused = await run('wrong');
  expect(refused.code).not.toBe(0);
  expect(refused.stderr).toMatch(/InvalidSignatureException/);
}, 120_000);

test('`serve --iam --root-credentials KEY:SECRET` as users run it; --root-credentials without --iam is refused', async () => {
  await ensureCompiledEmulator();
  const served = await serveEmulator(path.join(makeTempDir('iam-serve-cli-'), 'data'), ['--iam', '--root-credentials', 'AKIACLIROOT:cli-secret']);
  try {
    const root = new ECRPUBLICClient({ region: 'us-east-1', endpoint: served.endpoint, maxAttempts: 1, credentials: { accessKeyId: 'AKIACLIROOT', secretAccessKey: 'cli-secret' } });
    await root.send(new CreateRepositoryCommand({ repositoryName: 'cli/iam' }));
    root.destroy();
    const other = ecrPublicClient(served.endpoint, { maxAttempts: 1 });
    await expect(other.send(new DescribeRepositoriesCommand({}))).rejects.toMatchObject({ name: 'UnrecognizedClientException' });
    other.destroy();
  } finally {
    await killEmulator(served);
  }
  await expect(serveEmulator(path.join(makeTempDir('iam-serve-cli-'), 'data'), ['--root-credentials', 'A:B']))
    .rejects.toThrow(/--root-credentials applies with --iam only/);
}, 120_000);

test('registry pushes are decided as the principal the password was issued to: skopeo pushes with one, DENIED with another', async () => {
  const layout = path.join(makeTempDir('iam-serve-image-'), 'layout');
  const image = await buildImage(layout, { tag: 'v1', files: { 'hello.txt': 'hello\n' } });
  const auth = { Effect: 'Allow', Action: ['ecr-public:GetAuthorizationToken', 'sts:GetServiceBearerToken'], Resource: '*' };
  const pusher = role('RegistryPusher', [auth, { Effect: 'Allow', Action: PUSH_ACTIONS, Resource: `arn:aws:ecr-public::${CI_ROLE}:repository/iam/web` }]);
  const reader = role('RegistryReader', [auth]);
  const root = ecr(ROOT);
  const alias = await primaryRegistryAlias(root);
  root.destroy();
  const target = `docker://${emu.host}/${alias}/iam/web:pushed`;
  const password = async (creds: IssuedCredentials) => {
    const client = ecr(creds);
    try {
      return await loginPassword(client);
    } finally {
      client.destroy();
    }
  };
  await expect(skopeoCopy(`oci:${layout}:v1`, target, ['--dest-creds', `AWS:${await password(reader)}`])).rejects.toThrow(/denied|403/i);
  await skopeoCopy(`oci:${layout}:v1`, target, ['--dest-creds', `AWS:${await password(pusher)}`]);
  const out = path.join(makeTempDir('iam-serve-pulled-'), 'oci');
  await skopeoCopy(target, `oci:${out}:pushed`);
  expect(readOciLayout(out, 'pushed').root.digest).toBe(image.root.digest);
  // A principal that has no GetAuthorizationToken gets no password at all.
  const noAuth = ecr(role('NoAuth', [{ Effect: 'Allow', Action: PUSH_ACTIONS, Resource: '*' }]));
  await expect(noAuth.send(new GetAuthorizationTokenCommand({}))).rejects.toMatchObject({ name: 'AccessDeniedException' });
  noAuth.destroy();
}, 120_000);
