/**
 * The roles and users of a template as IAM would hold them (deployer side), above all a function's execution role: the
 * `AWS::IAM::Role` its `Role` names, with the role's inline policies, the `AWS::IAM::Policy` and
 * `AWS::IAM::ManagedPolicy` resources that attach to it through `Roles` (a user's: `Users`), and the AWS managed policies of `ManagedPolicyArns` (those the deployer knows, below;
 * any other is refused, naming its ARN, rather than guessed). A policy that refers to one of our resources not deployed
 * yet does not exist yet either, as in CloudFormation, which creates a policy only once what it names exists: it is
 * left out until then.
 */
import type { AssemblyStack, TemplateResource } from './assembly';
import { Resolver, UnresolvableError } from './intrinsics';
import type { RoleRecord } from './state';

/**
 * The AWS managed policies a function of ours may be given, as AWS publishes them. Only these are known: a role naming
 * another cannot be evaluated faithfully here.
 */
const MANAGED_POLICIES: ReadonlyMap<string, unknown> = new Map([
  ['service-role/AWSLambdaBasicExecutionRole', {
    Version: '2012-10-17',
    Statement: [{ Effect: 'Allow', Action: ['logs:CreateLogGroup', 'logs:CreateLogStream', 'logs:PutLogEvents'], Resource: '*' }],
  }],
]);

/** `arn:aws:iam::aws:policy/<path and name>` of an AWS managed policy. */
const AWS_MANAGED = /^arn:aws[a-z-]*:iam::aws:policy\/(.+)$/;

/**
 * The execution role of the function `functionId` (whose `Role` is `Fn::GetAtt [<role>, Arn]` of an `AWS::IAM::Role`
 * of the same template), as IAM holds it now. Errors name the function and what cannot be read.
 */
export function executionRole(stack: AssemblyStack, resolver: Resolver, functionId: string): RoleRecord {
  const resources = stack.template.Resources ?? {};
  const where = `function '${functionId}'`;
  const roleExpr = (resources[functionId]?.Properties ?? {}).Role;
  const roleId = getAttArn(roleExpr);
  const role = roleId === undefined ? undefined : resources[roleId];
  if (roleId === undefined || role?.Type !== 'AWS::IAM::Role') {
    throw new UnresolvableError(`${where}: its Role ${JSON.stringify(roleExpr)} is not Fn::GetAtt [<role>, Arn] of an AWS::IAM::Role of the same `
      + 'template: the local deployer cannot know the policies of a role it does not see, and runs handlers only as their own roles');
  }
  return principalOf(stack, resolver, roleId, `${where}: its role '${roleId}'`);
}

/**
 * The role or user `logicalId` of the template (an `AWS::IAM::Role` or `AWS::IAM::User`), with the policies it has
 * now. `where` names it in errors.
 */
export function principalOf(stack: AssemblyStack, resolver: Resolver, logicalId: string, where: string): RoleRecord {
  const resource = stack.template.Resources?.[logicalId];
  const kind = resource?.Type === 'AWS::IAM::Role' ? 'Roles' : resource?.Type === 'AWS::IAM::User' ? 'Users' : undefined;
  if (resource === undefined || kind === undefined) throw new UnresolvableError(`${where} is not an AWS::IAM::Role or AWS::IAM::User`);
  const arn = String(resolver.resolve({ 'Fn::GetAtt': [logicalId, 'Arn'] }, where));
  const props = (resource.Properties ?? {}) as Record<string, unknown>;
  const policies: Array<{ name: string; document: unknown }> = [];
  for (const [i, inline] of list(props.Policies).entries()) {
    const p = (inline ?? {}) as Record<string, unknown>;
    const name = String(resolver.resolve(p.PolicyName ?? `Policies[${i}]`, where));
    const document = resolved(resolver, p.PolicyDocument, `${where}, inline policy '${name}'`);
    if (document !== undefined) policies.push({ name: `${logicalId}/${name}`, document });
  }
  for (const managed of list(props.ManagedPolicyArns)) policies.push(...managedPolicy(stack, resolver, managed, where));
  for (const [id, policy] of Object.entries(stack.template.Resources ?? {})) {
    if (policy.Type !== 'AWS::IAM::Policy' && policy.Type !== 'AWS::IAM::ManagedPolicy') continue;
    if (!attaches(policy, kind, logicalId)) continue;
    const document = resolved(resolver, policy.Properties?.PolicyDocument, `${where}, policy '${id}'`);
    if (document !== undefined) policies.push({ name: id, document });
  }
  const tags = tagsOf(resolver, props.Tags, where);
  return { arn, policies, ...(tags ? { tags } : {}) };
}

