/**
 * CloudFormation intrinsic functions, resolved the way CloudFormation would for the deployer's own resources: `Ref`,
 * `Fn::GetAtt`, `Fn::Sub`, `Fn::Join`, `Fn::Select`, `Fn::Split`, `Fn::If` (with `Conditions`), `Fn::FindInMap`,
 * `Fn::Base64`, `Fn::GetAZs` and `Fn::ImportValue`. A reference to a resource that is not deployed here (a function, a
 * role) resolves to a plausible, stable name or ARN; anything else that cannot be resolved is an error naming the
 * resource and the expression.
 */
import { createHash } from 'crypto';
import type { Template } from './assembly';
import { dict } from '../dictionary';

/** What resolution needs to know about the stack being deployed. */
export interface ResolveEnv {
  readonly stackName: string;
  readonly stackId: string;
  readonly accountId: string;
  readonly region: string;
  readonly template: Template;
  /** Whether the resource is one the deployer deploys (its references are its physical id and attributes). */
  isOurs(logicalId: string): boolean;
  /** One of our resources once deployed; undefined while it is not. */
  deployed(logicalId: string): { physicalResourceId: string; data: Record<string, string> } | undefined;
  /** The value another deployed stack exports under `name`. */
  importValue(name: string): string | undefined;
}

/** An expression that cannot be resolved here. */
export class UnresolvableError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UnresolvableError';
  }
}

/** `Ref: AWS::NoValue`: the property (or list element) holding it is removed. */
const NO_VALUE = Symbol('AWS::NoValue');

const PARTITION = 'aws';
const URL_SUFFIX = 'amazonaws.com';

export class Resolver {
  private readonly conditions = new Map<string, boolean>();
  private readonly evaluating = new Set<string>();

  constructor(private readonly env: ResolveEnv) {}

  /**
   * `value` with every intrinsic function resolved. `where` names what is being resolved (for instance
   * `resource 'Repo' (Custom::EcrPublicRepository)`) in error messages.
   */
  public resolve(value: unknown, where: string): unknown {
    const out = this.value(value, where);
    return out === NO_VALUE ? undefined : out;
  }

  /** Our resources `value` refers to that are not deployed (yet): what it would wait for in CloudFormation. */
  public undeployed(value: unknown): string[] {
    return [...collectReferences(value)].filter((id) => this.env.isOurs(id) && !this.env.deployed(id));
  }

  /** The value of the condition `name` of the template's `Conditions`. */
  public condition(name: string, where: string): boolean {
    const known = this.conditions.get(name);
    if (known !== undefined) return known;
    const expr = this.env.template.Conditions?.[name];
    if (expr === undefined) throw new UnresolvableError(`${where}: the template has no condition named '${name}'`);
    if (this.evaluating.has(name)) throw new UnresolvableError(`${where}: the condition '${name}' refers to itself`);
    this.evaluating.add(name);
    try {
      const result = this.evaluateCondition(expr, `${where}, condition '${name}'`);
      this.conditions.set(name, result);
      return result;
    } finally {
      this.evaluating.delete(name);
    }
  }

  private value(value: unknown, where: string): unknown {
    if (Array.isArray(value)) {
      return value.map((v) => this.value(v, where)).filter((v) => v !== NO_VALUE);
    }
    if (value === null || typeof value !== 'object') return value;
    const keys = Object.keys(value);
    if (keys.length === 1 && (keys[0] === 'Ref' || keys[0].startsWith('Fn::'))) {
      return this.intrinsic(keys[0], (value as Record<string, unknown>)[keys[0]], value, where);
    }
    const out = dict<unknown>();
    for (const [k, v] of Object.entries(value)) {
      const resolved = this.value(v, where);
      if (resolved !== NO_VALUE) out[k] = resolved;
    }
    return out;
  }

