// End-to-end test of the admin console in headless Chromium (Debian's
// /usr/bin/chromium driven by playwright-core): sign in, the dashboard's
// charts and recent delivery failures, the delivery log of a message sent
// before the test, search, create an account with a hostile display name,
// reset a password, import a CSV, unit administrators on the units page, a
// list's posting policy, the refusals a unit administrator meets, and TOTP
// enrolment then sign-in with a code. Screenshots go to $HOMTHU_ARTIFACTS.
// Run by tests/integration/test_browser_console.py, which starts the daemon,
// sends the mail and passes the environment below.
import fs from 'node:fs';
import path from 'node:path';
import { check, env, fail, launch, report, totp } from './lib.mjs';

const base = env('HOMTHU_ADMIN_URL');
const password = env('HOMTHU_PASSWORD');
const unitAdmin = env('HOMTHU_UNIT_ADMIN');
const otherId = env('HOMTHU_OTHER_ACCOUNT');
const searchName = env('HOMTHU_SEARCH_NAME');
const searchFolded = env('HOMTHU_SEARCH_FOLDED');
const searchAddress = env('HOMTHU_SEARCH_ADDRESS');
const dept = env('HOMTHU_DEPT');
const district = env('HOMTHU_DISTRICT');
const mailSender = env('HOMTHU_MAIL_SENDER');
const mailRcpt = env('HOMTHU_MAIL_RCPT');
const mailMid = env('HOMTHU_MAIL_MID');
const failMid = env('HOMTHU_FAIL_MID');
const artifacts = env('HOMTHU_ARTIFACTS');
fs.mkdirSync(artifacts, { recursive: true });

const browser = await launch();
const { context } = browser;
const shot = (page, name) => page.screenshot({ path: path.join(artifacts, `${name}.png`), fullPage: true });

async function newPage() {
  const page = await context.newPage();
  page.setDefaultTimeout(15000);
  page.cspErrors = [];
  page.on('console', (m) => {
    if (m.type() === 'error' && /Content Security Policy/i.test(m.text())) page.cspErrors.push(m.text());
  });
  page.on('dialog', (d) => d.accept(page.nextPrompt || ''));
  return page;
}

async function signIn(page, login, pw) {
  await page.goto(`${base}/#/signin`);
  await page.getByLabel('Địa chỉ thư').fill(login);
  await page.getByLabel('Mật khẩu').fill(pw);
  await page.getByRole('button', { name: 'Đăng nhập' }).click();
}

