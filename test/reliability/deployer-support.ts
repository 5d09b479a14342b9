/**
 * Pieces of the deployer's reliability suites: `ecr-public-local deploy` / `destroy` as child processes (lib/local/cli.js)
 * that can be killed, an app of our constructs synthesized to a cloud assembly, and what the emulator shows, made
 * comparable between emulators (creation times and ports aside).
 */
import { ChildProcess, spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { ECRPUBLICClient } from '@aws-sdk/client-ecr-public';
import { App, CfnResource, RemovalPolicy, Stack, aws_iam as iam } from 'aws-cdk-lib';
import { registrySnapshot } from './support';
import { CatalogText, PublicRegistry, PublicRepository } from '../../src';
import { run } from '../support/run-tool';

const ROOT = path.resolve(__dirname, '..', '..');
export const CLI = path.join(ROOT, 'lib', 'local', 'cli.js');

/** Compiles the emulator and deployer into lib/local when a source file is newer than the compiled CLI. */
export async function ensureCompiledCli(): Promise<void> {
  const newest = (dir: string): number => fs.readdirSync(dir, { withFileTypes: true }).reduce((max, e) => {
    const p = path.join(dir, e.name);
    return Math.max(max, e.isDirectory() ? newest(p) : e.name.endsWith('.ts') ? fs.statSync(p).mtimeMs : 0);
  }, 0);
  const compiled = path.join(ROOT, 'lib', 'local', 'deploy', 'deploy.js');
  if (fs.existsSync(compiled) && fs.statSync(compiled).mtimeMs >= newest(path.join(ROOT, 'local'))) return;
  await run('npx', ['projen', 'compile:local'], { cwd: ROOT, timeoutMs: 110_000 });
}

/** The environment of the subprocesses: nothing that would point them elsewhere or inject faults. */
function cleanEnv(): NodeJS.ProcessEnv {
  const env = { ...process.env };
  for (const key of ['AWS_ENDPOINT_URL_ECR_PUBLIC', 'AWS_ENDPOINT_URL_S3', 'AWS_ENDPOINT_URL', 'ECR_PUBLIC_LOCAL_FAULTS']) delete env[key];
  return env;
}

export interface CliRun {
  readonly child: ChildProcess;
  /** Resolves when the process ends. */
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null; stdout: string; stderr: string }>;
}

/** Starts `ecr-public-local <args>` in a child process. */
export function startCli(args: string[]): CliRun {
  const child = spawn(process.execPath, [CLI, ...args], { env: cleanEnv(), stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (c: Buffer) => { stdout += c.toString('utf8'); });
  child.stderr!.on('data', (c: Buffer) => { stderr += c.toString('utf8'); });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null; stdout: string; stderr: string }>((resolve) => {
    child.on('close', (code, signal) => resolve({ code, signal, stdout, stderr }));
  });
  return { child, exited };
}

/** Runs `ecr-public-local <args>` to its end. */
export async function cli(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return startCli(args).exited;
}

/** What varies between the versions of the test app. */
export interface TestApp {
  readonly stackName: string;
  /** Repository names: each one resource (`Custom::EcrPublicRepository`) carrying its catalog data and its policy. */
  readonly repositories: string[];
  /**
   * Each repository depends on the one before it (DependsOn), so that the deployer, which deploys independent resources
   * at once, runs them one at a time: a kill point such as "the second CreateRepository" then names one moment.
   * @default false (independent repositories, deployed concurrently)
   */
  readonly sequential?: boolean;
  /**
   * Logical ids given to the repositories' resources, one per repository, in order. Names the CDK refuses (it merges
   * template sections with `in`, so `constructor` clashes) are written into the synthesized template afterwards, as
   * another tool could have written it: in every place the template names them (DependsOn, Ref, Fn::GetAtt).
   */
  readonly logicalIds?: string[];
  /**
   * The logical id of the registry's resource, written in the same way. The registry depends on every repository, so
   * its DependsOn lists the repositories' ids.
   */
  readonly registryLogicalId?: string;
  /** An extra property of every repository resource: `{ [key]: value }` (the handler ignores it). */
  readonly extraProperty?: Record<string, string>;
}

