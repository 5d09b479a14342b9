/**
 * OCI 1.1 referrers on the emulator: manifests with a `subject` pushed as oras and the SDK push them (before or after
 * their subject), `GET /v2/<name>/referrers/<digest>` with its filter, what BatchDeleteImage of a subject leaves,
 * and the `Allow` header of every 405.
 */
import { BatchDeleteImageCommand, PutImageCommand } from '@aws-sdk/client-ecr-public';
import {
  basic, describeImages, errorCodes, Harness, OCI_CONFIG, OCI_INDEX, OCI_LAYER, OCI_MANIFEST, sha256, startHarness, stopHarness,
} from './support';
import { OCI_EMPTY } from '../../../src/shared/oci/media-types';
import { primaryRegistryAlias, startInProcess, stopInProcess } from '../../support/emulator-harness';
import { makeTempDir } from '../../support/temp-dirs';

const REPO = 'refs/app';
const SBOM = 'application/spdx+json';
const SIGNATURE = 'application/vnd.dev.cosign.artifact.sig.v1+json';
const EMPTY = Buffer.from('{}');

let h: Harness;

beforeAll(async () => {
  h = await startHarness([REPO, 'refs/other']);
});

afterAll(() => stopHarness(h));

function url(rest: string, repo = REPO): string {
  return `${h.emu.endpoint}/v2/${h.alias}/${repo}/${rest}`;
}

const auth = (extra: Record<string, string> = {}): Record<string, string> => ({ authorization: basic('AWS', h.password), ...extra });

async function pushBlob(bytes: Buffer, repo = REPO): Promise<{ digest: string; size: number }> {
  const digest = sha256(bytes);
  const res = await fetch(url(`blobs/uploads/?digest=${digest}`, repo), { method: 'POST', headers: auth(), body: bytes });
  expect(res.status).toBe(201);
  await res.arrayBuffer();
  return { digest, size: bytes.length };
}

function putManifest(reference: string, body: string, mediaType = OCI_MANIFEST, repo = REPO): Promise<Response> {
  return fetch(url(`manifests/${reference}`, repo), { method: 'PUT', headers: auth({ 'content-type': mediaType }), body: Buffer.from(body) });
}

/** An image (config and one layer) pushed by the registry API; its manifest is not. */
async function image(seed: string, repo = REPO): Promise<{ manifest: string; digest: string; size: number }> {
  const config = await pushBlob(Buffer.from(JSON.stringify({ architecture: 'amd64', os: 'linux', seed })), repo);
  const layer = await pushBlob(Buffer.from(`layer ${seed}`), repo);
  const manifest = JSON.stringify({
    schemaVersion: 2,
    mediaType: OCI_MANIFEST,
    config: { mediaType: OCI_CONFIG, ...config },
    layers: [{ mediaType: OCI_LAYER, ...layer }],
  });
  return { manifest, digest: sha256(manifest), size: Buffer.byteLength(manifest) };
}

/** An artifact as `oras attach` writes it: the empty config, the file as its one layer, `subject` the image. */
async function artifact(subject: { digest: string; size: number }, artifactType: string, file: string,
  annotations?: Record<string, string>, repo = REPO): Promise<{ manifest: string; digest: string }> {
  const empty = await pushBlob(EMPTY, repo);
  const layer = await pushBlob(Buffer.from(file), repo);
  const manifest = JSON.stringify({
    schemaVersion: 2,
    mediaType: OCI_MANIFEST,
    artifactType,
    config: { mediaType: OCI_EMPTY, ...empty },
    layers: [{ mediaType: artifactType, ...layer, annotations: { 'org.opencontainers.image.title': 'file' } }],
    subject: { mediaType: OCI_MANIFEST, digest: subject.digest, size: subject.size },
    ...(annotations ? { annotations } : {}),
  });
  return { manifest, digest: sha256(manifest) };
}

/** Runs `fn` with the helpers above pushing to `other` (another emulator) instead of the suite's. */
async function pushingTo<T>(other: Harness, fn: () => Promise<T>): Promise<T> {
  const suite = h;
  h = other;
  try {
    return await fn();
  } finally {
    h = suite;
  }
}

