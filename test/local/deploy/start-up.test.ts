/**
 * What a run of `ecr-public-local deploy` loads and starts, as a real process against a `serve` process: one that runs
 * a handler starts the asset server then (and the handler reads its logo through it) and checks the handler's code
 * without aws-cdk-lib; one that changes nothing loads neither aws-cdk-lib nor the emulator's own code, starts no
 * process and writes no deployment state. Speed itself is
 * measured by `npm run bench`, not here: these are the reasons it is fast, checked.
 */
import { execFile } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { GetRepositoryCatalogDataCommand } from '@aws-sdk/client-ecr-public';
import { App, Stack } from 'aws-cdk-lib';
import { Logo, PublicRepository } from '../../../src';
import { CLI, ensureCompiledCli } from '../../reliability/deployer-support';
import { ecrPublicClient, ServedEmulator, serveEmulator, stopServedEmulator } from '../../support/emulator-harness';
import { makeTempDir } from '../../support/temp-dirs';

const LOGO = path.resolve(__dirname, '..', '..', 'fixtures', 'logo.png');

/**
 * Loaded with `-r` before the CLI: records the processes it forks and, as it exits, the modules it loaded, into the
 * file `START_UP_RECORD` names.
 */
const RECORDER = `
const childProcess = require('child_process');
const fork = childProcess.fork;
const forks = [];
childProcess.fork = function (modulePath, ...rest) { forks.push(String(modulePath)); return fork.call(this, modulePath, ...rest); };
process.on('exit', () => {
  require('fs').writeFileSync(process.env.START_UP_RECORD, JSON.stringify({ modules: Object.keys(require.cache), forks }));
});
`;

let tmp: string;
let emu: ServedEmulator;

beforeAll(async () => {
  await ensureCompiledCli();
  tmp = makeTempDir('deploy-start-up-');
  fs.writeFileSync(path.join(tmp, 'recorder.js'), RECORDER);
  emu = await serveEmulator(path.join(tmp, 'emulator'), ['--iam']);
}, 120_000);

afterAll(async () => {
  await stopServedEmulator(emu);
  if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
});

interface Recorded {
  readonly code: number;
  readonly output: string;
  readonly modules: string[];
  readonly forks: string[];
}

/** `ecr-public-local deploy` of `assembly`, recorded. */
function deploy(assembly: string, dataDir: string): Promise<Recorded> {
  const record = path.join(tmp, `record-${Date.now()}.json`);
  const env: NodeJS.ProcessEnv = { ...process.env, START_UP_RECORD: record };
  for (const key of ['AWS_ENDPOINT_URL_ECR_PUBLIC', 'AWS_ENDPOINT_URL_S3', 'AWS_ENDPOINT_URL', 'NODE_OPTIONS']) delete env[key];
  const args = ['-r', path.join(tmp, 'recorder.js'), CLI, 'deploy', assembly, '--endpoint', emu.endpoint, '--data', dataDir];
  return new Promise((resolve) => {
    execFile(process.execPath, args, { env, timeout: 90_000 }, (err, stdout, stderr) => {
      const code = err ? (typeof (err as { code?: unknown }).code === 'number' ? (err as { code: number }).code : -1) : 0;
      const { modules, forks } = JSON.parse(fs.readFileSync(record, 'utf8')) as { modules: string[]; forks: string[] };
      resolve({ code, output: `${stdout}\n${stderr}`, modules, forks });
    });
  });
}

test('a deploy that changes nothing loads neither aws-cdk-lib nor the emulator, starts no process and writes no state', async () => {
  const outdir = path.join(tmp, 'cdk.out');
  const app = new App({ outdir });
  new PublicRepository(new Stack(app, 'StartUp'), 'Repository', { repositoryName: 'start-up/app', logo: Logo.fromFile(LOGO) });
  app.synth();
  const dataDir = path.join(tmp, 'data');

  const first = await deploy(outdir, dataDir);
  expect(first.output).toContain('Deployed StartUp: 1 created');
  expect(first.code).toBe(0);
  // The handler ran, as its role, and read the logo through the asset server it started.
  expect(first.forks.map((f) => path.basename(f))).toEqual(['asset-server-process.js']);
  const client = ecrPublicClient(emu.endpoint);
  try {
    const catalog = await client.send(new GetRepositoryCatalogDataCommand({ repositoryName: 'start-up/app' }));
    expect(catalog.catalogData?.logoUrl).toMatch(/^https?:\/\//);
  } finally {
    client.destroy();
  }
  // It checked the handler's code before running it, with its own reading of the CDK's hash: no aws-cdk-lib either.
  expect(first.modules.filter((m) => /[\\/]node_modules[\\/]aws-cdk-lib[\\/]/.test(m))).toEqual([]);
  expect(first.modules.filter((m) => /[\\/]lib[\\/]local[\\/]deploy[\\/]source-fingerprint\.js$/.test(m))).toHaveLength(1);

  const stateFile = path.join(dataDir, 'deployments', 'StartUp.json');
  const before = { text: fs.readFileSync(stateFile, 'utf8'), mtimeMs: fs.statSync(stateFile).mtimeMs };
  const again = await deploy(outdir, dataDir);
  expect(again.output).toContain('Deployed StartUp: 1 unchanged');
  expect(again.code).toBe(0);
  expect(again.forks).toEqual([]);
  const loaded = (pattern: RegExp) => again.modules.filter((m) => pattern.test(m));
  expect(loaded(/[\\/]node_modules[\\/]aws-cdk-lib[\\/]/)).toEqual([]);
  expect(loaded(/[\\/]node_modules[\\/]markdown-it[\\/]/)).toEqual([]);
  expect(loaded(/[\\/]lib[\\/]local[\\/](server|gallery[\\/].*)\.js$/)).toEqual([]);
  // Nor the code of what this app does not use: Docker image assets, the store (the emulator runs elsewhere).
  expect(loaded(/[\\/]lib[\\/]local[\\/](deploy[\\/]image-assets[\\/]publish|store[\\/]store)\.js$/)).toEqual([]);
  expect(fs.readFileSync(stateFile, 'utf8')).toBe(before.text);
  expect(fs.statSync(stateFile).mtimeMs).toBe(before.mtimeMs);
}, 180_000);
