/**
 * What is pushed through the registry API is kept in the data directory like what is pushed through the ECR Public
 * API: it survives a restart. Issued passwords do not: they are kept in memory only.
 */
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import {
  basic, describeImages, errorCodes, Harness, layerAvailability, loginPassword, sha256, skopeoFailure, skopeoPush, startHarness, stopHarness,
} from './support';
import { OciLayoutImage, readOciLayout, sha256File } from '../../support/oci-layout';
import { skopeoCopy } from '../../support/skopeo';
import { makeTempDir, removeTempDir } from '../../support/temp-dirs';
import { buildImage, buildMultiPlatformLayout } from '../../support/umoci-images';

const REPO = 'persist/web';

let tmp: string;
let dataDir: string;
let h: Harness | undefined;
let single: OciLayoutImage;
let multi: OciLayoutImage;

beforeAll(async () => {
  tmp = makeTempDir('push-persist-');
  dataDir = path.join(tmp, 'data');
  single = await buildImage(path.join(tmp, 'single'), { tag: 'v1', layers: 2, files: { 'etc/one': 'one\n', 'etc/two': 'two\n' } });
  multi = await buildMultiPlatformLayout(path.join(tmp, 'multi'), { tag: 'm1', files: { 'etc/motd': 'kept\n' } });
});

afterAll(async () => {
  await stopHarness(h);
  removeTempDir(tmp);
});

test('images pushed with skopeo, and an upload in progress, survive a restart; passwords do not', async () => {
  h = await startHarness([REPO], { dataDir });
  const first = h;
  await skopeoPush(`oci:${single.layoutDir}:v1`, `docker://${first.emu.host}/${first.alias}/${REPO}:v1`, `AWS:${first.password}`);
  await skopeoPush(`oci:${multi.layoutDir}:m1`, `docker://${first.emu.host}/${first.alias}/${REPO}:m1`, `AWS:${first.password}`, ['--all']);

  // An upload left half done.
  const data = randomBytes(2000);
  const started = await fetch(`${first.emu.endpoint}/v2/${first.alias}/${REPO}/blobs/uploads/`, { method: 'POST', headers: { authorization: basic('AWS', first.password) } });
  expect(started.status).toBe(202);
  await started.arrayBuffer();
  const uploadPath = started.headers.get('location')!;
  const part = await fetch(`${first.emu.endpoint}${uploadPath}`, {
    method: 'PATCH', headers: { 'authorization': basic('AWS', first.password), 'content-range': '0-999' }, body: data.subarray(0, 1000),
  });
  expect(part.status).toBe(202);
  await part.arrayBuffer();
  const oldPassword = first.password;
  await stopHarness(first);
  h = undefined;

  h = await startHarness([], { dataDir });
  const second = h;
  const images = await describeImages(second.client, REPO);
  expect(images.map((i) => i.imageDigest).sort()).toEqual([single.root.digest, ...multi.manifests.map((m) => m.digest)].sort());
  expect(images.find((i) => i.imageDigest === single.root.digest)?.imageTags).toEqual(['v1']);
  expect(images.find((i) => i.imageDigest === multi.root.digest)?.imageTags).toEqual(['m1']);
  const availability = await layerAvailability(second.client, REPO, [...single.blobs, ...multi.blobs].map((b) => b.digest));
  expect([...availability.values()].every((a) => a === 'AVAILABLE')).toBe(true);
  expect(availability.size).toBe(new Set([...single.blobs, ...multi.blobs].map((b) => b.digest)).size);

  const out = path.join(tmp, 'pulled');
  await skopeoCopy(`docker://${second.emu.host}/${second.alias}/${REPO}:v1`, `oci:${out}:v1`);
  const pulled = readOciLayout(out, 'v1');
  expect(pulled.root.bytes.equals(single.root.bytes)).toBe(true);
  for (const blob of pulled.blobs) expect(await sha256File(blob.path)).toBe(blob.digest);
  await skopeoCopy(`docker://${second.emu.host}/${second.alias}/${REPO}:m1`, `oci:${out}:m1`, ['--all']);
  expect(readOciLayout(out, 'm1').root.bytes.equals(multi.root.bytes)).toBe(true);

  // The password of the first run is forgotten.
  const stale = await fetch(`${second.emu.endpoint}${uploadPath}`, { headers: { authorization: basic('AWS', oldPassword) } });
  expect(stale.status).toBe(401);
  expect(await errorCodes(stale)).toEqual(['UNAUTHORIZED']);
  const stderr = await skopeoFailure(skopeoPush(`oci:${single.layoutDir}:v1`, `docker://${second.emu.host}/${second.alias}/${REPO}:again`, `AWS:${oldPassword}`));
  expect(stderr).toMatch(/not a password issued by GetAuthorizationToken/);

  // With a new one, the upload continues where it stood.
  const password = await loginPassword(second.client);
  const status = await fetch(`${second.emu.endpoint}${uploadPath}`, { headers: { authorization: basic('AWS', password) } });
  expect(status.status).toBe(204);
  expect(status.headers.get('range')).toBe('0-999');
  const rest = await fetch(`${second.emu.endpoint}${uploadPath}?digest=${sha256(data)}`, {
    method: 'PUT', headers: { 'authorization': basic('AWS', password), 'content-range': '1000-1999' }, body: data.subarray(1000),
  });
  expect(rest.status).toBe(201);
  await rest.arrayBuffer();
  const blob = await fetch(`${second.emu.endpoint}/v2/${second.alias}/${REPO}/blobs/${sha256(data)}`);
  expect(Buffer.from(await blob.arrayBuffer()).equals(data)).toBe(true);
  expect(fs.readdirSync(path.join(dataDir, 'uploads'))).toEqual([]);
  expect(fs.readdirSync(path.join(dataDir, 'tmp'))).toEqual([]);
});
