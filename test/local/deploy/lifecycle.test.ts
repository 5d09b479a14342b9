/**
 * End to end: a real app of our constructs, synthesized to a cloud assembly, deployed to an emulator by running the
 * bundled handlers in-process, then changed, renamed, trimmed and destroyed. Every check reads the emulator through the
 * SDK, never the deployer's own account of what it did.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import {
  DescribeRegistriesCommand,
  DescribeRepositoriesCommand,
  ECRPUBLICClient,
  GetRegistryCatalogDataCommand,
  GetRepositoryCatalogDataCommand,
  GetRepositoryPolicyCommand,
  ListTagsForResourceCommand,
} from '@aws-sdk/client-ecr-public';
import { App, RemovalPolicy, Stack, Tags, aws_iam as iam } from 'aws-cdk-lib';
import { deployApp, DeployResult, destroyApp, RunningEmulator } from '../../../local';
import { Architecture, CatalogText, Logo, OperatingSystem, PublicRegistry, PublicRepository } from '../../../src';
import { pushSmallImage } from '../../support/ecr-fixtures';
import { startInProcess } from '../../support/emulator-harness';
import { errorName } from '../../support/rejections';
import { makeTempDir } from '../../support/temp-dirs';

const ROOT = path.resolve(__dirname, '..', '..', '..');
const LOGO = path.join(ROOT, 'test', 'fixtures', 'logo.png');
const STACK = 'LocalDeployLifecycle';
const PUSH_ACTIONS = ['ecr-public:BatchCheckLayerAvailability', 'ecr-public:InitiateLayerUpload', 'ecr-public:PutImage'];

/** What varies between the versions of the app. */
interface AppVersion {
  readonly appName: string;
  readonly appDescription?: string;
  readonly appTags: Record<string, string>;
  readonly appPolicyActions: string[];
  /** A statement in the policy of Tools (RETAIN); a later version removes it, and with it the repository's policy. */
  readonly toolsPolicy: boolean;
  /** A DESTROY repository that a later version removes. */
  readonly scratch: boolean;
  /** A RETAIN repository's name (a later version renames it, then removes it); undefined leaves it out. */
  readonly keepName?: string;
}

const V1: AppVersion = {
  appName: 'deploy-test/app',
  appDescription: 'The application image',
  appTags: { team: 'platform', owner: 'alice' },
  appPolicyActions: ['ecr-public:BatchCheckLayerAvailability'],
  toolsPolicy: true,
  scratch: true,
  keepName: 'deploy-test/keep',
};

let tmp: string;
let emu: RunningEmulator;
let client: ECRPUBLICClient;
let dataDir: string;
let outdirs = 0;
let lines: string[] = [];

/** Synthesizes `version` into a new cloud assembly directory. */
function synth(version: AppVersion): string {
  const outdir = path.join(tmp, `cdk.out.${++outdirs}`);
  const app = new App({ outdir });
  const stack = new Stack(app, STACK);
  new PublicRegistry(stack, 'Registry', { displayName: 'Local Deploy Test' });
  const pusher = new iam.Role(stack, 'Pusher', { assumedBy: new iam.AccountRootPrincipal() });

  const appRepo = new PublicRepository(stack, 'App', {
    repositoryName: version.appName,
    removalPolicy: RemovalPolicy.DESTROY,
    emptyOnDelete: true,
    description: version.appDescription,
    architectures: [Architecture.X86_64, Architecture.ARM_64],
    operatingSystems: [OperatingSystem.LINUX],
    logo: Logo.fromFile(LOGO),
    aboutText: CatalogText.fromString('# App\n\nThe **application** image.'),
    usageText: CatalogText.fromString('```\ndocker pull app\n```'),
  });
  for (const [k, v] of Object.entries(version.appTags)) Tags.of(appRepo).add(k, v);
  appRepo.addToResourcePolicy(new iam.PolicyStatement({
    sid: 'PusherRole',
    principals: [new iam.ArnPrincipal(pusher.roleArn)],
    actions: version.appPolicyActions,
  }));
  appRepo.grantPush(pusher);

  const tools = new PublicRepository(stack, 'Tools', {
    repositoryName: 'deploy-test/tools',
    // RETAIN by default.
    description: 'Tools',
    architectures: [Architecture.ARM_64],
    operatingSystems: [OperatingSystem.LINUX, OperatingSystem.of('Plan 9')],
    logo: Logo.fromFile(LOGO),
    aboutText: CatalogText.fromString('## Tools\n\n- one\n- two'),
    usageText: CatalogText.fromString('Run `tools --help`.'),
  });
  if (version.toolsPolicy) {
    tools.addToResourcePolicy(new iam.PolicyStatement({
      sid: 'PusherTools',
      principals: [new iam.ArnPrincipal(pusher.roleArn)],
      actions: ['ecr-public:BatchCheckLayerAvailability'],
    }));
  }
  if (version.scratch) new PublicRepository(stack, 'Scratch', { repositoryName: 'deploy-test/scratch', removalPolicy: RemovalPolicy.DESTROY });
  if (version.keepName) new PublicRepository(stack, 'Keep', { repositoryName: version.keepName, removalPolicy: RemovalPolicy.RETAIN });
  app.synth();
  return outdir;
}

