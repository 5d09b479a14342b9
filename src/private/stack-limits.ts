/**
 * CloudFormation's limits on a stack (500 resources, a 1 MB template), checked at synth for stacks that hold this
 * library's resources, so that the error says which of them fill the stack and how to make room: CloudFormation would
 * only refuse the deploy, and CDK's own resource-count error names no construct.
 */
import { CfnResource, Stack } from 'aws-cdk-lib';
import { RESOURCE_TYPE_PREFIX } from '../shared/handler-contract';

/** CloudFormation's limit on the resources of a stack (CDK's context key may change it, as CDK's own check allows). */
const MAX_RESOURCES = 500;
const RESOURCE_LIMIT_CONTEXT = '@aws-cdk/core:stackResourceLimit';
/** CloudFormation's limit on a template uploaded through S3, in bytes. */
const MAX_TEMPLATE_BYTES = 1_000_000;
/** Below this many bytes of our own resources the template is not rendered to be measured (rendering costs time). */
const MEASURE_FROM_BYTES = 400_000;
const ADVICE = 'Split the repositories into several stacks (for example one stack per group of repositories, each with '
  + 'its own PublicRepository constructs), or move other resources to another stack.';

const checked = new WeakSet<Stack>();

/** Adds the limit checks to `stack`, once. */
export function checkStackLimits(stack: Stack): void {
  if (checked.has(stack)) return;
  checked.add(stack);
  stack.node.addValidation({ validate: () => limitProblems(stack) });
}

function limitProblems(stack: Stack): string[] {
  const resources = stack.node.findAll()
    .filter((c): c is CfnResource => CfnResource.isCfnResource(c) && Stack.of(c) === stack);
  const ours = resources.filter((r) => r.cfnResourceType.startsWith(RESOURCE_TYPE_PREFIX));
  const contextLimit = stack.node.tryGetContext(RESOURCE_LIMIT_CONTEXT);
  const maxResources = contextLimit !== undefined ? Number(contextLimit) : MAX_RESOURCES;
  if (maxResources > 0 && resources.length > maxResources) {
    return [`stack '${stack.node.path}' has ${resources.length} resources, more than CloudFormation's ${maxResources}: `
      + `${describe(ours)}, and ${resources.length - ours.length} other resources. ${ADVICE}`];
  }
  // As CDK writes the template: indented by one space unless the stack suppresses it.
  const indent = (stack as any)._suppressTemplateIndentation ? undefined : 1;
  const bytesOf = (value: unknown): number => Buffer.byteLength(JSON.stringify(value, undefined, indent));
  const ourBytes = ours.reduce((n, r) => n + bytesOf(stack.resolve((r as any)._toCloudFormation())), 0);
  if (ourBytes < MEASURE_FROM_BYTES) return [];
  const templateBytes = bytesOf((stack as any)._toCloudFormation());
  if (templateBytes <= MAX_TEMPLATE_BYTES) return [];
  return [`stack '${stack.node.path}' has a template of ${templateBytes} bytes, more than CloudFormation's ${MAX_TEMPLATE_BYTES}: `
    + `${ourBytes} bytes are ${describe(ours)} (repository policies are the largest part of them). ${ADVICE}`];
}

/** `480 cdk-ecr-public resources (480 Custom::EcrPublicRepository, ...)`. */
function describe(ours: CfnResource[]): string {
  const byType = new Map<string, number>();
  for (const r of ours) byType.set(r.cfnResourceType, (byType.get(r.cfnResourceType) ?? 0) + 1);
  const types = [...byType].map(([type, n]) => `${n} ${type}`).join(', ');
  return `${ours.length} cdk-ecr-public resources${types ? ` (${types})` : ''}`;
}
