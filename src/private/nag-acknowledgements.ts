/**
 * The wildcards our handlers' policies need by design, acknowledged for cdk-nag users in both of its formats: cdk-nag
 * 2 (an Aspect) reads `cdk_nag` metadata on the CloudFormation resource; cdk-nag 3 (a policy-validation plugin) reads
 * the acknowledgements aws-cdk-lib's `Validations.of(scope).acknowledge` records (aws-cdk-lib 2.2xx and later; cdk-nag
 * 3 needs one of those). Each acknowledgement names one finding, so a wildcard nobody gave a reason for still fails.
 */
import * as cdk from 'aws-cdk-lib';
import { CfnResource, Stack, aws_iam as iam } from 'aws-cdk-lib';
import { IConstruct } from 'constructs';

/** Why each kind of wildcard is there: true of every resource it is acknowledged on. */
export const WILDCARD_REASONS = {
  repositories: 'The handler acts on the public repositories its resources name, in this account (repository/*): the '
    + 'grant stays the same whatever resources come and go, so that a removed or renamed repository can still be deleted',
  assets: "The handler reads the stack's file assets from the bootstrap asset bucket (its objects, /*): their keys are "
    + 'content hashes that change with every content change, and one grant keeps the role the same when they do',
  authorizationToken: 'ecr:GetAuthorizationToken accepts no resource narrower than *; the pull actions are granted on '
    + 'the one source repository',
} as const;

const REASONS = new WeakMap<iam.PolicyStatement, string>();

/** `statement`, whose wildcard resources are acknowledged with `reason` wherever it is added to a policy. */
export function withWildcardReason(statement: iam.PolicyStatement, reason: string): iam.PolicyStatement {
  REASONS.set(statement, reason);
  return statement;
}

/**
 * Acknowledges AwsSolutions-IAM5 for each wildcard resource of `statement` on `policy` (the construct of the
 * `AWS::IAM::Policy` it was added to), when the statement was given a reason.
 */
export function acknowledgeWildcards(policy: IConstruct, statement: iam.PolicyStatement): void {
  const reason = REASONS.get(statement);
  if (reason === undefined) return;
  const resource = CfnResource.isCfnResource(policy) ? policy : policy.node.defaultChild as CfnResource;
  const stack = Stack.of(policy);
  for (const arn of statement.resources) {
    const finding = `Resource::${flattenCfnReference(stack.resolve(arn))}`;
    if (finding.includes('*')) acknowledge(resource, 'AwsSolutions-IAM5', finding, reason);
  }
}

interface NagSuppression {
  readonly id: string;
  readonly reason: string;
  readonly applies_to?: string[];
}

function acknowledge(resource: CfnResource, rule: string, finding: string, reason: string): void {
  // cdk-nag 2: one rule entry per reason, listing the findings it covers; metadata is replaced, so merge.
  const rules: NagSuppression[] = [...(resource.getMetadata('cdk_nag')?.rules_to_suppress ?? [])];
  const same = rules.findIndex((r) => r.id === rule && r.reason === reason && r.applies_to !== undefined);
  if (same < 0) {
    rules.push({ id: rule, reason, applies_to: [finding] });
  } else if (!rules[same].applies_to!.includes(finding)) {
    rules[same] = { ...rules[same], applies_to: [...rules[same].applies_to!, finding] };
  }
  resource.addMetadata('cdk_nag', { rules_to_suppress: rules });
  // cdk-nag 3: `Validations` is not in the oldest aws-cdk-lib of our peer range (nor is cdk-nag 3 usable there).
  const validations = (cdk as unknown as Record<string, unknown>).Validations as
    { of(scope: IConstruct): { acknowledge(...rules: Array<{ id: string; reason: string }>): void } } | undefined;
  validations?.of(resource).acknowledge({ id: `${rule}[${finding}]`, reason });
}

/**
 * A resolved ARN as cdk-nag names it in a finding (its `flattenCfnReference`, the same in cdk-nag 2 and 3): joins
 * joined, `Ref` and `Fn::GetAtt` in angle brackets, `Fn::Sub` placeholders in angle brackets.
 */
function flattenCfnReference(node: unknown): string {
  if (node === undefined) return '';
  if (typeof node === 'string') return node.replace(/\${/g, '<').replace(/}/g, '>');
  const o = (node ?? {}) as Record<string, any>;
  if (o['Fn::Join']) return (o['Fn::Join'][1] as unknown[]).map(flattenCfnReference).join(o['Fn::Join'][0]);
  if (o['Fn::Sub']) return flattenCfnReference(o['Fn::Sub']);
  if (o['Fn::GetAtt']) return `<${flattenCfnReference(o['Fn::GetAtt'][0])}.${flattenCfnReference(o['Fn::GetAtt'][1])}>`;
  if (o['Fn::ImportValue']) return flattenCfnReference(o['Fn::ImportValue']);
  if (o.Ref) return `<${flattenCfnReference(o.Ref)}>`;
  return JSON.stringify(node);
}