/** Synthesizes `app` (a registry and its repositories) into `outdir`. */
export function synthApp(outdir: string, app: TestApp): string {
  if (app.logicalIds && app.logicalIds.length !== app.repositories.length) {
    throw new Error(`${app.logicalIds.length} logical ids for ${app.repositories.length} repositories`);
  }
  const cdkApp = new App({ outdir });
  const stack = new Stack(cdkApp, 'Stack', { stackName: app.stackName });
  const registry = new PublicRegistry(stack, 'Registry', { displayName: 'Deployer reliability' });
  /** The id each placeholder stands for, by its number. */
  const replacements: string[] = [];
  const rename = (cfn: CfnResource, id: string): void => {
    cfn.overrideLogicalId(`${PLACEHOLDER}${replacements.length}${PLACEHOLDER}`);
    replacements.push(id);
  };
  let previous: CfnResource | undefined;
  for (const [i, name] of app.repositories.entries()) {
    const repo = new PublicRepository(stack, `Repo${i}`, {
      repositoryName: name,
      removalPolicy: RemovalPolicy.DESTROY,
      description: `Repository ${name}`,
      aboutText: CatalogText.fromString(`# ${name}`),
    });
    repo.addToResourcePolicy(new iam.PolicyStatement({
      sid: 'Pull',
      principals: [new iam.AccountRootPrincipal()],
      actions: ['ecr-public:BatchCheckLayerAvailability'],
    }));
    const cfn = cfnResourceOf(repo);
    if (cfn.cfnResourceType !== 'Custom::EcrPublicRepository') throw new Error(`a repository is a ${cfn.cfnResourceType}`);
    if (app.sequential && previous) cfn.addDependency(previous);
    previous = cfn;
    if (app.logicalIds) rename(cfn, app.logicalIds[i]);
    // The CDK sets overrides by assignment, which `__proto__` defeats: the entries are written in afterwards.
    if (app.extraProperty) cfn.addPropertyOverride(`Extra.${PLACEHOLDER}`, PLACEHOLDER);
  }
  if (app.registryLogicalId !== undefined) rename(cfnResourceOf(registry), app.registryLogicalId);
  cdkApp.synth();
  const file = path.join(outdir, `${stack.artifactId}.template.json`);
  const entries = Object.entries(app.extraProperty ?? {}).map(([k, v]) => `${JSON.stringify(k)}: ${JSON.stringify(v)}`).join(', ');
  const text = fs.readFileSync(file, 'utf8')
    .replace(new RegExp(`${PLACEHOLDER}([0-9]+)${PLACEHOLDER}`, 'g'), (_m, n: string) => replacements[Number(n)])
    .replace(new RegExp(`"${PLACEHOLDER}": "${PLACEHOLDER}"`, 'g'), entries);
  fs.writeFileSync(file, text);
  return outdir;
}

/** Marks the logical ids replaced after synthesis. */
const PLACEHOLDER = 'LogicalIdPlaceholder';

/** The CloudFormation resource of one of our constructs (its `Resource` custom resource's). */
function cfnResourceOf(construct: import('constructs').IConstruct): CfnResource {
  const custom = construct.node.defaultChild!;
  return custom.node.defaultChild as CfnResource;
}

/**
 * Everything the API shows of the registry (see `registrySnapshot`), with what differs between two emulators that hold
 * the same things taken out: creation times, and the port in URIs.
 */
export async function comparableSnapshot(client: ECRPUBLICClient): Promise<unknown> {
  const snapshot = await registrySnapshot(client);
  return JSON.parse(JSON.stringify(snapshot, (key, value: unknown) => key === 'createdAt' ? undefined : value)
    .replace(/127\.0\.0\.1:[0-9]+/g, '127.0.0.1:PORT'));
}

/** The deployment state file of `stackName` in `dataDir`, parsed (as the deployer wrote it). */
export function readState(dataDir: string, stackName: string): any {
  return JSON.parse(fs.readFileSync(path.join(dataDir, 'deployments', `${stackName}.json`), 'utf8'));
}

/** The state's resources as `logical id → physical id`, with ports taken out. */
export function physicalIds(state: any): Record<string, string> {
  const out: Record<string, string> = Object.create(null);
  for (const [id, r] of Object.entries(state.resources as Record<string, { physicalResourceId: string }>)) out[id] = r.physicalResourceId;
  return out;
}

