/**
 * The processes of `npm run bench`: commands measured under GNU time, the CPU a running process has used, skopeo, the
 * emulator in a process of its own, and the confinement of a process to some cores (`taskset`).
 */
import { execFile, execFileSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { promisify } from 'util';
import { Measured, MiB } from './report';
import { ServedEmulator, serveEmulator } from '../test/support/emulator-harness';

export const run = promisify(execFile);
const CLOCK_TICKS = 100;

/** The emulator in a process of its own, serving `bucketDir` as bucket `assets`. */
export function startEmulatorProcess(dataDir: string, bucketDir: string, extra: string[] = [], nodeFlags: string[] = []): Promise<ServedEmulator> {
  return serveEmulator(dataDir, ['--bucket', `assets=${bucketDir}`, ...extra], { nodeFlags });
}

/** CPU seconds (user + system) a running process has used so far. */
export function cpuOf(pid: number): number {
  const fields = fs.readFileSync(`/proc/${pid}/stat`, 'utf8').replace(/^.*\) /, '').split(' ');
  return (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS;
}

/**
 * Runs a command under GNU time: wall time including start-up, CPU (user + system, with its children), peak RSS. With
 * `cpus` (a `taskset` CPU list such as `0`), the command runs confined to those cores.
 */
export async function measured(command: string, args: string[], env: NodeJS.ProcessEnv = process.env, cpus?: string): Promise<Measured> {
  const report = path.join(os.tmpdir(), `bench-time-${process.pid}-${Date.now()}`);
  const confined = cpus === undefined ? [command, ...args] : ['taskset', '-c', cpus, command, ...args];
  try {
    const { stdout } = await run('/usr/bin/time', ['-f', '%e %U %S %M', '-o', report, ...confined], { env, maxBuffer: 256 * MiB });
    const [wall, user, sys, rssKb] = fs.readFileSync(report, 'utf8').trim().split('\n').pop()!.split(' ').map(Number);
    return { wall, cpu: user + sys, rssMb: rssKb / 1024, stdout };
  } finally {
    fs.rmSync(report, { force: true });
  }
}

/**
 * Whether processes can be confined to core 0 and core 1 apart: `taskset` (util-linux) runs and this process may use
 * both cores. Otherwise the one-core rows run unconfined, and the report says so.
 */
export function canConfineToTwoCores(): boolean {
  if (os.cpus().length < 2) return false;
  try {
    for (const cpu of ['0', '1']) execFileSync('taskset', ['-c', cpu, 'true'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

/** Confines a running process, every thread of it, to the cores of `cpus` (threads it starts later inherit them). */
export function confine(pid: number, cpus: string): void {
  execFileSync('taskset', ['-a', '-pc', cpus, String(pid)], { stdio: 'ignore' });
}

/** skopeo keeps a blob-info cache that turns a second push of a blob into a mount: every timed copy starts without it. */
function clearSkopeoCache(): void {
  for (const file of ['/var/lib/containers/cache/blob-info-cache-v1.boltdb', path.join(os.homedir(), '.local/share/containers/cache/blob-info-cache-v1.boltdb')]) {
    fs.rmSync(file, { force: true });
  }
}

/** `skopeo copy` of `source` to `destination`, measured, on the cores of `cpus` when given. */
export async function skopeoCopy(source: string, destination: string, extra: string[] = [], cpus?: string): Promise<Measured> {
  clearSkopeoCache();
  return measured('skopeo', ['copy', '--insecure-policy', '--dest-tls-verify=false', ...extra, source, destination], process.env, cpus);
}
