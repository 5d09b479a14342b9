/**
 * The emulator's front doors ask IAM here, as AWS decides a call (emulator side): first who signed the request
 * (`authenticate`: the SigV4 signature verified for a key the emulator knows, `sigv4.ts`, `principals.ts`), then
 * whether that caller may do what the request asks (`authorizeOperation` for the ECR Public API, with every action the
 * operation needs from `actions.ts`, against the repository's policy and tags; `authorizeAccess` for one action on one
 * resource, as S3 reads are asked). The answers are the service's error codes and messages.
 */
import { OPERATION_ACCESS, RegistryScope, RequiredAccess, s3ReadAccess } from './actions';
import { authorize, Caller } from './evaluate';
import { Policy } from './policy';
import { PrincipalDirectory } from './principals';
import { ReceivedRequest, SignatureFailure, verifySignature } from './sigv4';

/** What the authorizer reads of the registry's state. */
export interface ResourceFacts {
  /** The policy of the repository `name`, when it exists and has one. */
  policyOf(repositoryName: string): Policy | undefined;
  /** The resource tags of the repository `name`, when it exists. */
  tagsOf(repositoryName: string): ReadonlyMap<string, string> | undefined;
}

/** A refusal: the awsJson error code and its message. */
export interface Refusal {
  readonly ok: false;
  readonly code: 'MissingAuthenticationTokenException' | 'IncompleteSignatureException' | 'UnrecognizedClientException'
  | 'InvalidSignatureException' | 'AccessDeniedException';
  readonly message: string;
}

/** The awsJson error code of each way a signature fails, as the service names them. */
const SIGNATURE_ERRORS: Readonly<Record<SignatureFailure['kind'], Refusal['code']>> = {
  'missing': 'MissingAuthenticationTokenException',
  'incomplete': 'IncompleteSignatureException',
  'unknown-key': 'UnrecognizedClientException',
  'token': 'UnrecognizedClientException',
  'mismatch': 'InvalidSignatureException',
  'expired-request': 'InvalidSignatureException',
  'payload': 'InvalidSignatureException',
};

/** Who signed `request` for `service`, or why the signature is refused (S3 answers these under its own names). */
export function authenticate(
  directory: PrincipalDirectory, request: ReceivedRequest, service: string, nowSeconds: number,
): { readonly ok: true; readonly caller: Caller; readonly accessKeyId: string } | (Refusal & { readonly kind: SignatureFailure['kind'] }) {
  const signed = verifySignature(request, service, (id) => directory.keyOf(id), nowSeconds);
  if (!signed.ok) return { ok: false, kind: signed.kind, code: SIGNATURE_ERRORS[signed.kind], message: signed.message };
  const caller = directory.callerOf(signed.accessKeyId);
  if (caller === undefined) {
    return { ok: false, kind: 'unknown-key', code: 'UnrecognizedClientException', message: 'The security token included in the request is invalid.' };
  }
  return { ok: true, caller, accessKeyId: signed.accessKeyId };
}

/** Whether `caller` may call `operation` with `input` (the parsed request, before validation); undefined when it may. */
export function authorizeOperation(
  caller: Caller, scope: RegistryScope, facts: ResourceFacts, operation: string, input: Readonly<Record<string, unknown>>,
): Refusal | undefined {
  const rule = OPERATION_ACCESS.get(operation);
  // The front door routes only the operations it knows; the table covers them all (a test holds the two equal).
  if (rule === undefined) throw new Error(`no access rule for operation '${operation}'`);
  for (const access of rule(scope, input)) {
    const refusal = authorizeAccess(caller, scope, facts, access);
    if (refusal) return refusal;
  }
  return undefined;
}

