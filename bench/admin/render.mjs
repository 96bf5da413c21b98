// First render of the console's accounts page in headless Chromium (Debian's
// chromium, tests/browser's playwright-core): signs in through the API once,
// then BENCH_RUNS times (a) loads /#/accounts in a fresh tab until the first
// table row is on screen and (b) clicks the menu's "Tài khoản" from the
// dashboard until the table is replaced. Prints one JSON line with p50/p95
// in milliseconds. Run by bench/admin/run.py.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const { chromium } = await import(path.join(root, 'tests/browser/node_modules/playwright-core/index.mjs'));
const base = process.env.HOMTHU_ADMIN_URL;
const runs = Number(process.env.BENCH_RUNS || 20);

const pct = (xs, p) => {
  const s = [...xs].sort((a, b) => a - b);
  const k = (s.length - 1) * p / 100;
  const lo = Math.floor(k), hi = Math.min(lo + 1, s.length - 1);
  return s[lo] + (s[hi] - s[lo]) * (k - lo);
};

const profile = fs.mkdtempSync(path.join(os.tmpdir(), 'homthu-bench-chromium-'));
const context = await chromium.launchPersistentContext(profile, {
  executablePath: '/usr/bin/chromium', headless: true, ignoreHTTPSErrors: true, locale: 'vi-VN',
  viewport: { width: 1280, height: 900 },
  args: ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking',
    '--disable-component-update', '--disable-sync'],
});
try {
  const first = await context.newPage();
  await first.goto(`${base}/#/signin`);
  const status = await first.evaluate(async ([login, password]) => (await fetch('/api/v1/session', {
    method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ login, password }),
  })).status, [process.env.HOMTHU_LOGIN, process.env.HOMTHU_PASSWORD]);
  if (status !== 200) throw new Error(`sign-in answered ${status}`);
  await first.close();
  // Notes when the first table row enters the document, in the page's own
  // clock (milliseconds since navigation start).
  await context.addInitScript(() => {
    new MutationObserver((_, obs) => {
      if (document.querySelector('#acct-table tbody tr')) {
        window.__rowAt = performance.now();
        obs.disconnect();
      }
    }).observe(document, { childList: true, subtree: true });
  });
  const load = [], nav = [];
  for (let i = 0; i < runs; i++) {
    const page = await context.newPage();
    await page.goto(`${base}/#/accounts`);
    await page.waitForSelector('#acct-table tbody tr');
    load.push(await page.evaluate(() => window.__rowAt));
    await page.goto(`${base}/#/dashboard`);
    await page.waitForSelector('#dash-active');
    const n = await page.evaluate(async () => {
      const t = performance.now();
      document.querySelector('#nav a[href="#/accounts"]').click();
      await new Promise((resolve) => {
        const tick = () => (document.querySelector('#acct-table tbody tr') ? resolve() : requestAnimationFrame(tick));
        tick();
      });
      return performance.now() - t;
    });
    nav.push(n);
    await page.close();
  }
  console.log(JSON.stringify({ runs, load_p50: pct(load, 50), load_p95: pct(load, 95), nav_p50: pct(nav, 50), nav_p95: pct(nav, 95) }));
} finally {
  await context.close();
  fs.rmSync(profile, { recursive: true, force: true });
}
