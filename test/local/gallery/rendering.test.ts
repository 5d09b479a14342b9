/**
 * The Gallery preview's rendering rules on their own: which link targets survive, what hostile markdown becomes, the
 * bounds on what is rendered, how sizes read, and that the badge values the preview recognises are the library's.
 */
import { GALLERY_ARCHITECTURES, GALLERY_OPERATING_SYSTEMS } from '../../../local/gallery/catalog-values';
import { html } from '../../../local/gallery/html';
import { isSafeLink, MAX_MARKDOWN_CHARS, renderMarkdown } from '../../../local/gallery/markdown';
import { formatSize, formatTime, registryPage } from '../../../local/gallery/pages';
import { Architecture, OperatingSystem } from '../../../src';

test.each([
  ['https://example.com/a', true],
  ['http://example.com', true],
  ['MAILTO:someone@example.com', true],
  ['/relative/path', true],
  ['relative/with:colon', true],
  ['#anchor', true],
  ['javascript:alert(1)', false],
  ['JavaScript:alert(1)', false],
  [' javascript:alert(1)', false],
  ['java\tscript:alert(1)', false],
  ['java\u0000script:alert(1)', false],
  ['vbscript:msgbox(1)', false],
  ['data:text/html,<script>alert(1)</script>', false],
  ['data:image/png;base64,AAAA', false],
  ['file:///etc/passwd', false],
])('isSafeLink(%j) is %s', (url, safe) => {
  expect(isSafeLink(url)).toBe(safe);
});

test('raw HTML in markdown comes out as text, links that would run script stay text', () => {
  const out = renderMarkdown('<script>alert(1)</script>\n\n<img src=x onerror=alert(1)>\n\n[a](javascript:alert(1)) [b](https://example.com)').text;
  expect(out).toContain('&lt;script&gt;alert(1)&lt;/script&gt;');
  expect(out).toContain('&lt;img src=x onerror=alert(1)&gt;');
  expect(out).not.toMatch(/<(script|img)\b/);
  expect(out).toContain('[a](javascript:alert(1))');
  expect(out).toContain('<a href="https://example.com" rel="nofollow noopener noreferrer">b</a>');
});

test('images become links to their source, named by their alt text, escaped', () => {
  const out = renderMarkdown('![a "quoted" <alt>](https://example.com/i.png)').text;
  expect(out).not.toContain('<img');
  expect(out).toContain('<a class="md-image" href="https://example.com/i.png" rel="nofollow noopener noreferrer"');
  expect(out).toContain('>a &quot;quoted&quot; &lt;alt&gt;</a>');
});

test('text past the rendering bound is left out, with a note', () => {
  const text = `${'word '.repeat(MAX_MARKDOWN_CHARS / 5)}TAIL`;
  const out = renderMarkdown(text).text;
  expect(out).not.toContain('TAIL');
  expect(out).toContain(`The preview shows the first 100,000 of ${(text.length).toLocaleString('en-US')} characters.`);
  expect(renderMarkdown('short TAIL').text).not.toContain('The preview shows');
});

test('nesting past the limit ends the rendering, with a note', () => {
  expect(renderMarkdown(`${'> '.repeat(300)}deep\n\nAFTER`).text).toContain('Nesting deeper than 100 levels ends the rendering here.');
  expect(renderMarkdown(`${'> '.repeat(10)}deep\n\nAFTER`).text).not.toContain('Nesting deeper');
});

test('the html template escapes what it interpolates, lists included, and keeps Html as it is', () => {
  const inner = html`<b>${'<i>'}</b>`;
  expect(html`<p title="${'"x" & \'y\''}">${['<a>', inner, 3, undefined]}</p>`.text)
    .toBe('<p title="&quot;x&quot; &amp; &#39;y&#39;">&lt;a&gt;<b>&lt;i&gt;</b>3</p>');
});

test('sizes and times read as the Gallery prints them', () => {
  expect([0, 1023, 1024, 1536, 5 * 1024 * 1024 + 1, 3 * 1024 ** 3].map(formatSize))
    .toEqual(['0 B', '1023 B', '1.00 KB', '1.50 KB', '5.00 MB', '3.00 GB']);
  // UTC to the second, fractions dropped: 1971-01-01 is 365 days after the epoch, plus one hour, one minute, one second.
  expect(formatTime(365 * 86_400 + 3_661.999)).toBe('1971-01-01 01:01:01 UTC');
});

test('the badge values the preview recognises are the library\'s Architecture and OperatingSystem constants', () => {
  const constants = (cls: object): string[] => Object.values(cls).filter((v) => typeof v === 'object' && v !== null && 'value' in v).map((v) => v.value).sort();
  expect([...GALLERY_ARCHITECTURES].sort()).toEqual(constants(Architecture));
  expect([...GALLERY_OPERATING_SYSTEMS].sort()).toEqual(constants(OperatingSystem));
});

test('the registry page names a verified registry by its display name, an unverified one by its alias', () => {
  const registry = { alias: 'abc123', displayName: 'Acme Corp', pagePath: '/gallery/abc123', repositories: [] };
  const verified = registryPage({ ...registry, verified: true, shownName: 'Acme Corp' }).text;
  expect(verified).toContain('<h1>Acme Corp</h1>');
  expect(verified).not.toContain('not shown');
  const unverified = registryPage({ ...registry, verified: false, shownName: 'abc123' }).text;
  expect(unverified).toContain('<h1>abc123</h1>');
  expect(unverified).toContain('display name <q>Acme Corp</q> not shown: the Gallery shows it for verified accounts only');
});