try {
  const page = await newPage();

  // Sign-in: a wrong password is refused in Vietnamese, then the right one.
  await page.goto(base);
  await page.waitForSelector('#signin-form');
  await shot(page, '01-signin');
  await signIn(page, 'admin@thainguyen.gov.vn', 'sai-mat-khau-123');
  await page.getByText('Sai địa chỉ hoặc mật khẩu').waitFor();
  check(true, 'wrong password refused with a Vietnamese message');
  await signIn(page, 'admin@thainguyen.gov.vn', password);
  await page.waitForSelector('#dash-active');
  const active = Number(await page.textContent('#dash-active .n'));
  check(active > 0, `dashboard shows ${active} active accounts`);
  await shot(page, '02-dashboard');

  // The mail-flow charts: SVG bars with a title, the message sent before
  // the test counted in the last hour.
  await page.waitForSelector('#chart-24h svg.chart rect.bar', { state: 'attached' });
  const chart = await page.evaluate(() => {
    const svg = document.querySelector('#chart-24h svg.chart');
    const bars = [...svg.querySelectorAll('rect.bar')];
    const values = bars.map((b) => Number((b.querySelector('title')?.textContent || '').split(': ').pop()));
    // Drawn size on screen (CSS must not override the SVG geometry).
    const px = bars.map((b) => b.getBoundingClientRect());
    return { title: svg.querySelector(':scope > title')?.textContent, bars: bars.length,
      tall: bars.filter((b) => Number(b.getAttribute('height')) > 0).length, max: Math.max(...values),
      tallestPx: Math.max(...px.map((r) => r.height)), widestPx: Math.max(...px.map((r) => r.width)),
      plotPx: svg.getBoundingClientRect().height,
      week: document.querySelectorAll('#chart-7d svg.chart rect.bar').length };
  });
  check(chart.tallestPx > chart.plotPx / 8 && chart.widestPx < chart.plotPx / 4,
    `bars are drawn as vertical bars (tallest ${chart.tallestPx.toFixed(1)} px, widest ${chart.widestPx.toFixed(1)} px)`);
  check(chart.title === 'Lưu lượng thư 24 giờ qua (theo giờ)', `24-hour chart has its title (${chart.title})`);
  check(chart.bars === 24 * 5 && chart.week === 7 * 5, `bars for every hour and day (${chart.bars}, ${chart.week})`);
  check(chart.tall > 0 && chart.max > 0, `the mail sent shows as bars (${chart.tall} non-empty, max ${chart.max})`);

  // Recent delivery failures: the bounce and the deferral, linked to the delivery log.
  await page.waitForSelector('#failures-table');
  const failText = await page.textContent('#failures-table');
  check(failText.includes('reject-trinh-duyet@example.org') && failText.includes('Trả lại'), 'recent failures show the bounce');
  check(failText.includes('defer-trinh-duyet@example.org') && failText.includes('Hoãn'), 'recent failures show the deferral');
  check(failText.includes(mailSender), 'recent failures show the sender');
  await shot(page, '10-dashboard-failures');
  await page.locator('#failures-table tr', { hasText: 'reject-trinh-duyet@example.org' }).getByRole('link', { name: 'Tra cứu' }).click();
  await page.waitForSelector(`.message-hops`);
  check((await page.textContent('#dlog-results')).includes(`<${failMid}>`), 'a failure links to its message in the delivery log');

  // "Where did my mail go": search the message sent before the test, see its hops.
  await page.goto(`${base}/#/delivery-log`);
  await page.waitForSelector('#dlog-form');
  await page.getByLabel('Người gửi').fill(mailSender);
  await page.getByLabel('Message-ID').fill(mailMid);
  await page.getByRole('button', { name: 'Tìm', exact: true }).click();
  await page.waitForFunction((mid) => document.querySelector('#dlog-results')?.textContent.includes(mid), mailMid);
  const hops = await page.locator('#dlog-results .message-hops li').allTextContents();
  check(hops.some((x) => x.includes('Đã nhận') && x.includes(mailRcpt)), 'delivery log shows the received hop');
  check(hops.some((x) => x.includes('Đã phát') && x.includes(mailRcpt)), 'delivery log shows the delivered hop');
  await shot(page, '11-delivery-log');

  // Units: each district's administrator listed; the grant form for the province.
  await page.getByRole('link', { name: 'Đơn vị' }).click();
  await page.waitForSelector('#unit-tree');
  const admins = await page.textContent(`#unit-tree li[data-unit="${district}"] > .unit-admins`);
  check(admins.includes(`qt.${district}@thainguyen.gov.vn`), `units page lists the administrator of ${district}`);
  check(await page.isVisible('#grant-form'), 'province administrator sees the grant form');
  await shot(page, '12-units-admins');

  // Lists: all of them, then one list's policy and posters set and kept.
  await page.getByRole('link', { name: 'Nhóm thư' }).click();
  await page.waitForSelector('#lists-table');
  check((await page.textContent('#lists-table')).includes('toantinh@thainguyen.gov.vn'), 'all lists are listed');
  await page.getByRole('link', { name: `${district}@thainguyen.gov.vn` }).click();
  await page.waitForSelector('#list-settings');
  await page.getByLabel('Ai được gửi').selectOption('moderators');
  await page.getByLabel('Người được chỉ định gửi (địa chỉ, cách nhau bằng dấu phẩy)').fill(mailSender);
  await page.getByRole('button', { name: 'Lưu' }).click();
  await page.getByText('Đã lưu').waitFor();
  await page.reload();
  await page.waitForSelector('#list-settings');
  check(await page.inputValue('#list-policy') === 'moderators' && (await page.inputValue('#list-posters')) === mailSender,
    'list posting policy and posters saved');
  await shot(page, '13-list-policy');
  const cookies = await context.cookies();
  const c = cookies.find((x) => x.name === '__Host-homthu');
  check(c && c.httpOnly && c.secure && c.sameSite === 'Strict', 'session cookie is HttpOnly, Secure, SameSite=Strict');
  check(!(await page.evaluate(() => document.cookie)).includes('homthu'), 'session cookie invisible to scripts');

  // Search without diacritics finds the name written with them.
  await page.getByRole('link', { name: 'Tài khoản' }).click();
  await page.waitForSelector('#acct-table');
  await page.getByLabel('Tìm theo tên hoặc địa chỉ').fill(searchFolded);
  await page.getByRole('button', { name: 'Tìm', exact: true }).click();
  await page.waitForFunction((addr) => document.querySelector('#acct-table')?.textContent.includes(addr), searchAddress);
  check((await page.textContent('#acct-table')).includes(searchName), `"${searchFolded}" finds "${searchName}"`);
  await shot(page, '03-accounts-search');
  // The unit filter gets its options after the rows are drawn; a tab opened
  // on one unit shows it chosen at once, and still after the others come.
  await page.waitForFunction(() => document.querySelectorAll('#acct-unit option').length > 200);
  await page.selectOption('#acct-unit', dept);
  await page.getByLabel('Tìm theo tên hoặc địa chỉ').fill('');
  await page.getByRole('button', { name: 'Tìm', exact: true }).click();
  await page.waitForFunction((u) => location.hash === `#/accounts?unit=${u}`, dept);
  await page.reload();
  await page.waitForSelector('#acct-table');
  check(await page.inputValue('#acct-unit') === dept, 'a tab opened on one unit shows it chosen');
  await page.waitForFunction(() => document.querySelectorAll('#acct-unit option').length > 200);
  check(await page.inputValue('#acct-unit') === dept, 'the unit filter filled after the rows, the chosen unit kept');

  // Create an account whose name is hostile markup.
  const hostile = '<img src=x onerror="window.__pwned=1"><script>window.__pwned=2</script> Đức';
  await page.goto(`${base}/#/accounts/new`);
  await page.getByLabel('Địa chỉ thư').fill('trinh-duyet');
  await page.getByLabel('Họ và tên').fill(hostile);
  await page.getByLabel('Đơn vị').selectOption(dept);
  await page.getByRole('button', { name: 'Tạo tài khoản' }).click();
  await page.waitForSelector('#new-password');
  const created = (await page.textContent('#new-password')).trim();
  check(created.length >= 12, 'generated password shown once after creation');
  await page.getByRole('link', { name: 'Mở tài khoản' }).click();
  await page.waitForSelector('#acct-name');
  check((await page.textContent('#acct-name')) === hostile, 'hostile display name rendered as text');
  check((await page.evaluate(() => window.__pwned)) === undefined, 'hostile display name did not run');
  check((await page.locator('main img, main script').count()) === 0, 'no element created from data');
  await shot(page, '04-account-hostile-name');

  // Reset the password (generated, shown once) and prove it works.
  await page.getByRole('button', { name: 'Tạo mật khẩu ngẫu nhiên' }).click();
  await page.waitForSelector('#pw-generated');
  const reset = (await page.textContent('#pw-generated')).trim();
  check(reset.length >= 12 && reset !== created, 'reset password generated and shown');
  const status = await page.evaluate(async (pw) => {
    const r = await fetch('/api/v1/session', { method: 'POST', headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ login: 'trinh-duyet@thainguyen.gov.vn', password: pw }), credentials: 'omit' });
    return r.status;
  }, reset);
  check(status === 403, `the new password is accepted by the directory (403 no role, got ${status})`);
  await shot(page, '05-password-reset');

  // Bulk import: report, confirm, progress, result with passwords.
  await page.goto(`${base}/#/import`);
  const csv = `address,name,unit\nnhap-a,Nguyễn Nhập A,${dept}\nnhap-b,Trần Nhập B,${dept}\nnhap-c,Lỗi Đơn Vị,khong-co\n`;
  await page.getByLabel('Tệp CSV').setInputFiles({ name: 'tai-khoan.csv', mimeType: 'text/csv', buffer: Buffer.from(csv) });
  await page.getByRole('button', { name: 'Kiểm tra tệp' }).click();
  await page.waitForSelector('#import-summary');
  check((await page.textContent('#import-summary')).includes('2 hợp lệ'), 'validation report: 2 valid rows');
  check((await page.textContent('#import-rows')).includes('unit: no such unit'), 'validation report names the bad field');
  await shot(page, '06-import-report');
  await page.click('#import-confirm');
  await page.waitForSelector('#import-done', { timeout: 60000 });
  const href = await page.getAttribute('#import-download', 'href');
  const result = await page.evaluate(async (u) => (await fetch(u, { credentials: 'same-origin' })).text(), href);
  check(/nhap-a@thainguyen\.gov\.vn,.*,created,[a-z0-9-]{12,}/.test(result), 'result CSV carries the generated passwords');
  await shot(page, '07-import-done');

  // Language switch.
  await page.getByLabel('Ngôn ngữ').selectOption('en');
  await page.getByRole('link', { name: 'Accounts' }).waitFor();
  check(true, 'English catalogue switches the navigation');
  await page.getByLabel('Language').selectOption('vi');

  // Sign out; a unit administrator meets the refusals.
  await page.getByRole('button', { name: 'Đăng xuất' }).click();
  await page.waitForSelector('#signin-form');
  check(true, 'signed out');

  const p2 = await newPage();
  await signIn(p2, unitAdmin, password);
  await p2.waitForSelector('#dash-active');
  await p2.goto(`${base}/#/accounts/${encodeURIComponent(otherId)}`);
  await p2.getByText('Bạn không có quyền làm việc này').waitFor();
  check(true, 'unit administrator refused another district\'s account');
  await shot(p2, '08-refusal');
  const forged = await p2.evaluate(async (id) => {
    const r = await fetch(`/api/v1/accounts/${encodeURIComponent(id)}/disable`, { method: 'POST', credentials: 'same-origin' });
    return r.status;
  }, otherId);
  check(forged === 403, `a request without the CSRF token is refused (${forged})`);
  // TOTP: enrol from the security page, then sign in with a code.
  await p2.goto(`${base}/#/security`);
  await p2.click('#totp-start');
  await p2.waitForSelector('#totp-secret');
  const secret = (await p2.textContent('#totp-secret')).replace(/\s/g, '');
  check(/^[A-Z2-7]{32}$/.test(secret), 'TOTP secret shown in base32');
  check((await p2.textContent('#totp-uri')).startsWith('otpauth://totp/'), 'otpauth:// URI shown');
  await shot(p2, '14-totp-enrol');
  const enrolledAt = Date.now();
  await p2.fill('#totp-code', totp(secret, enrolledAt));
  await p2.getByRole('button', { name: 'Xác nhận' }).click();
  await p2.getByText('Đăng nhập hai bước đang bật').waitFor();
  check(true, 'TOTP enrolment confirmed with a valid code');
  await p2.getByRole('button', { name: 'Đăng xuất' }).click();
  await p2.waitForSelector('#signin-form');
  await signIn(p2, unitAdmin, password);
  await p2.waitForSelector('#signin-code', { state: 'visible' });
  check((await p2.textContent('#signin-form')).includes('đăng nhập hai bước'), 'sign-in asks for the code');
  await p2.fill('#signin-code', totp(secret, enrolledAt + 30000));
  await shot(p2, '15-signin-code');
  await p2.getByRole('button', { name: 'Đăng nhập' }).click();
  await p2.waitForSelector('#dash-active');
  check(true, 'signed in with password and code');

  // Phone-sized layout renders the accounts page.
  await p2.setViewportSize({ width: 390, height: 800 });
  await p2.goto(`${base}/#/accounts`);
  await p2.waitForSelector('#acct-table');
  await shot(p2, '09-accounts-phone');
  check(page.cspErrors.length === 0 && p2.cspErrors.length === 0, 'no Content-Security-Policy violations');
} catch (e) {
  fail(e);
} finally {
  await browser.close();
}
report();
