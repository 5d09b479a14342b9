/**
 * `npm run bench`: publishing throughput, CPU and memory of both ways our publisher runs (the bundled handler in a
 * process of its own, and the `ecr-public-local deploy` command users run), side by side with skopeo in the same run;
 * the emulator's own UploadLayerPart ingest rate; a publish under ECR Public's rate quotas; CPU profiles of one
 * publish; synth time. Writes BENCHMARKS.md. Needs skopeo, umoci and docker-registry (apt).
 */
import { execFile } from 'child_process';
import { createHash, randomBytes } from 'crypto';
import * as fs from 'fs';
import * as http from 'http';
import * as net from 'net';
import * as os from 'os';
import * as path from 'path';
import { promisify } from 'util';
import { CompleteLayerUploadCommand, CreateRepositoryCommand, ECRPUBLICClient, InitiateLayerUploadCommand } from '@aws-sdk/client-ecr-public';
import { App, Stack, aws_ecr as ecr } from 'aws-cdk-lib';
import { ImageSource, PublicImage, PublicRepository } from '../src';
import { inspectImageArchive } from '../src/private/archive/inspect';
import { blobName } from '../src/shared/oci/digest';
import { OCI_CONFIG, OCI_LAYER_GZIP, OCI_LAYER_TAR, OCI_MANIFEST } from '../src/shared/oci/media-types';
import { ImageProperties } from '../src/shared/publish-plan';
import { startDockerRegistry } from '../test/support/docker-registry';
import {
  ecrPublicClient, EMULATOR_CLI, loginPassword, primaryRegistryAlias, ServedEmulator, serveEmulator, stopServedEmulator,
} from '../test/support/emulator-harness';
import { LayoutDescriptor, REF_NAME } from '../test/support/oci-layout';
import { handOverSection } from './hand-over';
import { hostileSection } from './hostile';
import { CaseTargets, fmt, IngestRate, Measured, MiB, OursResult, ProfileTop, Profiles, report, Row } from './report';
import { scaleSection } from './scale';
import { storeSection } from './store-writes';

const run = promisify(execFile);
const ROOT = path.resolve(__dirname, '..');
const HANDLER = path.join(ROOT, 'assets', 'image-publisher', 'index.js');
const CLI = EMULATOR_CLI;
const CLOCK_TICKS = 100;
/** BENCH_QUICK=1: every layer 16 times smaller, the report printed and not written (to try the benchmark itself). */
const QUICK = process.env.BENCH_QUICK === '1';
const sized = (bytes: number) => (QUICK ? bytes / 16 : bytes);

// ---------------------------------------------------------------------------------------------------------------
// Processes

/** The emulator in a process of its own, serving `bucketDir` as bucket `assets`. */
function startEmulatorProcess(dataDir: string, bucketDir: string, extra: string[] = [], nodeFlags: string[] = []): Promise<ServedEmulator> {
  return serveEmulator(dataDir, ['--bucket', `assets=${bucketDir}`, ...extra], { nodeFlags });
}

/** CPU seconds (user + system) a running process has used so far. */
function cpuOf(pid: number): number {
  const fields = fs.readFileSync(`/proc/${pid}/stat`, 'utf8').replace(/^.*\) /, '').split(' ');
  return (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS;
}

/** Runs a command under GNU time: wall time including start-up, CPU (user + system, with its children), peak RSS. */
async function measured(command: string, args: string[], env: NodeJS.ProcessEnv = process.env): Promise<Measured> {
  const report = path.join(os.tmpdir(), `bench-time-${process.pid}-${Date.now()}`);
  try {
    const { stdout } = await run('/usr/bin/time', ['-f', '%e %U %S %M', '-o', report, command, ...args], { env, maxBuffer: 256 * MiB });
    const [wall, user, sys, rssKb] = fs.readFileSync(report, 'utf8').trim().split('\n').pop()!.split(' ').map(Number);
    return { wall, cpu: user + sys, rssMb: rssKb / 1024, stdout };
  } finally {
    fs.rmSync(report, { force: true });
  }
}

/** skopeo keeps a blob-info cache that turns a second push of a blob into a mount: every timed copy starts without it. */
function clearSkopeoCache(): void {
  for (const file of ['/var/lib/containers/cache/blob-info-cache-v1.boltdb', path.join(os.homedir(), '.local/share/containers/cache/blob-info-cache-v1.boltdb')]) {
    fs.rmSync(file, { force: true });
  }
}

async function skopeoCopy(source: string, destination: string, extra: string[] = []): Promise<Measured> {
  clearSkopeoCache();
  return measured('skopeo', ['copy', '--insecure-policy', '--dest-tls-verify=false', ...extra, source, destination]);
}

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

