/**
 * End to end: a deploy that fails is rolled back, as CloudFormation rolls back a failed stack create or update, by the
 * bundled handlers answering the events a rollback sends (Delete of what the deploy created and of the resource whose
 * Create failed, Update back to the previous properties, Delete of the new side of a replacement). The failure is a
 * repository name somebody else holds (`rb/taken`, created beforehand through the API), given to the resource at each
 * position of a chain of dependencies: first, middle, last, and in a stack of a nested stage. After each rollback the
 * registry, read through the SDK, equals what it was before the deploy: repositories (their creation times included),
 * catalog data, policies, tags, images and their tags, the registry's display name. The emulator evaluates IAM: each
 * handler, rollback included, runs as the role it was deployed with.
 *
 * Then: --no-rollback leaves the deploy in place and a later deploy converges from there (a rename back reuses the
 * replaced repository the state still holds); a rollback that fails stops, is recorded, and is continued by the next
 * deploy before it deploys; destroy works from those states.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { BatchDeleteImageCommand, CreateRepositoryCommand, ECRPUBLICClient, PutRegistryCatalogDataCommand } from '@aws-sdk/client-ecr-public';
import { App, RemovalPolicy, Stack, Stage, Tags, aws_iam as iam } from 'aws-cdk-lib';
import type { Construct } from 'constructs';
import { deployApp, DeployResult, destroyApp, LocalDeployError, LocalDeployOptions, RunningEmulator } from '../../../local';
import { CatalogText, ImageSource, PublicImage, PublicRegistry, PublicRepository } from '../../../src';
import { registrySnapshot } from '../../reliability/support';
import { startInProcess } from '../../support/emulator-harness';
import { OciLayoutImage } from '../../support/oci-layout';
import { expectRejection } from '../../support/rejections';
import { makeTempDir, removeTempDir } from '../../support/temp-dirs';
import { buildImage } from '../../support/umoci-images';

const ROOT = path.resolve(__dirname, '..', '..', '..');
const TOP = 'RollbackTop';
const NESTED = 'RollbackNested';
/** A repository somebody else holds: declaring it fails. */
const TAKEN = 'rb/taken';

/** What varies between the versions of the app. */
interface Version {
  /** The names of the top stack's three repositories, each depending on the one before (the image between 2 and 3). */
  readonly first: string;
  readonly middle: string;
  readonly last: string;
  /** Descriptions, about text, tags, policy, the image's tag and the registry's display name of the top stack. */
  readonly text: string;
  /** The image's tag (besides `latest`). @default `v-<text>` */
  readonly imageTag?: string;
  /** `latest` moved from the image to another image of the same repository. @default false */
  readonly latestMoved?: boolean;
  /** A repository depending on the first one, created by the deploy that adds it. */
  readonly added: boolean;
  /**
   * A repository (DESTROY, without emptyOnDelete) holding a RETAIN image, both before the last repository: a rollback
   * cannot delete it, as the image handler keeps the image.
   */
  readonly unemptiable: boolean;
  /** The nested stage's stack: a repository updated in place (its text), then one named `nested`. */
  readonly nested: string;
  readonly nestedText: string;
}

const V1: Version = {
  first: 'rb/first', middle: 'rb/middle', last: 'rb/last', text: 'one', added: false, unemptiable: false, nested: 'rb/nested', nestedText: 'one',
};
/** Every resource of the top stack changed: texts, tags, policy, the image's tag, a repository added, the middle renamed. */
const V2: Version = { ...V1, middle: 'rb/middle-renamed', text: 'two', added: true };

/** Where the failing resource is, and what the deploy is given then. */
const POSITIONS: Array<{ name: string; create: Version; update: Version; stackName: string }> = [
  { name: 'first', create: { ...V1, first: TAKEN }, update: { ...V2, first: TAKEN }, stackName: TOP },
  { name: 'middle', create: { ...V1, middle: TAKEN }, update: { ...V2, middle: TAKEN }, stackName: TOP },
  { name: 'last', create: { ...V1, last: TAKEN }, update: { ...V2, last: TAKEN }, stackName: TOP },
  // The top stack unchanged; in the nested stack, the first repository updated in place, then the second failing.
  { name: 'in a nested stage', create: { ...V1, nested: TAKEN, nestedText: 'two' }, update: { ...V1, nested: TAKEN, nestedText: 'two' }, stackName: NESTED },
];

