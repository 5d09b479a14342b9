/**
 * `npm run bench`: publishing throughput, CPU and memory of both ways our publisher runs (the bundled handler in a
 * process of its own, and the `ecr-public-local deploy` command users run), side by side with skopeo in the same run;
 * the publisher and skopeo each on one core, as on Lambda; the emulator's own UploadLayerPart ingest rate; a publish
 * under ECR Public's rate quotas; CPU profiles of a deploy that publishes nothing and of each deploy that misses its
 * target; synth time. Writes BENCHMARKS.md. Needs skopeo, umoci, docker-registry and taskset (apt).
 */
import { createHash, randomBytes } from 'crypto';
import * as fs from 'fs';
import * as http from 'http';
import * as os from 'os';
import * as path from 'path';
import { CompleteLayerUploadCommand, CreateRepositoryCommand, ECRPUBLICClient, InitiateLayerUploadCommand } from '@aws-sdk/client-ecr-public';
import { App, Stack, aws_ecr as ecr } from 'aws-cdk-lib';
import { handOverSection } from './hand-over';
import { hostileSection } from './hostile';
import { OneCoreServers, publishOnOneCore, startOneCoreServers, stopOneCoreServers } from './one-core';
import { cpuOf, run, skopeoCopy, startEmulatorProcess } from './processes';
import { profiledDeploy, profiledNoOpDeploy } from './profiles';
import { BenchImage, deployWithCli, expectNothingChanged, HANDLER, publishWithHandler, synthApp } from './publishers';
import { CaseTargets, deployPaths, fmt, IngestRate, Measured, MiB, NoOpProfile, OursResult, report, Row, wallTargetMissed } from './report';
import { scaleSection } from './scale';
import { storeSection } from './store-writes';
import { PublicRepository } from '../src';
import { inspectImageArchive } from '../src/private/archive/inspect';
import { blobName } from '../src/shared/oci/digest';
import { OCI_CONFIG, OCI_LAYER_GZIP, OCI_LAYER_TAR, OCI_MANIFEST } from '../src/shared/oci/media-types';
import { startDockerRegistry } from '../test/support/docker-registry';
import {
  ecrPublicClient, EMULATOR_CLI, loginPassword, primaryRegistryAlias, ServedEmulator, stopServedEmulator,
} from '../test/support/emulator-harness';
import { LayoutDescriptor, REF_NAME } from '../test/support/oci-layout';

const ROOT = path.resolve(__dirname, '..');
/** BENCH_QUICK=1: every layer 16 times smaller, the report printed and not written (to try the benchmark itself). */
const QUICK = process.env.BENCH_QUICK === '1';
const sized = (bytes: number) => (QUICK ? bytes / 16 : bytes);

// ---------------------------------------------------------------------------------------------------------------
// Images

/** Writes a blob into an OCI layout from a generator of chunks, returning its descriptor. */
function writeBlob(layout: string, chunks: Iterable<Buffer>, mediaType: string): LayoutDescriptor {
  const tmp = path.join(layout, 'blobs', 'tmp');
  const fd = fs.openSync(tmp, 'w');
  const hash = createHash('sha256');
  let size = 0;
  for (const chunk of chunks) {
    fs.writeSync(fd, chunk);
    hash.update(chunk);
    size += chunk.length;
  }
  fs.closeSync(fd);
  const digest = `sha256:${hash.digest('hex')}`;
  fs.renameSync(tmp, path.join(layout, blobName(digest)));
  return { mediaType, digest, size };
}

function* randomChunks(bytes: number): Generator<Buffer> {
  for (let left = bytes; left > 0; left -= 8 * MiB) yield randomBytes(Math.min(8 * MiB, left));
}

/** Half random, half text: compresses to about half, as real uncompressed layers roughly do. */
function* compressibleChunks(bytes: number): Generator<Buffer> {
  const text = Buffer.from('usr/lib/node_modules/some-package/lib/index.js\n'.repeat(Math.ceil((4 * MiB) / 48))).subarray(0, 4 * MiB);
  for (let left = bytes, i = 0; left > 0; left -= 4 * MiB, i++) {
    const size = Math.min(4 * MiB, left);
    yield i % 2 === 0 ? randomBytes(size) : text.subarray(0, size);
  }
}

