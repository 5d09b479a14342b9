/**
 * The emulator's memory is bounded whatever clients send: 100 connections each sending an endless chunked
 * UploadLayerPart body (with good credentials, so that authentication does not stop them) keep the emulator's peak
 * resident memory under 400 MB, and so do 100 connections declaring a large valid length; every one of them is answered
 * with a 4xx and a body (ThrottlingException when the bytes buffered across requests are at their cap); a second round
 * stays under the same bound (what was taken is released and reused); and the emulator serves normally afterwards. A declared length above the largest
 * valid request, and a request refused by its headers, are answered before their body is sent. A body of undeclared
 * length is refused from the headers (411 LengthRequiredException).
 *
 * The emulator runs as a real process; its memory is read from /proc (`VmHWM` is the kernel's own peak).
 */
import * as path from 'node:path';
import { CreateRepositoryCommand, DescribeRepositoriesCommand, ECRPUBLICClient } from '@aws-sdk/client-ecr-public';
import { holdRequest, HeldRequest, residentMemory, SIGV4_AUTHORIZATION } from './emulator-process';
import { ecrPublicClient, ensureCompiledEmulator, killEmulator, ServedEmulator, serveEmulator } from '../support/emulator-harness';
import { makeTempDir, removeTempDir } from '../support/temp-dirs';

const MB = 1000 * 1000;
const CONNECTIONS = 100;
/** The target of the emulator's peak resident memory under the flood. */
const PEAK_LIMIT = 400 * MB;
/** A client stops sending after this much unanswered (well past the largest valid request, 28 MiB). */
const GIVE_UP_BYTES = 40 * 1024 * 1024;
/** A declared body of a valid size (a 14 MiB part is about 20 MB of JSON). */
const DECLARED = 20 * 1024 * 1024;

let tmp: string;
let served: ServedEmulator;
let client: ECRPUBLICClient;

beforeAll(async () => {
  await ensureCompiledEmulator();
  tmp = makeTempDir('emulator-memory-');
  served = await serveEmulator(path.join(tmp, 'data'));
  client = ecrPublicClient(served.endpoint);
  await client.send(new CreateRepositoryCommand({ repositoryName: 'memory/app' }));
}, 200_000);

afterAll(async () => {
  client?.destroy();
  await killEmulator(served);
  removeTempDir(tmp);
});

function apiHead(extra: string[]): string {
  return ['POST / HTTP/1.1', `Host: ${served.host}`, 'X-Amz-Target: SpencerFrontendService.UploadLayerPart',
    'Content-Type: application/x-amz-json-1.1', ...extra].join('\r\n');
}

/**
 * Sends a body in 256 KiB pieces (chunked framing unless `declared`) until answered, or until `limit` bytes,
 * respecting backpressure. Resolves with the bytes sent.
 */
function sendUntilAnswered(held: HeldRequest, limit: number, declared: boolean): Promise<number> {
  const piece = Buffer.alloc(256 * 1024, 'A');
  const framed = declared ? piece : Buffer.concat([Buffer.from(`${piece.length.toString(16)}\r\n`), piece, Buffer.from('\r\n')]);
  let answered = false;
  return new Promise((resolve) => {
    let sent = 0;
    // The emulator stops reading once it has answered: the answer, not a drain, ends the sending.
    held.answer.finally(() => {
      answered = true;
      resolve(sent);
    }).catch(() => undefined);
    const pump = (): void => {
      while (!answered && !held.socket.destroyed && sent + piece.length <= limit) {
        sent += piece.length;
        if (!held.socket.write(framed)) return void held.socket.once('drain', pump);
      }
      resolve(sent);
    };
    pump();
  });
}

/** Opens `CONNECTIONS` requests with `headers`, sends each body, and returns every answer's `__type` (or what went wrong). */
async function flood(headers: string[], limit: number, declared: boolean): Promise<string[]> {
  const held = await Promise.all(Array.from({ length: CONNECTIONS }, () => holdRequest(served.port, apiHead(headers))));
  await Promise.all(held.map((h) => sendUntilAnswered(h, limit, declared)));
  const answers = await Promise.all(held.map((h) => h.answer.then((a) => a, (err: Error) => ({ status: 0, head: '', body: err.message }))));
  for (const h of held) h.socket.destroy();
  return answers.map((a) => (a.status >= 400 && a.status < 500 ? JSON.parse(a.body).__type : `${a.status} ${a.body}`));
}

test(`${CONNECTIONS} endless chunked bodies and ${CONNECTIONS} large declared ones: peak memory under 400 MB, each answered with a 4xx, memory reused`, async () => {
  const pid = served.child.pid!;

  // Endless chunked bodies: a length the API cannot know is refused from the headers.
  const endless = await flood([`Authorization: ${SIGV4_AUTHORIZATION}`, 'Transfer-Encoding: chunked'], GIVE_UP_BYTES, false);
  expect(endless.filter((k) => k !== 'LengthRequiredException')).toEqual([]);

  // Declared bodies of a valid size: only as many as the budget holds are read; the others are throttled at once.
  const declared = await flood([`Authorization: ${SIGV4_AUTHORIZATION}`, `Content-Length: ${DECLARED}`], DECLARED, true);
  expect(declared.filter((k) => k !== 'ThrottlingException' && k !== 'SerializationException')).toEqual([]);
  expect(declared.filter((k) => k === 'ThrottlingException').length).toBeGreaterThan(CONNECTIONS / 2);
  expect(declared).toContain('SerializationException');

  const peak = residentMemory(pid).peak;
  expect({ peak, under: peak < PEAK_LIMIT }).toEqual({ peak, under: true });

  // What the floods took is released and reused: the same floods again stay under the bound. (The allocator keeps
  // the pages it got from the kernel, so resident memory stays near the peak rather than going back to the start.)
  await flood([`Authorization: ${SIGV4_AUTHORIZATION}`, 'Transfer-Encoding: chunked'], GIVE_UP_BYTES, false);
  await flood([`Authorization: ${SIGV4_AUTHORIZATION}`, `Content-Length: ${DECLARED}`], DECLARED, true);
  const again = residentMemory(pid).peak;
  expect({ again, under: again < PEAK_LIMIT }).toEqual({ again, under: true });
  const repos = await client.send(new DescribeRepositoriesCommand({}));
  expect(repos.repositories?.map((r) => r.repositoryName)).toEqual(['memory/app']);
}, 240_000);

test('a declared length above the largest valid request is refused before its body is sent', async () => {
  const held = await holdRequest(served.port, apiHead([`Authorization: ${SIGV4_AUTHORIZATION}`, `Content-Length: ${1024 * 1024 * 1024}`]));
  const answer = await held.answer;
  held.socket.destroy();
  expect(answer.status).toBe(400);
  expect(JSON.parse(answer.body).__type).toBe('SerializationException');
});

test('a request refused by its headers is answered before its body is sent', async () => {
  const held = await holdRequest(served.port, apiHead([`Content-Length: ${20 * 1024 * 1024}`]));
  const answer = await held.answer;
  held.socket.destroy();
  expect(answer.status).toBe(400);
  expect(JSON.parse(answer.body).__type).toBe('MissingAuthenticationTokenException');
});
