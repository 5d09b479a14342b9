/**
 * The Gallery preview of the example app (examples/app.ts), deployed to the emulator by the local deployer with the
 * shipped handlers, as `npm run demo` does, and looked at in headless Chromium: the registry page and both repository
 * pages, checked against what the API says, with the pull command pulled by skopeo. Screenshots go to
 * test-reports/gallery/.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { DescribeImagesCommand, DescribeRegistriesCommand, ECRPUBLICClient, ImageDetail } from '@aws-sdk/client-ecr-public';
import { Browser } from 'playwright-core';
import { launchBrowser, OpenedPage, openPage, screenshot } from './support';
import { buildExampleApp } from '../../../examples/app';
import { deployApp, RunningEmulator, startEmulator } from '../../../local';
import { primaryRegistryAlias, ecrPublicClient } from '../../support/emulator-harness';
import { readOciLayout } from '../../support/oci-layout';
import { skopeoCopy } from '../../support/skopeo';
import { makeTempDir, removeTempDir } from '../../support/temp-dirs';

const ROOT = path.resolve(__dirname, '..', '..', '..');
const LOGO = path.join(ROOT, 'examples', 'assets', 'logo.png');

let tmp: string;
let emu: RunningEmulator;
let client: ECRPUBLICClient;
let browser: Browser;
let alias: string;

beforeAll(async () => {
  if (!fs.existsSync(path.join(ROOT, 'assets', 'image-publisher', 'index.js'))) {
    throw new Error('assets/image-publisher/index.js is missing: run `npx projen bundle` first');
  }
  tmp = makeTempDir('gallery-example-');
  emu = await startEmulator({ iam: {} });
  const assemblyDir = path.join(tmp, 'cdk.out');
  buildExampleApp(assemblyDir).synth();
  await deployApp({ assemblyDir, endpoint: emu.endpoint, dataDir: tmp, log: () => undefined });
  client = ecrPublicClient(emu.endpoint);
  alias = await primaryRegistryAlias(client);
  browser = await launchBrowser();
}, 180_000);

afterAll(async () => {
  await browser?.close();
  client?.destroy();
  await emu?.stop();
  removeTempDir(tmp);
});

/** What every preview page must hold to: nothing fetched from elsewhere, nothing refused by its own policy, no script. */
async function expectSelfContained(opened: OpenedPage): Promise<void> {
  expect(opened.status).toBe(200);
  expect(opened.requests.filter((url) => !url.startsWith(`${emu.endpoint}/`))).toEqual([]);
  expect(opened.consoleErrors).toEqual([]);
  expect(opened.dialogs).toEqual([]);
  expect(await opened.page.evaluate('document.scripts.length')).toBe(0);
  // The inline style sheet applied (the policy allows it by its hash): the top bar has its colour.
  expect(await opened.page.evaluate('getComputedStyle(document.querySelector("header.topbar")).backgroundColor')).toBe('rgb(35, 47, 62)');
}

/** What the tests read of an `<img>` (the test program has no DOM types). */
interface ImageElement {
  readonly naturalWidth: number;
}

/** Width of a PNG from its IHDR chunk. */
function pngWidth(file: string): number {
  return fs.readFileSync(file).readUInt32BE(16);
}

async function images(repositoryName: string): Promise<ImageDetail[]> {
  return (await client.send(new DescribeImagesCommand({ repositoryName }))).imageDetails ?? [];
}

