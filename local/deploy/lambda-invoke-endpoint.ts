/**
 * Lambda's `Invoke` for the functions of the stack being deployed (deployer side), served by the deployer's own
 * server and reached by the handlers through `AWS_ENDPOINT_URL_LAMBDA`: `POST /2015-03-31/functions/<name>/invocations`
 * with `X-Amz-Invocation-Type: Event` queues the payload for an asynchronous run (`lambda-runtime.ts`) and answers
 * 202. Under IAM, the emulator decides the call as Lambda would (its control API's `AuthorizeLambdaInvoke`: the
 * signature, then `lambda:InvokeFunction` of the caller's role on the function). Only asynchronous invocations are
 * served: a handler waiting for another would hold its own run.
 * @see https://docs.aws.amazon.com/lambda/latest/api/API_Invoke.html
 */
import { IncomingMessage, ServerResponse } from 'http';
import { callEmulator, EmulatorTarget, forwardedHeaders } from './emulator-calls';
import type { LambdaRuntime } from './lambda-runtime';
import { BodyBudget, decodeSegment, discardBody, readBoundedBody, sendJson } from '../http';
import type { S3Refusal } from '../iam/authorizer';

export const INVOKE_PREFIX = '/2015-03-31/functions/';

/** Lambda's largest asynchronous payload. */
const MAX_ASYNC_PAYLOAD_BYTES = 256 * 1024;

/** Serves Invoke for `runtime`'s functions; with `iam`, each call is decided by that emulator's IAM. */
export function lambdaInvokeEndpoint(runtime: LambdaRuntime, iam: EmulatorTarget | undefined): (req: IncomingMessage, res: ServerResponse) => void {
  const budget = new BodyBudget(4 * MAX_ASYNC_PAYLOAD_BYTES);
  return (req, res) => {
    serve(runtime, iam, budget, req, res).catch((err: unknown) => {
      // The emulator did not answer the authorization: a server error, which the caller's retries cover.
      if (!res.headersSent) sendError(res, 500, 'ServiceException', `The invocation could not be decided: ${err instanceof Error ? err.message : String(err)}`);
      else res.end();
    });
  };
}

async function serve(
  runtime: LambdaRuntime, iam: EmulatorTarget | undefined, budget: BodyBudget, req: IncomingMessage, res: ServerResponse,
): Promise<void> {
  const target = req.url ?? '/';
  const path = target.split('?')[0];
  const match = /^\/2015-03-31\/functions\/([^/]+)\/invocations$/.exec(path);
  const name = match ? decodeSegment(match[1]) : undefined;
  if (req.method !== 'POST' || name === undefined) {
    discardBody(req);
    return sendError(res, 404, 'ResourceNotFoundException', `No Lambda operation at ${req.method} ${path}`);
  }
  const type = String(req.headers['x-amz-invocation-type'] ?? 'RequestResponse');
  if (type !== 'Event') {
    discardBody(req);
    return sendError(res, 400, 'InvalidParameterValueException',
      `The local deployer runs asynchronous invocations only (X-Amz-Invocation-Type: Event), not '${type}'`);
  }
  const read = await readBoundedBody(req, MAX_ASYNC_PAYLOAD_BYTES, budget);
  if (read.outcome === 'aborted') return;
  if (read.outcome === 'too-large') {
    discardBody(req);
    return sendError(res, 413, 'RequestTooLargeException', `The payload is larger than ${MAX_ASYNC_PAYLOAD_BYTES} bytes, Lambda's limit for asynchronous invocations`);
  }
  if (read.outcome !== 'read') {
    discardBody(req);
    return sendError(res, 429, 'TooManyRequestsException', 'The payload was not received in time');
  }
  try {
    if (iam) {
      const headers = forwardedHeaders(req.headers);
      const answer = await callEmulator(iam, 'control', 'AuthorizeLambdaInvoke', {
        method: req.method, target, headers, body: read.body.toString('base64'), functionArn: name,
      }) as { refusal?: S3Refusal };
      if (answer.refusal) return sendError(res, answer.refusal[0], answer.refusal[1], answer.refusal[2]);
    }
    let payload: unknown;
    try {
      payload = read.body.length === 0 ? {} : JSON.parse(read.body.toString('utf8'));
    } catch {
      return sendError(res, 400, 'InvalidRequestContentException', 'Could not parse request body into json');
    }
    if (!runtime.invokeAsync(name, payload)) {
      return sendError(res, 404, 'ResourceNotFoundException', `Function not found: ${name} (the local deployer runs the functions of the stack it deploys, by ARN)`);
    }
    res.writeHead(202, { 'Content-Length': '0' }).end();
  } finally {
    read.release();
  }
}

function sendError(res: ServerResponse, status: number, type: string, message: string): void {
  sendJson(res, status, { Type: 'User', message }, { 'x-amzn-ErrorType': type });
}
