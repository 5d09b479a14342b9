/**
 * `ecr-public-local deploy` (a child process) against an emulator that throttles, fails and drops requests: the
 * deployer's own calls (the account check) are retried as the handlers retry theirs, so every seed from 1 to 20
 * deploys, and ends with what a deploy without faults ends with. The two repositories are independent: their requests
 * run side by side, each retrying on its own.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { isDeepStrictEqual } from 'node:util';
import { comparableSnapshot, ensureCompiledCli, physicalIds, readState, startCli, synthApp, testClient, TestApp } from './deployer-support';
import { startEmulator } from '../../local';
import { tempDir } from '../lambda/support';

const APP: TestApp = { stackName: 'FaultyDeploy', repositories: ['faulty/one', 'faulty/two'] };
const FAULTS = { throttleRate: 0.1, serverErrorRate: 0.05, dropRate: 0.02 };
const SEEDS = Array.from({ length: 20 }, (_, i) => i + 1);

let tmp: string;
let outdir: string;

beforeAll(async () => {
  await ensureCompiledCli();
  tmp = tempDir('deployer-faults-');
  outdir = synthApp(path.join(tmp, 'cdk.out'), APP);
}, 120_000);

afterAll(() => {
  if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
});

/** Deploys the app to a fresh emulator with `faults`; returns what the emulator then shows (faults off) and the state. */
async function deployWith(faults: object): Promise<{ code: number | null; output: string; snapshot?: unknown; ids?: Record<string, string> }> {
  const emu = await startEmulator({ faults });
  const client = testClient(emu.endpoint);
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

test('every seed from 1 to 20 deploys, with the end state of a deploy without faults', async () => {
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
