/**
 * The emulator's control API (emulator side; AWS has no counterpart): how the local tools tell a running emulator which
 * roles and users a deployed app declares, and get credentials for them, as IAM and STS would give them. awsJson over
 * `POST /` with `X-Amz-Target: EcrPublicLocal.<Operation>`, SigV4-signed for the service `ecr-public-local` by the
 * root of the emulator's account (only it may call). Under `serve` without `--iam` only `Describe` answers (it says
 * so); the rest are refused with `IamNotEnabledException`.
 *
 * - `Describe {}` → `{ account, iam }`
 * - `DefinePrincipal { arn, policies: [{ name, document }], tags? }` → `{}`: adds or replaces a role or user with its
 *   identity policies (each parsed as IAM would, refused with `MalformedPolicyDocumentException` naming it)
 * - `RemovePrincipal { arn }` → `{}`
 * - `IssueCredentials { arn, sessionName?, durationSeconds? }` → `{ accessKeyId, secretAccessKey, sessionToken?,
 *   expiration? }`: temporary credentials of a role or user; a key pair for `arn:aws:iam::<account>:root` of another
 *   account
 * - `AuthorizeS3Read { method, target, headers, bucket, key }` → `{ refusal? }`: whether S3 would serve that signed read
 *   (`[status, code, message]` when not): the deployer's asset server, which serves the assembly's assets in a process of
 *   its own, asks the emulator's IAM here
 * - `AuthorizeLambdaInvoke { method, target, headers, body, functionArn }` → `{ refusal? }`: whether Lambda would take
 *   that signed Invoke (`body` in base64, for the signature's payload hash; `[status, code, message]` when not): the
 *   local deployer's Lambda Invoke endpoint, through which a handler invokes a function of its stack, asks here
 */
import { IncomingMessage, ServerResponse } from 'http';
import { Clock } from '../clock';
import { BodyBudget, discardBody, readBoundedBody, sendJson } from '../http';
import { authenticate, lambdaInvokeRefusal, s3ReadRefusal } from '../iam/authorizer';
import { parsePolicy, Policy, PolicyError } from '../iam/policy';
import { PrincipalDirectory, rootArn, SESSION_SECONDS } from '../iam/principals';
import { ReceivedRequest } from '../iam/sigv4';

export const CONTROL_TARGET_PREFIX = 'EcrPublicLocal.';
/** The service name the control API's calls are signed for. */
export const CONTROL_SERVICE = 'ecr-public-local';
/** Room for a role with many large inline policies (IAM allows 10,240 characters of inline policy per role). */
const MAX_BODY_BYTES = 1024 * 1024;
/** Shortest and longest sessions STS gives (`DurationSeconds`). */
const MIN_SESSION_SECONDS = 900;

class ControlError extends Error {
  constructor(public readonly code: string, message: string, public readonly status = 400) {
    super(message);
  }
}

type Input = Readonly<Record<string, unknown>>;

export class ControlEndpoint {
  private readonly budget = new BodyBudget(4 * MAX_BODY_BYTES);

  constructor(
    private readonly account: string,
    private readonly clock: Clock,
    /** Undefined when IAM is off. */
    private readonly principals: PrincipalDirectory | undefined,
  ) {}

