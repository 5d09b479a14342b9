/**
 * `ecr-public-local deploy` SIGKILLed at several points and run again: the second run ends where an uninterrupted
 * deploy ends (the same repositories, tags, catalogs and policies, the same physical ids in the state, nothing left in
 * flight), and no repository is orphaned.
 *
 * The deployer runs as a child process and reaches the emulator through a proxy in this process, which holds (never
 * forwards, never answers) the request at the kill point and everything after it: the child is killed while it waits
 * for the answer. A repository is one resource whose handler creates it, puts its catalog, sets its policy, answers,
 * and then removes its create marker: most kill points lie inside that one request. The deployer deploys independent
 * resources at once, so the apps whose kill points name "the first" or "the second" repository's call make each
 * repository depend on the one before (one request at a time); the points about requests side by side use an app of
 * independent repositories and hold one request of each.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { CreateRepositoryCommand, ECRPUBLICClient } from '@aws-sdk/client-ecr-public';
import { comparableSnapshot, ensureCompiledCli, physicalIds, readState, startCli, synthApp, TestApp } from './deployer-support';
import { ApiProxy, ProxiedCall, startApiProxy } from './support';
import { RunningEmulator } from '../../local';
import { startInProcess } from '../support/emulator-harness';
import { makeTempDir } from '../support/temp-dirs';

/** Two repositories, the second after the first, and the registry after both. */
const V1: TestApp = { stackName: 'KilledDeploy', repositories: ['killed/one', 'killed/two'], sequential: true };
/** The second repository renamed: a replacement, whose old repository is deleted in the cleanup. */
const V2: TestApp = { ...V1, repositories: ['killed/one', 'killed/renamed'] };
/** V1's repositories independent of each other: the deployer runs their requests side by side. */
const CONCURRENT: TestApp = { ...V1, sequential: false };
/** A repository somebody else holds. */
const TAKEN = 'killed/taken';
/** V2 and then a third repository named as TAKEN: the deploy fails after the rename, and its rollback deletes the new name. */
const FAILING: TestApp = { ...V1, repositories: ['killed/one', 'killed/renamed', TAKEN] };

let tmp: string;
let v1: string;
let v2: string;
let concurrent: string;
let failing: string;
const running: Array<{ emu: RunningEmulator; proxy: ApiProxy; client: ECRPUBLICClient }> = [];

