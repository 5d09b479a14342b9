/**
 * Real-client test: the AWS CLI v2 (`/usr/bin/aws`, a client nobody here wrote) against the emulator's ECR Public
 * API and its S3 asset bucket. The CLI gets dummy credentials, empty config files, no pager and `--endpoint-url`.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { ECRPUBLICClient } from '@aws-sdk/client-ecr-public';
import { startEmulator } from '../../../local';
import { OCI_CONFIG, OCI_MANIFEST } from '../../../src/shared/oci/media-types';
import { pushOciLayout } from '../../support/ecr-push';
import { ecrPublicClient } from '../../support/emulator-harness';
import { OciLayoutImage } from '../../support/oci-layout';
import { run, ToolError } from '../../support/run-tool';
import { makeTempDir, removeTempDir } from '../../support/temp-dirs';
import { buildImage } from '../../support/umoci-images';

type Emulator = Awaited<ReturnType<typeof startEmulator>>;

const AWS = '/usr/bin/aws';
/** A 1x1 PNG. */
const PNG = Buffer.from('iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg==', 'base64');
const REPO = 'cli/app';

let tmp: string;
let emu: Emulator;
let client: ECRPUBLICClient;
let env: NodeJS.ProcessEnv;
let image: OciLayoutImage;
let bucketDir: string;

/** Runs `aws ARGS --endpoint-url EMU --region us-east-1 --output json` and parses stdout (`{}` when empty). */
async function aws(args: string[], region = 'us-east-1'): Promise<any> {
  const res = await run(AWS, [...args, '--endpoint-url', emu.endpoint, '--region', region, '--output', 'json'], { env, timeoutMs: 60_000 });
  const text = res.stdout.toString('utf8').trim();
  return text === '' ? {} : JSON.parse(text);
}

/** Runs an aws command that must fail; returns the ToolError (exit code and stderr). */
async function awsFails(args: string[], region = 'us-east-1'): Promise<ToolError> {
  try {
    await aws(args, region);
  } catch (e) {
    if (e instanceof ToolError) return e;
    throw e;
  }
  throw new Error(`expected 'aws ${args.join(' ')}' to fail, it succeeded`);
}

/** The AWS CLI v2 exits with 254 when the service answered with an error. */
function expectServiceError(err: ToolError, code: string): void {
  expect(err.stderr).toContain(`(${code})`);
  expect(err.exitCode).toBe(254);
}

beforeAll(async () => {
  tmp = makeTempDir('aws-cli-');
  const home = path.join(tmp, 'home');
  fs.mkdirSync(home);
  fs.writeFileSync(path.join(tmp, 'config'), '');
  fs.writeFileSync(path.join(tmp, 'credentials'), '');
  env = {
    PATH: process.env.PATH,
    HOME: home,
    LANG: 'C.UTF-8',
    AWS_ACCESS_KEY_ID: 'local',
    AWS_SECRET_ACCESS_KEY: 'local',
    AWS_CONFIG_FILE: path.join(tmp, 'config'),
    AWS_SHARED_CREDENTIALS_FILE: path.join(tmp, 'credentials'),
    AWS_PAGER: '',
    AWS_EC2_METADATA_DISABLED: 'true',
    AWS_CLI_AUTO_PROMPT: 'off',
  };

  bucketDir = path.join(tmp, 'bucket');
  fs.mkdirSync(path.join(bucketDir, 'nested'), { recursive: true });
  fs.writeFileSync(path.join(bucketDir, 'hello.txt'), 'hello from the asset bucket\n');
  fs.writeFileSync(path.join(bucketDir, 'nested', 'data.bin'), Buffer.from(Array.from({ length: 3000 }, (_, i) => (i * 7) % 256)));

  emu = await startEmulator({ port: 0 });
  emu.addBucket('assets', bucketDir);
  client = ecrPublicClient(emu.endpoint);
  image = await buildImage(path.join(tmp, 'layout'), { tag: 'v1', layers: 2, files: { 'a.txt': 'a\n', 'b.txt': 'b\n' } });
});

afterAll(async () => {
  client?.destroy();
  await emu?.stop();
  removeTempDir(tmp);
});

