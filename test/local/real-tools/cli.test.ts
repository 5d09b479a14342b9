/**
 * Real-process test of the `ecr-public-local` bin (lib/local/cli.js): it prints its endpoint, listens on 127.0.0.1,
 * and its --data directory survives a SIGKILL (repositories, catalog data, images and an upload in progress).
 */
import { ChildProcess, spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import {
  CompleteLayerUploadCommand,
  CreateRepositoryCommand,
  DescribeImagesCommand,
  DescribeRepositoriesCommand,
  ECRPUBLICClient,
  GetRepositoryCatalogDataCommand,
  InitiateLayerUploadCommand,
  UploadLayerPartCommand,
} from '@aws-sdk/client-ecr-public';
import { pushOciLayout } from '../../support/ecr-push';
import { ecrPublicClient, primaryRegistryAlias } from '../../support/emulator-harness';
import { OciLayoutImage, readOciLayout, sha256File } from '../../support/oci-layout';
import { run } from '../../support/run-tool';
import { skopeoCopy } from '../../support/skopeo';
import { makeTempDir, removeTempDir } from '../../support/temp-dirs';
import { buildImage } from '../../support/umoci-images';

const ROOT = path.resolve(__dirname, '..', '..', '..');
const CLI = path.join(ROOT, 'lib', 'local', 'cli.js');
const REPO = 'persist/app';

interface Served {
  readonly child: ChildProcess;
  readonly endpoint: string;
  readonly host: string;
  readonly output: () => string;
}

let tmp: string;
let dataDir: string;
const children: ChildProcess[] = [];
const clients: ECRPUBLICClient[] = [];

function newestMtime(dir: string): number {
  let newest = 0;
  for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, entry.name);
    if (entry.isDirectory()) newest = Math.max(newest, newestMtime(p));
    else if (entry.name.endsWith('.ts')) newest = Math.max(newest, fs.statSync(p).mtimeMs);
  }
  return newest;
}

/** Starts `node lib/local/cli.js serve --port 0 --data DIR` and waits for its `endpoint http://...` line. */
function serve(data: string): Promise<Served> {
  const env = { ...process.env };
  delete env.ECR_PUBLIC_LOCAL_FAULTS; // no injected faults in this test
  const child = spawn(process.execPath, [CLI, 'serve', '--port', '0', '--data', data], {
    cwd: ROOT,
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.push(child);
  let stdout = '';
  let stderr = '';
  const output = (): string => `--- stdout ---\n${stdout}\n--- stderr ---\n${stderr}`;
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`no endpoint line within 20 s\n${output()}`));
    }, 20_000);
    child.stderr!.on('data', (c: Buffer) => { stderr += c.toString('utf8'); });
    child.stdout!.on('data', (c: Buffer) => {
      stdout += c.toString('utf8');
      const m = /^endpoint (http:\/\/\S+)$/m.exec(stdout);
      if (m) {
        clearTimeout(timer);
        const url = new URL(m[1]);
        resolve({ child, endpoint: m[1], host: url.host, output });
      }
    });
    child.on('exit', (code, signal) => {
      clearTimeout(timer);
      reject(new Error(`the emulator exited (${code ?? signal}) before printing its endpoint\n${output()}`));
    });
  });
}

function kill9(served: Served): Promise<void> {
  return new Promise(resolve => {
    if (served.child.exitCode !== null || served.child.signalCode !== null) {
      resolve();
      return;
    }
    served.child.once('exit', () => resolve());
    served.child.kill('SIGKILL');
  });
}

function client(endpoint: string): ECRPUBLICClient {
  const c = ecrPublicClient(endpoint);
  clients.push(c);
  return c;
}

beforeAll(async () => {
  tmp = makeTempDir('cli-');
  dataDir = path.join(tmp, 'data');
  const stale = !fs.existsSync(CLI) || fs.statSync(CLI).mtimeMs < newestMtime(path.join(ROOT, 'local'));
  if (stale) {
    await run('npx', ['projen', 'compile:local'], { cwd: ROOT, timeoutMs: 180_000 });
  }
  expect(fs.existsSync(CLI)).toBe(true);
}, 200_000);

afterAll(() => {
  for (const c of clients) c.destroy();
  for (const child of children) {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  }
  removeTempDir(tmp);
});

