/**
 * Lambda's `Invoke` with `InvocationType: Event` (an asynchronous invocation), signed with SigV4 for the credentials
 * of the function's role: the one Lambda call a handler makes (the image publisher continuing in a new run of its own
 * function). A request of its own rather than `@aws-sdk/client-lambda`, which is not among the project's dependencies:
 * `POST /2015-03-31/functions/<name>/invocations` with `X-Amz-Invocation-Type: Event`, answered 202.
 * The endpoint is `AWS_ENDPOINT_URL_LAMBDA` when set (the local deployer's), as the SDK would take it.
 * @see https://docs.aws.amazon.com/lambda/latest/api/API_Invoke.html
 */
import { createHash, createHmac, Hash, Hmac } from 'crypto';
// The SDK clients' own credential chain and signer (the versions @aws-sdk/client-ecr-public uses), bundled with them.
import { defaultProvider } from '@aws-sdk/credential-provider-node';
import { SignatureV4 } from '@smithy/signature-v4';
import type { SourceData } from '@smithy/types';
import { log } from './log';
import { retry } from './retry';

/** Lambda's largest asynchronous payload (256 KB). */
export const MAX_EVENT_PAYLOAD_BYTES = 256 * 1024;

const ATTEMPTS = 4;
const RETRY_BASE_MS = 500;
const REQUEST_TIMEOUT_MS = 30_000;

/** An Invoke refused by Lambda: `name` is its error type (`AccessDeniedException`, `ResourceNotFoundException`, ...). */
export class LambdaInvokeError extends Error {
  constructor(name: string, message: string, public readonly status: number) {
    super(message);
    this.name = name;
  }
}

/** Queues `payload` for an asynchronous run of the function `functionArn`; resolves once Lambda accepted it (202). */
export async function invokeAsync(functionArn: string, payload: unknown): Promise<void> {
  const arn = /^arn:(aws[a-z-]*):lambda:([a-z0-9-]+):\d{12}:function:[A-Za-z0-9_-]+(:[A-Za-z0-9$_-]+)?$/.exec(functionArn);
  if (!arn) throw new Error(`'${functionArn}' is not the ARN of a Lambda function`);
  const region = arn[2];
  const body = JSON.stringify(payload);
  if (Buffer.byteLength(body) > MAX_EVENT_PAYLOAD_BYTES) {
    throw new LambdaInvokeError('RequestTooLargeException',
      `the event is ${Buffer.byteLength(body)} bytes; Lambda queues asynchronous events of at most ${MAX_EVENT_PAYLOAD_BYTES}`, 413);
  }
  const endpoint = new URL(process.env.AWS_ENDPOINT_URL_LAMBDA || `https://lambda.${region}.${arn[1] === 'aws-cn' ? 'amazonaws.com.cn' : 'amazonaws.com'}`);
  const signer = new SignatureV4({ service: 'lambda', region, credentials: defaultProvider(), sha256: NodeSha256, applyChecksum: false });
  const path = `${endpoint.pathname.replace(/\/+$/, '')}/2015-03-31/functions/${encodeURIComponent(functionArn)}/invocations`;
  const { outcome } = await retry<Response>({
    attempts: ATTEMPTS,
    baseMs: RETRY_BASE_MS,
    jitter: true,
    retryable: (o) => !o.ok || o.value.status === 429 || o.value.status >= 500,
    beforeRetry: async (o, attempt) => {
      log({ invokeRetry: attempt, error: o.ok ? `HTTP ${o.value.status}` : String(o.error) });
      if (o.ok) await o.value.arrayBuffer();
    },
  }, async () => {
    const signed = await signer.sign({
      method: 'POST',
      protocol: endpoint.protocol,
      hostname: endpoint.hostname,
      port: endpoint.port ? Number(endpoint.port) : undefined,
      path,
      query: {},
      headers: { 'host': endpoint.host, 'content-type': 'application/json', 'x-amz-invocation-type': 'Event' },
      body,
    });
    const { host: _host, ...headers } = signed.headers;
    return fetch(new URL(path, endpoint), { method: 'POST', headers, body, signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS) });
  });
  if (!outcome.ok) throw outcome.error instanceof Error ? outcome.error : new Error(String(outcome.error));
  const res = outcome.value;
  const text = await res.text();
  if (res.status === 202) return;
  let type = res.headers.get('x-amzn-errortype')?.split(':')[0];
  let message = text;
  try {
    const parsed = JSON.parse(text) as { Type?: string; __type?: string; message?: string; Message?: string };
    type ??= parsed.__type ?? parsed.Type;
    message = parsed.message ?? parsed.Message ?? text;
  } catch {
    // Not JSON: the body as it came.
  }
  throw new LambdaInvokeError(type ?? `HTTP${res.status}`, `Invoke of ${functionArn} was answered HTTP ${res.status}: ${message}`, res.status);
}

/** SHA-256 (and its HMAC) as the signer wants it, from Node's crypto. */
class NodeSha256 {
  private readonly hash: Hash | Hmac;

  constructor(secret?: SourceData) {
    this.hash = secret === undefined ? createHash('sha256') : createHmac('sha256', bytesOf(secret));
  }

  public update(data: SourceData): void {
    this.hash.update(bytesOf(data));
  }

  public async digest(): Promise<Uint8Array> {
    return this.hash.digest();
  }

  public reset(): void {
    throw new Error('not supported');
  }
}

function bytesOf(data: SourceData): string | Uint8Array {
  if (typeof data === 'string') return data;
  if (ArrayBuffer.isView(data)) return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  return new Uint8Array(data);
}