async function deploy(outdir: string): Promise<DeployResult> {
  lines = [];
  return deployApp({ assemblyDir: outdir, dataDir, endpoint: emu.endpoint, verbose: true, log: (l) => lines.push(l) });
}

/** `logicalId prefix → action` for every outcome, e.g. `{ App: 'created' }` (logical ids carry a hash suffix). */
function actions(result: DeployResult): Record<string, string> {
  return Object.fromEntries(result.resources.map((r) => [`${r.logicalId.replace(/[0-9A-F]{8}$/, '')}${r.action === 'deleted' || r.action === 'retained' ? `:${r.physicalResourceId}` : ''}`, r.action]));
}

async function repositoryNames(): Promise<string[]> {
  const out = await client.send(new DescribeRepositoriesCommand({}));
  return (out.repositories ?? []).map((r) => r.repositoryName!).sort();
}

async function tagsOf(name: string): Promise<Record<string, string>> {
  const out = await client.send(new ListTagsForResourceCommand({ resourceArn: `arn:aws:ecr-public::${emu.accountId}:repository/${name}` }));
  return Object.fromEntries((out.tags ?? []).map((t) => [t.Key!, t.Value!]));
}

async function policyOf(name: string): Promise<any> {
  const out = await client.send(new GetRepositoryPolicyCommand({ repositoryName: name }));
  return JSON.parse(out.policyText!);
}

function stateFile(): string {
  return path.join(dataDir, 'deployments', `${STACK}.json`);
}

function handlerLines(): string[] {
  return lines.filter((l) => l.startsWith('    | '));
}

beforeAll(async () => {
  for (const kind of ['repository', 'repository-catalog-data', 'repository-policy', 'registry']) {
    if (!fs.existsSync(path.join(ROOT, 'assets', kind, 'index.js'))) throw new Error(`assets/${kind}/index.js is missing: run \`npx projen bundle\` first`);
  }
  tmp = makeTempDir('local-deploy-');
  dataDir = path.join(tmp, 'data');
  ({ emu, client } = await startInProcess({ dataDir: path.join(tmp, 'emulator'), iam: {} }, { maxAttempts: 1 }));
});

afterAll(async () => {
  client?.destroy();
  await emu?.stop();
  if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
});