/** An OCI layout with layers of random bytes (incompressible, as real compressed layers are), or uncompressed ones. */
function randomLayout(dir: string, layerSizes: number[], uncompressed = false): string {
  const layout = path.join(dir, 'layout');
  fs.mkdirSync(path.join(layout, 'blobs', 'sha256'), { recursive: true });
  fs.writeFileSync(path.join(layout, 'oci-layout'), '{"imageLayoutVersion":"1.0.0"}');
  const layers = layerSizes.map((size) => (uncompressed
    ? writeBlob(layout, compressibleChunks(size), OCI_LAYER_TAR)
    : writeBlob(layout, randomChunks(size), OCI_LAYER_GZIP)));
  const config = writeBlob(layout, [Buffer.from(JSON.stringify({
    architecture: 'amd64', os: 'linux', rootfs: { type: 'layers', diff_ids: layers.map((l) => l.digest) },
  }))], OCI_CONFIG);
  const manifest = writeBlob(layout, [Buffer.from(JSON.stringify({
    schemaVersion: 2, mediaType: OCI_MANIFEST, config, layers,
  }))], OCI_MANIFEST);
  fs.writeFileSync(path.join(layout, 'index.json'), JSON.stringify({
    schemaVersion: 2, manifests: [{ ...manifest, annotations: { [REF_NAME]: 'bench' } }],
  }));
  return layout;
}

/** A real image: umoci layers made of the files of some installed packages. */
async function umociLayout(dir: string): Promise<string> {
  const layout = path.join(dir, 'layout');
  await run('umoci', ['init', '--layout', layout]);
  await run('umoci', ['new', '--image', `${layout}:bench`]);
  const sources = ['typescript/lib', 'aws-cdk-lib/aws-ec2', 'aws-cdk-lib/aws-lambda', '@aws-sdk/client-s3/dist-cjs', 'jsii/lib'];
  for (const [i, src] of sources.entries()) {
    const bundle = path.join(dir, `bundle-${i}`);
    await run('umoci', ['unpack', '--rootless', '--image', `${layout}:bench`, bundle]);
    fs.cpSync(path.join(ROOT, 'node_modules', src), path.join(bundle, 'rootfs', 'opt', `layer-${i}`), { recursive: true });
    await run('umoci', ['repack', '--refresh-bundle', '--image', `${layout}:bench`, bundle]);
    fs.rmSync(bundle, { recursive: true, force: true });
  }
  await run('umoci', ['config', '--image', `${layout}:bench`, '--architecture', 'amd64', '--os', 'linux']);
  return layout;
}

/** A docker-save archive (uncompressed layers) written by skopeo from an OCI layout, inside `dir`. */
async function dockerSave(dir: string, layout: string): Promise<BenchImage> {
  const archive = path.join(dir, 'docker-save.tar');
  await run('skopeo', ['copy', '--insecure-policy', `oci:${layout}:bench`, `docker-archive:${archive}:bench/image:latest`]);
  fs.rmSync(layout, { recursive: true, force: true });
  return { file: archive, skopeoSource: `docker-archive:${archive}` };
}

// ---------------------------------------------------------------------------------------------------------------
// The emulator alone

/**
 * UploadLayerPart into the emulator from prepared bodies (encoded before the clock starts), strictly in order, as
 * the API requires: layer bytes per second of the emulator's CPU (one core), and per second of wall time.
 */
