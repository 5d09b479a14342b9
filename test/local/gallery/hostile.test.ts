/**
 * Hostile catalog data in the Gallery preview: markdown with script tags, `javascript:` links, event-handler
 * attributes and styles, a display name, description, badges and tags made of markup, documents at the API's size
 * limit and nested past any sense, and paths naming `constructor` and `__proto__`. Loaded in headless Chromium, once with
 * the page's Content-Security-Policy and once with the browser told to ignore it: the markup alone must be inert, and
 * the page whole. Paths nobody should ask for are answered with 4xx pages, never a 5xx.
 */
import { CreateRepositoryCommand, DescribeImageTagsCommand, ECRPUBLICClient, PutImageCommand, PutRegistryCatalogDataCommand } from '@aws-sdk/client-ecr-public';
import { Browser } from 'playwright-core';
import { launchBrowser, OpenedPage, openPage, screenshot } from './support';
import { RunningEmulator, startEmulator } from '../../../local';
import { OCI_MANIFEST } from '../../../src/shared/oci/media-types';
import { pushSmallImage } from '../../support/ecr-fixtures';
import { primaryRegistryAlias, startInProcess } from '../../support/emulator-harness';

/** Every payload sets `window.__pwned` or opens a dialog if it runs. */
const PAYLOADS = [
  '<script>window.__pwned = "script"</script>',
  '<img src=x onerror="window.__pwned = \'onerror\'">',
  '<svg onload="window.__pwned = \'svg\'"></svg>',
  '<iframe src="javascript:alert(1)"></iframe>',
  '<a href="javascript:alert(1)">raw html link</a>',
  '<style>body { display: none !important; }</style>',
  '<form action="https://example.com"><input name="q"></form>',
];

const ABOUT = [
  '# About <script>window.__pwned = "heading"</script>',
  ...PAYLOADS,
  '[markdown javascript link](javascript:alert(1))',
  '[scheme with a tab](java\tscript:alert(1))',
  '[upper case](JAVASCRIPT:alert(1))',
  '[entity-encoded](&#106;avascript:alert(1))',
  '[data link](data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==)',
  '[vbscript](vbscript:msgbox(1))',
  '![image with onerror](x" onerror="window.__pwned=1)',
  '![remote image](https://images.example.com/logo.png)',
  '<https://example.com/autolink>',
  '[fine link](https://example.com/docs)',
  '```html',
  '<script>window.__pwned = "in a code block"</script>',
  '```',
  `${Array.from({ length: 40 }, (_, i) => `${'  '.repeat(i)}- level ${i}`).join('\n')}`,
  `${'x'.repeat(3000)} (one word longer than the page is wide)`,
  'END-OF-ABOUT',
  // Past markdown-it's nesting limit the rendering ends: last, so that the markers above are still expected.
  `${'> '.repeat(500)}nested quote`,
].join('\n\n');

/** A Usage text at the API's 25,600-character limit, its last line a marker. */
const USAGE = (() => {
  const tail = '\n\nEND-OF-USAGE';
  const line = '* item with `code` and **bold** <b onclick="alert(1)">and markup</b>\n';
  return (line.repeat(Math.ceil(25_600 / line.length)).slice(0, 25_600 - tail.length)) + tail;
})();

let emu: RunningEmulator;
let client: ECRPUBLICClient;
let browser: Browser;
let alias: string;

