/**
 * A repository policy document as a resource property (synth side), shared by `PublicRepository`, which carries its
 * policy, and `PublicRepositoryPolicy`, for imported repositories: the text, and the checks of it.
 *
 * A repository policy is a resource-based policy whose resource is implied: ECR refuses a `Resource` or `NotResource`
 * element in it (`Invalid repository policy provided`), while aws-cdk-lib's `validateForResourcePolicy()` demands a
 * resource in every statement from 2.2xx on. So the rules are checked here on the rendered document, the same way on
 * every aws-cdk-lib of the peer range, rather than through that method.
 */
import { Lazy, Stack, aws_iam as iam } from 'aws-cdk-lib';

/** The service's limit on a repository policy's text. */
const MAX_POLICY_CHARACTERS = 10_240;

/** The document as JSON text, rendered at synthesis (statements may be added until then); '' when it has none. */
export function policyText(stack: Stack, document: iam.PolicyDocument): string {
  return Lazy.string({ produce: () => (document.isEmpty ? '' : stack.toJsonString(document.toJSON())) });
}

/**
 * What is wrong with the document, each problem prefixed with `prop`. An empty document is a problem unless
 * `emptyMeansNoPolicy`.
 */
export function policyProblems(stack: Stack, prop: string, document: iam.PolicyDocument, emptyMeansNoPolicy: boolean): string[] {
  if (document.isEmpty) return emptyMeansNoPolicy ? [] : [`${prop}: must have at least one statement`];
  const problems = document.validateForAnyPolicy().map((e) => `${prop}: ${e}`);
  const rendered = stack.resolve(document.toJSON()) as { Statement?: Array<Record<string, unknown>> } | undefined;
  (rendered?.Statement ?? []).forEach((statement, i) => {
    const which = typeof statement.Sid === 'string' ? `statement ${i} (Sid ${JSON.stringify(statement.Sid)})` : `statement ${i}`;
    for (const element of ['Resource', 'NotResource']) {
      if (element in statement) {
        problems.push(`${prop}: ${which} has a ${element} element, which ECR refuses in repository policies `
          + '(the policy applies to its repository): build the statement without resources');
      }
    }
    if (!('Principal' in statement) && !('NotPrincipal' in statement)) {
      problems.push(`${prop}: ${which} must name principals: a repository policy says who may act on the repository`);
    }
  });
  // Unresolved values (ARNs of other resources) are short; the limit is checked on what is known.
  const text = JSON.stringify(rendered ?? {});
  if (text.length > MAX_POLICY_CHARACTERS) {
    problems.push(`${prop}: must be at most ${MAX_POLICY_CHARACTERS} characters as JSON (got ${text.length})`);
  }
  return problems;
}
