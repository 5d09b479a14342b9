/**
 * The registry push API over plain HTTP (OCI distribution spec): credentials, blob uploads (monolithic, chunked,
 * streamed), manifests, and the errors a client meets.
 */
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as path from 'node:path';
import { CompleteLayerUploadCommand, DescribeRepositoriesCommand, InitiateLayerUploadCommand, PutImageCommand, UploadLayerPartCommand } from '@aws-sdk/client-ecr-public';
import {
  basic, describeImages, errorBody, errorCodes, Harness, layerAvailability, MIB, OCI_CONFIG, OCI_INDEX, OCI_LAYER, OCI_MANIFEST, sha256,
  startHarness, stopHarness,
} from './support';

const REPOS = ['proto/auth', 'proto/blobs', 'proto/chunks', 'proto/big', 'proto/manifests', 'proto/index', 'proto/other'];
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

let h: Harness;

beforeAll(async () => {
  h = await startHarness(REPOS);
});

afterAll(async () => {
  jest.restoreAllMocks();
  await stopHarness(h);
});

function url(repo: string, rest: string): string {
  return `${h.emu.endpoint}/v2/${h.alias}/${repo}/${rest}`;
}

function auth(extra: Record<string, string> = {}): Record<string, string> {
  return { authorization: basic('AWS', h.password), ...extra };
}

function absolute(location: string | null): string {
  if (location === null) throw new Error('no Location header');
  return new URL(location, h.emu.endpoint).toString();
}

/** POST .../blobs/uploads/: the upload URL. */
async function openUpload(repo: string): Promise<string> {
  const res = await fetch(url(repo, 'blobs/uploads/'), { method: 'POST', headers: auth() });
  expect(res.status).toBe(202);
  await res.arrayBuffer();
  return absolute(res.headers.get('location'));
}

/** A monolithic upload (POST ?digest=); returns the digest. */
async function pushBlob(repo: string, bytes: Buffer): Promise<string> {
  const digest = sha256(bytes);
  const res = await fetch(url(repo, `blobs/uploads/?digest=${digest}`), { method: 'POST', headers: auth(), body: bytes });
  expect(res.status).toBe(201);
  await res.arrayBuffer();
  return digest;
}

/** PUT of a manifest; `contentType` null sends none (the body goes as bytes, which fetch gives no Content-Type). */
function putManifest(repo: string, reference: string, body: string, contentType: string | null = OCI_MANIFEST): Promise<Response> {
  return fetch(url(repo, `manifests/${reference}`), {
    method: 'PUT',
    headers: auth(contentType !== null ? { 'content-type': contentType } : {}),
    body: Buffer.from(body, 'utf8'),
  });
}

function imageManifest(config: { digest: string; size: number }, layers: Array<{ digest: string; size: number }>): string {
  return JSON.stringify({
    schemaVersion: 2,
    config: { mediaType: OCI_CONFIG, ...config },
    layers: layers.map((l) => ({ mediaType: OCI_LAYER, ...l })),
  });
}

/** Pushes a config and a layer into `repo` and returns a manifest referencing them. */
async function imageIn(repo: string, seed: string): Promise<{ manifest: string; digest: string; layer: string; config: string }> {
  const config = Buffer.from(JSON.stringify({ architecture: 'amd64', os: 'linux', seed }));
  const layer = randomBytes(3000);
  const configDigest = await pushBlob(repo, config);
  const layerDigest = await pushBlob(repo, layer);
  const manifest = imageManifest({ digest: configDigest, size: config.length }, [{ digest: layerDigest, size: layer.length }]);
  return { manifest, digest: sha256(manifest), layer: layerDigest, config: configDigest };
}

function uploadFiles(): string[] {
  return fs.readdirSync(path.join(h.emu.root, 'uploads'));
}

function blobFileExists(digest: string): boolean {
  return fs.existsSync(path.join(h.emu.root, 'blobs', 'sha256', digest.slice('sha256:'.length)));
}

