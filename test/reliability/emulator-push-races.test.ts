/**
 * Pushes racing a DeleteRepository: a manifest `PUT`, a blob `PATCH`/`PUT` or a monolithic `POST` whose body is still
 * arriving when the repository is deleted (force), or deleted and created again, is refused once the body is in
 * (`404 NAME_UNKNOWN`), and nothing lands in the old repository or in the new one. UploadLayerPart and
 * CompleteLayerUpload against an upload whose repository was deleted, or deleted and re-created, meanwhile answer
 * UploadNotFoundException. The emulator runs as a real process; the racing requests go over raw sockets whose bodies
 * the test sends in two halves around the DeleteRepository.
 */
import { createHash, randomBytes } from 'node:crypto';
import * as path from 'node:path';
import {
  BatchCheckLayerAvailabilityCommand,
  CompleteLayerUploadCommand,
  CreateRepositoryCommand,
  DeleteRepositoryCommand,
  DescribeImagesCommand,
  ECRPUBLICClient,
  InitiateLayerUploadCommand,
  UploadLayerPartCommand,
} from '@aws-sdk/client-ecr-public';
import { pushSetup, holdRequest, SIGV4_AUTHORIZATION, tearDown } from './emulator-process';
import { pushOciLayout } from '../support/ecr-push';
import { basicAuthorization, ecrPublicClient, ensureCompiledEmulator, ServedEmulator, serveEmulator } from '../support/emulator-harness';
import { OciLayoutImage } from '../support/oci-layout';
import { makeTempDir } from '../support/temp-dirs';
import { buildImage } from '../support/umoci-images';

let tmp: string;
let served: ServedEmulator;
let client: ECRPUBLICClient;
let image: OciLayoutImage;
let alias: string;
let password: string;

const sha256 = (b: Buffer) => `sha256:${createHash('sha256').update(b).digest('hex')}`;

beforeAll(async () => {
  await ensureCompiledEmulator();
  tmp = makeTempDir('emulator-races-');
  image = await buildImage(path.join(tmp, 'layout'), { tag: 'v1', files: { '/race.txt': 'racing a delete\n' } });
  served = await serveEmulator(path.join(tmp, 'data'));
  client = ecrPublicClient(served.endpoint);
  ({ alias, password } = await pushSetup(client, 'race/setup'));
}, 200_000);

afterAll(() => tearDown(client, served, tmp));

/** A repository holding the image's blobs (and the image, tagged v1). */
async function repositoryWithImage(name: string): Promise<void> {
  await client.send(new CreateRepositoryCommand({ repositoryName: name }));
  await pushOciLayout(client, name, image.layoutDir, { tag: 'v1' });
}

/** Deletes the repository (force), and with `recreate` creates it again, empty. */
async function deleteMeanwhile(name: string, recreate: boolean): Promise<void> {
  await client.send(new DeleteRepositoryCommand({ repositoryName: name, force: true }));
  if (recreate) await client.send(new CreateRepositoryCommand({ repositoryName: name }));
}

/**
 * Sends `head` and the first half of `body`, lets `meanwhile` run, sends the rest, and returns the answer.
 * The emulator has the request (headers and part of the body) before `meanwhile` starts: a DeleteRepository answered
 * after that ran while the body was arriving.
 */
async function race(head: string, body: Buffer, meanwhile: () => Promise<void>): Promise<{ status: number; body: string }> {
  const held = await holdRequest(served.port, head);
  const half = Math.floor(body.length / 2);
  await new Promise<void>((resolve) => held.socket.write(body.subarray(0, half), () => resolve()));
  await meanwhile();
  // Written, not ended: an HTTP client does not half-close its side while it waits for the answer.
  held.socket.write(body.subarray(half));
  const answer = await held.answer;
  held.socket.destroy();
  return answer;
}

function registryHead(method: string, target: string, length: number, extra: string[] = []): string {
  return [`${method} ${target} HTTP/1.1`, `Host: ${served.host}`, `Authorization: ${basicAuthorization('AWS', password)}`,
    `Content-Length: ${length}`, ...extra].join('\r\n');
}

function errorCode(answer: { body: string }): string {
  return JSON.parse(answer.body).errors[0].code;
}

async function imageCount(name: string): Promise<number | string> {
  try {
    return ((await client.send(new DescribeImagesCommand({ repositoryName: name }))).imageDetails ?? []).length;
  } catch (err) {
    return (err as Error).name;
  }
}

async function availability(name: string, digest: string): Promise<string | undefined> {
  const out = await client.send(new BatchCheckLayerAvailabilityCommand({ repositoryName: name, layerDigests: [digest] }));
  return out.layers?.[0]?.layerAvailability;
}

