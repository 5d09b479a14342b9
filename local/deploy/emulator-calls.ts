/**
 * The local tools' own calls to an emulator (deployer side): the ECR Public API (`SpencerFrontendService.<Op>`) and
 * the emulator's control API (`EcrPublicLocal.<Op>`: principals and their credentials), awsJson over `POST /`,
 * SigV4-signed with the root credentials the tools were given (an emulator under `--iam` verifies them; one without
 * takes any), and retried as the handlers' SDK clients retry theirs (`retry.ts`).
 */
import * as http from 'http';
import type { IncomingHttpHeaders } from 'http';
import { withRetries } from './retry';
import { signRequest, SigningCredentials } from '../iam/sigv4';

/** The root key pair of `serve --iam` unless `--root-credentials` changed it. */
export const DEFAULT_ROOT_CREDENTIALS: SigningCredentials = { accessKeyId: 'local', secretAccessKey: 'local' };

/** Who the tools call as, and where. */
export interface EmulatorTarget {
  readonly endpoint: string;
  readonly credentials: SigningCredentials;
}

export class EmulatorApiError extends Error {
  constructor(public readonly code: string, message: string, public readonly status: number) {
    super(`${code}: ${message}`);
  }
}

/** No answer: the connection failed, dropped or timed out. */
class NoAnswerError extends Error {}

/** How long a call may take, and how large an answer may be (the largest, DescribeImages pages, are far smaller). */
const CALL_TIMEOUT_MS = 10_000;
const MAX_ANSWER_BYTES = 16 * 1024 * 1024;

/** The API (target prefix, signing name) a call goes to. */
const APIS = {
  'ecr-public': { prefix: 'SpencerFrontendService.', service: 'ecr-public' },
  // The private ECR API (GetAuthorizationToken of the stand-ins for the bootstrap's image repositories).
  'ecr': { prefix: 'AmazonEC2ContainerRegistry_V20150921.', service: 'ecr' },
  'control': { prefix: 'EcrPublicLocal.', service: 'ecr-public-local' },
} as const;

/** What the handlers' SDK clients retry: throttling, server errors, and calls that got no answer. */
function isTransient(err: unknown): boolean {
  if (err instanceof NoAnswerError) return true;
  return err instanceof EmulatorApiError && (err.status >= 500 || err.status === 429 || /Throttl|TooManyRequests|RequestLimitExceeded/.test(err.code));
}

/**
 * One call of `operation` of `api` at `target`, signed for `region` (ECR Public's API and the control API answer in
 * us-east-1 only; the private ECR API in the stack's Region), retried as the handlers retry theirs.
 */
export function callEmulator(target: EmulatorTarget, api: keyof typeof APIS, operation: string, input: object, region = 'us-east-1'): Promise<unknown> {
  return withRetries(() => callOnce(target, api, operation, input, region), isTransient);
}

async function callOnce(target: EmulatorTarget, api: keyof typeof APIS, operation: string, input: object, region: string): Promise<unknown> {
  const { prefix, service } = APIS[api];
  const body = JSON.stringify(input);
  const headers = { 'content-type': 'application/x-amz-json-1.1', 'x-amz-target': `${prefix}${operation}` };
  const signed = signRequest({ method: 'POST', url: `${target.endpoint}/`, headers, body }, target.credentials, service, region, Date.now() / 1000);
  const { status, text } = await post(target.endpoint, operation, { ...headers, ...signed }, body);
  const res = { status, ok: status >= 200 && status < 300 };
  let parsed: any;
  try {
    parsed = JSON.parse(text);
  } catch {
    // A server error answered without a JSON body is still a server error (retried); anything else is not the API.
    if (res.status >= 500) throw new EmulatorApiError(`HTTP ${res.status}`, text.slice(0, 120), res.status);
    throw new Error(`${target.endpoint} is not an ECR Public emulator (${operation} answered HTTP ${res.status}: ${text.slice(0, 120)})`);
  }
  if (!res.ok) throw new EmulatorApiError(String(parsed.__type ?? `HTTP ${res.status}`).split('#').pop()!, String(parsed.message ?? ''), res.status);
  return parsed;
}

/**
 * POSTs `body` to `endpoint` (plain `http`: the deployer's start-up does not load a fetch implementation for its few
 * calls); the status and the answer's text. No answer (a refused or dropped connection, a timeout) is a
 * {@link NoAnswerError}; an answer beyond {@link MAX_ANSWER_BYTES} an error that is not retried.
 */
function post(endpoint: string, operation: string, headers: Record<string, string>, body: string): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    const noAnswer = (why: string): void => reject(new NoAnswerError(why));
    const req = http.request(`${endpoint}/`, { method: 'POST', headers: { ...headers, 'content-length': String(Buffer.byteLength(body)) }, timeout: CALL_TIMEOUT_MS }, (res) => {
      const chunks: Buffer[] = [];
      let size = 0;
      res.on('data', (chunk: Buffer) => {
        size += chunk.length;
        if (size > MAX_ANSWER_BYTES) {
          // Not what the API answers, and not retried: another would be as large.
          reject(new Error(`The answer of ${endpoint} to ${operation} is larger than ${MAX_ANSWER_BYTES} bytes`));
          req.destroy();
        } else {
          chunks.push(chunk);
        }
      });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8') }));
      res.on('error', (err) => noAnswer(`The answer of ${endpoint} to ${operation} broke off: ${err.message}`));
      res.on('close', () => {
        if (!res.complete) noAnswer(`The answer of ${endpoint} to ${operation} broke off`);
      });
    });
    req.on('timeout', () => req.destroy(new Error(`no answer within ${CALL_TIMEOUT_MS / 1000} s`)));
    req.on('error', (err) => noAnswer(`No ECR Public emulator answers at ${endpoint}: ${err.message}`));
    req.end(body);
  });
}

/**
 * A request's headers as the control API's authorization operations take them (a signed request the deployer received,
 * forwarded for the emulator to verify): each as one string, in an object without a prototype (the names are the
 * client's).
 */
export function forwardedHeaders(headers: IncomingHttpHeaders): Record<string, string> {
  const out: Record<string, string> = Object.create(null);
  for (const [name, value] of Object.entries(headers)) {
    if (value !== undefined) out[name] = Array.isArray(value) ? value.join(',') : value;
  }
  return out;
}
