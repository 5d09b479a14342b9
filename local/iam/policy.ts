/**
 * IAM policy documents as the emulator reads them (emulator side): identity policies (roles' and users' inline and
 * managed policies) and resource policies (repository policies). Parsing normalises the shorthands IAM accepts (a
 * single statement object, a string where a list may be, `"Principal": "*"`, an account id for its root) and refuses
 * what IAM refuses, so that evaluation (`evaluate.ts`) meets one shape.
 */

/** Principals a resource policy statement names, by kind; `*` (anyone) as its own value. */
export type PrincipalSet = '*' | ReadonlyMap<string, readonly string[]>;

/** One condition: operator (with its set and IfExists qualifiers), key, and values. */
export interface Condition {
  /** As written, for messages: `ForAnyValue:StringLikeIfExists`. */
  readonly operator: string;
  readonly key: string;
  readonly values: readonly string[];
}

export interface Statement {
  readonly sid?: string;
  readonly effect: 'Allow' | 'Deny';
  /** `Action` (or, when `notActions`, `NotAction`): patterns, matched case-insensitively. */
  readonly actions: readonly string[];
  readonly notActions: boolean;
  /** `Resource`/`NotResource` patterns (case-sensitive); absent in a resource policy, which applies to its resource. */
  readonly resources?: readonly string[];
  readonly notResources: boolean;
  /** `Principal`/`NotPrincipal` (resource policies only). */
  readonly principals?: PrincipalSet;
  readonly notPrincipals: boolean;
  readonly conditions: readonly Condition[];
}

/** A parsed policy, named for messages (`arn:aws:iam::123456789012:role/Publisher` inline policy `Default`). */
export interface Policy {
  readonly name: string;
  readonly statements: readonly Statement[];
}

/** A policy IAM would refuse. */
export class PolicyError extends Error {}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** A string or a list of strings, as a list; anything else refused, naming `where`. */
function strings(value: unknown, where: string): string[] {
  const list = Array.isArray(value) ? value : [value];
  if (list.length === 0 || list.some((v) => typeof v !== 'string')) throw new PolicyError(`${where} must be a string or a non-empty list of strings`);
  return list as string[];
}

/**
 * Parses a policy document (JSON text or its parsed value). `kind` says which elements a statement needs: an identity
 * policy names resources and no principals; a resource policy names principals and (for ECR) no resources.
 */
export function parsePolicy(name: string, document: unknown, kind: 'identity' | 'resource'): Policy {
  let doc = document;
  if (typeof doc === 'string') {
    try {
      doc = JSON.parse(doc);
    } catch {
      throw new PolicyError(`${name}: is not valid JSON`);
    }
  }
  if (!isObject(doc)) throw new PolicyError(`${name}: must be a JSON object`);
  const raw = doc.Statement;
  const list = Array.isArray(raw) ? raw : raw === undefined ? [] : [raw];
  if (list.length === 0) throw new PolicyError(`${name}: has no Statement`);
  return { name, statements: list.map((s, i) => parseStatement(s, `${name}: Statement[${i}]`, kind)) };
}

function parseStatement(raw: unknown, where: string, kind: 'identity' | 'resource'): Statement {
  if (!isObject(raw)) throw new PolicyError(`${where} must be an object`);
  const effect = raw.Effect;
  if (effect !== 'Allow' && effect !== 'Deny') throw new PolicyError(`${where}.Effect must be Allow or Deny`);
  const one = (a: string, b: string): [unknown, boolean] => {
    if (a in raw && b in raw) throw new PolicyError(`${where} has both ${a} and ${b}`);
    return b in raw ? [raw[b], true] : [raw[a], false];
  };
  const [action, notActions] = one('Action', 'NotAction');
  if (action === undefined) throw new PolicyError(`${where} needs Action or NotAction`);
  const [resource, notResources] = one('Resource', 'NotResource');
  const [principal, notPrincipals] = one('Principal', 'NotPrincipal');
  if (kind === 'identity' && principal !== undefined) throw new PolicyError(`${where}: an identity policy cannot name principals`);
  if (kind === 'identity' && resource === undefined) throw new PolicyError(`${where} needs Resource or NotResource`);
  if (kind === 'resource' && principal === undefined) throw new PolicyError(`${where} needs Principal or NotPrincipal`);
  return {
    ...(typeof raw.Sid === 'string' ? { sid: raw.Sid } : {}),
    effect,
    actions: strings(action, `${where}.Action`),
    notActions,
    ...(resource !== undefined ? { resources: strings(resource, `${where}.Resource`) } : {}),
    notResources,
    ...(principal !== undefined ? { principals: parsePrincipals(principal, `${where}.Principal`) } : {}),
    notPrincipals,
    conditions: parseConditions(raw.Condition, `${where}.Condition`),
  };
}

function parsePrincipals(raw: unknown, where: string): PrincipalSet {
  if (raw === '*') return '*';
  if (!isObject(raw)) throw new PolicyError(`${where} must be "*" or an object of principal kinds`);
  const kinds = new Map<string, string[]>();
  for (const [kind, value] of Object.entries(raw)) {
    if (!['AWS', 'Service', 'Federated', 'CanonicalUser'].includes(kind)) throw new PolicyError(`${where} has an unknown principal kind '${kind}'`);
    const list = strings(value, `${where}.${kind}`);
    if (kind === 'AWS' && list.includes('*')) return '*';
    // An account id stands for its root.
    kinds.set(kind, kind === 'AWS' ? list.map((p) => (/^\d{12}$/.test(p) ? `arn:aws:iam::${p}:root` : p)) : list);
  }
  return kinds;
}

function parseConditions(raw: unknown, where: string): Condition[] {
  if (raw === undefined) return [];
  if (!isObject(raw)) throw new PolicyError(`${where} must be an object`);
  const out: Condition[] = [];
  for (const [operator, block] of Object.entries(raw)) {
    if (!isObject(block)) throw new PolicyError(`${where}.${operator} must be an object of condition keys`);
    for (const [key, value] of Object.entries(block)) {
      const list = Array.isArray(value) ? value : [value];
      if (list.some((v) => typeof v !== 'string' && typeof v !== 'boolean' && typeof v !== 'number')) {
        throw new PolicyError(`${where}.${operator}.${key} must be a string, a number, a boolean or a list of them`);
      }
      out.push({ operator, key, values: list.map(String) });
    }
  }
  return out;
}
