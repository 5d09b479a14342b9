/**
 * The tags the app's PublicImages publish into each repository (synth side): the sweeper never expires the images that
 * carry them, so that a rule cannot delete what a deploy just published.
 */
import { IConstruct } from 'constructs';

interface Publication {
  readonly image: IConstruct;
  readonly tags: readonly string[];
}

const publications = new WeakMap<IConstruct, Publication[]>();

/** Records that `image` publishes `tags` into `repository`. */
export function recordPublishedTags(repository: IConstruct, image: IConstruct, tags: readonly string[]): void {
  const list = publications.get(repository) ?? [];
  list.push({ image, tags: [...tags] });
  publications.set(repository, list);
}

/** The PublicImages that publish into `repository`, and their tags. */
export function publicationsInto(repository: IConstruct): readonly Publication[] {
  return publications.get(repository) ?? [];
}
