/**
 * What IAM reads of the registry's state (the service core's side of `iam/authorizer.ts`): each repository's policy,
 * parsed as IAM reads a resource policy, and its resource tags. A policy the emulator stored but IAM could not read
 * allows nothing (it was accepted by the rules of SetRepositoryPolicy, which are narrower than IAM's).
 */
import { Context } from './context';
import { ResourceFacts } from '../iam/authorizer';
import { parsePolicy, Policy, PolicyError } from '../iam/policy';
import { has } from '../store/model';

export function resourceFacts(ctx: Context): ResourceFacts {
  const repository = (name: string) => {
    const { repositories } = ctx.store.state;
    return has(repositories, name) ? repositories[name] : undefined;
  };
  return {
    policyOf: (name: string): Policy | undefined => {
      const text = repository(name)?.policyText;
      if (text === undefined) return undefined;
      try {
        return parsePolicy(`the repository policy of ${name}`, text, 'resource');
      } catch (err) {
        if (!(err instanceof PolicyError)) throw err;
        return { name: `the repository policy of ${name}`, statements: [] };
      }
    },
    tagsOf: (name: string) => {
      const repo = repository(name);
      return repo === undefined ? undefined : new Map(repo.resourceTags.map((t) => [t.Key, t.Value]));
    },
  };
}
