/**
 * The Gallery preview lists each tagged image's referrers (OCI 1.1: artifact type, size, digest), those of an index's
 * images and of other referrers included, looked at in headless Chromium. The image and its referrers are pushed
 * through the registry API, as oras pushes them.
 */
import * as path from 'node:path';
import { CreateRepositoryCommand, DescribeImagesCommand } from '@aws-sdk/client-ecr-public';
import { Browser } from 'playwright-core';
import { launchBrowser, openPage, screenshot } from './support';
import { pushOciLayout } from '../../support/ecr-push';
import { basicAuthorization, InProcessEmulator, loginPassword, primaryRegistryAlias, startInProcess, stopInProcess } from '../../support/emulator-harness';
import { readOciLayout } from '../../support/oci-layout';
import { AttachedArtifact, attachToLayout, RegistryWriter } from '../../support/oci-referrers';
import { makeTempDir } from '../../support/temp-dirs';
import { buildImage } from '../../support/umoci-images';

const REPO = 'acme/signed';
let h: InProcessEmulator;
let browser: Browser;
let alias: string;
let image: string;
let sbom: AttachedArtifact;
let signature: AttachedArtifact;

beforeAll(async () => {
  h = await startInProcess();
  await h.client.send(new CreateRepositoryCommand({ repositoryName: REPO }));
  alias = await primaryRegistryAlias(h.client);
  const layout = path.join(makeTempDir('gallery-referrers-'), 'layout');
  await buildImage(layout, { tag: 'v1', files: { 'app.txt': 'app\n' } });
  await buildImage(layout, { tag: 'plain', files: { 'plain.txt': 'plain\n' } });
  image = await pushOciLayout(h.client, REPO, layout, { tag: 'v1', layoutTag: 'v1' });
  await pushOciLayout(h.client, REPO, layout, { tag: 'plain', layoutTag: 'plain' });
  const writer = new RegistryWriter(`${h.emu.endpoint}/v2/${alias}/${REPO}`, { authorization: basicAuthorization('AWS', await loginPassword(h.client)) });
  sbom = attachToLayout(layout, readOciLayout(layout, 'v1').root, { artifactType: 'application/spdx+json', content: 'x'.repeat(3000) });
  signature = attachToLayout(layout, sbom, { artifactType: 'application/vnd.cncf.notary.signature', content: 'signature' });
  for (const a of [sbom, signature]) await writer.artifact(layout, a);
  browser = await launchBrowser();
}, 120_000);

afterAll(async () => {
  await browser?.close();
  await stopInProcess(h);
});

test('the repository page lists each image\'s referrers under its tag: type, size as DescribeImages gives it, digest, and whose', async () => {
  const opened = await openPage(browser, `${h.emu.endpoint}/gallery/${alias}/${REPO}`);
  const { page } = opened;
  expect(opened.status).toBe(200);
  expect(opened.consoleErrors).toEqual([]);
  const details = (await h.client.send(new DescribeImagesCommand({ repositoryName: REPO }))).imageDetails ?? [];
  const sizeOf = (digest: string) => details.find((d) => d.imageDigest === digest)!.imageSizeInBytes;

  const rows = await page.$$eval('table.tags tbody tr', (trs) => trs.map((tr) => ({
    className: tr.className,
    tag: tr.querySelector('td.tag')?.textContent ?? null,
    referrers: [...tr.querySelectorAll('li.referrer')].map((li) => ({
      type: li.querySelector('.artifact-type')!.textContent,
      bytes: li.querySelector('.size')!.getAttribute('data-bytes'),
      digest: li.querySelector('code.digest')!.getAttribute('title'),
      subject: li.querySelector('.subject code')?.getAttribute('title') ?? null,
    })),
  })));
  const v1 = rows.findIndex((r) => r.tag === 'v1');
  expect(rows[v1 + 1]).toEqual({
    className: 'referrers',
    tag: null,
    referrers: [
      { type: 'application/spdx+json', bytes: String(sizeOf(sbom.digest)), digest: sbom.digest, subject: null },
      { type: 'application/vnd.cncf.notary.signature', bytes: String(sizeOf(signature.digest)), digest: signature.digest, subject: sbom.digest },
    ],
  });
  expect(sizeOf(sbom.digest)).toBe(3000);
  // An image without referrers has no such row.
  const plain = rows.findIndex((r) => r.tag === 'plain');
  expect(rows[plain + 1]?.className ?? '').not.toBe('referrers');
  expect(await page.textContent('tr.referrers .label')).toBe('Referrers (2)');
  expect(await page.getAttribute(`table.tags tbody tr:nth-child(${v1 + 1}) td.digest code`, 'title')).toBe(image);
  await screenshot(page, 'referrers');
  await page.context().close();
});

test.each([375, 1280])('at %i px the referrers fit the window: no overflow, no cell clipped', async (width) => {
  const opened = await openPage(browser, `${h.emu.endpoint}/gallery/${alias}/${REPO}`, { width });
  const { page } = opened;
  const layout = await page.evaluate(`(() => {
    const table = document.querySelector('#image-tags table');
    const cells = [...table.querySelectorAll('tr.referrers td')].filter((c) => c.getClientRects().length > 0);
    return {
      pageOverflow: document.documentElement.scrollWidth - window.innerWidth,
      tableOverflow: table.scrollWidth - table.clientWidth,
      clipped: cells.filter((c) => c.scrollWidth > c.clientWidth + 1).map((c) => c.textContent),
      shown: cells.length,
      labelLines: (() => { const r = document.createRange(); r.selectNodeContents(table.querySelector('tr.referrers .label')); return new Set([...r.getClientRects()].map((q) => Math.round(q.top))).size; })(),
    };
  })()`) as { pageOverflow: number; tableOverflow: number; clipped: string[]; shown: number; labelLines: number };
  expect(layout).toEqual({ pageOverflow: 0, tableOverflow: 0, clipped: [], shown: 1, labelLines: 1 });
  await screenshot(page, `referrers-${width}px`);
  await page.context().close();
});
