/** The custom-resource handler functions: one per handler kind per stack, however many resources use it. */
import { createHash } from 'crypto';
import * as path from 'path';
import { CustomResource, Duration, RemovalPolicy, Size, Stack, aws_iam as iam, aws_lambda as lambda, aws_logs as logs } from 'aws-cdk-lib';
import { Construct } from 'constructs';
import { newestHandlerRuntime } from './handler-runtime';
import { acknowledgeWildcards, WILDCARD_REASONS, withWildcardReason } from './nag-acknowledgements';
import { checkStackLimits } from './stack-limits';
import { HANDLER_KINDS } from '../shared/handler-contract';

type HandlerKind = typeof HANDLER_KINDS[keyof typeof HANDLER_KINDS];

/** Stable ids that make each kind a stack-wide singleton. */
const SINGLETON_IDS: Record<HandlerKind, string> = {
  'repository': 'b3f1a7c2-5d64-4e8a-9c1f-6a2e0d4b7e11',
  'repository-catalog-data': 'c7d2e9a4-1b35-4f6c-8e2d-9b4a7c1e3f22',
  'repository-policy': 'd4e8b1c6-7a92-4c3d-b5e1-2f6a9d8c4a33',
  'registry': 'e9a3c5d7-2f48-4b1e-a6c9-8d3b1e7f5b44',
  'image-publisher': 'f1b6d8e2-3c59-4d7a-b2e4-7c1a5f9d6c55',
  'lifecycle-sweeper': 'a2c7e9f3-4d6a-4e8b-c3f5-8d2b6a0e7d66',
};

/** Function settings a construct may choose; handlers with different settings are different functions. */
export interface HandlerFunctionOptions {
  readonly memorySize?: number;
  readonly timeout?: Duration;
  readonly ephemeralStorageSize?: Size;
  readonly architecture?: lambda.Architecture;
  /** A runtime the construct pinned (checked with `pinnedHandlerRuntime`); the newest one we support otherwise. */
  readonly runtime?: lambda.Runtime;
}

/** Where the bundled handlers are: `assets/` beside `lib/` in the package, beside `src/` in this repository. */
export function handlerAssetPath(kind: HandlerKind): string {
  return path.join(__dirname, '..', '..', 'assets', kind);
}

/** The stack's handler function for `kind` (and `options`), created on first use. */
export function handlerFunction(scope: Construct, kind: HandlerKind, options: HandlerFunctionOptions = {}): lambda.SingletonFunction {
  const stack = Stack.of(scope);
  const settings: unknown[] = [
    options.memorySize, options.timeout?.toSeconds(), options.ephemeralStorageSize?.toMebibytes(), options.architecture?.name,
  ];
  // Only when pinned: the default runtime keeps the ids functions had before the runtime could be pinned.
  if (options.runtime) settings.push(options.runtime.name);
  const variant = settings.some((s) => s !== undefined)
    ? `-${createHash('sha256').update(JSON.stringify(settings)).digest('hex').slice(0, 8)}`
    : '';
  const id = `EcrPublicHandler-${kind}${variant}`;
  const existing = stack.node.tryFindChild(id) as lambda.SingletonFunction | undefined;
  if (existing) return existing;
  // An explicit role and log group instead of AWSLambdaBasicExecutionRole: the handler may write its own logs and
  // nothing else, and the resource policies it needs are added statement by statement.
  const logGroup = new logs.LogGroup(stack, `${id}-Logs`, {
    retention: logs.RetentionDays.ONE_MONTH,
    removalPolicy: RemovalPolicy.DESTROY,
  });
  const role = new iam.Role(stack, `${id}-Role`, {
    assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com'),
    description: `cdk-ecr-public ${kind} custom-resource handler`,
  });
  role.addToPolicy(new iam.PolicyStatement({
    actions: ['logs:CreateLogStream', 'logs:PutLogEvents'],
    resources: [logGroup.logGroupArn],
  }));
  return new lambda.SingletonFunction(stack, id, {
    role,
    logGroup,
    uuid: `${SINGLETON_IDS[kind]}${variant}`,
    lambdaPurpose: `EcrPublic-${kind}${variant}`,
    code: lambda.Code.fromAsset(handlerAssetPath(kind)),
    handler: 'index.handler',
    runtime: options.runtime ?? newestHandlerRuntime(),
    // The SDK retries throttling and server errors with backoff; leave it room for six attempts per call.
    timeout: options.timeout ?? Duration.minutes(5),
    memorySize: options.memorySize ?? 256,
    ephemeralStorageSize: options.ephemeralStorageSize,
    architecture: options.architecture,
    description: `cdk-ecr-public ${kind} custom-resource handler`,
  });
}

/** `arn:<partition>:ecr-public::<account>:repository/<name>`: ECR Public ARNs carry no region. */
export function repositoryArnFor(scope: Construct, repositoryName: string): string {
  return Stack.of(scope).formatArn({
    service: 'ecr-public', region: '', resource: 'repository', resourceName: repositoryName,
  });
}