  public async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const read = await readBoundedBody(req, MAX_BODY_BYTES, this.budget);
    if (read.outcome === 'aborted') return;
    try {
      if (read.outcome === 'too-large') throw new ControlError('SerializationException', `The request body is larger than ${MAX_BODY_BYTES} bytes`);
      if (read.outcome !== 'read') throw new ControlError('ThrottlingException', 'The request body was not received in time', 429);
      const operation = String(req.headers['x-amz-target']).slice(CONTROL_TARGET_PREFIX.length);
      if (operation === 'Describe') return sendJson(res, 200, { account: this.account, iam: this.principals !== undefined });
      const principals = this.principals;
      if (principals === undefined) throw new ControlError('IamNotEnabledException', 'IAM is not evaluated by this emulator: start it with `serve --iam`');
      const who = authenticate(principals, { method: req.method ?? 'POST', target: req.url ?? '/', headers: req.headers, body: read.body },
        CONTROL_SERVICE, this.clock.now());
      if (!who.ok) throw new ControlError(who.code, who.message, 403);
      if (who.caller.arn !== rootArn(this.account)) {
        throw new ControlError('AccessDeniedException', `User: ${who.caller.arn} is not authorized: only the root of account ${this.account} may call the emulator's control API`);
      }
      sendJson(res, 200, this.dispatch(principals, operation, parseInput(read.body)));
    } catch (err) {
      if (!(err instanceof ControlError)) throw err;
      sendJson(res, err.status, { __type: err.code, message: err.message });
    } finally {
      if (read.outcome === 'read') read.release();
      else discardBody(req);
    }
  }

  private dispatch(principals: PrincipalDirectory, operation: string, input: Input): Record<string, unknown> {
    switch (operation) {
      case 'DefinePrincipal':
        try {
          principals.define({ arn: text(input.arn, 'arn'), policies: policiesOf(text(input.arn, 'arn'), input.policies), tags: tagsOf(input.tags) });
        } catch (err) {
          if (err instanceof ControlError) throw err;
          throw new ControlError(err instanceof PolicyError ? 'MalformedPolicyDocumentException' : 'InvalidParameterException', (err as Error).message);
        }
        return {};
      case 'RemovePrincipal':
        principals.remove(text(input.arn, 'arn'));
        return {};
      case 'IssueCredentials':
        return this.issue(principals, input);
      case 'AuthorizeS3Read': {
        const request = forwardedRequest(input, Buffer.alloc(0));
        const refusal = s3ReadRefusal(principals, this.account, request, text(input.bucket, 'bucket'), String(input.key ?? ''), this.clock.now());
        return refusal ? { refusal } : {};
      }
      case 'AuthorizeLambdaInvoke': {
        const request = forwardedRequest(input, typeof input.body === 'string' ? Buffer.from(input.body, 'base64') : Buffer.alloc(0));
        const refusal = lambdaInvokeRefusal(principals, this.account, request, text(input.functionArn, 'functionArn'), this.clock.now());
        return refusal ? { refusal } : {};
      }
      default:
        throw new ControlError('UnknownOperationException', `Unknown operation ${CONTROL_TARGET_PREFIX}${operation}`);
    }
  }

  private issue(principals: PrincipalDirectory, input: Input): Record<string, unknown> {
    const arn = text(input.arn, 'arn');
    const session = input.sessionName === undefined ? undefined : text(input.sessionName, 'sessionName');
    if (session !== undefined && !/^[\w+=,.@-]{2,64}$/.test(session)) {
      throw new ControlError('InvalidParameterException', `sessionName '${session}' must be 2 to 64 characters of [\\w+=,.@-]`);
    }
    const seconds = input.durationSeconds === undefined ? SESSION_SECONDS : input.durationSeconds;
    if (typeof seconds !== 'number' || !Number.isInteger(seconds) || seconds < MIN_SESSION_SECONDS || seconds > SESSION_SECONDS) {
      throw new ControlError('InvalidParameterException', `durationSeconds must be an integer from ${MIN_SESSION_SECONDS} to ${SESSION_SECONDS}`);
    }
    try {
      return { ...principals.issue(arn, this.clock.now(), session, seconds) };
    } catch (err) {
      throw new ControlError('NoSuchEntityException', (err as Error).message, 404);
    }
  }
}

function parseInput(body: Buffer): Input {
  if (body.length === 0) return {};
  let parsed: unknown;
  try {
    parsed = JSON.parse(body.toString('utf8'));
  } catch {
    throw new ControlError('SerializationException', 'The request body is not valid JSON');
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw new ControlError('SerializationException', 'The request body must be a JSON object');
  return parsed as Input;
}

/**
 * The signed request an authorization operation forwards (`method`, `target`, `headers`), with `body`: its headers in an
 * object without a prototype (their names are the client's), each a string.
 */
function forwardedRequest(input: Input, body: Buffer): ReceivedRequest {
  const given = input.headers;
  if (typeof given !== 'object' || given === null || Array.isArray(given)) throw new ControlError('InvalidParameterException', 'headers must be an object');
  const headers: Record<string, string> = Object.create(null);
  for (const [name, value] of Object.entries(given)) headers[name] = text(value, `headers.${name}`);
  return { method: text(input.method, 'method'), target: text(input.target, 'target'), headers, body };
}

function text(value: unknown, name: string): string {
  if (typeof value !== 'string' || value === '') throw new ControlError('InvalidParameterException', `${name} must be a non-empty string`);
  return value;
}

function policiesOf(arn: string, value: unknown): Policy[] {
  if (value === undefined) return [];
  if (!Array.isArray(value)) throw new ControlError('InvalidParameterException', 'policies must be a list of { name, document }');
  return value.map((p, i) => {
    if (typeof p !== 'object' || p === null) throw new ControlError('InvalidParameterException', `policies[${i}] must be { name, document }`);
    const { name, document } = p as Record<string, unknown>;
    return parsePolicy(`${arn} policy ${text(name, `policies[${i}].name`)}`, document, 'identity');
  });
}

function tagsOf(value: unknown): Map<string, string> | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new ControlError('InvalidParameterException', 'tags must be an object of strings');
  const tags = new Map<string, string>();
  for (const [k, v] of Object.entries(value)) tags.set(k, text(v, `tags.${k}`));
  return tags;
}
