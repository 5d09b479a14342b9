/**
 * The ECR Public API endpoint: awsJson1_1 over `POST /`. This is the only place that parses requests, applies faults,
 * and serialises answers and errors.
 */
import { randomUUID } from 'crypto';
import { IncomingMessage, ServerResponse } from 'http';
import { parseUploadPartBody } from './api/upload-part-body';
import { EcrPublicError, serializationError } from './errors';
import { FaultInjector } from './faults';
import { readBody } from './http';
import { Context } from './operations/context';
import { OPERATIONS } from './operations/index';
import { RateQuotas } from './rate-quotas';
import { OPERATION_INPUTS } from './shapes';
import { validate } from './validation';

const TARGET_PREFIX = 'SpencerFrontendService.';
/** The only region that serves the whole ECR Public API. */
const API_REGION = 'us-east-1';
/** A 20 MiB part is about 28 MB as base64; anything much larger cannot be a valid request. */
const MAX_BODY_BYTES = 32 * 1024 * 1024;

export class ApiEndpoint {
  constructor(
    private readonly ctx: Context,
    private readonly faults: FaultInjector,
    /** The service's rate quotas, when enforced. @default - no rate limits */
    private readonly quotas?: RateQuotas,
  ) {}

  public async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const requestId = randomUUID();
    const body = await readBody(req, MAX_BODY_BYTES);
    if (this.faults.latencyMs > 0) await new Promise((r) => setTimeout(r, this.faults.latencyMs));
    const fault = this.faults.decide();
    if (fault === 'drop-before') {
      req.socket.destroy();
      return;
    }
    let status = 200;
    let answer: Record<string, unknown>;
    try {
      if (fault === 'throttle') throw new EcrPublicError('ThrottlingException', 'Rate exceeded');
      if (fault === 'server-error') throw new EcrPublicError('ServerException', 'The emulator injected a server-side fault');
      if (body === undefined) throw serializationError(`The request body is larger than ${MAX_BODY_BYTES} bytes`);
      answer = this.dispatch(req, body);
    } catch (err) {
      const error = err instanceof EcrPublicError ? err : new EcrPublicError('ServerException', `Internal error: ${(err as Error).message}`);
      if (!(err instanceof EcrPublicError)) console.error(err);
      status = error.status;
      answer = { __type: error.code, message: error.message, ...error.extra };
    }
    if (fault === 'drop-after') {
      req.socket.destroy();
      return;
    }
    const bytes = Buffer.from(JSON.stringify(answer));
    res.writeHead(status, {
      'Content-Type': 'application/x-amz-json-1.1',
      'Content-Length': String(bytes.length),
      'x-amzn-RequestId': requestId,
      ...(status !== 200 ? { 'x-amzn-ErrorType': String(answer.__type) } : {}),
    });
    res.end(bytes);
  }

  private dispatch(req: IncomingMessage, body: Buffer): Record<string, unknown> {
    const authorization = req.headers.authorization;
    if (!authorization) {
      throw new EcrPublicError('MissingAuthenticationTokenException', 'Missing Authentication Token');
    }
    const target = String(req.headers['x-amz-target'] ?? '');
    const name = target.startsWith(TARGET_PREFIX) ? target.slice(TARGET_PREFIX.length) : undefined;
    const operation = name !== undefined && Object.prototype.hasOwnProperty.call(OPERATIONS, name) ? OPERATIONS[name] : undefined;
    if (!operation || name === undefined) {
      throw new EcrPublicError('UnknownOperationException', `Unknown operation '${target}'`);
    }
    const region = /Credential=[^/]+\/\d{8}\/([^/]+)\//.exec(authorization)?.[1];
    if (region === undefined) {
      throw new EcrPublicError('IncompleteSignatureException', 'The Authorization header must carry a SigV4 credential scope');
    }
    if (region !== API_REGION) {
      throw new EcrPublicError('UnsupportedCommandException',
        `The action isn't supported in this Region (${region}); the ECR Public API is served from ${API_REGION}`);
    }
    // The service throttles at its front door: a throttled call is not looked at further.
    if (this.quotas && !this.quotas.admit(name)) throw new EcrPublicError('ThrottlingException', 'Rate exceeded');
    let parsed: unknown = {};
    if (body.length > 0) {
      // A layer part is read from the bytes (most of the emulator's work is parts); what that reader declines, as usual.
      const part = name === 'UploadLayerPart' ? parseUploadPartBody(body) : undefined;
      try {
        parsed = part ?? JSON.parse(body.toString('utf8'));
      } catch {
        throw serializationError('The request body is not valid JSON');
      }
    }
    const input = validate(OPERATION_INPUTS[name], parsed, '');
    return withoutUndefined(operation(this.ctx, input));
  }
}

/** Members left undefined are absent on the wire. */
function withoutUndefined(value: any): any {
  return JSON.parse(JSON.stringify(value));
}