/** Whether `caller` may do each action of `access`; undefined when it may. */
export function authorizeAccess(caller: Caller, scope: RegistryScope, facts: ResourceFacts, access: RequiredAccess): Refusal | undefined {
  const repositoryName = /:ecr-public::\d{12}:repository\/(.+)$/.exec(access.resource)?.[1];
  const known = repositoryName !== undefined && repositoryName !== '*';
  const context = new Map(access.context ?? []);
  for (const [key, value] of (known ? facts.tagsOf(repositoryName) : undefined) ?? []) {
    context.set(`aws:ResourceTag/${key}`, [value]);
    context.set(`ecr-public:ResourceTag/${key}`, [value]);
  }
  const resourceAccount = resourceAccountOf(access.resource, caller, scope);
  for (const action of access.actions) {
    const decision = authorize(caller, {
      action,
      resource: access.resource,
      resourceAccount,
      resourcePolicy: known ? facts.policyOf(repositoryName) : undefined,
      context,
    });
    if (!decision.allowed) return { ok: false, code: 'AccessDeniedException', message: decision.message };
  }
  return undefined;
}

/**
 * The account owning `resource`: the one its ARN names (ECR Public's); the registry's for an ARN that names none (an S3
 * object of the emulator's buckets); the caller's own for `*` (an action on no resource is asked in the caller's account).
 */
function resourceAccountOf(resource: string, caller: Caller, scope: RegistryScope): string {
  if (resource === '*') return caller.account;
  return /^arn:[^:]*:[^:]*:[^:]*:(\d{12}):/.exec(resource)?.[1] ?? scope.account;
}

/** A refusal of a REST front door (S3's, Lambda's): HTTP status, the service's error code, its message. */
export type S3Refusal = readonly [status: number, code: string, message: string];

/** S3's error for each way a signature fails. */
const S3_SIGNATURE_ERRORS: Readonly<Record<SignatureFailure['kind'], S3Refusal>> = {
  // The buckets are not public: an unsigned request is an anonymous user's.
  'missing': [403, 'AccessDenied', 'Access Denied'],
  'incomplete': [400, 'AuthorizationHeaderMalformed', 'The authorization header is malformed'],
  'unknown-key': [403, 'InvalidAccessKeyId', 'The AWS Access Key Id you provided does not exist in our records.'],
  'token': [400, 'InvalidToken', 'The provided token is malformed or otherwise invalid.'],
  'mismatch': [403, 'SignatureDoesNotMatch', 'The request signature we calculated does not match the signature you provided. Check your key and signing method.'],
  'payload': [400, 'XAmzContentSHA256Mismatch', "The provided 'x-amz-content-sha256' header does not match what was computed."],
  'expired-request': [403, 'RequestTimeTooSkewed', 'The difference between the request time and the current time is too large.'],
};

/**
 * Whether an S3 read (GetObject; HeadObject asks the same) of `bucket`/`key` in `account`'s buckets may be served, as
 * S3 decides it: the signature, then `s3:GetObject` on the object. Undefined when it may.
 */
export function s3ReadRefusal(
  directory: PrincipalDirectory, account: string, request: ReceivedRequest, bucket: string, key: string, nowSeconds: number,
): S3Refusal | undefined {
  const who = authenticate(directory, request, 's3', nowSeconds);
  if (!who.ok) return S3_SIGNATURE_ERRORS[who.kind];
  const noRepositories: ResourceFacts = { policyOf: () => undefined, tagsOf: () => undefined };
  const refused = authorizeAccess(who.caller, { account }, noRepositories, s3ReadAccess(bucket, key));
  return refused ? [403, 'AccessDenied', refused.message] : undefined;
}

/**
 * Whether Lambda would run the signed Invoke `request` of `functionArn`, as it decides it: the signature, then
 * `lambda:InvokeFunction` on the function (its resource policy, which the local deployer does not model, is not asked).
 * Undefined when it may.
 */
export function lambdaInvokeRefusal(
  directory: PrincipalDirectory, account: string, request: ReceivedRequest, functionArn: string, nowSeconds: number,
): S3Refusal | undefined {
  const who = authenticate(directory, request, 'lambda', nowSeconds);
  // Lambda names signature failures as the JSON protocols do, all with 403.
  if (!who.ok) return [403, who.code, who.message];
  const noRepositories: ResourceFacts = { policyOf: () => undefined, tagsOf: () => undefined };
  const refused = authorizeAccess(who.caller, { account }, noRepositories, { actions: ['lambda:InvokeFunction'], resource: functionArn });
  return refused ? [403, 'AccessDeniedException', refused.message] : undefined;
}
