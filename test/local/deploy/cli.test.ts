/**
 * The `ecr-public-local deploy` / `destroy` commands as real processes (lib/local/cli.js): against a `serve` process,
 * and with an emulator of their own on --data; exit codes, summaries and failure reasons.
 */
import { ChildProcess, execFile, spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { CreateRepositoryCommand, DescribeRepositoriesCommand, ECRPUBLICClient, GetRepositoryCatalogDataCommand } from '@aws-sdk/client-ecr-public';
import { App, CfnOutput, Fn, RemovalPolicy, Stack } from 'aws-cdk-lib';
import { PublicRegistry, PublicRepository } from '../../../src';
import { pushSmallImage } from '../../support/ecr-fixtures';
import { ecrPublicClient } from '../../support/emulator-harness';
import { errorName } from '../../support/rejections';
import { run } from '../../support/run-tool';
import { makeTempDir } from '../../support/temp-dirs';

const ROOT = path.resolve(__dirname, '..', '..', '..');
const CLI = path.join(ROOT, 'lib', 'local', 'cli.js');

let tmp: string;
const children: ChildProcess[] = [];
const clients: ECRPUBLICClient[] = [];

/** The environment of the subprocesses: nothing that would point them elsewhere or inject faults. */
function cleanEnv(): NodeJS.ProcessEnv {
  const env = { ...process.env };
  for (const key of ['AWS_ENDPOINT_URL_ECR_PUBLIC', 'AWS_ENDPOINT_URL_S3', 'AWS_ENDPOINT_URL', 'ECR_PUBLIC_LOCAL_FAULTS']) delete env[key];
  return env;
}

interface CliResult {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

function cli(args: string[]): Promise<CliResult> {
  return new Promise((resolve) => {
    execFile(process.execPath, [CLI, ...args], { cwd: tmp, env: cleanEnv(), timeout: 60_000 }, (err, stdout, stderr) => {
      const code = err ? (typeof (err as any).code === 'number' ? (err as any).code : -1) : 0;
      resolve({ code, stdout, stderr });
    });
  });
}

/** Starts `ecr-public-local serve --port 0 --data DIR` and waits for its endpoint line. */
function serve(dataDir: string): Promise<{ child: ChildProcess; endpoint: string; host: string }> {
  const child = spawn(process.execPath, [CLI, 'serve', '--port', '0', '--data', dataDir], { env: cleanEnv(), stdio: ['ignore', 'pipe', 'pipe'] });
  children.push(child);
  let stdout = '';
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`serve printed no endpoint within 20 s: ${stdout}`)), 20_000);
    child.stdout!.on('data', (c: Buffer) => {
      stdout += c.toString('utf8');
      const m = /^endpoint (http:\/\/\S+)$/m.exec(stdout);
      if (m) {
        clearTimeout(timer);
        resolve({ child, endpoint: m[1], host: new URL(m[1]).host });
      }
    });
    child.on('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`serve exited (${code}) before printing its endpoint: ${stdout}`));
    });
  });
}

async function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill('SIGTERM');
  await exited;
}

function client(endpoint: string): ECRPUBLICClient {
  const c = ecrPublicClient(endpoint, { maxAttempts: 1 });
  clients.push(c);
  return c;
}

function synth(outdir: string): string {
  const app = new App({ outdir });
  const stack = new Stack(app, 'CliStack');
  new PublicRegistry(stack, 'Registry', { displayName: 'CLI' });
  new PublicRepository(stack, 'Repo', { repositoryName: 'cli/app', removalPolicy: RemovalPolicy.DESTROY, description: 'From the CLI' });
  app.synth();
  return outdir;
}

function newestMtime(dir: string): number {
  let newest = 0;
  for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, entry.name);
    if (entry.isDirectory()) newest = Math.max(newest, newestMtime(p));
    else if (entry.name.endsWith('.ts')) newest = Math.max(newest, fs.statSync(p).mtimeMs);
  }
  return newest;
}

beforeAll(async () => {
  tmp = makeTempDir('local-deploy-cli-');
  const stale = !fs.existsSync(path.join(ROOT, 'lib', 'local', 'deploy', 'deploy.js'))
    || fs.statSync(CLI).mtimeMs < newestMtime(path.join(ROOT, 'local'));
  if (stale) await run('npx', ['projen', 'compile:local'], { cwd: ROOT, timeoutMs: 180_000 });
  expect(fs.existsSync(CLI)).toBe(true);
}, 200_000);

