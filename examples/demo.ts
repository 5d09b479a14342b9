/**
 * `npm run demo`: the whole library, offline. Synthesizes the example app, starts the local ECR Public emulator,
 * deploys the app's custom resources to it with their shipped handlers, prints what the registry now holds, and pulls
 * the published image back with skopeo when skopeo is installed. The data directory is left for inspection.
 */
import { execFile } from 'child_process';
import { createHash } from 'crypto';
import * as fs from 'fs';
import * as path from 'path';
import { promisify } from 'util';
import {
  DescribeImagesCommand, DescribeRegistriesCommand, DescribeRepositoriesCommand, ECRPUBLICClient, GetRegistryCatalogDataCommand,
  GetRepositoryCatalogDataCommand, GetRepositoryPolicyCommand,
} from '@aws-sdk/client-ecr-public';
import { buildExampleApp } from './app';
import { deployApp, startEmulator, sweepApp } from '../local';

const ROOT = path.resolve(__dirname, '..');
const DATA_DIR = path.join(ROOT, '.emulator-data', 'demo');
const PORT = 5151;

async function main(): Promise<void> {
  const assemblyDir = path.join(DATA_DIR, 'cdk.out');
  fs.rmSync(assemblyDir, { recursive: true, force: true });
  heading('1. Synthesize the example app (examples/app.ts)');
  const assembly = buildExampleApp(assemblyDir).synth();
  for (const stack of assembly.stacks) {
    const types = Object.values(stack.template.Resources as Record<string, { Type: string }>).map((r) => r.Type);
    console.log(`   ${stack.stackName}: ${types.length} resources, ${types.filter((t) => t.startsWith('Custom::EcrPublic')).length} of them ECR Public custom resources`);
  }

  heading(`2. Start the emulator on 127.0.0.1:${PORT} (data in ${path.relative(ROOT, DATA_DIR)})`);
  const emulator = await startEmulator({ dataDir: path.join(DATA_DIR, 'emulator'), port: PORT });
  console.log(`   ${emulator.endpoint}`);
  try {
    heading('3. Deploy: each custom resource runs its bundled handler, in dependency order');
    const result = await deployApp({ assemblyDir, endpoint: emulator.endpoint, dataDir: DATA_DIR, log: (line) => console.log(`   ${line}`) });

    heading('4. What the registry holds now');
    await summarize(emulator.endpoint);

    const image = result.resources.find((r) => r.type === 'Custom::EcrPublicImage');
    heading('5. Pull the image back');
    if (image) await pullBack(image.data.ImageUri);

    const inAMonth = new Date(Date.now() + 30 * 24 * 60 * 60 * 1000).toISOString();
    heading('6. A lifecycle sweep a month from now, as a dry run (what would expire; the published tags are kept)');
    await sweepApp({ assemblyDir, endpoint: emulator.endpoint, dataDir: DATA_DIR, now: inAMonth, dryRun: true, log: (line) => console.log(`   ${line}`) });
  } finally {
    await emulator.stop();
  }

  heading('Look around');
  console.log(`   The data stays in ${path.relative(ROOT, DATA_DIR)}. Serve it again and ask the AWS CLI:`);
  console.log(`     npx ecr-public-local serve --port ${PORT} --data ${path.relative(ROOT, path.join(DATA_DIR, 'emulator'))}`);
  console.log(`     AWS_ACCESS_KEY_ID=local AWS_SECRET_ACCESS_KEY=local aws ecr-public describe-repositories --endpoint-url http://127.0.0.1:${PORT} --region us-east-1`);
  console.log(`   Deploy again (an update: nothing changes) or tear down with:`);
  console.log(`     npx ecr-public-local deploy ${path.relative(ROOT, assemblyDir)} --data ${path.relative(ROOT, DATA_DIR)} --endpoint http://127.0.0.1:${PORT}`);
  console.log(`     npx ecr-public-local sweep ${path.relative(ROOT, assemblyDir)} --data ${path.relative(ROOT, DATA_DIR)} --endpoint http://127.0.0.1:${PORT} --now 2030-01-01T00:00:00Z --dry-run`);
  console.log(`     npx ecr-public-local destroy ${path.relative(ROOT, assemblyDir)} --data ${path.relative(ROOT, DATA_DIR)} --endpoint http://127.0.0.1:${PORT}`);
}

async function summarize(endpoint: string): Promise<void> {
  const client = new ECRPUBLICClient({ endpoint, region: 'us-east-1', credentials: { accessKeyId: 'local', secretAccessKey: 'local' } });
  const { registries } = await client.send(new DescribeRegistriesCommand({}));
  const { registryCatalogData } = await client.send(new GetRegistryCatalogDataCommand({}));
  console.log(`   Registry ${registries![0].registryUri}  display name "${registryCatalogData!.displayName}"`);
  const { repositories } = await client.send(new DescribeRepositoriesCommand({}));
  for (const repo of repositories ?? []) {
    const name = repo.repositoryName!;
    console.log(`\n   Repository ${name}\n     URI          ${repo.repositoryUri}\n     ARN          ${repo.repositoryArn}`);
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
}

async function pullBack(imageUri: string): Promise<void> {
  const skopeo = '/usr/bin/skopeo';
  if (!fs.existsSync(skopeo)) {
    console.log('   skopeo is not installed, so the pull-back is skipped (apt-get install -y skopeo to see it).');
    return;
  }
  const target = path.join(DATA_DIR, 'pulled');
  fs.rmSync(target, { recursive: true, force: true });
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
