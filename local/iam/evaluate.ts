/**
 * Deciding one request as IAM does (emulator side), for the principals the emulator knows: an explicit Deny in any
 * policy that applies wins; otherwise, within one account, an Allow of the principal's identity policies or a resource
 * policy naming the principal itself allows; across accounts both must allow (a resource policy naming an account
 * delegates to that account's identity policies). The account root may do everything in its own account.
 *
 * Matching: `Action`/`NotAction` patterns case-insensitively, `Resource`/`NotResource` case-sensitively, both with `*`
 * and `?`; `Principal`/`NotPrincipal` by ARN, account (its root) or `*`; `Condition` with the operators and keys listed
 * in `SUPPORTED_KEYS` and `OPERATORS`. What the emulator cannot evaluate (a policy variable, another condition key or
 * operator) never allows: a Deny it appears in denies, and a request no other statement allows is refused naming it.
 */
import { Condition, Policy, PrincipalSet, Statement } from './policy';

/** Who calls. */
export interface Caller {
  /** The ARN IAM names in messages: `arn:aws:sts::<account>:assumed-role/<role>/<session>`, a user's, or `...:root`. */
  readonly arn: string;
  readonly account: string;
  /** The ARN a resource policy names for it: the role's for an assumed role, else `arn`. */
  readonly principalArn: string;
  readonly type: 'Account' | 'AssumedRole' | 'User';
  readonly tags: ReadonlyMap<string, string>;
  /** Its identity policies (inline and attached managed ones). */
  readonly policies: readonly Policy[];
}

/** What is asked. */
export interface AccessRequest {
  /** `ecr-public:PutImage`. */
  readonly action: string;
  /** The resource's ARN, or `*` for actions without a resource. */
  readonly resource: string;
  /** The account owning the resource. @default - the caller's */
  readonly resourceAccount?: string;
  /** The resource's policy. @default - none */
  readonly resourcePolicy?: Policy;
  /** Condition keys of the request itself (`aws:ResourceTag/<k>`, `aws:RequestTag/<k>`, `aws:TagKeys`, ...). @default - none */
  readonly context?: ReadonlyMap<string, readonly string[]>;
}

export type Decision =
  | { readonly allowed: true }
  | {
    readonly allowed: false;
    readonly reason: 'explicit-deny-identity' | 'explicit-deny-resource' | 'no-identity-allow' | 'no-resource-allow' | 'unsupported';
    /** The AccessDeniedException message, in IAM's words. */
    readonly message: string;
  };

/** Condition keys the emulator evaluates (lower-case; a trailing `/` takes any tag key). */
export const SUPPORTED_KEYS: readonly string[] = [
  'aws:principalaccount', 'aws:principalarn', 'aws:principaltype', 'aws:principaltag/', 'aws:userid', 'aws:securetransport',
  'aws:requestedregion', 'aws:resourcetag/', 'ecr-public:resourcetag/', 'aws:requesttag/', 'aws:tagkeys',
];

type Compare = (actual: string, wanted: string) => boolean;

/** Condition operators the emulator evaluates: how a request value is compared with a policy value, and whether negated. */
const OPERATORS: ReadonlyMap<string, { readonly compare: Compare; readonly negated: boolean }> = new Map([
  ['StringEquals', { compare: (a, w) => a === w, negated: false }],
  ['StringNotEquals', { compare: (a, w) => a === w, negated: true }],
  ['StringEqualsIgnoreCase', { compare: (a, w) => a.toLowerCase() === w.toLowerCase(), negated: false }],
  ['StringNotEqualsIgnoreCase', { compare: (a, w) => a.toLowerCase() === w.toLowerCase(), negated: true }],
  ['StringLike', { compare: (a, w) => glob(w, false).test(a), negated: false }],
  ['StringNotLike', { compare: (a, w) => glob(w, false).test(a), negated: true }],
  ['ArnEquals', { compare: (a, w) => a === w, negated: false }],
  ['ArnNotEquals', { compare: (a, w) => a === w, negated: true }],
  ['ArnLike', { compare: (a, w) => glob(w, false).test(a), negated: false }],
  ['ArnNotLike', { compare: (a, w) => glob(w, false).test(a), negated: true }],
  ['Bool', { compare: (a, w) => a.toLowerCase() === w.toLowerCase(), negated: false }],
  ['NumericEquals', { compare: numeric((a, w) => a === w), negated: false }],
  ['NumericNotEquals', { compare: numeric((a, w) => a === w), negated: true }],
  ['NumericLessThan', { compare: numeric((a, w) => a < w), negated: false }],
  ['NumericLessThanEquals', { compare: numeric((a, w) => a <= w), negated: false }],
  ['NumericGreaterThan', { compare: numeric((a, w) => a > w), negated: false }],
  ['NumericGreaterThanEquals', { compare: numeric((a, w) => a >= w), negated: false }],
]);