afterAll(async () => {
  for (const c of clients) c.destroy();
  await Promise.all(children.map(stop));
  if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
});

describe('ecr-public-local deploy / destroy', () => {
  test('against a serve process: deploy, redeploy unchanged, a failing destroy exits 1 with the reason', async () => {
    const dataDir = path.join(tmp, 'served');
    const served = await serve(dataDir);
    const outdir = synth(path.join(tmp, 'cdk.out'));

    const first = await cli(['deploy', outdir, '--endpoint', served.endpoint, '--data', dataDir]);
    expect(first).toMatchObject({ code: 0, stderr: expect.not.stringContaining('failed') });
    expect(first.stdout).toContain(`Deploying CliStack to the emulator at ${served.endpoint}, account 123456789012, region us-east-1`);
    expect(first.stdout).toMatch(new RegExp(`created +Repo[0-9A-F]{8} +Custom::EcrPublicRepository +cli/app +RepositoryUri=${served.host}/[a-z0-9]+/cli/app`));
    // The repository resource carries its catalog data and its policy: no other resource for them.
    expect(first.stdout).not.toMatch(/Custom::EcrPublicRepositoryCatalogData|Custom::EcrPublicRepositoryPolicy/);
    // One handler function (with its log group, role and role policy) per kind: registry, repository.
    expect(first.stdout).toMatch(new RegExp('skipped +8 resource\\(s\\) that are not ECR Public custom resources \\(nothing deployed locally\\): '
      + 'AWS::Logs::LogGroup x2, AWS::IAM::Role x2, AWS::IAM::Policy x2, AWS::Lambda::Function x2$', 'm'));
    expect(first.stdout).toContain('Deployed CliStack: 2 created');
    // Without --verbose, no handler output.
    expect(first.stdout).not.toContain('    | ');
    const c = client(served.endpoint);
    const repos = await c.send(new DescribeRepositoriesCommand({}));
    expect(repos.repositories?.map((r) => r.repositoryName)).toEqual(['cli/app']);
    expect(fs.existsSync(path.join(dataDir, 'deployments', 'CliStack.json'))).toBe(true);

    const second = await cli(['deploy', outdir, '--endpoint', served.endpoint, '--data', dataDir, '--verbose']);
    expect(second.code).toBe(0);
    expect(second.stdout).toContain('Deployed CliStack: 2 unchanged');
    // With --verbose, each skipped resource: the handlers' role policies, and no policy per resource.
    expect(second.stdout.match(/^ +skipped \S+ \(AWS::IAM::Policy\)$/gm)).toHaveLength(2);
    for (const kind of ['registry', 'repository']) {
      expect(second.stdout).toMatch(new RegExp(`^ +skipped EcrPublicHandler${kind}RoleDefaultPolicy[0-9A-F]{8} \\(AWS::IAM::Policy\\)$`, 'm'));
    }
    expect(second.stdout).not.toMatch(/skipped Repo\S*HandlerPolicy/);

    await pushSmallImage(c, 'cli/app', 'v1');
    const failed = await cli(['destroy', outdir, '--endpoint', served.endpoint, '--data', dataDir]);
    expect(failed.code).toBe(1);
    expect(failed.stdout).toMatch(/FAILED +Repo[0-9A-F]{8} \(Custom::EcrPublicRepository\) Delete: RepositoryNotEmptyException: /);
    // The registry, which depends on the repository, was deleted before it.
    expect(failed.stdout).toMatch(/deleted +Registry[0-9A-F]{8} +Custom::EcrPublicRegistry/);
    expect(failed.stdout).toContain('There is no rollback');
    expect(failed.stdout).toContain('    | ');
    expect(failed.stderr).toMatch(/^ecr-public-local: destroy failed: .*RepositoryNotEmptyException/m);
    expect((await c.send(new DescribeRepositoriesCommand({ repositoryNames: ['cli/app'] }))).repositories).toHaveLength(1);
    expect(fs.existsSync(path.join(dataDir, 'deployments', 'CliStack.json'))).toBe(true);
  });

  test('without --endpoint, deploy runs an emulator of its own on --data, which serve then opens', async () => {
    const dataDir = path.join(tmp, 'own');
    const outdir = synth(path.join(tmp, 'cdk.out.own'));
    const deployed = await cli(['deploy', outdir, '--data', dataDir, '--stack', 'CliStack']);
    expect(deployed.code).toBe(0);
    expect(deployed.stdout).toContain('Deploying CliStack to the in-process emulator at http://127.0.0.1:');
    expect(deployed.stdout).toContain('Deployed CliStack: 2 created');

    const served = await serve(dataDir);
    const c = client(served.endpoint);
    const repos = await c.send(new DescribeRepositoriesCommand({}));
    expect(repos.repositories?.map((r) => r.repositoryName)).toEqual(['cli/app']);
    await stop(served.child);

    const destroyed = await cli(['destroy', outdir, '--data', dataDir]);
    expect(destroyed.code).toBe(0);
    expect(destroyed.stdout).toContain('Destroyed CliStack: 2 deleted');
    const again = await serve(dataDir);
    expect(await errorName(client(again.endpoint).send(new DescribeRepositoriesCommand({ repositoryNames: ['cli/app'] }))))
      .toBe('RepositoryNotFoundException');
    await stop(again.child);
  });

  test('deploy prints the outputs and --outputs-file writes them as cdk deploy does; destroy refuses the option', async () => {
    const outdir = path.join(tmp, 'cdk.out.outputs');
    const app = new App({ outdir });
    const stack = new Stack(app, 'OutputsStack');
    const repo = new PublicRepository(stack, 'Repo', { repositoryName: 'cli/outputs', removalPolicy: RemovalPolicy.DESTROY });
    new CfnOutput(stack, 'RepositoryUri', { value: repo.repositoryUri });
    new CfnOutput(stack, 'Imported', { value: Fn.importValue('nobody-exports-this') });
    app.synth();
    const dataDir = path.join(tmp, 'outputs');
    const deployed = await cli(['deploy', outdir, '--data', dataDir, '--outputs-file', 'out/outputs.json']);
    expect(deployed.code).toBe(0);
    const uri = /^ {2}OutputsStack\.RepositoryUri = (127\.0\.0\.1:\d+\/[a-z0-9]+\/cli\/outputs)$/m.exec(deployed.stdout)?.[1];
    expect(uri).toBeDefined();
    // One it cannot resolve is named with the reason, and left out of the file.
    expect(deployed.stdout).toMatch(/^ {2}OutputsStack\.Imported: not known locally \(.*nobody-exports-this.*\)$/m);
    expect(JSON.parse(fs.readFileSync(path.join(tmp, 'out', 'outputs.json'), 'utf8'))).toEqual({ OutputsStack: { RepositoryUri: uri } });

    const destroyed = await cli(['destroy', outdir, '--data', dataDir, '--outputs-file', 'x.json']);
    expect(destroyed.code).toBe(1);
    expect(destroyed.stderr).toContain("Unknown option '--outputs-file'");
    expect((await cli(['destroy', outdir, '--data', dataDir])).code).toBe(0);
  });

  test('a failing deploy rolls back; with --no-rollback it stays, and deploying the previous app again converges', async () => {
    const dataDir = path.join(tmp, 'rollback');
    const served = await serve(dataDir);
    const c = client(served.endpoint);
    // Declaring a repository somebody else created fails.
    await c.send(new CreateRepositoryCommand({ repositoryName: 'held/taken' }));
    const app = (name: string, description: string, more: string[]): string => {
      const outdir = path.join(tmp, `cdk.out.rollback.${name.replace('/', '-')}.${description}.${more.length}`);
      const cdkApp = new App({ outdir });
      const stack = new Stack(cdkApp, 'HeldStack');
      new PublicRepository(stack, 'A', { repositoryName: name, removalPolicy: RemovalPolicy.DESTROY, description });
      for (const [i, other] of more.entries()) new PublicRepository(stack, `More${i}`, { repositoryName: other, removalPolicy: RemovalPolicy.DESTROY });
      cdkApp.synth();
      return outdir;
    };
    /** The repository's description, or the error naming it gives. */
    const description = async (name: string): Promise<string | undefined> => {
      const found = await c.send(new DescribeRepositoriesCommand({ repositoryNames: [name] })).then(() => undefined, (e: Error) => e.name);
      return found ?? (await c.send(new GetRepositoryCatalogDataCommand({ repositoryName: name }))).catalogData?.description;
    };
    const v1 = app('held/a', 'one', []);
    const args = ['--endpoint', served.endpoint, '--data', dataDir];
    expect((await cli(['deploy', v1, ...args])).code).toBe(0);

    const failed = await cli(['deploy', app('held/a', 'two', ['held/b', 'held/taken']), ...args]);
    expect(failed.code).toBe(1);
    expect(failed.stdout).toMatch(/^ +rolled back A[0-9A-F]{8} +Custom::EcrPublicRepository +held\/a +\(updated back to its previous properties\)/m);
    expect(failed.stdout.trimEnd().split('\n').pop()).toMatch(/^The deploy of HeldStack failed: More1[0-9A-F]{8} .*RepositoryAlreadyExistsException/);
    expect(failed.stderr).toMatch(/^ecr-public-local: deploy failed: .*RepositoryAlreadyExistsException/m);
    expect(await description('held/a')).toBe('one');
    expect(await description('held/b')).toBe('RepositoryNotFoundException');

    const kept = await cli(['deploy', app('held/a2', 'one', ['held/taken']), ...args, '--no-rollback']);
    expect(kept.code).toBe(1);
    expect(kept.stdout).toContain('not rolled back (no-rollback)');
    expect(await description('held/a2')).toBe('one');
    expect(await description('held/a')).toBe('one');

    const again = await cli(['deploy', v1, ...args]);
    expect(again.code).toBe(0);
    expect(again.stdout).toMatch(/^ +replaced +A[0-9A-F]{8} +Custom::EcrPublicRepository +held\/a +\(replaces held\/a2\)/m);
    expect(again.stdout).toMatch(/^ +deleted +A[0-9A-F]{8} +Custom::EcrPublicRepository +held\/a2 +\(replaced\)/m);
    expect((await c.send(new DescribeRepositoriesCommand({}))).repositories?.map((r) => r.repositoryName).sort()).toEqual(['held/a', 'held/taken']);
  });

  test('usage errors exit 1 with a message', async () => {
    const none = await cli(['deploy']);
    expect(none.code).toBe(1);
    expect(none.stderr).toContain('deploy takes one cloud assembly directory');
    const missing = await cli(['deploy', path.join(tmp, 'nowhere'), '--data', path.join(tmp, 'unused')]);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toMatch(/is not a cloud assembly \(no manifest\.json\)/);
    const wrongStack = await cli(['destroy', synth(path.join(tmp, 'cdk.out.usage')), '--stack', 'Nope', '--data', path.join(tmp, 'unused')]);
    expect(wrongStack.code).toBe(1);
    expect(wrongStack.stderr).toContain("No stack 'Nope' in the cloud assembly; it holds: CliStack");
  });

  test.each(['deploy', 'destroy', 'serve', 'sweep'])('%s --help prints its usage with every option it accepts, and exits 0', async (command) => {
    const help = await cli([command, '--help']);
    expect(help.code).toBe(0);
    expect(help.stderr).toBe('');
    expect(help.stdout).toContain(`Usage: ecr-public-local ${command}`);
    const options = command === 'serve'
      ? ['--port', '--data', '--account-id', '--registry-alias', '--bucket', '--throttle-rate', '--server-error-rate', '--drop-rate', '--latency-ms', '--seed', '--upload-expiry', '--clock-offset', '--rate-quotas']
      : command === 'sweep'
        ? ['--stack', '--now', '--dry-run', '--data', '--endpoint', '--account-id', '--verbose']
        : ['--stack', '--data', '--endpoint', '--account-id', '--port', '--verbose', ...(command === 'deploy' ? ['--outputs-file', '--no-rollback'] : [])];
    for (const option of options) expect(help.stdout).toMatch(new RegExp(`^  ${option}\\b`, 'm'));
    expect((await cli([command, '-h'])).stdout).toBe(help.stdout);
  });

  test('the synopsis lists every option of deploy and destroy', async () => {
    const usage = await cli(['--help']);
    expect(usage.code).toBe(0);
    for (const command of ['deploy', 'destroy']) {
      const line = usage.stdout.split('\n').find((l) => l.includes(`ecr-public-local ${command} <cloud assembly dir>`));
      for (const option of ['--stack', '--data', '--endpoint', '--account-id', '--port', '--verbose']) expect(line).toContain(option);
    }
  });
});