beforeAll(async () => {
  ({ emu, client } = await startInProcess());
  await client.send(new CreateRepositoryCommand({
    repositoryName: 'hostile/page',
    catalogData: {
      description: '<img src=x onerror="window.__pwned = \'description\'"> & "quotes"',
      architectures: ['x86-64', '<b onmouseover=alert(1)>Sparc</b>'],
      operatingSystems: ['Linux', '<script>alert(1)</script>'],
      aboutText: ABOUT,
      usageText: USAGE,
    },
  }));
  await client.send(new CreateRepositoryCommand({ repositoryName: 'plain', catalogData: { description: 'no catalog text' } }));
  await client.send(new PutRegistryCatalogDataCommand({ displayName: '<script>window.__pwned = "display name"</script>' }));
  alias = await primaryRegistryAlias(client);
  // Markup cannot be a tag (both push paths take the distribution spec's grammar only): names of Object's members are.
  await expect(pushSmallImage(client, 'hostile/page', '<svg onload=alert(1)>')).rejects.toThrow(/imageTag' failed to satisfy constraint/);
  const digest = await pushSmallImage(client, 'hostile/page', 'constructor');
  // A second tag on the same image: its manifest as the registry API serves it, put again under the new tag.
  const manifest = await fetch(`${emu.endpoint}/v2/${alias}/hostile/page/manifests/${digest}`, { headers: { Accept: OCI_MANIFEST } });
  expect(manifest.status).toBe(200);
  await client.send(new PutImageCommand({ repositoryName: 'hostile/page', imageManifest: await manifest.text(), imageTag: '__proto__' }));
  browser = await launchBrowser();
}, 120_000);

afterAll(async () => {
  await browser?.close();
  client?.destroy();
  await emu?.stop();
});

/** Nothing ran, nothing that could run is in the DOM, and the page is whole down to its footer. */
async function expectInert(opened: OpenedPage): Promise<void> {
  const { page } = opened;
  expect(opened.status).toBe(200);
  expect(opened.dialogs).toEqual([]);
  expect(await page.evaluate('window.__pwned')).toBeUndefined();
  const dom = await page.evaluate(`(() => {
    const all = [...document.querySelectorAll('*')];
    return {
      scripts: document.scripts.length,
      eventAttributes: all.flatMap((e) => [...e.attributes].filter((a) => a.name.toLowerCase().startsWith('on')).map((a) => e.tagName + ' ' + a.name)),
      badHrefs: [...document.body.querySelectorAll('[href], [src], [action]')]
        .map((e) => e.getAttribute('href') ?? e.getAttribute('src') ?? e.getAttribute('action'))
        .filter((u) => !/^(https?:|mailto:|\\/|#)/i.test(u)),
      embedded: document.querySelectorAll('iframe, object, embed, form, input, svg, main style, body style').length,
      images: [...document.images].map((i) => i.getAttribute('src')),
      footer: document.querySelector('body > footer')?.textContent ?? null,
      bodyShown: getComputedStyle(document.body).display,
    };
  })()`) as any;
  expect(dom.scripts).toBe(0);
  expect(dom.eventAttributes).toEqual([]);
  expect(dom.badHrefs).toEqual([]);
  expect(dom.embedded).toBe(0);
  // The only image is the emulator's logo (none here): markdown images become links.
  expect(dom.images.filter((src: string) => !src.startsWith('/logo/'))).toEqual([]);
  expect(dom.footer).toContain('Rendered by the local ECR Public emulator');
  expect(dom.bodyShown).toBe('block');
}

for (const bypassCsp of [false, true]) {
  test(`hostile catalog text is inert on the repository page (${bypassCsp ? 'Content-Security-Policy ignored' : 'with the Content-Security-Policy'})`, async () => {
    const opened = await openPage(browser, `${emu.endpoint}/gallery/${alias}/hostile/page`, { bypassCsp });
    const { page } = opened;
    await expectInert(opened);
    if (!bypassCsp) {
      // Nothing in the markup asked for anything the policy had to refuse: the page fetched nothing but itself.
      expect(opened.requests).toEqual([`${emu.endpoint}/gallery/${alias}/hostile/page`]);
      expect(opened.consoleErrors).toEqual([]);
    }

    // The markup shows as text, where the author can see it.
    // The registry is not verified: the Gallery would show its alias; the preview notes the hidden display name.
    expect(await page.textContent('.hero .by a')).toBe(alias);
    expect(await page.textContent('.hero .by .hidden-name q')).toBe('<script>window.__pwned = "display name"</script>');
    expect(await page.textContent('.hero .description')).toBe('<img src=x onerror="window.__pwned = \'description\'"> & "quotes"');
    const about = (await page.textContent('#about'))!;
    for (const payload of PAYLOADS) expect(about).toContain(payload);
    expect(await page.textContent('#about .markdown h1')).toBe('About <script>window.__pwned = "heading"</script>');
    expect((await page.textContent('#about pre code'))!.trim()).toBe('<script>window.__pwned = "in a code block"</script>');
    // Links that would run script stay text; web links work (linkify finds the one in the form's markup, shown as text).
    expect(await page.$$eval('#about a', (as) => as.map((a) => a.getAttribute('href')))).toEqual([
      'https://example.com', 'https://images.example.com/logo.png', 'https://example.com/autolink', 'https://example.com/docs',
    ]);
    expect(about).toContain('![image with onerror](x" onerror="window.__pwned=1)');
    expect(about).toContain('[markdown javascript link](javascript:alert(1))');
    expect(await page.textContent('#about a.md-image')).toBe('remote image');
    expect(await page.getAttribute('#about a >> nth=3', 'rel')).toBe('nofollow noopener noreferrer');
    // A list 40 levels deep renders whole; a quote 500 levels deep stops at markdown-it's nesting limit, said so.
    expect(about).toContain('level 39');
    expect(about).toContain('END-OF-ABOUT');
    expect(await page.$$eval('#about blockquote', (qs) => qs.length)).toBeGreaterThan(0);
    expect(await page.$$eval('#about blockquote', (qs) => qs.length)).toBeLessThanOrEqual(100);
    expect(await page.textContent('#about .note')).toBe('Nesting deeper than 100 levels ends the rendering here.');
    // The 25,600-character Usage text renders whole.
    expect(await page.textContent('#usage')).toContain('END-OF-USAGE');
    // Nothing overflows the page sideways: long words wrap, code scrolls inside its block.
    expect(await page.evaluate('document.documentElement.scrollWidth <= window.innerWidth')).toBe(true);

    // Values the Gallery does not show are marked; markup in them is text.
    expect(await page.$$eval('.hero .badge', (bs) => bs.map((b) => `${b.className}:${b.textContent}`))).toEqual([
      'badge os:Linux', 'badge os unknown:<script>alert(1)</script>', 'badge arch:x86-64', 'badge arch unknown:<b onmouseover=alert(1)>Sparc</b>',
    ]);
    // Tags are text too; the page lists the tags the API lists.
    const apiTags = (await client.send(new DescribeImageTagsCommand({ repositoryName: 'hostile/page' }))).imageTagDetails!.map((t) => t.imageTag);
    const pageTags = await page.$$eval('#image-tags td.tag', (tds) => tds.map((td) => td.textContent));
    expect(pageTags.sort()).toEqual(apiTags.sort());
    expect(pageTags).toEqual(expect.arrayContaining(['constructor', '__proto__']));

    if (!bypassCsp) await screenshot(page, 'repository-hostile');
    await page.context().close();
  });
}

test('hostile names are inert on the registry page', async () => {
  const opened = await openPage(browser, `${emu.endpoint}/gallery/`, { bypassCsp: true });
  await expectInert(opened);
  // The registry is not verified: its alias is the heading, and the hidden display name shows as text in the note.
  expect(await opened.page.textContent('main h1')).toBe(alias);
  expect(await opened.page.textContent('main .by .hidden-name q')).toBe('<script>window.__pwned = "display name"</script>');
  expect(await opened.page.$$eval('li.card h2 a', (as) => as.map((a) => a.textContent))).toEqual(['hostile/page', 'plain']);
  await opened.page.context().close();

  const repo = await openPage(browser, `${emu.endpoint}/gallery/${alias}/plain`);
  expect(repo.status).toBe(200);
  expect(await repo.page.textContent('.hero .description')).toBe('no catalog text');
  expect(await repo.page.textContent('#about .empty')).toBe('No About text');
  await repo.page.context().close();
});

interface Answer {
  readonly status: number;
  readonly type: string | null;
  readonly csp: string | null;
  readonly location: string | null;
}

describe('requests the preview does not serve', () => {
  async function status(path: string): Promise<Answer> {
    const response = await fetch(`${emu.endpoint}${path}`, { redirect: 'manual' });
    await response.arrayBuffer();
    return {
      status: response.status,
      type: response.headers.get('content-type'),
      csp: response.headers.get('content-security-policy'),
      location: response.headers.get('location'),
    };
  }

  test.each([
    ['/gallery/nosuchalias', 404],
    ['/gallery/__proto__', 404],
    ['/gallery/__proto__/x', 404],
    // Names every JavaScript object answers to (`constructor` is a valid repository name).
    ['/gallery/ALIAS/constructor', 404],
    ['/gallery/ALIAS/hasOwnProperty', 404],
    ['/gallery/ALIAS/__proto__', 404],
    ['/gallery/ALIAS/toString', 404],
    ['/gallery/ALIAS/nosuch/repo', 404],
    ['/gallery/%E0%A4%A', 400],
    ['/gallery/ALIAS/%', 400],
    ['/gallery/ALIAS/a/a/...(4000 segments)', 404],
  ])('GET %s answers %i with an HTML page under the policy', async (path, expected) => {
    const answer = await status(path.replace('ALIAS', alias).replace('a/a/...(4000 segments)', `${'a/'.repeat(4000)}b`));
    expect(answer).toMatchObject({ status: expected, type: 'text/html; charset=utf-8' });
    expect(answer.csp).toContain("default-src 'none'");
  });

  test('the registry page answers at /gallery/, /gallery/<alias> and /gallery/<alias>/; /gallery redirects', async () => {
    for (const path of ['/gallery/', `/gallery/${alias}`, `/gallery/${alias}/`]) {
      expect(await status(path)).toMatchObject({ status: 200, type: 'text/html; charset=utf-8' });
    }
    expect(await status('/gallery')).toMatchObject({ status: 301, location: '/gallery/' });
  });

  test('an emulator with nothing in it answers /gallery/ with an empty registry page', async () => {
    const empty = await startEmulator({});
    try {
      const response = await fetch(`${empty.endpoint}/gallery/`);
      const page = await response.text();
      expect(response.status).toBe(200);
      expect(page).toContain('The registry has no alias until its first repository is created');
      expect(page).toContain('<p class="empty">No repositories yet.</p>');
      expect((await fetch(`${empty.endpoint}/gallery/anything/repo`)).status).toBe(404);
    } finally {
      await empty.stop();
    }
  });

  test('HEAD answers the headers only; other methods answer 405 with Allow', async () => {
    const head = await fetch(`${emu.endpoint}/gallery/${alias}/hostile/page`, { method: 'HEAD' });
    expect(head.status).toBe(200);
    expect(Number(head.headers.get('content-length'))).toBeGreaterThan(25_600);
    expect((await head.arrayBuffer()).byteLength).toBe(0);
    for (const method of ['PUT', 'DELETE', 'POST']) {
      const response = await fetch(`${emu.endpoint}/gallery/`, { method, body: method === 'DELETE' ? undefined : 'x' });
      expect({ method, status: response.status, allow: response.headers.get('allow') }).toEqual({ method, status: 405, allow: 'GET, HEAD' });
      await response.arrayBuffer();
    }
  });
});