async function emulatorIngest(emulator: ServedEmulator, client: ECRPUBLICClient, bytes: number): Promise<{ mbPerCpuSecond: number; mbPerSecond: number }> {
  const repositoryName = 'bench/ingest';
  await client.send(new CreateRepositoryCommand({ repositoryName }));
  const { uploadId, partSize } = await client.send(new InitiateLayerUploadCommand({ repositoryName }));
  const size = partSize ?? 10 * MiB;
  const layer = Buffer.concat([...randomChunks(bytes)]);
  const bodies: Buffer[] = [];
  for (let first = 0; first < bytes; first += size) {
    const last = Math.min(first + size, bytes) - 1;
    bodies.push(Buffer.from(JSON.stringify({
      repositoryName, uploadId, partFirstByte: first, partLastByte: last, layerPartBlob: layer.subarray(first, last + 1).toString('base64'),
    })));
  }
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  const day = new Date().toISOString().slice(0, 10).replace(/-/g, '');
  const cpuBefore = cpuOf(emulator.child.pid!);
  const started = process.hrtime.bigint();
  for (const body of bodies) {
    const status = await new Promise<number>((resolve, reject) => {
      const req = http.request(emulator.endpoint, {
        method: 'POST', agent,
        headers: {
          'Content-Type': 'application/x-amz-json-1.1', 'X-Amz-Target': 'SpencerFrontendService.UploadLayerPart', 'Content-Length': String(body.length),
          'Authorization': `AWS4-HMAC-SHA256 Credential=bench/${day}/us-east-1/ecr-public/aws4_request, SignedHeaders=host, Signature=0`,
        },
      }, (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode ?? 0));
      });
      req.on('error', reject);
      req.end(body);
    });
    if (status !== 200) throw new Error(`UploadLayerPart answered HTTP ${status}`);
  }
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  const cpu = cpuOf(emulator.child.pid!) - cpuBefore;
  agent.destroy();
  const digest = `sha256:${createHash('sha256').update(layer).digest('hex')}`;
  const done = await client.send(new CompleteLayerUploadCommand({ repositoryName, uploadId, layerDigests: [digest] }));
  if (done.layerDigest !== digest) throw new Error('the emulator stored another layer than the one sent');
  return { mbPerCpuSecond: bytes / 1e6 / cpu, mbPerSecond: bytes / 1e6 / seconds };
}

// ---------------------------------------------------------------------------------------------------------------
// Synth

function synthSeconds(count: number, kind: 'ours' | 'l1'): { seconds: number; functions: number } {
  const started = process.hrtime.bigint();
  const app = new App({ outdir: fs.mkdtempSync(path.join(os.tmpdir(), 'bench-synth-')) });
  const stack = new Stack(app, 'Bench');
  for (let i = 0; i < count; i++) {
    if (kind === 'ours') new PublicRepository(stack, `Repo${i}`, { repositoryName: `bench/repo-${i}` });
    else new ecr.CfnPublicRepository(stack, `Repo${i}`, { repositoryName: `bench/repo-${i}` });
  }
  const template = app.synth().getStackByName('Bench').template;
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  const functions = Object.values(template.Resources as Record<string, any>).filter((r) => r.Type === 'AWS::Lambda::Function').length;
  fs.rmSync(app.outdir, { recursive: true, force: true });
  return { seconds, functions };
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}


// ---------------------------------------------------------------------------------------------------------------

interface Case extends CaseTargets {
  readonly make: (dir: string) => Promise<BenchImage>;
  /** Also publish with CompressLayers false (the harness and the `deploy` command), against the same skopeo copy. */
  readonly alsoUncompressed?: boolean;
  /** Against the emulator enforcing the rate quotas. */
  readonly underQuotas?: boolean;
  /** Also published on one core, as in a Lambda function of 1,769 MB, beside skopeo on one core. */
  readonly oneCore?: boolean;
  /** Deploy a third time, nothing changed, profiled: where a deploy that publishes nothing spends its time. */
  readonly profileNoOp?: boolean;
}

const layoutImage = (make: (dir: string) => string | Promise<string>) => async (dir: string): Promise<BenchImage> => {
  const layout = await make(dir);
  return { file: layout, skopeoSource: `oci:${layout}:bench` };
};

/** An emulator and its client. */
interface Target { readonly emulator: ServedEmulator; readonly client: ECRPUBLICClient }

/** Where the cases run: the work directory, the bucket, the anchor registry, the emulator's registry password, the one-core servers. */
interface Bench {
  readonly work: string;
  readonly bucketDir: string;
  readonly registryHost: string;
  readonly password: string;
  readonly oneCore: OneCoreServers;
}

/** What a case measured, and the profile of a deploy that published nothing when the case asks for it. */
interface CaseResult { readonly row: Row; readonly noOp?: NoOpProfile }

/**
 * Case `i`: published by both paths of ours (twice each), by skopeo to the anchor registry and to the emulator, on one
 * core when the case asks for it; then, for each deploy path that missed its wall target, one more deploy, profiled.
 */
