/**
 * Files attached with `ImageArtifact.fromFile`, from synth to registry: a `PublicImage` synthesized into a cloud
 * assembly, its two staged assets (the image's and the artifacts') put into the emulator's bucket as the deployer
 * does, its properties given to the handler. Each artifact manifest is the OCI 1.1 one (empty config, the file as its
 * layer, subject the image as published), listed by the referrers API and fetched back byte for byte; publishing again
 * writes the same manifest; deleting the image deletes it.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { App, RemovalPolicy, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { BUCKET, createRepository, findImage, TYPE, useAssetBucket } from './support';
import { handler } from '../../lambda/image-publisher';
import { ImageArtifact, ImageSource, PublicImage, PublicRepository } from '../../src';
import { sha256 } from '../../src/shared/oci/digest';
import { OCI_EMPTY, OCI_MANIFEST } from '../../src/shared/oci/media-types';
import { ImageProperties } from '../../src/shared/publish-plan';
import { uniqueName } from '../support/ecr-fixtures';
import { primaryRegistryAlias } from '../support/emulator-harness';
import { createEvent, deleteEvent, invokeOk, updateEvent, useHandlerHarness } from '../support/handler-harness';
import { OciLayoutImage } from '../support/oci-layout';
import { RegistryReader } from '../support/oci-referrers';
import { makeTempDir } from '../support/temp-dirs';
import { buildImage, buildMultiPlatformLayout } from '../support/umoci-images';

const h = useHandlerHarness();
const bucket = useAssetBucket(h);
const SBOM = 'application/spdx+json';
const PROVENANCE = 'application/vnd.in-toto+json';

let work: string;
let sbomFile: string;
let provenanceFile: string;
let alias: string;

beforeAll(async () => {
  work = makeTempDir('artifacts-');
  sbomFile = path.join(work, 'sbom.spdx.json');
  fs.writeFileSync(sbomFile, '{"spdxVersion":"SPDX-2.3","name":"app"}');
  provenanceFile = path.join(work, 'provenance.json');
  fs.writeFileSync(provenanceFile, '{"_type":"https://in-toto.io/Statement/v1"}');
  await createRepository(h.client, uniqueName('artifacts'));
  alias = await primaryRegistryAlias(h.client);
});

/**
 * Synthesizes a `PublicImage` of `layout` with the two artifacts, puts its assets into the bucket as the deployer
 * would, and returns the properties the handler gets (the repository name `repo`).
 */
function synthesize(layout: string, repo: string): ImageProperties {
  const outdir = makeTempDir('artifacts-assembly-');
  const app = new App({ outdir });
  const stack = new Stack(app, 'Artifacts');
  new PublicImage(stack, 'Image', {
    repository: PublicRepository.fromRepositoryName(stack, 'Repo', repo),
    source: ImageSource.fromOciLayout(layout),
    compressLayers: false,
    removalPolicy: RemovalPolicy.DESTROY,
    artifacts: [
      ImageArtifact.fromFile(sbomFile, { artifactType: SBOM, mediaType: 'application/spdx+json', annotations: { 'org.opencontainers.image.created': '2026-12-06' } }),
      ImageArtifact.fromFile(provenanceFile, { artifactType: PROVENANCE }),
    ],
  });
  app.synth();
  const [resource] = Object.values(Template.fromStack(stack).findResources(TYPE));
  const p = resource.Properties;
  for (const key of [p.ArchiveKey, p.ArtifactsKey]) fs.copyFileSync(path.join(outdir, `asset.${key}`), path.join(bucket.dir, key));
  return { ...p, RepositoryName: repo, ArchiveBucket: BUCKET, ArtifactsBucket: BUCKET };
}

/** The artifact manifest the OCI 1.1 guidelines describe for `file` attached to `subject`, written out here independently. */
function expectedManifest(file: string, artifactType: string, mediaType: string, subject: { mediaType: string; digest: string; size: number },
  annotations?: Record<string, string>): object {
  const bytes = fs.readFileSync(file);
  return {
    schemaVersion: 2,
    mediaType: OCI_MANIFEST,
    artifactType,
    config: { mediaType: OCI_EMPTY, digest: sha256(Buffer.from('{}')), size: 2 },
    layers: [{ mediaType, digest: sha256(bytes), size: bytes.length, annotations: { 'org.opencontainers.image.title': path.basename(file) } }],
    subject,
    ...(annotations ? { annotations } : {}),
  };
}

async function expectAttached(repo: string, image: OciLayoutImage): Promise<string[]> {
  const r = new RegistryReader(`${h.emu.endpoint}/v2/${alias}/${repo}`);
  const subject = { mediaType: image.root.mediaType, digest: image.root.digest, size: image.root.size };
  const listed = await r.referrers(image.root.digest);
  expect(listed.map((d) => [d.artifactType, d.annotations])).toEqual([[SBOM, { 'org.opencontainers.image.created': '2026-12-06' }], [PROVENANCE, undefined]]);
  const [sbom, provenance] = await Promise.all(listed.map(async (d) => JSON.parse((await r.manifest(d.digest)).toString())));
  expect(sbom).toEqual(expectedManifest(sbomFile, SBOM, 'application/spdx+json', subject, { 'org.opencontainers.image.created': '2026-12-06' }));
  expect(provenance).toEqual(expectedManifest(provenanceFile, PROVENANCE, 'application/octet-stream', subject));
  for (const file of [sbomFile, provenanceFile]) {
    const bytes = fs.readFileSync(file);
    expect((await r.blob(sha256(bytes))).equals(bytes)).toBe(true);
  }
  expect((await r.blob(sha256(Buffer.from('{}')))).toString()).toBe('{}');
  return listed.map((d) => d.digest);
}

test('a single image: both files attached, the image\'s digest that of its source; again, the same manifests; deleted with the image', async () => {
  const layout = path.join(work, 'single');
  const image = await buildImage(layout, { tag: 'app', files: { 'app.txt': 'app\n' } });
  const repo = uniqueName('artifacts');
  await createRepository(h.client, repo);
  const props = synthesize(layout, repo);
  const created = await invokeOk(h, handler, createEvent<ImageProperties>(h, TYPE, props));
  expect(created.Data!.ImageDigest).toBe(image.root.digest);
  const digests = await expectAttached(repo, image);

  await invokeOk(h, handler, updateEvent<ImageProperties>(h, TYPE, created.PhysicalResourceId!, props, props));
  expect(await expectAttached(repo, image)).toEqual(digests);

  await invokeOk(h, handler, deleteEvent<ImageProperties>(h, TYPE, created.PhysicalResourceId!, props));
  for (const digest of [image.root.digest, ...digests]) expect(await findImage(h.client, repo, digest)).toBeUndefined();
});

test('a multi-platform index: the files are attached to the index', async () => {
  const layout = path.join(work, 'multi');
  const index = await buildMultiPlatformLayout(layout, { tag: 'multi' });
  const repo = uniqueName('artifacts');
  await createRepository(h.client, repo);
  const created = await invokeOk(h, handler, createEvent<ImageProperties>(h, TYPE, synthesize(layout, repo)));
  expect(created.Data!.ImageDigest).toBe(index.root.digest);
  await expectAttached(repo, index);
});
