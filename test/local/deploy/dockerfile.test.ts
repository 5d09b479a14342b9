/**
 * Images built from Dockerfiles, deployed offline end to end: `deployApp` builds each Docker image asset for real with
 * buildah (a multi-stage build from a busybox base image made here, with a build argument, a `.dockerignore` and a
 * target stage; and a `FROM scratch` build for another platform), publishes it into the emulator's stand-in for the
 * bootstrap's ECR repository, and the bundled image handler copies it from there into the public repository as on
 * AWS. Each published image is pulled back with skopeo and its files and config compared with its build context.
 * Two builds serve every assertion; a third one fails on purpose.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { DescribeRepositoriesCommand, ECRPUBLICClient } from '@aws-sdk/client-ecr-public';
import { App, Stack } from 'aws-cdk-lib';
import { DockerImageAsset, Platform } from 'aws-cdk-lib/aws-ecr-assets';
import * as ts from 'typescript';
import { deployApp, DeployResult, LocalDeployOptions, RunningEmulator, startEmulator } from '../../../local';
import { ENGINES_LOOKED_FOR } from '../../../local/deploy/image-assets/container-engine';
import { ImageSource, PublicImage, PublicRepository } from '../../../src';
import { buildBusyboxImage } from '../../support/busybox-image';
import { ecrPublicClient, primaryRegistryAlias } from '../../support/emulator-harness';
import { readOciLayout } from '../../support/oci-layout';
import { errorName } from '../../support/rejections';
import { run } from '../../support/run-tool';
import { skopeoCopy, skopeoRawDigest } from '../../support/skopeo';
import { makeLowercaseTempDir, makeTempDir, removeTempDir } from '../../support/temp-dirs';

const ROOT = path.resolve(__dirname, '..', '..', '..');
const REPO = 'dockerfile/app';
const STAND_IN = 'cdk-hnb659fds-container-assets-123456789012-us-east-1';

let tmp: string;
let dataDir: string;
let emu: RunningEmulator;
let client: ECRPUBLICClient;
let alias: string;
let multiDir: string;
let armDir: string;
let first: DeployResult;
const firstLines: string[] = [];

/** Writes `files` (path to content) under `dir`. */
function writeContext(dir: string, files: Record<string, string>): string {
  for (const [name, content] of Object.entries(files)) {
    fs.mkdirSync(path.dirname(path.join(dir, name)), { recursive: true });
    fs.writeFileSync(path.join(dir, name), content);
  }
  return dir;
}

function synth(outdir: string, stackName: string, build: (stack: Stack) => void): string {
  const app = new App({ outdir });
  build(new Stack(app, stackName));
  app.synth();
  return outdir;
}

/** The image `tag` of a public repository, pulled with skopeo and unpacked: its files, and its config. */
async function pullPublished(tag: string, repository = REPO): Promise<{ files: Map<string, string>; config: any; digest: string }> {
  const layout = path.join(makeTempDir('dockerfile-pulled-'), 'layout');
  await skopeoCopy(`docker://${emu.host}/${alias}/${repository}:${tag}`, `oci:${layout}:${tag}`);
  const image = readOciLayout(layout, tag);
  const manifest = image.root.json as { config: { digest: string }; layers: Array<{ digest: string }> };
  const blob = (digest: string) => image.blobs.find((b) => b.digest === digest)!.path;
  const rootfs = path.join(layout, '..', 'rootfs');
  fs.mkdirSync(rootfs);
  for (const layer of manifest.layers) await run('tar', ['-xzf', blob(layer.digest), '-C', rootfs]);
  const files = new Map<string, string>();
  const walk = (dir: string): void => {
    for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
      const full = path.join(dir, entry.name);
      if (entry.isDirectory()) walk(full);
      else if (entry.isFile()) files.set(`/${path.relative(rootfs, full)}`, fs.readFileSync(full, 'utf8'));
    }
  };
  walk(rootfs);
  return { files, config: JSON.parse(fs.readFileSync(blob(manifest.config.digest), 'utf8')), digest: image.root.digest };
}