  private intrinsic(name: string, arg: unknown, expr: unknown, where: string): unknown {
    const fail = (reason: string): never => {
      throw new UnresolvableError(`${where}: cannot resolve ${JSON.stringify(expr)}: ${reason}`);
    };
    switch (name) {
      case 'Ref':
        if (typeof arg !== 'string') return fail('Ref takes a name');
        return this.ref(arg, fail);
      case 'Fn::GetAtt': {
        const parts = typeof arg === 'string' ? splitOnce(arg, '.') : Array.isArray(arg) ? arg.map((a) => this.value(a, where)) : undefined;
        if (!parts || parts.length !== 2 || typeof parts[0] !== 'string' || typeof parts[1] !== 'string') {
          return fail('Fn::GetAtt takes [resource, attribute]');
        }
        return this.getAtt(parts[0], parts[1], fail);
      }
      case 'Fn::Sub':
        return this.sub(arg, where, fail);
      case 'Fn::Join': {
        if (!Array.isArray(arg) || arg.length !== 2 || typeof arg[0] !== 'string') return fail('Fn::Join takes [delimiter, list]');
        const list = this.value(arg[1], where);
        if (!Array.isArray(list)) return fail('the second argument of Fn::Join is not a list');
        return list.map((item) => scalarText(item, fail)).join(arg[0]);
      }
      case 'Fn::Select': {
        if (!Array.isArray(arg) || arg.length !== 2) return fail('Fn::Select takes [index, list]');
        const index = Number(this.value(arg[0], where));
        const list = this.value(arg[1], where);
        if (!Array.isArray(list)) return fail('the second argument of Fn::Select is not a list');
        if (!Number.isInteger(index) || index < 0 || index >= list.length) return fail(`index ${String(index)} is outside the list of ${list.length}`);
        return list[index];
      }
      case 'Fn::Split': {
        if (!Array.isArray(arg) || arg.length !== 2 || typeof arg[0] !== 'string' || arg[0] === '') return fail('Fn::Split takes [delimiter, string]');
        return scalarText(this.value(arg[1], where), fail).split(arg[0]);
      }
      case 'Fn::If': {
        if (!Array.isArray(arg) || arg.length !== 3 || typeof arg[0] !== 'string') return fail('Fn::If takes [condition, then, else]');
        return this.value(this.condition(arg[0], where) ? arg[1] : arg[2], where);
      }
      case 'Fn::Equals':
      case 'Fn::And':
      case 'Fn::Or':
      case 'Fn::Not':
        return this.evaluateCondition(expr, where);
      case 'Fn::FindInMap': {
        if (!Array.isArray(arg) || arg.length !== 3) return fail('Fn::FindInMap takes [map, top-level key, second-level key]');
        const [map, top, second] = arg.map((a) => scalarText(this.value(a, where), fail));
        const found = this.env.template.Mappings?.[map]?.[top]?.[second];
        if (found === undefined) return fail(`the mapping has no entry ${map}.${top}.${second}`);
        return found;
      }
      case 'Fn::Base64':
        return Buffer.from(scalarText(this.value(arg, where), fail), 'utf8').toString('base64');
      case 'Fn::GetAZs':
        return ['a', 'b', 'c'].map((zone) => `${this.env.region}${zone}`);
      case 'Fn::ImportValue': {
        const exportName = scalarText(this.value(arg, where), fail);
        const imported = this.env.importValue(exportName);
        if (imported === undefined) return fail(`no stack deployed here exports '${exportName}' (deploy the exporting stack first)`);
        return imported;
      }
      default:
        return fail(`${name} is not supported by the local deployer`);
    }
  }

  private ref(name: string, fail: (reason: string) => never): unknown {
    const env = this.env;
    switch (name) {
      case 'AWS::AccountId': return env.accountId;
      case 'AWS::Region': return env.region;
      case 'AWS::Partition': return PARTITION;
      case 'AWS::URLSuffix': return URL_SUFFIX;
      case 'AWS::StackName': return env.stackName;
      case 'AWS::StackId': return env.stackId;
      case 'AWS::NoValue': return NO_VALUE;
      case 'AWS::NotificationARNs': return [];
    }
    if (name.startsWith('AWS::')) return fail(`'${name}' is not a pseudo parameter the local deployer knows`);
    const resource = env.template.Resources?.[name];
    if (resource) {
      if (env.isOurs(name)) {
        const deployed = env.deployed(name);
        if (!deployed) return fail(`the resource '${name}' is not deployed`);
        return deployed.physicalResourceId;
      }
      return plausibleRef(env, name, resource.Type);
    }
    const parameter = env.template.Parameters?.[name];
    if (parameter) return parameterValue(name, parameter, fail);
    return fail(`the template has no resource or parameter named '${name}'`);
  }

  private getAtt(logicalId: string, attribute: string, fail: (reason: string) => never): unknown {
    const env = this.env;
    const resource = env.template.Resources?.[logicalId];
    if (!resource) return fail(`the template has no resource named '${logicalId}'`);
    if (env.isOurs(logicalId)) {
      const deployed = env.deployed(logicalId);
      if (!deployed) return fail(`the resource '${logicalId}' is not deployed`);
      const value = deployed.data[attribute];
      if (value === undefined) {
        const known = Object.keys(deployed.data);
        return fail(`the handler of '${logicalId}' returned no attribute '${attribute}' (it returned ${known.length ? known.join(', ') : 'none'})`);
      }
      return value;
    }
    const value = plausibleAttribute(env, logicalId, resource.Type, attribute);
    if (value === undefined) {
      return fail(`'${logicalId}' (${resource.Type}) is not deployed locally and its attribute '${attribute}' has no stand-in value`);
    }
    return value;
  }

