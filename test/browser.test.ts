// The browser build (dist/browser/index.mjs, the `browser` export condition) in headless
// Chromium (Debian's chromium package, driven by playwright-core; no browser is ever
// downloaded): every public golden case replayed in the page, on the wasm and js backends,
// with the digest every backend gives. Files are served to the page from the checkout by
// request interception; the page reaches nothing else.
import { existsSync, readFileSync } from 'node:fs';
import * as path from 'node:path';
import { chromium, type Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GOLDEN_DIGEST } from './golden-replay.cjs';

const ROOT = path.join(__dirname, '..');
const CHROMIUM = process.env.SGD_CHROMIUM ?? '/usr/bin/chromium';
const ORIGIN = 'http://localhost:8123'; // localhost: a secure context, so crypto.subtle exists
const TYPES: Record<string, string> = {
  '.mjs': 'text/javascript',
  '.cjs': 'text/javascript',
  '.json': 'application/json',
  '.html': 'text/html',
};
// CI installs Chromium (.ci/run); elsewhere the test says it is skipped for want of one.
// Not where tests may not spawn (under qemu) nor under the sanitizers (their preloads would
// reach the browser).
const available =
  process.platform === 'linux' &&
  !process.env.SGD_TEST_NO_SPAWN &&
  !process.env.SGD_TEST_SANITIZER &&
  (existsSync(CHROMIUM) || !!process.env.CI);

let browser: Browser;
beforeAll(async () => {
  if (!available) return;
  browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
}, 60_000);
afterAll(async () => browser?.close());

/** Replays every golden case in a fresh page on `forced` (or the default choice). */
async function replayInPage(forced?: string) {
  const page = await browser.newPage();
  const logs: string[] = [];
  page.on('console', (m) => logs.push(m.text()));
  page.on('pageerror', (e) => logs.push(String(e)));
  await page.route(`${ORIGIN}/**`, async (route) => {
    const file = new URL(route.request().url()).pathname;
    const where = path.join(ROOT, file === '/' ? 'test/browser.html' : file);
    if (!where.startsWith(ROOT) || !existsSync(where)) return route.fulfill({ status: 404 });
    let body = readFileSync(where, 'utf8'); // text only: the page asks for .html, .mjs, .cjs and .json
    // test/golden-replay.cjs, made an ES module: its `module.exports`, exported by name.
    if (where.endsWith('.cjs')) {
      const names = Object.keys(require(where) as object).join(', ');
      body = `const module = { exports: {} };\n(function (module) {\n${body}\n})(module);\nexport const { ${names} } = module.exports;`;
    }
    await route.fulfill({ body, contentType: TYPES[path.extname(where)] ?? 'application/octet-stream' });
  });
  if (forced) await page.addInitScript(`globalThis.SGD_NATIVE_BACKEND = ${JSON.stringify(forced)};`);
  await page.goto(`${ORIGIN}/`);
  await page.waitForFunction('globalThis.result !== undefined', undefined, { timeout: 120_000 });
  const result = (await page.evaluate('globalThis.result')) as {
    backend: { active: string; available: string[] };
    isa: string;
    cases: number;
    digest: string;
    error?: string;
  };
  const ua = await page.evaluate('navigator.userAgent');
  await page.close();
  expect(result.error, 'the page').toBe(undefined);
  return { ...result, ua: String(ua), logs };
}

describe('in headless Chromium', () => {
  it.runIf(available)('loads the wasm backend by itself, and says nothing about falling back', async () => {
    const r = await replayInPage();
    expect(r.backend).toEqual({ active: 'wasm', available: ['wasm', 'js'] });
    expect(r.isa).toBe('wasm-simd128');
    expect(r.logs.filter((l) => /sgd-native: using/.test(l))).toEqual([]);
    expect(r.cases).toBeGreaterThan(40);
    expect(r.digest).toBe(GOLDEN_DIGEST);
    console.log(`browser: ${r.ua.match(/(Headless)?Chrome\/[\d.]+/)?.[0]}, wasm: ${r.cases} golden cases, digest ${r.digest.slice(0, 16)}`);
  });

  it.runIf(available)('replays every golden case with the same bits on the js backend', async () => {
    const r = await replayInPage('js');
    expect(r.backend.active).toBe('js');
    expect(r.digest).toBe(GOLDEN_DIGEST);
  });
});

it.skipIf(available)(`browser test skipped: no Chromium at ${CHROMIUM} (Debian: apt-get install chromium), or no spawning here`, () => {});
