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
import { blobName } from '../src/private/oci/digest';
import { OCI_CONFIG, OCI_LAYER_GZIP, OCI_LAYER_TAR, OCI_MANIFEST } from '../src/private/oci/media-types';
import { ImageProperties } from '../src/private/publish-plan';
import { startDockerRegistry } from '../test/support/docker-registry';
import {
  ecrPublicClient, EMULATOR_CLI, loginPassword, primaryRegistryAlias, ServedEmulator, serveEmulator, stopServedEmulator,
} from '../test/support/emulator-harness';
import { LayoutDescriptor, REF_NAME } from '../test/support/oci-layout';
import { hostileSection } from './hostile';
import { scaleSection } from './scale';

const run = promisify(execFile);
const ROOT = path.resolve(__dirname, '..');
const HANDLER = path.join(ROOT, 'assets', 'image-publisher', 'index.js');
const CLI = EMULATOR_CLI;
const MiB = 1024 * 1024;
const GiB = 1024 * MiB;
/** The vCPU share of a Lambda function of 1024 MB (1769 MB is one full vCPU). */
const LAMBDA_1024_VCPU = 1024 / 1769;
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

interface Measured { wall: number; cpu: number; rssMb: number; stdout: string }

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

interface OursResult extends Measured {
  /** The handler's own summary (bytes uploaded, ...). */
  readonly summary: Record<string, number>;
  /** CPU the emulator spent meanwhile. */
  readonly emulatorCpu: number;
  /** The physical id the handler answered with (publishing through the handler; a deploy prints it instead). */
  readonly physicalId?: string;
}

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
function profileTop(file: string, count: number): { total: number; idle: number; top: Array<[string, number]> } {
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

const fmt = (n: number, d = 2) => n.toFixed(d);
const verdict = (ok: boolean) => (ok ? 'met' : 'missed');

// ---------------------------------------------------------------------------------------------------------------

interface Case {
  readonly name: string;
  readonly make: (dir: string) => Promise<BenchImage>;
  /** gzip uncompressed layers at deploy. */
  readonly compress: boolean;
  /** Target of ours / skopeo (wall of the whole command). */
  readonly ratioTarget: number;
  /** Also publish with CompressLayers false, for the ratio without compression. */
  readonly alsoUncompressed?: boolean;
  /** Against the emulator enforcing the rate quotas. */
  readonly underQuotas?: boolean;
  /** Whether the CPU and memory targets apply (the single-layer rows). */
  readonly cpuTarget?: boolean;
}

const layoutImage = (make: (dir: string) => string | Promise<string>) => async (dir: string): Promise<BenchImage> => {
  const layout = await make(dir);
  return { file: layout, skopeoSource: `oci:${layout}:bench` };
};

interface Row {
  readonly c: Case;
  readonly bytes: number;
  readonly harness: OursResult;
  readonly harnessAgain: OursResult;
  readonly deploy: OursResult;
  readonly deployAgain: Measured;
  readonly skopeo: Measured;
  readonly skopeoEmulator?: Measured;
  readonly harnessUncompressed?: OursResult;
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
  const rows: Row[] = [];
  let ingest: { mbPerCpuSecond: number; mbPerSecond: number } | undefined;
  let profiles: { deploy: ReturnType<typeof profileTop>; emulator: ReturnType<typeof profileTop>; wall: number } | undefined;
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
      const dir = path.join(bucketDir, `image-${i}`);
      fs.mkdirSync(dir);
      const image = await c.make(dir);
      const target = c.underQuotas ? quotaEmulator : emulator;
      const client = c.underQuotas ? quotaClient : ecrPublic;
      const repo = `bench/image-${i}`;
      await client.send(new CreateRepositoryCommand({ repositoryName: repo }));
      const staged = inspectImageArchive(image.file, { stagingDir: bucketDir });
      const bytes = staged.plan.blobs.reduce((n, b) => n + b.size, 0);
      if (path.dirname(staged.archivePath) === bucketDir && staged.archivePath !== image.file) fs.rmSync(staged.archivePath, { force: true });

      const harness = await publishWithHandler(target, bucketDir, image, repo, c.compress);
      // Published again as CloudFormation does it when another property of the resource changes: an Update.
      const harnessAgain = await publishWithHandler(target, bucketDir, image, repo, c.compress, harness.physicalId);
      let harnessUncompressed: OursResult | undefined;
      if (c.alsoUncompressed) {
        const plain = `bench/image-${i}-uncompressed`;
        await client.send(new CreateRepositoryCommand({ repositoryName: plain }));
        harnessUncompressed = await publishWithHandler(target, bucketDir, image, plain, false);
      }
      const assembly = synthApp(path.join(work, `app-${i}`), image, `bench/deploy-${i}`, c.compress);
      const deployData = path.join(work, `deploy-${i}`);
      const deploy = await deployWithCli(target, assembly, deployData);
      const deployAgain = await deployWithCli(target, assembly, deployData);
      const skopeo = await skopeoCopy(image.skopeoSource, `docker://${registry.host}/bench/image-${i}:bench`);
      let skopeoEmulator: Measured | undefined;
      if (!c.underQuotas) {
        const alias = await primaryRegistryAlias(client);
        const host = new URL(target.endpoint).host;
        await client.send(new CreateRepositoryCommand({ repositoryName: `bench/skopeo-${i}` }));
        skopeoEmulator = await skopeoCopy(image.skopeoSource, `docker://${host}/${alias}/bench/skopeo-${i}:bench`, ['--dest-creds', password]);
      }
      const row: Row = { c, bytes, harness, harnessAgain, deploy, deployAgain, skopeo, skopeoEmulator, harnessUncompressed };
      rows.push(row);
      console.error(`${c.name}: harness ${fmt(harness.wall)} s (${fmt(harness.cpu)} s CPU), deploy ${fmt(deploy.wall)} s (${fmt(deploy.cpu)} s CPU), skopeo ${fmt(skopeo.wall)} s (${fmt(skopeo.cpu)} s CPU)`);
      fs.rmSync(dir, { recursive: true, force: true });
    }

    ingest = await emulatorIngest(emulator, ecrPublic, sized(256 * MiB));
    console.error(`emulator alone: ${fmt(ingest.mbPerCpuSecond, 0)} MB/s per CPU second`);

    // One more 256 MiB deploy, profiled on both sides: where the time goes.
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
      profiles = { deploy: profileTop(only(`${profileDir}/deploy`), 8), emulator: profileTop(only(`${profileDir}/emulator`), 8), wall: deploy.wall };
    } finally {
      await stopServedEmulator(profiled);
    }
  } finally {
    ecrPublic.destroy();
    quotaClient.destroy();
    await stopServedEmulator(emulator);
    await stopServedEmulator(quotaEmulator);
    await registry.stop();
  }

  const synthRows: string[] = [];
  synthSeconds(1, 'ours'); // load every module once before measuring
  for (const n of [1, 10, 100]) {
    const ours = Array.from({ length: 3 }, () => synthSeconds(n, 'ours'));
    const l1 = Array.from({ length: 3 }, () => synthSeconds(n, 'l1'));
    const o = median(ours.map((r) => r.seconds));
    const c = median(l1.map((r) => r.seconds));
    synthRows.push(`| ${n} | ${fmt(o, 3)} s | ${ours[0].functions} | ${fmt(c, 3)} s | ${l1[0].functions} | ${fmt(o / c, 1)} |`);
  }

  const md = `${report(rows, ingest!, profiles!, synthRows)}\n${await scaleSection()}\n${await hostileSection()}`;
  if (!QUICK) fs.writeFileSync(path.join(ROOT, 'BENCHMARKS.md'), md);
  fs.rmSync(work, { recursive: true, force: true });
  console.log(md);
}

