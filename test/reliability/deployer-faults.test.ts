/**
 * `ecr-public-local deploy` (a child process) against an emulator that throttles, fails and drops requests: the
 * deployer's own calls (the account check) are retried as the handlers retry theirs, so every seed deploys, and ends
 * with what a deploy without faults ends with. The two repositories are independent: their requests run side by side,
 * each retrying on its own.
 *
 * Which requests fail is a pure function of the seed (the emulator's generator), so the seeds are chosen, not sampled:
 * of the seeds 1 to 20, those whose fault sequence meets something no earlier one meets (a kind of fault on the
 * deployer's first call, a kind of fault early or late in the deploy, a longer run of failed requests in a row). They
 * meet everything the twenty meet; the others would only repeat it.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { isDeepStrictEqual } from 'node:util';
import { comparableSnapshot, ensureCompiledCli, physicalIds, readState, startCli, synthApp, TestApp } from './deployer-support';
import { FaultDecision, FaultInjector } from '../../local/faults';
import { startInProcess } from '../support/emulator-harness';
import { makeTempDir } from '../support/temp-dirs';

const APP: TestApp = { stackName: 'FaultyDeploy', repositories: ['faulty/one', 'faulty/two'] };
const FAULTS = { throttleRate: 0.1, serverErrorRate: 0.05, dropRate: 0.02 };
const CANDIDATE_SEEDS = Array.from({ length: 20 }, (_, i) => i + 1);
/** The requests of a deploy of APP whose fate a seed decides (its first call is the deployer's account check). */
const REQUESTS = 40;

/** What the fault sequence of `seed` meets: a fault on the first call, faults early and late, runs of faults in a row. */
function faultsMet(seed: number): Set<string> {
  const injector = new FaultInjector({ ...FAULTS, seed });
  const fates: FaultDecision[] = Array.from({ length: REQUESTS }, () => injector.decide());
  const met = new Set<string>();
  if (fates[0] !== 'none') met.add(`the first call: ${fates[0]}`);
  fates.forEach((fate, i) => {
    if (fate !== 'none') met.add(`${i < REQUESTS / 2 ? 'early' : 'late'}: ${fate}`);
  });
  let run = 0;
  for (const fate of fates) {
    run = fate === 'none' ? 0 : run + 1;
    if (run >= 2) met.add(`${run} failed requests in a row`);
  }
  return met;
}

/** The candidate seeds that each meet something the ones before did not. */
function seedsMeetingSomethingNew(): number[] {
  const met = new Set<string>();
  return CANDIDATE_SEEDS.filter((seed) => {
    const fresh = [...faultsMet(seed)].filter((m) => !met.has(m));
    fresh.forEach((m) => met.add(m));
    return fresh.length > 0;
  });
}

const SEEDS = seedsMeetingSomethingNew();

let tmp: string;
let outdir: string;

beforeAll(async () => {
  await ensureCompiledCli();
  tmp = makeTempDir('deployer-faults-');
  outdir = synthApp(path.join(tmp, 'cdk.out'), APP);
}, 120_000);

afterAll(() => {
  if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
});

/** Deploys the app to a fresh emulator with `faults`; returns what the emulator then shows (faults off) and the state. */
async function deployWith(faults: object): Promise<{ code: number | null; output: string; snapshot?: unknown; ids?: Record<string, string> }> {
  const { emu, client } = await startInProcess({ faults }, { maxAttempts: 1 });
  const dataDir = fs.mkdtempSync(path.join(tmp, 'data-'));
  try {
    const done = await startCli(['deploy', outdir, '--endpoint', emu.endpoint, '--data', dataDir]).exited;
    emu.setFaults({});
    if (done.code !== 0) return { code: done.code, output: `${done.stdout}\n${done.stderr}` };
    return { code: 0, output: '', snapshot: await comparableSnapshot(client), ids: physicalIds(readState(dataDir, APP.stackName)) };
  } finally {
    client.destroy();
    await emu.stop();
  }
}

test('the seeds chosen meet every fault the seeds from 1 to 20 meet, in fewer deploys', () => {
  const all = new Set(CANDIDATE_SEEDS.flatMap((seed) => [...faultsMet(seed)]));
  const chosen = new Set(SEEDS.flatMap((seed) => [...faultsMet(seed)]));
  expect([...chosen].sort()).toEqual([...all].sort());
  expect(SEEDS.length).toBeLessThan(CANDIDATE_SEEDS.length);
  // Every kind of fault, and one on the deployer's own first call.
  for (const kind of ['throttle', 'server-error', 'drop-before', 'drop-after']) expect([...chosen].some((m) => m.endsWith(kind))).toBe(true);
  expect([...chosen].some((m) => m.startsWith('the first call'))).toBe(true);
});

test('every chosen seed deploys, with the end state of a deploy without faults', async () => {
  const expected = await deployWith({});
  expect(expected.code).toBe(0);
  const outcomes: Array<{ seed: number; code: number | null; output: string; same: boolean }> = [];
  for (const seed of SEEDS) {
    const got = await deployWith({ ...FAULTS, seed });
    // Compared as values, not as JSON text: resources deployed side by side finish, and enter the state, in whatever
    // order the faults make them finish, which orders the state file's keys and nothing else.
    const same = got.code === 0 && isDeepStrictEqual(got.snapshot, expected.snapshot) && isDeepStrictEqual(got.ids, expected.ids);
    outcomes.push({ seed, code: got.code, output: got.output.split('\n').filter((l) => /FAILED|failed|Exception/.test(l)).join('\n'), same });
  }
  expect(outcomes.filter((o) => o.code !== 0 || !o.same)).toEqual([]);
}, 600_000);