describe('aws ecr-public', () => {
  // The tests of this block run in order on one repository.
  let alias: string;

  test('create-repository with --catalog-data and --tags', async () => {
    const out = await aws(['ecr-public', 'create-repository', '--repository-name', REPO,
      '--catalog-data', JSON.stringify({ description: 'CLI test', aboutText: '# About', architectures: ['x86-64', 'ARM 64'], operatingSystems: ['Linux'] }),
      '--tags', 'Key=team,Value=infra', 'Key=env,Value=test']);
    expect(out.repository.repositoryName).toBe(REPO);
    expect(out.repository.registryId).toBe(emu.accountId);
    expect(out.repository.repositoryArn).toBe(`arn:aws:ecr-public::${emu.accountId}:repository/${REPO}`);
    const uri = out.repository.repositoryUri as string;
    expect(uri.startsWith(`${emu.host}/`)).toBe(true);
    expect(uri.endsWith(`/${REPO}`)).toBe(true);
    alias = uri.slice(emu.host.length + 1, uri.length - REPO.length - 1);
    expect(alias).toMatch(/^[a-z][a-z0-9]+(?:[._-][a-z0-9]+)*$/);
    expect(out.catalogData.description).toBe('CLI test');
    expect(out.catalogData.aboutText).toBe('# About');
    expect(out.catalogData.architectures).toEqual(['x86-64', 'ARM 64']);
    expect(out.catalogData.operatingSystems).toEqual(['Linux']);

    const tags = await aws(['ecr-public', 'list-tags-for-resource', '--resource-arn', out.repository.repositoryArn]);
    expect(tags.tags).toEqual(expect.arrayContaining([{ Key: 'team', Value: 'infra' }, { Key: 'env', Value: 'test' }]));
    expect(tags.tags).toHaveLength(2);
  });

  test('describe-repositories', async () => {
    const one = await aws(['ecr-public', 'describe-repositories', '--repository-names', REPO]);
    expect(one.repositories).toHaveLength(1);
    expect(one.repositories[0].repositoryName).toBe(REPO);
    expect(one.repositories[0].repositoryUri).toBe(`${emu.host}/${alias}/${REPO}`);
    expect(Number.isNaN(Date.parse(one.repositories[0].createdAt))).toBe(false);
    const all = await aws(['ecr-public', 'describe-repositories']);
    expect(all.repositories.map((r: { repositoryName: string }) => r.repositoryName)).toEqual([REPO]);
  });

  test('describe-registries', async () => {
    const out = await aws(['ecr-public', 'describe-registries']);
    expect(out.registries).toEqual([{
      registryId: emu.accountId,
      registryArn: `arn:aws:ecr-public::${emu.accountId}:registry/${emu.accountId}`,
      registryUri: `${emu.host}/${alias}`,
      verified: false,
      aliases: [{ name: alias, status: 'ACTIVE', primaryRegistryAlias: true, defaultRegistryAlias: true }],
    }]);
  });

  test('put-repository-catalog-data with a PNG logo; the logoUrl serves the PNG', async () => {
    // The CLI's shorthand does not read fileb:// inside a structure: the logo goes in as base64 in JSON (file://).
    const catalogFile = path.join(tmp, 'catalog.json');
    fs.writeFileSync(catalogFile, JSON.stringify({ description: 'With a logo', usageText: 'docker pull', logoImageBlob: PNG.toString('base64') }));
    const out = await aws(['ecr-public', 'put-repository-catalog-data', '--repository-name', REPO, '--catalog-data', `file://${catalogFile}`]);
    expect(out.catalogData.description).toBe('With a logo');
    expect(out.catalogData.usageText).toBe('docker pull');
    expect(typeof out.catalogData.logoUrl).toBe('string');

    const got = await aws(['ecr-public', 'get-repository-catalog-data', '--repository-name', REPO]);
    expect(got.catalogData.description).toBe('With a logo');
    // Replace semantics (local/README.md): fields left out are cleared.
    expect(got.catalogData.aboutText).toBeUndefined();
    expect(got.catalogData.architectures ?? []).toEqual([]);
    const logo = await fetch(got.catalogData.logoUrl);
    expect(logo.status).toBe(200);
    expect(Buffer.from(await logo.arrayBuffer()).equals(PNG)).toBe(true);
  });

  test('put-repository-catalog-data refuses a logo that is not an image', async () => {
    const err = await awsFails(['ecr-public', 'put-repository-catalog-data', '--repository-name', REPO,
      '--catalog-data', JSON.stringify({ logoImageBlob: Buffer.from('GIF89a not a png').toString('base64') })]);
    expectServiceError(err, 'InvalidParameterException');
  });

  test('set-repository-policy and get-repository-policy', async () => {
    const policy = {
      Version: '2012-10-17',
      Statement: [{ Sid: 'AllowPush', Effect: 'Allow', Principal: { AWS: `arn:aws:iam::${emu.accountId}:root` }, Action: ['ecr-public:PutImage'] }],
    };
    const set = await aws(['ecr-public', 'set-repository-policy', '--repository-name', REPO, '--policy-text', JSON.stringify(policy)]);
    expect(set.repositoryName).toBe(REPO);
    expect(set.registryId).toBe(emu.accountId);
    expect(JSON.parse(set.policyText)).toEqual(policy);
    const got = await aws(['ecr-public', 'get-repository-policy', '--repository-name', REPO]);
    expect(JSON.parse(got.policyText)).toEqual(policy);

    const bad = await awsFails(['ecr-public', 'set-repository-policy', '--repository-name', REPO, '--policy-text', '{"Statement":[]}']);
    expectServiceError(bad, 'InvalidParameterException');
  });

  test('get-authorization-token and get-login-password', async () => {
    const before = Date.now();
    const out = await aws(['ecr-public', 'get-authorization-token']);
    const token = out.authorizationData.authorizationToken as string;
    const decoded = Buffer.from(token, 'base64').toString('utf8');
    expect(decoded).toMatch(/^AWS:\S+$/);
    const expiresAt = Date.parse(out.authorizationData.expiresAt);
    const twelveHours = 12 * 3600 * 1000;
    expect(expiresAt).toBeGreaterThan(before + twelveHours - 5 * 60_000);
    expect(expiresAt).toBeLessThan(Date.now() + twelveHours + 5 * 60_000);

    // get-login-password is GetAuthorizationToken decoded by the CLI: the password after "AWS:".
    const res = await run(AWS, ['ecr-public', 'get-login-password', '--endpoint-url', emu.endpoint, '--region', 'us-east-1'], { env });
    expect(res.stdout.toString('utf8').trim()).toMatch(/^\S+$/);
  });

  test('put-registry-catalog-data and get-registry-catalog-data', async () => {
    const put = await aws(['ecr-public', 'put-registry-catalog-data', '--display-name', 'Local Registry']);
    expect(put.registryCatalogData).toEqual({ displayName: 'Local Registry' });
    const got = await aws(['ecr-public', 'get-registry-catalog-data']);
    expect(got.registryCatalogData).toEqual({ displayName: 'Local Registry' });
  });

  test('describe-images and describe-image-tags of an image pushed with the SDK', async () => {
    const digest = await pushOciLayout(client, REPO, image.layoutDir, { tag: 'v1' });
    const out = await aws(['ecr-public', 'describe-images', '--repository-name', REPO]);
    expect(out.imageDetails).toHaveLength(1);
    const detail = out.imageDetails[0];
    expect(detail.imageDigest).toBe(digest);
    expect(detail.registryId).toBe(emu.accountId);
    expect(detail.repositoryName).toBe(REPO);
    expect(detail.imageTags).toEqual(['v1']);
    expect(detail.imageManifestMediaType).toBe(OCI_MANIFEST);
    expect(detail.artifactMediaType).toBe(OCI_CONFIG);
    expect(detail.imageSizeInBytes).toBe(image.root.json.layers.reduce((n: number, l: { size: number }) => n + l.size, 0));

    const byTag = await aws(['ecr-public', 'describe-images', '--repository-name', REPO, '--image-ids', 'imageTag=v1']);
    expect(byTag.imageDetails.map((d: { imageDigest: string }) => d.imageDigest)).toEqual([digest]);
    const tags = await aws(['ecr-public', 'describe-image-tags', '--repository-name', REPO]);
    expect(tags.imageTagDetails).toHaveLength(1);
    expect(tags.imageTagDetails[0].imageTag).toBe('v1');
    expect(tags.imageTagDetails[0].imageDetail.imageDigest).toBe(digest);

    const missing = await awsFails(['ecr-public', 'describe-images', '--repository-name', REPO, '--image-ids', 'imageTag=nope']);
    expectServiceError(missing, 'ImageNotFoundException');
  });

  test('delete-repository needs --force for a repository with images', async () => {
    const notEmpty = await awsFails(['ecr-public', 'delete-repository', '--repository-name', REPO]);
    expectServiceError(notEmpty, 'RepositoryNotEmptyException');
    const out = await aws(['ecr-public', 'delete-repository', '--repository-name', REPO, '--force']);
    expect(out.repository.repositoryName).toBe(REPO);
    const gone = await awsFails(['ecr-public', 'describe-repositories', '--repository-names', REPO]);
    expectServiceError(gone, 'RepositoryNotFoundException');
  });
});

