/**
 * The Gallery preview's pages, laid out as the ECR Public Gallery lays them out: the registry with its repositories,
 * and a repository with its logo, description, badges, About and Usage text, image tags and pull command.
 */
import { GALLERY_ARCHITECTURES, GALLERY_OPERATING_SYSTEMS } from './catalog-values';
import { Html, html } from './html';
import { renderMarkdown } from './markdown';
import { GALLERY_CSS, GALLERY_ICON } from './styles';
import { GALLERY_PATH, RegistryView, RepositorySummary, RepositoryView, TagView } from './view';
import { isIndex } from '../store/image-format';

export function registryPage(registry: RegistryView): Html {
  const title = registry.shownName ?? 'Registry';
  const cards = registry.repositories.map((repo) => html`
    <li class="card">
      ${logo(repo, 'small')}
      <div>
        <h2><a href="${repo.pagePath}">${repo.name}</a></h2>
        ${repo.description !== undefined ? html`<p>${repo.description}</p>` : html`<p class="empty">No description</p>`}
        ${badges(repo)}
      </div>
    </li>`);
  return layout(title, html`
    <div class="panel hero">
      <div>
        <h1>${title}</h1>
        <p class="by">${registry.alias !== undefined ? html`Registry alias <code>${registry.alias}</code>` : 'The registry has no alias until its first repository is created'}
          ${registry.displayName === undefined ? html` · <span class="note">no display name set</span>` : hiddenDisplayName(registry)}</p>
      </div>
    </div>
    <h2>Repositories (${registry.repositories.length})</h2>
    ${cards.length > 0 ? html`<ul class="cards">${cards}</ul>` : html`<p class="empty">No repositories yet.</p>`}`);
}

export function repositoryPage(repo: RepositoryView): Html {
  const registryName = repo.registry.shownName ?? '';
  return layout(repo.name, html`
    <nav class="crumbs"><a href="${GALLERY_PATH}/">Gallery</a> / <a href="${repo.registry.pagePath}">${registryName}</a> / ${repo.name}</nav>
    <div class="panel hero">
      ${logo(repo, 'large')}
      <div>
        <h1>${repo.name}</h1>
        <p class="by">by <a class="registry" href="${repo.registry.pagePath}">${registryName}</a>${hiddenDisplayName(repo.registry)}</p>
        ${repo.description !== undefined ? html`<p class="description">${repo.description}</p>` : html`<p class="description empty">No description</p>`}
        ${badges(repo)}
      </div>
    </div>
    <div class="layout">
      <div class="panel">
        <nav class="tabs"><a href="#about">About</a><a href="#usage">Usage</a><a href="#image-tags">Image tags</a></nav>
        <section id="about">
          <h2 class="label">About</h2>
          ${markdownSection(repo.aboutText, 'No About text')}
        </section>
        <section id="usage">
          <h2 class="label">Usage</h2>
          ${markdownSection(repo.usageText, 'No Usage text')}
        </section>
        <section id="image-tags">
          <h2 class="label">Image tags</h2>
          ${tagTable(repo.tags)}
        </section>
      </div>
      <aside class="panel side">
        <section class="pull">
          <h3>Pull command</h3>
          <pre id="pull-command">docker pull ${repo.repositoryUri}${repo.pullTag !== undefined ? `:${repo.pullTag}` : ''}</pre>
          ${repo.pullTag === undefined ? html`<p>No image is tagged yet.</p>` : ''}
          <p>The emulator's address; on AWS the image is at public.ecr.aws/&lt;alias&gt;/${repo.name}.</p>
        </section>
        <section>
          <h3>Repository</h3>
          <dl>
            <dt>Repository URI</dt><dd><code>${repo.repositoryUri}</code></dd>
            <dt>Registry</dt><dd>${registryName}</dd>
          </dl>
        </section>
      </aside>
    </div>`);
}

export function errorPage(title: string, message: string): Html {
  return layout(title, html`
    <div class="panel">
      <h1>${title}</h1>
      <p>${message}</p>
      <p><a href="${GALLERY_PATH}/">Back to the registry</a></p>
    </div>`);
}

function layout(title: string, body: Html): Html {
  return html`<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${title} · ECR Public Gallery preview</title>
<link rel="icon" href="${GALLERY_ICON}">
<style>${new Html(GALLERY_CSS)}</style>
</head>
<body>
<header class="topbar"><a class="brand" href="${GALLERY_PATH}/">ECR Public <span>Gallery</span></a><span class="preview">Local preview · ecr-public-local</span></header>
<main>${body}</main>
<footer>Rendered by the local ECR Public emulator from its store, as the Gallery would show it after a deploy.</footer>
</body>
</html>
`;
}

/** The note on a display name the Gallery would not show (the registry is not verified), so that it can be checked. */
function hiddenDisplayName(registry: RegistryView): Html {
  if (registry.displayName === undefined || registry.verified) return html``;
  return html` · <span class="note hidden-name">display name <q>${registry.displayName}</q> not shown: the Gallery shows it for verified accounts only</span>`;
}

