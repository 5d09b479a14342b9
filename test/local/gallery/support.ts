/**
 * The Gallery preview tests' browser: Debian's Chromium (/usr/bin/chromium, installed by .ci/run) driven by
 * playwright-core, which downloads no browser of its own. Each page records what it requested and what it logged, so
 * a test can tell that nothing was fetched from elsewhere, that the Content-Security-Policy refused nothing on a page
 * of ours, and that no script ran.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Browser, chromium, Page } from 'playwright-core';

export const CHROMIUM = '/usr/bin/chromium';
const ROOT = path.resolve(__dirname, '..', '..', '..');
/** Screenshots land beside the junit report, for people to look at. */
export const SCREENSHOT_DIR = path.join(ROOT, 'test-reports', 'gallery');

export async function launchBrowser(): Promise<Browser> {
  if (!fs.existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} is missing: apt-get install -y chromium (.ci/run installs it)`);
  // No sandbox: CI runs as root, where Chromium's sandbox refuses to start.
  return chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox'], timeout: 60_000 });
}

export interface OpenedPage {
  readonly page: Page;
  /** Status of the page's own response. */
  readonly status: number;
  /** Every URL the page requested (the page, its logo images, anything else). */
  readonly requests: string[];
  /** Console messages of type error (a CSP refusal logs one). */
  readonly consoleErrors: string[];
  /** Dialogs (alert, confirm, prompt) something tried to open. */
  readonly dialogs: string[];
}

export interface OpenOptions {
  /**
   * Ignore the page's Content-Security-Policy, so that a test sees what the markup alone would do.
   * @default false
   */
  readonly bypassCsp?: boolean;
  /**
   * The window's width in CSS pixels (a phone's is 375).
   * @default 1280
   */
  readonly width?: number;
}

export async function openPage(browser: Browser, url: string, options: OpenOptions = {}): Promise<OpenedPage> {
  const context = await browser.newContext({ bypassCSP: options.bypassCsp ?? false, viewport: { width: options.width ?? 1280, height: 900 } });
  const page = await context.newPage();
  const requests: string[] = [];
  const consoleErrors: string[] = [];
  const dialogs: string[] = [];
  page.on('request', (r) => requests.push(r.url()));
  page.on('console', (m) => {
    if (m.type() === 'error') consoleErrors.push(m.text());
  });
  page.on('dialog', (d) => {
    dialogs.push(`${d.type()}: ${d.message()}`);
    void d.dismiss();
  });
  const response = await page.goto(url, { waitUntil: 'load' });
  return { page, status: response?.status() ?? 0, requests, consoleErrors, dialogs };
}

/** Saves a full-page screenshot as `test-reports/gallery/<name>.png`; returns its path. */
export async function screenshot(page: Page, name: string): Promise<string> {
  fs.mkdirSync(SCREENSHOT_DIR, { recursive: true });
  const file = path.join(SCREENSHOT_DIR, `${name}.png`);
  await page.screenshot({ path: file, fullPage: true });
  return file;
}
