/**
 * Choosing one image of an archive by a ref. The same rules serve OCI `index.json` entries (names from annotations)
 * and docker-save `manifest.json` entries (names from RepoTags): a ref matches a name exactly, the name's tag alone
 * (`v1` for `example.com/web:v1`), or the name in Docker's familiar form (`web:v1` for `docker.io/library/web:v1`,
 * `web` for `web:latest`); a ref `sha256:<hex>` or `<name>@sha256:<hex>` matches the image's digest.
 */

/** One image an archive offers. */
export interface ImageCandidate<T> {
  /** Names given to it by the archive (tags, image names); may be empty. */
  readonly names: readonly string[];
  /** Its digest: what it is selected by when unnamed, and what tells two images apart. */
  readonly digest: string;
  readonly value: T;
}

/** The outcome of a selection. */
export interface Selection<T> {
  readonly chosen: ImageCandidate<T>;
  /** The ref given, or the chosen image's first name when no ref was needed. */
  readonly ref?: string;
  /** Every ref the archive offers: each image's names, or its digest when it has none. */
  readonly refs: string[];
}

function stripDigest(name: string): string {
  const at = name.indexOf('@');
  return at === -1 ? name : name.slice(0, at);
}

function tagOf(name: string): string | undefined {
  const bare = stripDigest(name);
  const colon = bare.lastIndexOf(':');
  return colon > bare.lastIndexOf('/') ? bare.slice(colon + 1) : undefined;
}

/** Docker's familiar form: default registry and `library/` dropped, `:latest` made explicit. */
function familiar(name: string): string {
  let n = stripDigest(name).replace(/^(?:docker\.io|index\.docker\.io|registry-1\.docker\.io)\//, '');
  if (n.startsWith('library/') && n.indexOf('/', 'library/'.length) === -1) n = n.slice('library/'.length);
  return tagOf(n) === undefined ? `${n}:latest` : n;
}

/** Whether `ref` designates an image with this name and digest. */
export function refMatches(ref: string, names: readonly string[], digest: string): boolean {
  const at = ref.indexOf('@');
  if (at !== -1) return ref.slice(at + 1) === digest;
  if (ref === digest) return true;
  return names.some(name => name === ref || tagOf(name) === ref || familiar(name) === familiar(ref));
}

function list(refs: readonly string[]): string {
  return `[${refs.join(', ')}]`;
}

/**
 * Selects the image `ref` designates among `candidates`, or the only image when `ref` is undefined. Entries with the
 * same digest are one image (Docker writes one entry per tag). `fallback` is asked when `ref` matches no entry (an OCI
 * archive can select any manifest blob by digest). Throws, naming `label` and listing the refs, when there is no image,
 * when several images and no ref, when the ref matches nothing, or when it matches several images.
 */
export function selectImage<T>(label: string, candidates: readonly ImageCandidate<T>[], ref: string | undefined,
  fallback?: (ref: string) => ImageCandidate<T> | undefined): Selection<T> {
  const refs = [...new Set(candidates.flatMap(c => c.names.length > 0 ? c.names : [c.digest]))];
  const distinct = (cs: readonly ImageCandidate<T>[]): number => new Set(cs.map(c => c.digest)).size;
  if (ref === undefined) {
    const count = distinct(candidates);
    if (count === 0) throw new Error(`${label}: holds no images`);
    if (count > 1) throw new Error(`${label}: holds ${count} images; choose one with ref: one of ${list(refs)}`);
    return { chosen: candidates[0], ref: candidates[0].names[0], refs };
  }
  const matching = candidates.filter(c => refMatches(ref, c.names, c.digest));
  const count = distinct(matching);
  if (count === 1) return { chosen: matching[0], ref, refs };
  if (count > 1) {
    const matched = [...new Set(matching.flatMap(c => c.names.length > 0 ? c.names : [c.digest]))];
    throw new Error(`${label}: ref '${ref}' matches ${count} images (${list(matched)}); choose one with a more specific ref: one of ${list(refs)}`);
  }
  const extra = fallback?.(ref);
  if (extra) return { chosen: extra, ref, refs };
  throw new Error(`${label}: has no image matching ref '${ref}'; available refs: ${list(refs)}`);
}