describe('ecr-public-local serve', () => {
  test('prints its endpoint on 127.0.0.1, and its --data survives SIGKILL', async () => {
    const first = await serve(dataDir);
    const url = new URL(first.endpoint);
    expect(url.hostname).toBe('127.0.0.1');
    expect(Number(url.port)).toBeGreaterThan(0);
    expect((await fetch(`${first.endpoint}/v2/`)).status).toBe(200);

    const c1 = client(first.endpoint);
    const created = await c1.send(new CreateRepositoryCommand({
      repositoryName: REPO,
      catalogData: { description: 'persisted', operatingSystems: ['Linux'] },
    }));
    const alias = await primaryRegistryAlias(c1);
    expect(created.repository?.repositoryUri).toBe(`${first.host}/${alias}/${REPO}`);
    const image: OciLayoutImage = await buildImage(path.join(tmp, 'layout'), { tag: 'v1', layers: 2, files: { 'x.txt': 'x\n', 'y.txt': 'y\n' } });
    const digest = await pushOciLayout(c1, REPO, image.layoutDir, { tag: 'v1' });
    expect(digest).toBe(image.root.digest);

    await kill9(first);
    expect(first.child.signalCode).toBe('SIGKILL');

    const second = await serve(dataDir);
    const c2 = client(second.endpoint);
    const repos = await c2.send(new DescribeRepositoriesCommand({}));
    expect(repos.repositories?.map(r => r.repositoryName)).toEqual([REPO]);
    const repo = repos.repositories![0];
    expect(repo.repositoryArn).toBe(created.repository?.repositoryArn);
    expect(repo.createdAt?.getTime()).toBe(created.repository?.createdAt?.getTime());
    expect(repo.repositoryUri).toBe(`${second.host}/${alias}/${REPO}`);
    expect(await primaryRegistryAlias(c2)).toBe(alias);
    const catalog = await c2.send(new GetRepositoryCatalogDataCommand({ repositoryName: REPO }));
    expect(catalog.catalogData?.description).toBe('persisted');
    expect(catalog.catalogData?.operatingSystems).toEqual(['Linux']);

    const images = await c2.send(new DescribeImagesCommand({ repositoryName: REPO }));
    expect(images.imageDetails?.map(d => [d.imageDigest, d.imageTags])).toEqual([[digest, ['v1']]]);

    const out = path.join(tmp, 'pulled');
    await skopeoCopy(`docker://${second.host}/${alias}/${REPO}:v1`, `oci:${out}:v1`);
    const pulled = readOciLayout(out, 'v1');
    expect(pulled.root.bytes.equals(image.root.bytes)).toBe(true);
    for (const blob of pulled.blobs) expect(await sha256File(blob.path)).toBe(blob.digest);
    expect(pulled.blobs.map(b => b.digest)).toEqual(image.blobs.map(b => b.digest));

    await kill9(second);
  });

  test('a layer upload in progress survives SIGKILL', async () => {
    const data = path.join(tmp, 'upload-data');
    const first = await serve(data);
    const c1 = client(first.endpoint);
    await c1.send(new CreateRepositoryCommand({ repositoryName: 'persist/upload' }));
    const init = await c1.send(new InitiateLayerUploadCommand({ repositoryName: 'persist/upload' }));
    const uploadId = init.uploadId!;
    // Two parts: the first at the 5 MiB minimum for a non-final part, the second after the restart.
    const blob = randomBytes(5 * 1024 * 1024 + 1000);
    const firstPart = blob.subarray(0, 5 * 1024 * 1024);
    const part1 = await c1.send(new UploadLayerPartCommand({
      repositoryName: 'persist/upload', uploadId, partFirstByte: 0, partLastByte: firstPart.length - 1, layerPartBlob: firstPart,
    }));
    expect(part1.lastByteReceived).toBe(firstPart.length - 1);

    await kill9(first);
    const second = await serve(data);
    const c2 = client(second.endpoint);
    const part2 = await c2.send(new UploadLayerPartCommand({
      repositoryName: 'persist/upload',
      uploadId,
      partFirstByte: firstPart.length,
      partLastByte: blob.length - 1,
      layerPartBlob: blob.subarray(firstPart.length),
    }));
    expect(part2.lastByteReceived).toBe(blob.length - 1);
    const digest = 'sha256:' + createHash('sha256').update(blob).digest('hex');
    const done = await c2.send(new CompleteLayerUploadCommand({ repositoryName: 'persist/upload', uploadId, layerDigests: [digest] }));
    expect(done.layerDigest).toBe(digest);
    await kill9(second);
  });
});
