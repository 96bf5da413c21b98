// The console with [admin] require_totp_for_province_admins: a province
// administrator without a second factor lands on the Security page with the
// message, without the menu, is brought back there from any other page, and
// gets the whole console once a code confirms the enrolment. Run by
// tests/integration/test_browser_console.py against a daemon of its own.
import fs from 'node:fs';
import path from 'node:path';
import { check, env, fail, launch, report, totp } from './lib.mjs';

const base = env('HOMTHU_ADMIN_URL');
const password = env('HOMTHU_PASSWORD');
const artifacts = env('HOMTHU_ARTIFACTS');
fs.mkdirSync(artifacts, { recursive: true });

const browser = await launch();
const { context } = browser;
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
  fail(e);
} finally {
  await browser.close();
}
report();