async function referrers(digest: string, query = '', repo = REPO): Promise<{ res: Response; index: any }> {
  const res = await fetch(url(`referrers/${digest}${query}`, repo));
  return { res, index: res.status === 200 ? await res.json() : undefined };
}

describe('the referrers API', () => {
  test('a referrer pushed after its subject: 201 with OCI-Subject; listed with its type, size and annotations', async () => {
    const subject = await image('after');
    expect((await putManifest('after', subject.manifest)).status).toBe(201);
    const sbom = await artifact(subject, SBOM, '{"spdxVersion":"SPDX-2.3"}', { 'org.opencontainers.image.created': '2026-12-06T00:00:00Z' });
    const pushed = await putManifest(sbom.digest, sbom.manifest);
    expect(pushed.status).toBe(201);
    expect(pushed.headers.get('oci-subject')).toBe(subject.digest);
    expect(pushed.headers.get('docker-content-digest')).toBe(sbom.digest);

    const { res, index } = await referrers(subject.digest);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe(OCI_INDEX);
    expect(res.headers.get('oci-filters-applied')).toBeNull();
    expect(index).toEqual({
      schemaVersion: 2,
      mediaType: OCI_INDEX,
      manifests: [{
        mediaType: OCI_MANIFEST,
        digest: sbom.digest,
        size: Buffer.byteLength(sbom.manifest),
        artifactType: SBOM,
        annotations: { 'org.opencontainers.image.created': '2026-12-06T00:00:00Z' },
      }],
    });
    // The referrer itself is an image of the repository, pulled back byte for byte.
    const back = await fetch(url(`manifests/${sbom.digest}`));
    expect(Buffer.from(await back.arrayBuffer()).toString()).toBe(sbom.manifest);
  });

  test('a manifest without a subject gets no OCI-Subject; a digest nothing refers to has an empty index', async () => {
    const plain = await image('plain');
    const pushed = await putManifest('plain', plain.manifest);
    expect(pushed.status).toBe(201);
    expect(pushed.headers.get('oci-subject')).toBeNull();
    for (const digest of [plain.digest, `sha256:${'0'.repeat(64)}`]) {
      const { res, index } = await referrers(digest);
      expect(res.status).toBe(200);
      expect(index).toEqual({ schemaVersion: 2, mediaType: OCI_INDEX, manifests: [] });
    }
  });

  test('PutImage takes a referrer before its subject exists; the subject pushed later lists it', async () => {
    const subject = await image('before');
    const signature = await artifact(subject, SIGNATURE, 'signature bytes');
    const out = await h.client.send(new PutImageCommand({ repositoryName: REPO, imageManifest: signature.manifest, imageDigest: signature.digest }));
    expect(out.image?.imageId?.imageDigest).toBe(signature.digest);
    expect((await referrers(subject.digest)).index.manifests.map((m: any) => m.digest)).toEqual([signature.digest]);
    expect((await putManifest('before', subject.manifest)).status).toBe(201);
    expect((await referrers(subject.digest)).index.manifests.map((m: any) => m.digest)).toEqual([signature.digest]);
    // Referrers are images of the repository to DescribeImages, with the config's media type as artifactMediaType.
    const detail = (await describeImages(h.client, REPO)).find((i) => i.imageDigest === signature.digest);
    expect(detail?.artifactMediaType).toBe(OCI_EMPTY);
  });

  test('?artifactType= filters, and says so with OCI-Filters-Applied', async () => {
    const subject = await image('filtered');
    expect((await putManifest('filtered', subject.manifest)).status).toBe(201);
    const sbom = await artifact(subject, SBOM, 'sbom');
    const signature = await artifact(subject, SIGNATURE, 'sig');
    for (const a of [sbom, signature]) expect((await putManifest(a.digest, a.manifest)).status).toBe(201);

    const all = await referrers(subject.digest);
    expect(all.index.manifests.map((m: any) => m.digest).sort()).toEqual([sbom.digest, signature.digest].sort());
    const only = await referrers(subject.digest, `?artifactType=${encodeURIComponent(SBOM)}`);
    expect(only.res.headers.get('oci-filters-applied')).toBe('artifactType');
    expect(only.index.manifests.map((m: any) => m.digest)).toEqual([sbom.digest]);
    const none = await referrers(subject.digest, '?artifactType=application%2Fnothing');
    expect(none.res.headers.get('oci-filters-applied')).toBe('artifactType');
    expect(none.index.manifests).toEqual([]);
  });

  test('an index can be a referrer (buildx-style attestations) and a subject; an index without artifactType is listed without one', async () => {
    const subject = await image('index-subject');
    expect((await putManifest(subject.digest, subject.manifest)).status).toBe(201);
    const child = await artifact(subject, SBOM, 'in an index');
    expect((await putManifest(child.digest, child.manifest)).status).toBe(201);
    const index = JSON.stringify({
      schemaVersion: 2,
      mediaType: OCI_INDEX,
      manifests: [{ mediaType: OCI_MANIFEST, digest: child.digest, size: Buffer.byteLength(child.manifest) }],
      subject: { mediaType: OCI_MANIFEST, digest: subject.digest, size: subject.size },
    });
    const pushed = await putManifest(sha256(index), index, OCI_INDEX);
    expect(pushed.status).toBe(201);
    expect(pushed.headers.get('oci-subject')).toBe(subject.digest);
    const listed = (await referrers(subject.digest)).index.manifests;
    expect(listed).toContainEqual({ mediaType: OCI_INDEX, digest: sha256(index), size: Buffer.byteLength(index) });
  });

  test('a referrer without artifactType is listed under its config\'s media type, and filtered by it', async () => {
    const subject = await image('config-typed');
    const bagel = 'application/vnd.example.bagel';
    const config = await pushBlob(Buffer.from('peanut butter on a bagel'));
    const empty = await pushBlob(EMPTY);
    const manifest = JSON.stringify({
      schemaVersion: 2,
      mediaType: OCI_MANIFEST,
      config: { mediaType: bagel, ...config },
      layers: [{ mediaType: OCI_EMPTY, ...empty }],
      subject: { mediaType: OCI_MANIFEST, digest: subject.digest, size: subject.size },
    });
    expect((await putManifest(sha256(manifest), manifest)).status).toBe(201);
    const only = await referrers(subject.digest, `?artifactType=${encodeURIComponent(bagel)}`);
    expect(only.index.manifests).toEqual([
      { mediaType: OCI_MANIFEST, digest: sha256(manifest), size: Buffer.byteLength(manifest), artifactType: bagel },
    ]);
  });

  test('referrers are listed per repository', async () => {
    const subject = await image('elsewhere', 'refs/other');
    const sig = await artifact(subject, SIGNATURE, 'other', undefined, 'refs/other');
    expect((await putManifest(sig.digest, sig.manifest, OCI_MANIFEST, 'refs/other')).status).toBe(201);
    expect((await referrers(subject.digest, '', 'refs/other')).index.manifests).toHaveLength(1);
    expect((await referrers(subject.digest)).index.manifests).toEqual([]);
  });

  test('a malformed digest is 400 DIGEST_INVALID; an unknown repository 404 NAME_UNKNOWN', async () => {
    const bad = await fetch(url('referrers/latest'));
    expect(bad.status).toBe(400);
    expect(await errorCodes(bad)).toEqual(['DIGEST_INVALID']);
    const unknown = await referrers(`sha256:${'1'.repeat(64)}`, '', 'refs/nowhere');
    expect(unknown.res.status).toBe(404);
    expect(await errorCodes(unknown.res)).toEqual(['NAME_UNKNOWN']);
  });
});