test('/gallery/ shows the registry: its alias (the display name is for verified accounts), and each repository with logo, description and badges', async () => {
  const opened = await openPage(browser, `${emu.endpoint}/gallery/`);
  const { page } = opened;
  await expectSelfContained(opened);
  // DescribeRegistries says verified: false, so the Gallery would not show 'Acme Corp': the preview names the alias.
  const registries = await client.send(new DescribeRegistriesCommand({}));
  expect(registries.registries?.map((r) => r.verified)).toEqual([false]);
  expect(await page.title()).toBe(`${alias} · ECR Public Gallery preview`);
  expect(await page.textContent('main h1')).toBe(alias);
  expect(await page.textContent('main .by code')).toBe(alias);
  expect(await page.textContent('main .by .hidden-name')).toBe('display name Acme Corp not shown: the Gallery shows it for verified accounts only');

  const cards = await page.$$eval('li.card', (items) => items.map((li) => ({
    name: li.querySelector('h2 a')!.textContent,
    href: li.querySelector('h2 a')!.getAttribute('href'),
    description: li.querySelector('p')!.textContent,
    badges: [...li.querySelectorAll('.badge')].map((b) => `${b.className}:${b.textContent}`),
    logoWidth: (li.querySelector('img.logo') as unknown as ImageElement).naturalWidth,
  })));
  expect(cards).toEqual([
    {
      name: 'acme/hello',
      href: `/gallery/${alias}/acme/hello`,
      description: 'A tiny image that prints a greeting',
      badges: ['badge os:Linux', 'badge arch:x86-64'],
      logoWidth: pngWidth(LOGO),
    },
    {
      name: 'acme/tools',
      href: `/gallery/${alias}/acme/tools`,
      description: 'Command-line tools of Acme, for ARM and x86',
      badges: ['badge os:Linux', 'badge arch:x86-64', 'badge arch:ARM 64'],
      logoWidth: pngWidth(LOGO),
    },
  ]);
  await screenshot(page, 'registry');

  // The card's link leads to the repository page.
  await page.click('li.card h2 a >> text=acme/hello');
  expect(new URL(page.url()).pathname).toBe(`/gallery/${alias}/acme/hello`);
  expect(await page.textContent('main h1')).toBe('acme/hello');
  await page.context().close();
});

test('the repository page of acme/hello: header, badges, About and Usage from markdown, tags, and a pull command that pulls', async () => {
  const opened = await openPage(browser, `${emu.endpoint}/gallery/${alias}/acme/hello`);
  const { page } = opened;
  await expectSelfContained(opened);

  expect(await page.textContent('main h1')).toBe('acme/hello');
  expect(await page.textContent('.hero .by a')).toBe(alias);
  expect(await page.textContent('.hero .by .hidden-name q')).toBe('Acme Corp');
  expect(await page.getAttribute('.hero .by a', 'href')).toBe(`/gallery/${alias}`);
  expect(await page.textContent('.hero .description')).toBe('A tiny image that prints a greeting');
  expect(await page.$$eval('.hero .badge', (bs) => bs.map((b) => `${b.className}:${b.textContent}`))).toEqual(['badge os:Linux', 'badge arch:x86-64']);
  expect(await page.$eval('.hero img.logo', (img) => (img as unknown as ImageElement).naturalWidth)).toBe(pngWidth(LOGO));

  // About: examples/assets/ABOUT.md, rendered (a heading and bold text, not the markdown source).
  expect(await page.textContent('#about .markdown h1')).toBe('Acme hello');
  expect(await page.textContent('#about .markdown strong')).toBe('cdk-ecr-public');
  expect(await page.textContent('#about')).not.toContain('**');
  // Usage: examples/assets/USAGE.md, its fenced block a code block.
  expect(await page.textContent('#usage .markdown h2')).toBe('Usage');
  expect(await page.textContent('#usage .markdown pre code')).toBe('docker run --rm public.ecr.aws/<alias>/acme/hello:1.0.0\n');

  // Image tags: one row per tag, as DescribeImages reports the image.
  const [image] = await images('acme/hello');
  expect(image.imageTags?.slice().sort()).toEqual(['1.0.0', 'latest']);
  const rows = await page.$$eval('#image-tags tbody tr', (trs) => trs.map((tr) => ({
    tag: tr.querySelector('.tag')!.textContent,
    type: tr.querySelector('.type')!.textContent,
    bytes: tr.querySelector('.size')!.getAttribute('data-bytes'),
    size: tr.querySelector('.size')!.textContent,
    pushed: tr.querySelector('.pushed time')!.getAttribute('datetime'),
    pushedText: tr.querySelector('.pushed time')!.textContent,
    digest: tr.querySelector('.digest code')!.getAttribute('title'),
    digestText: tr.querySelector('.digest code')!.textContent,
  })));
  const pushed = image.imagePushedAt!.toISOString();
  const row = {
    type: 'Image',
    bytes: String(image.imageSizeInBytes),
    size: `${image.imageSizeInBytes} B`,
    pushed,
    pushedText: `${pushed.slice(0, 19).replace('T', ' ')} UTC`,
    digest: image.imageDigest,
    digestText: `${image.imageDigest!.slice(0, 19)}…`,
  };
  expect(rows).toEqual([{ tag: '1.0.0', ...row }, { tag: 'latest', ...row }]);

  // The pull command names the emulator's repository URI and the latest tag; skopeo pulls exactly that image with it.
  const command = await page.textContent('#pull-command');
  expect(command).toBe(`docker pull ${emu.host}/${alias}/acme/hello:latest`);
  const pulled = path.join(tmp, 'pulled');
  await skopeoCopy(`docker://${command!.slice('docker pull '.length)}`, `oci:${pulled}:pulled`);
  expect(readOciLayout(pulled, 'pulled').descriptor.digest).toBe(image.imageDigest);

  await screenshot(page, 'repository-acme-hello');
  await page.context().close();
});

