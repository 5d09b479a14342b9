/**
 * The name of each repository construct as known at synth (synth side). A `PublicRepository` exposes its name as a
 * reference to its resource (so that whatever uses it is ordered after the repository exists), which is a token; what
 * must match repositories by name at synth (published tags across stacks, grants to other accounts) asks here.
 */
import { Token } from 'aws-cdk-lib';
import { IConstruct } from 'constructs';

const names = new WeakMap<IConstruct, string>();

/** Records the name `repository` creates its repository with. */
export function recordSynthName(repository: IConstruct, name: string): void {
  if (!Token.isUnresolved(name)) names.set(repository, name);
}

/** The repository's name when it is known at synth: recorded by its construct, or a literal; undefined otherwise. */
export function synthName(repository: IConstruct & { readonly repositoryName: string }): string | undefined {
  const recorded = names.get(repository);
  if (recorded !== undefined) return recorded;
  return Token.isUnresolved(repository.repositoryName) ? undefined : repository.repositoryName;
}
