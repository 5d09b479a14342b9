/**
 * `ecr-public-local sweep` and the deploy-time sweep through the local deployer: an app with lifecycle rules is
 * deployed to the emulator (its sweep resource runs the shipped handler), images are pushed with the SDK, and the
 * app's sweeper runs with a later "now", as a dry run and for real, in-process and as the `ecr-public-local` process.
 */
import { execFile } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { DescribeImagesCommand, ECRPUBLICClient, PutImageCommand } from '@aws-sdk/client-ecr-public';
import { App, Duration, RemovalPolicy, Stack } from 'aws-cdk-lib';
import { deployApp, RunningEmulator, sweepApp } from '../../local';
import { ImageSource, LifecycleMode, PublicImage, PublicRepository, TagStatus } from '../../src';
import { OCI_MANIFEST } from '../../src/shared/oci/media-types';
import { pushOciLayout } from '../support/ecr-push';
import { startInProcess } from '../support/emulator-harness';
import { readOciLayout } from '../support/oci-layout';
import { makeTempDir } from '../support/temp-dirs';
import { buildImage } from '../support/umoci-images';

const ROOT = path.resolve(__dirname, '..', '..');
const CLI = path.join(ROOT, 'lib', 'local', 'cli.js');
const DAY = 24 * 60 * 60 * 1000;

let tmp: string;
let emu: RunningEmulator;
let client: ECRPUBLICClient;
let layout: string;
const lines: string[] = [];
const log = (line: string) => lines.push(line);

beforeAll(async () => {
  tmp = makeTempDir('local-sweep-');
  ({ emu, client } = await startInProcess({ iam: {} }, { maxAttempts: 1 }));
  layout = path.join(tmp, 'layout');
  await buildImage(layout, { tag: 'base', files: { 'hello.txt': 'hello\n' } });
});

afterAll(async () => {
  client?.destroy();
  await emu?.stop();
  fs.rmSync(tmp, { recursive: true, force: true });
});

function synth(outdir: string, mode: LifecycleMode): string {
  const app = new App({ outdir });
  const stack = new Stack(app, 'SweptStack');
  new PublicRepository(stack, 'Web', {
    repositoryName: 'acme/swept',
    removalPolicy: RemovalPolicy.DESTROY,
    emptyOnDelete: true,
    lifecycleMode: mode,
    lifecycleRules: [
      { tagStatus: TagStatus.UNTAGGED, maxImageAge: Duration.days(1) },
      { tagPatternList: ['pr-*'], maxImageCount: 1 },
    ],
  });
  new PublicRepository(stack, 'Plain', { repositoryName: 'acme/unswept', removalPolicy: RemovalPolicy.DESTROY, emptyOnDelete: true });
  app.synth();
  return outdir;
}

async function imageCount(name: string): Promise<number> {
  return (await client.send(new DescribeImagesCommand({ repositoryName: name }))).imageDetails?.length ?? 0;
}

test('deploy runs the sweep resource; sweep --now expires by age, --dry-run only reports, the CLI prints the summary', async () => {
  const assembly = synth(path.join(tmp, 'cdk.out'), LifecycleMode.EXPIRE);
  const dataDir = path.join(tmp, 'data');
  const deployed = await deployApp({ assemblyDir: assembly, endpoint: emu.endpoint, dataDir, log });
  const sweep = deployed.resources.find((r) => r.type === 'Custom::EcrPublicLifecycleSweep');
  expect(sweep).toMatchObject({ action: 'created', data: { ExpiredImages: '0', SweptRepositories: '1', Complete: 'true' } });
  expect(lines.some((l) => /created .*Custom::EcrPublicLifecycleSweep {2}lifecycle-sweep {2}ExpiredImages=0 {2}WouldExpireImages=0$/.test(l))).toBe(true);

  // Three untagged images, and three pr- images (the newest kept), in both repositories.
  const manifest = readOciLayout(layout, 'base').root.json;
  for (const repo of ['acme/swept', 'acme/unswept']) {
    await pushOciLayout(client, repo, layout, { tag: 'stable', layoutTag: 'base' });
    for (let i = 0; i < 6; i++) {
      const text = JSON.stringify({ ...manifest, annotations: { n: String(i) } });
      await client.send(new PutImageCommand({ repositoryName: repo, imageManifest: text, imageManifestMediaType: OCI_MANIFEST, imageTag: i < 3 ? undefined : `pr-${i}` }));
    }
  }
  expect(await imageCount('acme/swept')).toBe(7);

  // Today: the untagged images are not a day old; the pr- rule keeps one of three.
  const dry = await sweepApp({ assemblyDir: assembly, endpoint: emu.endpoint, dataDir, dryRun: true, log });
  expect(dry[0].repositories[0]).toMatchObject({ repository: 'acme/swept', dryRun: true, expired: 2, byRule: { 2: 2 } });
  expect(await imageCount('acme/swept')).toBe(7);

  // Two days on: the untagged ones expire as well.
  const later = new Date(Date.now() + 2 * DAY).toISOString();
  const swept = await sweepApp({ assemblyDir: assembly, endpoint: emu.endpoint, dataDir, now: later, log });
  expect(swept[0].repositories[0]).toMatchObject({ expired: 5, kept: 2, byRule: { 1: 3, 2: 2 } });
  expect(await imageCount('acme/swept')).toBe(2);
  expect(await imageCount('acme/unswept')).toBe(7);

  // The same through the bin: nothing left to expire, and the summary line says so.
  const out = await new Promise<{ code: number; stdout: string; stderr: string }>((resolve) => {
    execFile(process.execPath, [CLI, 'sweep', assembly, '--endpoint', emu.endpoint, '--data', dataDir, '--now', later, '--dry-run'],
      { cwd: tmp, timeout: 60_000 }, (err, stdout, stderr) => resolve({ code: err ? Number((err as any).code ?? -1) : 0, stdout, stderr }));
  });
  expect(out.stderr).toBe('');
  expect(out.code).toBe(0);
  expect(out.stdout).toMatch(/acme\/swept: 2 images, would expire 0, kept 2/);
});

