/**
 * End to end: publishes longer than one run of the publishing function. The function's timeout is a few seconds and
 * the emulator adds latency to every API call, so the bundled publisher hands over to new runs of its own function
 * (through the local deployer's Lambda Invoke endpoint, under the emulator's IAM); the images pull back with skopeo
 * with the source's digests. A run cut off at its timeout without handing over is run again as Lambda retries it; a
 * publish that cannot finish within its publishTimeout answers FAILED saying what is done and left.
 */
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import { createServer, Server } from 'node:http';
import { AddressInfo, Socket } from 'node:net';
import * as path from 'node:path';
import { ECRPUBLICClient } from '@aws-sdk/client-ecr-public';
import { App, Duration, RemovalPolicy, Stack } from 'aws-cdk-lib';
import { deployApp, LocalDeployError, RunningEmulator } from '../../../local';
import type { LocalDeployOptions } from '../../../local/deploy/types';
import { ImageSource, PublicImage, PublicRepository } from '../../../src';
import { primaryRegistryAlias, startInProcess } from '../../support/emulator-harness';
import { OciLayoutImage, readOciLayout } from '../../support/oci-layout';
import { skopeoCopy } from '../../support/skopeo';
import { makeTempDir, removeTempDir } from '../../support/temp-dirs';
import { buildImage } from '../../support/umoci-images';

const ROOT = path.resolve(__dirname, '..', '..', '..');
/** Every API call of the emulator takes this long: a run of a few seconds does a few calls. */
const LATENCY_MS = 300;

let tmp: string;
let emu: RunningEmulator;
let client: ECRPUBLICClient;
let layers: OciLayoutImage;
let large: OciLayoutImage;

function synth(name: string, image: OciLayoutImage, options: { publishTimeout?: Duration } = {}): string {
  const outdir = path.join(tmp, `out-${name}`);
  const app = new App({ outdir });
  const stack = new Stack(app, 'LongPublish');
  const repo = new PublicRepository(stack, 'Repo', { repositoryName: `long/${name}`, removalPolicy: RemovalPolicy.DESTROY, emptyOnDelete: true });
  new PublicImage(stack, 'Image', {
    repository: repo,
    source: ImageSource.fromOciLayout(image.layoutDir, { ref: 'v1' }),
    tags: ['v1'],
    timeout: Duration.seconds(4),
    concurrency: 2,
    publishTimeout: options.publishTimeout,
  });
  app.synth();
  return outdir;
}

function deploy(name: string, image: OciLayoutImage, lines: string[], options: Partial<LocalDeployOptions> & { publishTimeout?: Duration } = {}) {
  const { publishTimeout, ...rest } = options;
  return deployApp({
    assemblyDir: synth(name, image, { publishTimeout }),
    dataDir: path.join(tmp, `data-${name}`),
    endpoint: emu.endpoint,
    verbose: true,
    log: (l) => lines.push(l),
    lambda: { retryDelaysMs: [100, 200] },
    ...rest,
  });
}

/** The publisher's runs of the image resource, from its log lines (`{"run":<generation>,...}`). */
function runs(lines: readonly string[]): number[] {
  return lines.filter((l) => l.includes('"run":')).map((l) => Number(/"run":(\d+)/.exec(l)![1]));
}

async function expectPulledBack(name: string, image: OciLayoutImage): Promise<void> {
  const alias = await primaryRegistryAlias(client);
  const out = path.join(tmp, `pulled-${name}`);
  await skopeoCopy(`docker://${emu.host}/${alias}/long/${name}:v1`, `oci:${out}:pulled`, ['--src-tls-verify=false']);
  const pulled = readOciLayout(out, 'pulled');
  expect(pulled.root.digest).toBe(image.root.digest);
  expect(pulled.blobs.map((b) => b.digest)).toEqual(image.blobs.map((b) => b.digest));
}

beforeAll(async () => {
  if (!fs.existsSync(path.join(ROOT, 'assets', 'image-publisher', 'index.js'))) {
    throw new Error('assets/image-publisher/index.js is missing: run `npx projen bundle` first');
  }
  tmp = makeTempDir('local-deploy-long-');
  // Random bytes do not compress: the layers are as large as their files.
  const files: Record<string, Buffer> = {};
  for (let i = 0; i < 8; i++) files[`/data/part-${i}.bin`] = randomBytes(32 * 1024);
  layers = await buildImage(path.join(tmp, 'layers'), { tag: 'v1', layers: 8, files });
  large = await buildImage(path.join(tmp, 'large'), { tag: 'v1', files: { '/data/blob.bin': randomBytes(52 * 1024 * 1024) } });
  ({ emu, client } = await startInProcess({ iam: {}, faults: { latencyMs: LATENCY_MS } }, { maxAttempts: 1 }));
}, 120_000);

afterAll(async () => {
  client?.destroy();
  await emu?.stop();
  removeTempDir(tmp);
});

test('a multi-layer image is published across several runs of its function, and pulls back with its digests', async () => {
  const lines: string[] = [];
  const result = await deploy('layers', layers, lines);
  const published = result.resources.find((r) => r.type === 'Custom::EcrPublicImage')!;
  expect(published.data.ImageDigest).toBe(layers.root.digest);
  // Run 0 is CloudFormation's event; each later one was handed over by the one before.
  const seen = runs(lines);
  expect(seen.length).toBeGreaterThanOrEqual(2);
  expect(seen).toEqual(seen.map((_, i) => i));
  expect(lines.filter((l) => l.includes('invoked arn:aws:lambda:'))).toHaveLength(seen.length - 1);
  await expectPulledBack('layers', layers);
}, 120_000);