describe('aws ecr-public errors', () => {
  test('a duplicate create-repository is RepositoryAlreadyExistsException', async () => {
    await aws(['ecr-public', 'create-repository', '--repository-name', 'cli/dup']);
    const err = await awsFails(['ecr-public', 'create-repository', '--repository-name', 'cli/dup']);
    expectServiceError(err, 'RepositoryAlreadyExistsException');
    expect(err.stderr).toContain('CreateRepository');
  });

  test('a name that breaks the pattern is InvalidParameterException', async () => {
    const err = await awsFails(['ecr-public', 'create-repository', '--repository-name', 'Bad_Name']);
    expectServiceError(err, 'InvalidParameterException');
    expect(err.stderr).toContain('repositoryName');
  });

  test('describing a missing repository is RepositoryNotFoundException', async () => {
    const err = await awsFails(['ecr-public', 'describe-repositories', '--repository-names', 'no/such-repo']);
    expectServiceError(err, 'RepositoryNotFoundException');
  });

  test('a region other than us-east-1 is UnsupportedCommandException', async () => {
    const err = await awsFails(['ecr-public', 'describe-registries'], 'us-west-2');
    expectServiceError(err, 'UnsupportedCommandException');
  });
});

describe('aws s3api against the emulator bucket', () => {
  test('get-object returns the bytes of the file', async () => {
    const outFile = path.join(tmp, 'data.out');
    const expected = fs.readFileSync(path.join(bucketDir, 'nested', 'data.bin'));
    const out = await aws(['s3api', 'get-object', '--bucket', 'assets', '--key', 'nested/data.bin', outFile]);
    expect(fs.readFileSync(outFile).equals(expected)).toBe(true);
    expect(out.ContentLength).toBe(expected.length);
  });

  test('get-object --range returns the part asked for', async () => {
    const outFile = path.join(tmp, 'range.out');
    const expected = fs.readFileSync(path.join(bucketDir, 'nested', 'data.bin'));
    const out = await aws(['s3api', 'get-object', '--bucket', 'assets', '--key', 'nested/data.bin', '--range', 'bytes=100-199', outFile]);
    expect(fs.readFileSync(outFile).equals(expected.subarray(100, 200))).toBe(true);
    expect(out.ContentRange).toBe(`bytes 100-199/${expected.length}`);
  });

  test('head-object reports the length and the same ETag as get-object', async () => {
    const bytes = fs.readFileSync(path.join(bucketDir, 'hello.txt'));
    const out = await aws(['s3api', 'head-object', '--bucket', 'assets', '--key', 'hello.txt']);
    expect(out.ContentLength).toBe(bytes.length);
    // A quoted entity tag. (Real S3 uses the content MD5 for single-part objects; the emulator's tag is its own.)
    expect(out.ETag).toMatch(/^"[^"]+"$/);
    const got = await aws(['s3api', 'get-object', '--bucket', 'assets', '--key', 'hello.txt', path.join(tmp, 'hello.out')]);
    expect(got.ETag).toBe(out.ETag);
    expect(fs.readFileSync(path.join(tmp, 'hello.out')).equals(bytes)).toBe(true);
  });

  test('head-object of a missing key is a 404', async () => {
    const err = await awsFails(['s3api', 'head-object', '--bucket', 'assets', '--key', 'missing.txt']);
    expect(err.exitCode).toBe(254);
    expect(err.stderr).toMatch(/\(404\)|Not Found/);
  });

  test('a missing key fails', async () => {
    const err = await awsFails(['s3api', 'get-object', '--bucket', 'assets', '--key', 'missing.txt', path.join(tmp, 'missing.out')]);
    expectServiceError(err, 'NoSuchKey');
  });
});
