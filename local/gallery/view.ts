/**
 * What the Gallery preview pages show, read from the emulator's store: the registry (alias, display name, its
 * repositories) and one repository (catalog data, tags, pull command). Everything here is client input; lookups by a
 * name from the URL only find the store's own entries.
 */
import { catalogDataOutput } from '../service/catalog-data';
import { Context, repositoryUri } from '../service/context';
import { describeRegistries } from '../service/public-registry';
import { listReferrers } from '../service/referrers';
import { ImageRecord, RepositoryRecord } from '../store/model';

export interface RegistryView {
  /** Undefined until the first repository is created (the registry has no alias before). */
  readonly alias?: string;
  /** The display name as stored (PutRegistryCatalogData), shown or not. */
  readonly displayName?: string;
  /** Whether DescribeRegistries says the registry is verified: the Gallery shows the display name only then. */
  readonly verified: boolean;
  /** What the Gallery calls the registry: the display name of a verified registry, else its alias. */
  readonly shownName?: string;
  /** Path of the registry's preview page. */
  readonly pagePath: string;
  readonly repositories: readonly RepositorySummary[];
}

export interface RepositorySummary {
  readonly name: string;
  /** Path of the repository's preview page. */
  readonly pagePath: string;
  readonly description?: string;
  readonly logoUrl?: string;
  readonly architectures: readonly string[];
  readonly operatingSystems: readonly string[];
}

export interface RepositoryView extends RepositorySummary {
  readonly registry: RegistryView;
  /** `host/alias/name`, as DescribeRepositories gives it. */
  readonly repositoryUri: string;
  readonly aboutText?: string;
  readonly usageText?: string;
  /** Newest image first, then by tag. */
  readonly tags: readonly TagView[];
  /** The tag the pull command names: `latest` when there is one, else the newest tag. */
  readonly pullTag?: string;
}

export interface TagView {
  readonly tag: string;
  readonly digest: string;
  readonly sizeInBytes: number;
  /** Epoch seconds. */
  readonly pushedAt: number;
  readonly manifestMediaType: string;
  /** Its referrers (OCI 1.1), and theirs, and those of an index's images: oldest first. */
  readonly referrers: readonly ReferrerView[];
}

/** A referrer of a tagged image: an SBOM, a signature, an attestation. */
export interface ReferrerView {
  readonly digest: string;
  /** @default - none (an index without `artifactType`) */
  readonly artifactType?: string;
  /** As DescribeImages gives it: its layers' sizes. */
  readonly sizeInBytes: number;
  /** The manifest it refers to: the tagged image, one of its index's images, or another referrer. */
  readonly subject: string;
}

/** The path prefix of the preview. */
export const GALLERY_PATH = '/gallery';

export function registryView(ctx: Context): RegistryView {
  const { alias, displayName } = ctx.store.state.registry;
  const names = Object.keys(ctx.store.state.repositories).sort();
  const pagePath = alias === undefined ? `${GALLERY_PATH}/` : `${GALLERY_PATH}/${encodeURIComponent(alias)}`;
  // What the API answers, not a second notion of it.
  const described = describeRegistries(ctx, {}) as { registries: Array<{ verified?: boolean }> };
  const verified = described.registries[0]?.verified === true;
  const shownName = (verified ? displayName : undefined) ?? alias;
  return { alias, displayName, verified, shownName, pagePath, repositories: names.map((name) => repositorySummary(ctx, pagePath, name)) };
}

/** The repository `name` of the registry `alias`, or undefined when there is none. */
export function repositoryView(ctx: Context, alias: string, name: string): RepositoryView | undefined {
  const registry = registryView(ctx);
  const { repositories } = ctx.store.state;
  // The name comes from the URL: `constructor` or `__proto__` must not find what every object has.
  if (alias !== registry.alias || !Object.prototype.hasOwnProperty.call(repositories, name)) return undefined;
  const repo = repositories[name];
  const tags: TagView[] = [];
  for (const [tag, { digest }] of Object.entries(repo.imageTags)) {
    const image: ImageRecord | undefined = Object.prototype.hasOwnProperty.call(repo.images, digest) ? repo.images[digest] : undefined;
    if (!image) continue;
    tags.push({
      tag,
      digest,
      sizeInBytes: image.sizeInBytes,
      pushedAt: image.pushedAt,
      manifestMediaType: image.manifestMediaType,
      referrers: referrerViews(ctx, repo, [digest, ...image.children ?? []]),
    });
  }
  tags.sort((a, b) => b.pushedAt - a.pushedAt || (a.tag < b.tag ? -1 : a.tag > b.tag ? 1 : 0));
  return {
    ...repositorySummary(ctx, registry.pagePath, name),
    registry,
    repositoryUri: repositoryUri(ctx, name),
    aboutText: repo.catalogData?.aboutText,
    usageText: repo.catalogData?.usageText,
    tags,
    pullTag: tags.some((t) => t.tag === 'latest') ? 'latest' : tags[0]?.tag,
  };
}

/** The referrers of `subjects`, then theirs, each once (bounded by the repository's images). */
function referrerViews(ctx: Context, repo: RepositoryRecord, subjects: readonly string[]): ReferrerView[] {
  const out: ReferrerView[] = [];
  const seen = new Set(subjects);
  const queue = [...subjects];
  for (let subject = queue.shift(); subject !== undefined; subject = queue.shift()) {
    for (const r of listReferrers(ctx, repo, subject)) {
      if (seen.has(r.digest)) continue;
      seen.add(r.digest);
      queue.push(r.digest);
      out.push({ digest: r.digest, artifactType: r.artifactType, sizeInBytes: repo.images[r.digest].sizeInBytes, subject });
    }
  }
  return out;
}

/**
 * The path of the logo URL GetRepositoryCatalogData gives (the emulator's own `/logo/`): the page is the same
 * origin under whatever host name it was opened, and loads nothing from elsewhere.
 */
function logoPath(logoUrl: string | undefined): string | undefined {
  return logoUrl === undefined ? undefined : new URL(logoUrl).pathname;
}

function repositorySummary(ctx: Context, registryPagePath: string, name: string): RepositorySummary {
  const catalog = ctx.store.state.repositories[name].catalogData;
  return {
    name,
    // Repository names may hold `/`: each segment is encoded on its own.
    pagePath: `${registryPagePath}/${name.split('/').map(encodeURIComponent).join('/')}`,
    description: catalog?.description,
    logoUrl: logoPath(catalogDataOutput(ctx, catalog).logoUrl as string | undefined),
    architectures: catalog?.architectures ?? [],
    operatingSystems: catalog?.operatingSystems ?? [],
  };
}
