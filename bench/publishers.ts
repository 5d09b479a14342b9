/**
 * Our two ways of publishing, as `npm run bench` measures them: the bundled handler in a process of its own (the bench
 * harness, as in Lambda), and the `ecr-public-local deploy` command of a cloud assembly, as users run it.
 */
import * as fs from 'fs';
import * as http from 'http';
import * as net from 'net';
import * as path from 'path';
import { App, Stack } from 'aws-cdk-lib';
import { cpuOf, measured } from './processes';
import { OursResult } from './report';
import { ImageSource, PublicImage, PublicRepository } from '../src';
import { inspectImageArchive } from '../src/private/archive/inspect';
import { ImageProperties } from '../src/shared/publish-plan';
import { EMULATOR_CLI, ServedEmulator } from '../test/support/emulator-harness';

const ROOT = path.resolve(__dirname, '..');
/** The bundled publisher (`npx projen bundle`). */
export const HANDLER = path.join(ROOT, 'assets', 'image-publisher', 'index.js');

/** An image as both tools read it. */
export interface BenchImage {
  /** What the publisher is given: an OCI layout directory or a docker-save archive. */
  readonly file: string;
  /** The same image for skopeo. */
  readonly skopeoSource: string;
}

/** How the bench harness publishes. */
export interface HarnessOptions {
  /** The physical id of an earlier publish: the event is the Update CloudFormation sends for that resource. @default a Create */
  readonly previous?: string;
  /** The cores the handler's process is confined to (a `taskset` CPU list). @default any */
  readonly cpus?: string;
}

/** Publishes through the bundled handler in a child process; the CloudFormation response goes to a local server. */
export async function publishWithHandler(
  emulator: ServedEmulator, bucketDir: string, image: BenchImage, repo: string, compress: boolean, options: HarnessOptions = {},
): Promise<OursResult> {
  const staged = inspectImageArchive(image.file, { stagingDir: bucketDir });
  // The handler's CloudFormation response: a publish only counts when it says SUCCESS.
  let response = '';
  const responses = http.createServer((req, res) => {
    req.on('data', (chunk: Buffer) => {
      response += chunk.toString();
    });
    req.on('end', () => res.end());
  });
  await new Promise<void>((r) => responses.listen(0, '127.0.0.1', () => r()));
  const port = (responses.address() as net.AddressInfo).port;
  const props: ImageProperties = {
    RepositoryName: repo, ArchiveBucket: 'assets', ArchiveKey: path.relative(bucketDir, staged.archivePath), Plan: JSON.stringify(staged.plan),
    SourceDigest: staged.plan.rootDigest, Tags: ['bench'], CompressLayers: String(compress), Concurrency: '4', DeleteOnRemove: 'false',
  };
  const eventFile = path.join(bucketDir, '..', `event-${Date.now()}.json`);
  const request = options.previous === undefined ? { RequestType: 'Create' }
    : { RequestType: 'Update', PhysicalResourceId: options.previous, OldResourceProperties: { ServiceToken: 'bench', ...props } };
  fs.writeFileSync(eventFile, JSON.stringify({
    ...request, ServiceToken: 'bench', ResponseURL: `http://127.0.0.1:${port}/response`,
    StackId: 'arn:aws:cloudformation:us-east-1:123456789012:stack/bench/1', RequestId: 'bench', LogicalResourceId: 'Image',
    ResourceType: 'Custom::EcrPublicImage', ResourceProperties: { ServiceToken: 'bench', ...props },
  }));
  const emulatorBefore = cpuOf(emulator.child.pid!);
  try {
    const result = await measured(process.execPath, [path.join(__dirname, 'publish-child.js'), HANDLER, eventFile], {
      ...process.env, AWS_ENDPOINT_URL_ECR_PUBLIC: emulator.endpoint, AWS_ENDPOINT_URL_S3: emulator.endpoint,
      AWS_REGION: 'us-east-1', AWS_ACCESS_KEY_ID: 'bench', AWS_SECRET_ACCESS_KEY: 'bench',
    }, options.cpus);
    const child = JSON.parse(result.stdout.trim().split('\n').pop()!);
    const answer = response ? JSON.parse(response) : {};
    if (child.error || !child.summary || answer.Status !== 'SUCCESS') throw new Error(`publish failed (${answer.Status}): ${response || result.stdout}`);
    return { ...result, summary: child.summary, emulatorCpu: cpuOf(emulator.child.pid!) - emulatorBefore, physicalId: answer.PhysicalResourceId };
  } finally {
    responses.close();
    fs.rmSync(eventFile, { force: true });
    if (path.dirname(staged.archivePath) === bucketDir && staged.archivePath !== image.file) fs.rmSync(staged.archivePath, { force: true });
  }
}

/** A cloud assembly with one repository and the image, as a user's app would have it. */
export function synthApp(dir: string, image: BenchImage, repositoryName: string, compress: boolean): string {
  const outdir = path.join(dir, 'cdk.out');
  const app = new App({ outdir });
  const stack = new Stack(app, 'Bench');
  const repository = new PublicRepository(stack, 'Repository', { repositoryName });
  const source = fs.statSync(image.file).isDirectory() ? ImageSource.fromOciLayout(image.file) : ImageSource.fromTarball(image.file);
  new PublicImage(stack, 'Image', { repository, source, tags: ['bench'], compressLayers: compress });
  app.synth();
  return outdir;
}

/** `ecr-public-local deploy` of `assembly` into the running emulator, as a user runs it (`nodeFlags`: node's own, e.g. `--cpu-prof`). */
export async function deployWithCli(emulator: ServedEmulator, assembly: string, dataDir: string, nodeFlags: string[] = []): Promise<OursResult> {
  const emulatorBefore = cpuOf(emulator.child.pid!);
  const result = await measured(process.execPath, [...nodeFlags, EMULATOR_CLI, 'deploy', assembly, '--endpoint', emulator.endpoint, '--data', dataDir, '--verbose'], {
    ...process.env, AWS_ENDPOINT_URL_S3: '', AWS_ENDPOINT_URL_ECR_PUBLIC: '',
  });
  const summaryLine = result.stdout.split('\n').map((l) => /\{"summary":.*\}/.exec(l)?.[0]).filter((l): l is string => l !== undefined).pop();
  const summary = summaryLine ? JSON.parse(summaryLine).summary : {};
  if (!/Deployed Bench/.test(result.stdout)) throw new Error(`deploy failed:\n${result.stdout}`);
  return { ...result, summary, emulatorCpu: cpuOf(emulator.child.pid!) - emulatorBefore };
}

/** Throws unless a deploy left every resource unchanged (its totals line, `Deployed Bench: 2 unchanged`). */
export function expectNothingChanged(deploy: OursResult): OursResult {
  const totals = /^Deployed Bench: (.*)$/m.exec(deploy.stdout)?.[1] ?? '';
  if (!totals.split(', ').every((part) => /^\d+ unchanged$/.test(part))) throw new Error(`a deploy with nothing changed did: ${totals}`);
  return deploy;
}
