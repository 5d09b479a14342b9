/**
 * The local deployer with names users choose that are also names of `Object.prototype`: stacks named `constructor`,
 * `toString`, `valueOf`, `hasOwnProperty` (and lowercase), resources with the logical ids `__proto__`, `constructor`,
 * ..., and a property keyed `__proto__`. Each is deployed, recorded, found unchanged by the next deploy (the state
 * file round-trips them) and destroyed; every check reads the emulator through the SDK or the state file as written.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { DescribeRepositoriesCommand, ECRPUBLICClient, GetRepositoryCatalogDataCommand } from '@aws-sdk/client-ecr-public';
import { physicalIds, readState, synthApp, testClient } from './deployer-support';
import { deployApp, destroyApp, RunningEmulator, startEmulator } from '../../local';
import { tempDir } from '../lambda/support';

const HOSTILE_STACKS = ['constructor', 'toString', 'valueOf', 'hasOwnProperty', 'hasownproperty', 'tostring', 'valueof'];
/** Logical ids of the repository, catalog data and policy resources of the two repositories of each stack. */
const HOSTILE_IDS = ['__proto__', 'constructor', 'toString', 'valueOf', 'hasOwnProperty', 'hasownproperty'];

let tmp: string;
let emu: RunningEmulator;
let client: ECRPUBLICClient;

beforeAll(async () => {
  tmp = tempDir('deployer-hostile-');
  emu = await startEmulator({});
  client = testClient(emu.endpoint);
});

afterAll(async () => {
  client?.destroy();
  await emu?.stop();
  if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
});

function repositoryNames(stack: string): string[] {
  return [`hostile/${stack.toLowerCase()}-a`, `hostile/${stack.toLowerCase()}-b`];
}

async function existing(names: string[]): Promise<string[]> {
  const out = await client.send(new DescribeRepositoriesCommand({}));
  return (out.repositories ?? []).map((r) => r.repositoryName!).filter((n) => names.includes(n)).sort();
}

test.each(HOSTILE_STACKS)('a stack named %s with prototype-named logical ids deploys, stays unchanged, and is destroyed', async (stackName) => {
  const outdir = synthApp(path.join(tmp, `cdk.out.${stackName}`), {
    stackName,
    repositories: repositoryNames(stackName),
    logicalIds: HOSTILE_IDS,
    extraProperty: { ['__proto__']: 'p', constructor: 'c' },
  });
  const template = JSON.parse(fs.readFileSync(path.join(outdir, 'Stack.template.json'), 'utf8'));
  for (const id of HOSTILE_IDS) expect(Object.prototype.hasOwnProperty.call(template.Resources, id)).toBe(true);
  const dataDir = path.join(tmp, `data.${stackName}`);
  const log: string[] = [];
  const options = { assemblyDir: outdir, dataDir, endpoint: emu.endpoint, log: (l: string) => log.push(l) };

  const first = await deployApp(options);
  const ours = first.resources.filter((r) => HOSTILE_IDS.includes(r.logicalId));
  expect(ours.map((r) => [r.logicalId, r.action]).sort()).toEqual(HOSTILE_IDS.map((id) => [id, 'created']).sort());
  expect(await existing(repositoryNames(stackName))).toEqual(repositoryNames(stackName).sort());
  for (const name of repositoryNames(stackName)) {
    const catalog = await client.send(new GetRepositoryCatalogDataCommand({ repositoryName: name }));
    expect(catalog.catalogData?.description).toBe(`Repository ${name}`);
  }

  // The state file holds every logical id, and the property keyed __proto__, as own keys.
  const state = readState(dataDir, stackName);
  expect(state.stackName).toBe(stackName);
  expect(state.inFlight).toEqual([]);
  const ids = physicalIds(state);
  for (const id of HOSTILE_IDS) expect(Object.prototype.hasOwnProperty.call(ids, id)).toBe(true);
  expect(ids.__proto__).toBe(repositoryNames(stackName)[0]);
  expect(ids.valueOf).toBe(repositoryNames(stackName)[1]);
  expect(ids.hasOwnProperty).toBe(`${repositoryNames(stackName)[1]}/catalog-data`);
  const extra = state.resources.__proto__.properties.Extra;
  expect(Object.keys(extra).sort()).toEqual(['__proto__', 'constructor']);
  expect(JSON.stringify(extra)).toBe(JSON.stringify({ ['__proto__']: 'p', constructor: 'c' }));

  // Read back, the state is what was deployed: nothing to send.
  const second = await deployApp(options);
  expect(second.resources.filter((r) => HOSTILE_IDS.includes(r.logicalId)).map((r) => [r.logicalId, r.action]).sort())
    .toEqual(HOSTILE_IDS.map((id) => [id, 'unchanged']).sort());
  expect(physicalIds(readState(dataDir, stackName))).toEqual(ids);

  const destroyed = await destroyApp(options);
  expect(destroyed.resources.filter((r) => HOSTILE_IDS.includes(r.logicalId)).map((r) => [r.logicalId, r.action]).sort())
    .toEqual(HOSTILE_IDS.map((id) => [id, 'deleted']).sort());
  expect(await existing(repositoryNames(stackName))).toEqual([]);
  expect(fs.existsSync(path.join(dataDir, 'deployments', `${stackName}.json`))).toBe(false);
}, 60_000);