/** `deployApp` against the test's emulator, with the deployment state in `dataDir`. */
function deploy(options: Omit<LocalDeployOptions, 'dataDir' | 'endpoint'>): Promise<DeployResult> {
  return deployApp({ ...options, dataDir, endpoint: emu.endpoint });
}

/** Runs `fn` with `PATH` holding no container engine and `CDK_DOCKER` as given. */
async function withEnvironment<T>(vars: Record<string, string | undefined>, fn: () => Promise<T>): Promise<T> {
  const saved = Object.fromEntries(Object.keys(vars).map((k) => [k, process.env[k]]));
  for (const [k, v] of Object.entries(vars)) if (v === undefined) delete process.env[k]; else process.env[k] = v;
  try {
    return await fn();
  } finally {
    for (const [k, v] of Object.entries(saved)) if (v === undefined) delete process.env[k]; else process.env[k] = v;
  }
}

beforeAll(async () => {
  if (!fs.existsSync(path.join(ROOT, 'assets', 'image-publisher', 'index.js'))) {
    throw new Error('assets/image-publisher/index.js is missing: run `npx projen bundle` first');
  }
  tmp = makeTempDir('local-deploy-dockerfile-');
  const base = await buildBusyboxImage(path.join(makeLowercaseTempDir('busybox-base-'), 'layout'), '1');
  multiDir = writeContext(path.join(tmp, 'multi'), {
    'Dockerfile': [
      `FROM ${base} AS base`,
      'ARG VERSION=0',
      'RUN echo "built $VERSION" > /built.txt',
      'FROM scratch AS release',
      'COPY --from=base /built.txt /built.txt',
      'COPY app/ /app/',
      'CMD ["/app/run"]',
      'FROM release AS debug',
      'COPY debug.txt /debug.txt',
      '',
    ].join('\n'),
    '.dockerignore': 'app/secret.txt\n',
    'app/a.txt': 'alpha\n',
    'app/sub/b.txt': 'beta\n',
    'app/secret.txt': 'never published\n',
    'debug.txt': 'debug stage only\n',
  });
  armDir = writeContext(path.join(tmp, 'arm'), { 'Dockerfile': 'FROM scratch\nCOPY hello.txt /hello.txt\n', 'hello.txt': 'hello arm\n' });
  const assemblyDir = synth(path.join(tmp, 'cdk.out'), 'DockerfileStack', (stack) => {
    const repository = new PublicRepository(stack, 'Repo', { repositoryName: REPO });
    new PublicImage(stack, 'Multi', {
      repository,
      source: ImageSource.fromDirectory(multiDir, { buildArgs: { VERSION: '7' }, target: 'release' }),
      tags: ['7'],
    });
    const arm = new DockerImageAsset(stack, 'Arm', { directory: armDir, platform: Platform.LINUX_ARM64 });
    new PublicImage(stack, 'ArmImage', { repository, source: ImageSource.fromDockerImageAsset(arm), tags: ['arm'] });
  });
  // `serve` in memory and `deploy --endpoint`: the deployer reaches the stand-ins through the registry API only.
  dataDir = path.join(tmp, 'data');
  emu = await startEmulator({ iam: {} });
  client = ecrPublicClient(emu.endpoint);
  first = await deploy({ assemblyDir, verbose: true, log: (l) => firstLines.push(l) });
  alias = await primaryRegistryAlias(client);
}, 180_000);

afterAll(async () => {
  client?.destroy();
  await emu?.stop();
  removeTempDir(tmp);
});

