/**
 * Catalog markdown (About and Usage text) rendered for the Gallery preview by markdown-it. The text is client input:
 * raw HTML is off (tags come out as visible text), links keep only web and mail schemes, and images become links,
 * since the preview loads nothing from outside the emulator.
 */
import MarkdownIt from 'markdown-it';
import { escapeHtml, Html } from './html';

/**
 * Rendering stops here. The API takes 25,600 characters per text; a store edited by hand may hold more, and the page
 * must still come back quickly and whole.
 */
export const MAX_MARKDOWN_CHARS = 100_000;

/** Links may be relative (no scheme) or use one of these schemes; anything else (javascript:, data:, file:) is dropped. */
const ALLOWED_SCHEMES = new Set(['http', 'https', 'mailto']);

/** markdown-it's default nesting limit: past it, markdown-it renders nothing more of the document. */
const MAX_NESTING = 100;

const renderer = new MarkdownIt('default', {
  html: false,
  linkify: true,
  typographer: false,
  // The style sheet stops indenting far sooner, so deep nesting never pushes text off the page.
  maxNesting: MAX_NESTING,
});

renderer.validateLink = isSafeLink;

renderer.renderer.rules.link_open = (tokens, idx, options, _env, self) => {
  // Links in catalog text lead off the preview: they never get the page as opener or referrer.
  tokens[idx].attrSet('rel', 'nofollow noopener noreferrer');
  return self.renderToken(tokens, idx, options);
};

renderer.renderer.rules.image = (tokens, idx, options, env, self) => {
  const token = tokens[idx];
  const src = String(token.attrGet('src') ?? '');
  const alt = self.renderInlineAsText(token.children ?? [], options, env);
  const title = `Image ${src}: not loaded by the offline preview`;
  return `<a class="md-image" href="${escapeHtml(src)}" rel="nofollow noopener noreferrer" title="${escapeHtml(title)}">`
    + `${escapeHtml(alt === '' ? 'image' : alt)}</a>`;
};

/** Whether a (normalized) link target may become an `href`. */
export function isSafeLink(url: string): boolean {
  // Browsers ignore ASCII whitespace and control characters inside a scheme: judge the URL as they will read it.
  const compact = url.replace(/[\u0000-\u0020\u007f]/g, '');
  const scheme = /^([^/?#]*?):/.exec(compact);
  return scheme === null || ALLOWED_SCHEMES.has(scheme[1].toLowerCase());
}

/**
 * Renders catalog markdown. Text past `MAX_MARKDOWN_CHARS`, and whatever follows nesting deeper than markdown-it
 * follows, is left out, with a note saying so.
 */
export function renderMarkdown(text: string): Html {
  const source = text.length <= MAX_MARKDOWN_CHARS ? text : text.slice(0, MAX_MARKDOWN_CHARS);
  const env = {};
  const tokens = renderer.parse(source, env);
  let shown = renderer.renderer.render(tokens, renderer.options, env);
  if (tokens.some((t) => t.level >= MAX_NESTING - 1)) {
    shown += `<p class="note">Nesting deeper than ${MAX_NESTING} levels ends the rendering here.</p>`;
  }
  if (source.length < text.length) {
    shown += `<p class="note">The preview shows the first ${MAX_MARKDOWN_CHARS.toLocaleString('en-US')} `
      + `of ${text.length.toLocaleString('en-US')} characters.</p>`;
  }
  return new Html(shown);
}