function numeric(test: (a: number, w: number) => boolean): Compare {
  return (a, w) => {
    const x = Number(a);
    const y = Number(w);
    return Number.isFinite(x) && Number.isFinite(y) && test(x, y);
  };
}

/** An IAM pattern (`*` any run, `?` one character) as a whole-string expression. */
function glob(pattern: string, ignoreCase: boolean): RegExp {
  const body = pattern.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*').replace(/\?/g, '.');
  return new RegExp(`^${body}$`, ignoreCase ? 'is' : 's');
}

/** How a statement bears on a request. */
type Bearing = 'applies' | 'not' | { readonly unsupported: string };

/** Decides `request` by `caller`. */
export function authorize(caller: Caller, request: AccessRequest): Decision {
  const context = requestContext(caller, request);
  const resourceAccount = request.resourceAccount ?? caller.account;
  // The root may do everything its account may: it needs no identity policy (across accounts, a resource policy still).
  let identityAllow = caller.type === 'Account';
  let resourceAllowDirect = false;
  let resourceAllowAccount = false;
  let unsupported: string | undefined;
  const deny = (reason: 'explicit-deny-identity' | 'explicit-deny-resource' | 'unsupported', detail?: string): Decision => ({
    allowed: false, reason, message: deniedMessage(caller, request, reason, detail),
  });

  for (const policy of caller.policies) {
    for (const [i, statement] of policy.statements.entries()) {
      const bearing = identityBearing(statement, request, context);
      const where = `${policy.name} Statement[${i}]${statement.sid ? ` (${statement.sid})` : ''}`;
      if (typeof bearing === 'object') {
        if (statement.effect === 'Deny') return deny('unsupported', `${bearing.unsupported} in ${where}`);
        unsupported ??= `${bearing.unsupported} in ${where}`;
      } else if (bearing === 'applies') {
        if (statement.effect === 'Deny') return deny('explicit-deny-identity');
        identityAllow = true;
      }
    }
  }
  if (request.resourcePolicy) {
    for (const [i, statement] of request.resourcePolicy.statements.entries()) {
      const match = principalMatch(statement, caller);
      if (match === 'none') continue;
      const bearing = resourceBearing(statement, request, context);
      const where = `${request.resourcePolicy.name} Statement[${i}]${statement.sid ? ` (${statement.sid})` : ''}`;
      if (typeof bearing === 'object') {
        if (statement.effect === 'Deny') return deny('unsupported', `${bearing.unsupported} in ${where}`);
        unsupported ??= `${bearing.unsupported} in ${where}`;
      } else if (bearing === 'applies') {
        if (statement.effect === 'Deny') return deny('explicit-deny-resource');
        if (match === 'direct') resourceAllowDirect = true;
        else resourceAllowAccount = true;
      }
    }
  }
  const sameAccount = resourceAccount === caller.account;
  if (sameAccount && (identityAllow || resourceAllowDirect)) return { allowed: true };
  if (!sameAccount && identityAllow && (resourceAllowDirect || resourceAllowAccount)) return { allowed: true };
  if (unsupported !== undefined) return deny('unsupported', unsupported);
  if (!sameAccount && identityAllow) {
    return { allowed: false, reason: 'no-resource-allow', message: deniedMessage(caller, request, 'no-resource-allow') };
  }
  return { allowed: false, reason: 'no-identity-allow', message: deniedMessage(caller, request, 'no-identity-allow') };
}

function deniedMessage(caller: Caller, request: AccessRequest, reason: Exclude<Decision, { allowed: true }>['reason'], detail?: string): string {
  const head = `User: ${caller.arn} is not authorized to perform: ${request.action} on resource: ${request.resource}`;
  switch (reason) {
    case 'explicit-deny-identity': return `${head} with an explicit deny in an identity-based policy`;
    case 'explicit-deny-resource': return `${head} with an explicit deny in a resource-based policy`;
    case 'no-identity-allow': return `${head} because no identity-based policy allows the ${request.action} action`;
    case 'no-resource-allow': return `${head} because no resource-based policy allows the ${request.action} action`;
    case 'unsupported': return `${head} because the emulator cannot evaluate ${detail} (it never allows what it cannot evaluate)`;
  }
}

/** The request's condition keys, lower-cased: the caller's own and the request's. */
function requestContext(caller: Caller, request: AccessRequest): Map<string, readonly string[]> {
  const context = new Map<string, readonly string[]>([
    ['aws:principalaccount', [caller.account]],
    ['aws:principalarn', [caller.principalArn]],
    ['aws:principaltype', [caller.type]],
    ['aws:userid', [caller.arn]],
    ['aws:securetransport', ['true']],
    ['aws:requestedregion', ['us-east-1']],
  ]);
  for (const [key, value] of caller.tags) context.set(`aws:principaltag/${key.toLowerCase()}`, [value]);
  for (const [key, values] of request.context ?? []) context.set(key.toLowerCase(), values);
  return context;
}

