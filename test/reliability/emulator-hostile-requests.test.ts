/**
 * Requests made to hurt the emulator, and the deployer's own servers, as the emulator runs for users (a real process):
 * - a page in the user's browser reaching the emulator under a name of its own (DNS rebinding) or from its origin;
 * - bodies whose parsing would cost gigabytes (nested arrays, millions of elements), and strings megabytes long;
 * - connections that declare large bodies and send a byte now and then, to starve the uploads of others;
 * - tags that no registry client could pull, and a clock moved past any date.
 * Each test fails on an emulator without the rule it checks.
 */
import { randomBytes } from 'node:crypto';
import * as path from 'node:path';
import { DescribeImagesCommand, DescribeRepositoriesCommand, ECRPUBLICClient, PutImageCommand } from '@aws-sdk/client-ecr-public';
import { holdRequest, HeldRequest, rawRequest, residentMemory, SIGV4_AUTHORIZATION, tearDown } from './emulator-process';
import { DeployerServer } from '../../local/deploy/deployer-server';
import { formatTime } from '../../local/gallery/pages';
import { OCI_MANIFEST } from '../../src/private/oci/media-types';
import { pushOciLayout } from '../support/ecr-push';
import { ecrPublicClient, ensureCompiledEmulator, serveEmulator, ServedEmulator, startInProcess, stopInProcess } from '../support/emulator-harness';
import { readOciLayout } from '../support/oci-layout';
import { makeTempDir } from '../support/temp-dirs';
import { buildImage } from '../support/umoci-images';

const MB = 1000 * 1000;

let tmp: string;
let served: ServedEmulator;
let client: ECRPUBLICClient;

beforeAll(async () => {
  await ensureCompiledEmulator();
  tmp = makeTempDir('emulator-hostile-');
  served = await serveEmulator(path.join(tmp, 'data'));
  client = ecrPublicClient(served.endpoint);
}, 200_000);

afterAll(() => tearDown(client, served, tmp));

/** An API call sent raw, with the headers the SDK sends and `extra` over them. */
function apiCall(operation: string, body: string | Buffer, extra: Record<string, string> = {}): ReturnType<typeof rawRequest> {
  return rawRequest(served.port, 'POST', '/', {
    'X-Amz-Target': `SpencerFrontendService.${operation}`,
    'Content-Type': 'application/x-amz-json-1.1',
    'Authorization': SIGV4_AUTHORIZATION,
    ...extra,
  }, body);
}

async function repositoryNames(): Promise<string[]> {
  return ((await client.send(new DescribeRepositoriesCommand({}))).repositories ?? []).map((r) => r.repositoryName!);
}