describe('OCI 1.1 members a push must get right', () => {
  test('the empty config without artifactType, a malformed artifactType, subject or annotations: 400 MANIFEST_INVALID', async () => {
    const subject = await image('rules');
    const empty = await pushBlob(EMPTY);
    const layer = await pushBlob(Buffer.from('rules layer'));
    const base = { schemaVersion: 2, mediaType: OCI_MANIFEST, config: { mediaType: OCI_EMPTY, ...empty }, layers: [{ mediaType: SBOM, ...layer }] };
    const subjectDescriptor = { mediaType: OCI_MANIFEST, digest: subject.digest, size: subject.size };
    const refused = [
      { ...base, subject: subjectDescriptor },
      { ...base, artifactType: 'not a media type', subject: subjectDescriptor },
      { ...base, artifactType: SBOM, subject: { mediaType: OCI_MANIFEST, digest: 'latest', size: 1 } },
      { ...base, artifactType: SBOM, subject: { mediaType: 'text/plain', digest: subject.digest, size: subject.size } },
      { ...base, artifactType: SBOM, subject: subjectDescriptor, annotations: { n: 1 } },
    ];
    for (const manifest of refused) {
      const text = JSON.stringify(manifest);
      const res = await putManifest(sha256(text), text);
      expect({ manifest, status: res.status }).toEqual({ manifest, status: 400 });
      expect(await errorCodes(res)).toEqual(['MANIFEST_INVALID']);
      await expect(h.client.send(new PutImageCommand({ repositoryName: REPO, imageManifest: text }))).rejects.toThrow(/imageManifest/);
    }
    expect((await referrers(subject.digest)).index.manifests).toEqual([]);
  });
});

