/**
 * Nothing is left behind for good: a partly received push body in `tmp/` is removed at the next start, and uploads
 * left unfinished expire once untouched for the upload expiry, after which both APIs answer upload-not-found and their
 * bytes are gone. Time is moved with the emulator's clock (`--clock-offset`), not waited for; the same clock keeps
 * every image's `imagePushedAt` across restarts. The emulator runs as a real process, killed with SIGKILL.
 */
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import {
  CompleteLayerUploadCommand,
  CreateRepositoryCommand,
  DescribeImagesCommand,
  ECRPUBLICClient,
  InitiateLayerUploadCommand,
  UploadLayerPartCommand,
} from '@aws-sdk/client-ecr-public';
import { holdRequest, tearDown } from './emulator-process';
import { sha256 } from '../../src/shared/oci/digest';
import { pushOciLayout } from '../support/ecr-push';
import { basicAuthorization, ecrPublicClient, ensureCompiledEmulator, killEmulator, loginPassword, primaryRegistryAlias, ServedEmulator, serveEmulator } from '../support/emulator-harness';
import { makeTempDir } from '../support/temp-dirs';
import { buildImage } from '../support/umoci-images';

const DAY = 24 * 3600;
let tmp: string;
let dataDir: string;
let served: ServedEmulator | undefined;
let client: ECRPUBLICClient | undefined;

async function start(extra: string[] = []): Promise<ECRPUBLICClient> {
  client?.destroy();
  await killEmulator(served);
  served = await serveEmulator(dataDir, extra);
  client = ecrPublicClient(served.endpoint);
  return client;
}

async function errorOf(promise: Promise<unknown>): Promise<string> {
  try {
    await promise;
  } catch (err) {
    return (err as Error).name;
  }
  return 'no error';
}

beforeAll(async () => {
  await ensureCompiledEmulator();
  tmp = makeTempDir('emulator-leaks-');
  dataDir = path.join(tmp, 'data');
}, 200_000);

afterAll(() => tearDown(client, served, tmp));

test('a push body cut off by a SIGKILL is removed from tmp/ at the next start', async () => {
  const c = await start();
  await c.send(new CreateRepositoryCommand({ repositoryName: 'leaks/tmp' }));
  const alias = await primaryRegistryAlias(c);
  const password = await loginPassword(c);
  const started = await fetch(`${served!.endpoint}/v2/${alias}/leaks/tmp/blobs/uploads/`, { method: 'POST', headers: { Authorization: basicAuthorization('AWS', password) } });
  const held = await holdRequest(served!.port, [`PATCH ${started.headers.get('location')} HTTP/1.1`, `Host: ${served!.host}`,
    `Authorization: ${basicAuthorization('AWS', password)}`, `Content-Length: ${4 * 1024 * 1024}`].join('\r\n'));
  await new Promise<void>((resolve) => held.socket.write(randomBytes(1024 * 1024), () => resolve()));
  const tmpDir = path.join(dataDir, 'tmp');
  for (let i = 0; i < 100 && fs.readdirSync(tmpDir).length === 0; i++) await new Promise((r) => setTimeout(r, 20));
  expect(fs.readdirSync(tmpDir)).toHaveLength(1);
  await killEmulator(served);
  held.socket.destroy();
  expect(fs.readdirSync(tmpDir)).toHaveLength(1);

  await start();
  expect(fs.readdirSync(tmpDir)).toEqual([]);
}, 60_000);

