/**
 * End to end with the local deployer and the bundled image-publisher: a PublicImage of an OCI layout carrying an SBOM
 * (as `oras attach --oci-layout` writes it) and a file attached with `ImageArtifact.fromFile`, deployed, listed by the
 * referrers API and fetched back byte for byte; destroyed with the image.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { DescribeImagesCommand, ECRPUBLICClient } from '@aws-sdk/client-ecr-public';
import { App, RemovalPolicy, Stack } from 'aws-cdk-lib';
import { deployApp, destroyApp, RunningEmulator } from '../../../local';
import { ImageArtifact, ImageSource, PublicImage, PublicRepository } from '../../../src';
import { sha256 } from '../../../src/shared/oci/digest';
import { primaryRegistryAlias, startInProcess } from '../../support/emulator-harness';
import { OciLayoutImage } from '../../support/oci-layout';
import { AttachedArtifact, attachToLayout, RegistryReader } from '../../support/oci-referrers';
import { makeTempDir, removeTempDir } from '../../support/temp-dirs';
import { buildImage } from '../../support/umoci-images';

const ROOT = path.resolve(__dirname, '..', '..', '..');
const REPO = 'referrers-test/app';

let tmp: string;
let emu: RunningEmulator;
let client: ECRPUBLICClient;
let image: OciLayoutImage;
let sbom: AttachedArtifact;
let provenance: string;

beforeAll(async () => {
  if (!fs.existsSync(path.join(ROOT, 'assets', 'image-publisher', 'index.js'))) {
    throw new Error('assets/image-publisher/index.js is missing: run `npx projen bundle` first');
  }
  tmp = makeTempDir('local-deploy-referrers-');
  image = await buildImage(path.join(tmp, 'layout'), { tag: 'v1', files: { 'app.txt': 'app\n' } });
  sbom = attachToLayout(image.layoutDir, image.root, { artifactType: 'application/spdx+json', content: '{"spdxVersion":"SPDX-2.3"}' });
  provenance = path.join(tmp, 'provenance.json');
  fs.writeFileSync(provenance, '{"_type":"https://in-toto.io/Statement/v1"}');
  ({ emu, client } = await startInProcess({}, { maxAttempts: 1 }));
}, 60_000);

afterAll(async () => {
  client?.destroy();
  await emu?.stop();
  removeTempDir(tmp);
});

function synth(outdir: string): string {
  const app = new App({ outdir });
  const stack = new Stack(app, 'ReferrersStack');
  const repo = new PublicRepository(stack, 'Repo', { repositoryName: REPO, removalPolicy: RemovalPolicy.DESTROY });
  new PublicImage(stack, 'Image', {
    repository: repo,
    source: ImageSource.fromOciLayout(image.layoutDir),
    tags: ['v1'],
    removalPolicy: RemovalPolicy.DESTROY,
    artifacts: [ImageArtifact.fromFile(provenance, { artifactType: 'application/vnd.in-toto+json' })],
  });
  app.synth();
  return outdir;
}

test('deployed: the layout\'s SBOM and the attached file are referrers of the image; destroyed with it', async () => {
  const dataDir = path.join(tmp, 'data');
  const assemblyDir = synth(path.join(tmp, 'cdk.out'));
  await deployApp({ assemblyDir, dataDir, endpoint: emu.endpoint, log: () => undefined });
  const alias = await primaryRegistryAlias(client);
  const r = new RegistryReader(`${emu.endpoint}/v2/${alias}/${REPO}`);
  const listed = await r.referrers(image.root.digest);
  expect(listed.map((d) => d.artifactType)).toEqual(['application/spdx+json', 'application/vnd.in-toto+json']);
  expect((await r.manifest(sbom.digest)).equals(sbom.bytes)).toBe(true);
  expect((await r.blob(sbom.layer.digest)).toString()).toBe('{"spdxVersion":"SPDX-2.3"}');
  const attached = JSON.parse((await r.manifest(listed[1].digest)).toString());
  expect(attached.subject).toEqual({ mediaType: image.root.mediaType, digest: image.root.digest, size: image.root.size });
  expect((await r.blob(sha256(fs.readFileSync(provenance)))).equals(fs.readFileSync(provenance))).toBe(true);
  expect(((await client.send(new DescribeImagesCommand({ repositoryName: REPO }))).imageDetails ?? []).length).toBe(3);

  // The repository (no emptyOnDelete) can only go once the image resource has deleted the image and every referrer.
  await destroyApp({ assemblyDir, dataDir, endpoint: emu.endpoint, log: () => undefined });
  await expect(client.send(new DescribeImagesCommand({ repositoryName: REPO }))).rejects.toThrow(/RepositoryNotFoundException|does not exist/);
});