describe('deployApp / destroyApp against the emulator', () => {
  test('deploy creates the registry, the repositories, their catalogs, policy and tags', async () => {
    const result = await deploy(synth(V1));
    // One resource per repository: it carries the catalog data and the policy.
    expect(actions(result)).toEqual({
      App: 'created',
      Tools: 'created',
      Scratch: 'created',
      Keep: 'created',
      Registry: 'created',
    });
    // The registry is ordered after every repository (its DependsOn).
    const order = result.resources.map((r) => r.logicalId.replace(/[0-9A-F]{8}$/, ''));
    expect(order.indexOf('Registry')).toBeGreaterThan(Math.max(order.indexOf('App'), order.indexOf('Tools'), order.indexOf('Keep')));
    for (const repo of ['App', 'Tools', 'Scratch', 'Keep']) {
      expect(order).toContain(repo);
    }

    // Skipped: everything that is not ours, by type, never silently.
    const skippedTypes = new Set(result.skipped.map((s) => s.type));
    expect(skippedTypes).toEqual(new Set(['AWS::IAM::Policy', 'AWS::IAM::Role', 'AWS::Lambda::Function', 'AWS::Logs::LogGroup']));
    expect(result.skipped.some((s) => s.logicalId.startsWith('Pusher'))).toBe(true);
    // One handler function per kind (registry, repository), whatever the number of resources;
    // their permissions are on the handlers' roles, not in a policy per resource.
    const skippedCount = (type: string) => result.skipped.filter((s) => s.type === type).length;
    expect(skippedCount('AWS::Lambda::Function')).toBe(2);
    expect(skippedCount('AWS::Logs::LogGroup')).toBe(2);
    expect(skippedCount('AWS::IAM::Role')).toBe(3);
    expect(skippedCount('AWS::IAM::Policy')).toBe(3);
    expect(result.skipped.some((s) => s.logicalId.includes('HandlerPolicy'))).toBe(false);
    expect(lines.some((l) => /skipped +\d+ resource\(s\).*AWS::IAM::Role x\d+/.test(l))).toBe(true);
    expect(handlerLines().length).toBeGreaterThan(0);

    expect(await repositoryNames()).toEqual(['deploy-test/app', 'deploy-test/keep', 'deploy-test/scratch', 'deploy-test/tools']);
    const { registries } = await client.send(new DescribeRegistriesCommand({}));
    const alias = registries![0].aliases![0].name!;
    const app = result.resources.find((r) => r.logicalId.startsWith('App') && r.type === 'Custom::EcrPublicRepository')!;
    expect(app.physicalResourceId).toBe('deploy-test/app');
    expect(app.data.RepositoryUri).toBe(`${emu.host}/${alias}/deploy-test/app`);
    expect(app.data.RepositoryArn).toBe(`arn:aws:ecr-public::${emu.accountId}:repository/deploy-test/app`);
    const registry = result.resources.find((r) => r.type === 'Custom::EcrPublicRegistry')!;
    expect(registry.data).toMatchObject({ RegistryId: emu.accountId, RegistryAlias: alias, RegistryUri: `${emu.host}/${alias}` });
    expect(lines.some((l) => l.includes(`RepositoryUri=${emu.host}/${alias}/deploy-test/app`))).toBe(true);

    const registryCatalog = await client.send(new GetRegistryCatalogDataCommand({}));
    expect(registryCatalog.registryCatalogData?.displayName).toBe('Local Deploy Test');

    const catalog = (await client.send(new GetRepositoryCatalogDataCommand({ repositoryName: 'deploy-test/app' }))).catalogData!;
    expect(catalog.description).toBe('The application image');
    expect(catalog.architectures).toEqual(['x86-64', 'ARM 64']);
    expect(catalog.operatingSystems).toEqual(['Linux']);
    expect(catalog.aboutText).toBe('# App\n\nThe **application** image.');
    expect(catalog.usageText).toBe('```\ndocker pull app\n```');
    // The logo came from the asset bucket the deployer served: the bytes the emulator serves are the fixture's.
    const logo = Buffer.from(await (await fetch(catalog.logoUrl!)).arrayBuffer());
    expect(logo.equals(fs.readFileSync(LOGO))).toBe(true);
    const tools = (await client.send(new GetRepositoryCatalogDataCommand({ repositoryName: 'deploy-test/tools' }))).catalogData!;
    expect(tools.operatingSystems).toEqual(['Linux', 'Plan 9']);
    expect(tools.logoUrl).toBeDefined();
    // A repository without catalog properties gets no catalog put: a new repository has none.
    for (const name of ['deploy-test/scratch', 'deploy-test/keep']) {
      expect(await errorName(client.send(new GetRepositoryCatalogDataCommand({ repositoryName: name })))).toBe('RepositoryCatalogDataNotFoundException');
    }

    const policy = await policyOf('deploy-test/app');
    expect(policy.Statement).toHaveLength(1);
    expect(policy.Statement[0].Sid).toBe('PusherRole');
    expect(policy.Statement[0].Action).toBe('ecr-public:BatchCheckLayerAvailability');
    // The role is not deployed locally: its ARN is a stand-in in the emulator's account.
    expect(policy.Statement[0].Principal.AWS).toMatch(new RegExp(`^arn:aws:iam::${emu.accountId}:role/${STACK}-Pusher`));
    expect(await tagsOf('deploy-test/app')).toEqual({ team: 'platform', owner: 'alice' });
    expect((await policyOf('deploy-test/tools')).Statement.map((s: any) => s.Sid)).toEqual(['PusherTools']);
    // An empty policy (no statement) is no policy.
    for (const name of ['deploy-test/scratch', 'deploy-test/keep']) {
      expect(await errorName(client.send(new GetRepositoryPolicyCommand({ repositoryName: name })))).toBe('RepositoryPolicyNotFoundException');
    }

    const state = JSON.parse(fs.readFileSync(stateFile(), 'utf8'));
    expect(state.stackId).toMatch(new RegExp(`^arn:aws:cloudformation:us-east-1:${emu.accountId}:stack/${STACK}/[0-9a-f-]{36}$`));
    expect(Object.keys(state.resources)).toHaveLength(5);
  });

  test('a second deploy of the same app changes nothing and runs no handler', async () => {
    const before = fs.readFileSync(stateFile(), 'utf8');
    const result = await deploy(synth(V1));
    expect(new Set(result.resources.map((r) => r.action))).toEqual(new Set(['unchanged']));
    expect(result.resources).toHaveLength(5);
    expect(handlerLines()).toEqual([]);
    const app = result.resources.find((r) => r.physicalResourceId === 'deploy-test/app')!;
    expect(app.data.RepositoryUri).toMatch(/deploy-test\/app$/);
    expect(JSON.parse(fs.readFileSync(stateFile(), 'utf8')).stackId).toBe(JSON.parse(before).stackId);
    expect(await repositoryNames()).toEqual(['deploy-test/app', 'deploy-test/keep', 'deploy-test/scratch', 'deploy-test/tools']);
  });

  test('changed properties are Updates: description cleared, tags added and removed, policy replaced, last statement removed', async () => {
    const result = await deploy(synth({
      ...V1,
      appDescription: undefined,
      appTags: { team: 'platform', stage: 'beta' },
      appPolicyActions: PUSH_ACTIONS,
      toolsPolicy: false,
    }));
    // The last statement of Tools' policy left the app: an Update of its (now empty) policy, not a Delete, which a
    // RETAIN repository's policy would ignore.
    expect(actions(result)).toEqual({
      App: 'updated',
      Tools: 'updated',
      Scratch: 'unchanged',
      Keep: 'unchanged',
      Registry: 'unchanged',
    });
    const catalog = (await client.send(new GetRepositoryCatalogDataCommand({ repositoryName: 'deploy-test/app' }))).catalogData!;
    expect(catalog.description).toBeUndefined();
    expect(catalog.aboutText).toBe('# App\n\nThe **application** image.');
    expect(await tagsOf('deploy-test/app')).toEqual({ team: 'platform', stage: 'beta' });
    expect((await policyOf('deploy-test/app')).Statement[0].Action).toEqual(PUSH_ACTIONS);
    // The RETAIN repository lost the policy whose last statement was removed, and kept the rest.
    expect(await errorName(client.send(new GetRepositoryPolicyCommand({ repositoryName: 'deploy-test/tools' })))).toBe('RepositoryPolicyNotFoundException');
    expect(await repositoryNames()).toContain('deploy-test/tools');
    expect((await client.send(new GetRepositoryCatalogDataCommand({ repositoryName: 'deploy-test/tools' }))).catalogData!.description).toBe('Tools');
  });

  test('renaming a repository replaces it: DESTROY deletes the old one, RETAIN keeps it', async () => {
    const result = await deploy(synth({
      ...V1,
      appName: 'deploy-test/app-renamed',
      appDescription: undefined,
      appTags: { team: 'platform', stage: 'beta' },
      appPolicyActions: PUSH_ACTIONS,
      toolsPolicy: false,
      keepName: 'deploy-test/keep-renamed',
    }));
    const app = result.resources.find((r) => r.action === 'replaced' && r.type === 'Custom::EcrPublicRepository' && r.logicalId.startsWith('App'))!;
    expect(app.physicalResourceId).toBe('deploy-test/app-renamed');
    expect(app.replacedPhysicalResourceId).toBe('deploy-test/app');
    expect(actions(result)).toEqual({
      'App': 'replaced',
      'Tools': 'unchanged',
      'Scratch': 'unchanged',
      'Keep': 'replaced',
      'Registry': 'unchanged',
      'App:deploy-test/app': 'deleted',
      'Keep:deploy-test/keep': 'retained',
    });
    // The old resources go after everything else.
    const lastNew = Math.max(...result.resources.map((r, i) => (r.action === 'replaced' || r.action === 'unchanged' ? i : -1)));
    const retainedAt = result.resources.findIndex((r) => r.physicalResourceId === 'deploy-test/keep' && r.action === 'retained');
    const deletedAt = result.resources.findIndex((r) => r.physicalResourceId === 'deploy-test/app' && r.action === 'deleted');
    expect(Math.min(retainedAt, deletedAt)).toBeGreaterThan(lastNew);
    expect(lines.some((l) => l.includes('UpdateReplacePolicy Retain'))).toBe(true);

    expect(await repositoryNames()).toEqual([
      'deploy-test/app-renamed', 'deploy-test/keep', 'deploy-test/keep-renamed', 'deploy-test/scratch', 'deploy-test/tools',
    ]);
    expect(await errorName(client.send(new DescribeRepositoriesCommand({ repositoryNames: ['deploy-test/app'] })))).toBe('RepositoryNotFoundException');
    expect(await tagsOf('deploy-test/app-renamed')).toEqual({ team: 'platform', stage: 'beta' });
    const catalog = (await client.send(new GetRepositoryCatalogDataCommand({ repositoryName: 'deploy-test/app-renamed' }))).catalogData!;
    expect(catalog.aboutText).toBe('# App\n\nThe **application** image.');
    expect((await policyOf('deploy-test/app-renamed')).Statement[0].Action).toEqual(PUSH_ACTIONS);
    const state = JSON.parse(fs.readFileSync(stateFile(), 'utf8'));
    expect(state.pendingDeletes).toEqual([]);
  });

  test('repositories removed from the app are deleted (DESTROY) or kept and forgotten (RETAIN)', async () => {
    const result = await deploy(synth({
      ...V1,
      appName: 'deploy-test/app-renamed',
      appDescription: undefined,
      appTags: { team: 'platform', stage: 'beta' },
      appPolicyActions: PUSH_ACTIONS,
      toolsPolicy: false,
      scratch: false,
      keepName: undefined,
    }));
    expect(actions(result)).toEqual({
      'App': 'unchanged',
      'Tools': 'unchanged',
      // The registry reads its attributes again when the stack's repositories change.
      'Registry': 'updated',
      'Scratch:deploy-test/scratch': 'deleted',
      'Keep:deploy-test/keep-renamed': 'retained',
    });
    const removed = result.resources.filter((r) => r.action === 'deleted' || r.action === 'retained');
    expect(removed).toHaveLength(2);
    expect(new Set(removed.map((r) => r.reason))).toEqual(new Set(['removed']));
    expect(lines.some((l) => /retained .*deploy-test\/keep-renamed/.test(l))).toBe(true);
    expect(lines.some((l) => l.includes('DeletionPolicy Retain: left in place'))).toBe(true);
    expect(await repositoryNames()).toEqual(['deploy-test/app-renamed', 'deploy-test/keep', 'deploy-test/keep-renamed', 'deploy-test/tools']);
    const state = JSON.parse(fs.readFileSync(stateFile(), 'utf8'));
    expect(Object.values(state.resources).map((r: any) => r.physicalResourceId)).not.toContain('deploy-test/keep-renamed');
    expect(Object.keys(state.resources)).toHaveLength(3);
  });

  test('destroy deletes the DESTROY repositories (images included with emptyOnDelete) and keeps the RETAIN ones', async () => {
    await pushSmallImage(client, 'deploy-test/app-renamed', 'v1');
    lines = [];
    const outdir = synth({ ...V1, appName: 'deploy-test/app-renamed', toolsPolicy: false, scratch: false, keepName: undefined });
    const result = await destroyApp({ assemblyDir: outdir, dataDir, endpoint: emu.endpoint, log: (l) => lines.push(l) });
    expect(actions(result)).toEqual({
      'App:deploy-test/app-renamed': 'deleted',
      'Tools:deploy-test/tools': 'retained',
      [`Registry:${emu.accountId}`]: 'deleted',
    });
    // Reverse dependency order: the registry (which depends on the repositories) before them.
    const order = result.resources.map((r) => r.physicalResourceId);
    expect(order.indexOf(emu.accountId)).toBeLessThan(order.indexOf('deploy-test/app-renamed'));
    expect(order.indexOf(emu.accountId)).toBeLessThan(order.indexOf('deploy-test/tools'));
    expect(await repositoryNames()).toEqual(['deploy-test/keep', 'deploy-test/keep-renamed', 'deploy-test/tools']);
    // A retained repository keeps its catalog (no Delete is sent for it).
    const tools = (await client.send(new GetRepositoryCatalogDataCommand({ repositoryName: 'deploy-test/tools' }))).catalogData!;
    expect(tools.description).toBe('Tools');
    expect(fs.existsSync(stateFile())).toBe(false);
    // No state refers to the handler code any longer.
    expect(fs.readdirSync(path.join(dataDir, 'deployments', 'handler-code'))).toEqual([]);

    // Destroying again finds nothing to do.
    lines = [];
    const again = await destroyApp({ assemblyDir: outdir, dataDir, endpoint: emu.endpoint, log: (l) => lines.push(l) });
    expect(again.resources).toEqual([]);
    expect(lines.join('\n')).toMatch(/nothing deployed/);
  });
});
