/**
 * A user's grants, tried offline as the README says: an app granting push to a CI role, read to another role and push
 * to a partner account is deployed to `serve --iam`; `ecr-public-local credentials` gives each principal credentials,
 * and the AWS CLI and skopeo act as it. What the grants allow works; what they do not is refused as AWS refuses it.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { App, RemovalPolicy, Stack, aws_iam as iam } from 'aws-cdk-lib';
import { deployApp, RunningEmulator } from '../../../local';
import { PublicRepository } from '../../../src';
import { EMULATOR_CLI, primaryRegistryAlias, startInProcess } from '../../support/emulator-harness';
import { run, toolFailure } from '../../support/run-tool';
import { skopeoCopy } from '../../support/skopeo';
import { makeTempDir } from '../../support/temp-dirs';
import { buildImage } from '../../support/umoci-images';

const PARTNER = '222233334444';
const STRANGER = '333344445555';

let tmp: string;
let emu: RunningEmulator;
let alias: string;
let assemblyDir: string;
let dataDir: string;
let layout: string;

beforeAll(async () => {
  if (!fs.existsSync(EMULATOR_CLI)) throw new Error(`${EMULATOR_CLI} is missing: run \`npx projen compile:local\` first`);
  tmp = makeTempDir('local-grants-');
  let client;
  ({ emu, client } = await startInProcess({ iam: {} }, { maxAttempts: 1 }));
  assemblyDir = path.join(tmp, 'cdk.out');
  const app = new App({ outdir: assemblyDir });
  const stack = new Stack(app, 'GrantStack');
  const web = new PublicRepository(stack, 'Web', { repositoryName: 'grants/web', removalPolicy: RemovalPolicy.DESTROY, emptyOnDelete: true });
  new PublicRepository(stack, 'Other', { repositoryName: 'grants/other', removalPolicy: RemovalPolicy.DESTROY, emptyOnDelete: true });
  web.grantPush(new iam.Role(stack, 'Pusher', { assumedBy: new iam.ServicePrincipal('codebuild.amazonaws.com') }));
  web.grantRead(new iam.Role(stack, 'Reader', { assumedBy: new iam.ServicePrincipal('codebuild.amazonaws.com') }));
  web.grantPush(new iam.AccountPrincipal(PARTNER));
  app.synth();
  dataDir = path.join(tmp, 'data');
  await deployApp({ assemblyDir, dataDir, endpoint: emu.endpoint, log: () => undefined });
  alias = await primaryRegistryAlias(client);
  client.destroy();
  layout = path.join(tmp, 'layout');
  await buildImage(layout, { tag: 'v1', files: { 'hello.txt': 'hello\n' } });
}, 180_000);

afterAll(async () => {
  await emu?.stop();
});

/** The environment `eval "$(ecr-public-local credentials ...)"` leaves: the export lines parsed. */
async function credentialsEnv(args: string[]): Promise<NodeJS.ProcessEnv> {
  const out = (await run(process.execPath, [EMULATOR_CLI, 'credentials', ...args, '--endpoint', emu.endpoint, '--data', dataDir])).stdout.toString('utf8');
  const env: NodeJS.ProcessEnv = { ...process.env, AWS_REGION: 'us-east-1', AWS_ENDPOINT_URL_ECR_PUBLIC: emu.endpoint };
  delete env.AWS_SESSION_TOKEN;
  for (const line of out.split('\n')) {
    const m = /^export (AWS_[A-Z_]+)='(.*)'$/.exec(line);
    if (m) env[m[1]] = m[2].replace(/'\\''/g, "'");
  }
  expect(env.AWS_ACCESS_KEY_ID).toMatch(/^A[SK]IA/);
  return env;
}

async function aws(env: NodeJS.ProcessEnv, args: string[]): Promise<string> {
  return (await run('aws', ['ecr-public', ...args, '--endpoint-url', emu.endpoint, '--region', 'us-east-1', '--output', 'json'], { env })).stdout.toString('utf8');
}

/** Pushes the test image to `repository` as the principal of `env`, with the password the AWS CLI gets for it. */
async function push(env: NodeJS.ProcessEnv, repository: string): Promise<void> {
  const password = (await aws(env, ['get-login-password'])).trim();
  await skopeoCopy(`oci:${layout}:v1`, `docker://${emu.host}/${alias}/${repository}:pushed`, ['--dest-creds', `AWS:${password}`]);
}

/** The stderr of a run that must fail. */
const failure = (work: Promise<unknown>): Promise<string> => toolFailure(work);

test('grantPush: the CI role gets a login password and pushes to its repository, and to no other', async () => {
  const env = await credentialsEnv([assemblyDir, 'GrantStack/Pusher']);
  expect(env.AWS_SESSION_TOKEN).toBeDefined();
  await push(env, 'grants/web');
  expect(await failure(push(env, 'grants/other'))).toMatch(/denied|403/i);
}, 120_000);

test('grantRead: the role describes the repository and its images, and cannot push', async () => {
  const env = await credentialsEnv([assemblyDir, 'GrantStack/Reader/']);
  expect(JSON.parse(await aws(env, ['describe-repositories', '--repository-names', 'grants/web'])).repositories[0].repositoryName).toBe('grants/web');
  expect(await failure(aws(env, ['describe-repositories', '--repository-names', 'grants/other'])))
    .toMatch(/AccessDeniedException.*is not authorized to perform: ecr-public:DescribeRepositories on resource: arn:aws:ecr-public::\d{12}:repository\/grants\/other/s);
  // No login password: pushing needs GetAuthorizationToken, which grantRead does not give.
  expect(await failure(aws(env, ['get-login-password']))).toMatch(/AccessDeniedException.*ecr-public:GetAuthorizationToken/s);
}, 120_000);

test('a partner account granted in the repository policy pushes as its root; an account not granted does not', async () => {
  await push(await credentialsEnv(['--account', PARTNER]), 'grants/web');
  const stranger = await credentialsEnv(['--account', STRANGER]);
  expect(await failure(push(stranger, 'grants/web'))).toMatch(/denied|403/i);
}, 120_000);

test('credentials names what it cannot give: a construct that is no principal, an emulator without IAM', async () => {
  expect(await failure(credentialsEnv([assemblyDir, 'GrantStack/Web']))).toMatch(/'GrantStack\/Web' holds Custom::EcrPublicRepository, and no role or user/);
  const { emu: open } = await startInProcess({}, { maxAttempts: 1 });
  try {
    const out = await failure(run(process.execPath, [EMULATOR_CLI, 'credentials', '--account', PARTNER, '--endpoint', open.endpoint]));
    expect(out).toMatch(/does not evaluate IAM/);
  } finally {
    await open.stop();
  }
}, 60_000);
