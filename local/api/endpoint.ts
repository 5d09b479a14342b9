/**
 * The ECR Public API endpoint: awsJson1_1 over `POST /`. This is the only place that parses requests, applies faults,
 * and serialises answers and errors.
 */
import { randomUUID } from 'crypto';
import { IncomingMessage, ServerResponse } from 'http';
import { FaultInjector } from '../faults';
import { BodyBudget, BodyRead, DEFAULT_BODY_PACE, discardBody, readBoundedBody } from '../http';
import { RateQuotas } from '../rate-quotas';
import { jsonCostProblem } from './json-limits';
import { OPERATION_INPUTS } from './shapes';
import { parseUploadPartBody } from './upload-part-body';
import { validate } from './validation';
import { authenticate, authorizeOperation, ResourceFacts } from '../iam/authorizer';
import { Caller } from '../iam/evaluate';
import { PrincipalDirectory } from '../iam/principals';
import { Context, Operation } from '../service/context';
import { ecrError, EcrPublicError, serializationError } from '../service/errors';
import { OPERATIONS } from '../service/operations';

const TARGET_PREFIX = 'SpencerFrontendService.';
/** The only region that serves the whole ECR Public API. */
const API_REGION = 'us-east-1';
/**
 * The largest legal request, with room to spare: UploadLayerPart with a 20,971,520-byte part is 27,962,028 characters
 * of base64 plus a few hundred of other members. A larger body cannot be a valid request.
 */
export const MAX_REQUEST_BYTES = 28 * 1024 * 1024;

/** The operation a request's headers name, checked before its body is read. */
interface Target {
  readonly name: string;
  readonly operation: Operation;
}

/** IAM at the front door (`serve --iam`): who may sign, and what the registry's state says of each repository. */
export interface ApiIam {
  readonly principals: PrincipalDirectory;
  readonly facts: ResourceFacts;
}

export class ApiEndpoint {
  constructor(
    private readonly ctx: Context,
    private readonly faults: FaultInjector,
    private readonly budget: BodyBudget,
    /** The service's rate quotas, when enforced. @default - no rate limits */
    private readonly quotas?: RateQuotas,
    /** Signatures verified and IAM evaluated on every call. @default - any SigV4-shaped credentials are taken */
    private readonly iam?: ApiIam,
  ) {}