test('uploads untouched past the expiry are gone through both APIs; a recent one is kept', async () => {
  dataDir = path.join(tmp, 'data-expiry');
  let c = await start();
  await c.send(new CreateRepositoryCommand({ repositoryName: 'leaks/expiry' }));
  const alias = await primaryRegistryAlias(c);
  const part = randomBytes(64 * 1024);
  const { uploadId: apiUpload } = await c.send(new InitiateLayerUploadCommand({ repositoryName: 'leaks/expiry' }));
  await c.send(new UploadLayerPartCommand({
    repositoryName: 'leaks/expiry', uploadId: apiUpload, partFirstByte: 0, partLastByte: part.length - 1, layerPartBlob: part,
  }));
  let password = await loginPassword(c);
  const started = await fetch(`${served!.endpoint}/v2/${alias}/leaks/expiry/blobs/uploads/`, { method: 'POST', headers: { Authorization: basicAuthorization('AWS', password) } });
  const location = started.headers.get('location')!;
  const patched = await fetch(`${served!.endpoint}${location}`, { method: 'PATCH', headers: { Authorization: basicAuthorization('AWS', password) }, body: part });
  expect(patched.status).toBe(202);
  const uploadFiles = () => fs.readdirSync(path.join(dataDir, 'uploads')).sort();
  expect(uploadFiles()).toHaveLength(2);

  // Half a day later (under the default expiry of a day), both are still there.
  c = await start(['--clock-offset', String(DAY / 2)]);
  password = await loginPassword(c);
  expect((await fetch(`${served!.endpoint}${location}`, { headers: { Authorization: basicAuthorization('AWS', password) } })).status).toBe(204);
  expect(uploadFiles()).toHaveLength(2);

  // A day and a bit after their last part, both are gone, their bytes too.
  c = await start(['--clock-offset', String(DAY + 60)]);
  password = await loginPassword(c);
  expect(uploadFiles()).toEqual([]);
  const status = await fetch(`${served!.endpoint}${location}`, { headers: { Authorization: basicAuthorization('AWS', password) } });
  expect(status.status).toBe(404);
  expect(((await status.json()) as { errors: Array<{ code: string }> }).errors[0].code).toBe('BLOB_UPLOAD_UNKNOWN');
  expect(await errorOf(c.send(new UploadLayerPartCommand({
    repositoryName: 'leaks/expiry', uploadId: apiUpload, partFirstByte: part.length, partLastByte: 2 * part.length - 1, layerPartBlob: part,
  })))).toBe('UploadNotFoundException');
  expect(await errorOf(c.send(new CompleteLayerUploadCommand({
    repositoryName: 'leaks/expiry', uploadId: apiUpload, layerDigests: [sha256(part)],
  })))).toBe('UploadNotFoundException');
}, 90_000);

test('a shorter --upload-expiry applies, and imagePushedAt follows the clock and survives a restart', async () => {
  dataDir = path.join(tmp, 'data-clock');
  let c = await start(['--upload-expiry', '600', `--clock-offset=${-30 * DAY}`]);
  await c.send(new CreateRepositoryCommand({ repositoryName: 'leaks/clock' }));
  const image = await buildImage(path.join(tmp, 'layout'), { tag: 'v1', files: { '/clock.txt': 'a month ago\n' } });
  const before = Date.now() / 1000;
  await pushOciLayout(c, 'leaks/clock', image.layoutDir, { tag: 'v1' });
  const pushedAt = (await c.send(new DescribeImagesCommand({ repositoryName: 'leaks/clock' }))).imageDetails![0].imagePushedAt!;
  // Pushed on the emulator's clock: thirty days before the real time.
  expect(Math.round((before - pushedAt.getTime() / 1000) / DAY)).toBe(30);
  const { uploadId } = await c.send(new InitiateLayerUploadCommand({ repositoryName: 'leaks/clock' }));

  // Eleven minutes later on the same clock the upload has expired; the image keeps its push time.
  c = await start(['--upload-expiry', '600', `--clock-offset=${-30 * DAY + 660}`]);
  expect(await errorOf(c.send(new CompleteLayerUploadCommand({
    repositoryName: 'leaks/clock', uploadId, layerDigests: [sha256('x')],
  })))).toBe('UploadNotFoundException');
  const again = (await c.send(new DescribeImagesCommand({ repositoryName: 'leaks/clock' }))).imageDetails![0].imagePushedAt!;
  expect(again.getTime()).toBe(pushedAt.getTime());
}, 120_000);
