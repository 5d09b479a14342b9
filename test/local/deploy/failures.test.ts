/**
 * End to end: handlers that answer FAILED stop the deploy (with --no-rollback; rollbacks are rollback.test.ts's) or the
 * destroy with the handler's reason, keep the state of what succeeded, print the handler's output, and the next run
 * picks up from there.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import {
  BatchDeleteImageCommand,
  CreateRepositoryCommand,
  DeleteRepositoryCommand,
  DescribeRepositoriesCommand,
  ECRPUBLICClient,
} from '@aws-sdk/client-ecr-public';
import { App, RemovalPolicy, Stack } from 'aws-cdk-lib';
import { deployApp, destroyApp, LocalDeployError, RunningEmulator } from '../../../local';
import { PublicRepository } from '../../../src';
import { pushSmallImage } from '../../support/ecr-fixtures';
import { startInProcess } from '../../support/emulator-harness';
import { errorName, expectRejection } from '../../support/rejections';
import { makeTempDir } from '../../support/temp-dirs';

const STACK = 'LocalDeployFailures';

let tmp: string;
let emu: RunningEmulator;
let client: ECRPUBLICClient;
let dataDir: string;
let outdirs = 0;
let lines: string[] = [];

function synth(repositories: Array<{ id: string; name: string }>): string {
  const outdir = path.join(tmp, `cdk.out.${++outdirs}`);
  const app = new App({ outdir });
  const stack = new Stack(app, STACK);
  // DESTROY without emptyOnDelete: deleting a repository that holds images fails.
  for (const r of repositories) new PublicRepository(stack, r.id, { repositoryName: r.name, removalPolicy: RemovalPolicy.DESTROY });
  app.synth();
  return outdir;
}

function options(assemblyDir: string) {
  lines = [];
  return { assemblyDir, dataDir, endpoint: emu.endpoint, log: (l: string) => lines.push(l), noRollback: true };
}

function state(): any {
  return JSON.parse(fs.readFileSync(path.join(dataDir, 'deployments', `${STACK}.json`), 'utf8'));
}

/** A repository's physical ids: the repository resource carries its catalog data and policy. */
function withChildren(name: string): string[] {
  return [name];
}

function statePhysicalIds(): string[] {
  return Object.values(state().resources).map((r: any) => r.physicalResourceId).sort();
}

async function exists(name: string): Promise<boolean> {
  const err = await client.send(new DescribeRepositoriesCommand({ repositoryNames: [name] })).then(() => undefined, (e: Error) => e);
  if (err && err.name !== 'RepositoryNotFoundException') throw err;
  return err === undefined;
}

beforeAll(async () => {
  tmp = makeTempDir('local-deploy-failures-');
  dataDir = path.join(tmp, 'data');
  ({ emu, client } = await startInProcess({ iam: {} }, { maxAttempts: 1 }));
});

afterAll(async () => {
  client?.destroy();
  await emu?.stop();
  if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
});