/** An image as both tools read it. */
interface BenchImage {
  /** What the publisher is given: an OCI layout directory or a docker-save archive. */
  readonly file: string;
  /** The same image for skopeo. */
  readonly skopeoSource: string;
}

/** A docker-save archive (uncompressed layers) written by skopeo from an OCI layout, inside `dir`. */
async function dockerSave(dir: string, layout: string): Promise<BenchImage> {
  const archive = path.join(dir, 'docker-save.tar');
  await run('skopeo', ['copy', '--insecure-policy', `oci:${layout}:bench`, `docker-archive:${archive}:bench/image:latest`]);
  fs.rmSync(layout, { recursive: true, force: true });
  return { file: archive, skopeoSource: `docker-archive:${archive}` };
}

// ---------------------------------------------------------------------------------------------------------------
// Our two ways of publishing

/**
 * Publishes through the bundled handler in a child process; the CloudFormation response goes to a local server. With
 * `previous` (the physical id of an earlier publish), the event is the Update CloudFormation sends for that resource.
 */
async function publishWithHandler(
  emulator: ServedEmulator, bucketDir: string, image: BenchImage, repo: string, compress: boolean, previous?: string,
): Promise<OursResult> {
  const staged = inspectImageArchive(image.file, { stagingDir: bucketDir });
  // The handler's CloudFormation response: a publish only counts when it says SUCCESS.
  let response = '';
  const responses = http.createServer((req, res) => {
    req.on('data', (chunk: Buffer) => {
      response += chunk.toString();
    });
    req.on('end', () => res.end());
  });
  await new Promise<void>((r) => responses.listen(0, '127.0.0.1', () => r()));
  const port = (responses.address() as net.AddressInfo).port;
  const props: ImageProperties = {
    RepositoryName: repo, ArchiveBucket: 'assets', ArchiveKey: path.relative(bucketDir, staged.archivePath), Plan: JSON.stringify(staged.plan),
    SourceDigest: staged.plan.rootDigest, Tags: ['bench'], CompressLayers: String(compress), Concurrency: '4', DeleteOnRemove: 'false',
  };
  const eventFile = path.join(bucketDir, '..', `event-${Date.now()}.json`);
  const request = previous === undefined ? { RequestType: 'Create' }
    : { RequestType: 'Update', PhysicalResourceId: previous, OldResourceProperties: { ServiceToken: 'bench', ...props } };
  fs.writeFileSync(eventFile, JSON.stringify({
    ...request, ServiceToken: 'bench', ResponseURL: `http://127.0.0.1:${port}/response`,
    StackId: 'arn:aws:cloudformation:us-east-1:123456789012:stack/bench/1', RequestId: 'bench', LogicalResourceId: 'Image',
    ResourceType: 'Custom::EcrPublicImage', ResourceProperties: { ServiceToken: 'bench', ...props },
  }));
  const emulatorBefore = cpuOf(emulator.child.pid!);
  try {
    const result = await measured(process.execPath, [path.join(__dirname, 'publish-child.js'), HANDLER, eventFile], {
      ...process.env, AWS_ENDPOINT_URL_ECR_PUBLIC: emulator.endpoint, AWS_ENDPOINT_URL_S3: emulator.endpoint,
      AWS_REGION: 'us-east-1', AWS_ACCESS_KEY_ID: 'bench', AWS_SECRET_ACCESS_KEY: 'bench',
    });
    const child = JSON.parse(result.stdout.trim().split('\n').pop()!);
    const answer = response ? JSON.parse(response) : {};
    if (child.error || !child.summary || answer.Status !== 'SUCCESS') throw new Error(`publish failed (${answer.Status}): ${response || result.stdout}`);
    return { ...result, summary: child.summary, emulatorCpu: cpuOf(emulator.child.pid!) - emulatorBefore, physicalId: answer.PhysicalResourceId };
  } finally {
    responses.close();
    fs.rmSync(eventFile, { force: true });
    if (path.dirname(staged.archivePath) === bucketDir && staged.archivePath !== image.file) fs.rmSync(staged.archivePath, { force: true });
  }
}

/** A cloud assembly with one repository and the image, as a user's app would have it. */
function synthApp(dir: string, image: BenchImage, repositoryName: string, compress: boolean): string {
  const outdir = path.join(dir, 'cdk.out');
  const app = new App({ outdir });
  const stack = new Stack(app, 'Bench');
  const repository = new PublicRepository(stack, 'Repository', { repositoryName });
  const source = fs.statSync(image.file).isDirectory() ? ImageSource.fromOciLayout(image.file) : ImageSource.fromTarball(image.file);
  new PublicImage(stack, 'Image', { repository, source, tags: ['bench'], compressLayers: compress });
  app.synth();
  return outdir;
}