describe('only requests naming the emulator itself are served (DNS rebinding, foreign origins)', () => {
  test.each([
    ['a foreign Host', (port: number) => ({ Host: `evil.example:${port}` })],
    ['the right address on another port', () => ({ Host: '127.0.0.1:1' })],
    ['a foreign Origin', () => ({ Origin: 'http://evil.example' })],
    ['the null Origin of a sandboxed page', () => ({ Origin: 'null' })],
  ])('%s: CreateRepository, GetAuthorizationToken and a forced DeleteRepository are refused, nothing changes', async (_what, headersFor) => {
    const fixed: Record<string, string> = headersFor(served.port);
    const before = await repositoryNames();
    for (const [operation, body] of [
      ['CreateRepository', '{"repositoryName":"rebound/app"}'],
      ['GetAuthorizationToken', '{}'],
      ['DeleteRepository', `{"repositoryName":"${before[0] ?? 'rebound/app'}","force":true}`],
    ] as const) {
      const answer = await apiCall(operation, body, fixed);
      expect(answer.status).toBe(403);
      expect(JSON.parse(answer.body.toString('utf8')).message).toMatch(/refused \(only this machine's own clients are served\)/);
    }
    for (const where of ['/v2/', '/gallery/', '/logo/x.png', '/assets/key']) {
      expect((await rawRequest(served.port, 'GET', where, fixed)).status).toBe(403);
    }
    expect(await repositoryNames()).toEqual(before);
  });

  test('the emulator\'s own names are served: 127.0.0.1, localhost and [::1] with its port, and its own origin', async () => {
    for (const host of [`127.0.0.1:${served.port}`, `localhost:${served.port}`, `[::1]:${served.port}`]) {
      const answer = await apiCall('DescribeRepositories', '{}', { Host: host, Origin: `http://${host}` });
      expect(answer.status).toBe(200);
    }
  });
});

describe('the deployer\'s response server answers every request, and only its own', () => {
  test('`//`, a malformed escape, an unknown path and a foreign Host each get a 4xx; the server still answers after', async () => {
    const server = await DeployerServer.start();
    try {
      const port = Number(new URL(server.endpoint).port);
      const expected = server.expectResponse('req-1');
      expect((await rawRequest(port, 'PUT', '//', {}, '{}')).status).toBe(404);
      expect((await rawRequest(port, 'PUT', '/_cfn-response/%', {}, '{}')).status).toBe(400);
      expect((await rawRequest(port, 'PUT', '/_cfn-response/%E0%A4%A', {}, '{}')).status).toBe(400);
      expect((await rawRequest(port, 'PUT', '/_cfn-response/req-1', { Host: `evil.example:${port}` }, '{}')).status).toBe(403);
      expect((await rawRequest(port, 'PUT', '/_cfn-response/req-1', {}, '{"Status":"SUCCESS"}')).status).toBe(200);
      expect((await expected.response).body).toEqual({ Status: 'SUCCESS' });
    } finally {
      await server.stop();
    }
  });
});

describe('parsing costs what a request can legitimately cost', () => {
  test('two bodies of 26.7 MiB of nested arrays, and one of a million elements, are refused; the peak memory stays low', async () => {
    const nested = Buffer.alloc(28_000_000, '[');
    const flat = Buffer.from(`{"repositoryNames":[${'"a",'.repeat(1_000_000)}"a"]}`);
    const answers = await Promise.all([apiCall('DescribeRepositories', nested), apiCall('DescribeRepositories', nested), apiCall('DescribeRepositories', flat)]);
    for (const answer of answers) {
      expect(answer.status).toBe(400);
      expect(JSON.parse(answer.body.toString('utf8')).__type).toBe('SerializationException');
    }
    expect(JSON.parse(answers[0].body.toString('utf8')).message).toMatch(/nests arrays and objects more than 16 deep/);
    expect(JSON.parse(answers[2].body.toString('utf8')).message).toMatch(/holds more than 20000 values/);
    // The emulator held the bodies (the budget's 64 MiB) and nothing parsed from them.
    expect(residentMemory(served.child.pid!).peak).toBeLessThan(400 * MB);
  }, 60_000);

  test('a string of 26 MB where the model allows 205 characters is refused without being counted character by character', async () => {
    const answer = await apiCall('CreateRepository', `{"repositoryName":"${'a'.repeat(26_000_000)}"}`);
    expect(answer.status).toBe(400);
    expect(JSON.parse(answer.body.toString('utf8')).message).toMatch(/repositoryName' failed to satisfy constraint: 'must have length less than or equal to 205'/);
    expect(residentMemory(served.child.pid!).peak).toBeLessThan(400 * MB);
  }, 60_000);
});

describe('slow bodies cannot starve the uploads of others', () => {
  test('three connections declaring 20 MiB and sending a byte now and then: a 24 MiB layer still uploads; they are answered 408 and closed', async () => {
    const held: HeldRequest[] = [];
    for (let i = 0; i < 3; i++) {
      const request = await holdRequest(served.port, ['POST / HTTP/1.1', `Host: ${served.host}`, 'X-Amz-Target: SpencerFrontendService.UploadLayerPart',
        'Content-Type: application/x-amz-json-1.1', `Authorization: ${SIGV4_AUTHORIZATION}`, `Content-Length: ${20 * 1024 * 1024}`].join('\r\n'));
      request.socket.write('{');
      held.push(request);
    }
    const drip = setInterval(() => held.forEach((h) => h.socket.writable && h.socket.write(' ')), 1000);
    try {
      const layout = path.join(tmp, 'big');
      await buildImage(layout, { tag: 'big', files: { 'noise.bin': randomBytes(24 * 1024 * 1024) } });
      await ecrCreate('slow/app');
      const digest = await pushOciLayout(client, 'slow/app', layout, { tag: 'big' });
      expect(digest).toBe(readOciLayout(layout, 'big').root.digest);
      for (const h of held) {
        const answer = await h.answer;
        expect(answer.status).toBe(408);
        expect(answer.body).toMatch(/RequestTimeoutException/);
      }
    } finally {
      clearInterval(drip);
      held.forEach((h) => h.socket.destroy());
    }
  }, 120_000);
});

async function ecrCreate(name: string): Promise<void> {
  const answer = await apiCall('CreateRepository', JSON.stringify({ repositoryName: name }));
  expect(answer.status).toBe(200);
}

describe('tags and times that no client could read are never stored', () => {
  test('PutImage refuses tags the registry API could not serve (a/b, a:b, x y, .hidden, 129 characters)', async () => {
    await ecrCreate('tags/app');
    const manifest = JSON.stringify({
      schemaVersion: 2,
      mediaType: OCI_MANIFEST,
      config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: `sha256:${'0'.repeat(64)}`, size: 2 },
      layers: [],
    });
    for (const tag of ['a/b', 'a:b', 'x y', '.hidden', 'x'.repeat(129)]) {
      await expect(client.send(new PutImageCommand({ repositoryName: 'tags/app', imageManifest: manifest, imageManifestMediaType: OCI_MANIFEST, imageTag: tag })))
        .rejects.toMatchObject({ name: 'InvalidParameterException', message: expect.stringMatching(/imageTag' failed to satisfy constraint: 'must satisfy regular expression/) });
    }
    expect((await client.send(new DescribeImagesCommand({ repositoryName: 'tags/app' }))).imageDetails ?? []).toEqual([]);
  });

  test('a clock offset that would leave the years a date can hold is refused, at start and when moved', async () => {
    await expect(startInProcess({ clockOffsetSeconds: 1e13 })).rejects.toThrow(/outside 1970-01-01T00:00:00Z to 9999-12-31T23:59:59Z/);
    const h = await startInProcess();
    try {
      expect(() => h.emu.setClockOffset(-1e12)).toThrow(/outside 1970-01-01/);
      expect(() => h.emu.setClockOffset(365 * 24 * 3600)).not.toThrow();
    } finally {
      await stopInProcess(h);
    }
    // A time stored by an older emulator that no date can hold reads 'unknown' on the Gallery page instead of a 500.
    expect(formatTime(1e20)).toBe('unknown');
    expect(formatTime(0)).toBe('1970-01-01 00:00:00 UTC');
  });
});