// ---------------------------------------------------------------------------------------------------------------
// The report

function report(rows: Row[], ingest: { mbPerCpuSecond: number; mbPerSecond: number }, profiles: { deploy: ReturnType<typeof profileTop>; emulator: ReturnType<typeof profileTop>; wall: number }, synthRows: string[]): string {
  const perGiB = (cpu: number, bytes: number) => cpu / (bytes / GiB);
  const publishRows: string[] = [];
  const targets: string[] = [];
  const republish: string[] = [];
  for (const r of rows) {
    const { c, bytes, skopeo } = r;
    const size = `${fmt(bytes / MiB, 1)} MiB`;
    const skopeoCell = `${fmt(skopeo.wall)} s, ${fmt(skopeo.cpu)} s CPU`;
    const line = (path: string, m: OursResult) => `| ${c.name} | ${size} | ${path} | ${fmt(m.wall)} s | ${fmt(m.cpu)} s | ${fmt(perGiB(m.cpu, bytes), 1)} s | ${fmt(m.rssMb, 0)} MB | ${fmt(m.emulatorCpu)} s | ${skopeoCell} | **${fmt(m.wall / skopeo.wall)}** | ${fmt(m.cpu / skopeo.cpu)} |`;
    publishRows.push(line('bench harness', r.harness));
    publishRows.push(line('`deploy` command', r.deploy));
    if (r.harnessUncompressed) publishRows.push(line('bench harness, `compressLayers: false`', r.harnessUncompressed));
    if (r.skopeoEmulator) publishRows.push(`| ${c.name} | ${size} | skopeo → our emulator's registry push API | ${fmt(r.skopeoEmulator.wall)} s | ${fmt(r.skopeoEmulator.cpu)} s | ${fmt(perGiB(r.skopeoEmulator.cpu, bytes), 1)} s | ${fmt(r.skopeoEmulator.rssMb, 0)} MB | | ${skopeoCell} | ${fmt(r.skopeoEmulator.wall / skopeo.wall)} | ${fmt(r.skopeoEmulator.cpu / skopeo.cpu)} |`);

    for (const [path, m] of [['bench harness', r.harness], ['`deploy` command', r.deploy]] as const) {
      const ratio = m.wall / skopeo.wall;
      const parts = [`ours/skopeo ${fmt(ratio)} (target ≤ ${c.ratioTarget}: ${verdict(ratio <= c.ratioTarget)})`];
      if (c.cpuTarget) {
        const cpuRatio = m.cpu / skopeo.cpu;
        parts.push(`CPU ${fmt(cpuRatio)}× skopeo's (target ≤ 1.5: ${verdict(cpuRatio <= 1.5)})`);
        parts.push(`peak RSS ${fmt(m.rssMb, 0)} MB (target ≤ 200 MB: ${verdict(m.rssMb <= 200)})`);
      }
      targets.push(`- ${c.name}, ${path}: ${parts.join('; ')}`);
    }
    if (r.harnessUncompressed) {
      targets.push(`- ${c.name}, without compression (ours with \`compressLayers: false\`; skopeo always compresses for a registry): ours/skopeo ${fmt(r.harnessUncompressed.wall / skopeo.wall)}`);
    }
    const again = r.harnessAgain;
    const ok = again.summary.bytesUploaded === 0 && again.wall < 1;
    republish.push(`| ${c.name} | ${again.summary.bytesUploaded} B in ${fmt(again.wall)} s (handler ${fmt(again.summary.seconds ?? NaN)} s) | ${fmt(r.deployAgain.wall)} s | ${verdict(ok)} |`);
  }
  const oneGiB = rows.find((r) => r.c.name === 'one 1 GiB layer')!;
  const cpuPerGiB = perGiB(oneGiB.harness.cpu, oneGiB.bytes);
  const lambdaMbPerSecond = (LAMBDA_1024_VCPU * GiB) / 1e6 / cpuPerGiB;
  const profileLines = (p: ReturnType<typeof profileTop>) => p.top.map(([name, s]) => `  - ${fmt(s)} s ${name.replace(/\|/g, '\\|')}`).join('\n');
  const cpu = os.cpus()[0]?.model ?? 'unknown CPU';

  return `# Benchmarks

Written by \`npm run bench\` on ${new Date().toISOString().slice(0, 10)}, in one run: ${os.cpus().length} cores (${cpu}), shared with
other work (load average ${os.loadavg().map((l) => fmt(l, 1)).join(', ')} at the end), ${fmt(os.totalmem() / GiB, 0)} GiB, Node ${process.version}.
Wall and CPU times of a shared 2-core machine are noisy: compare the figures of one run with each other, not across runs.

Everything runs on loopback. Each tool runs as the whole command a user would run, start-up included, measured by GNU
time (wall, user + system CPU with its child processes, peak RSS):
- **bench harness**: our bundled handler (\`assets/image-publisher/index.js\`) in a Node.js process of its own, reading the
  staged archive from the emulator's S3 bucket, as in Lambda;
- **\`deploy\` command**: \`ecr-public-local deploy <cdk.out> --endpoint <emulator>\` of an app with the repository and the
  image, as users run it (the handler in-process, the assets served by the deployer's child process);
- **skopeo → docker-registry**: \`skopeo copy\` of the same image (OCI layout or docker-save archive) into Debian's
  docker-registry (the anchor); skopeo → our emulator's registry push API is the same copy into the server our publisher
  talks to.
Our publisher must send every byte as base64 inside JSON, in parts of 10 MiB, one after the other (the ECR Public API has
no binary upload); skopeo streams raw bytes to a registry. The emulator and docker-registry run in processes of their
own; "emulator CPU" is what the emulator spent during our publish.

## Publishing

| image | size | path | wall | CPU | CPU per GiB | peak RSS | emulator CPU | skopeo → docker-registry | ours / skopeo, wall | ours / skopeo, CPU |
|---|---|---|---|---|---|---|---|---|---|---|
${publishRows.join('\n')}

Targets:
${targets.join('\n')}

## Re-publishing an unchanged image

| image | bench harness (the handler run again) | \`deploy\` again (nothing changed: no handler runs) | target: 0 bytes in < 1 s |
|---|---|---|---|
${republish.join('\n')}

## The emulator alone

UploadLayerPart of a 256 MiB layer in 10 MiB parts, strictly in order, from bodies encoded before the clock starts:
**${fmt(ingest.mbPerCpuSecond, 0)} MB/s of layer bytes per second of the emulator's CPU** (target ≥ 400 on one core:
${verdict(ingest.mbPerCpuSecond >= 400)}); ${fmt(ingest.mbPerSecond, 0)} MB/s of wall time, client included.

## Where the time goes

\`node --cpu-prof\` of one more deploy of the 256 MiB layer (${fmt(profiles.wall)} s), on both sides; self time per function:
- the \`deploy\` process: ${fmt(profiles.deploy.total)} s sampled, ${fmt(profiles.deploy.idle)} s of it idle (waiting for the emulator):
${profileLines(profiles.deploy)}
- the emulator: ${fmt(profiles.emulator.total)} s sampled, ${fmt(profiles.emulator.idle)} s of it idle:
${profileLines(profiles.emulator)}

## Reading the figures

- **Why a compressed layer takes longer than skopeo.** For each byte of layer, our publisher hashes 2.33 bytes
  (the layer's sha256, and SigV4's sha256 of a JSON body in which the bytes are base64, 4/3 as large), encodes it to
  base64 and sends 1.33 bytes; the emulator then decodes, hashes and writes it. skopeo hashes each byte once and sends
  it raw. The ECR Public API takes the parts of a layer strictly one after the other: our publisher prepares (reads,
  encodes, hashes) the next part while one is in flight, so client and emulator work at the same time, but on two
  cores shared with the emulator, skopeo's registry and other work, both sides compete for the same CPU.
- **The \`deploy\` command** costs its own start-up (loading the cloud assembly, the emulator account lookup, the
  handlers' state) on top of the handler; its asset bucket is served by a child process, off the handler's thread.
- **docker-save layers** are compressed once (into the function's \`/tmp\` when they fit, several at a time, then
  uploaded from there). Each MiB is judged on samples: a MiB that does not compress (the random half of these
  layers) is written as deflate stored blocks, a copy, where zlib would spend about 30 ms of CPU on it at any level;
  the rest is deflated at level 6 on Node's thread pool. skopeo's compressor also stores incompressible blocks, and
  compresses on several cores.
- **Peak RSS.** A Node.js process starts at about 41 MB; the bundled publisher (which carries its own copy of the
  SDK) adds about 34 MB as it loads, so the bench harness publishing a 5.5 MiB image peaks at about 125 MB. Each blob
  in flight holds its part buffer and two prepared part bodies (about 38 MB for 10 MiB parts), and chunks of the S3
  stream wait for the garbage collector: one large layer peaks near 200 MB, several blobs at once (40 layers, the
  docker-save layers) higher. The \`deploy\` command holds, in the same process, the deployer (about 14 MB of modules),
  the cloud assembly and every handler bundle the app uses, each with its SDK: 11 to 54 MB above the harness for
  the same image, and the asset bucket in a child process of its own.
- **Re-publishing** asks BatchCheckLayerAvailability once per 100 blobs and uploads nothing; the wall time is mostly the
  start-up of a Node.js process and the loading of the bundled handler. Layers compressed at deploy have no digest
  known before they are compressed: the handler reads the manifest the tag points at back through the repository's
  registry API, and when it is this image compressed (byte for byte) with its layers in the repository, it compresses
  nothing.
- **The emulator alone** spends its CPU on the part's sha256, receiving and copying the body, decoding the base64 (in
  small slices from the body's bytes: no 14 MB string per part) and the write of each part to its upload file. The
  write is a page-cache copy whose cost is the kernel's, as system time: on this virtual machine, 26 writes of 10 MiB
  into a new file cost 0.55 to 0.7 s of system CPU when the page cache grows into memory the machine has not touched
  yet, and 0.05 to 0.07 s when it reuses freed pages (measured alone, with \`process.cpuUsage\`). A profile of three
  ingests into a fresh emulator (170 to 195 MB/s) gives per 256 MiB: writeBuffer 0.66 s, sha256 0.18 s, buffer copies and slices 0.13 s,
  garbage collection 0.07 s, base64 decoding 0.05 s. Without the growth of the page cache the rate would be about
  300 MB/s; the rest is the sha256 that CompleteLayerUpload needs and receiving 1.33 bytes of base64 per layer byte.
  In this run the ingest is measured after every other case, with the emulator holding their images.

## On Lambda

Publishing is CPU-bound here: the bench harness spends ${fmt(cpuPerGiB, 1)} s of CPU per GiB of compressed layers. A function of
1024 MB (the default) has about ${fmt(LAMBDA_1024_VCPU, 2)} vCPU, so expect at most about **${fmt(lambdaMbPerSecond, 0)} MB/s** there
(${fmt((lambdaMbPerSecond * 900) / 1000, 0)} GB in a 15-minute run), less when the network to ECR Public is the limit; 1769 MB
gives a whole vCPU. Layers gzipped at deploy cost their compression on top (zlib runs on Node's thread pool, several
layers at once).

## Synth

Median of 3 runs of \`app.synth()\` for one stack with N repositories, ours against \`CfnPublicRepository\`.

| repositories | ours | Lambda functions | CfnPublicRepository | Lambda functions | ratio |
|---|---|---|---|---|---|
${synthRows.join('\n')}

The number of functions stays the same however many repositories (one per handler kind).
`;
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
