/**
 * The one harness that starts the `ecr-public-local` emulator for tests and the benchmark: in this process
 * (`startInProcess`) or as a real process of its own (`serveEmulator`: the
 * compiled CLI on a data directory, killed with SIGKILL or stopped with SIGTERM); an ECR Public client for it; the
 * registry's alias and push password. It uses no test framework, so that the benchmark runs it too.
 */
import { ChildProcess, spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { DescribeRegistriesCommand, ECRPUBLICClient, GetAuthorizationTokenCommand } from '@aws-sdk/client-ecr-public';
import { run } from './run-tool';
import { EmulatorOptions, RunningEmulator, startEmulator } from '../../local';

export type { EmulatorOptions, RunningEmulator };

const ROOT = path.resolve(__dirname, '..', '..');
/** The compiled emulator CLI (`npx projen compile:local`). */
export const EMULATOR_CLI = path.join(ROOT, 'lib', 'local', 'cli.js');

/** The static credentials of every test client: the account root's key pair of `serve --iam` (without IAM any will do). */
export const LOCAL_CREDENTIALS = { accessKeyId: 'local', secretAccessKey: 'local' };

export interface ClientOptions {
  /** @default 'us-east-1' */
  readonly region?: string;
  /**
   * Attempts per call; 1 shows every error exactly as the emulator answered it.
   * @default the SDK's (3)
   */
  readonly maxAttempts?: number;
}

/** An ECR Public client for a local endpoint. */
export function ecrPublicClient(endpoint: string, options: ClientOptions = {}): ECRPUBLICClient {
  return new ECRPUBLICClient({ endpoint, region: options.region ?? 'us-east-1', credentials: LOCAL_CREDENTIALS, maxAttempts: options.maxAttempts });
}

/** The primary alias of the caller's registry (the first alias when none is marked primary). */
export async function primaryRegistryAlias(client: ECRPUBLICClient): Promise<string> {
  const out = await client.send(new DescribeRegistriesCommand({}));
  const registry = out.registries?.[0];
  const alias = registry?.aliases?.find(a => a.primaryRegistryAlias)?.name ?? registry?.aliases?.[0]?.name;
  if (!alias) throw new Error(`DescribeRegistries returned no alias: ${JSON.stringify(out.registries)}`);
  return alias;
}

/** What `aws ecr-public get-login-password` prints: GetAuthorizationToken's token decoded, after `AWS:`. */
export async function loginPassword(client: ECRPUBLICClient): Promise<string> {
  const out = await client.send(new GetAuthorizationTokenCommand({}));
  const decoded = Buffer.from(out.authorizationData?.authorizationToken ?? '', 'base64').toString('utf8');
  if (!decoded.startsWith('AWS:')) throw new Error(`unexpected authorization token: ${decoded}`);
  return decoded.slice('AWS:'.length);
}

/** An `Authorization: Basic` header value. */
export function basicAuthorization(user: string, password: string): string {
  return `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;
}

// ---------------------------------------------------------------------------------------------------------------
// In this process

/** An emulator started in this process, with a client for it. */
export interface InProcessEmulator {
  emu: RunningEmulator;
  client: ECRPUBLICClient;
}

/** Starts an emulator on a free port (in memory unless `options.dataDir` is given) and a client for it. */
export async function startInProcess(options: EmulatorOptions = {}, client: ClientOptions = {}): Promise<InProcessEmulator> {
  const emu = await startEmulator({ port: 0, ...options });
  return { emu, client: ecrPublicClient(emu.endpoint, client) };
}

/** Stops what `startInProcess` started. */
export async function stopInProcess(h: InProcessEmulator | undefined): Promise<void> {
  if (!h) return;
  h.client?.destroy();
  await h.emu?.stop();
}

// ---------------------------------------------------------------------------------------------------------------
// A process of its own

export interface ServedEmulator {
  readonly child: ChildProcess;
  readonly endpoint: string;
  /** `127.0.0.1:PORT`. */
  readonly host: string;
  readonly port: number;
  /** What the process printed so far (the last 64 KiB of each stream). */
  readonly output: () => string;
}

export interface ServeOptions {
  /**
   * Options of node itself, before the CLI (e.g. `--cpu-prof`).
   * @default none
   */
  readonly nodeFlags?: readonly string[];
}

/** Compiles the emulator into lib/local when it is missing or older than its sources. */
export async function ensureCompiledEmulator(): Promise<void> {
  const newest = (dir: string): number => fs.readdirSync(dir, { withFileTypes: true }).reduce((m, e) => {
    const p = path.join(dir, e.name);
    return Math.max(m, e.isDirectory() ? newest(p) : e.name.endsWith('.ts') ? fs.statSync(p).mtimeMs : 0);
  }, 0);
  if (!fs.existsSync(EMULATOR_CLI) || fs.statSync(EMULATOR_CLI).mtimeMs < newest(path.join(ROOT, 'local'))) {
    await run('npx', ['projen', 'compile:local'], { cwd: ROOT, timeoutMs: 180_000 });
  }
}

/**
 * Starts `ecr-public-local serve --port 0 --data DIR ...extra` and waits for its endpoint line. Faults from the
 * environment (`ECR_PUBLIC_LOCAL_FAULTS`) are not passed on: a served emulator behaves unless `extra` says otherwise.
 */
export function serveEmulator(dataDir: string, extra: readonly string[] = [], options: ServeOptions = {}): Promise<ServedEmulator> {
  const env = { ...process.env };
  delete env.ECR_PUBLIC_LOCAL_FAULTS;
  const child = spawn(process.execPath, [...(options.nodeFlags ?? []), EMULATOR_CLI, 'serve', '--port', '0', '--data', dataDir, ...extra], {
    cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'],
  });
  const keep = (text: string): string => text.slice(-64 * 1024);
  let stdout = '';
  let stderr = '';
  let endpoint: string | undefined;
  const output = (): string => `--- stdout ---\n${stdout}\n--- stderr ---\n${stderr}`;
  return new Promise((resolve, reject) => {
    child.stderr!.on('data', (c: Buffer) => { stderr = keep(stderr + c.toString('utf8')); });
    child.stdout!.on('data', (c: Buffer) => {
      stdout = keep(stdout + c.toString('utf8'));
      const m = endpoint === undefined ? /^endpoint (http:\/\/\S+)$/m.exec(stdout) : null;
      if (m) {
        endpoint = m[1];
        const url = new URL(endpoint);
        resolve({ child, endpoint, host: url.host, port: Number(url.port), output });
      }
    });
    child.on('exit', (code, signal) => reject(new Error(`the emulator exited (${code ?? signal}) before printing its endpoint\n${output()}`)));
  });
}

function endServed(served: ServedEmulator | undefined, signal: NodeJS.Signals): Promise<void> {
  return new Promise((resolve) => {
    if (!served || served.child.exitCode !== null || served.child.signalCode !== null) return resolve();
    served.child.once('exit', () => resolve());
    served.child.kill(signal);
  });
}

/** SIGKILL, and wait for the process to be gone. */
export function killEmulator(served: ServedEmulator | undefined): Promise<void> {
  return endServed(served, 'SIGKILL');
}

/** SIGTERM, and wait for the process to exit (it finishes its writes, and a `--cpu-prof` profile, first). */
export function stopServedEmulator(served: ServedEmulator | undefined): Promise<void> {
  return endServed(served, 'SIGTERM');
}
