/**
 * What a user of the local deployer meets with the emulator's README setup: its environment exported (the endpoints
 * of ECR Public and S3 pointing at a running emulator), an app with a logo, catalog texts, an image and lifecycle
 * rules deploys and sweeps; `deploy` prints the stack's outputs and writes them to `outputsFile` as `cdk deploy
 * --outputs-file` does; `destroy` says `retained` for the images it keeps; `sweep --verbose` prints each line once.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { DescribeImagesCommand, ECRPUBLICClient, GetRepositoryCatalogDataCommand } from '@aws-sdk/client-ecr-public';
import { App, CfnOutput, Duration, RemovalPolicy, Stack } from 'aws-cdk-lib';
import { deployApp, destroyApp, LocalDeployError, RunningEmulator, startEmulator, sweepApp } from '../../../local';
import { CatalogText, ImageSource, Logo, PublicImage, PublicRepository, TagStatus } from '../../../src';

const ROOT = path.resolve(__dirname, '..', '..', '..');
const ASSETS = path.join(ROOT, 'examples', 'assets');

let tmp: string;
let emu: RunningEmulator;
let client: ECRPUBLICClient;

/** Runs `work` with the README's "Running it" environment exported. */
async function withReadmeEnvironment<T>(work: () => Promise<T>): Promise<T> {
  const env: Record<string, string> = {
    AWS_ENDPOINT_URL_ECR_PUBLIC: emu.endpoint, AWS_ENDPOINT_URL_S3: emu.endpoint, AWS_REGION: 'us-east-1', AWS_ACCESS_KEY_ID: 'local', AWS_SECRET_ACCESS_KEY: 'local',
  };
  const saved = Object.fromEntries(Object.keys(env).map((k) => [k, process.env[k]]));
  Object.assign(process.env, env);
  try {
    return await work();
  } finally {
    for (const [k, v] of Object.entries(saved)) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
  }
}

beforeAll(async () => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'local-deploy-readme-'));
  // As the README starts it: `serve --iam`, whose root key pair the README's environment exports.
  emu = await startEmulator({ dataDir: path.join(tmp, 'emulator'), iam: {} });
  client = new ECRPUBLICClient({ region: 'us-east-1', endpoint: emu.endpoint, credentials: { accessKeyId: 'local', secretAccessKey: 'local' }, maxAttempts: 1 });
});

afterAll(async () => {
  client?.destroy();
  await emu?.stop();
  fs.rmSync(tmp, { recursive: true, force: true });
});

function synth(outdir: string, repositoryName: string): string {
  const app = new App({ outdir });
  const stack = new Stack(app, 'ReadmeStack');
  const repo = new PublicRepository(stack, 'Web', {
    repositoryName,
    removalPolicy: RemovalPolicy.DESTROY,
    logo: Logo.fromFile(path.join(ASSETS, 'logo.png')),
    aboutText: CatalogText.fromFile(path.join(ASSETS, 'ABOUT.md')),
    lifecycleRules: [{ tagStatus: TagStatus.UNTAGGED, maxImageAge: Duration.days(1) }],
  });
  // removalPolicy RETAIN, the default: destroy keeps the image.
  const image = new PublicImage(stack, 'Image', { repository: repo, source: ImageSource.fromTarball(path.join(ASSETS, 'hello-image.tar')), tags: ['1.0'] });
  new CfnOutput(stack, 'RepositoryUri', { value: repo.repositoryUri });
  new CfnOutput(stack, 'ImageUri', { value: image.imageUri });
  app.synth();
  return outdir;
}