describe('deleting a subject', () => {
  test('BatchDeleteImage of a subject keeps its referrers, still listed under its digest', async () => {
    const subject = await image('deleted');
    expect((await putManifest('deleted', subject.manifest)).status).toBe(201);
    const sig = await artifact(subject, SIGNATURE, 'kept');
    expect((await putManifest(sig.digest, sig.manifest)).status).toBe(201);
    const out = await h.client.send(new BatchDeleteImageCommand({ repositoryName: REPO, imageIds: [{ imageDigest: subject.digest }] }));
    expect(out.failures).toEqual([]);
    const digests = (await describeImages(h.client, REPO)).map((i) => i.imageDigest);
    expect(digests).not.toContain(subject.digest);
    expect(digests).toContain(sig.digest);
    expect((await referrers(subject.digest)).index.manifests.map((m: any) => m.digest)).toEqual([sig.digest]);
  });
});

describe('persistence', () => {
  test('a referrer is still listed under its subject after a restart on the same data directory', async () => {
    const dataDir = makeTempDir('referrers-data-');
    const first = await startHarness(['refs/kept'], { dataDir });
    const sig = await pushingTo(first, async () => {
      const pushed = await artifact(await image('persisted', 'refs/kept'), SIGNATURE, 'persisted signature', undefined, 'refs/kept');
      expect((await putManifest(pushed.digest, pushed.manifest, OCI_MANIFEST, 'refs/kept')).status).toBe(201);
      return pushed;
    }).finally(() => stopHarness(first));
    const again = await startInProcess({ dataDir });
    try {
      const alias = await primaryRegistryAlias(again.client);
      const res = await fetch(`${again.emu.endpoint}/v2/${alias}/refs/kept/referrers/${JSON.parse(sig.manifest).subject.digest}`);
      expect(((await res.json()) as any).manifests.map((m: any) => m.digest)).toEqual([sig.digest]);
    } finally {
      await stopInProcess(again);
    }
  });
});

describe('405 answers carry Allow', () => {
  test.each([
    ['DELETE', 'manifests/latest', 'GET, HEAD, PUT'],
    ['DELETE', `blobs/sha256:${'2'.repeat(64)}`, 'GET, HEAD'],
    ['DELETE', `referrers/sha256:${'2'.repeat(64)}`, 'GET, HEAD'],
    ['PUT', `referrers/sha256:${'2'.repeat(64)}`, 'GET, HEAD'],
    ['PATCH', 'blobs/uploads/', 'POST'],
  ])('%s %s: 405 with Allow: %s', async (method, rest, allow) => {
    const res = await fetch(url(rest), { method, headers: auth() });
    expect(res.status).toBe(405);
    expect(res.headers.get('allow')).toBe(allow);
    expect(await errorCodes(res)).toEqual(['UNSUPPORTED']);
  });

  test('a write to a path that is no route: 405 with an empty Allow', async () => {
    const res = await fetch(`${h.emu.endpoint}/v2/${h.alias}/${REPO}/elsewhere`, { method: 'DELETE', headers: auth() });
    expect(res.status).toBe(405);
    expect(res.headers.get('allow')).toBe('');
  });
});