let tmp: string;
let emu: RunningEmulator;
let client: ECRPUBLICClient;
let image: OciLayoutImage;
let otherImage: OciLayoutImage;
let lines: string[] = [];
const synthesized = new Map<string, string>();

/** The cloud assembly of `v` (synthesized once per version). */
function synth(v: Version): string {
  const key = JSON.stringify(v);
  const known = synthesized.get(key);
  if (known) return known;
  const outdir = path.join(tmp, `cdk.out.${synthesized.size + 1}`);
  const app = new App({ outdir });
  const top = new Stack(app, TOP);
  new PublicRegistry(top, 'Registry', { displayName: `Rollback ${v.text}` });
  const first = repository(top, 'First', v.first, v.text);
  const middle = repository(top, 'Middle', v.middle, v.text);
  middle.node.addDependency(first);
  const published = new PublicImage(top, 'Image', {
    repository: middle,
    source: ImageSource.fromOciLayout(image.layoutDir, { ref: 'v1' }),
    tags: [v.imageTag ?? `v-${v.text}`, ...(v.latestMoved ? [] : ['latest'])],
    removalPolicy: RemovalPolicy.DESTROY,
  });
  const other = new PublicImage(top, 'Other', {
    repository: middle,
    source: ImageSource.fromOciLayout(otherImage.layoutDir, { ref: 'v1' }),
    tags: ['other', ...(v.latestMoved ? ['latest'] : [])],
    removalPolicy: RemovalPolicy.DESTROY,
  });
  const last = repository(top, 'Last', v.last, v.text);
  last.node.addDependency(published, other);
  if (v.added) repository(top, 'Added', 'rb/added', v.text).node.addDependency(first);
  if (v.unemptiable) {
    const kept = repository(top, 'Unemptiable', 'rb/unemptiable', v.text);
    kept.node.addDependency(first);
    // RETAIN (the default): its Delete keeps the image, so the repository cannot be deleted.
    const keptImage = new PublicImage(top, 'KeptImage', { repository: kept, source: ImageSource.fromOciLayout(image.layoutDir, { ref: 'v1' }), tags: ['kept'] });
    last.node.addDependency(keptImage);
  }
  const stage = new Stage(app, 'Nested');
  const nested = new Stack(stage, NESTED, { stackName: NESTED });
  const inPlace = repository(nested, 'InPlace', 'rb/in-place', v.nestedText);
  repository(nested, 'Second', v.nested, v.nestedText).node.addDependency(inPlace);
  app.synth();
  synthesized.set(key, outdir);
  return outdir;
}

/** A DESTROY repository (no emptyOnDelete: deleting it with images fails) with texts, tags and a policy from `text`. */
function repository(scope: Construct, id: string, name: string, text: string): PublicRepository {
  const repo = new PublicRepository(scope, id, {
    repositoryName: name,
    removalPolicy: RemovalPolicy.DESTROY,
    description: `${name} ${text}`,
    aboutText: CatalogText.fromString(`# ${name}\n\n${text}`),
  });
  Tags.of(repo).add('version', text);
  if (text !== 'one') Tags.of(repo).add(`only-${text}`, 'yes');
  repo.addToResourcePolicy(new iam.PolicyStatement({
    sid: `Pull${text}`,
    principals: [new iam.AccountRootPrincipal()],
    actions: ['ecr-public:BatchCheckLayerAvailability'],
  }));
  return repo;
}

function options(assemblyDir: string, dataDir: string, extra: Partial<LocalDeployOptions> = {}): LocalDeployOptions {
  lines = [];
  return { assemblyDir, dataDir, endpoint: emu.endpoint, log: (l) => lines.push(l), ...extra };
}

async function failingDeploy(v: Version, dataDir: string, extra: Partial<LocalDeployOptions> = {}): Promise<LocalDeployError> {
  return expectRejection(deployApp(options(synth(v), dataDir, extra)), LocalDeployError);
}

function state(dataDir: string, stackName = TOP): any {
  return JSON.parse(fs.readFileSync(path.join(dataDir, 'deployments', `${stackName}.json`), 'utf8'));
}

