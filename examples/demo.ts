/**
 * `npm run demo`: the whole library, offline. Synthesizes the example app with an image built from a Dockerfile
 * added, starts the local ECR Public emulator, deploys the app's custom resources to it with their shipped handlers
 * (building the Dockerfile image with the container engine the machine has, buildah from Debian will do), prints what
 * the registry now holds, and pulls the published images back with skopeo when skopeo is installed. The data directory is left for inspection, and the
 * closing lines say how to serve it again and where its Gallery preview pages are.
 */
import { execFile } from 'child_process';
import { createHash } from 'crypto';
import * as fs from 'fs';
import * as path from 'path';
import { parseArgs, promisify } from 'util';
import {
  DescribeImagesCommand, DescribeRegistriesCommand, DescribeRepositoriesCommand, ECRPUBLICClient, GetRegistryCatalogDataCommand,
  GetRepositoryCatalogDataCommand, GetRepositoryPolicyCommand,
} from '@aws-sdk/client-ecr-public';
import { buildExampleApp, ExampleStack } from './app';
import { deployApp, startEmulator, sweepApp } from '../local';
import { ImageSource, PublicImage } from '../src';

const ROOT = path.resolve(__dirname, '..');
/** One data directory for everything the demo leaves: the emulator's data, the deployment state and the assembly. */
const DATA_DIR = path.join(ROOT, '.emulator-data', 'demo');
const DEFAULT_PORT = 5151;

/** `npm run demo -- --port N`, else `DEMO_PORT`, else 5151; 0 picks a free port. */
function demoPort(): number {
  const { values } = parseArgs({ args: process.argv.slice(2), options: { port: { type: 'string' } } });
  const text = values.port ?? process.env.DEMO_PORT ?? String(DEFAULT_PORT);
  const port = Number(text);
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new Error(`the port must be an integer from 0 to 65535 (got '${text}')`);
  return port;
}

async function main(): Promise<void> {
  const requestedPort = demoPort();
  const assemblyDir = path.join(DATA_DIR, 'cdk.out');
  fs.rmSync(assemblyDir, { recursive: true, force: true });
  heading('1. Synthesize the example app (examples/app.ts), with an image built from examples/assets/tools-image/Dockerfile');
  const app = buildExampleApp(assemblyDir);
  const example = app.node.children.find((c): c is ExampleStack => c instanceof ExampleStack)!;
  new PublicImage(example, 'ToolsImage', {
    repository: example.tools,
    source: ImageSource.fromDirectory(path.join(__dirname, 'assets', 'tools-image'), { buildArgs: { VERSION: '2.1.0' } }),
    tags: ['2.1.0'],
  });
  const assembly = app.synth();
  for (const stack of assembly.stacks) {
    const types = Object.values(stack.template.Resources as Record<string, { Type: string }>).map((r) => r.Type);
    console.log(`   ${stack.stackName}: ${types.length} resources, ${types.filter((t) => t.startsWith('Custom::EcrPublic')).length} of them ECR Public custom resources`);
  }

  heading(`2. Start the emulator on 127.0.0.1:${requestedPort} (data in ${path.relative(ROOT, DATA_DIR)}), IAM evaluated as on AWS`);
  const emulator = await startEmulator({ dataDir: DATA_DIR, port: requestedPort, iam: {} });
  const port = Number(new URL(emulator.endpoint).port);
  console.log(`   ${emulator.endpoint}`);
  let galleryPages: string[] = [];
  try {
    heading('3. Deploy: each custom resource runs its bundled handler as its own role, in dependency order');
    const result = await deployApp({ assemblyDir, endpoint: emulator.endpoint, dataDir: DATA_DIR, log: (line) => console.log(`   ${line}`) });

    heading('4. What the registry holds now');
    galleryPages = await summarize(emulator.endpoint);

    heading('5. Pull the images back (the one from the archive, the one built from the Dockerfile)');
    // The URI recorded by the deploy that published an image names the emulator it ran against: on a re-run that is
    // an update with nothing to do, on another port, pull from this emulator instead.
    for (const image of result.resources.filter((r) => r.type === 'Custom::EcrPublicImage')) {
      await pullBack(image.data.ImageUri.replace(/^[^/]+/, new URL(emulator.endpoint).host));
    }

    const inAMonth = new Date(Date.now() + 30 * 24 * 60 * 60 * 1000).toISOString();
    heading('6. A lifecycle sweep a month from now, as a dry run (what would expire; the published tags are kept)');
    await sweepApp({ assemblyDir, endpoint: emulator.endpoint, dataDir: DATA_DIR, now: inAMonth, dryRun: true, log: (line) => console.log(`   ${line}`) });
  } finally {
    await emulator.stop();
  }

  heading('Look around');
  const data = path.relative(ROOT, DATA_DIR);
  const endpoint = `http://127.0.0.1:${port}`;
  console.log(`   Everything stays in ${data}: the emulator's data, the deployment state and the assembly. Serve it again`);
  console.log('   (in another terminal):');
  console.log(`     npx ecr-public-local serve --iam --port ${port} --data ${data}`);
  console.log('   then open the Gallery preview of the catalog (the pages the ECR Public Gallery shows after a deploy):');
  for (const page of galleryPages) console.log(`     ${page}`);
  console.log('   or ask the AWS CLI:');
  console.log(`     AWS_ACCESS_KEY_ID=local AWS_SECRET_ACCESS_KEY=local aws ecr-public describe-repositories --endpoint-url ${endpoint} --region us-east-1`);
  console.log('   Deploy again (an update: nothing changes), sweep as a dry run in 2030, or tear down, against that emulator:');
  console.log(`     npx ecr-public-local deploy ${path.relative(ROOT, assemblyDir)} --data ${data} --endpoint ${endpoint}`);
  console.log(`     npx ecr-public-local sweep ${path.relative(ROOT, assemblyDir)} --data ${data} --endpoint ${endpoint} --now 2030-01-01T00:00:00Z --dry-run`);
  console.log(`     npx ecr-public-local destroy ${path.relative(ROOT, assemblyDir)} --data ${data} --endpoint ${endpoint}`);
}

