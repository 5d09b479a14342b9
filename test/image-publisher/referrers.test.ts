/**
 * Referrers (OCI 1.1) in an OCI layout travel with the image: SBOMs and signatures attached as `oras attach
 * --oci-layout` attaches them to a umoci image (and to one platform of an index with a buildx-style attestation), are
 * published after the image and before its tag, each fetched back byte for byte through the emulator's referrers API;
 * an image without referrers keeps its plan and digest; deleting the image deletes the referrers it pushed.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { count, createRepository, findImage, imageProps, spyOnClients, stage, TYPE, useAssetBucket, writeImage, writeLayer } from './support';
import { handler } from '../../lambda/image-publisher';
import { inspectImageArchive } from '../../src/private/archive/inspect';
import { sha256 } from '../../src/shared/oci/digest';
import { OCI_LAYER_TAR, OCI_MANIFEST } from '../../src/shared/oci/media-types';
import { ImageProperties } from '../../src/shared/publish-plan';
import { uniqueName } from '../support/ecr-fixtures';
import { primaryRegistryAlias } from '../support/emulator-harness';
import { createEvent, deleteEvent, invoke, invokeOk, useHandlerHarness } from '../support/handler-harness';
import { OciLayoutImage, readOciLayout } from '../support/oci-layout';
import { AttachedArtifact, attachToLayout, RegistryReader } from '../support/oci-referrers';
import { makeTempDir } from '../support/temp-dirs';
import { addAttestationManifest, buildImage, buildMultiPlatformLayout } from '../support/umoci-images';

const h = useHandlerHarness();
const bucket = useAssetBucket(h);

const SBOM = 'application/spdx+json';
const SIGNATURE = 'application/vnd.cncf.notary.signature';

let alias: string;
beforeAll(async () => {
  // The registry (and its alias) exists from the first repository on.
  await createRepository(h.client, uniqueName('referrers'));
  alias = await primaryRegistryAlias(h.client);
});

function reader(repo: string): RegistryReader {
  return new RegistryReader(`${h.emu.endpoint}/v2/${alias}/${repo}`);
}

/** Each artifact's manifest and file, fetched back from `repo`, are the bytes written into the layout. */
async function expectPublished(repo: string, artifacts: readonly AttachedArtifact[], layoutDir: string): Promise<void> {
  for (const a of artifacts) {
    expect((await reader(repo).manifest(a.digest)).equals(a.bytes)).toBe(true);
    const file = fs.readFileSync(path.join(layoutDir, 'blobs', 'sha256', a.layer.digest.slice('sha256:'.length)));
    expect((await reader(repo).blob(a.layer.digest)).equals(file)).toBe(true);
  }
}

interface PublishedImage {
  readonly repo: string;
  readonly digest: string;
  readonly props: ImageProperties;
  readonly physicalId: string;
}

async function publish(layoutDir: string, ref: string, overrides: Partial<ImageProperties> = {}): Promise<PublishedImage> {
  const staged = await stage(bucket.dir, layoutDir, ref);
  const repo = uniqueName('referrers');
  await createRepository(h.client, repo);
  const props = imageProps(staged, repo, { Tags: ['v1'], ...overrides });
  const res = await invokeOk(h, handler, createEvent<ImageProperties>(h, TYPE, props));
  return { repo, digest: res.Data!.ImageDigest, props, physicalId: res.PhysicalResourceId! };
}