describe.each([
  ['deleted', false],
  ['deleted and created again', true],
])('a repository %s while a push body arrives', (_label, recreate) => {
  const suffix = recreate ? 'recreated' : 'deleted';

  test('a manifest PUT is refused with NAME_UNKNOWN and stores nothing', async () => {
    const name = `race/manifest-${suffix}`;
    await repositoryWithImage(name);
    const answer = await race(
      registryHead('PUT', `/v2/${alias}/${name}/manifests/v2`, image.root.bytes.length, [`Content-Type: ${image.root.mediaType}`]),
      image.root.bytes, () => deleteMeanwhile(name, recreate));
    expect(answer.status).toBe(404);
    expect(errorCode(answer)).toBe('NAME_UNKNOWN');
    expect(await imageCount(name)).toBe(recreate ? 0 : 'RepositoryNotFoundException');
  }, 60_000);

  test('a blob PATCH is refused and the upload is gone; nothing lands in the new repository', async () => {
    const name = `race/patch-${suffix}`;
    await client.send(new CreateRepositoryCommand({ repositoryName: name }));
    const started = await fetch(`${served.endpoint}/v2/${alias}/${name}/blobs/uploads/`, { method: 'POST', headers: { Authorization: basicAuthorization('AWS', password) } });
    expect(started.status).toBe(202);
    const location = started.headers.get('location')!;
    const blob = randomBytes(256 * 1024);
    const answer = await race(registryHead('PATCH', location, blob.length), blob, () => deleteMeanwhile(name, recreate));
    expect(answer.status).toBe(404);
    expect(['NAME_UNKNOWN', 'BLOB_UPLOAD_UNKNOWN']).toContain(errorCode(answer));
    // The upload is gone for good: closing it now is refused too.
    const close = await fetch(`${served.endpoint}${location}?digest=${sha256(blob)}`, { method: 'PUT', headers: { Authorization: basicAuthorization('AWS', password) } });
    expect(close.status).toBe(404);
    if (recreate) expect(await availability(name, sha256(blob))).toBe('UNAVAILABLE');
  }, 60_000);

  test('a closing blob PUT is refused and stores nothing', async () => {
    const name = `race/put-${suffix}`;
    await client.send(new CreateRepositoryCommand({ repositoryName: name }));
    const started = await fetch(`${served.endpoint}/v2/${alias}/${name}/blobs/uploads/`, { method: 'POST', headers: { Authorization: basicAuthorization('AWS', password) } });
    const location = started.headers.get('location')!;
    const blob = randomBytes(256 * 1024);
    const answer = await race(registryHead('PUT', `${location}?digest=${sha256(blob)}`, blob.length), blob, () => deleteMeanwhile(name, recreate));
    expect(answer.status).toBe(404);
    if (recreate) expect(await availability(name, sha256(blob))).toBe('UNAVAILABLE');
  }, 60_000);

  test('a monolithic POST with ?digest= is refused with NAME_UNKNOWN and stores nothing', async () => {
    const name = `race/post-${suffix}`;
    await client.send(new CreateRepositoryCommand({ repositoryName: name }));
    const blob = randomBytes(256 * 1024);
    const answer = await race(registryHead('POST', `/v2/${alias}/${name}/blobs/uploads/?digest=${sha256(blob)}`, blob.length), blob,
      () => deleteMeanwhile(name, recreate));
    expect(answer.status).toBe(404);
    expect(errorCode(answer)).toBe('NAME_UNKNOWN');
    if (recreate) expect(await availability(name, sha256(blob))).toBe('UNAVAILABLE');
  }, 60_000);

  test('UploadLayerPart (its body arriving meanwhile) and CompleteLayerUpload answer UploadNotFoundException', async () => {
    const name = `race/api-${suffix}`;
    await client.send(new CreateRepositoryCommand({ repositoryName: name }));
    const { uploadId } = await client.send(new InitiateLayerUploadCommand({ repositoryName: name }));
    const part = randomBytes(64 * 1024);
    const body = Buffer.from(JSON.stringify({
      repositoryName: name, uploadId, partFirstByte: 0, partLastByte: part.length - 1, layerPartBlob: part.toString('base64'),
    }));
    const answer = await race([
      'POST / HTTP/1.1', `Host: ${served.host}`, `Authorization: ${SIGV4_AUTHORIZATION}`,
      'X-Amz-Target: SpencerFrontendService.UploadLayerPart', 'Content-Type: application/x-amz-json-1.1', `Content-Length: ${body.length}`,
    ].join('\r\n'), body, () => deleteMeanwhile(name, recreate));
    expect(answer.status).toBe(400);
    expect(JSON.parse(answer.body).__type).toBe(recreate ? 'UploadNotFoundException' : 'RepositoryNotFoundException');
    if (!recreate) return;
    const next = client.send(new UploadLayerPartCommand({
      repositoryName: name, uploadId, partFirstByte: 0, partLastByte: part.length - 1, layerPartBlob: part,
    }));
    await expect(next).rejects.toThrow(expect.objectContaining({ name: 'UploadNotFoundException' }));
    const complete = client.send(new CompleteLayerUploadCommand({ repositoryName: name, uploadId, layerDigests: [sha256(part)] }));
    await expect(complete).rejects.toThrow(expect.objectContaining({ name: 'UploadNotFoundException' }));
    expect(await availability(name, sha256(part))).toBe('UNAVAILABLE');
  }, 60_000);
});