test("with the README's environment exported, deploy and sweep read the assembly's assets from the deployer", async () => {
  const assemblyDir = synth(path.join(tmp, 'cdk.out.env'), 'readme/env');
  const lines: string[] = [];
  const log = (l: string) => lines.push(l);
  // No endpoint option: the deployer takes AWS_ENDPOINT_URL_ECR_PUBLIC, as the README says.
  const deployed = await withReadmeEnvironment(() => deployApp({ assemblyDir, dataDir: path.join(tmp, 'data-env'), log }));
  expect(deployed.endpoint).toBe(emu.endpoint);
  expect(deployed.resources.map((r) => [r.type, r.action])).toEqual(expect.arrayContaining([
    ['Custom::EcrPublicRepository', 'created'], ['Custom::EcrPublicImage', 'created'], ['Custom::EcrPublicLifecycleSweep', 'created'],
  ]));
  expect(lines.filter((l) => /warning/i.test(l))).toEqual([]);
  const catalog = (await client.send(new GetRepositoryCatalogDataCommand({ repositoryName: 'readme/env' }))).catalogData!;
  expect(catalog.logoUrl).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/logo\/[0-9a-f-]+\.png$/);
  expect(catalog.aboutText).toBe(fs.readFileSync(path.join(ASSETS, 'ABOUT.md'), 'utf8'));

  const swept = await withReadmeEnvironment(() => sweepApp({ assemblyDir, dataDir: path.join(tmp, 'data-env'), log }));
  expect(swept.map((s) => s.repositories.map((r) => r.repository))).toEqual([['readme/env']]);
});

test('deploy prints the outputs and writes them to outputsFile; destroy says retained for the image it keeps', async () => {
  const assemblyDir = synth(path.join(tmp, 'cdk.out.outputs'), 'readme/outputs');
  const dataDir = path.join(tmp, 'data-outputs');
  const outputsFile = path.join(tmp, 'outputs', 'outputs.json');
  const lines: string[] = [];
  const deployed = await deployApp({ assemblyDir, dataDir, endpoint: emu.endpoint, outputsFile, log: (l) => lines.push(l) });
  const repository = deployed.resources.find((r) => r.type === 'Custom::EcrPublicRepository')!;
  const image = deployed.resources.find((r) => r.type === 'Custom::EcrPublicImage')!;
  const outputs = { RepositoryUri: repository.data.RepositoryUri, ImageUri: image.data.ImageUri };
  expect(outputs.ImageUri).toMatch(/\/readme\/outputs@sha256:[0-9a-f]{64}$/);
  expect(JSON.parse(fs.readFileSync(outputsFile, 'utf8'))).toEqual({ ReadmeStack: outputs });
  const printed = lines.slice(lines.indexOf('  Outputs:'));
  expect(printed).toEqual(['  Outputs:', `  ReadmeStack.RepositoryUri = ${outputs.RepositoryUri}`, `  ReadmeStack.ImageUri = ${outputs.ImageUri}`]);

  // The image is kept (RETAIN), so the repository, without emptyOnDelete, cannot be deleted: the summary says so.
  lines.length = 0;
  let failure: unknown;
  await destroyApp({ assemblyDir, dataDir, endpoint: emu.endpoint, log: (l) => lines.push(l) }).catch((err) => failure = err);
  expect(failure).toBeInstanceOf(LocalDeployError);
  expect((failure as LocalDeployError).reason).toMatch(/^RepositoryNotEmptyException: /);
  const done = (failure as LocalDeployError).result.resources.map((r) => [r.type, r.action]);
  expect(done).toContainEqual(['Custom::EcrPublicImage', 'retained']);
  expect(done).not.toContainEqual(['Custom::EcrPublicImage', 'deleted']);
  expect(lines).toContain('             removalPolicy RETAIN (the default): the image stays in its repository: left in place in the emulator and no longer managed by this stack');
  expect((await client.send(new DescribeImagesCommand({ repositoryName: 'readme/outputs' }))).imageDetails).toHaveLength(1);
});

test('sweep --verbose prints each of the sweeper\'s log lines once', async () => {
  const assemblyDir = synth(path.join(tmp, 'cdk.out.verbose'), 'readme/verbose');
  const dataDir = path.join(tmp, 'data-verbose');
  await deployApp({ assemblyDir, dataDir, endpoint: emu.endpoint, log: () => undefined });
  const lines: string[] = [];
  await sweepApp({ assemblyDir, dataDir, endpoint: emu.endpoint, verbose: true, log: (l) => lines.push(l) });
  const handlerLines = lines.filter((l) => l.startsWith('    | '));
  expect(handlerLines.some((l) => l.includes('"lifecycleSweep"'))).toBe(true);
  const counts = new Map<string, number>();
  for (const l of handlerLines) counts.set(l, (counts.get(l) ?? 0) + 1);
  expect([...counts].filter(([, n]) => n > 1)).toEqual([]);
});
