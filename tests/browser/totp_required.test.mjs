// The console with [admin] require_totp_for_province_admins: a province
// administrator without a second factor lands on the Security page with the
// message, without the menu, is brought back there from any other page, and
// gets the whole console once a code confirms the enrolment. Run by
// tests/integration/test_browser_console.py against a daemon of its own.
import { chromium } from 'playwright-core';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

const base = process.env.HOMTHU_ADMIN_URL;
const password = process.env.HOMTHU_PASSWORD;
const artifacts = process.env.HOMTHU_ARTIFACTS;
fs.mkdirSync(artifacts, { recursive: true });

// RFC 6238 (SHA-1, 6 digits, 30 s), as an authenticator app computes it.
function totp(secretB32, atMs = Date.now()) {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';
  let bits = '';
  for (const ch of secretB32.replace(/[\s=]/g, '').toUpperCase()) bits += alphabet.indexOf(ch).toString(2).padStart(5, '0');
  const key = Buffer.from(bits.match(/.{8}/g).map((b) => parseInt(b, 2)));
  const counter = Buffer.alloc(8);
  counter.writeBigUInt64BE(BigInt(Math.floor(atMs / 30000)));
  const mac = crypto.createHmac('sha1', key).update(counter).digest();
  const o = mac[mac.length - 1] & 15;
  return String((mac.readUInt32BE(o) & 0x7fffffff) % 1000000).padStart(6, '0');
}

let failures = 0;
function check(cond, what) {
  console.log(`${cond ? 'ok' : 'not ok'} - ${what}`);
  if (!cond) failures += 1;
}

const profile = fs.mkdtempSync(path.join(os.tmpdir(), 'homthu-chromium-'));
const context = await chromium.launchPersistentContext(profile, {
  executablePath: '/usr/bin/chromium', headless: true, timeout: 60000, ignoreHTTPSErrors: true, locale: 'vi-VN',
  viewport: { width: 1280, height: 900 },
  args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
    '--disable-background-networking', '--disable-component-update', '--disable-sync'],
});
try {
  const page = await context.newPage();
  page.setDefaultTimeout(15000);
  const cspErrors = [];
  page.on('console', (m) => {
    if (m.type() === 'error' && /Content Security Policy/i.test(m.text())) cspErrors.push(m.text());
  });
  await page.goto(`${base}/#/signin`);
  await page.getByLabel('Địa chỉ thư').fill('admin@thainguyen.gov.vn');
  await page.getByLabel('Mật khẩu').fill(password);
  await page.getByRole('button', { name: 'Đăng nhập' }).click();
  await page.waitForSelector('#totp-required');
  const vi = JSON.parse(fs.readFileSync(new URL('../../admin/web/i18n/vi.json', import.meta.url), 'utf8'));
  check(await page.textContent('#totp-required') === vi['totp.required'], 'signed in to the Security page with the message');
  check(await page.evaluate(() => location.hash) === '#/security', 'the address is #/security');
  check(await page.isHidden('#nav'), 'no menu before enrolment');
  await page.screenshot({ path: path.join(artifacts, '20-totp-required.png'), fullPage: true });

  // Any other page leads back to the Security page.
  await page.goto(`${base}/#/accounts`);
  await page.waitForFunction(() => location.hash === '#/security');
  await page.waitForSelector('#totp-required');
  check(await page.$('#acct-table') === null, 'the account list is not shown');

  await page.click('#totp-start');
  await page.waitForSelector('#totp-secret');
  const secret = (await page.textContent('#totp-secret')).replace(/\s/g, '');
  await page.fill('#totp-code', totp(secret));
  await page.getByRole('button', { name: 'Xác nhận' }).click();
  await page.waitForSelector('#dash-active');
  check(await page.isVisible('#nav'), 'after the confirmation: the dashboard and the menu');
  await page.getByRole('link', { name: 'Tài khoản' }).click();
  await page.waitForSelector('#acct-table tbody tr');
  check(true, 'the account list opens');
  check(cspErrors.length === 0, 'no Content-Security-Policy violations');
} catch (e) {
  failures += 1;
  console.log(`not ok - ${e.stack || e}`);
} finally {
  await context.close();
  fs.rmSync(profile, { recursive: true, force: true });
}
console.log(failures ? `${failures} failed` : 'all passed');
process.exit(failures ? 1 : 0);
