/**
 * The tags the app's PublicImages publish into each repository (synth side): the sweeper never expires the images that
 * carry them, so that a rule cannot delete what a deploy just published.
 *
 * A repository is one thing under several constructs: its own `PublicRepository`, and any number of imports
 * (`PublicRepository.fromRepositoryName`/`fromRepositoryArn`) in this stack or in the app's other stacks. Publications
 * are therefore recorded per app, under the repository's name whenever that name is known at synth, and under the
 * construct only when it is not (a name that is a token, such as a parameter: only images published through that very
 * construct can be matched to it).
 */
import { IConstruct } from 'constructs';
import { synthName } from '../private/repository-names';

/** A PublicImage and the tags it publishes. */
export interface Publication {
  readonly image: IConstruct;
  readonly tags: readonly string[];
}

/** A repository construct as the sweep and PublicImage see it. */
export interface NamedRepository extends IConstruct {
  readonly repositoryName: string;
}

/** Per app (the construct tree's root): publications by repository name, and by construct for names unknown at synth. */
interface AppPublications {
  readonly byName: Map<string, Publication[]>;
  readonly byConstruct: WeakMap<IConstruct, Publication[]>;
}

const apps = new WeakMap<IConstruct, AppPublications>();

function publicationsOf(scope: IConstruct): AppPublications {
  const root = scope.node.root;
  let app = apps.get(root);
  if (!app) {
    app = { byName: new Map(), byConstruct: new WeakMap() };
    apps.set(root, app);
  }
  return app;
}

function push<K>(map: { get(k: K): Publication[] | undefined; set(k: K, v: Publication[]): unknown }, key: K, p: Publication): void {
  const list = map.get(key) ?? [];
  list.push(p);
  map.set(key, list);
}

/** Records that `image` publishes `tags` into `repository`. */
export function recordPublishedTags(repository: NamedRepository, image: IConstruct, tags: readonly string[]): void {
  const app = publicationsOf(image);
  const publication = { image, tags: [...tags] };
  const name = synthName(repository);
  if (name === undefined) push(app.byConstruct, repository, publication);
  else push(app.byName, name, publication);
}

/**
 * The PublicImages of the whole app that publish into `repository` (named `repositoryName`, known at synth: the sweep
 * requires it), through this construct or any other that names the same repository, and their tags.
 */
export function publicationsInto(repository: IConstruct, repositoryName: string): readonly Publication[] {
  const app = publicationsOf(repository);
  return [...(app.byName.get(repositoryName) ?? []), ...(app.byConstruct.get(repository) ?? [])];
}