async function runCase(i: number, c: Case, on: Target, where: Bench): Promise<CaseResult> {
  const dir = path.join(where.bucketDir, `image-${i}`);
  fs.mkdirSync(dir);
  const image = await c.make(dir);
  const { emulator: target, client } = on;
  const repo = `bench/image-${i}`;
  await client.send(new CreateRepositoryCommand({ repositoryName: repo }));
  const staged = inspectImageArchive(image.file, { stagingDir: where.bucketDir });
  const bytes = staged.plan.blobs.reduce((n, b) => n + b.size, 0);
  if (path.dirname(staged.archivePath) === where.bucketDir && staged.archivePath !== image.file) fs.rmSync(staged.archivePath, { force: true });

  const harness = await publishWithHandler(target, where.bucketDir, image, repo, c.compress);
  // Published again as CloudFormation does it when another property of the resource changes: an Update.
  const harnessAgain = await publishWithHandler(target, where.bucketDir, image, repo, c.compress, { previous: harness.physicalId });
  let harnessUncompressed: OursResult | undefined;
  if (c.alsoUncompressed) {
    const plain = `bench/image-${i}-uncompressed`;
    await client.send(new CreateRepositoryCommand({ repositoryName: plain }));
    harnessUncompressed = await publishWithHandler(target, where.bucketDir, image, plain, false);
  }
  const assembly = synthApp(path.join(where.work, `app-${i}`), image, `bench/deploy-${i}`, c.compress);
  const deployData = path.join(where.work, `deploy-${i}`);
  const deploy = await deployWithCli(target, assembly, deployData);
  const deployAgain = expectNothingChanged(await deployWithCli(target, assembly, deployData));
  const noOp = c.profileNoOp ? await profiledNoOpDeploy(c.name, target, assembly, deployData, path.join(where.work, 'profiles', `no-op-${i}`)) : undefined;
  let deployUncompressed: OursResult | undefined;
  if (c.alsoUncompressed) {
    const plainAssembly = synthApp(path.join(where.work, `app-${i}-uncompressed`), image, `bench/deploy-${i}-uncompressed`, false);
    deployUncompressed = await deployWithCli(target, plainAssembly, path.join(where.work, `deploy-${i}-uncompressed`));
  }
  const skopeo = await skopeoCopy(image.skopeoSource, `docker://${where.registryHost}/bench/image-${i}:bench`);
  let skopeoEmulator: Measured | undefined;
  if (!c.underQuotas) {
    const alias = await primaryRegistryAlias(client);
    const host = new URL(target.endpoint).host;
    await client.send(new CreateRepositoryCommand({ repositoryName: `bench/skopeo-${i}` }));
    skopeoEmulator = await skopeoCopy(image.skopeoSource, `docker://${host}/${alias}/bench/skopeo-${i}:bench`, ['--dest-creds', where.password]);
  }
  const oneCore = c.oneCore ? await publishOnOneCore(where.oneCore, where.bucketDir, image, `bench/one-core-${i}`, c.compress) : undefined;
  const row: Row = {
    c, bytes, harness, harnessAgain, deploy, deployAgain, skopeo, skopeoEmulator, harnessUncompressed, deployUncompressed, oneCore, profiles: [],
  };
  for (const p of deployPaths(row)) {
    if (!wallTargetMissed(row, p)) continue;
    const slug = `profiled-${i}${p.compress === c.compress ? '' : '-uncompressed'}`;
    row.profiles.push(await profiledDeploy(`${c.name}, ${p.label}`, image, p.compress, { work: where.work, bucketDir: where.bucketDir, slug }));
  }
  fs.rmSync(dir, { recursive: true, force: true });
  return { row, noOp };
}

/** Synth time for 1, 10 and 100 repositories, ours against CfnPublicRepository: the rows of the report's table. */
function synthTable(): string[] {
  const synthRows: string[] = [];
  synthSeconds(1, 'ours'); // load every module once before measuring
  for (const n of [1, 10, 100]) {
    const ours = Array.from({ length: 3 }, () => synthSeconds(n, 'ours'));
    const l1 = Array.from({ length: 3 }, () => synthSeconds(n, 'l1'));
    const o = median(ours.map((r) => r.seconds));
    const c = median(l1.map((r) => r.seconds));
    synthRows.push(`| ${n} | ${fmt(o, 3)} s | ${ours[0].functions} | ${fmt(c, 3)} s | ${l1[0].functions} | ${fmt(o / c, 1)} |`);
  }
  return synthRows;
}