describe('failing handlers', () => {
  test('with --no-rollback, a FAILED Create stops the deploy with the reason and keeps what succeeded; the next deploy continues', async () => {
    await client.send(new CreateRepositoryCommand({ repositoryName: 'fail-test/taken' }));
    const outdir = synth([{ id: 'First', name: 'fail-test/first' }, { id: 'Taken', name: 'fail-test/taken' }]);

    const err = await expectRejection(deployApp(options(outdir)), LocalDeployError);
    expect(err.reason).toMatch(/^RepositoryAlreadyExistsException: .*fail-test\/taken/);
    expect(err.logicalId).toMatch(/^Taken/);
    expect(err.message).toContain('RepositoryAlreadyExistsException');
    expect(err.result.resources.map((r) => [r.physicalResourceId, r.action])).toEqual(withChildren('fail-test/first').map((id) => [id, 'created']));
    expect(err.handlerLogs.some((l) => l.includes('"outcome":"FAILED"'))).toBe(true);
    // Printed: the reason, the handler's output (not verbose, so only now) and that nothing is rolled back.
    expect(lines.some((l) => l.startsWith('  FAILED') && l.includes('RepositoryAlreadyExistsException'))).toBe(true);
    expect(lines.some((l) => l.startsWith('    | ') && l.includes('"outcome":"FAILED"'))).toBe(true);
    expect(lines[lines.length - 1]).toMatch(/^The deploy of LocalDeployFailures stopped and is not rolled back \(no-rollback\)/);
    expect(err.rollback).toEqual({ status: 'disabled' });
    expect(statePhysicalIds()).toEqual(withChildren('fail-test/first'));
    expect(await exists('fail-test/first')).toBe(true);

    await client.send(new DeleteRepositoryCommand({ repositoryName: 'fail-test/taken' }));
    const retried = await deployApp(options(outdir));
    expect(retried.resources.map((r) => [r.physicalResourceId, r.action])).toEqual([
      ...withChildren('fail-test/first').map((id) => [id, 'unchanged']),
      ...withChildren('fail-test/taken').map((id) => [id, 'created']),
    ]);
    // Without --verbose, a successful handler's output is not printed.
    expect(lines.some((l) => l.startsWith('    | '))).toBe(false);
    expect(statePhysicalIds()).toEqual([...withChildren('fail-test/first'), ...withChildren('fail-test/taken')]);
  });

  test('destroy of a repository holding images (no emptyOnDelete) fails with RepositoryNotEmptyException and keeps it', async () => {
    await pushSmallImage(client, 'fail-test/first', 'v1');
    const outdir = synth([{ id: 'First', name: 'fail-test/first' }, { id: 'Taken', name: 'fail-test/taken' }]);

    const err = await expectRejection(destroyApp(options(outdir)), LocalDeployError);
    expect(err.reason).toMatch(/^RepositoryNotEmptyException: /);
    expect(err.reason).toContain('emptyOnDelete');
    expect(err.logicalId).toMatch(/^First/);
    expect(lines.some((l) => l.includes('The destroy of LocalDeployFailures stopped. There is no rollback'))).toBe(true);
    // A destroy sends the recorded properties: running it again alone would fail the same way.
    expect(lines.some((l) => l.includes('destroy sends the properties recorded at the last deploy, so fix the cause in the app, run deploy, then destroy again'))).toBe(true);
    expect(lines.some((l) => l.includes('run destroy again'))).toBe(false);
    // The other repository went; the failing one is still deployed and still recorded.
    expect(err.result.resources.map((r) => [r.physicalResourceId, r.action])).toEqual([
      ['fail-test/taken', 'deleted'],
    ]);
    expect(await exists('fail-test/taken')).toBe(false);
    expect(await exists('fail-test/first')).toBe(true);
    expect(statePhysicalIds()).toEqual(['fail-test/first']);
  });

  test('a FAILED Delete of a removed repository stops the deploy; once emptied, the next deploy deletes it', async () => {
    const outdir = synth([{ id: 'Other', name: 'fail-test/other' }]);
    const err = await expectRejection(deployApp(options(outdir)), LocalDeployError);
    expect(err.reason).toMatch(/^RepositoryNotEmptyException: /);
    expect(err.result.resources.map((r) => [r.physicalResourceId, r.action])).toEqual(withChildren('fail-test/other').map((id) => [id, 'created']));
    expect(statePhysicalIds()).toEqual(['fail-test/first', ...withChildren('fail-test/other')]);

    await client.send(new BatchDeleteImageCommand({ repositoryName: 'fail-test/first', imageIds: [{ imageTag: 'v1' }] }));
    const result = await deployApp(options(outdir));
    expect(result.resources.map((r) => [r.physicalResourceId, r.action, r.reason])).toEqual([
      ...withChildren('fail-test/other').map((id) => [id, 'unchanged', undefined]),
      ['fail-test/first', 'deleted', 'removed'],
    ]);
    expect(await errorName(client.send(new DescribeRepositoriesCommand({ repositoryNames: ['fail-test/first'] })))).toBe('RepositoryNotFoundException');
    expect(statePhysicalIds()).toEqual(withChildren('fail-test/other'));
  });
});
