/** SetRepositoryPolicy, GetRepositoryPolicy and DeleteRepositoryPolicy. */
import { Context, findRepository, Operation } from './context';
import { ecrError, EcrPublicError, invalidParameter } from './errors';

/**
 * Checks that the text is an IAM resource policy in outline. The service parses policies but does not document its
 * checks; this refuses what IAM would refuse outright (not JSON, no statements, a statement without effect, principal
 * or action), and a `Resource` or `NotResource` element, which ECR refuses in repository policies (the policy applies
 * to its repository).
 */
function checkPolicy(text: string): void {
  const refuse = (why: string) => invalidParameter('policyText', `Invalid repository policy provided: ${why}`);
  let policy: any;
  try {
    policy = JSON.parse(text);
  } catch {
    throw refuse('not valid JSON');
  }
  if (typeof policy !== 'object' || policy === null || Array.isArray(policy)) throw refuse('not a JSON object');
  const statements = Array.isArray(policy.Statement) ? policy.Statement : policy.Statement ? [policy.Statement] : [];
  if (statements.length === 0) throw refuse('no Statement');
  statements.forEach((s: any, i: number) => {
    if (typeof s !== 'object' || s === null) throw refuse(`Statement[${i}] is not an object`);
    if (s.Effect !== 'Allow' && s.Effect !== 'Deny') throw refuse(`Statement[${i}].Effect must be Allow or Deny`);
    if (s.Principal === undefined && s.NotPrincipal === undefined) throw refuse(`Statement[${i}] has no Principal`);
    if (s.Action === undefined && s.NotAction === undefined) throw refuse(`Statement[${i}] has no Action`);
    for (const element of ['Resource', 'NotResource']) {
      if (Object.prototype.hasOwnProperty.call(s, element)) throw refuse(`Statement[${i}] has a ${element} element`);
    }
  });
}

function policyOutput(ctx: Context, name: string, policyText: string): Record<string, unknown> {
  return { registryId: ctx.accountId, repositoryName: name, policyText };
}

function policyNotFound(ctx: Context, name: string): EcrPublicError {
  return ecrError('RepositoryPolicyNotFoundException', name, ctx.accountId);
}

export const setRepositoryPolicy: Operation = (ctx, input) => {
  const repo = findRepository(ctx, input);
  checkPolicy(input.policyText);
  repo.policyText = input.policyText;
  ctx.store.commit();
  return policyOutput(ctx, repo.name, input.policyText);
};

export const getRepositoryPolicy: Operation = (ctx, input) => {
  const repo = findRepository(ctx, input);
  if (repo.policyText === undefined) throw policyNotFound(ctx, repo.name);
  return policyOutput(ctx, repo.name, repo.policyText);
};

export const deleteRepositoryPolicy: Operation = (ctx, input) => {
  const repo = findRepository(ctx, input);
  const text = repo.policyText;
  if (text === undefined) throw policyNotFound(ctx, repo.name);
  delete repo.policyText;
  ctx.store.commit();
  return policyOutput(ctx, repo.name, text);
};