beforeAll(async () => {
  await ensureCompiledCli();
  tmp = makeTempDir('deployer-killed-');
  v1 = synthApp(path.join(tmp, 'cdk.out.v1'), V1);
  v2 = synthApp(path.join(tmp, 'cdk.out.v2'), V2);
  concurrent = synthApp(path.join(tmp, 'cdk.out.concurrent'), CONCURRENT);
  failing = synthApp(path.join(tmp, 'cdk.out.failing'), FAILING);
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
  const { emu, client } = await startInProcess({}, { maxAttempts: 1 });
  const proxy = await startApiProxy(emu.endpoint);
  running.push({ emu, proxy, client });
  return { proxy, client, dataDir: fs.mkdtempSync(path.join(tmp, 'data-')) };
}

/** Deploys `outdir` to the end; fails with the output unless it succeeded. */
async function deploy(outdir: string, endpoint: string, dataDir: string): Promise<string> {
  const done = await startCli(['deploy', outdir, '--endpoint', endpoint, '--data', dataDir]).exited;
  expect({ code: done.code, output: done.code === 0 ? '' : `${done.stdout}\n${done.stderr}` }).toEqual({ code: 0, output: '' });
  return done.stdout;
}

/** Where a deploy is killed. */
interface KillPoint {
  readonly what: string;
  /** Picks the requests to hold; `seen` is what the proxy saw of this deploy, `call` included. */
  readonly hold: (call: ProxiedCall, seen: ProxiedCall[]) => boolean;
  /**
   * How many picked requests the kill waits for (requests of resources deployed side by side): until then the requests
   * `hold` does not pick are forwarded; from then on every request is held. @default 1
   */
  readonly picked?: number;
  /** The requests `hold` picked, as `describeCall` names them: the kill happened where `what` says. */
  readonly held: string[];
  /** The requests the state records in flight at the kill, as `describeInFlight` names them. */
  readonly inFlight: string[];
}

/** `<operation> <repository>` (the repository from the name or the ARN the request carries). */
function describeCall(call: ProxiedCall): string {
  const repository = call.input?.repositoryName ?? /:repository\/(.+)$/.exec(String(call.input?.resourceArn ?? ''))?.[1];
  return repository === undefined ? call.operation : `${call.operation} ${repository}`;
}

/** `<request type> <repository name or resource type>`, and whether the handler's response was recorded. */
function describeInFlight(request: any): string {
  const r = request.request;
  return `${r.RequestType} ${r.ResourceProperties.RepositoryName ?? r.ResourceType}${request.response ? ' (answered)' : ''}`;
}

/** The requests the state of `dataDir` records in flight (none without a state file). */
function inFlightIn(dataDir: string): string[] {
  if (!fs.existsSync(path.join(dataDir, 'deployments', `${V1.stackName}.json`))) return [];
  return (readState(dataDir, V1.stackName).inFlight as unknown[]).map(describeInFlight).sort();
}

/** Deploys `outdir`, holds the requests `point` picks, and SIGKILLs the deployer while it waits for them. */
async function deployAndKill(outdir: string, proxy: ApiProxy, dataDir: string, point: KillPoint): Promise<void> {
  const first = proxy.calls.length;
  const count = point.picked ?? 1;
  const picked: ProxiedCall[] = [];
  proxy.decide = (call) => {
    if (picked.length >= count) return 'hold';
    if (!point.hold(call, proxy.calls.slice(first))) return 'forward';
    picked.push(call);
    return 'hold';
  };
  const run = startCli(['deploy', outdir, '--endpoint', proxy.endpoint, '--data', dataDir]);
  let ended = false;
  void run.exited.then(() => { ended = true; });
  const reached = (): boolean => picked.length >= count && picked.every((c) => c.held);
  while (!reached() && !ended) await new Promise((r) => setTimeout(r, 20));
  if (!reached()) throw new Error(`the deploy ended before ${point.what}:\n${(await run.exited).stdout}`);
  run.child.kill('SIGKILL');
  expect((await run.exited).signal).toBe('SIGKILL');
  proxy.decide = () => 'forward';
  proxy.releaseHeld();
  expect({ held: picked.map(describeCall).sort(), inFlight: inFlightIn(dataDir) })
    .toEqual({ held: [...point.held].sort(), inFlight: [...point.inFlight].sort() });
}

/** What an uninterrupted deploy of `outdirs` (in order) ends with. */
async function reference(outdirs: string[]): Promise<{ snapshot: unknown; ids: Record<string, string> }> {
  const env = await environment();
  for (const outdir of outdirs) await deploy(outdir, env.proxy.endpoint, env.dataDir);
  return { snapshot: await comparableSnapshot(env.client), ids: physicalIds(readState(env.dataDir, V1.stackName)) };
}

/** The `n`th request of `operation` (counted from 1) in this deploy. */
const nth = (operation: string, n: number): KillPoint['hold'] => (call, seen) =>
  call.operation === operation && seen.filter((c) => c.operation === operation).length === n;

/** Kill points of a first deploy of V1 (one repository's request at a time). */
const FIRST_DEPLOY_POINTS: KillPoint[] = [
  { what: 'the account check', hold: nth('DescribeRegistries', 1), held: ['DescribeRegistries'], inFlight: [] },
  {
    what: 'the first CreateRepository, before it reaches the emulator',
    hold: nth('CreateRepository', 1),
    held: ['CreateRepository killed/one'],
    inFlight: ['Create killed/one'],
  },
  {
    what: 'the first catalog, after CreateRepository succeeded',
    hold: nth('PutRepositoryCatalogData', 1),
    held: ['PutRepositoryCatalogData killed/one'],
    inFlight: ['Create killed/one'],
  },
  {
    what: 'the first policy, after the catalog',
    hold: nth('SetRepositoryPolicy', 1),
    held: ['SetRepositoryPolicy killed/one'],
    inFlight: ['Create killed/one'],
  },
  {
    what: 'the removal of the first create marker, after the response',
    hold: nth('UntagResource', 1),
    held: ['UntagResource killed/one'],
    inFlight: ['Create killed/one (answered)'],
  },
  {
    what: 'the second CreateRepository, after the first repository is recorded',
    hold: nth('CreateRepository', 2),
    held: ['CreateRepository killed/two'],
    inFlight: ['Create killed/two'],
  },
  {
    what: 'the second policy',
    hold: nth('SetRepositoryPolicy', 2),
    held: ['SetRepositoryPolicy killed/two'],
    inFlight: ['Create killed/two'],
  },
  {
    what: 'the registry, after both repositories',
    hold: nth('PutRegistryCatalogData', 1),
    held: ['PutRegistryCatalogData'],
    inFlight: ['Create Custom::EcrPublicRegistry'],
  },
];

/** Kill points of a first deploy of CONCURRENT: both repositories' requests in flight at once. */
const CONCURRENT_POINTS: KillPoint[] = [
  {
    what: 'both catalogs, both repositories created',
    hold: (call) => call.operation === 'PutRepositoryCatalogData',
    picked: 2,
    held: ['PutRepositoryCatalogData killed/one', 'PutRepositoryCatalogData killed/two'],
    inFlight: ['Create killed/one', 'Create killed/two'],
  },
  {
    what: 'both create markers\' removal, both responses recorded',
    hold: (call) => call.operation === 'UntagResource',
    picked: 2,
    held: ['UntagResource killed/one', 'UntagResource killed/two'],
    inFlight: ['Create killed/one (answered)', 'Create killed/two (answered)'],
  },
];

/** Kills a deploy of `outdirs`' last at `point` (the others deployed before), runs it again, compares with `expected`. */
async function killAndConverge(outdirs: string[], point: KillPoint, expected: { snapshot: unknown; ids: Record<string, string> }): Promise<void> {
  const env = await environment();
  for (const outdir of outdirs.slice(0, -1)) await deploy(outdir, env.proxy.endpoint, env.dataDir);
  const last = outdirs[outdirs.length - 1];
  await deployAndKill(last, env.proxy, env.dataDir, point);
  const rerun = await deploy(last, env.proxy.endpoint, env.dataDir);
  // Each request left in flight is sent again (same RequestId) before anything else.
  expect(rerun.split('\n').filter((l) => l.includes('re-sending')).length).toBe(point.inFlight.length);
  expect(await comparableSnapshot(env.client)).toEqual(expected.snapshot);
  const state = readState(env.dataDir, V1.stackName);
  expect(physicalIds(state)).toEqual(expected.ids);
  expect(state.inFlight).toEqual([]);
  expect(state.pendingDeletes).toEqual([]);
}

describe('a first deploy killed and run again ends as an uninterrupted deploy', () => {
  let expected: { snapshot: unknown; ids: Record<string, string> };
  beforeAll(async () => {
    expected = await reference([v1]);
  }, 120_000);

  test.each(FIRST_DEPLOY_POINTS.map((p) => [p.what, p] as const))('killed while waiting for %s', async (_what, point) => {
    await killAndConverge([v1], point, expected);
  }, 120_000);
});

describe('a first deploy killed with requests side by side and run again ends as an uninterrupted deploy', () => {
  let expected: { snapshot: unknown; ids: Record<string, string> };
  beforeAll(async () => {
    expected = await reference([concurrent]);
  }, 120_000);

  test.each(CONCURRENT_POINTS.map((p) => [p.what, p] as const))('killed while waiting for %s', async (_what, point) => {
    await killAndConverge([concurrent], point, expected);
  }, 120_000);
});

describe('an update killed and run again ends as an uninterrupted update', () => {
  let expected: { snapshot: unknown; ids: Record<string, string> };
  beforeAll(async () => {
    expected = await reference([v1, v2]);
  }, 120_000);

  const points: KillPoint[] = [
    {
      what: 'the CreateRepository of the renamed repository',
      hold: nth('CreateRepository', 1),
      held: ['CreateRepository killed/renamed'],
      inFlight: ['Update killed/renamed'],
    },
    {
      what: 'the catalog of the renamed repository, after its CreateRepository',
      hold: nth('PutRepositoryCatalogData', 1),
      held: ['PutRepositoryCatalogData killed/renamed'],
      inFlight: ['Update killed/renamed'],
    },
    {
      what: 'the removal of its create marker',
      hold: nth('UntagResource', 1),
      held: ['UntagResource killed/renamed'],
      inFlight: ['Update killed/renamed (answered)'],
    },
    {
      what: 'the DeleteRepository of the replaced repository',
      hold: nth('DeleteRepository', 1),
      held: ['DeleteRepository killed/two'],
      inFlight: ['Delete killed/two'],
    },
  ];
  test.each(points.map((p) => [p.what, p] as const))('killed while waiting for %s', async (_what, point) => {
    await killAndConverge([v1, v2], point, expected);
  }, 120_000);
});

describe('a rollback killed and run again ends as an uninterrupted rollback', () => {
  test('killed while waiting for the DeleteRepository of the renamed repository\'s new side; the next deploy continues the rollback, then deploys', async () => {
    const reference_ = await environment();
    await reference_.client.send(new CreateRepositoryCommand({ repositoryName: TAKEN }));
    await deploy(v1, reference_.proxy.endpoint, reference_.dataDir);
    const expected = { snapshot: await comparableSnapshot(reference_.client), ids: physicalIds(readState(reference_.dataDir, V1.stackName)) };

    const env = await environment();
    await env.client.send(new CreateRepositoryCommand({ repositoryName: TAKEN }));
    await deploy(v1, env.proxy.endpoint, env.dataDir);
    await deployAndKill(failing, env.proxy, env.dataDir, {
      what: 'the rollback\'s DeleteRepository of the renamed repository',
      hold: nth('DeleteRepository', 1),
      held: ['DeleteRepository killed/renamed'],
      inFlight: ['Delete killed/renamed'],
    });
    expect(readState(env.dataDir, V1.stackName).rollback).toMatchObject({ cause: expect.stringContaining('RepositoryAlreadyExistsException') });

    const rerun = await deploy(v1, env.proxy.endpoint, env.dataDir);
    expect(rerun).toMatch(/re-sending +Repo1[0-9A-F]{8} +Custom::EcrPublicRepository +Delete/);
    expect(rerun).toMatch(/^ +rolled back Repo1[0-9A-F]{8} +Custom::EcrPublicRepository +killed\/renamed +\(its replacement undone, back to killed\/two\)$/m);
    expect(rerun).toContain('Continuing the rollback of KilledDeploy');
    expect(await comparableSnapshot(env.client)).toEqual(expected.snapshot);
    const state = readState(env.dataDir, V1.stackName);
    expect(physicalIds(state)).toEqual(expected.ids);
    expect({ inFlight: state.inFlight, pendingDeletes: state.pendingDeletes, changes: state.changes, rollback: state.rollback })
      .toEqual({ inFlight: [], pendingDeletes: [], changes: {}, rollback: undefined });
  }, 120_000);
});
