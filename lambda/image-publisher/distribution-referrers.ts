/**
 * Reading an image's referrers (OCI 1.1) from its source registry: for each manifest of the image, the referrers API
 * (`GET /v2/<name>/referrers/<digest>`, its `Link` pages followed), or, where the registry does not serve it (404),
 * the distribution spec's fallback, the index tagged `sha256-<hex>`; then referrers of those (a signature of an
 * SBOM), and so on. Each referrer is fetched and checked as every manifest is (`fetch`: `distribution-manifests.ts`,
 * which calls this module, passes its `fetchManifest`), must name as its
 * `subject` the manifest it was listed under, and is walked (an index referrer brings its children).
 */
import { asPublishError, ImagePublishError } from './errors';
import { readWhole } from './resumable-read';
import { Descriptor, parseDescriptor } from '../../src/shared/oci/descriptor';
import { ParsedManifest } from '../../src/shared/oci/manifest';
import { OCI_INDEX } from '../../src/shared/oci/media-types';
import { walkManifestsAsync } from '../../src/shared/oci/walk';
import { readLimited, RegistryClient } from '../shared/distribution-client';
import { SourceRegistryError } from '../shared/distribution-errors';
import { log } from '../shared/log';

/** A referrers index is small: this many bytes per page, and pages, are far beyond any real one. */
const MAX_REFERRERS_PAGE_BYTES = 4 * 1024 * 1024;
const MAX_REFERRERS_PAGES = 100;
/** Referrers copied with one image at most: a registry that keeps listing new ones cannot hold the copy forever. */
export const MAX_REFERRERS = 1000;

/** Reads and checks one manifest of the registry (`fetchManifest` of `distribution-manifests.ts`). */
export type ManifestFetch = (client: RegistryClient, ref: string, expected?: Descriptor) => Promise<ParsedManifest>;

/**
 * The referrers of the manifests of `image` (and of theirs), in push order (after their subject, an index's children
 * before it), none of them among `image`. `where` names the source in messages.
 */
export async function readRegistryReferrers(client: RegistryClient, image: readonly ParsedManifest[], where: string,
  fetch: ManifestFetch): Promise<ParsedManifest[]> {
  const fetchManifest = (ref: string, expected?: Descriptor) => fetch(client, ref, expected);
  const reached = new Set(image.map((m) => m.digest));
  const subjects = image.map((m) => m.digest);
  const out: ParsedManifest[] = [];
  for (let subject = subjects.shift(); subject !== undefined; subject = subjects.shift()) {
    for (const listed of await listReferrers(client, subject, fetchManifest)) {
      if (reached.has(listed.digest)) continue;
      if (out.length >= MAX_REFERRERS) throw new ImagePublishError(`${where}: more than ${MAX_REFERRERS} referrers`);
      const referrer = await fetchManifest(listed.digest, listed);
      const claimed = subjectOf(referrer);
      if (claimed !== subject) {
        throw new ImagePublishError(`${where}: the registry lists ${referrer.digest} as a referrer of ${subject}, `
          + `but its subject is ${claimed ?? 'missing'}`);
      }
      const walked = await walkManifestsAsync(referrer, where, ({ descriptor }) => fetchManifest(descriptor.digest, descriptor))
        .catch((err: unknown) => { throw asPublishError(err); });
      for (const m of walked) {
        if (reached.has(m.digest)) continue;
        reached.add(m.digest);
        out.push(m);
      }
      subjects.push(referrer.digest);
    }
  }
  if (out.length > 0) log({ source: where, referrers: out.length });
  return out;
}

/** The digest of a manifest's `subject`, if it has a well-formed one. */
function subjectOf(m: ParsedManifest): string | undefined {
  if (m.json.subject === undefined) return undefined;
  try {
    return parseDescriptor(m.json.subject, `${m.digest} subject`).digest;
  } catch {
    return undefined;
  }
}

/** What the registry lists as referrers of `subject`: its referrers API, else its referrers tag, else nothing. */
async function listReferrers(client: RegistryClient, subject: string,
  fetchManifest: (ref: string) => Promise<ParsedManifest>): Promise<Descriptor[]> {
  try {
    return await referrersApi(client, subject);
  } catch (err) {
    if (!(err instanceof SourceRegistryError && err.status === 404)) throw asPublishError(err);
  }
  const tag = subject.replace(':', '-');
  try {
    const index = await fetchManifest(tag);
    if (index.kind !== 'index') throw new ImagePublishError(`${client.name}:${tag}, the referrers tag of ${subject}, is not an index`);
    return [...index.manifests];
  } catch (err) {
    if (err instanceof SourceRegistryError && err.status === 404) return [];
    throw asPublishError(err);
  }
}

/** The referrers API's index of `subject`, every page of it. */
async function referrersApi(client: RegistryClient, subject: string): Promise<Descriptor[]> {
  const descriptors: Descriptor[] = [];
  let path: string | undefined = `referrers/${subject}`;
  for (let page = 0; path !== undefined; page++) {
    if (page >= MAX_REFERRERS_PAGES) throw new ImagePublishError(`referrers of ${subject} of ${client.name}: more than ${MAX_REFERRERS_PAGES} pages`);
    const what = `referrers of ${subject}`;
    const asked: string = path;
    const { opened: { response }, bytes } = await readWhole(`${what} of ${client.name}`,
      () => client.get(asked, { accept: OCI_INDEX, what }),
      (open) => readLimited(open.response, open.abort, MAX_REFERRERS_PAGE_BYTES, `${what} of ${client.name}`));
    let json: any;
    try {
      json = JSON.parse(bytes.toString('utf8'));
    } catch {
      throw new ImagePublishError(`${what} of ${client.name}: the answer is not JSON`);
    }
    if (typeof json !== 'object' || json === null || !Array.isArray(json.manifests)) {
      throw new ImagePublishError(`${what} of ${client.name}: the answer is not an image index`);
    }
    json.manifests.forEach((d: unknown, i: number) => descriptors.push(parseDescriptorOrFail(d, `${what} of ${client.name} manifests[${i}]`)));
    path = nextPage(client, response.headers.get('link'), what);
  }
  return descriptors;
}

function parseDescriptorOrFail(value: unknown, where: string): Descriptor {
  try {
    return parseDescriptor(value, where);
  } catch (err) {
    throw asPublishError(err);
  }
}

/**
 * The path of the next page a `Link: <...>; rel="next"` names, relative to the repository; only pages of the same
 * repository of the same registry are followed.
 */
function nextPage(client: RegistryClient, link: string | null, what: string): string | undefined {
  const match = link === null ? null : /<([^>]+)>\s*;\s*rel="?next"?/.exec(link);
  if (!match) return undefined;
  const url = new URL(match[1], `${client.origin}/`);
  const prefix = `/v2/${client.repository}/`;
  if (url.origin !== client.origin || !url.pathname.startsWith(prefix)) {
    throw new ImagePublishError(`${what} of ${client.name}: the next page ${match[1]} is outside the repository`);
  }
  return `${url.pathname.slice(prefix.length)}${url.search}`;
}
