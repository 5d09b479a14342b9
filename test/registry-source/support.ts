/** Shared pieces of the registry-source tests: fixture images, properties, pulling back from the emulator, spies. */
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { OCI_CONFIG, OCI_INDEX, OCI_MANIFEST } from '../../src/shared/oci/media-types';
import { ImageProperties } from '../../src/shared/publish-plan';
import { primaryRegistryAlias } from '../support/emulator-harness';
import { HandlerHarness } from '../support/handler-harness';
import { indexJsonText, LayoutDescriptor, OciIndexJson, OciLayoutImage, readOciLayout, writeBlob } from '../support/oci-layout';
import { skopeo, skopeoCopy } from '../support/skopeo';
import { makeTempDir } from '../support/temp-dirs';
import { buildImage, buildMultiPlatformLayout } from '../support/umoci-images';

export const TYPE = 'Custom::EcrPublicImage';
const REF_NAME = 'org.opencontainers.image.ref.name';

/** The properties for copying `sourceImage` into `repositoryName`. */
export function registryProps(repositoryName: string, sourceImage: string, overrides: Partial<ImageProperties> = {}): ImageProperties {
  return {
    RepositoryName: repositoryName,
    SourceImage: sourceImage,
    SourceAuth: 'anonymous',
    Tags: ['latest'],
    CompressLayers: 'false',
    Concurrency: '4',
    DeleteOnRemove: 'false',
    ...overrides,
  };
}

/** The fixture images, built once per suite with umoci. */
export interface Fixtures {
  /** A two-layer linux/amd64 image, tagged `single` in its layout. */
  readonly single: OciLayoutImage;
  /** An index of linux/amd64 and linux/arm64 images plus an attestation manifest for the amd64 one, tagged `multi`. */
  readonly multi: OciLayoutImage;
  /** The attestation manifest's digest. */
  readonly attestation: string;
}

/** Builds the fixtures into one layout in a temporary directory. */
export async function buildFixtures(): Promise<Fixtures> {
  const layout = path.join(makeTempDir('registry-source-'), 'layout');
  const single = await buildImage(layout, {
    tag: 'single', layers: 2, files: { 'hello.txt': 'hello from a registry\n', 'data.bin': createHash('sha256').update('x').digest() },
  });
  const platforms = await buildMultiPlatformLayout(layout, { tag: 'platforms', files: { 'app.txt': 'app\n' } });
  const amd64 = platforms.manifests.find((m) => m.platform?.architecture === 'amd64')!;
  const attestation = writeAttestation(layout, amd64.digest);
  const children = (platforms.root.json as OciIndexJson).manifests;
  const index = Buffer.from(indexJsonText([...children, attestation]));
  const blob = writeBlob(layout, index);
  const indexFile = path.join(layout, 'index.json');
  const current = JSON.parse(fs.readFileSync(indexFile, 'utf8')) as OciIndexJson;
  fs.writeFileSync(indexFile, JSON.stringify({
    ...current,
    manifests: [...current.manifests, { mediaType: OCI_INDEX, ...blob, annotations: { [REF_NAME]: 'multi' } }],
  }));
  return { single, multi: readOciLayout(layout, 'multi'), attestation: attestation.digest };
}

/** A BuildKit-style attestation manifest (platform unknown/unknown, an in-toto layer) about `subject`. */
function writeAttestation(layout: string, subject: string): LayoutDescriptor {
  const statement = Buffer.from(JSON.stringify({
    _type: 'https://in-toto.io/Statement/v0.1',
    predicateType: 'https://slsa.dev/provenance/v0.2',
    subject: [{ name: '_', digest: { sha256: subject.slice('sha256:'.length) } }],
    predicate: { builder: { id: 'test' } },
  }));
  const layer = { mediaType: 'application/vnd.in-toto+json', ...writeBlob(layout, statement), annotations: { 'in-toto.io/predicate-type': 'https://slsa.dev/provenance/v0.2' } };
  const config = writeBlob(layout, Buffer.from(JSON.stringify({ architecture: 'unknown', os: 'unknown', config: {}, rootfs: { type: 'layers', diff_ids: [layer.digest] } })));
  const manifest = Buffer.from(JSON.stringify({
    schemaVersion: 2, mediaType: OCI_MANIFEST, config: { mediaType: OCI_CONFIG, ...config }, layers: [layer],
  }));
  return {
    mediaType: OCI_MANIFEST,
    ...writeBlob(layout, manifest),
    platform: { architecture: 'unknown', os: 'unknown' },
    annotations: { 'vnd.docker.reference.digest': subject, 'vnd.docker.reference.type': 'attestation-manifest' },
  };
}

/** `docker://<emulator>/<alias>/<repo>:<ref>` (or `@<digest>`). */
export async function emulatorRef(h: HandlerHarness, repo: string, ref: string): Promise<string> {
  const alias = await primaryRegistryAlias(h.client);
  return `docker://${h.emu.host}/${alias}/${repo}${ref.startsWith('sha256:') ? '@' : ':'}${ref}`;
}

/** The digest of the manifest the emulator serves for `repo:ref`, from skopeo's raw bytes. */
export async function emulatorDigest(h: HandlerHarness, repo: string, ref: string): Promise<string> {
  const raw = await skopeo(['inspect', '--raw', '--tls-verify=false', await emulatorRef(h, repo, ref)]);
  return 'sha256:' + createHash('sha256').update(raw).digest('hex');
}

/** Pulls `repo:tag` from the emulator with skopeo into an OCI layout and reads it back (`--all` for an index). */
export async function pullFromEmulator(h: HandlerHarness, repo: string, tag: string, all = false): Promise<OciLayoutImage> {
  const dir = path.join(makeTempDir('pulled-'), 'oci');
  await skopeoCopy(await emulatorRef(h, repo, tag), `oci:${dir}:${tag}`, all ? ['--all'] : []);
  return readOciLayout(dir, tag);
}

/** Records the URL of every request the code under test makes with the global fetch. Restored with the other mocks. */
export function spyOnFetch(): string[] {
  const urls: string[] = [];
  const original = globalThis.fetch;
  jest.spyOn(globalThis, 'fetch').mockImplementation((input: any, init?: any) => {
    urls.push(typeof input === 'string' ? input : input instanceof URL ? input.toString() : String(input.url));
    return original(input, init);
  });
  return urls;
}

/** Sets environment variables in `beforeAll` (from `values()`, called then) and restores them in `afterAll`. */
export function useEnv(values: () => Record<string, string>): void {
  const saved: Record<string, string | undefined> = {};
  beforeAll(() => {
    for (const [key, value] of Object.entries(values())) {
      saved[key] = process.env[key];
      process.env[key] = value;
    }
  });
  afterAll(() => {
    for (const [key, value] of Object.entries(saved)) {
      if (value === undefined) delete process.env[key];
      else process.env[key] = value;
    }
  });
}

/** The parsed JSON log lines of the handler. */
export function logEntries(h: HandlerHarness): Array<Record<string, any>> {
  return h.logs.flatMap((l) => {
    try {
      return [JSON.parse(l) as Record<string, any>];
    } catch {
      return [];
    }
  });
}
