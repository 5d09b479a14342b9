/**
 * The repository a registry path names: `<alias>/<repositoryName>`, as on public.ecr.aws. The one place the registry
 * API reads the alias.
 */
import { RegistryError } from './errors';
import { Context } from '../service/context';
import { repositoryNotFound } from '../service/errors';
import { has, RepositoryRecord } from '../store/model';

/** Whether a request reads (distribution's wording when the repository is missing) or pushes (the API's wording). */
export type Access = 'pull' | 'push';

/**
 * The repository `name` (`<alias>/<repositoryName>`) names; NAME_UNKNOWN when it does not exist (pushes create none).
 * A missing repository under the alias is worded as the ECR Public API words it on pushes, which share its rules.
 * With `sameAs` (the repository the request found when it arrived), NAME_UNKNOWN also when that one was deleted
 * meanwhile, even if another of the same name was created since: a push never lands in a repository it did not start in.
 */
export function findNamedRepository(ctx: Context, name: string, access: Access, sameAs?: RepositoryRecord): RepositoryRecord {
  const alias = ctx.store.state.registry.alias;
  const repositoryName = alias && name.startsWith(`${alias}/`) ? name.slice(alias.length + 1) : undefined;
  const { repositories } = ctx.store.state;
  const repo = repositoryName !== undefined && has(repositories, repositoryName) ? repositories[repositoryName] : undefined;
  if (!repo) {
    const message = access === 'push' && repositoryName !== undefined
      ? repositoryNotFound(repositoryName, ctx.accountId).message
      : `repository name not known to registry: ${name}`;
    throw new RegistryError('NAME_UNKNOWN', message);
  }
  if (sameAs !== undefined && repo !== sameAs) {
    throw new RegistryError('NAME_UNKNOWN', `the repository ${name} was deleted while the request was received`);
  }
  return repo;
}