test('the repository page of acme/tools: two architecture badges, inline markdown, and no tags yet', async () => {
  const opened = await openPage(browser, `${emu.endpoint}/gallery/${alias}/acme/tools`);
  const { page } = opened;
  await expectSelfContained(opened);
  expect(await page.textContent('main h1')).toBe('acme/tools');
  expect(await page.$$eval('.hero .badge', (bs) => bs.map((b) => b.textContent))).toEqual(['Linux', 'x86-64', 'ARM 64']);
  expect(await page.$$eval('.hero .badge.unknown', (bs) => bs.length)).toBe(0);
  expect(await page.textContent('#about .markdown h1')).toBe('Acme tools');
  expect(await page.textContent('#usage .markdown code')).toBe('docker run public.ecr.aws/<alias>/acme/tools:<tag>');
  expect(await images('acme/tools')).toEqual([]);
  expect(await page.textContent('#image-tags .empty')).toBe('No image is tagged yet.');
  expect(await page.$$('#image-tags table')).toHaveLength(0);
  expect(await page.textContent('#pull-command')).toBe(`docker pull ${emu.host}/${alias}/acme/tools`);
  await screenshot(page, 'repository-acme-tools');
  await page.context().close();
});

test.each([375, 1280])('at %i px the repository page fits its window: the image-tag table inside its card, no cell clipped, types on one line', async (width) => {
  const opened = await openPage(browser, `${emu.endpoint}/gallery/${alias}/acme/hello`, { width });
  const { page } = opened;
  await expectSelfContained(opened);
  const layout = await page.evaluate(`(() => {
    const table = document.querySelector('#image-tags table');
    const card = table.closest('.panel').getBoundingClientRect();
    const box = table.getBoundingClientRect();
    const cells = [...table.querySelectorAll('td, th')].filter((c) => c.getClientRects().length > 0);
    const lines = (el) => { const r = document.createRange(); r.selectNodeContents(el); return new Set([...r.getClientRects()].map((q) => Math.round(q.top))).size; };
    return {
      pageOverflow: document.documentElement.scrollWidth - window.innerWidth,
      tableInCard: box.left >= card.left - 0.5 && box.right <= card.right + 0.5,
      tableOverflow: table.scrollWidth - table.clientWidth,
      clipped: cells.filter((c) => c.scrollWidth > c.clientWidth + 1).map((c) => c.className + ': ' + c.textContent),
      typeLines: [...table.querySelectorAll('td.type')].map(lines),
      digestLines: [...table.querySelectorAll('td.digest code')].map(lines),
    };
  })()`) as { pageOverflow: number; tableInCard: boolean; tableOverflow: number; clipped: string[]; typeLines: number[]; digestLines: number[] };
  expect(layout).toEqual({ pageOverflow: 0, tableInCard: true, tableOverflow: 0, clipped: [], typeLines: [1, 1], digestLines: [1, 1] });
  await screenshot(page, `repository-acme-hello-${width}px`);
  await page.context().close();
});

test('the logo a page shows is served with its real content type and bytes', async () => {
  const opened = await openPage(browser, `${emu.endpoint}/gallery/${alias}/acme/hello`);
  const src = await opened.page.getAttribute('.hero img.logo', 'src');
  await opened.page.context().close();
  expect(src).toMatch(/^\/logo\/[0-9a-f-]+\.png$/);
  const response = await fetch(`${emu.endpoint}${src}`);
  expect(response.status).toBe(200);
  expect(response.headers.get('content-type')).toBe('image/png');
  expect(Buffer.from(await response.arrayBuffer()).equals(fs.readFileSync(LOGO))).toBe(true);
});
