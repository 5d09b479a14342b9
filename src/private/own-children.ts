/**
 * The repositories that carry their own catalog data and policy (every `PublicRepository`): no separate catalog-data or
 * policy resource may set them, or the two would overwrite each other.
 */
import { IConstruct } from 'constructs';

const repositories = new WeakSet<IConstruct>();

/** Marks `repository` as carrying its own catalog data and policy. */
export function registerOwnCatalogAndPolicy(repository: IConstruct): void {
  repositories.add(repository);
}

/** Whether `repository` carries its own catalog data and policy (then no other resource may set them). */
export function keepsOwnCatalogAndPolicy(repository: IConstruct): boolean {
  return repositories.has(repository);
}