/** Prints what the registry holds; returns the Gallery preview's pages (the registry's, then each repository's). */
async function summarize(endpoint: string): Promise<string[]> {
  const client = new ECRPUBLICClient({ endpoint, region: 'us-east-1', credentials: { accessKeyId: 'local', secretAccessKey: 'local' } });
  const { registries } = await client.send(new DescribeRegistriesCommand({}));
  const { registryCatalogData } = await client.send(new GetRegistryCatalogDataCommand({}));
  console.log(`   Registry ${registries![0].registryUri}  display name "${registryCatalogData!.displayName}"`);
  const pages = [`${endpoint}/gallery/`];
  const { repositories } = await client.send(new DescribeRepositoriesCommand({}));
  for (const repo of repositories ?? []) {
    const name = repo.repositoryName!;
    console.log(`\n   Repository ${name}\n     URI          ${repo.repositoryUri}\n     ARN          ${repo.repositoryArn}`);
    // The repository URI is `host/alias/name`; its preview page is `/gallery/alias/name` on the emulator.
    pages.push(`${endpoint}/gallery/${repo.repositoryUri!.slice(repo.repositoryUri!.indexOf('/') + 1)}`);
    const { catalogData: c } = await client.send(new GetRepositoryCatalogDataCommand({ repositoryName: name }));
    console.log(`     description  ${c?.description}`);
    console.log(`     platforms    ${c?.architectures?.join(', ')} / ${c?.operatingSystems?.join(', ')}`);
    console.log(`     logo         ${c?.logoUrl}`);
    console.log(`     about        ${firstLine(c?.aboutText)}`);
    console.log(`     usage        ${firstLine(c?.usageText)}`);
    const policy = await client.send(new GetRepositoryPolicyCommand({ repositoryName: name })).catch(() => undefined);
    if (policy?.policyText) {
      const statements = JSON.parse(policy.policyText).Statement as Array<{ Sid?: string; Principal: unknown }>;
      console.log(`     policy       ${statements.map((s) => `${s.Sid ?? 'statement'} → ${JSON.stringify(s.Principal)}`).join('; ')}`);
    }
    const { imageDetails } = await client.send(new DescribeImagesCommand({ repositoryName: name }));
    for (const image of imageDetails ?? []) {
      console.log(`     image        ${image.imageDigest}  tags [${image.imageTags?.join(', ') ?? ''}]  ${image.imageSizeInBytes} bytes`);
    }
  }
  client.destroy();
  return pages;
}

async function pullBack(imageUri: string): Promise<void> {
  const skopeo = '/usr/bin/skopeo';
  if (!fs.existsSync(skopeo)) {
    console.log('   skopeo is not installed, so the pull-back is skipped (apt-get install -y skopeo to see it).');
    return;
  }
  const target = path.join(DATA_DIR, 'pulled', imageUri.split('@')[0].split('/').pop()!);
  fs.rmSync(target, { recursive: true, force: true });
  fs.mkdirSync(path.dirname(target), { recursive: true });
  // Asynchronously: the emulator answers from this very process.
  await promisify(execFile)(skopeo, ['copy', '--insecure-policy', '--src-tls-verify=false', `docker://${imageUri}`, `oci:${target}:pulled`]);
  const index = JSON.parse(fs.readFileSync(path.join(target, 'index.json'), 'utf8'));
  const manifestDigest: string = index.manifests[0].digest;
  const bytes = fs.readFileSync(path.join(target, 'blobs', 'sha256', manifestDigest.slice(7)));
  const digest = `sha256:${createHash('sha256').update(bytes).digest('hex')}`;
  const published = imageUri.split('@')[1];
  console.log(`   skopeo copy docker://${imageUri} → ${path.relative(ROOT, target)}`);
  console.log(`   pulled manifest ${digest}: ${digest === published ? 'the digest the deploy reported' : `DIFFERS from ${published}`}`);
}

function heading(text: string): void {
  console.log(`\n${text}`);
}

function firstLine(text: string | undefined): string {
  const line = (text ?? '').split('\n').find((l) => l.trim() !== '') ?? '';
  return line.length > 70 ? `${line.slice(0, 67)}...` : line;
}

main().catch((err) => {
  console.error(`demo failed: ${err instanceof Error ? err.message : String(err)}`);
  process.exit(1);
});