describe('credentials', () => {
  test('the /v2/ ping is 200 for anonymous clients, with the Basic challenge; bad credentials on it are 401', async () => {
    const anonymous = await fetch(`${h.emu.endpoint}/v2/`);
    expect(anonymous.status).toBe(200);
    expect(anonymous.headers.get('www-authenticate')).toBe(`Basic realm="${h.emu.host}"`);
    await anonymous.arrayBuffer();

    const good = await fetch(`${h.emu.endpoint}/v2/`, { headers: auth() });
    expect(good.status).toBe(200);
    await good.arrayBuffer();

    const bad = await fetch(`${h.emu.endpoint}/v2/`, { headers: { authorization: basic('AWS', 'not-issued') } });
    expect(bad.status).toBe(401);
    expect(bad.headers.get('www-authenticate')).toBe(`Basic realm="${h.emu.host}"`);
    expect(await errorCodes(bad)).toEqual(['UNAUTHORIZED']);
  });

  test('a push without an Authorization header is 401 with the challenge, and starts nothing', async () => {
    const before = uploadFiles().length;
    const res = await fetch(url('proto/auth', 'blobs/uploads/'), { method: 'POST' });
    expect(res.status).toBe(401);
    expect(res.headers.get('www-authenticate')).toBe(`Basic realm="${h.emu.host}"`);
    const [error] = await errorBody(res);
    expect(error.code).toBe('UNAUTHORIZED');
    expect(error.message).toMatch(/authentication required/);
    expect(uploadFiles()).toHaveLength(before);

    const manifest = await fetch(url('proto/auth', 'manifests/v1'), { method: 'PUT', headers: { 'content-type': OCI_MANIFEST }, body: '{}' });
    expect(manifest.status).toBe(401);
    expect(await errorCodes(manifest)).toEqual(['UNAUTHORIZED']);
  });

  test('a wrong password, another user, another scheme: 401 UNAUTHORIZED', async () => {
    const attempts = [
      basic('AWS', `${h.password}x`),
      basic('AWS', ''),
      basic('admin', h.password),
      `Bearer ${h.password}`,
      `Basic ${h.password}`,
    ];
    for (const authorization of attempts) {
      const res = await fetch(url('proto/auth', 'blobs/uploads/'), { method: 'POST', headers: { authorization } });
      expect(res.status).toBe(401);
      expect(res.headers.get('www-authenticate')).toBe(`Basic realm="${h.emu.host}"`);
      const [error] = await errorBody(res);
      expect(error.code).toBe('UNAUTHORIZED');
      expect(error.message).toMatch(/not a password issued by GetAuthorizationToken/);
    }
    // A body sent with refused credentials is read, so that the client gets its answer.
    const patch = await fetch(url('proto/auth', 'blobs/uploads/00000000-0000-0000-0000-000000000000'), {
      method: 'PATCH', headers: { authorization: basic('AWS', 'nope') }, body: randomBytes(2 * MIB),
    });
    expect(patch.status).toBe(401);
    await patch.arrayBuffer();
  });

  test('an expired password is refused; each issued password works', async () => {
    const ok = await fetch(url('proto/auth', 'blobs/uploads/'), { method: 'POST', headers: auth() });
    expect(ok.status).toBe(202);
    await ok.arrayBuffer();

    const realNow = Date.now.bind(Date);
    const spy = jest.spyOn(Date, 'now').mockImplementation(() => realNow() + 12 * 3600 * 1000 + 1000);
    try {
      const expired = await fetch(url('proto/auth', 'blobs/uploads/'), { method: 'POST', headers: auth() });
      expect(expired.status).toBe(401);
      expect(await errorCodes(expired)).toEqual(['UNAUTHORIZED']);
    } finally {
      spy.mockRestore();
    }
    const again = await fetch(url('proto/auth', 'blobs/uploads/'), { method: 'POST', headers: auth() });
    expect(again.status).toBe(202);
    await again.arrayBuffer();
  });
});