test('a multi-stage build with a build argument, a .dockerignore and a target stage is published as built', async () => {
  const published = first.resources.find((r) => r.logicalId.startsWith('Multi') && r.type === 'Custom::EcrPublicImage')!;
  expect(published.action).toBe('created');
  const { files, config, digest } = await pullPublished('7');
  // The context's files under app/, but the one .dockerignore leaves out; the argument reached RUN; the target stage
  // ends the build, so the debug stage after it is not in the image.
  expect(Object.fromEntries(files)).toEqual({
    '/built.txt': 'built 7\n',
    '/app/a.txt': fs.readFileSync(path.join(multiDir, 'app/a.txt'), 'utf8'),
    '/app/sub/b.txt': fs.readFileSync(path.join(multiDir, 'app/sub/b.txt'), 'utf8'),
  });
  expect(config).toMatchObject({ architecture: 'amd64', os: 'linux', config: { Cmd: ['/app/run'] } });
  // The handler copied the stand-in's image as it is: the same manifest digest.
  const asset = first.resources.find((r) => r.logicalId.startsWith('Multi'))!;
  expect(asset.data.ImageDigest).toBe(digest);
  const standIn = path.join(emu.root, 'private-ecr', STAND_IN);
  const index = JSON.parse(fs.readFileSync(path.join(standIn, 'index.json'), 'utf8')) as { manifests: Array<{ digest: string; annotations: Record<string, string> }> };
  const entry = index.manifests.find((m) => m.digest === digest)!;
  expect(await skopeoRawDigest(`oci:${standIn}:${entry.annotations['org.opencontainers.image.ref.name']}`)).toBe(digest);
});

test('a FROM scratch build for another platform is published with that platform', async () => {
  const { files, config } = await pullPublished('arm');
  expect(Object.fromEntries(files)).toEqual({ '/hello.txt': fs.readFileSync(path.join(armDir, 'hello.txt'), 'utf8') });
  expect(config).toMatchObject({ architecture: 'arm64', os: 'linux' });
});

test('the build streams under --verbose, naming the engine', () => {
  expect(firstLines.some((l) => /^image +\S+ +building with buildah from /.test(l))).toBe(true);
  expect(firstLines).toContainEqual(expect.stringMatching(/^ {4}\| .*STEP .*RUN echo "built \$VERSION" > \/built\.txt/));
  expect(firstLines.filter((l) => /^image +\S+ +published to cdk-hnb659fds-container-assets-123456789012-us-east-1:[0-9a-f]{64}$/.test(l))).toHaveLength(2);
});

test('a second deploy builds nothing: both tags are in the stand-in, so no engine is even looked for', async () => {
  const lines: string[] = [];
  const again = await withEnvironment({ CDK_DOCKER: '/nonexistent/engine' }, () =>
    deploy({ assemblyDir: path.join(tmp, 'cdk.out'), log: (l) => lines.push(l) }));
  expect(lines.filter((l) => l.includes('is published already (not built again)'))).toHaveLength(2);
  expect(again.resources.map((r) => r.action)).toEqual(['unchanged', 'unchanged', 'unchanged']);
});

test('without an engine the deploy stops before creating anything, naming the engines looked for and how to install one', async () => {
  const emptyPath = makeTempDir('no-engines-');
  const changed = writeContext(path.join(tmp, 'never'), { Dockerfile: 'FROM scratch\nCOPY x /x\n', x: 'never built\n' });
  const assemblyDir = synth(path.join(tmp, 'cdk.out.never'), 'NeverStack', (stack) => {
    const repository = new PublicRepository(stack, 'Repo', { repositoryName: 'dockerfile/never' });
    new PublicImage(stack, 'Image', { repository, source: ImageSource.fromDirectory(changed) });
  });
  const err = await withEnvironment({ PATH: emptyPath, CDK_DOCKER: undefined }, () =>
    deploy({ assemblyDir, log: () => undefined }).then(() => undefined, (e: unknown) => e as Error));
  expect(err?.message).toContain(`none was found (looked for ${ENGINES_LOOKED_FOR})`);
  expect(err?.message).toContain('`apt-get install buildah`');
  expect(await errorName(client.send(new DescribeRepositoriesCommand({ repositoryNames: ['dockerfile/never'] })))).toBe('RepositoryNotFoundException');
  expect(fs.existsSync(path.join(dataDir, 'deployments', 'NeverStack.json'))).toBe(false);
});