/** What the state records of each resource: its physical id and properties, its replaced resources, what is open. */
function recorded(dataDir: string, stackName = TOP): unknown {
  const s = state(dataDir, stackName);
  return {
    resources: Object.fromEntries(Object.entries(s.resources).map(([id, r]: [string, any]) => [id, [r.physicalResourceId, r.properties]])),
    pendingDeletes: s.pendingDeletes.map((p: any) => p.physicalResourceId),
    inFlight: s.inFlight,
    changes: s.changes,
    rollback: s.rollback,
  };
}

/** `logicalId prefix → action` of each outcome, in order (logical ids carry a hash suffix). */
function actions(result: DeployResult): string[] {
  return result.resources.map((r) => `${r.action} ${r.logicalId.replace(/[0-9A-F]{8}$/, '')}${r.undone ? ` (${r.undone})` : ''}`);
}

beforeAll(async () => {
  if (!fs.existsSync(path.join(ROOT, 'assets', 'image-publisher', 'index.js'))) {
    throw new Error('assets/image-publisher/index.js is missing: run `npx projen bundle` first');
  }
  tmp = makeTempDir('local-deploy-rollback-');
  image = await buildImage(path.join(tmp, 'layout'), { tag: 'v1', files: { 'etc/motd': 'rollback\n' } });
  otherImage = await buildImage(path.join(tmp, 'other-layout'), { tag: 'v1', files: { 'etc/motd': 'another\n' } });
  ({ emu, client } = await startInProcess({ iam: {} }, { maxAttempts: 1 }));
  await client.send(new CreateRepositoryCommand({ repositoryName: TAKEN }));
  // The registry's display name is account-wide: its resource's Delete keeps it. The app's first version names it as
  // it already is, so that a rolled-back create leaves it as it was.
  await client.send(new PutRegistryCatalogDataCommand({ displayName: 'Rollback one' }));
}, 60_000);

afterAll(async () => {
  client?.destroy();
  await emu?.stop();
  removeTempDir(tmp);
});

describe('a failed stack create is rolled back: what it created is deleted', () => {
  test.each(POSITIONS)('failing $name', async ({ create, stackName }) => {
    const dataDir = fs.mkdtempSync(path.join(tmp, 'create-'));
    const before = await registrySnapshot(client);
    const err = await failingDeploy(create, dataDir, { stackName });

    expect(err.reason).toMatch(/^RepositoryAlreadyExistsException: .*rb\/taken/);
    expect(err.rollback).toEqual({ status: 'complete' });
    expect(lines.some((l) => l.startsWith('Rolling back '))).toBe(true);
    // The output ends with the cause of the first failure.
    expect(lines[lines.length - 1]).toBe(`The deploy of ${stackName} failed: ${err.message}`);
    // The failed resource gets a Delete (of the handlers' CREATE_FAILED marker) like every resource created.
    const failed = err.result.resources.find((r) => r.logicalId === err.logicalId);
    expect(failed).toMatchObject({ action: 'rolled back', undone: 'creation', physicalResourceId: 'cdk-ecr-public::CREATE_FAILED' });
    const created = err.result.resources.filter((r) => r.action === 'created').map((r) => r.logicalId);
    const deleted = err.result.resources.filter((r) => r.action === 'rolled back' && r.logicalId !== err.logicalId).map((r) => r.logicalId);
    // Deleted in the reverse order of their creation.
    expect(deleted).toEqual([...created].reverse());
    expect(await registrySnapshot(client)).toEqual(before);
    expect(recorded(dataDir, stackName)).toEqual({ resources: {}, pendingDeletes: [], inFlight: [], changes: {}, rollback: undefined });
  });

  test('with --no-rollback what succeeded stays, and destroy removes it', async () => {
    const dataDir = fs.mkdtempSync(path.join(tmp, 'create-'));
    const before = await registrySnapshot(client);
    const err = await failingDeploy({ ...V1, middle: TAKEN }, dataDir, { noRollback: true, stackName: TOP });
    expect(err.rollback).toEqual({ status: 'disabled' });
    expect(actions(err.result)).toEqual(['created First']);
    expect(Object.keys((await registrySnapshot(client) as any).repositories)).toEqual(['rb/first', TAKEN]);
    await destroyApp(options(synth(V1), dataDir, { stackName: TOP }));
    expect(await registrySnapshot(client)).toEqual(before);
  });

  test('after --no-rollback, a deploy that fails rolls back to the last completed deploy (here: none)', async () => {
    const dataDir = fs.mkdtempSync(path.join(tmp, 'create-'));
    const before = await registrySnapshot(client);
    await failingDeploy({ ...V1, middle: TAKEN }, dataDir, { noRollback: true, stackName: TOP });
    // The first repository, created by the deploy left in place, now fails its Update (a rename to the taken name).
    const err = await failingDeploy({ ...V1, first: TAKEN }, dataDir, { stackName: TOP });
    expect(err.rollback).toEqual({ status: 'complete' });
    // Its creation is undone, and so is the failed Create of the run left in place (the CREATE_FAILED marker).
    expect(err.result.resources.map((r) => [r.logicalId.replace(/[0-9A-F]{8}$/, ''), r.action, r.undone, r.physicalResourceId])).toEqual([
      ['Middle', 'rolled back', 'creation', 'cdk-ecr-public::CREATE_FAILED'],
      ['First', 'rolled back', 'creation', 'rb/first'],
    ]);
    expect(await registrySnapshot(client)).toEqual(before);
    expect(recorded(dataDir, TOP)).toEqual({ resources: {}, pendingDeletes: [], inFlight: [], changes: {}, rollback: undefined });
  });
});