/** The policy document, resolved; undefined while it names one of our resources not deployed yet. */
function resolved(resolver: Resolver, document: unknown, where: string): unknown {
  if (document === undefined) throw new UnresolvableError(`${where} has no PolicyDocument`);
  if (resolver.undeployed(document).length > 0) return undefined;
  return resolver.resolve(document, where);
}

/** A policy of `ManagedPolicyArns`: an AWS managed policy the deployer knows, or a managed policy of the template. */
function managedPolicy(stack: AssemblyStack, resolver: Resolver, expr: unknown, where: string): Array<{ name: string; document: unknown }> {
  const ref = typeof expr === 'object' && expr !== null && !Array.isArray(expr) ? (expr as Record<string, unknown>).Ref : undefined;
  const own = typeof ref === 'string' ? stack.template.Resources?.[ref] : undefined;
  if (own?.Type === 'AWS::IAM::ManagedPolicy') return []; // Read with the policies that attach through `Roles`, or by its own `Roles` below.
  const arn = String(resolver.resolve(expr, where));
  const name = AWS_MANAGED.exec(arn)?.[1];
  const document = name === undefined ? undefined : MANAGED_POLICIES.get(name);
  if (document === undefined) {
    throw new UnresolvableError(`${where}: its managed policy ${arn} is not one the local deployer knows (it knows `
      + `${[...MANAGED_POLICIES.keys()].map((n) => `arn:aws:iam::aws:policy/${n}`).join(', ')}), and it does not guess what a policy allows`);
  }
  return [{ name: arn, document }];
}

/** Whether the policy resource attaches to the role or user `id` (`Roles: [{ Ref: id }]`, `Users: [{ Ref: id }]`). */
function attaches(resource: TemplateResource, kind: 'Roles' | 'Users', id: string): boolean {
  return list(resource.Properties?.[kind]).some((r) => typeof r === 'object' && r !== null && (r as Record<string, unknown>).Ref === id);
}

function tagsOf(resolver: Resolver, value: unknown, where: string): Record<string, string> | undefined {
  const tags = list(resolver.resolve(value ?? [], where));
  if (tags.length === 0) return undefined;
  const out: Record<string, string> = Object.create(null);
  for (const t of tags) {
    const { Key, Value } = (t ?? {}) as Record<string, unknown>;
    if (typeof Key === 'string') out[Key] = String(Value ?? '');
  }
  return out;
}

function list(value: unknown): unknown[] {
  return Array.isArray(value) ? value : value === undefined ? [] : [value];
}

/** `X` of `{ "Fn::GetAtt": ["X", "Arn"] }` (or `"X.Arn"`). */
export function getAttArn(expr: unknown): string | undefined {
  if (expr === null || typeof expr !== 'object' || Array.isArray(expr)) return undefined;
  const getAtt = (expr as Record<string, unknown>)['Fn::GetAtt'];
  if (Object.keys(expr).length !== 1 || getAtt === undefined) return undefined;
  const parts = typeof getAtt === 'string' ? getAtt.split('.') : getAtt;
  if (!Array.isArray(parts) || parts.length !== 2 || parts[1] !== 'Arn' || typeof parts[0] !== 'string') return undefined;
  return parts[0];
}
