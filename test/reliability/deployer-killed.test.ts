/**
 * `ecr-public-local deploy` SIGKILLed at several points and run again: the second run ends where an uninterrupted
 * deploy ends (the same repositories, tags, catalogs and policies, the same physical ids in the state, nothing left in
 * flight), and no repository is orphaned.
 *
 * The deployer runs as a child process and reaches the emulator through a proxy in this process, which holds (never
 * forwards, never answers) the first request past the kill point: the child is killed while it waits for the answer.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { ECRPUBLICClient } from '@aws-sdk/client-ecr-public';
import { comparableSnapshot, ensureCompiledCli, physicalIds, readState, startCli, synthApp, testClient, TestApp } from './deployer-support';
import { ApiProxy, ProxiedCall, startApiProxy } from './support';
import { RunningEmulator, startEmulator } from '../../local';
import { tempDir } from '../lambda/support';

const V1: TestApp = { stackName: 'KilledDeploy', repositories: ['killed/one', 'killed/two'] };
/** The second repository renamed: a replacement, whose old repository is deleted in the cleanup. */
const V2: TestApp = { stackName: 'KilledDeploy', repositories: ['killed/one', 'killed/renamed'] };

let tmp: string;
let v1: string;
let v2: string;
const running: Array<{ emu: RunningEmulator; proxy: ApiProxy; client: ECRPUBLICClient }> = [];

beforeAll(async () => {
  await ensureCompiledCli();
  tmp = tempDir('deployer-killed-');
  v1 = synthApp(path.join(tmp, 'cdk.out.v1'), V1);
  v2 = synthApp(path.join(tmp, 'cdk.out.v2'), V2);
}, 120_000);

afterAll(async () => {
  for (const r of running) {
    r.client.destroy();
    await r.proxy.close();
    await r.emu.stop();
  }
  if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
});

/** A fresh emulator (in memory) behind a proxy, and a data directory for the deployer. */
async function environment(): Promise<{ proxy: ApiProxy; client: ECRPUBLICClient; dataDir: string }> {
  const emu = await startEmulator({});
  const proxy = await startApiProxy(emu.endpoint);
  const client = testClient(emu.endpoint);
  running.push({ emu, proxy, client });
  return { proxy, client, dataDir: fs.mkdtempSync(path.join(tmp, 'data-')) };
}

/** Deploys `outdir` to the end; fails with the output unless it succeeded. */
async function deploy(outdir: string, endpoint: string, dataDir: string): Promise<string> {
  const done = await startCli(['deploy', outdir, '--endpoint', endpoint, '--data', dataDir]).exited;
  expect({ code: done.code, output: done.code === 0 ? '' : `${done.stdout}\n${done.stderr}` }).toEqual({ code: 0, output: '' });
  return done.stdout;
}

/** Deploys `outdir`, holds the first request `holdWhen` picks, and SIGKILLs the deployer while it waits for it. */
type KillPoint = (call: ProxiedCall, seen: ProxiedCall[]) => boolean;

async function deployAndKill(outdir: string, proxy: ApiProxy, dataDir: string, holdWhen: KillPoint): Promise<ProxiedCall> {
  const first = proxy.calls.length;
  let holding = false;
  proxy.decide = (call) => {
    if (holding || holdWhen(call, proxy.calls.slice(first))) {
      holding = true;
      return 'hold';
    }
    return 'forward';
  };
  const run = startCli(['deploy', outdir, '--endpoint', proxy.endpoint, '--data', dataDir]);
  let ended = false;
  void run.exited.then(() => { ended = true; });
  let held: ProxiedCall | undefined;
  while (!held && !ended) {
    held = proxy.calls.slice(first).find((c) => c.held);
    if (!held) await new Promise((r) => setTimeout(r, 20));
  }
  if (!held) throw new Error(`the deploy ended before the kill point:\n${(await run.exited).stdout}`);
  run.child.kill('SIGKILL');
  expect((await run.exited).signal).toBe('SIGKILL');
  proxy.decide = () => 'forward';
  proxy.releaseHeld();
  return held;
}

/** What an uninterrupted deploy of `outdirs` (in order) ends with. */
async function reference(outdirs: string[]): Promise<{ snapshot: unknown; ids: Record<string, string> }> {
  const env = await environment();
  for (const outdir of outdirs) await deploy(outdir, env.proxy.endpoint, env.dataDir);
  return { snapshot: await comparableSnapshot(env.client), ids: physicalIds(readState(env.dataDir, V1.stackName)) };
}

const nth = (operation: string, n: number): KillPoint => (call, seen) =>
  call.operation === operation && seen.filter((c) => c.operation === operation).length === n;

/** Kill points of a first deploy: the request held, by operation and occurrence. */
const FIRST_DEPLOY_POINTS: Array<[string, KillPoint]> = [
  ['the account check', nth('DescribeRegistries', 1)],
  ['the first CreateRepository, before it reaches the emulator', nth('CreateRepository', 1)],
  ['the removal of the create marker, after CreateRepository succeeded', nth('UntagResource', 1)],
  ['the first catalog update', nth('PutRepositoryCatalogData', 1)],
  ['the second CreateRepository', nth('CreateRepository', 2)],
  ['the second policy', nth('SetRepositoryPolicy', 2)],
];

describe('a first deploy killed and run again ends as an uninterrupted deploy', () => {
  let expected: { snapshot: unknown; ids: Record<string, string> };
  beforeAll(async () => {
    expected = await reference([v1]);
  }, 120_000);

  test.each(FIRST_DEPLOY_POINTS)('killed while waiting for %s', async (_what, holdWhen) => {
    const env = await environment();
    await deployAndKill(v1, env.proxy, env.dataDir, holdWhen);
    await deploy(v1, env.proxy.endpoint, env.dataDir);
    expect(await comparableSnapshot(env.client)).toEqual(expected.snapshot);
    const state = readState(env.dataDir, V1.stackName);
    expect(physicalIds(state)).toEqual(expected.ids);
    expect(state.inFlight).toEqual([]);
    expect(state.pendingDeletes).toEqual([]);
  }, 120_000);
});

describe('an update killed and run again ends as an uninterrupted update', () => {
  let expected: { snapshot: unknown; ids: Record<string, string> };
  beforeAll(async () => {
    expected = await reference([v1, v2]);
  }, 120_000);

  test.each<[string, KillPoint]>([
    ['the CreateRepository of the renamed repository', nth('CreateRepository', 1)],
    ['the removal of its create marker', nth('UntagResource', 1)],
    ['the DeleteRepository of the replaced repository', nth('DeleteRepository', 1)],
  ])('killed while waiting for %s', async (_what, holdWhen) => {
    const env = await environment();
    await deploy(v1, env.proxy.endpoint, env.dataDir);
    await deployAndKill(v2, env.proxy, env.dataDir, holdWhen);
    await deploy(v2, env.proxy.endpoint, env.dataDir);
    expect(await comparableSnapshot(env.client)).toEqual(expected.snapshot);
    const state = readState(env.dataDir, V2.stackName);
    expect(physicalIds(state)).toEqual(expected.ids);
    expect(state.inFlight).toEqual([]);
    expect(state.pendingDeletes).toEqual([]);
  }, 120_000);
});