describe('a failed stack update is rolled back to the previous deploy', () => {
  let dataDir: string;
  let deployed: unknown;
  let stateBefore: { top: unknown; nested: unknown };

  beforeAll(async () => {
    dataDir = path.join(tmp, 'update');
    await deployApp(options(synth(V1), dataDir));
    // Each file asset served (texts, image archives) is kept beside the state, for the Updates back of later rollbacks.
    expect(fs.readdirSync(path.join(dataDir, 'deployments', 'file-assets')).length).toBeGreaterThan(0);
    deployed = await registrySnapshot(client);
    stateBefore = { top: recorded(dataDir), nested: recorded(dataDir, NESTED) };
  }, 120_000);

  test.each(POSITIONS)('failing $name', async ({ update }) => {
    const err = await failingDeploy(update, dataDir);
    expect(err.reason).toMatch(/^RepositoryAlreadyExistsException: .*rb\/taken/);
    expect(err.rollback).toEqual({ status: 'complete' });
    expect(lines[lines.length - 1]).toContain(`failed: ${err.message}`);
    expect(await registrySnapshot(client)).toEqual(deployed);
    expect({ top: recorded(dataDir), nested: recorded(dataDir, NESTED) }).toEqual(stateBefore);
  });

  test('what each rollback event undoes: Update back, Delete of the created, the new side of a replacement deleted last', async () => {
    const err = await failingDeploy({ ...V2, last: TAKEN }, dataDir);
    // The registry depends on every repository: the failure comes before its update.
    expect(actions(err.result).filter((a) => !a.startsWith('unchanged'))).toEqual([
      'updated First',
      'created Added',
      'replaced Middle',
      'replaced Image',
      'replaced Other',
      // Reverse dependency order: the failed resource first, the replacements' new sides last.
      'rolled back Last (update)',
      'rolled back Added (creation)',
      'rolled back First (update)',
      'rolled back Other (replacement)',
      'rolled back Image (replacement)',
      'rolled back Middle (replacement)',
    ]);
    expect(err.result.resources.find((r) => r.logicalId.startsWith('Middle') && r.action === 'rolled back'))
      .toMatchObject({ physicalResourceId: 'rb/middle-renamed', restoredPhysicalResourceId: 'rb/middle' });
    expect(lines.some((l) => /^ {2}rolled back Middle[0-9A-F]{8} {2}Custom::EcrPublicRepository {2}rb\/middle-renamed {2}\(its replacement undone, back to rb\/middle\)$/.test(l))).toBe(true);
    expect(await registrySnapshot(client)).toEqual(deployed);
    expect(recorded(dataDir)).toEqual(stateBefore.top);
  });

  test('an image whose tags changed in place is updated back', async () => {
    const err = await failingDeploy({ ...V1, last: TAKEN, imageTag: 'v-moved' }, dataDir);
    expect(actions(err.result).filter((a) => !a.startsWith('unchanged'))).toEqual(['updated Image', 'rolled back Last (update)', 'rolled back Image (update)']);
    expect(await registrySnapshot(client)).toEqual(deployed);
    expect(recorded(dataDir)).toEqual(stateBefore.top);
  });

  test('a tag moved to another image is moved back', async () => {
    const err = await failingDeploy({ ...V1, last: TAKEN, latestMoved: true }, dataDir);
    expect(actions(err.result).filter((a) => !a.startsWith('unchanged')).sort()).toEqual([
      'rolled back Image (update)', 'rolled back Last (update)', 'rolled back Other (update)', 'updated Image', 'updated Other',
    ]);
    expect(await registrySnapshot(client)).toEqual(deployed);
    expect(recorded(dataDir)).toEqual(stateBefore.top);
  });

  test('--no-rollback leaves the deploy in place; the next deploy converges, reusing the renamed repository\'s old side', async () => {
    const err = await failingDeploy({ ...V2, last: TAKEN }, dataDir, { noRollback: true });
    expect(err.rollback).toEqual({ status: 'disabled' });
    expect(lines[lines.length - 1]).toMatch(/stopped and is not rolled back \(no-rollback\)/);
    expect(err.result.resources.some((r) => r.action === 'rolled back')).toBe(false);
    expect(await registrySnapshot(client)).not.toEqual(deployed);
    expect(Object.keys(state(dataDir).changes).length).toBeGreaterThan(0);

    // The first version again: the middle repository is renamed back to a name the state still holds.
    const result = await deployApp(options(synth(V1), dataDir));
    expect(result.resources.find((r) => r.logicalId.startsWith('Middle'))).toMatchObject({
      action: 'replaced', physicalResourceId: 'rb/middle', replacedPhysicalResourceId: 'rb/middle-renamed',
    });
    expect(await registrySnapshot(client)).toEqual(deployed);
    expect(recorded(dataDir)).toEqual(stateBefore.top);
  });

  test('a rollback that fails stops, is recorded, and the next deploy continues it before it deploys', async () => {
    const err = await failingDeploy({ ...V1, last: TAKEN, unemptiable: true }, dataDir);
    expect(err.reason).toMatch(/^RepositoryAlreadyExistsException: /);
    expect(err.rollback).toMatchObject({ status: 'failed', reason: expect.stringMatching(/^RepositoryNotEmptyException: /) });
    expect(err.rollback?.logicalId).toMatch(/^Unemptiable/);
    expect(lines.some((l) => l.startsWith('The rollback of RollbackTop stopped at Unemptiable'))).toBe(true);
    expect(lines[lines.length - 1]).toBe(`The deploy of RollbackTop failed: ${err.message}`);
    const stopped = state(dataDir);
    expect(stopped.rollback.failure).toMatch(/^Unemptiable[0-9A-F]{8}: RepositoryNotEmptyException: /);
    expect(Object.keys(stopped.changes)).toEqual([expect.stringMatching(/^Unemptiable/)]);

    // The cause fixed (the kept image removed), the next deploy finishes the rollback, then deploys.
    await client.send(new BatchDeleteImageCommand({ repositoryName: 'rb/unemptiable', imageIds: [{ imageTag: 'kept' }] }));
    const result = await deployApp(options(synth(V1), dataDir));
    expect(lines.some((l) => l.startsWith('Continuing the rollback of RollbackTop'))).toBe(true);
    expect(actions(result).filter((a) => !a.startsWith('unchanged'))).toEqual(['rolled back Unemptiable (creation)']);
    expect(await registrySnapshot(client)).toEqual(deployed);
    expect(recorded(dataDir)).toEqual(stateBefore.top);
  });

  test('destroy works from a stopped rollback', async () => {
    const err = await failingDeploy({ ...V1, last: TAKEN, unemptiable: true }, dataDir);
    expect(err.rollback?.status).toBe('failed');
    await client.send(new BatchDeleteImageCommand({ repositoryName: 'rb/unemptiable', imageIds: [{ imageTag: 'kept' }] }));
    await destroyApp(options(synth(V1), dataDir));
    const after = await registrySnapshot(client) as { repositories: Record<string, unknown> };
    expect(Object.keys(after.repositories)).toEqual([TAKEN]);
    expect(fs.existsSync(path.join(dataDir, 'deployments', `${TOP}.json`))).toBe(false);
    // The file assets kept for rollbacks go with the last state that refers to them.
    expect(fs.readdirSync(path.join(dataDir, 'deployments', 'file-assets'))).toEqual([]);
  });
});