async function main(): Promise<void> {
  for (const file of [HANDLER, EMULATOR_CLI]) if (!fs.existsSync(file)) throw new Error(`${file} is missing: run 'npx projen bundle' and 'npx projen compile:local' first`);
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'cdk-ecr-public-bench-'));
  const bucketDir = path.join(work, 'bucket');
  fs.mkdirSync(bucketDir);
  const emulator = await startEmulatorProcess(path.join(work, 'emulator'), bucketDir);
  const quotaEmulator = await startEmulatorProcess(path.join(work, 'emulator-quotas'), bucketDir, ['--rate-quotas']);
  const registry = await startDockerRegistry();
  const ecrPublic = ecrPublicClient(emulator.endpoint);
  const quotaClient = ecrPublicClient(quotaEmulator.endpoint);
  const plain: Target = { emulator, client: ecrPublic };
  const quota: Target = { emulator: quotaEmulator, client: quotaClient };
  let oneCore: OneCoreServers | undefined;
  const rows: Row[] = [];
  let ingest: IngestRate | undefined;
  let noOp: NoOpProfile | undefined;
  try {
    oneCore = await startOneCoreServers(path.join(work, 'emulator-one-core'), bucketDir);
    // The emulator's registry push API takes skopeo with the password of GetAuthorizationToken.
    const password = `AWS:${await loginPassword(ecrPublic)}`;
    // The wall targets are the `deploy` command's against skopeo → docker-registry; the quota row has none (the quotas pace it).
    const cases: Case[] = [
      { name: 'one 256 MiB layer', make: layoutImage((dir) => randomLayout(dir, [sized(256 * MiB)])), compress: true, ratioTarget: 1.3, oneCore: true, profileNoOp: true },
      { name: 'one 1 GiB layer', make: layoutImage((dir) => randomLayout(dir, [sized(1024 * MiB)])), compress: true, ratioTarget: 1.3, oneCore: true },
      { name: '40 layers of 8 MiB', make: layoutImage((dir) => randomLayout(dir, Array(40).fill(sized(8 * MiB)))), compress: true, ratioTarget: 1 },
      { name: 'real image built with umoci (5 layers)', make: layoutImage(umociLayout), compress: true, ratioTarget: 2 },
      {
        name: 'docker-save archive, 4 uncompressed layers of 64 MiB',
        make: async (dir) => dockerSave(dir, randomLayout(dir, Array(4).fill(sized(64 * MiB)), true)),
        compress: true, ratioTarget: 2, alsoUncompressed: true,
      },
      { name: '40 layers of 8 MiB, emulator enforcing the rate quotas', make: layoutImage((dir) => randomLayout(dir, Array(40).fill(sized(8 * MiB)))), compress: true, underQuotas: true },
    ];
    for (const [i, c] of cases.entries()) {
      const result = await runCase(i, c, c.underQuotas ? quota : plain, { work, bucketDir, registryHost: registry.host, password, oneCore });
      const row = result.row;
      rows.push(row);
      noOp ??= result.noOp;
      console.error(`${c.name}: harness ${fmt(row.harness.wall)} s (${fmt(row.harness.cpu)} s CPU), deploy ${fmt(row.deploy.wall)} s (${fmt(row.deploy.cpu)} s CPU), `
        + `deploy again ${fmt(row.deployAgain.wall)} s, skopeo ${fmt(row.skopeo.wall)} s (${fmt(row.skopeo.cpu)} s CPU)`
        + `${row.oneCore ? `; on one core: harness ${fmt(row.oneCore.harness.cpu)} s CPU, skopeo ${fmt(row.oneCore.skopeo.cpu)} s CPU` : ''}; ${row.profiles.length} profiled`);
    }

    ingest = await emulatorIngest(emulator, ecrPublic, sized(256 * MiB));
    console.error(`emulator alone: ${fmt(ingest.mbPerCpuSecond, 0)} MB/s per CPU second`);
  } finally {
    ecrPublic.destroy();
    quotaClient.destroy();
    await stopServedEmulator(emulator);
    await stopServedEmulator(quotaEmulator);
    await registry.stop();
    await stopOneCoreServers(oneCore);
  }

  const synthRows = synthTable();

  const md = `${report(rows, ingest!, noOp!, synthRows)}\n${await handOverSection()}\n${await scaleSection()}\n${await storeSection()}\n${await hostileSection()}`;
  if (!QUICK) fs.writeFileSync(path.join(ROOT, 'BENCHMARKS.md'), md);
  fs.rmSync(work, { recursive: true, force: true });
  console.log(md);
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
