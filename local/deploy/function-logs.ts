/**
 * Whether a function's role lets Lambda write the function's logs (deployer side). On AWS the Lambda runtime writes a
 * handler's console lines to CloudWatch Logs as the function's role; a role without `logs:CreateLogStream` and
 * `logs:PutLogEvents` on the function's log group does not fail anything there: the lines are lost, and with them
 * what a failed deploy would have said. The emulator serves no CloudWatch Logs, so the deployer asks IAM's evaluation
 * itself and says so.
 */
import type { AssemblyStack } from './assembly';
import { Resolver } from './intrinsics';
import type { RoleRecord } from './state';
import { authorize, Caller } from '../iam/evaluate';
import { parsePolicy } from '../iam/policy';

/** What the runtime does with a log group that exists (the template's, or one made before). */
const LOG_ACTIONS = ['logs:CreateLogStream', 'logs:PutLogEvents'];

/**
 * Why the role of the function `functionId` (named `functionName`) cannot write its logs, or undefined when it can.
 * The log group is the function's `LoggingConfig.LogGroup`, else `/aws/lambda/<function name>`.
 */
export function logsProblem(
  stack: AssemblyStack, resolver: Resolver, functionId: string, functionName: string, role: RoleRecord, accountId: string, region: string,
): string | undefined {
  const props = (stack.template.Resources?.[functionId]?.Properties ?? {}) as Record<string, unknown>;
  const logging = (props.LoggingConfig ?? {}) as Record<string, unknown>;
  const where = `function '${functionId}'`;
  const group = logging.LogGroup === undefined ? `/aws/lambda/${functionName}` : String(resolver.resolve(logging.LogGroup, `${where}: its LoggingConfig`));
  const stream = `arn:aws:logs:${region}:${accountId}:log-group:${group}:log-stream:2026/01/01/[$LATEST]0123456789abcdef`;
  const [, account, name] = /^arn:[^:]+:iam::(\d{12}):role\/(?:.*\/)?([^/]+)$/.exec(role.arn) ?? [];
  if (account === undefined) return undefined;
  let caller: Caller;
  try {
    caller = {
      arn: `arn:aws:sts::${account}:assumed-role/${name}/${functionName}`,
      principalArn: role.arn,
      account,
      type: 'AssumedRole',
      tags: new Map(Object.entries(role.tags ?? {})),
      policies: role.policies.map((p) => parsePolicy(`${role.arn} policy ${p.name}`, p.document, 'identity')),
    };
  } catch {
    // A policy IAM refuses is the emulator's to report, when the handler's first call is decided.
    return undefined;
  }
  const denied = LOG_ACTIONS.filter((action) => !authorize(caller, { action, resource: stream }).allowed);
  if (denied.length === 0) return undefined;
  return `${where}'s role ${role.arn} may not ${denied.join(' or ')} on its log group ${group}: on AWS, Lambda could not write `
    + 'the handler\'s log lines, and what a failed deploy says would be lost';
}