describe('blob uploads', () => {
  test('a monolithic upload (POST ?digest=) stores the blob: 201, Location, Docker-Content-Digest', async () => {
    const bytes = randomBytes(5000);
    const digest = sha256(bytes);
    const before = uploadFiles().length;
    const res = await fetch(url('proto/blobs', `blobs/uploads/?digest=${digest}`), { method: 'POST', headers: auth(), body: bytes });
    expect(res.status).toBe(201);
    expect(res.headers.get('location')).toBe(`/v2/${h.alias}/proto/blobs/blobs/${digest}`);
    expect(res.headers.get('docker-content-digest')).toBe(digest);
    await res.arrayBuffer();
    expect(uploadFiles()).toHaveLength(before);

    const get = await fetch(absolute(res.headers.get('location')));
    expect(get.status).toBe(200);
    expect(Buffer.from(await get.arrayBuffer()).equals(bytes)).toBe(true);
    const availability = await layerAvailability(h.client, 'proto/blobs', [digest]);
    expect(availability.get(digest)).toBe('AVAILABLE');
  });

  test('a monolithic upload with a wrong digest is 400 DIGEST_INVALID and stores no blob', async () => {
    const bytes = randomBytes(4000);
    const claimed = sha256('something else');
    const before = uploadFiles().length;
    const res = await fetch(url('proto/blobs', `blobs/uploads/?digest=${claimed}`), { method: 'POST', headers: auth(), body: bytes });
    expect(res.status).toBe(400);
    expect(await errorCodes(res)).toEqual(['DIGEST_INVALID']);
    expect(uploadFiles()).toHaveLength(before);
    for (const digest of [claimed, sha256(bytes)]) {
      const head = await fetch(url('proto/blobs', `blobs/${digest}`), { method: 'HEAD' });
      expect(head.status).toBe(404);
      expect(blobFileExists(digest)).toBe(false);
    }
    const availability = await layerAvailability(h.client, 'proto/blobs', [claimed, sha256(bytes)]);
    expect([...availability.values()]).toEqual(['UNAVAILABLE', 'UNAVAILABLE']);
  });

  test('POST starts an upload: 202 with Location, Docker-Upload-UUID and Range; GET tells where it stands', async () => {
    const res = await fetch(url('proto/chunks', 'blobs/uploads/'), { method: 'POST', headers: auth() });
    expect(res.status).toBe(202);
    const id = res.headers.get('docker-upload-uuid')!;
    expect(id).toMatch(UUID);
    expect(res.headers.get('location')).toBe(`/v2/${h.alias}/proto/chunks/blobs/uploads/${id}`);
    expect(res.headers.get('range')).toBe('0-0');
    await res.arrayBuffer();

    const status = await fetch(absolute(res.headers.get('location')), { headers: auth() });
    expect(status.status).toBe(204);
    expect(status.headers.get('range')).toBe('0-0');
    expect(status.headers.get('docker-upload-uuid')).toBe(id);
  });

  test('chunks in order are accepted; out of order, re-sent, malformed or mis-sized chunks are 416 with the Range', async () => {
    const data = randomBytes(300);
    const upload = await openUpload('proto/chunks');
    const patch = (range: string | undefined, body: Buffer) => fetch(upload, {
      method: 'PATCH',
      headers: auth({ 'content-type': 'application/octet-stream', ...(range ? { 'content-range': range } : {}) }),
      body,
    });

    const first = await patch('0-99', data.subarray(0, 100));
    expect(first.status).toBe(202);
    expect(first.headers.get('range')).toBe('0-99');
    expect(absolute(first.headers.get('location'))).toBe(upload);
    await first.arrayBuffer();

    for (const [range, body] of [['200-299', data.subarray(200)], ['0-99', data.subarray(0, 100)], ['bytes 100-199/300', data.subarray(100, 200)],
      ['100-199', data.subarray(100, 150)]] as Array<[string, Buffer]>) {
      const refused = await patch(range, body);
      expect(refused.status).toBe(416);
      expect(refused.headers.get('range')).toBe('0-99');
      expect(absolute(refused.headers.get('location'))).toBe(upload);
      expect(await errorCodes(refused)).toEqual(['BLOB_UPLOAD_INVALID']);
    }

    const status = await fetch(upload, { headers: auth() });
    expect(status.status).toBe(204);
    expect(status.headers.get('range')).toBe('0-99');

    const rest = await patch('100-299', data.subarray(100));
    expect(rest.status).toBe(202);
    expect(rest.headers.get('range')).toBe('0-299');
    await rest.arrayBuffer();
    const done = await fetch(`${upload}?digest=${sha256(data)}`, { method: 'PUT', headers: auth() });
    expect(done.status).toBe(201);
    expect(done.headers.get('docker-content-digest')).toBe(sha256(data));
    await done.arrayBuffer();

    const get = await fetch(url('proto/chunks', `blobs/${sha256(data)}`));
    expect(Buffer.from(await get.arrayBuffer()).equals(data)).toBe(true);
  });

  test('a client that goes away in the middle of a chunk leaves the upload as it was', async () => {
    const data = randomBytes(100);
    const upload = await openUpload('proto/chunks');
    const first = await fetch(upload, { method: 'PATCH', headers: auth({ 'content-range': '0-99' }), body: data });
    expect(first.status).toBe(202);
    await first.arrayBuffer();

    await new Promise<void>((resolve) => {
      const req = http.request(upload, { method: 'PATCH', headers: auth({ 'content-range': '100-4194403' }) });
      req.on('error', () => resolve());
      req.write(randomBytes(MIB), () => setTimeout(() => {
        req.destroy();
        resolve();
      }, 100));
    });
    const tmpDir = path.join(h.emu.root, 'tmp');
    for (let i = 0; i < 50 && fs.readdirSync(tmpDir).length > 0; i++) await new Promise((r) => setTimeout(r, 20));
    expect(fs.readdirSync(tmpDir)).toEqual([]);
    const status = await fetch(upload, { headers: auth() });
    expect(status.status).toBe(204);
    expect(status.headers.get('range')).toBe('0-99');
    expect(fs.statSync(path.join(h.emu.root, 'uploads', upload.slice(upload.lastIndexOf('/') + 1))).size).toBe(100);
  });

  test('a 13 MiB blob in chunks: Content-Range, streamed, and the last chunk with the PUT', async () => {
    const data = randomBytes(13 * MIB);
    const digest = sha256(data);
    const upload = await openUpload('proto/big');
    const one = await fetch(upload, { method: 'PATCH', headers: auth({ 'content-range': `0-${5 * MIB - 1}` }), body: data.subarray(0, 5 * MIB) });
    expect(one.status).toBe(202);
    expect(one.headers.get('range')).toBe(`0-${5 * MIB - 1}`);
    await one.arrayBuffer();
    // A streamed chunk (no Content-Range) continues where the upload stands, as containers/image sends its blobs.
    const two = await fetch(absolute(one.headers.get('location')), { method: 'PATCH', headers: auth(), body: data.subarray(5 * MIB, 12 * MIB) });
    expect(two.status).toBe(202);
    expect(two.headers.get('range')).toBe(`0-${12 * MIB - 1}`);
    await two.arrayBuffer();
    const last = await fetch(`${absolute(two.headers.get('location'))}?digest=${digest}`, {
      method: 'PUT', headers: auth({ 'content-range': `${12 * MIB}-${13 * MIB - 1}` }), body: data.subarray(12 * MIB),
    });
    expect(last.status).toBe(201);
    expect(last.headers.get('location')).toBe(`/v2/${h.alias}/proto/big/blobs/${digest}`);
    await last.arrayBuffer();

    const out = await layerAvailability(h.client, 'proto/big', [digest]);
    expect(out.get(digest)).toBe('AVAILABLE');
    const head = await fetch(url('proto/big', `blobs/${digest}`), { method: 'HEAD' });
    expect(head.headers.get('content-length')).toBe(String(13 * MIB));
    const get = await fetch(url('proto/big', `blobs/${digest}`));
    expect(sha256(Buffer.from(await get.arrayBuffer()))).toBe(digest);
  });

  test('closing: no digest keeps the upload open, a wrong digest ends it, an empty upload cannot be closed', async () => {
    const data = randomBytes(1000);
    const upload = await openUpload('proto/chunks');
    const empty = await fetch(`${upload}?digest=${sha256('')}`, { method: 'PUT', headers: auth() });
    expect(empty.status).toBe(400);
    expect(await errorCodes(empty)).toEqual(['BLOB_UPLOAD_INVALID']);
    expect((await fetch(upload, { headers: auth() })).status).toBe(204);

    const patched = await fetch(upload, { method: 'PATCH', headers: auth(), body: data });
    expect(patched.status).toBe(202);
    await patched.arrayBuffer();
    const noDigest = await fetch(upload, { method: 'PUT', headers: auth() });
    expect(noDigest.status).toBe(400);
    expect(await errorCodes(noDigest)).toEqual(['DIGEST_INVALID']);
    const stillOpen = await fetch(upload, { headers: auth() });
    expect(stillOpen.status).toBe(204);
    expect(stillOpen.headers.get('range')).toBe('0-999');

    const wrong = await fetch(`${upload}?digest=${sha256('other bytes')}`, { method: 'PUT', headers: auth() });
    expect(wrong.status).toBe(400);
    expect(await errorCodes(wrong)).toEqual(['DIGEST_INVALID']);
    const gone = await fetch(upload, { headers: auth() });
    expect(gone.status).toBe(404);
    expect(await errorCodes(gone)).toEqual(['BLOB_UPLOAD_UNKNOWN']);
    expect(blobFileExists(sha256(data))).toBe(false);
  });

  test('DELETE cancels an upload; an upload is unknown to another repository', async () => {
    const upload = await openUpload('proto/chunks');
    const id = upload.slice(upload.lastIndexOf('/') + 1);
    const elsewhere = await fetch(url('proto/other', `blobs/uploads/${id}`), { method: 'PATCH', headers: auth(), body: 'abc' });
    expect(elsewhere.status).toBe(404);
    expect(await errorCodes(elsewhere)).toEqual(['BLOB_UPLOAD_UNKNOWN']);

    const del = await fetch(upload, { method: 'DELETE', headers: auth() });
    expect(del.status).toBe(204);
    await del.arrayBuffer();
    const after = await fetch(upload, { method: 'PATCH', headers: auth(), body: 'abc' });
    expect(after.status).toBe(404);
    expect(await errorCodes(after)).toEqual(['BLOB_UPLOAD_UNKNOWN']);
    expect(uploadFiles()).not.toContain(id);
  });

  test('a cross-repository mount starts an ordinary upload (202): blobs are per repository', async () => {
    const bytes = randomBytes(700);
    const digest = await pushBlob('proto/blobs', bytes);
    const res = await fetch(url('proto/other', `blobs/uploads/?mount=${digest}&from=${h.alias}/proto/blobs`), { method: 'POST', headers: auth() });
    expect(res.status).toBe(202);
    expect(res.headers.get('location')).toMatch(new RegExp(`^/v2/${h.alias}/proto/other/blobs/uploads/`));
    await res.arrayBuffer();
    expect((await layerAvailability(h.client, 'proto/other', [digest])).get(digest)).toBe('UNAVAILABLE');
    expect((await fetch(url('proto/other', `blobs/${digest}`), { method: 'HEAD' })).status).toBe(404);
  });

  test('a blob the repository already has: the registry API answers 201, CompleteLayerUpload refuses it', async () => {
    const bytes = randomBytes(900);
    const digest = await pushBlob('proto/blobs', bytes);
    const again = await fetch(url('proto/blobs', `blobs/uploads/?digest=${digest}`), { method: 'POST', headers: auth(), body: bytes });
    expect(again.status).toBe(201);
    expect(again.headers.get('docker-content-digest')).toBe(digest);
    await again.arrayBuffer();

    const init = await h.client.send(new InitiateLayerUploadCommand({ repositoryName: 'proto/blobs' }));
    await h.client.send(new UploadLayerPartCommand({
      repositoryName: 'proto/blobs', uploadId: init.uploadId, partFirstByte: 0, partLastByte: bytes.length - 1, layerPartBlob: bytes,
    }));
    await expect(h.client.send(new CompleteLayerUploadCommand({ repositoryName: 'proto/blobs', uploadId: init.uploadId, layerDigests: [digest] })))
      .rejects.toThrow(expect.objectContaining({ name: 'LayerAlreadyExistsException' }));
  });

  test('a POST without ?digest= carries no body', async () => {
    const res = await fetch(url('proto/blobs', 'blobs/uploads/'), { method: 'POST', headers: auth(), body: 'data' });
    expect(res.status).toBe(400);
    expect(await errorCodes(res)).toEqual(['BLOB_UPLOAD_INVALID']);
  });
});