describe('an image with an SBOM and a signature of the SBOM', () => {
  let layout: string;
  let image: OciLayoutImage;
  let sbom: AttachedArtifact;
  let signature: AttachedArtifact;

  beforeAll(async () => {
    layout = path.join(makeTempDir('referrers-'), 'layout');
    image = await buildImage(layout, { tag: 'app', files: { 'app.txt': 'app\n' } });
    sbom = attachToLayout(layout, image.root, {
      artifactType: SBOM,
      content: '{"spdxVersion":"SPDX-2.3"}',
      title: 'sbom.spdx.json',
      annotations: { 'org.opencontainers.image.created': '2026-12-06T00:00:00Z' },
    });
    signature = attachToLayout(layout, sbom, { artifactType: SIGNATURE, content: 'signature of the SBOM' });
  });

  test('the layout still has one image to choose; the plan lists both referrers, the SBOM first', () => {
    const { plan } = inspectImageArchive(layout, { stagingDir: makeTempDir('referrers-staging-') });
    expect(plan.rootDigest).toBe(image.root.digest);
    expect(plan.referrers?.map((r) => r.digest)).toEqual([sbom.digest, signature.digest]);
    expect(plan.referrers?.map((r) => r.manifest)).toEqual([sbom.bytes.toString(), signature.bytes.toString()]);
    for (const blob of [sbom.layer.digest, signature.layer.digest]) expect(plan.blobs.map((b) => b.digest)).toContain(blob);
  });

  test('published with the image, listed by the referrers API, fetched back byte for byte; the tag moves last', async () => {
    const sent = spyOnClients(h);
    const { repo, digest } = await publish(layout, 'app');
    expect(digest).toBe(image.root.digest);
    const r = reader(repo);
    expect(await r.referrers(digest)).toEqual([{
      mediaType: OCI_MANIFEST,
      digest: sbom.digest,
      size: sbom.size,
      artifactType: SBOM,
      annotations: { 'org.opencontainers.image.created': '2026-12-06T00:00:00Z' },
    }]);
    expect((await r.referrers(sbom.digest)).map((d) => d.digest)).toEqual([signature.digest]);
    await expectPublished(repo, [sbom, signature], layout);
    expect((await r.manifest('v1')).equals(image.root.bytes)).toBe(true);

    // The root untagged, the referrers, then the tag: whoever follows the tag finds the SBOM.
    const puts = sent.ecr.filter((c) => c.name === 'PutImage').map((c) => [c.input.imageDigest, c.input.imageTag]);
    expect(puts).toEqual([[image.root.digest, undefined], [sbom.digest, undefined], [signature.digest, undefined], [image.root.digest, 'v1']]);
  });

  test('without referrers (includeReferrers: false), the manifests and blobs planned are those of the bare image', () => {
    const bare = path.join(makeTempDir('referrers-bare-'), 'layout');
    fs.cpSync(image.layoutDir, bare, { recursive: true });
    const index = JSON.parse(fs.readFileSync(path.join(bare, 'index.json'), 'utf8'));
    index.manifests = index.manifests.filter((d: any) => d.annotations !== undefined);
    fs.writeFileSync(path.join(bare, 'index.json'), JSON.stringify(index));

    const stagingDir = makeTempDir('referrers-staging-');
    const without = inspectImageArchive(layout, { stagingDir, includeReferrers: false });
    const reference = inspectImageArchive(bare, { stagingDir });
    expect(without.plan.referrers).toBeUndefined();
    expect(without.plan.manifests).toEqual(reference.plan.manifests);
    expect(without.plan.blobs.map((b) => b.digest)).toEqual(reference.plan.blobs.map((b) => b.digest));
  });

  test('deleting the resource (DESTROY) deletes the referrers it pushed', async () => {
    const { repo, props, physicalId } = await publish(layout, 'app', { DeleteOnRemove: 'true' });
    await invokeOk(h, handler, deleteEvent<ImageProperties>(h, TYPE, physicalId, props));
    for (const digest of [image.root.digest, sbom.digest, signature.digest]) expect(await findImage(h.client, repo, digest)).toBeUndefined();
  });

  test('a plan whose referrer is not the image\'s is refused, and nothing is pushed', async () => {
    const staged = await stage(bucket.dir, layout, 'app');
    const foreign = JSON.stringify({ ...JSON.parse(signature.bytes.toString()), subject: { mediaType: OCI_MANIFEST, digest: `sha256:${'a'.repeat(64)}`, size: 2 } });
    const plan = { ...staged.plan, referrers: [{ digest: sha256(foreign), mediaType: OCI_MANIFEST, manifest: foreign }] };
    const repo = uniqueName('referrers');
    await createRepository(h.client, repo);
    const sent = spyOnClients(h);
    const res = await invoke(h, handler, createEvent<ImageProperties>(h, TYPE, imageProps(staged, repo, { Plan: JSON.stringify(plan) })));
    expect(res.Status).toBe('FAILED');
    expect(res.Reason).toMatch(/is not a referrer of the image/);
    expect(count(sent.ecr, 'PutImage')).toBe(0);
  });
});

describe('an index with a buildx-style attestation and an SBOM of one platform', () => {
  test('every manifest and referrer is published; the SBOM is listed under its platform image', async () => {
    const layout = path.join(makeTempDir('referrers-index-'), 'layout');
    await buildMultiPlatformLayout(layout, { tag: 'multi' });
    const index = addAttestationManifest(layout, 'multi');
    const arm = index.manifests.find((m) => m.platform?.architecture === 'arm64')!;
    const sbom = attachToLayout(layout, arm, { artifactType: SBOM, content: 'arm64 sbom' });
    const { repo, digest } = await publish(layout, 'multi');
    expect(digest).toBe(index.root.digest);
    const r = reader(repo);
    // The attestation is a child of the index: published with it (no subject, so no referrer of anything).
    for (const m of index.manifests) expect((await r.manifest(m.digest)).equals(m.bytes)).toBe(true);
    expect((await r.referrers(arm.digest)).map((d) => d.digest)).toEqual([sbom.digest]);
    expect(await r.referrers(digest)).toEqual([]);
    await expectPublished(repo, [sbom], layout);
  });
});

describe('layers compressed at deploy', () => {
  test('the referrer is pointed at the image as published (its subject rewritten), its file unchanged', async () => {
    const layout = path.join(makeTempDir('referrers-compress-'), 'layout');
    const built = await buildImage(layout, { tag: 'base', files: { 'a.txt': 'a\n' } });
    const tar = Buffer.alloc(2048);
    const layer = writeLayer(layout, tar, OCI_LAYER_TAR);
    const rootDigest = writeImage(layout, 'plain', { architecture: 'amd64', os: 'linux', rootfs: { type: 'layers', diff_ids: [sha256(tar)] } }, [layer]);
    const plain = readOciLayout(layout, 'plain');
    expect(built.root.digest).not.toBe(rootDigest);
    const sbom = attachToLayout(layout, plain.root, { artifactType: SBOM, content: 'sbom of a layer compressed at deploy' });

    const { repo, digest } = await publish(layout, 'plain', { CompressLayers: 'true' });
    expect(digest).not.toBe(rootDigest);
    const [listed] = await reader(repo).referrers(digest);
    const published = JSON.parse((await reader(repo).manifest(listed.digest)).toString());
    const original = JSON.parse(sbom.bytes.toString());
    expect(published).toEqual({ ...original, subject: { ...original.subject, digest, size: (await reader(repo).manifest(digest)).length } });
    expect((await reader(repo).blob(sbom.layer.digest)).toString()).toBe('sbom of a layer compressed at deploy');
    expect(await reader(repo).referrers(rootDigest)).toEqual([]);
  });
});
