// First render of the console's accounts page in headless Chromium (Debian's
// chromium, launched by tests/browser/lib.mjs): signs in through the API once,
// then BENCH_RUNS times (a) loads /#/accounts in a fresh tab until the first
// table row is on screen and (b) clicks the menu's "Tài khoản" from the
// dashboard until the table is replaced. Prints one JSON line with p50/p95
// in milliseconds. Run by bench/admin/run.py. BENCH_BREAKDOWN=1 adds, for
// the fresh tabs, the median time of each step of the load (navigation
// timing, and when each file and API call started and ended). BENCH_TRACE=file
// writes a Chromium trace (chrome://tracing, Perfetto) of the third fresh tab.
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const base = process.env.HOMTHU_ADMIN_URL;
const runs = Number(process.env.BENCH_RUNS || 20);

const pct = (xs, p) => {
  const s = [...xs].sort((a, b) => a - b);
  const k = (s.length - 1) * p / 100;
  const lo = Math.floor(k), hi = Math.min(lo + 1, s.length - 1);
  return s[lo] + (s[hi] - s[lo]) * (k - lo);
};

// The server's certificate is trusted as a browser trusts the real one
// (tests/browser/lib.mjs, launch), so that Chromium caches the immutable
// bundle and style sheet and reuses connections as it would for a user.
const { launch } = await import(path.join(root, 'tests/browser/lib.mjs'));
const browser = await launch({ trustCert: process.env.HOMTHU_ADMIN_CERT || undefined });
const { context } = browser;
try {
  const first = await context.newPage();
  await first.goto(`${base}/#/signin`);
  const status = await first.evaluate(async ([login, password]) => (await fetch('/api/v1/session', {
    method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ login, password }),
  })).status, [process.env.HOMTHU_LOGIN, process.env.HOMTHU_PASSWORD]);
  if (status !== 200) throw new Error(`sign-in answered ${status}`);
  await first.close();
  // Notes when the first table row enters the document, in the page's own
  // clock (milliseconds since navigation start). The bench waits on this
  // promise rather than with waitForSelector, whose script Playwright would
  // inject and evaluate in the page while it loads (about 19 ms of the
  // page's main thread, traced).
  await context.addInitScript(() => {
    window.__row = new Promise((resolve) => {
      new MutationObserver((_, obs) => {
        if (document.querySelector('#acct-table tbody tr')) {
          obs.disconnect();
          resolve(performance.now());
        }
      }).observe(document, { childList: true, subtree: true });
    });
  });
  const load = [], nav = [], steps = {};
  const note = (name, ms) => (steps[name] ??= []).push(ms);
  for (let i = 0; i < runs; i++) {
    const page = await context.newPage();
    // BENCH_TRACE=file: a Chromium trace of the third fresh tab (caches warm).
    const cdp = process.env.BENCH_TRACE && i === 2 ? await context.newCDPSession(page) : null;
    if (cdp) {
      await cdp.send('Tracing.start', { transferMode: 'ReturnAsStream',
        traceConfig: { includedCategories: ['devtools.timeline', 'blink.user_timing', 'loading', 'v8.execute',
          'disabled-by-default-devtools.timeline'] } });
    }
    await page.goto(`${base}/#/accounts`, { waitUntil: 'commit' });
    load.push(await page.evaluate(() => window.__row));
    if (cdp) {
      const done = new Promise((resolve) => cdp.once('Tracing.tracingComplete', resolve));
      await cdp.send('Tracing.end');
      const { stream } = await done;
      const parts = [];
      for (;;) {
        const r = await cdp.send('IO.read', { handle: stream });
        parts.push(r.base64Encoded ? Buffer.from(r.data, 'base64').toString() : r.data);
        if (r.eof) break;
      }
      await cdp.send('IO.close', { handle: stream });
      fs.writeFileSync(process.env.BENCH_TRACE, parts.join(''));
    }
    if (process.env.BENCH_BREAKDOWN) {
      const entries = await page.evaluate(() => {
        const [n] = performance.getEntriesByType('navigation');
        const out = [['nav.requestStart', n.requestStart], ['nav.responseEnd', n.responseEnd],
          ['nav.domInteractive', n.domInteractive], ['nav.domContentLoadedEnd', n.domContentLoadedEventEnd]];
        for (const r of performance.getEntriesByType('resource')) {
          const u = new URL(r.name);
          const name = u.pathname.replace(/-[0-9a-f]{8,}\./, '.') + (u.search.split('&')[0] || '');
          out.push([`${name} start`, r.startTime], [`${name} first byte`, r.responseStart], [`${name} end`, r.responseEnd]);
        }
        for (const p of performance.getEntriesByType('paint')) out.push([p.name, p.startTime]);
        for (const m of performance.getEntriesByType('mark')) out.push([m.name, m.startTime]);
        return out;
      });
      for (const [name, ms] of entries) note(name, ms);
    }
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
  const out = { runs, load_p50: pct(load, 50), load_p95: pct(load, 95), nav_p50: pct(nav, 50), nav_p95: pct(nav, 95) };
  if (process.env.BENCH_BREAKDOWN) {
    out.steps_p50 = Object.fromEntries(Object.entries(steps).map(([k, v]) => [k, Math.round(pct(v, 50) * 10) / 10])
      .sort((a, b) => a[1] - b[1]));
  }
  console.log(JSON.stringify(out));
} finally {
  await browser.close();
}