describe('manifests', () => {
  test('PUT by tag: 201, the digest of the exact bytes, served back as sent and seen by DescribeImages', async () => {
    const image = await imageIn('proto/manifests', 'tagged');
    // Not canonical JSON: the digest is over these bytes, spaces included.
    const text = `{ "schemaVersion": 2,\n  ${image.manifest.slice(1, -1)} }\n`;
    const digest = sha256(text);
    const res = await putManifest('proto/manifests', 'v1', text);
    expect(res.status).toBe(201);
    expect(res.headers.get('docker-content-digest')).toBe(digest);
    expect(res.headers.get('location')).toBe(`/v2/${h.alias}/proto/manifests/manifests/${digest}`);
    await res.arrayBuffer();

    const get = await fetch(url('proto/manifests', 'manifests/v1'), { headers: { accept: OCI_MANIFEST } });
    expect(get.headers.get('content-type')).toBe(OCI_MANIFEST);
    expect(await get.text()).toBe(text);
    const images = await describeImages(h.client, 'proto/manifests');
    const detail = images.find((i) => i.imageDigest === digest);
    expect(detail?.imageTags).toEqual(['v1']);
    expect(detail?.imageManifestMediaType).toBe(OCI_MANIFEST);
    expect(detail?.imageSizeInBytes).toBe(3000);

    // The same PUT again succeeds, as registries make it; PutImage refuses the same as ImageAlreadyExistsException.
    const again = await putManifest('proto/manifests', 'v1', text);
    expect(again.status).toBe(201);
    expect(again.headers.get('docker-content-digest')).toBe(digest);
    await again.arrayBuffer();
    await expect(h.client.send(new PutImageCommand({
      repositoryName: 'proto/manifests', imageManifest: text, imageManifestMediaType: OCI_MANIFEST, imageTag: 'v1',
    }))).rejects.toThrow(expect.objectContaining({ name: 'ImageAlreadyExistsException' }));
  });

  test('a manifest referencing a blob the repository lacks is 400 MANIFEST_BLOB_UNKNOWN, naming it', async () => {
    const image = await imageIn('proto/manifests', 'missing');
    const absent = sha256('never pushed');
    const parsed = JSON.parse(image.manifest);
    const manifest = JSON.stringify({ ...parsed, layers: [...parsed.layers, { mediaType: OCI_LAYER, digest: absent, size: 12 }] });
    const res = await putManifest('proto/manifests', 'missing', manifest);
    expect(res.status).toBe(400);
    const errors = await errorBody(res);
    expect(errors.map((e) => e.code)).toEqual(['MANIFEST_BLOB_UNKNOWN']);
    expect(errors[0].detail).toEqual({ digest: absent });
    expect((await fetch(url('proto/manifests', 'manifests/missing'))).status).toBe(404);
    expect((await describeImages(h.client, 'proto/manifests')).map((i) => i.imageDigest)).not.toContain(sha256(manifest));

    // Blobs are per repository: the config and layer exist, but in another repository.
    const elsewhere = await putManifest('proto/other', 'v1', image.manifest);
    expect(elsewhere.status).toBe(400);
    expect((await errorBody(elsewhere)).map((e) => e.detail.digest).sort()).toEqual([image.config, image.layer].sort());
  });

  test('PUT by digest: the right digest stores the image untagged, a wrong one is 400 DIGEST_INVALID', async () => {
    const image = await imageIn('proto/manifests', 'by-digest');
    const wrong = await putManifest('proto/manifests', sha256('not the manifest'), image.manifest);
    expect(wrong.status).toBe(400);
    expect(await errorCodes(wrong)).toEqual(['DIGEST_INVALID']);
    expect((await fetch(url('proto/manifests', `manifests/${image.digest}`))).status).toBe(404);

    const right = await putManifest('proto/manifests', image.digest, image.manifest);
    expect(right.status).toBe(201);
    expect(right.headers.get('docker-content-digest')).toBe(image.digest);
    await right.arrayBuffer();
    const detail = (await describeImages(h.client, 'proto/manifests')).find((i) => i.imageDigest === image.digest);
    expect(detail).toBeDefined();
    expect(detail?.imageTags).toBeUndefined();
  });

  test('invalid tags are 400 TAG_INVALID; invalid manifests 400 MANIFEST_INVALID', async () => {
    const image = await imageIn('proto/manifests', 'invalid');
    for (const tag of ['-leading-dash', 'a'.repeat(129), 'sp%20ace']) {
      const res = await putManifest('proto/manifests', tag, image.manifest);
      expect(res.status).toBe(400);
      expect(await errorCodes(res)).toEqual(['TAG_INVALID']);
    }
    const withType = JSON.stringify({ mediaType: OCI_MANIFEST, ...JSON.parse(image.manifest) });
    const invalid: Array<[string, string | null]> = [
      ['{ not json', OCI_MANIFEST],
      [image.manifest, null], // no Content-Type and no mediaType member
      [image.manifest, 'application/json'], // not a manifest type
      [withType, OCI_INDEX], // Content-Type and mediaType disagree
      [imageManifest({ digest: image.config, size: 1 }, []), OCI_MANIFEST], // no layer
    ];
    for (const [body, type] of invalid) {
      const res = await putManifest('proto/manifests', 'invalid', body, type);
      expect(res.status).toBe(400);
      expect(await errorCodes(res)).toEqual(['MANIFEST_INVALID']);
    }
    expect((await fetch(url('proto/manifests', 'manifests/invalid'))).status).toBe(404);
    // The Content-Type may be left out when the manifest names its media type.
    const own = await putManifest('proto/manifests', 'own-type', withType, null);
    expect(own.status).toBe(201);
    await own.arrayBuffer();
  });

  test('an index needs its children in the repository (MANIFEST_BLOB_UNKNOWN), then is stored', async () => {
    const a = await imageIn('proto/index', 'a');
    const b = await imageIn('proto/index', 'b');
    const index = JSON.stringify({
      schemaVersion: 2,
      mediaType: OCI_INDEX,
      manifests: [a, b].map((m, i) => ({ mediaType: OCI_MANIFEST, digest: m.digest, size: m.manifest.length, platform: { architecture: ['amd64', 'arm64'][i], os: 'linux' } })),
    });
    expect((await putManifest('proto/index', a.digest, a.manifest)).status).toBe(201);
    const early = await putManifest('proto/index', 'multi', index, OCI_INDEX);
    expect(early.status).toBe(400);
    const errors = await errorBody(early);
    expect(errors.map((e) => e.code)).toEqual(['MANIFEST_BLOB_UNKNOWN']);
    expect(errors[0].detail).toEqual({ digest: b.digest });

    expect((await putManifest('proto/index', b.digest, b.manifest)).status).toBe(201);
    const res = await putManifest('proto/index', 'multi', index, OCI_INDEX);
    expect(res.status).toBe(201);
    expect(res.headers.get('docker-content-digest')).toBe(sha256(index));
    await res.arrayBuffer();
    const detail = (await describeImages(h.client, 'proto/index')).find((i) => i.imageDigest === sha256(index));
    expect(detail?.imageTags).toEqual(['multi']);
    expect(detail?.imageManifestMediaType).toBe(OCI_INDEX);
  });

  test('a tag moves to the image last pushed with it; the other stays, untagged', async () => {
    const a = await imageIn('proto/manifests', 'move-a');
    const b = await imageIn('proto/manifests', 'move-b');
    expect((await putManifest('proto/manifests', 'moving', a.manifest)).status).toBe(201);
    expect((await putManifest('proto/manifests', 'moving', b.manifest)).status).toBe(201);
    const images = await describeImages(h.client, 'proto/manifests');
    expect(images.find((i) => i.imageDigest === a.digest)?.imageTags).toBeUndefined();
    expect(images.find((i) => i.imageDigest === b.digest)?.imageTags).toEqual(['moving']);
  });

  test('DELETE of a manifest or a blob is 405 UNSUPPORTED and deletes nothing', async () => {
    const image = await imageIn('proto/manifests', 'kept');
    expect((await putManifest('proto/manifests', 'kept', image.manifest)).status).toBe(201);
    for (const target of [`manifests/${image.digest}`, 'manifests/kept', `blobs/${image.layer}`]) {
      const res = await fetch(url('proto/manifests', target), { method: 'DELETE', headers: auth() });
      expect(res.status).toBe(405);
      expect(await errorCodes(res)).toEqual(['UNSUPPORTED']);
    }
    expect((await fetch(url('proto/manifests', 'manifests/kept'))).status).toBe(200);
    expect((await fetch(url('proto/manifests', `blobs/${image.layer}`), { method: 'HEAD' })).status).toBe(200);
  });

  test('a manifest over 4 MiB is 413 SIZE_INVALID', async () => {
    const res = await putManifest('proto/manifests', 'huge', `{"schemaVersion":2,"pad":"${'x'.repeat(4 * MIB)}"}`);
    expect(res.status).toBe(413);
    expect(await errorCodes(res)).toEqual(['SIZE_INVALID']);
  });
});

