/**
 * CloudFormation custom-resource plumbing: the event types, the response PUT to the pre-signed `ResponseURL`, the
 * CREATE_FAILED marker and the logging. Handlers only implement `fn(event) → { physicalResourceId, data }`.
 */
import * as http from 'http';
import * as https from 'https';
import { log } from './log';
import { retry } from './retry';
import { CREATE_FAILED_MARKER } from '../../src/shared/handler-contract';

/** Fields every custom-resource request carries. */
interface BaseEvent<P> {
  readonly ServiceToken: string;
  /** Pre-signed S3 URL the response is PUT to. A secret of sorts: never logged. */
  readonly ResponseURL: string;
  /** `arn:<partition>:cloudformation:<region>:<account>:stack/<name>/<uuid>`. */
  readonly StackId: string;
  readonly RequestId: string;
  readonly LogicalResourceId: string;
  readonly ResourceType: string;
  /** The resource's properties; every scalar arrives as a string. */
  readonly ResourceProperties: P & { readonly ServiceToken: string };
}

/** A `Create` request. */
export interface CreateEvent<P> extends BaseEvent<P> {
  readonly RequestType: 'Create';
}

/** An `Update` request: the properties changed. */
export interface UpdateEvent<P> extends BaseEvent<P> {
  readonly RequestType: 'Update';
  readonly PhysicalResourceId: string;
  readonly OldResourceProperties: P & { readonly ServiceToken: string };
}

/** A `Delete` request: the resource left the template, was replaced, or the stack is being deleted or rolled back. */
export interface DeleteEvent<P> extends BaseEvent<P> {
  readonly RequestType: 'Delete';
  readonly PhysicalResourceId: string;
}

/** Any custom-resource request, discriminated by `RequestType`. */
export type CustomResourceEvent<P> = CreateEvent<P> | UpdateEvent<P> | DeleteEvent<P>;

/** What a handler function returns for a successful request. */
export interface HandlerResult {
  /** A new id on Update tells CloudFormation the resource was replaced: it then sends a Delete for the old id. */
  readonly physicalResourceId: string;
  /** Attributes for `Fn::GetAtt`. */
  readonly data?: Record<string, string>;
  /**
   * Work that must wait until CloudFormation has the response, e.g. removing the mark by which a re-sent request
   * recognises what this one did. Best effort: its failure is logged, the response stands.
   * @default nothing
   */
  readonly afterResponse?: () => Promise<void>;
}

/**
 * Thrown by a handler function whose request another invocation answers (the image publisher hands a long publish
 * over to a new run of its function): nothing is PUT, and the invocation ends without an error, so that Lambda does
 * not send the event again.
 */
export class AnswerDeferred extends Error {
  public readonly name = 'AnswerDeferred';
}

/** What a handler function reads of Lambda's context. */
export interface HandlerContext {
  /** The ARN the function was invoked by (the function's own). */
  readonly invokedFunctionArn: string;
  /** The time left before Lambda stops the run. */
  getRemainingTimeInMillis(): number;
}

/** The JSON document PUT to `ResponseURL`. */
export interface CustomResourceResponse {
  readonly Status: 'SUCCESS' | 'FAILED';
  readonly Reason?: string;
  readonly PhysicalResourceId: string;
  readonly StackId: string;
  readonly RequestId: string;
  readonly LogicalResourceId: string;
  readonly Data?: Record<string, string>;
}

/** CloudFormation rejects response bodies of 4096 bytes and more. */
const MAX_RESPONSE_BYTES = 4095;

/** Attempts of the response PUT: the stack waits up to an hour for a response that never arrives, so try hard. */
const RESPONSE_ATTEMPTS = 5;
const RESPONSE_RETRY_BASE_MS = 250;
const RESPONSE_TIMEOUT_MS = 30_000;

/**
 * Wraps `fn` into a Lambda handler that always answers CloudFormation.
 *
 * A Delete of a resource whose Create failed (physical id `CREATE_FAILED_MARKER`) succeeds without calling `fn`, so a
 * rollback never fails on something that was never created. A failure's reason is `<error name>: <message>`.
 * The returned promise rejects only when the response itself could not be delivered.
 */
export function customResourceHandler<P>(
  fn: (event: CustomResourceEvent<P>, context?: HandlerContext) => Promise<HandlerResult>,
): (event: CustomResourceEvent<P>, context?: HandlerContext) => Promise<void> {
  return async (event, context) => {
    log({ event: redact(event) });
    let response: CustomResourceResponse;
    let afterResponse: (() => Promise<void>) | undefined;
    try {
      const result: HandlerResult = isDeleteOfFailedCreate(event)
        ? { physicalResourceId: event.PhysicalResourceId }
        : await fn(event, context);
      response = buildResponse(event, 'SUCCESS', result.physicalResourceId, undefined, result.data);
      afterResponse = result.afterResponse;
    } catch (err) {
      if (err instanceof AnswerDeferred) {
        log({ outcome: 'DEFERRED', requestType: event.RequestType, reason: err.message });
        return;
      }
      const physicalResourceId = event.RequestType === 'Create' ? CREATE_FAILED_MARKER : event.PhysicalResourceId;
      response = buildResponse(event, 'FAILED', physicalResourceId, describeError(err));
    }
    log({
      outcome: response.Status,
      requestType: event.RequestType,
      physicalResourceId: response.PhysicalResourceId,
      reason: response.Reason,
      data: response.Data,
    });
    await putResponse(event.ResponseURL, JSON.stringify(response));
    if (afterResponse) {
      try {
        await afterResponse();
      } catch (err) {
        log({ warning: 'the work after the response failed', error: describeError(err) });
      }
    }
  };
}