/** `arn:<partition>:ecr-public::<account>:registry/<account>`. */
export function registryArnFor(scope: Construct): string {
  const stack = Stack.of(scope);
  return stack.formatArn({ service: 'ecr-public', region: '', resource: 'registry', resourceName: stack.account });
}

/** `arn:<partition>:ecr-public::<account>:repository/*`: every public repository of the account. */
export function anyRepositoryArn(scope: Construct): string {
  return repositoryArnFor(scope, '*');
}

export interface HandlerResourceProps {
  readonly kind: HandlerKind;
  readonly resourceType: string;
  readonly properties: object;
  /**
   * Permissions of the handler, granted on its role for the whole stack (identical statements are merged), so that
   * they never change with one resource: a removed or renamed repository's delete still runs with them, and the role's
   * inline policy stays the same size however many resources the stack has (IAM caps it at 10,240 characters).
   */
  readonly roleStatements: iam.PolicyStatement[];
  /**
   * Permissions that belong to this resource alone (a secret, another registry), in a policy of its own that the
   * custom resource depends on, so that CloudFormation deletes it after the resource.
   * @default - none
   */
  readonly resourceStatements?: iam.PolicyStatement[];
  readonly removalPolicy?: RemovalPolicy;
  readonly functionOptions?: HandlerFunctionOptions;
  /** How long CloudFormation waits for the handler's answer (`ServiceTimeout`). @default - CloudFormation's, one hour */
  readonly serviceTimeout?: Duration;
  /**
   * The handler invokes its own function (a long publish goes on in a new run): `lambda:InvokeFunction` on it.
   * @default false
   */
  readonly invokesItself?: boolean;
}

/** The statements already on each handler's role, as resolved JSON. */
const statementsOnRole = new WeakMap<lambda.SingletonFunction, Set<string>>();

/** A custom resource served by the stack's handler of its kind. */
export function handlerResource(scope: Construct, props: HandlerResourceProps): CustomResource {
  const fn = handlerFunction(scope, props.kind, props.functionOptions);
  checkStackLimits(Stack.of(scope));
  // Each statement once: CDK sizes (and splits into managed policies) the role's policy before it merges duplicates,
  // so hundreds of resources adding the same statement would overflow it.
  const added = statementsOnRole.get(fn) ?? new Set<string>();
  statementsOnRole.set(fn, added);
  for (const statement of props.roleStatements) {
    const key = JSON.stringify(Stack.of(scope).resolve(statement.toStatementJson()));
    if (added.has(key)) continue;
    added.add(key);
    addToHandlerRole(fn, statement);
  }
  const resource = new CustomResource(scope, 'Resource', {
    serviceToken: fn.functionArn,
    resourceType: props.resourceType,
    properties: { ...props.properties },
    removalPolicy: props.removalPolicy,
    serviceTimeout: props.serviceTimeout,
  });
  if (props.invokesItself) resource.node.addDependency(selfInvokePolicy(fn));
  if (props.resourceStatements && props.resourceStatements.length > 0) {
    const policy = new iam.Policy(scope, 'HandlerPolicy', { statements: props.resourceStatements, roles: [fn.role!] });
    for (const statement of props.resourceStatements) acknowledgeWildcards(policy, statement);
    resource.node.addDependency(policy);
  }
  return resource;
}

/**
 * `lambda:InvokeFunction` on the function itself, in a policy of its own, created once per function. Not in the role's
 * default policy: the function depends on that one (CloudFormation creates the role's permissions before the function),
 * and a statement naming the function's ARN there would make the policy depend on the function in turn, a cycle. This
 * policy depends on the function and the role only; the resources whose handler invokes itself depend on it.
 */
function selfInvokePolicy(fn: lambda.SingletonFunction): iam.Policy {
  const stack = Stack.of(fn);
  const id = `${fn.node.id}-SelfInvoke`;
  const existing = stack.node.tryFindChild(id) as iam.Policy | undefined;
  if (existing) return existing;
  return new iam.Policy(stack, id, {
    statements: [allow(['lambda:InvokeFunction'], [fn.functionArn])],
    roles: [fn.role!],
  });
}

/** A statement allowing `actions` on `resources`. */
export function allow(actions: string[], resources: string[]): iam.PolicyStatement {
  return new iam.PolicyStatement({ actions, resources });
}

/** `actions` on every public repository of the account: what a handler of repositories created at deploy needs. */
export function allowOnAnyRepository(scope: Construct, actions: readonly string[]): iam.PolicyStatement {
  return withWildcardReason(allow([...actions], [anyRepositoryArn(scope)]), WILDCARD_REASONS.repositories);
}

/** `s3:GetObject` on the asset bucket's objects (`objectsArn`, ending in `/*`). */
export function allowAssetObjects(objectsArn: string): iam.PolicyStatement {
  return withWildcardReason(allow(['s3:GetObject'], [objectsArn]), WILDCARD_REASONS.assets);
}

/** Adds `statement` to the handler's role, acknowledging its wildcards (if it has a reason for them) for cdk-nag. */
export function addToHandlerRole(fn: lambda.SingletonFunction, statement: iam.PolicyStatement): void {
  fn.addToRolePolicy(statement);
  acknowledgeWildcards(fn.role!.node.findChild('DefaultPolicy'), statement);
}