function actionMatches(statement: Statement, action: string): boolean {
  const any = statement.actions.some((p) => glob(p, true).test(action));
  return statement.notActions ? !any : any;
}

/** Whether the statement's resources take `resource`; a policy variable is not evaluated. */
function resourceMatches(statement: Statement, resource: string): boolean | { unsupported: string } {
  const patterns = statement.resources ?? ['*'];
  const variable = patterns.find((p) => p.includes('${'));
  if (variable !== undefined) return { unsupported: `the policy variable in the resource ${variable}` };
  const any = patterns.some((p) => glob(p, false).test(resource));
  return statement.notResources ? !any : any;
}

function identityBearing(statement: Statement, request: AccessRequest, context: ReadonlyMap<string, readonly string[]>): Bearing {
  if (!actionMatches(statement, request.action)) return 'not';
  const resource = resourceMatches(statement, request.resource);
  if (typeof resource === 'object') return resource;
  return resource ? conditionsHold(statement.conditions, context) : 'not';
}

/** A repository policy's statement applies to its own resource unless it names resources (which ECR refuses anyway). */
function resourceBearing(statement: Statement, request: AccessRequest, context: ReadonlyMap<string, readonly string[]>): Bearing {
  if (!actionMatches(statement, request.action)) return 'not';
  if (statement.resources !== undefined) {
    const resource = resourceMatches(statement, request.resource);
    if (typeof resource === 'object') return resource;
    if (!resource) return 'not';
  }
  return conditionsHold(statement.conditions, context);
}

/**
 * Whether the statement names the caller: `direct` (its ARN, or anyone), `account` (its account's root: a delegation
 * the account's identity policies must confirm), or `none`.
 */
function principalMatch(statement: Statement, caller: Caller): 'direct' | 'account' | 'none' {
  const match = principalSetMatch(statement.principals, caller);
  if (!statement.notPrincipals) return match;
  return match === 'none' ? 'direct' : 'none';
}

function principalSetMatch(principals: PrincipalSet | undefined, caller: Caller): 'direct' | 'account' | 'none' {
  if (principals === undefined) return 'none';
  if (principals === '*') return 'direct';
  const aws = principals.get('AWS') ?? [];
  if (aws.includes(caller.principalArn) || aws.includes(caller.arn)) return caller.type === 'Account' ? 'account' : 'direct';
  if (aws.some((p) => /^arn:aws[a-z-]*:iam::(\d{12}):root$/.exec(p)?.[1] === caller.account)) return 'account';
  return 'none';
}

/** Every condition holds (all keys, all operators: IAM ANDs them). */
function conditionsHold(conditions: readonly Condition[], context: ReadonlyMap<string, readonly string[]>): Bearing {
  for (const condition of conditions) {
    const held = conditionHolds(condition, context);
    if (typeof held === 'object') return held;
    if (!held) return 'not';
  }
  return 'applies';
}

function conditionHolds(condition: Condition, context: ReadonlyMap<string, readonly string[]>): boolean | { unsupported: string } {
  const what = `the condition ${condition.operator} ${JSON.stringify(condition.key)}`;
  const key = condition.key.toLowerCase();
  if (!SUPPORTED_KEYS.some((k) => (k.endsWith('/') ? key.startsWith(k) && key.length > k.length : key === k))) {
    return { unsupported: `${what} (a condition key it does not know)` };
  }
  if (condition.values.some((v) => v.includes('${'))) return { unsupported: `${what} (a policy variable)` };
  const actual = context.get(key);
  let operator = condition.operator;
  let set: 'any' | 'all' | undefined;
  if (operator.startsWith('ForAnyValue:')) [set, operator] = ['any', operator.slice('ForAnyValue:'.length)];
  else if (operator.startsWith('ForAllValues:')) [set, operator] = ['all', operator.slice('ForAllValues:'.length)];
  if (operator === 'Null') {
    if (set !== undefined) return { unsupported: `${what} (a set qualifier on Null)` };
    return condition.values.every((v) => (v.toLowerCase() === 'true') === (actual === undefined || actual.length === 0));
  }
  const ifExists = operator.endsWith('IfExists');
  const base = ifExists ? operator.slice(0, -'IfExists'.length) : operator;
  const op = OPERATORS.get(base);
  if (!op) return { unsupported: `${what} (an operator it does not know)` };
  const matches = (value: string) => condition.values.some((wanted) => op.compare(value, wanted));
  if (actual === undefined || actual.length === 0) {
    if (set === 'all') return true;
    if (set === 'any') return false;
    return ifExists || op.negated;
  }
  if (set === 'all') return actual.every((v) => (op.negated ? !matches(v) : matches(v)));
  if (set === 'any') return actual.some((v) => (op.negated ? !matches(v) : matches(v)));
  return op.negated ? !actual.some(matches) : actual.some(matches);
}
