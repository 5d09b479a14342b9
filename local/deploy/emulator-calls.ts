/**
 * The local tools' own calls to an emulator (deployer side): the ECR Public API (`SpencerFrontendService.<Op>`) and
 * the emulator's control API (`EcrPublicLocal.<Op>`: principals and their credentials), awsJson over `POST /`,
 * SigV4-signed with the root credentials the tools were given (an emulator under `--iam` verifies them; one without
 * takes any), and retried as the handlers' SDK clients retry theirs (`retry.ts`).
 */
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
  let res: Response;
  try {
    res = await fetch(`${target.endpoint}/`, { method: 'POST', headers: { ...headers, ...signed }, body, signal: AbortSignal.timeout(10_000) });
  } catch (err) {
    throw new NoAnswerError(`No ECR Public emulator answers at ${target.endpoint}: ${err instanceof Error ? (err.cause as Error | undefined)?.message ?? err.message : String(err)}`);
  }
  let text: string;
  try {
    text = await res.text();
  } catch (err) {
    throw new NoAnswerError(`The answer of ${target.endpoint} to ${operation} broke off: ${err instanceof Error ? err.message : String(err)}`);
  }
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