/** `ecr-public-local deploy` of `assembly` into the running emulator, as a user runs it. */
async function deployWithCli(emulator: ServedEmulator, assembly: string, dataDir: string, nodeFlags: string[] = []): Promise<OursResult> {
  const emulatorBefore = cpuOf(emulator.child.pid!);
  const result = await measured(process.execPath, [...nodeFlags, CLI, 'deploy', assembly, '--endpoint', emulator.endpoint, '--data', dataDir, '--verbose'], {
    ...process.env, AWS_ENDPOINT_URL_S3: '', AWS_ENDPOINT_URL_ECR_PUBLIC: '',
  });
  const summaryLine = result.stdout.split('\n').map((l) => /\{"summary":.*\}/.exec(l)?.[0]).filter((l): l is string => l !== undefined).pop();
  const summary = summaryLine ? JSON.parse(summaryLine).summary : {};
  if (!/Deployed Bench/.test(result.stdout)) throw new Error(`deploy failed:\n${result.stdout}`);
  return { ...result, summary, emulatorCpu: cpuOf(emulator.child.pid!) - emulatorBefore };
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
// Profiles

/** Self time per function of a `.cpuprofile`, the largest first, as `seconds name (file)`. */
function profileTop(file: string, count: number): ProfileTop {
  const profile = JSON.parse(fs.readFileSync(file, 'utf8')) as {
    nodes: Array<{ id: number; callFrame: { functionName: string; url: string } }>; samples: number[]; timeDeltas: number[];
  };
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const self = new Map<string, number>();
  let total = 0;
  profile.samples.forEach((id, i) => {
    const frame = byId.get(id)!.callFrame;
    const where = frame.url ? ` (${frame.url.replace(/^.*\/(assets|lib|node_modules)\//, '$1/').replace(/asset\.[0-9a-f]{64}/, 'handler').replace(/^node:/, '')})` : '';
    const key = `${frame.functionName || '(anonymous)'}${where}`;
    const us = profile.timeDeltas[i] ?? 0;
    self.set(key, (self.get(key) ?? 0) + us / 1e6);
    total += us / 1e6;
  });
  const idle = self.get('(idle)') ?? 0;
  const top = [...self].filter(([k]) => k !== '(idle)').sort((a, b) => b[1] - a[1]).slice(0, count);
  return { total, idle, top };
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
  /** gzip uncompressed layers at deploy. */
  readonly compress: boolean;
  /** Also publish with CompressLayers false, for the ratio without compression. */
  readonly alsoUncompressed?: boolean;
  /** Against the emulator enforcing the rate quotas. */
  readonly underQuotas?: boolean;
}

const layoutImage = (make: (dir: string) => string | Promise<string>) => async (dir: string): Promise<BenchImage> => {
  const layout = await make(dir);
  return { file: layout, skopeoSource: `oci:${layout}:bench` };
};

/** An emulator and its client. */
interface Target { readonly emulator: ServedEmulator; readonly client: ECRPUBLICClient }

/** Where the cases run: the work directory, the bucket, the anchor registry, the emulator's registry password. */
interface Bench { readonly work: string; readonly bucketDir: string; readonly registryHost: string; readonly password: string }

/** Case `i`: published by both paths of ours (twice each), by skopeo to the anchor registry and to the emulator. */
async function runCase(i: number, c: Case, on: Target, where: Bench): Promise<Row> {
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
  const harnessAgain = await publishWithHandler(target, where.bucketDir, image, repo, c.compress, harness.physicalId);
  let harnessUncompressed: OursResult | undefined;
  if (c.alsoUncompressed) {
    const plain = `bench/image-${i}-uncompressed`;
    await client.send(new CreateRepositoryCommand({ repositoryName: plain }));
    harnessUncompressed = await publishWithHandler(target, where.bucketDir, image, plain, false);
  }
  const assembly = synthApp(path.join(where.work, `app-${i}`), image, `bench/deploy-${i}`, c.compress);
  const deployData = path.join(where.work, `deploy-${i}`);
  const deploy = await deployWithCli(target, assembly, deployData);
  const deployAgain = await deployWithCli(target, assembly, deployData);
  const skopeo = await skopeoCopy(image.skopeoSource, `docker://${where.registryHost}/bench/image-${i}:bench`);
  let skopeoEmulator: Measured | undefined;
  if (!c.underQuotas) {
    const alias = await primaryRegistryAlias(client);
    const host = new URL(target.endpoint).host;
    await client.send(new CreateRepositoryCommand({ repositoryName: `bench/skopeo-${i}` }));
    skopeoEmulator = await skopeoCopy(image.skopeoSource, `docker://${host}/${alias}/bench/skopeo-${i}:bench`, ['--dest-creds', where.password]);
  }
  fs.rmSync(dir, { recursive: true, force: true });
  return { c, bytes, harness, harnessAgain, deploy, deployAgain, skopeo, skopeoEmulator, harnessUncompressed };
}

/** One more 256 MiB deploy, profiled on both sides: where the time goes. */
async function profileDeploy(work: string, bucketDir: string): Promise<Profiles> {
  const profileDir = path.join(work, 'profiles');
  const profiled = await startEmulatorProcess(path.join(work, 'emulator-profiled'), bucketDir, [], ['--cpu-prof', `--cpu-prof-dir=${profileDir}/emulator`]);
  try {
    const dir = path.join(bucketDir, 'profiled');
    fs.mkdirSync(dir);
    const image = await layoutImage((d) => randomLayout(d, [sized(256 * MiB)]))(dir);
    const assembly = synthApp(path.join(work, 'app-profiled'), image, 'bench/profiled', true);
    const deploy = await deployWithCli(profiled, assembly, path.join(work, 'deploy-profiled'), ['--cpu-prof', `--cpu-prof-dir=${profileDir}/deploy`]);
    await stopServedEmulator(profiled);
    const only = (d: string) => path.join(d, fs.readdirSync(d).find((f) => f.endsWith('.cpuprofile'))!);
    return { deploy: profileTop(only(`${profileDir}/deploy`), 8), emulator: profileTop(only(`${profileDir}/emulator`), 8), wall: deploy.wall };
  } finally {
    await stopServedEmulator(profiled);
  }
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
  for (const file of [HANDLER, CLI]) if (!fs.existsSync(file)) throw new Error(`${file} is missing: run 'npx projen bundle' and 'npx projen compile:local' first`);
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
  const rows: Row[] = [];
  let ingest: IngestRate | undefined;
  let profiles: Profiles | undefined;
  try {
    // The emulator's registry push API takes skopeo with the password of GetAuthorizationToken.
    const password = `AWS:${await loginPassword(ecrPublic)}`;
    const cases: Case[] = [
      { name: 'one 256 MiB layer', make: layoutImage((dir) => randomLayout(dir, [sized(256 * MiB)])), compress: true, ratioTarget: 1, cpuTarget: true },
      { name: 'one 1 GiB layer', make: layoutImage((dir) => randomLayout(dir, [sized(1024 * MiB)])), compress: true, ratioTarget: 1, cpuTarget: true },
      { name: '40 layers of 8 MiB', make: layoutImage((dir) => randomLayout(dir, Array(40).fill(sized(8 * MiB)))), compress: true, ratioTarget: 1 },
      { name: 'real image built with umoci (5 layers)', make: layoutImage(umociLayout), compress: true, ratioTarget: 1 },
      {
        name: 'docker-save archive, 4 uncompressed layers of 64 MiB, gzipped at deploy',
        make: async (dir) => dockerSave(dir, randomLayout(dir, Array(4).fill(sized(64 * MiB)), true)),
        compress: true, ratioTarget: 1.5, alsoUncompressed: true,
      },
      { name: '40 layers of 8 MiB, emulator enforcing the rate quotas', make: layoutImage((dir) => randomLayout(dir, Array(40).fill(sized(8 * MiB)))), compress: true, ratioTarget: 1, underQuotas: true },
    ];
    for (const [i, c] of cases.entries()) {
      const row = await runCase(i, c, c.underQuotas ? quota : plain, { work, bucketDir, registryHost: registry.host, password });
      rows.push(row);
      console.error(`${c.name}: harness ${fmt(row.harness.wall)} s (${fmt(row.harness.cpu)} s CPU), deploy ${fmt(row.deploy.wall)} s (${fmt(row.deploy.cpu)} s CPU), skopeo ${fmt(row.skopeo.wall)} s (${fmt(row.skopeo.cpu)} s CPU)`);
    }

    ingest = await emulatorIngest(emulator, ecrPublic, sized(256 * MiB));
    console.error(`emulator alone: ${fmt(ingest.mbPerCpuSecond, 0)} MB/s per CPU second`);

    profiles = await profileDeploy(work, bucketDir);
  } finally {
    ecrPublic.destroy();
    quotaClient.destroy();
    await stopServedEmulator(emulator);
    await stopServedEmulator(quotaEmulator);
    await registry.stop();
  }

  const synthRows = synthTable();

  const md = `${report(rows, ingest!, profiles!, synthRows)}\n${await handOverSection()}\n${await scaleSection()}\n${await storeSection()}\n${await hostileSection()}`;
  if (!QUICK) fs.writeFileSync(path.join(ROOT, 'BENCHMARKS.md'), md);
  fs.rmSync(work, { recursive: true, force: true });
  console.log(md);
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