  public async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const requestId = randomUUID();
    // Authentication and routing need the headers only: a request refused by them is answered without reading its body.
    let target: Target | EcrPublicError;
    try {
      target = this.route(req);
    } catch (err) {
      if (!(err instanceof EcrPublicError)) throw err;
      target = err;
    }
    // A body of undeclared length could only be held by reading it all: the API takes declared lengths only (the SDKs
    // and the AWS CLI always declare one), so the budget is taken at once, before a byte is read.
    const undeclared = req.headers['content-length'] === undefined && req.headers['transfer-encoding'] !== undefined;
    if (!(target instanceof EcrPublicError) && undeclared) {
      target = ecrError('LengthRequiredException');
    }
    // Undefined: refused from the headers, the body is not read.
    const read = target instanceof EcrPublicError
      ? undefined
      : await readBoundedBody(req, MAX_REQUEST_BYTES, this.budget);
    if (read?.outcome === 'aborted') return;
    try {
      await this.answer(req, res, requestId, target, read);
    } finally {
      if (read?.outcome === 'read') read.release();
    }
  }

  private async answer(req: IncomingMessage, res: ServerResponse, requestId: string, target: Target | EcrPublicError,
    read: BodyRead | undefined): Promise<void> {
    if (this.faults.latencyMs > 0) await new Promise((r) => setTimeout(r, this.faults.latencyMs));
    const fault = this.faults.decide();
    if (fault === 'drop-before') {
      req.socket.destroy();
      return;
    }
    let status = 200;
    let answer: Record<string, unknown>;
    try {
      if (fault === 'throttle') throw ecrError('ThrottlingException');
      if (fault === 'server-error') throw ecrError('ServerException', 'injected');
      if (target instanceof EcrPublicError || read === undefined) throw target;
      if (read.outcome === 'too-large') throw serializationError(`The request body is larger than ${MAX_REQUEST_BYTES} bytes, the largest valid request`);
      if (read.outcome === 'slow') {
        throw ecrError('RequestTimeoutException', DEFAULT_BODY_PACE.minBytes, DEFAULT_BODY_PACE.windowMs / 1000);
      }
      if (read.outcome !== 'read') {
        throw ecrError('ThrottlingException', this.budget.totalBytes);
      }
      answer = this.dispatch(target, read.body, this.authenticated(req, read.body));
    } catch (err) {
      const error = err instanceof EcrPublicError ? err : ecrError('ServerException', err as Error);
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
    // A body too slow to wait for is not read to its end either: the connection goes with the answer.
    if (read?.outcome === 'slow') {
      res.end(bytes, () => req.socket.destroy());
      return;
    }
    res.end(bytes);
    if (read?.outcome !== 'read') discardBody(req);
  }

  /** Authentication, operation and region, from the headers alone. */
  private route(req: IncomingMessage): Target {
    const authorization = req.headers.authorization;
    if (!authorization) {
      throw ecrError('MissingAuthenticationTokenException');
    }
    const target = String(req.headers['x-amz-target'] ?? '');
    const name = target.startsWith(TARGET_PREFIX) ? target.slice(TARGET_PREFIX.length) : undefined;
    const operation = name !== undefined && Object.prototype.hasOwnProperty.call(OPERATIONS, name) ? OPERATIONS[name] : undefined;
    if (!operation || name === undefined) {
      throw ecrError('UnknownOperationException', target);
    }
    const region = /Credential=[^/]+\/\d{8}\/([^/]+)\//.exec(authorization)?.[1];
    if (region === undefined) {
      throw ecrError('IncompleteSignatureException');
    }
    if (region !== API_REGION) {
      throw ecrError('UnsupportedCommandException', region, API_REGION);
    }
    // The service throttles at its front door: a throttled call is not looked at further (its body is not read).
    if (this.quotas && !this.quotas.admit(name)) throw ecrError('ThrottlingException');
    return { name, operation };
  }

  /** Under IAM, who signed the request (its signature verified before its body is parsed); else nobody is asked. */
  private authenticated(req: IncomingMessage, body: Buffer): (Caller & { readonly accessKeyId: string }) | undefined {
    if (!this.iam) return undefined;
    const who = authenticate(this.iam.principals, { method: req.method ?? 'POST', target: req.url ?? '/', headers: req.headers, body },
      'ecr-public', this.ctx.clock.now());
    if (!who.ok) throw ecrError(who.code, who.message);
    return { ...who.caller, accessKeyId: who.accessKeyId };
  }

  private dispatch(target: Target, body: Buffer, caller: (Caller & { readonly accessKeyId: string }) | undefined): Record<string, unknown> {
    let parsed: unknown = {};
    if (body.length > 0) {
      // A layer part is read from the bytes (most of the emulator's work is parts); what that reader declines, as usual.
      const part = target.name === 'UploadLayerPart' ? parseUploadPartBody(body) : undefined;
      if (part === undefined) {
        const problem = jsonCostProblem(body);
        if (problem !== undefined) throw serializationError(problem);
      }
      try {
        parsed = part ?? JSON.parse(body.toString('utf8'));
      } catch {
        throw serializationError('The request body is not valid JSON');
      }
    }
    // IAM decides before the input is checked, as the service does: a caller without the permission learns nothing more.
    if (this.iam && caller) {
      const refusal = authorizeOperation(caller, { account: this.ctx.accountId }, this.iam.facts, target.name,
        (typeof parsed === 'object' && parsed !== null ? parsed : {}) as Record<string, unknown>);
      if (refusal) throw ecrError(refusal.code, refusal.message);
    }
    const input = validate(OPERATION_INPUTS[target.name], parsed, '');
    // One change: stored before it is answered, or undone whole (the store's transaction).
    const call = caller ? { accessKeyId: caller.accessKeyId } : undefined;
    return withoutUndefined(this.ctx.store.transaction(() => target.operation(this.ctx, input, call)));
  }
}

/** Members left undefined are absent on the wire. */
function withoutUndefined(value: any): any {
  return JSON.parse(JSON.stringify(value));
}