  private sub(arg: unknown, where: string, fail: (reason: string) => never): string {
    let text: unknown;
    let vars: Record<string, unknown> = {};
    if (typeof arg === 'string') {
      text = arg;
    } else if (Array.isArray(arg) && arg.length === 2 && arg[1] !== null && typeof arg[1] === 'object' && !Array.isArray(arg[1])) {
      text = arg[0];
      vars = arg[1] as Record<string, unknown>;
    } else {
      return fail('Fn::Sub takes a string or [string, variables]');
    }
    if (typeof text !== 'string') return fail('the text of Fn::Sub must be a literal string');
    return text.replace(/\$\{([^}]*)\}/g, (_whole, inner: string) => {
      if (inner.startsWith('!')) return `\${${inner.slice(1)}}`;
      const name = inner.trim();
      if (Object.prototype.hasOwnProperty.call(vars, name)) return scalarText(this.value(vars[name], where), fail);
      const dot = name.indexOf('.');
      if (dot > 0 && !name.startsWith('AWS::')) return scalarText(this.getAtt(name.slice(0, dot), name.slice(dot + 1), fail), fail);
      return scalarText(this.ref(name, fail), fail);
    });
  }

  private evaluateCondition(expr: unknown, where: string): boolean {
    const fail = (reason: string): never => {
      throw new UnresolvableError(`${where}: cannot evaluate the condition ${JSON.stringify(expr)}: ${reason}`);
    };
    if (expr === null || typeof expr !== 'object' || Array.isArray(expr) || Object.keys(expr).length !== 1) return fail('not a condition function');
    const [name, arg] = Object.entries(expr)[0];
    const list = (n: number | undefined): unknown[] => {
      if (!Array.isArray(arg) || (n !== undefined && arg.length !== n)) return fail(`${name} takes ${n ?? 'a list of'} argument(s)`);
      return arg;
    };
    switch (name) {
      case 'Condition':
        if (typeof arg !== 'string') return fail('Condition takes a name');
        return this.condition(arg, where);
      case 'Fn::Equals': {
        const [a, b] = list(2).map((v) => this.value(v, where));
        return JSON.stringify(stringifyScalars(a)) === JSON.stringify(stringifyScalars(b));
      }
      case 'Fn::And':
        return list(undefined).every((c) => this.evaluateCondition(c, where));
      case 'Fn::Or':
        return list(undefined).some((c) => this.evaluateCondition(c, where));
      case 'Fn::Not':
        return !this.evaluateCondition(list(1)[0], where);
      default:
        return fail(`${name} is not a condition function`);
    }
  }
}

/** The logical ids `value` refers to (Ref, Fn::GetAtt, and the variables of Fn::Sub), pseudo parameters excluded. */
export function collectReferences(value: unknown, into: Set<string> = new Set()): Set<string> {
  if (Array.isArray(value)) {
    for (const v of value) collectReferences(v, into);
    return into;
  }
  if (value === null || typeof value !== 'object') return into;
  const entries = Object.entries(value);
  if (entries.length === 1) {
    const [key, arg] = entries[0];
    if (key === 'Ref' && typeof arg === 'string') {
      if (!arg.startsWith('AWS::')) into.add(arg);
      return into;
    }
    if (key === 'Fn::GetAtt') {
      const target = typeof arg === 'string' ? arg.split('.')[0] : Array.isArray(arg) ? arg[0] : undefined;
      if (typeof target === 'string') into.add(target);
      return into;
    }
    if (key === 'Fn::Sub') {
      const text = typeof arg === 'string' ? arg : Array.isArray(arg) ? arg[0] : undefined;
      const vars = Array.isArray(arg) && arg[1] && typeof arg[1] === 'object' ? arg[1] as Record<string, unknown> : {};
      if (typeof text === 'string') {
        for (const match of text.matchAll(/\$\{([^}!][^}]*)\}/g)) {
          const name = match[1].trim();
          if (Object.prototype.hasOwnProperty.call(vars, name) || name.startsWith('AWS::')) continue;
          into.add(name.split('.')[0]);
        }
      }
      collectReferences(Object.values(vars), into);
      return into;
    }
  }
  for (const [, v] of entries) collectReferences(v, into);
  return into;
}