test('a single large layer is uploaded part by part over several runs, each going on with the upload left', async () => {
  const lines: string[] = [];
  const result = await deploy('large', large, lines);
  expect(result.resources.find((r) => r.type === 'Custom::EcrPublicImage')!.data.ImageDigest).toBe(large.root.digest);
  expect(runs(lines).length).toBeGreaterThanOrEqual(2);
  // A run left the layer's upload between two parts, and the next one went on with it.
  expect(lines.some((l) => /"resuming":[1-9]/.test(l))).toBe(true);
  expect(lines.some((l) => l.includes('"paused"') || l.includes('paused'))).toBe(true);
  await expectPulledBack('large', large);
}, 120_000);

test('a run cut off at its timeout without handing over is run again, as Lambda retries it, and the publish converges', async () => {
  // The first run's invocation of its successor is never answered: it has done part of the work and recorded itself
  // as the owner, and is cut off at its timeout. Lambda's retry of the same event goes on.
  const hole = await blackHole();
  try {
    const lines: string[] = [];
    const result = await deploy('retried', layers, lines, {
      lambda: {
        retryDelaysMs: [100, 200],
        runEnvironment: ({ attempt, event }) => (attempt === 1 && isFirstImageRun(event) ? { AWS_ENDPOINT_URL_LAMBDA: hole.endpoint } : undefined),
      },
    });
    expect(result.resources.find((r) => r.type === 'Custom::EcrPublicImage')!.data.ImageDigest).toBe(layers.root.digest);
    expect(hole.held()).toBeGreaterThan(0);
    expect(lines.some((l) => /run 1 of arn:aws:lambda:\S+ failed \(the handler did not finish within its timeout \(4 s\)\)/.test(l))).toBe(true);
    await expectPulledBack('retried', layers);
  } finally {
    await hole.close();
  }
}, 120_000);

test('a publish that cannot finish within its publishTimeout fails with what is done and left, before the service timeout', async () => {
  const lines: string[] = [];
  let error: unknown;
  try {
    await deploy('too-long', large, lines, { publishTimeout: Duration.seconds(8) });
  } catch (err) {
    error = err;
  }
  expect(error).toBeInstanceOf(LocalDeployError);
  const reason = (error as LocalDeployError).reason ?? '';
  expect(reason).toMatch(/^ImagePublishError: the publish did not finish within its publishTimeout of 8 s, in \d+ run\(s\): done: \d+ blob\(s\), \d+ bytes uploaded; left: \d+ blob\(s\) of \d+ bytes/);
  expect(reason).toContain('Raise publishTimeout');
  expect((error as LocalDeployError).logicalId).toMatch(/^Image/);
}, 120_000);

test('without its right to invoke itself, the publisher fails at its first hand-over with AccessDenied naming lambda:InvokeFunction', async () => {
  const outdir = synth('denied', layers);
  const file = path.join(outdir, 'LongPublish.template.json');
  const template = JSON.parse(fs.readFileSync(file, 'utf8'));
  const [policyId] = Object.entries<any>(template.Resources).find(([id, r]) => r.Type === 'AWS::IAM::Policy' && id.includes('SelfInvoke'))!;
  template.Resources[policyId].Properties.PolicyDocument.Statement = [
    { Action: 'logs:CreateLogStream', Effect: 'Allow', Resource: '*' },
  ];
  fs.writeFileSync(file, JSON.stringify(template));
  const lines: string[] = [];
  let error: unknown;
  try {
    await deployApp({ assemblyDir: outdir, dataDir: path.join(tmp, 'data-denied'), endpoint: emu.endpoint, log: (l) => lines.push(l), lambda: { retryDelaysMs: [100, 200] } });
  } catch (err) {
    error = err;
  }
  expect(error).toBeInstanceOf(LocalDeployError);
  expect((error as LocalDeployError).reason).toMatch(/^AccessDeniedException: handing the publish over to a new run of arn:aws:lambda:\S+ \(left: .*\): Invoke of .* was answered HTTP 403: .*lambda:InvokeFunction/);
}, 120_000);

/** Whether `event` is CloudFormation's own Create of the image (not a hand-over, not another resource's). */
function isFirstImageRun(event: unknown): boolean {
  const e = event as { ResourceType?: string; EcrPublicHandOver?: unknown };
  return e.ResourceType === 'Custom::EcrPublicImage' && e.EcrPublicHandOver === undefined;
}

/** A server that takes requests and never answers them: a run whose calls go there hangs until it is cut off. */
async function blackHole(): Promise<{ endpoint: string; held: () => number; close: () => Promise<void> }> {
  let held = 0;
  const sockets = new Set<Socket>();
  const server: Server = createServer((req) => {
    held++;
    req.resume();
  });
  server.on('connection', (s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    endpoint: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    held: () => held,
    close: () => new Promise<void>((resolve) => {
      server.close(() => resolve());
      for (const s of sockets) s.destroy();
    }),
  };
}
