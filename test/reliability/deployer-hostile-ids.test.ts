/**
 * The local deployer with names users choose that are also names of `Object.prototype`: stacks named `constructor`,
 * `toString`, `valueOf`, `hasOwnProperty` (and lowercase), resources with the logical ids `__proto__`, `constructor`,
 * ..., and a property keyed `__proto__`. Each is deployed, recorded, found unchanged by the next deploy (the state
 * file round-trips them) and destroyed; every check reads the emulator through the SDK or the state file as written.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { DescribeRepositoriesCommand, ECRPUBLICClient, GetRepositoryCatalogDataCommand, GetRepositoryPolicyCommand } from '@aws-sdk/client-ecr-public';
import { physicalIds, readState, synthApp } from './deployer-support';
import { deployApp, destroyApp, RunningEmulator } from '../../local';
import { startInProcess } from '../support/emulator-harness';
import { makeTempDir } from '../support/temp-dirs';

const HOSTILE_STACKS = ['constructor', 'toString', 'valueOf', 'hasOwnProperty', 'hasownproperty', 'tostring', 'valueof'];
/**
 * Logical ids of the resources of each stack: one per repository (each repository is one resource, carrying its catalog
 * data and policy), then the registry's, whose DependsOn lists the repositories' (the deployer's dependency graph and
 * the recorded `dependsOn` hold them as data too).
 */
const REPOSITORY_IDS = ['__proto__', 'constructor', 'toString', 'valueOf', 'hasOwnProperty'];
const REGISTRY_ID = 'hasownproperty';
const HOSTILE_IDS = [...REPOSITORY_IDS, REGISTRY_ID];

let tmp: string;
let emu: RunningEmulator;
let client: ECRPUBLICClient;

beforeAll(async () => {
  tmp = makeTempDir('deployer-hostile-');
  ({ emu, client } = await startInProcess({ iam: {} }, { maxAttempts: 1 }));
});

afterAll(async () => {
  client?.destroy();
  await emu?.stop();
  if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
});

/** One repository per id in REPOSITORY_IDS. */
function repositoryNames(stack: string): string[] {
  return REPOSITORY_IDS.map((_id, i) => `hostile/${stack.toLowerCase()}-${i}`);
}

async function existing(names: string[]): Promise<string[]> {
  const out = await client.send(new DescribeRepositoriesCommand({}));
  return (out.repositories ?? []).map((r) => r.repositoryName!).filter((n) => names.includes(n)).sort();
}

test.each(HOSTILE_STACKS)('a stack named %s with prototype-named logical ids deploys, stays unchanged, and is destroyed', async (stackName) => {
  const outdir = synthApp(path.join(tmp, `cdk.out.${stackName}`), {
    stackName,
    repositories: repositoryNames(stackName),
    logicalIds: REPOSITORY_IDS,
    registryLogicalId: REGISTRY_ID,
    extraProperty: { ['__proto__']: 'p', constructor: 'c' },
  });
  const template = JSON.parse(fs.readFileSync(path.join(outdir, 'Stack.template.json'), 'utf8'));
  for (const id of HOSTILE_IDS) expect(Object.prototype.hasOwnProperty.call(template.Resources, id)).toBe(true);
  expect(REPOSITORY_IDS.map((id) => template.Resources[id].Type)).toEqual(REPOSITORY_IDS.map(() => 'Custom::EcrPublicRepository'));
  expect(template.Resources[REGISTRY_ID].Type).toBe('Custom::EcrPublicRegistry');
  expect(template.Resources[REGISTRY_ID].DependsOn).toEqual(expect.arrayContaining(REPOSITORY_IDS));
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
    // The about text travelled as an asset, read by the handler from the deployer's S3 endpoint.
    expect(catalog.catalogData?.aboutText).toBe(`# ${name}`);
    const policy = await client.send(new GetRepositoryPolicyCommand({ repositoryName: name }));
    expect(JSON.parse(policy.policyText!).Statement.map((s: { Sid: string }) => s.Sid)).toEqual(['Pull']);
  }

  // The state file holds every logical id, and the property keyed __proto__, as own keys.
  const state = readState(dataDir, stackName);
  expect(state.stackName).toBe(stackName);
  expect(state.inFlight).toEqual([]);
  const ids = physicalIds(state);
  for (const id of HOSTILE_IDS) expect(Object.prototype.hasOwnProperty.call(ids, id)).toBe(true);
  // Each repository's physical id is its name: no id was mistaken for another, or for a prototype member.
  expect(REPOSITORY_IDS.map((id) => ids[id])).toEqual(repositoryNames(stackName));
  expect(ids[REGISTRY_ID]).toMatch(/^[0-9]{12}$/);
  expect([...state.resources[REGISTRY_ID].dependsOn].sort()).toEqual([...REPOSITORY_IDS].sort());
  for (const id of REPOSITORY_IDS) {
    const extra = state.resources[id].properties.Extra;
    expect(Object.keys(extra).sort()).toEqual(['__proto__', 'constructor']);
    expect(JSON.stringify(extra)).toBe(JSON.stringify({ ['__proto__']: 'p', constructor: 'c' }));
  }

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