function isDeleteOfFailedCreate<P>(event: CustomResourceEvent<P>): event is DeleteEvent<P> {
  return event.RequestType === 'Delete' && event.PhysicalResourceId === CREATE_FAILED_MARKER;
}

/** `<name>: <message>`: the name is the API's error code, which is what a reader searches the docs for. */
function describeError(err: unknown): string {
  if (err instanceof Error) return `${err.name}: ${err.message}`;
  return `Error: ${String(err)}`;
}

/** Builds the response, cutting the reason so that the whole body stays under CloudFormation's limit. */
function buildResponse<P>(
  event: CustomResourceEvent<P>,
  status: 'SUCCESS' | 'FAILED',
  physicalResourceId: string,
  reason?: string,
  data?: Record<string, string>,
): CustomResourceResponse {
  const base: CustomResourceResponse = {
    Status: status,
    PhysicalResourceId: physicalResourceId,
    StackId: event.StackId,
    RequestId: event.RequestId,
    LogicalResourceId: event.LogicalResourceId,
    ...(data && Object.keys(data).length > 0 ? { Data: data } : {}),
  };
  if (reason === undefined) return base;
  const budget = MAX_RESPONSE_BYTES - jsonBytes({ ...base, Reason: '' });
  return { ...base, Reason: truncateJsonString(reason, budget) };
}

/** Longest prefix of `text` whose JSON-escaped form fits in `budget` bytes (escapes and UTF-8 both cost bytes). */
function truncateJsonString(text: string, budget: number): string {
  const quotes = 2;
  if (jsonBytes(text) - quotes <= budget) return text;
  const ellipsis = ' [truncated]';
  const room = budget - Buffer.byteLength(ellipsis);
  let lo = 0;
  let hi = text.length;
  while (lo < hi) {
    const mid = Math.ceil((lo + hi) / 2);
    if (jsonBytes(safeSlice(text, mid)) - quotes <= room) lo = mid;
    else hi = mid - 1;
  }
  return safeSlice(text, lo) + ellipsis;
}

/** Slices without splitting a surrogate pair, which would serialise as an invalid escape. */
function safeSlice(text: string, end: number): string {
  const code = text.charCodeAt(end - 1);
  return code >= 0xd800 && code <= 0xdbff ? text.slice(0, end - 1) : text.slice(0, end);
}

function jsonBytes(value: unknown): number {
  return Buffer.byteLength(JSON.stringify(value));
}

/**
 * PUTs the response, retrying network errors and 5xx answers. The pre-signed URL is signed without a content type, so
 * the header is sent empty (an HTTP client that adds `text/plain` would have S3 refuse the signature).
 */
async function putResponse(url: string, body: string): Promise<void> {
  const { outcome } = await retry<number>({
    attempts: RESPONSE_ATTEMPTS,
    baseMs: RESPONSE_RETRY_BASE_MS,
    // A 4xx (an expired or altered URL) will not heal by retrying.
    retryable: (o) => !o.ok || o.value >= 500,
    beforeRetry: (o, attempt) => log({ responseRetry: attempt, error: o.ok ? `HTTP ${o.value}` : String(o.error) }),
  }, () => putOnce(url, body));
  if (!outcome.ok) throw outcome.error instanceof Error ? outcome.error : new Error(String(outcome.error));
  if (outcome.value < 200 || outcome.value >= 300) throw new Error(`The response PUT was refused with HTTP ${outcome.value}`);
}

/**
 * One PUT; resolves to the HTTP status, rejects on network errors and timeouts. Plain `http`/`https` (which the SDK
 * loads anyway): `fetch` would load a second HTTP client into every function, for this one request.
 */
function putOnce(url: string, body: string): Promise<number> {
  const target = new URL(url);
  const request = target.protocol === 'https:' ? https.request : http.request;
  return new Promise<number>((resolve, reject) => {
    const req = request(target, {
      method: 'PUT',
      headers: { 'content-type': '', 'content-length': String(Buffer.byteLength(body)) },
      timeout: RESPONSE_TIMEOUT_MS,
    }, (res) => {
      // Drained, so that the connection is released.
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error(`The response PUT got no answer within ${RESPONSE_TIMEOUT_MS / 1000} s`)));
    req.on('error', reject);
    req.end(body);
  });
}

/** The event without `ResponseURL`: a pre-signed URL lets anyone answer for the resource. */
function redact<P>(event: CustomResourceEvent<P>): Omit<CustomResourceEvent<P>, 'ResponseURL'> {
  const { ResponseURL: _url, ...rest } = event;
  return rest;
}