/**
 * CloudFormation hands a custom resource every scalar property as a string: numbers and booleans become strings, at
 * every depth.
 */
export function stringifyScalars(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(stringifyScalars);
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  if (value !== null && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, stringifyScalars(v)]));
  }
  return value;
}

/** A stable stand-in for the physical name CloudFormation would give a resource: `<stack>-<logical id>-<hash>`. */
export function plausibleName(stackName: string, logicalId: string, type: string): string {
  const hash = createHash('sha256').update(`${stackName}/${logicalId}`).digest('hex').slice(0, 12).toUpperCase();
  const name = `${stackName.slice(0, 20)}-${logicalId.slice(0, 28)}-${hash}`;
  return type === 'AWS::S3::Bucket' || type === 'AWS::ECR::Repository' ? name.toLowerCase() : name;
}

/** A plausible ARN of a resource that is not deployed locally. */
export function plausibleArn(env: Pick<ResolveEnv, 'accountId' | 'region' | 'stackName'>, logicalId: string, type: string): string {
  const name = plausibleName(env.stackName, logicalId, type);
  const { accountId: account, region } = env;
  switch (type) {
    case 'AWS::Lambda::Function': return `arn:${PARTITION}:lambda:${region}:${account}:function:${name}`;
    case 'AWS::IAM::Role': return `arn:${PARTITION}:iam::${account}:role/${name}`;
    case 'AWS::IAM::User': return `arn:${PARTITION}:iam::${account}:user/${name}`;
    case 'AWS::IAM::ManagedPolicy': return `arn:${PARTITION}:iam::${account}:policy/${name}`;
    case 'AWS::S3::Bucket': return `arn:${PARTITION}:s3:::${name}`;
    case 'AWS::Logs::LogGroup': return `arn:${PARTITION}:logs:${region}:${account}:log-group:${name}:*`;
    case 'AWS::SNS::Topic': return `arn:${PARTITION}:sns:${region}:${account}:${name}`;
    case 'AWS::SQS::Queue': return `arn:${PARTITION}:sqs:${region}:${account}:${name}`;
    default: {
      const [, service = 'cloudformation', kind = 'resource'] = type.split('::');
      return `arn:${PARTITION}:${service.toLowerCase()}:${region}:${account}:${kind.toLowerCase()}/${name}`;
    }
  }
}

/** What `Ref` of a resource that is not deployed locally returns: its ARN for the types whose Ref is one, else its name. */
function plausibleRef(env: ResolveEnv, logicalId: string, type: string): string {
  if (type === 'AWS::SNS::Topic' || type === 'AWS::IAM::ManagedPolicy') return plausibleArn(env, logicalId, type);
  if (type === 'AWS::SQS::Queue') {
    return `https://sqs.${env.region}.${URL_SUFFIX}/${env.accountId}/${plausibleName(env.stackName, logicalId, type)}`;
  }
  return plausibleName(env.stackName, logicalId, type);
}

/** A stand-in for an attribute of a resource that is not deployed locally: ARNs, names and ids only. */
function plausibleAttribute(env: ResolveEnv, logicalId: string, type: string, attribute: string): string | undefined {
  if (attribute === 'Arn' || attribute.endsWith('Arn')) return plausibleArn(env, logicalId, type);
  if (attribute.endsWith('Name')) return plausibleName(env.stackName, logicalId, type);
  if (attribute.endsWith('Id')) {
    return createHash('sha256').update(`${env.stackName}/${logicalId}/${attribute}`).digest('hex').slice(0, 21).toUpperCase();
  }
  return undefined;
}

/** A parameter's value: its default (SSM-backed parameters have none the deployer can read). */
function parameterValue(name: string, parameter: { Type?: string; Default?: unknown }, fail: (reason: string) => never): unknown {
  const type = parameter.Type ?? 'String';
  if (type.startsWith('AWS::SSM::')) return fail(`the parameter '${name}' is read from SSM (${type}), which the local deployer cannot do`);
  if (parameter.Default === undefined) return fail(`the parameter '${name}' has no default, and the local deployer takes no parameter values`);
  if (type === 'CommaDelimitedList' || type.startsWith('List<')) return String(parameter.Default).split(',').map((s) => s.trim());
  return String(parameter.Default);
}

function scalarText(value: unknown, fail: (reason: string) => never): string {
  if (typeof value === 'string') return value;
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  return fail(`expected a string, got ${JSON.stringify(value)}`);
}

function splitOnce(text: string, separator: string): string[] {
  const at = text.indexOf(separator);
  return at < 0 ? [text] : [text.slice(0, at), text.slice(at + 1)];
}
