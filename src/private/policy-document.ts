/**
 * A repository policy document as a resource property (synth side), shared by `PublicRepository`, which carries its
 * policy, and `PublicRepositoryPolicy`, for imported repositories: the text, and the checks of it.
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
  const errors = document.validateForResourcePolicy().map((e) => `${prop}: ${e}`);
  const text = JSON.stringify(stack.resolve(document.toJSON()));
  // Unresolved values (ARNs of other resources) are short; the limit is checked on what is known.
  if (text.length > MAX_POLICY_CHARACTERS) {
    errors.push(`${prop}: must be at most ${MAX_POLICY_CHARACTERS} characters as JSON (got ${text.length})`);
  }
  return errors;
}
