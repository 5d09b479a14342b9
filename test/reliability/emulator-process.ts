/**
 * What the emulator's hardening tests do to an emulator served as a real process (started and killed by
 * `test/support/emulator-harness.ts`): its memory read from /proc; raw HTTP requests whose path is sent exactly as
 * written and whose body can be held back or sent without end; the push set-up and the tear-down of a suite.
 */
import * as fs from 'node:fs';
import { request } from 'node:http';
import * as net from 'node:net';
import { CreateRepositoryCommand, ECRPUBLICClient } from '@aws-sdk/client-ecr-public';
import { killEmulator, loginPassword, primaryRegistryAlias, ServedEmulator } from '../support/emulator-harness';
import { removeTempDir } from '../support/temp-dirs';

/** Resident memory of a process from /proc: now (`VmRSS`) and its peak so far (`VmHWM`), in bytes. */
export function residentMemory(pid: number): { rss: number; peak: number } {
  const status = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
  const kib = (field: string): number => Number(new RegExp(`^${field}:\\s+(\\d+) kB$`, 'm').exec(status)?.[1] ?? NaN) * 1024;
  return { rss: kib('VmRSS'), peak: kib('VmHWM') };
}

/** An answer read off a raw socket. */
export interface RawAnswer {
  readonly status: number;
  readonly headers: Record<string, string | string[] | undefined>;
  readonly body: Buffer;
}

/**
 * One HTTP request with `path` sent byte for byte (no normalisation of `.` segments or escapes, as fetch would do).
 * Rejects when the connection closes without an answer.
 */
export function rawRequest(port: number, method: string, requestPath: string, headers: Record<string, string> = {},
  body?: Buffer | string): Promise<RawAnswer> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, method, path: requestPath, headers, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(body);
  });
}

/** A request over a plain socket whose body the test writes when it chooses (or without end). */
export interface HeldRequest {
  readonly socket: net.Socket;
  /** Resolves with the raw answer text once a complete answer (headers and Content-Length bytes) arrived. */
  readonly answer: Promise<{ status: number; head: string; body: string }>;
  /** Whether the server closed the connection before a complete answer. */
  readonly closedEarly: () => boolean;
}

/** Sends `head` (request line and headers, without the blank line) and returns the open socket. */
export function holdRequest(port: number, head: string): Promise<HeldRequest> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, '127.0.0.1');
    let received = Buffer.alloc(0);
    let answered = false;
    let closedEarly = false;
    const answer = new Promise<{ status: number; head: string; body: string }>((ok, fail) => {
      const tryParse = () => {
        const end = received.indexOf('\r\n\r\n');
        if (end < 0) return;
        const headText = received.subarray(0, end).toString('latin1');
        const length = Number(/^content-length:\s*(\d+)/im.exec(headText)?.[1] ?? 0);
        if (received.length - end - 4 < length) return;
        answered = true;
        ok({ status: Number(headText.split(' ')[1]), head: headText, body: received.subarray(end + 4, end + 4 + length).toString('utf8') });
      };
      socket.on('data', (c: Buffer) => {
        received = Buffer.concat([received, c]);
        if (!answered) tryParse();
      });
      socket.on('close', () => {
        if (!answered) {
          closedEarly = true;
          fail(new Error(`connection closed without an answer (got ${JSON.stringify(received.toString('latin1').slice(0, 200))})`));
        }
      });
    });
    answer.catch(() => undefined);
    socket.on('error', () => undefined);
    socket.once('connect', () => {
      socket.write(`${head}\r\n\r\n`);
      resolve({ socket, answer, closedEarly: () => closedEarly });
    });
    socket.once('error', reject);
  });
}

/** A SigV4-shaped Authorization header as the SDK sends it (the emulator checks the scope, not the signature). */
export const SIGV4_AUTHORIZATION = 'AWS4-HMAC-SHA256 Credential=AKIDLOCAL/20260101/us-east-1/ecr-public/aws4_request, SignedHeaders=host, Signature=00';

/** A first repository (the registry's alias exists from then on), and what registry pushes need: the alias and a password. */
export async function pushSetup(client: ECRPUBLICClient, repositoryName: string): Promise<{ alias: string; password: string }> {
  await client.send(new CreateRepositoryCommand({ repositoryName }));
  return { alias: await primaryRegistryAlias(client), password: await loginPassword(client) };
}

/** Stops what a suite started: its client, its emulator process and its temporary directory. */
export async function tearDown(client: ECRPUBLICClient | undefined, served: ServedEmulator | undefined, tmp: string | undefined): Promise<void> {
  client?.destroy();
  await killEmulator(served);
  removeTempDir(tmp);
}