describe('a repository that does not exist', () => {
  test('uploads and manifests are 404 NAME_UNKNOWN, and no repository is created', async () => {
    const upload = await fetch(url('proto/nowhere', 'blobs/uploads/'), { method: 'POST', headers: auth() });
    expect(upload.status).toBe(404);
    expect(await errorCodes(upload)).toEqual(['NAME_UNKNOWN']);
    const bytes = randomBytes(10);
    const monolithic = await fetch(url('proto/nowhere', `blobs/uploads/?digest=${sha256(bytes)}`), { method: 'POST', headers: auth(), body: bytes });
    expect(monolithic.status).toBe(404);
    expect(await errorCodes(monolithic)).toEqual(['NAME_UNKNOWN']);
    const manifest = await putManifest('proto/nowhere', 'v1', '{}');
    expect(manifest.status).toBe(404);
    expect(await errorCodes(manifest)).toEqual(['NAME_UNKNOWN']);
    const wrongAlias = await fetch(`${h.emu.endpoint}/v2/zz${h.alias}/proto/blobs/blobs/uploads/`, { method: 'POST', headers: auth() });
    expect(wrongAlias.status).toBe(404);
    expect(await errorCodes(wrongAlias)).toEqual(['NAME_UNKNOWN']);

    const repos = await h.client.send(new DescribeRepositoriesCommand({}));
    expect((repos.repositories ?? []).map((r) => r.repositoryName).sort()).toEqual([...REPOS].sort());
  });
});
