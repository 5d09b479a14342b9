/**
 * Referrers (OCI 1.1) copied with an image from a registry: from Debian's docker-registry, which has no referrers API
 * (the spec's `sha256-<hex>` tag fallback), and from the emulator's own registry (the referrers API). Every copied
 * referrer is fetched back from the emulator byte for byte; a registry that lists a manifest whose subject is another
 * image fails the copy.
 */
import * as path from 'node:path';
import { registryProps, TYPE } from './support';
import { handler } from '../../lambda/image-publisher';
import { ImageProperties } from '../../src/shared/publish-plan';
import { createRepository, findImage, imageProps, stage } from '../image-publisher/support';
import { RunningRegistry, startDockerRegistry, pushToRegistry } from '../support/docker-registry';
import { uniqueName } from '../support/ecr-fixtures';
import { primaryRegistryAlias } from '../support/emulator-harness';
import { createEvent, invoke, invokeOk, useHandlerHarness } from '../support/handler-harness';
import { OciLayoutImage } from '../support/oci-layout';
import { AttachedArtifact, attachToLayout, RegistryReader, RegistryWriter } from '../support/oci-referrers';
import { makeTempDir } from '../support/temp-dirs';
import { buildImage } from '../support/umoci-images';

const h = useHandlerHarness();
const SBOM = 'application/spdx+json';
const SIGNATURE = 'application/vnd.cncf.notary.signature';

let registry: RunningRegistry;
let layout: string;
let image: OciLayoutImage;
let other: OciLayoutImage;
let sbom: AttachedArtifact;
let signature: AttachedArtifact;
let alias: string;

beforeAll(async () => {
  layout = path.join(makeTempDir('registry-referrers-'), 'layout');
  [registry, image] = await Promise.all([startDockerRegistry(), buildImage(layout, { tag: 'app', files: { 'app.txt': 'app\n' } })]);
  other = await buildImage(layout, { tag: 'other', files: { 'other.txt': 'other\n' } });
  sbom = attachToLayout(layout, image.root, { artifactType: SBOM, content: '{"spdxVersion":"SPDX-2.3"}', annotations: { 'org.example.kind': 'sbom' } });
  signature = attachToLayout(layout, sbom, { artifactType: SIGNATURE, content: 'signature of the SBOM' });
  await createRepository(h.client, uniqueName('registry-referrers'));
  alias = await primaryRegistryAlias(h.client);
});

afterAll(async () => {
  await registry?.stop();
});

function emulatorReader(repo: string): RegistryReader {
  return new RegistryReader(`${h.emu.endpoint}/v2/${alias}/${repo}`);
}

/** The image's referrers in `repo` of the emulator are the SBOM and its signature, byte for byte. */
async function expectReferrersCopied(repo: string): Promise<void> {
  const r = emulatorReader(repo);
  expect(await r.referrers(image.root.digest)).toEqual([
    { mediaType: sbom.mediaType, digest: sbom.digest, size: sbom.size, artifactType: SBOM, annotations: { 'org.example.kind': 'sbom' } },
  ]);
  expect((await r.referrers(sbom.digest)).map((d) => d.digest)).toEqual([signature.digest]);
  for (const a of [sbom, signature]) {
    expect((await r.manifest(a.digest)).equals(a.bytes)).toBe(true);
    expect((await r.blob(a.layer.digest)).equals(await new RegistryReader(`${registry.url}/v2/acme/signed`).blob(a.layer.digest))).toBe(true);
  }
}

describe('from docker-registry (no referrers API: the referrers tag)', () => {
  beforeAll(async () => {
    await pushToRegistry(registry, layout, 'app', 'acme/signed', '1.0');
    const writer = new RegistryWriter(`${registry.url}/v2/acme/signed`);
    for (const a of [sbom, signature]) await writer.artifact(layout, a);
    await writer.referrersTag(image.root.digest, [sbom]);
    await writer.referrersTag(sbom.digest, [signature]);
  });

  test('the referrers the tags list are copied after the image, before its tag', async () => {
    const repo = uniqueName('from-tags');
    await createRepository(h.client, repo);
    const res = await invokeOk(h, handler, createEvent<ImageProperties>(h, TYPE, registryProps(repo, `${registry.host}/acme/signed:1.0`)));
    expect(res.Data).toMatchObject({ ImageDigest: image.root.digest });
    await expectReferrersCopied(repo);
    // The referrers tags are the source's bookkeeping, not images of the copy.
    expect(await findImage(h.client, repo, image.root.digest.replace(':', '-'))).toBeUndefined();
  });

  test('IncludeReferrers false copies the image alone', async () => {
    const repo = uniqueName('without');
    await createRepository(h.client, repo);
    await invokeOk(h, handler, createEvent<ImageProperties>(h, TYPE,
      registryProps(repo, `${registry.host}/acme/signed:1.0`, { IncludeReferrers: 'false' })));
    expect(await emulatorReader(repo).referrers(image.root.digest)).toEqual([]);
    expect(await findImage(h.client, repo, sbom.digest)).toBeUndefined();
  });

  test('a referrers tag listing a manifest whose subject is another image fails the copy, naming both', async () => {
    await pushToRegistry(registry, layout, 'other', 'acme/lying', '1.0');
    const writer = new RegistryWriter(`${registry.url}/v2/acme/lying`);
    await writer.artifact(layout, sbom);
    // sbom's subject is `image`, not `other`.
    await writer.referrersTag(other.root.digest, [sbom]);
    const repo = uniqueName('lying');
    await createRepository(h.client, repo);
    const res = await invoke(h, handler, createEvent<ImageProperties>(h, TYPE, registryProps(repo, `${registry.host}/acme/lying:1.0`)));
    expect(res.Status).toBe('FAILED');
    expect(res.Reason).toContain(`lists ${sbom.digest} as a referrer of ${other.root.digest}, but its subject is ${image.root.digest}`);
    expect(await findImage(h.client, repo, other.root.digest)).toBeUndefined();
  });
});

describe('from the emulator (the referrers API)', () => {
  test('an image published with its referrers, copied to another repository, brings them along', async () => {
    // The source repository: the layout published with its referrers (the archive path).
    const bucketDir = makeTempDir('registry-referrers-assets-');
    h.emu.addBucket('referrer-assets', bucketDir);
    const staged = await stage(bucketDir, layout, 'app');
    const source = uniqueName('api-source');
    await createRepository(h.client, source);
    await invokeOk(h, handler, createEvent<ImageProperties>(h, TYPE, imageProps(staged, source, { ArchiveBucket: 'referrer-assets' })));

    const repo = uniqueName('from-api');
    await createRepository(h.client, repo);
    await invokeOk(h, handler, createEvent<ImageProperties>(h, TYPE, registryProps(repo, `${h.emu.host}/${alias}/${source}:latest`)));
    const r = emulatorReader(repo);
    expect((await r.referrers(image.root.digest)).map((d) => d.digest)).toEqual([sbom.digest]);
    expect((await r.referrers(sbom.digest)).map((d) => d.digest)).toEqual([signature.digest]);
    for (const a of [sbom, signature]) expect((await r.manifest(a.digest)).equals(a.bytes)).toBe(true);
  });
});