test('a failed build stops the deploy, naming the engine and quoting the build output', async () => {
  const broken = writeContext(path.join(tmp, 'broken'), { 'Dockerfile': 'FROM scratch\nCOPY missing.txt /missing.txt\n', 'present.txt': 'x\n' });
  const assemblyDir = synth(path.join(tmp, 'cdk.out.broken'), 'BrokenStack', (stack) => {
    const repository = new PublicRepository(stack, 'Repo', { repositoryName: 'dockerfile/broken' });
    new PublicImage(stack, 'Image', { repository, source: ImageSource.fromDirectory(broken) });
  });
  const err = await deploy({ assemblyDir, log: () => undefined }).then(() => undefined, (e: unknown) => e as Error);
  expect(err?.message).toMatch(/^buildah failed to build the image asset [0-9a-f]{64} \('buildah' exited with code \d+\); its last lines:\n/);
  expect(err?.message).toContain('missing.txt');
  expect(await errorName(client.send(new DescribeRepositoriesCommand({ repositoryNames: ['dockerfile/broken'] })))).toBe('RepositoryNotFoundException');
});

/** The TypeScript and the Dockerfile of the README's section on Dockerfile images. */
function readmeExample(): { code: string; dockerfile: string } {
  const readme = fs.readFileSync(path.join(ROOT, 'README.md'), 'utf8');
  const section = /^### Images built from a Dockerfile\n([\s\S]*?)^#{2,3} /m.exec(readme)?.[1] ?? '';
  return { code: /^```ts\n([\s\S]*?)^```/m.exec(section)?.[1] ?? '', dockerfile: /^```dockerfile\n([\s\S]*?)^```/m.exec(section)?.[1] ?? '' };
}

test("the README's Dockerfile example deploys offline as written", async () => {
  const { code, dockerfile } = readmeExample();
  // What the block imports and declares is what it is given here, so that it runs as a user's stack would run it.
  const imports = [...code.matchAll(/^import \{ ([^}]+) \} from '([^']+)';$/gm)].map((m) => [m[2], m[1].split(',').map((n) => n.trim())]);
  expect(imports).toEqual([['aws-cdk-lib/aws-ecr-assets', ['DockerImageAsset', 'Platform']], ['cdk-ecr-public', ['ImageSource', 'PublicImage', 'PublicRepository']]]);
  expect(code).toContain('declare const repo: PublicRepository;');
  const body = ts.transpileModule(code.replace(/^(import|declare) .*$/gm, ''), { compilerOptions: { target: ts.ScriptTarget.ES2020 } }).outputText;
  const project = writeContext(path.join(tmp, 'readme-project'), { 'app/Dockerfile': dockerfile, 'app/index.html': '<h1>Hello</h1>\n' });
  const cwd = process.cwd();
  process.chdir(project);
  let assemblyDir: string;
  try {
    assemblyDir = synth(path.join(project, 'cdk.out'), 'ReadmeStack', (stack) => {
      const repo = new PublicRepository(stack, 'Repo', { repositoryName: 'readme/web' });
      // The README's block, as the body of the stack's constructor (`this` is the stack).
      // eslint-disable-next-line @typescript-eslint/no-implied-eval
      new Function('DockerImageAsset', 'Platform', 'ImageSource', 'PublicImage', 'repo', body)
        .call(stack, DockerImageAsset, Platform, ImageSource, PublicImage, repo);
    });
  } finally {
    process.chdir(cwd);
  }
  const result = await deploy({ assemblyDir, log: () => undefined });
  expect(result.resources.filter((r) => r.type === 'Custom::EcrPublicImage').map((r) => [r.logicalId.replace(/[0-9A-F]{8}$/, ''), r.action]))
    .toEqual([['Web', 'created'], ['FromAsset', 'created']]);
  const web = await pullPublished('1.4.2', 'readme/web');
  expect(Object.fromEntries(web.files)).toEqual({ '/srv/index.html': '<h1>Hello</h1>\n' });
  expect(web.config).toMatchObject({ architecture: 'arm64', config: { Labels: { 'org.opencontainers.image.version': '1.4.2' } } });
  const asset = await pullPublished('x', 'readme/web');
  expect(asset.config).toMatchObject({ architecture: 'amd64', config: { Labels: { 'org.opencontainers.image.version': '0.0.0' } } });
});
