/**
 * The catalog data and policy a `PublicRepository` keeps for itself. Its policy may be empty, meaning "no policy", so
 * removing the last statement from the app removes the access it gave; and it is the repository's only policy resource.
 */
import { IConstruct } from 'constructs';

const policies = new WeakSet<IConstruct>();
const repositories = new WeakSet<IConstruct>();

/** Marks `repository` as keeping its own catalog-data and policy resources. */
export function registerOwnCatalogAndPolicy(repository: IConstruct): void {
  repositories.add(repository);
}

/** Whether `repository` keeps its own catalog-data and policy resources (then no other may set them). */
export function keepsOwnCatalogAndPolicy(repository: IConstruct): boolean {
  return repositories.has(repository);
}

/** Lets `policy` be empty. */
export function allowEmptyPolicy(policy: IConstruct): void {
  policies.add(policy);
}

/** Whether `policy` may be empty. */
export function mayBeEmpty(policy: IConstruct): boolean {
  return policies.has(policy);
}