function logo(repo: RepositorySummary, size: 'small' | 'large'): Html {
  const cls = size === 'small' ? 'logo small' : 'logo';
  if (repo.logoUrl === undefined) {
    // No logo: the first letter of the name's last segment, as a placeholder of the logo's size.
    const initial = repo.name.slice(repo.name.lastIndexOf('/') + 1).charAt(0).toUpperCase();
    return html`<div class="${cls} none" aria-hidden="true">${initial}</div>`;
  }
  return html`<img class="${cls}" src="${repo.logoUrl}" alt="${repo.name} logo">`;
}

function badges(repo: RepositorySummary): Html {
  const badge = (kind: 'os' | 'arch', value: string, shown: boolean): Html => (shown
    ? html`<li class="badge ${kind}">${value}</li>`
    : html`<li class="badge ${kind} unknown" title="Stored by the API, but the Gallery does not show this value">${value}</li>`);
  const items = [
    ...repo.operatingSystems.map((os) => badge('os', os, GALLERY_OPERATING_SYSTEMS.has(os))),
    ...repo.architectures.map((arch) => badge('arch', arch, GALLERY_ARCHITECTURES.has(arch))),
  ];
  return items.length > 0 ? html`<ul class="badges">${items}</ul>` : html``;
}

function markdownSection(text: string | undefined, empty: string): Html {
  return text !== undefined ? html`<div class="markdown">${renderMarkdown(text)}</div>` : html`<p class="empty">${empty}</p>`;
}

function tagTable(tags: readonly TagView[]): Html {
  if (tags.length === 0) return html`<p class="empty">No image is tagged yet.</p>`;
  const rows = tags.map((t) => html`
    <tr>
      <td class="tag" data-label="Image tag">${t.tag}</td>
      <td class="type" data-label="Type">${isIndex(t.manifestMediaType) ? 'Image index' : 'Image'}</td>
      <td class="size" data-label="Image size" title="${t.sizeInBytes} bytes" data-bytes="${t.sizeInBytes}">${formatSize(t.sizeInBytes)}</td>
      <td class="pushed" data-label="Pushed at">${timeElement(t.pushedAt)}</td>
      <td class="digest" data-label="Digest"><code title="${t.digest}">${shortDigest(t.digest)}</code></td>
    </tr>${referrerRow(t)}`);
  return html`<table class="tags">
    <thead><tr><th>Image tag</th><th>Type</th><th>Image size</th><th>Pushed at</th><th>Digest</th></tr></thead>
    <tbody>${rows}</tbody>
  </table>`;
}

/**
 * The image's referrers (SBOMs, signatures, attestations), under its row: the real Gallery does not show them; the
 * preview does, so that what a deploy attached can be checked.
 */
function referrerRow(t: TagView): Html {
  if (t.referrers.length === 0) return html``;
  const items = t.referrers.map((r) => html`
        <li class="referrer">
          <span class="artifact-type">${r.artifactType ?? 'no artifact type'}</span>
          <span class="size" title="${r.sizeInBytes} bytes" data-bytes="${r.sizeInBytes}">${formatSize(r.sizeInBytes)}</span>
          <code class="digest" title="${r.digest}">${shortDigest(r.digest)}</code>
          ${r.subject !== t.digest ? html`<span class="subject">of <code title="${r.subject}">${shortDigest(r.subject)}</code></span>` : ''}
        </li>`);
  return html`
    <tr class="referrers">
      <td colspan="5"><span class="label">Referrers (${t.referrers.length})</span><ul>${items}</ul></td>
    </tr>`;
}

/** Sizes as the Gallery prints them: binary units, two decimals past bytes. */
export function formatSize(bytes: number): string {
  const units = ['KB', 'MB', 'GB', 'TB'];
  if (bytes < 1024) return `${bytes} B`;
  let value = bytes / 1024;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return `${value.toFixed(2)} ${units[unit]}`;
}

/** The algorithm and the first 12 hex digits, as registries print digests; the whole digest is the title. */
function shortDigest(digest: string): string {
  const colon = digest.indexOf(':');
  return digest.length > colon + 13 ? `${digest.slice(0, colon + 13)}…` : digest;
}

/** UTC, to the second: the page reads the same on every machine. A time no date can hold reads 'unknown'. */
export function formatTime(epochSeconds: number): string {
  const iso = isoTime(epochSeconds);
  return iso === undefined ? 'unknown' : `${iso.slice(0, 19).replace('T', ' ')} UTC`;
}

/** A `<time>` element for `epochSeconds`, or the word 'unknown' for a time no date can hold (a store of older days). */
function timeElement(epochSeconds: number): Html {
  const iso = isoTime(epochSeconds);
  return iso === undefined ? html`unknown` : html`<time datetime="${iso}">${formatTime(epochSeconds)}</time>`;
}

function isoTime(epochSeconds: number): string | undefined {
  const date = new Date(epochSeconds * 1000);
  return Number.isNaN(date.getTime()) ? undefined : date.toISOString();
}
