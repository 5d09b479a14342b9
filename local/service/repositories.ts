/** CreateRepository, DeleteRepository and DescribeRepositories. */
import { catalogDataOutput, setCatalogData } from './catalog-data';
import { findRepository, nowSeconds, Operation, paginate, refusePaginationWith, repositoryOutput } from './context';
import { ecrError } from './errors';
import { applyTags, checkTags } from './tags';
import { emptyRepository, has } from '../store/model';

export const createRepository: Operation = (ctx, input) => {
  const { state } = ctx.store;
  const name: string = input.repositoryName;
  if (has(state.repositories, name)) {
    throw ecrError('RepositoryAlreadyExistsException', name, ctx.accountId);
  }
  if (Object.keys(state.repositories).length >= ctx.limits.maxRepositories) {
    throw ecrError('LimitExceededException', 'repositories', ctx.limits.maxRepositories, ctx.accountId);
  }
  const repo = emptyRepository(name, nowSeconds(ctx));
  // Every check runs before anything is stored: a refused request leaves no trace.
  if (input.tags) applyTags(repo, checkTags(input.tags));
  if (input.catalogData) setCatalogData(ctx, repo, input.catalogData);
  // The service assigns the registry's default alias when the first repository is created.
  state.registry.alias ??= ctx.aliasToAssign;
  state.repositories[name] = repo;
  ctx.store.commit();
  return { repository: repositoryOutput(ctx, repo), catalogData: catalogDataOutput(ctx, repo.catalogData) };
};

export const deleteRepository: Operation = (ctx, input) => {
  const repo = findRepository(ctx, input);
  const imageCount = Object.keys(repo.images).length;
  if (imageCount > 0 && !input.force) {
    throw ecrError('RepositoryNotEmptyException', repo.name, ctx.accountId, imageCount);
  }
  const output = repositoryOutput(ctx, repo);
  const { state } = ctx.store;
  delete state.repositories[repo.name];
  for (const [id, upload] of Object.entries(state.uploads)) {
    if (upload.repositoryName === repo.name) {
      delete state.uploads[id];
      ctx.store.discardUpload(id);
    }
  }
  ctx.store.commit();
  return { repository: output };
};

export const describeRepositories: Operation = (ctx, input) => {
  refusePaginationWith(input, 'repositoryNames');
  if (input.repositoryNames) {
    const repos = (input.repositoryNames as string[]).map((name) => findRepository(ctx, { registryId: input.registryId, repositoryName: name }));
    return { repositories: repos.map((r) => repositoryOutput(ctx, r)) };
  }
  const registryId = input.registryId ?? ctx.accountId;
  const all = registryId === ctx.accountId
    ? Object.values(ctx.store.state.repositories).sort((a, b) => a.name.localeCompare(b.name))
    : [];
  const { page, nextToken } = paginate(all, input, `DescribeRepositories:${registryId}`);
  return { repositories: page.map((r) => repositoryOutput(ctx, r)), nextToken };
};
