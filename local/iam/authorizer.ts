/**
 * One ECR Public API call through the emulator's front door, as AWS decides it (emulator side): the signature is
 * verified (`sigv4.ts`) for a key the emulator knows (`principals.ts`), then every action the operation needs
 * (`actions.ts`) is decided for the caller (`evaluate.ts`) against the repository's policy and tags. The answer is the
 * service's error code and message, or the caller.
 */
import { OPERATION_ACCESS, RegistryScope } from './actions';
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

export type ApiAuthorization =
  | { readonly ok: true; readonly caller: Caller }
  | { readonly ok: false; readonly code: string; readonly message: string };

/** The awsJson error code of each way a signature fails, as the service names them. */
const SIGNATURE_ERRORS: Readonly<Record<SignatureFailure['kind'], string>> = {
  'missing': 'MissingAuthenticationTokenException',
  'incomplete': 'IncompleteSignatureException',
  'unknown-key': 'UnrecognizedClientException',
  'token': 'UnrecognizedClientException',
  'mismatch': 'InvalidSignatureException',
  'expired-request': 'InvalidSignatureException',
  'payload': 'InvalidSignatureException',
};

/** Decides the call of `operation` with `input` carried by `request`. */
export function authorizeApiCall(
  directory: PrincipalDirectory, scope: RegistryScope, facts: ResourceFacts,
  request: ReceivedRequest, operation: string, input: Readonly<Record<string, unknown>>, nowSeconds: number,
): ApiAuthorization {
  const signed = verifySignature(request, 'ecr-public', (id) => directory.keyOf(id), nowSeconds);
  if (!signed.ok) return { ok: false, code: SIGNATURE_ERRORS[signed.kind], message: signed.message };
  const caller = directory.callerOf(signed.accessKeyId);
  if (caller === undefined) return { ok: false, code: 'UnrecognizedClientException', message: 'The security token included in the request is invalid.' };
  const rule = OPERATION_ACCESS[operation];
  if (rule === undefined) return { ok: false, code: 'UnknownOperationException', message: `Unknown operation '${operation}'` };
  for (const access of rule(scope, input)) {
    const repositoryName = /:repository\/(.+)$/.exec(access.resource)?.[1];
    const existing = repositoryName === undefined || repositoryName === '*' ? undefined : facts.tagsOf(repositoryName);
    const context = new Map(access.context ?? []);
    for (const [key, value] of existing ?? []) {
      context.set(`aws:ResourceTag/${key}`, [value]);
      context.set(`ecr-public:ResourceTag/${key}`, [value]);
    }
    for (const action of access.actions) {
      const decision = authorize(caller, {
        action,
        resource: access.resource,
        resourceAccount: access.resource === '*' ? caller.account : scope.account,
        resourcePolicy: repositoryName === undefined || repositoryName === '*' ? undefined : facts.policyOf(repositoryName),
        context,
      });
      if (!decision.allowed) return { ok: false, code: 'AccessDeniedException', message: decision.message };
    }
  }
  return { ok: true, caller };
}
