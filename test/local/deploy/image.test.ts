/**
 * End to end: a PublicImage built with umoci (an OCI layout), deployed with the bundled image-publisher handler reading
 * the staged archive from the deployer's S3 endpoint, and pulled back with skopeo byte for byte.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { DescribeImagesCommand, DescribeRepositoriesCommand, ECRPUBLICClient } from '@aws-sdk/client-ecr-public';
import { App, RemovalPolicy, Stack } from 'aws-cdk-lib';
import { deployApp, destroyApp, RunningEmulator } from '../../../local';
import { ImageSource, PublicImage, PublicRepository } from '../../../src';
import { primaryRegistryAlias, startInProcess } from '../../support/emulator-harness';
import { OciLayoutImage, readOciLayout, sha256File } from '../../support/oci-layout';
import { errorName } from '../../support/rejections';
import { skopeoCopy } from '../../support/skopeo';
import { makeTempDir, removeTempDir } from '../../support/temp-dirs';
import { buildImage } from '../../support/umoci-images';

const ROOT = path.resolve(__dirname, '..', '..', '..');

let tmp: string;
let emu: RunningEmulator;
let client: ECRPUBLICClient;
let image: OciLayoutImage;

function synth(outdir: string, tags: string[]): string {
  const app = new App({ outdir });
  const stack = new Stack(app, 'ImageStack');
  const repo = new PublicRepository(stack, 'Repo', { repositoryName: 'image-test/app', removalPolicy: RemovalPolicy.DESTROY, emptyOnDelete: true });
  new PublicImage(stack, 'Image', {
    repository: repo,
    source: ImageSource.fromOciLayout(image.layoutDir, { ref: 'v1' }),
    tags,
    removalPolicy: RemovalPolicy.DESTROY,
  });
  app.synth();
  return outdir;
}

beforeAll(async () => {
  if (!fs.existsSync(path.join(ROOT, 'assets', 'image-publisher', 'index.js'))) {
    throw new Error('assets/image-publisher/index.js is missing: run `npx projen bundle` first');
  }
  tmp = makeTempDir('local-deploy-image-');
  image = await buildImage(path.join(tmp, 'layout'), { tag: 'v1', layers: 2, files: { 'etc/motd': 'hello\n', 'app/run.sh': '#!/bin/sh\necho hi\n' } });
  ({ emu, client } = await startInProcess({ iam: {} }, { maxAttempts: 1 }));
}, 60_000);

afterAll(async () => {
  client?.destroy();
  await emu?.stop();
  removeTempDir(tmp);
});

test('a PublicImage is published by its bundled handler and pulls back byte for byte', async () => {
  const dataDir = path.join(tmp, 'data');
  const lines: string[] = [];
  const result = await deployApp({ assemblyDir: synth(path.join(tmp, 'cdk.out'), ['v1', 'latest']), dataDir, endpoint: emu.endpoint, log: (l) => lines.push(l) });
  const published = result.resources.find((r) => r.type === 'Custom::EcrPublicImage')!;
  expect(published.action).toBe('created');
  const alias = await primaryRegistryAlias(client);
  // umoci's layers are compressed already: the published digest is the source's.
  expect(published.data.ImageDigest).toBe(image.root.digest);
  expect(published.data.ImageUri).toBe(`${emu.host}/${alias}/image-test/app@${image.root.digest}`);
  expect(published.physicalResourceId).toBe(`image-test/app@${image.root.digest}`);
  expect(lines.some((l) => l.includes(`ImageDigest=${image.root.digest}`))).toBe(true);

  const images = await client.send(new DescribeImagesCommand({ repositoryName: 'image-test/app' }));
  expect(images.imageDetails?.map((d) => [d.imageDigest, [...(d.imageTags ?? [])].sort()])).toEqual([[image.root.digest, ['latest', 'v1']]]);

  const out = path.join(tmp, 'pulled');
  await skopeoCopy(`docker://${emu.host}/${alias}/image-test/app:latest`, `oci:${out}:pulled`);
  const pulled = readOciLayout(out, 'pulled');
  expect(pulled.root.bytes.equals(image.root.bytes)).toBe(true);
  expect(pulled.blobs.map((b) => b.digest)).toEqual(image.blobs.map((b) => b.digest));
  for (const blob of pulled.blobs) expect(await sha256File(blob.path)).toBe(blob.digest);

  // The repository (carrying its catalog data and policy), then the image.
  expect(result.resources.map((r) => [r.type, r.physicalResourceId, r.action])).toEqual([
    ['Custom::EcrPublicRepository', 'image-test/app', 'created'],
    ['Custom::EcrPublicImage', `image-test/app@${image.root.digest}`, 'created'],
  ]);
  // Only an image with a secret or a private ECR source has a policy of its own: this one's permissions are the handler role's.
  expect(result.skipped.some((s) => s.logicalId.includes('HandlerPolicy'))).toBe(false);

  // A tag dropped from the app is an Update of the image resource; the rest stays.
  const updated = await deployApp({ assemblyDir: synth(path.join(tmp, 'cdk.out.2'), ['v1']), dataDir, endpoint: emu.endpoint, log: () => undefined });
  expect(updated.resources.map((r) => [r.type, r.action])).toEqual([
    ['Custom::EcrPublicRepository', 'unchanged'],
    ['Custom::EcrPublicImage', 'updated'],
  ]);
  const after = await client.send(new DescribeImagesCommand({ repositoryName: 'image-test/app' }));
  expect(after.imageDetails?.map((d) => d.imageTags)).toEqual([['v1']]);

  const destroyed = await destroyApp({ assemblyDir: path.join(tmp, 'cdk.out.2'), dataDir, endpoint: emu.endpoint, log: () => undefined });
  expect(destroyed.resources.map((r) => [r.type, r.action])).toEqual([
    ['Custom::EcrPublicImage', 'deleted'],
    ['Custom::EcrPublicRepository', 'deleted'],
  ]);
  expect(await errorName(client.send(new DescribeRepositoriesCommand({ repositoryNames: ['image-test/app'] })))).toBe('RepositoryNotFoundException');
});
