/**
 * One process at a time on a data directory: a second `serve` on it is refused naming the first (its PID and
 * endpoint), a deploy without `--endpoint` uses the emulator already serving it, a second deploy at once is refused,
 * and a lock left by a killed process is taken over.
 */
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { CreateRepositoryCommand, DescribeRepositoriesCommand, ECRPUBLICClient } from '@aws-sdk/client-ecr-public';
import { tearDown } from './emulator-process';
import { openSession } from '../../local/deploy/session';
import { startEmulator } from '../../local/server';
import {
  ecrPublicClient, EMULATOR_CLI, ensureCompiledEmulator, killEmulator, serveEmulator, ServedEmulator,
} from '../support/emulator-harness';
import { makeTempDir } from '../support/temp-dirs';

/** Runs the CLI to its end (bounded): its exit code and output. */
function runCli(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [EMULATOR_CLI, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => { stdout += c.toString('utf8'); });
    child.stderr.on('data', (c: Buffer) => { stderr += c.toString('utf8'); });
    const timer = setTimeout(() => child.kill('SIGKILL'), 30_000);
    child.on('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

describe('one process at a time on a data directory', () => {
  let tmp: string;
  let served: ServedEmulator | undefined;
  let client: ECRPUBLICClient | undefined;

  beforeAll(async () => {
    await ensureCompiledEmulator();
    tmp = makeTempDir('store-lock-');
  }, 200_000);

  afterAll(async () => {
    await tearDown(client, served, tmp);
  });

  test('a second serve is refused with the PID and endpoint of the first, which keeps serving', async () => {
    const data = path.join(tmp, 'serve');
    served = await serveEmulator(data);
    client = ecrPublicClient(served.endpoint);
    await client.send(new CreateRepositoryCommand({ repositoryName: 'first/repo' }));

    const second = await runCli(['serve', '--port', '0', '--data', data]);
    expect(second.code).toBe(1);
    expect(second.stderr).toContain(`process ${served.child.pid}`);
    expect(second.stderr).toContain(served.endpoint);
    expect(second.stdout).not.toMatch(/^endpoint /m);

    // In this process too, and nothing of the first is disturbed.
    await expect(startEmulator({ dataDir: data })).rejects.toThrow(`process ${served.child.pid}`);
    const repos = await client.send(new DescribeRepositoriesCommand({}));
    expect(repos.repositories?.map((r) => r.repositoryName)).toEqual(['first/repo']);
  });

  test('a deploy without --endpoint uses the emulator serving the data directory; a second deploy at once is refused', async () => {
    const data = path.join(tmp, 'serve');
    const lines: string[] = [];
    const session = await openSession({ assemblyDir: tmp, dataDir: data, log: (l) => lines.push(l) });
    try {
      expect(session.emulator).toBeUndefined();
      expect(session.endpoint).toBe(served!.endpoint);
      expect(lines.join('\n')).toContain(`process ${served!.child.pid}`);
      await expect(openSession({ assemblyDir: tmp, dataDir: data, log: () => undefined })).rejects.toThrow(/deployment state .* is in use by process \d+/);
    } finally {
      await session.close();
    }
    // Released with the session: the next one opens.
    const next = await openSession({ assemblyDir: tmp, dataDir: data, log: () => undefined });
    await next.close();
  });

  test('a lock left by a killed emulator is taken over, and its data is there', async () => {
    const data = path.join(tmp, 'serve');
    await killEmulator(served);
    served = undefined;
    expect(fs.existsSync(path.join(data, 'emulator.lock'))).toBe(true);
    const emu = await startEmulator({ dataDir: data });
    try {
      const c = ecrPublicClient(emu.endpoint);
      const repos = await c.send(new DescribeRepositoriesCommand({}));
      expect(repos.repositories?.map((r) => r.repositoryName)).toEqual(['first/repo']);
      c.destroy();
    } finally {
      await emu.stop();
    }
    expect(fs.existsSync(path.join(data, 'emulator.lock'))).toBe(false);
  });

  test('of several processes finding the same stale lock at once, exactly one takes it', async () => {
    const lockFile = path.join(tmp, 'race', 'emulator.lock');
    fs.mkdirSync(path.dirname(lockFile), { recursive: true });
    // A lock whose process is gone: a PID that cannot be running.
    fs.writeFileSync(lockFile, JSON.stringify({ pid: 2 ** 22 + 1, command: 'cli.js serve', nonce: 'stale' }));
    const script = `
      const { DirectoryLock } = require(${JSON.stringify(path.join(path.dirname(EMULATOR_CLI), 'store', 'lock.js'))});
      try {
        DirectoryLock.acquire(${JSON.stringify(lockFile)}, 'the race');
        console.log('took');
        setTimeout(() => undefined, 2000);
      } catch (err) {
        console.log(err.name);
      }`;
    const outcomes = await Promise.all(Array.from({ length: 6 }, () => new Promise<string>((resolve) => {
      const child = spawn(process.execPath, ['-e', script], { stdio: ['ignore', 'pipe', 'inherit'] });
      let out = '';
      child.stdout.on('data', (c: Buffer) => { out += c.toString('utf8'); });
      child.on('exit', () => resolve(out.trim()));
    })));
    expect(outcomes.filter((o) => o === 'took')).toHaveLength(1);
    expect(outcomes.filter((o) => o === 'DirectoryLockedError')).toHaveLength(5);
  });
});
