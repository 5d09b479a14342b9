/**
 * What `ecr-public-local deploy` (a child process) runs and copies from a cloud assembly: a handler's `index.js` that is
 * a symbolic link to a file outside the assembly is not loaded, a link inside a handler's asset folder to a file
 * outside is not copied into the data directory, a catalog text asset (the repository handler reads it from the
 * deployer's S3 endpoint) that is a link to a file outside is not served, and a handler changed after synthesis is not
 * run. Each crafted handler would write a marker file if it ran.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { DescribeRepositoriesCommand } from '@aws-sdk/client-ecr-public';
import { ensureCompiledCli, startCli, synthApp } from './deployer-support';
import { filesContaining } from './support';
import { RunningEmulator, startEmulator } from '../../local';
import { ecrPublicClient } from '../support/emulator-harness';
import { makeTempDir } from '../support/temp-dirs';

let tmp: string;
let emu: RunningEmulator;
let pristine: string;

beforeAll(async () => {
  await ensureCompiledCli();
  tmp = makeTempDir('deployer-trust-');
  emu = await startEmulator({});
  pristine = synthApp(path.join(tmp, 'cdk.out.pristine'), { stackName: 'TrustDeploy', repositories: ['trust/app'] });
}, 120_000);

afterAll(async () => {
  await emu?.stop();
  if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
});

/** A copy of the assembly, and the folder of the repository handler's code asset in it. */
function assemblyCopy(name: string): { outdir: string; handlerDir: string } {
  const outdir = path.join(tmp, name);
  fs.cpSync(pristine, outdir, { recursive: true });
  const handlerDir = fs.readdirSync(outdir).map((n) => path.join(outdir, n))
    .find((d) => d.includes('asset.') && fs.existsSync(path.join(d, 'index.js')) && fs.readFileSync(path.join(d, 'index.js'), 'utf8').includes('create-request'));
  if (!handlerDir) throw new Error('no repository handler asset in the assembly');
  return { outdir, handlerDir };
}

/** A handler module that writes `marker` when it is loaded. */
function markerHandler(marker: string): string {
  return `require('fs').writeFileSync(${JSON.stringify(marker)}, 'ran');\nexports.handler = async () => {};\n`;
}

async function deploy(outdir: string, dataDir: string): Promise<{ code: number | null; output: string }> {
  const done = await startCli(['deploy', outdir, '--endpoint', emu.endpoint, '--data', dataDir]).exited;
  return { code: done.code, output: `${done.stdout}\n${done.stderr}` };
}

async function repositoryExists(name: string): Promise<boolean> {
  const client = ecrPublicClient(emu.endpoint, { maxAttempts: 1 });
  try {
    const out = await client.send(new DescribeRepositoriesCommand({}));
    return (out.repositories ?? []).some((r) => r.repositoryName === name);
  } finally {
    client.destroy();
  }
}

test('an index.js that links to a file outside the assembly is not loaded', async () => {
  const { outdir, handlerDir } = assemblyCopy('cdk.out.linked-index');
  const marker = path.join(tmp, 'linked-index.marker');
  const outside = path.join(tmp, 'outside-index.js');
  fs.writeFileSync(outside, markerHandler(marker));
  fs.rmSync(path.join(handlerDir, 'index.js'));
  fs.symlinkSync(outside, path.join(handlerDir, 'index.js'));

  const result = await deploy(outdir, path.join(tmp, 'data.linked-index'));
  expect(result.code).toBe(1);
  expect(result.output).toMatch(/'index\.js' is a symbolic link to '[^']*outside-index\.js', which is not inside the cloud assembly/);
  expect(fs.existsSync(marker)).toBe(false);
  expect(await repositoryExists('trust/app')).toBe(false);
}, 60_000);

test('a link inside a handler asset to a file outside the assembly is not copied into the data directory', async () => {
  const { outdir, handlerDir } = assemblyCopy('cdk.out.linked-file');
  const secret = Buffer.from(`secret-${process.pid}-${Date.now()}`);
  const outside = path.join(tmp, 'outside-secret.txt');
  fs.writeFileSync(outside, secret);
  fs.symlinkSync(outside, path.join(handlerDir, 'extra.txt'));
  const dataDir = path.join(tmp, 'data.linked-file');

  const result = await deploy(outdir, dataDir);
  expect(result.code).toBe(1);
  expect(result.output).toMatch(/'extra\.txt' is a symbolic link to '[^']*outside-secret\.txt', which is not inside the cloud assembly/);
  expect(filesContaining([dataDir], secret)).toEqual([]);
  expect(await repositoryExists('trust/app')).toBe(false);
}, 60_000);

test('a catalog text asset that links to a file outside the assembly is not served', async () => {
  const outdir = path.join(tmp, 'cdk.out.linked-catalog');
  fs.cpSync(pristine, outdir, { recursive: true });
  // The repository's about text: a file asset (`asset.<hash>.md`), the only .md in the assembly.
  const texts = fs.readdirSync(outdir).filter((n) => /^asset\.[0-9a-f]{64}\.md$/.test(n));
  expect(texts).toHaveLength(1);
  expect(fs.readFileSync(path.join(outdir, texts[0]), 'utf8')).toBe('# trust/app');
  const secret = `secret-catalog-${process.pid}-${Date.now()}`;
  const outside = path.join(tmp, 'outside-about.md');
  fs.writeFileSync(outside, secret);
  fs.rmSync(path.join(outdir, texts[0]));
  fs.symlinkSync(outside, path.join(outdir, texts[0]));
  const dataDir = path.join(tmp, 'data.linked-catalog');

  const result = await deploy(outdir, dataDir);
  expect(result.output).toContain(`warning: asset ${texts[0].slice('asset.'.length, -'.md'.length)} is not served: its source '${texts[0]}' lies outside the cloud assembly`);
  // The handler reads the whole catalog before it creates anything: without its text, nothing is created.
  expect(result.code).toBe(1);
  expect(result.output).toMatch(/\(Custom::EcrPublicRepository\) Create failed: NoSuchKey/);
  expect(await repositoryExists('trust/app')).toBe(false);
  expect(result.output).not.toContain(secret);
  expect(filesContaining([dataDir], Buffer.from(secret))).toEqual([]);
}, 60_000);

test('a handler changed after synthesis does not run', async () => {
  const { outdir, handlerDir } = assemblyCopy('cdk.out.changed');
  const marker = path.join(tmp, 'changed.marker');
  fs.writeFileSync(path.join(handlerDir, 'index.js'), markerHandler(marker));

  const result = await deploy(outdir, path.join(tmp, 'data.changed'));
  expect(result.code).toBe(1);
  expect(result.output).toMatch(/its contents hash to [0-9a-f]{64}, not to its asset hash [0-9a-f]{64}: it changed after it was synthesized/);
  expect(fs.existsSync(marker)).toBe(false);
}, 60_000);

test('the untouched assembly deploys (the checks pass what the CDK wrote)', async () => {
  const { outdir } = assemblyCopy('cdk.out.untouched');
  const result = await deploy(outdir, path.join(tmp, 'data.untouched'));
  expect(result).toEqual({ code: 0, output: expect.stringContaining('Deployed TrustDeploy') });
  expect(await repositoryExists('trust/app')).toBe(true);
}, 60_000);
