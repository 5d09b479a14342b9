/**
 * Synth-time rules of a repository policy, in one place for every construct that renders one.
 *
 * A repository policy is a resource-based policy whose resource is implied: ECR refuses a `Resource` or `NotResource`
 * element in it (`Invalid repository policy provided`), while aws-cdk-lib's `validateForResourcePolicy()` demands a
 * resource in every statement from 2.2xx on. So the rules are checked here on the rendered document, the same way on
 * every aws-cdk-lib of the peer range, rather than through that method.
 */
import { Stack, aws_iam as iam } from 'aws-cdk-lib';

/** The service's limit on a repository policy's text. */
export const MAX_POLICY_CHARACTERS = 10_240;

/** The problems of `document` as a repository policy, each starting with `document:`; empty when there is none. */
export function repositoryPolicyProblems(stack: Stack, document: iam.PolicyDocument): string[] {
  const problems = document.validateForAnyPolicy().map((e) => `document: ${e}`);
  const rendered = stack.resolve(document.toJSON()) as { Statement?: Array<Record<string, unknown>> } | undefined;
  (rendered?.Statement ?? []).forEach((statement, i) => {
    const which = typeof statement.Sid === 'string' ? `statement ${i} (Sid ${JSON.stringify(statement.Sid)})` : `statement ${i}`;
    for (const element of ['Resource', 'NotResource']) {
      if (element in statement) {
        problems.push(`document: ${which} has a ${element} element, which ECR refuses in repository policies `
          + '(the policy applies to its repository): build the statement without resources');
      }
    }
    if (!('Principal' in statement) && !('NotPrincipal' in statement)) {
      problems.push(`document: ${which} must name principals: a repository policy says who may act on the repository`);
    }
  });
  // Unresolved values (ARNs of other resources) are short; the limit is checked on what is known.
  const text = JSON.stringify(rendered ?? {});
  if (text.length > MAX_POLICY_CHARACTERS) {
    problems.push(`document: must be at most ${MAX_POLICY_CHARACTERS} characters as JSON (got ${text.length})`);
  }
  return problems;
}
