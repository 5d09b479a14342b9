/**
 * The private Amazon ECR API's front door (awsJson1_1, `X-Amz-Target: AmazonEC2ContainerRegistry_V20150921.<op>`),
 * reduced to what a Docker image asset's copy needs: GetAuthorizationToken, whose password the registry API takes for
 * pulls from the stand-ins of private repositories (`distribution/stand-in.ts`). Every other operation is unknown here.
 * The password is one of the registry's (`service/public-registry.ts` issues it): one account, one set of passwords.
 */
import { randomUUID } from 'crypto';
import { IncomingMessage, ServerResponse } from 'http';
import { BodyBudget, discardBody, readBoundedBody } from '../http';
import { authenticate, authorizeAccess, ResourceFacts } from '../iam/authorizer';
import { PrincipalDirectory } from '../iam/principals';
import { Context } from '../service/context';
import { ecrError, EcrPublicError, invalidParameter, serializationError } from '../service/errors';
import { getAuthorizationToken } from '../service/public-registry';

export const PRIVATE_ECR_TARGET_PREFIX = 'AmazonEC2ContainerRegistry_V20150921.';
/** GetAuthorizationToken's whole input is at most ten account ids: anything near this size is not a request. */
const MAX_REQUEST_BYTES = 16 * 1024;
const ACCOUNT_ID = /^[0-9]{12}$/;

/** IAM at the door (`serve --iam`): who may sign, and `ecr:GetAuthorizationToken` decided for them. */
export interface PrivateEcrIam {
  readonly principals: PrincipalDirectory;
  readonly facts: ResourceFacts;
}

/** Whether `req` is a call of the private ECR API. */
export function isPrivateEcrCall(req: IncomingMessage): boolean {
  return req.method === 'POST' && String(req.headers['x-amz-target'] ?? '').startsWith(PRIVATE_ECR_TARGET_PREFIX);
}

export class PrivateEcrEndpoint {
  private readonly budget = new BodyBudget(MAX_REQUEST_BYTES * 16);

  constructor(private readonly ctx: Context, private readonly iam?: PrivateEcrIam) {}

  public async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    let status = 200;
    let answer: Record<string, unknown>;
    const read = await readBoundedBody(req, MAX_REQUEST_BYTES, this.budget);
    if (read.outcome === 'aborted') return;
    try {
      if (read.outcome === 'too-large') throw serializationError(`The request body is larger than ${MAX_REQUEST_BYTES} bytes`);
      if (read.outcome !== 'read') throw ecrError('ThrottlingException');
      answer = this.answer(req, read.body);
    } catch (err) {
      const error = err instanceof EcrPublicError ? err : ecrError('ServerException', err as Error);
      if (!(err instanceof EcrPublicError)) console.error(err);
      status = error.status;
      answer = { __type: error.code, message: error.message };
    } finally {
      if (read.outcome === 'read') read.release();
    }
    const bytes = Buffer.from(JSON.stringify(answer));
    res.writeHead(status, {
      'Content-Type': 'application/x-amz-json-1.1',
      'Content-Length': String(bytes.length),
      'x-amzn-RequestId': randomUUID(),
      ...(status !== 200 ? { 'x-amzn-ErrorType': String(answer.__type) } : {}),
    });
    res.end(bytes);
    if (read.outcome !== 'read') discardBody(req);
  }

  private answer(req: IncomingMessage, body: Buffer): Record<string, unknown> {
    const authorization = req.headers.authorization;
    if (!authorization) throw ecrError('MissingAuthenticationTokenException');
    const target = String(req.headers['x-amz-target']);
    if (target !== `${PRIVATE_ECR_TARGET_PREFIX}GetAuthorizationToken`) throw ecrError('UnknownOperationException', target);
    // Private ECR is regional: any Region's endpoint answers for its own; the scope must name the service `ecr`.
    if (!/Credential=[^/]+\/\d{8}\/[a-z0-9-]+\/ecr\/aws4_request/.test(authorization)) throw ecrError('IncompleteSignatureException');
    let accessKeyId: string | undefined;
    if (this.iam) {
      const who = authenticate(this.iam.principals, { method: req.method ?? 'POST', target: req.url ?? '/', headers: req.headers, body },
        'ecr', this.ctx.clock.now());
      if (!who.ok) throw ecrError(who.code, who.message);
      const refusal = authorizeAccess(who.caller, { account: this.ctx.accountId }, this.iam.facts,
        { actions: ['ecr:GetAuthorizationToken'], resource: '*' });
      if (refusal) throw ecrError(refusal.code, refusal.message);
      accessKeyId = who.accessKeyId;
    }
    const registryIds = registryIdsOf(body);
    const foreign = registryIds.find((id) => id !== this.ctx.accountId);
    // Strict: the emulator serves one account, whose registry is the only one it can give credentials for.
    if (foreign !== undefined) throw invalidParameter('registryIds', `the emulator serves the registry of account ${this.ctx.accountId} only, not ${foreign}`);
    const issued = getAuthorizationToken(this.ctx, {}, accessKeyId === undefined ? undefined : { accessKeyId });
    const { authorizationToken, expiresAt } = issued.authorizationData as { authorizationToken: string; expiresAt: number };
    const data = { authorizationToken, expiresAt, proxyEndpoint: `http://${this.ctx.host}` };
    return { authorizationData: (registryIds.length > 0 ? registryIds : [this.ctx.accountId]).map(() => data) };
  }
}

/** The request's `registryIds` (deprecated, still honoured): 1 to 10 account ids when present. */
function registryIdsOf(body: Buffer): string[] {
  let input: unknown = {};
  if (body.length > 0) {
    try {
      input = JSON.parse(body.toString('utf8'));
    } catch {
      throw serializationError('The request body is not valid JSON');
    }
  }
  if (typeof input !== 'object' || input === null || Array.isArray(input)) throw serializationError('The request body is not a JSON object');
  const ids = (input as { registryIds?: unknown }).registryIds;
  if (ids === undefined || ids === null) return [];
  if (!Array.isArray(ids) || ids.length < 1 || ids.length > 10 || !ids.every((id) => typeof id === 'string' && ACCOUNT_ID.test(id))) {
    throw invalidParameter('registryIds', 'Member must have length between 1 and 10, each member matching [0-9]{12}');
  }
  return ids as string[];
}