test('sweep refuses a --now that is not an ISO 8601 time, and says when an app has no rules', async () => {
  const assembly = synth(path.join(tmp, 'cdk.out-2'), LifecycleMode.DRY_RUN);
  await expect(sweepApp({ assemblyDir: assembly, endpoint: emu.endpoint, dataDir: path.join(tmp, 'data-2'), now: 'tomorrow', log }))
    .rejects.toThrow(/--now must be an ISO 8601 time/);
  const app = new App({ outdir: path.join(tmp, 'cdk.out-3') });
  new PublicRepository(new Stack(app, 'Bare'), 'R', { repositoryName: 'acme/bare' });
  app.synth();
  const result = await sweepApp({ assemblyDir: path.join(tmp, 'cdk.out-3'), endpoint: emu.endpoint, dataDir: path.join(tmp, 'data-3'), log });
  expect(result).toEqual([]);
  expect(lines).toContain('Bare: no repository with lifecycle rules');
});

test('an image another stack publishes through an imported repository is protected by its tag: "keep 1" spares it', async () => {
  const outdir = path.join(tmp, 'cdk.out-shared');
  const app = new App({ outdir });
  const owner = new Stack(app, 'SharedRepoStack');
  new PublicRepository(owner, 'Shared', {
    repositoryName: 'acme/shared',
    removalPolicy: RemovalPolicy.DESTROY,
    emptyOnDelete: true,
    lifecycleRules: [{ maxImageCount: 1 }],
  });
  const publisher = new Stack(app, 'PublisherStack');
  publisher.addDependency(owner);
  new PublicImage(publisher, 'Stable', {
    repository: PublicRepository.fromRepositoryName(publisher, 'Imported', 'acme/shared'),
    source: ImageSource.fromOciLayout(layout, { ref: 'base' }),
    tags: ['stable'],
  });
  app.synth();
  const dataDir = path.join(tmp, 'data-shared');
  await deployApp({ assemblyDir: outdir, endpoint: emu.endpoint, dataDir, log });
  const stable = (await client.send(new DescribeImagesCommand({ repositoryName: 'acme/shared', imageIds: [{ imageTag: 'stable' }] }))).imageDetails![0];

  // Newer images pushed later: "keep 1" keeps the newest, and would expire the other stack's `stable`.
  const manifest = readOciLayout(layout, 'base').root.json;
  for (let i = 0; i < 2; i++) {
    const text = JSON.stringify({ ...manifest, annotations: { n: String(i) } });
    await client.send(new PutImageCommand({ repositoryName: 'acme/shared', imageManifest: text, imageManifestMediaType: OCI_MANIFEST, imageTag: `build-${i}` }));
  }
  const swept = await sweepApp({ assemblyDir: outdir, endpoint: emu.endpoint, dataDir, now: new Date(Date.now() + DAY).toISOString(), log });
  expect(swept[0].repositories[0]).toMatchObject({ repository: 'acme/shared', expired: 1, keptProtected: [stable.imageDigest] });
  const left = (await client.send(new DescribeImagesCommand({ repositoryName: 'acme/shared' }))).imageDetails ?? [];
  expect(left.map((d) => d.imageDigest)).toContain(stable.imageDigest);
  expect(left.flatMap((d) => d.imageTags ?? []).sort()).toEqual(['build-1', 'stable']);
});
