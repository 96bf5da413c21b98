// The console: a hash-routed page per task, each built from the REST API.
// Data only ever reaches the page through textContent (see dom.js).
import { api, ApiError, setCsrf } from './api.js';
import { h, clear, field, formatBytes, parseSize } from './dom.js';
import { t, loadLanguage, savedLanguage } from './i18n.js';
import { barChart } from './charts.js';

const main = () => document.getElementById('main');
let me = null;
let unitsCache = null;
let unitsLoading = null;   // the /units request in flight
let prefetched = null;     // { qs, accounts }: the account list asked for at start

function status(text, kind = 'ok') {
  const el = clear(document.getElementById('status'));
  if (text) el.append(h('p', { class: kind }, text));
}

function errorText(e) {
  if (e instanceof ApiError) {
    if (e.status === 403) return `${t('error.forbidden')} (${e.message})`;
    if (e.status === 429) return t('error.throttled');
    if (e.status === 503) return t('error.unavailable');
    return e.message;
  }
  return String(e && e.message ? e.message : e);
}

// A province administrator who must enrol a second factor first
// ([admin] require_totp_for_province_admins) is kept on the Security page.
function enrolOnly() { return !!(me && me.second_factor_required); }

async function guard(fn) {
  try {
    return await fn();
  } catch (e) {
    if (e instanceof ApiError && e.status === 401) {
      me = null;
      location.hash = '#/signin';
      return undefined;
    }
    if (e instanceof ApiError && e.status === 403 && e.body.second_factor_required) {
      if (me) me.second_factor_required = true;
      showChrome();
      location.hash = '#/security';
      return undefined;
    }
    status(errorText(e), 'error');
    return undefined;
  }
}

function page(titleKey, ...content) {
  const m = clear(main());
  m.append(h('h1', {}, t(titleKey)), ...content);
  document.title = `${t(titleKey)} — ${t('app.title')}`;
  // Focus for screen readers without scrolling it into view, which would
  // lay the new page out there and then; a new page starts at the top
  // (scrolling to 0,0 needs no layout either).
  m.focus({ preventScroll: true });
  window.scrollTo(0, 0);
  return m;
}

// Runs fn after the next frame is drawn (a task queued from inside the
// frame's animation callback runs after its paint).
function afterPaint(fn) {
  requestAnimationFrame(() => setTimeout(fn, 0));
}

function roleName(r) { return t(`role.${r}`); }

async function units() {
  if (!unitsCache) {
    unitsLoading = unitsLoading || api('GET', '/units').then((r) => r.units)
      .catch((e) => { unitsLoading = null; throw e; });
    unitsCache = await unitsLoading;
  }
  return unitsCache;
}

function unitName(id) {
  const u = (unitsCache || []).find((x) => x.id === id);
  return u ? u.name : id;
}

function unitOptions(list, withAll) {
  const opts = list.map((u) => [u.id, u.name]);
  return withAll ? [['', t('accounts.all_units')], ...opts] : opts;
}

// ---- sign-in ---------------------------------------------------------------

function signinPage() {
  const login = field(t('signin.login'), { name: 'login', autocomplete: 'username', required: true });
  const pass = field(t('signin.password'), { name: 'password', type: 'password',
    autocomplete: 'current-password', required: true });
  // The code field appears when the server says the account has a second factor.
  const code = field(t('signin.code'), { id: 'signin-code', name: 'code', autocomplete: 'one-time-code',
    inputmode: 'numeric', maxlength: 7 });
  code.wrap.hidden = true;
  const err = h('p', { class: 'error', role: 'alert' });
  const form = h('form', { id: 'signin-form' }, login.wrap, pass.wrap, code.wrap, err,
    h('button', { type: 'submit' }, t('signin.submit')));
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    err.textContent = '';
    const body = { login: login.input.value.trim(), password: pass.input.value };
    if (!code.wrap.hidden && code.input.value.trim()) body.code = code.input.value.trim();
    try {
      me = await api('POST', '/session', body);
      setCsrf(me.csrf);
      pass.input.value = '';
      code.input.value = '';
      showChrome();
      location.hash = '#/dashboard';
    } catch (e) {
      if (e instanceof ApiError && e.status === 401 && e.field === 'code') {
        const asked = code.wrap.hidden || !body.code;
        code.wrap.hidden = false;
        code.input.value = '';
        err.textContent = asked ? t('signin.code_needed') : t('signin.code_wrong');
        code.input.focus();
        return;
      }
      err.textContent = e instanceof ApiError && e.status === 401 ? t('signin.failed') : errorText(e);
    }
  });
  page('signin.title', form);
  login.input.focus();
}

function showChrome() {
  document.getElementById('nav').hidden = !me || enrolOnly();
  document.getElementById('signout').hidden = !me;
  const who = clear(document.getElementById('who'));
  if (me) who.append(`${me.account.name} · ${roleName(me.role)}`);
}

// ---- dashboard -------------------------------------------------------------

async function dashboardPage() {
  const d = await api('GET', '/dashboard');
  const card = (label, value, id) => h('div', { class: 'card', id }, h('div', {}, label), h('div', { class: 'n' }, value));
  const cards = h('div', { class: 'cards' },
    card(t('dash.active'), d.accounts ? d.accounts.active : '—', 'dash-active'),
    card(t('dash.disabled'), d.accounts ? d.accounts.disabled : '—', 'dash-disabled'),
    card(t('dash.storage'), formatBytes(d.storage_bytes), 'dash-storage'),
    card(t('dash.directory'), d.directory === 'ok' ? t('dash.ok') : t('dash.down'), 'dash-directory'));
  if (d.queue) {
    cards.append(card(t('dash.queue'), d.queue.size, 'dash-queue'));
    if (d.queue.oldest) cards.append(card(t('dash.queue_oldest'), new Date(d.queue.oldest * 1000).toLocaleString(), 'dash-oldest'));
  }
  const charts = h('div', { id: 'dash-charts' });
  const failures = h('section', { id: 'dash-failures' });
  page('dash.title', cards, failures, charts);
  await Promise.all([recentFailures(failures), flowCharts(charts)]);
}

// The latest bounces and deferrals the caller may see, each linking to the
// delivery-log search for its message.
async function recentFailures(box) {
  let r;
  try {
    r = await api('GET', '/delivery-log/failures?limit=10');
  } catch (e) {
    if (e instanceof ApiError && (e.status === 503 || e.status === 403)) return;
    throw e;
  }
  box.append(h('h2', {}, t('dash.failures')));
  if (!r.failures.length) {
    box.append(h('p', { class: 'muted' }, t('dash.no_failures')));
    return;
  }
  const link = (f) => {
    const p = new URLSearchParams();
    if (f.message_id) p.set('message_id', f.message_id);
    else if (f.trace) p.set('trace', f.trace);
    else { p.set('sender', f.sender); p.set('recipient', f.recipient); }
    return `#/delivery-log?${p}`;
  };
  const rows = r.failures.map((f) => h('tr', { class: `k-${f.kind}` },
    h('td', {}, new Date(f.time_ms).toLocaleString()),
    h('td', {}, f.sender || '<>'),
    h('td', {}, f.recipient),
    h('td', { class: 'kind' }, t(`dlog.kind.${f.kind}`)),
    h('td', { class: 'hide-narrow' }, [f.reply, f.detail].filter(Boolean).join(' · ')),
    h('td', {}, h('a', { href: link(f) }, t('dash.track')))));
  box.append(h('div', { class: 'table-wrap' }, h('table', { id: 'failures-table' },
    h('thead', {}, h('tr', {}, ['dash.f_time', 'dlog.sender', 'dlog.recipient', 'dash.f_outcome', 'dash.f_reason', 'dash.f_link']
      .map((k, i) => h('th', { scope: 'col', class: i === 4 ? 'hide-narrow' : undefined }, t(k))))),
    h('tbody', {}, rows))));
}

const flowSeries = () => ['received', 'delivered', 'relayed', 'deferred', 'bounced'].map((k) => [k, t(`flow.${k}`)]);

// Two charts from /stats/mail-flow: the last 24 hours by hour, the last 7
// days by day (days start at the browser's midnight).
async function flowCharts(box) {
  const tz = -new Date().getTimezoneOffset();
  let day, week;
  try {
    [day, week] = await Promise.all([api('GET', `/stats/mail-flow?range=24h&tz_offset=${tz}`),
      api('GET', `/stats/mail-flow?range=7d&tz_offset=${tz}`)]);
  } catch (e) {
    if (e instanceof ApiError && (e.status === 503 || e.status === 403)) return;
    throw e;
  }
  const hour = (ms) => new Date(ms).toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' });
  const date = (ms) => new Date(ms).toLocaleDateString([], { day: '2-digit', month: '2-digit' });
  box.append(
    barChart({ id: 'chart-24h', title: t('flow.title_24h'), buckets: day.buckets, series: flowSeries(), label: hour, every: 3 }),
    barChart({ id: 'chart-7d', title: t('flow.title_7d'), buckets: week.buckets, series: flowSeries(), label: date }));
}

// ---- delivery log ----------------------------------------------------------

function localInput(ms) {
  if (!ms) return '';
  const d = new Date(Number(ms));
  const p = (n) => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())}T${p(d.getHours())}:${p(d.getMinutes())}`;
}

function hopText(e) {
  const parts = [];
  if (e.recipient) parts.push(e.recipient);
  if (e.via) parts.push(t('dlog.via', { via: e.via }));
  if (e.kind === 'received' || e.kind === 'rejected') {
    if (e.client) parts.push(t('dlog.from_ip', { ip: e.client }));
    if (e.user) parts.push(t('dlog.user', { user: e.user }));
    if (e.listener) parts.push(t('dlog.listener', { listener: e.listener }));
  }
  if (e.remote) parts.push(t('dlog.remote', { host: e.remote }));
  if (e.reply) parts.push(`“${e.reply}”`);
  if (e.next_attempt_ms) parts.push(t('dlog.next', { time: new Date(e.next_attempt_ms).toLocaleString() }));
  if (e.detail) parts.push(e.detail);
  return parts.join(' · ');
}

async function deliveryLogPage(params) {
  const sender = field(t('dlog.sender'), { id: 'dlog-sender', value: params.get('sender') || '' });
  const recipient = field(t('dlog.recipient'), { id: 'dlog-recipient', value: params.get('recipient') || '' });
  const mid = field(t('dlog.message_id'), { id: 'dlog-message-id', value: params.get('message_id') || '' });
  const since = field(t('dlog.since'), { id: 'dlog-since', type: 'datetime-local', value: localInput(params.get('since')) });
  const until = field(t('dlog.until'), { id: 'dlog-until', type: 'datetime-local', value: localInput(params.get('until')) });
  const form = h('form', { class: 'inline', id: 'dlog-form' }, sender.wrap, recipient.wrap, mid.wrap, since.wrap, until.wrap,
    h('button', { type: 'submit' }, t('dlog.search')));
  const query = (cursor) => {
    const p = new URLSearchParams();
    for (const [k, f] of [['sender', sender], ['recipient', recipient], ['message_id', mid]]) if (f.input.value.trim()) p.set(k, f.input.value.trim());
    for (const [k, f] of [['since', since], ['until', until]]) if (f.input.value) p.set(k, String(new Date(f.input.value).getTime()));
    if (cursor) p.set('cursor', cursor);
    return p;
  };
  form.addEventListener('submit', (ev) => { ev.preventDefault(); location.hash = `#/delivery-log?${query()}`; });
  const qs = new URLSearchParams(params);
  qs.set('limit', '50');
  const r = await api('GET', `/delivery-log?${qs}`);
  const results = h('div', { id: 'dlog-results' });
  if (!r.messages.length) results.append(h('p', { class: 'muted' }, t('dlog.none')));
  for (const m of r.messages) {
    const hops = m.events.map((e) => h('li', { class: `hop k-${e.kind}` },
      h('time', {}, new Date(e.time_ms).toLocaleString()), ' ', h('span', { class: 'kind' }, t(`dlog.kind.${e.kind}`)), ' ', hopText(e)));
    results.append(h('section', { class: 'message-hops', 'data-trace': m.trace },
      h('h2', {}, `${m.sender || '<>'} → ${m.message_id ? `<${m.message_id}>` : m.trace}`),
      h('p', { class: 'muted' }, t('dlog.trace', { trace: m.trace })),
      h('ol', {}, hops),
      m.omitted ? h('p', { class: 'muted' }, t('dlog.omitted', { n: m.omitted })) : ''));
  }
  const next = r.next_cursor ? h('button', { type: 'button', class: 'secondary', id: 'dlog-next', onclick: () => {
    const p = new URLSearchParams(params);
    p.set('cursor', r.next_cursor);
    location.hash = `#/delivery-log?${p}`;
  } }, t('pager.next')) : '';
  page('dlog.title', h('p', { class: 'muted' }, t('dlog.help')), form, results, h('div', { class: 'pager' }, next));
}

// ---- accounts --------------------------------------------------------------

const pageSize = 50;

function accountsQuery(params) {
  const offset = Number(params.get('offset') || 0);
  return new URLSearchParams({ q: params.get('q') || '', unit: params.get('unit') || '', offset, limit: pageSize });
}

// A tab opened on the account list asks for the unit tree and the page of
// accounts at once, beside /me, instead of after it (the first render).
function prefetchAccounts() {
  const [path, query] = location.hash.slice(1).split('?');
  if (path !== '/accounts') return;
  const qs = accountsQuery(new URLSearchParams(query || '')).toString();
  units().catch(() => null);
  prefetched = { qs, accounts: api('GET', `/accounts?${qs}`).catch(() => null) };
}

async function accountsPage(params) {
  const offset = Number(params.get('offset') || 0);
  // The unit tree and the page of accounts are fetched side by side.
  const qs = accountsQuery(params);
  const pre = prefetched && prefetched.qs === qs.toString() ? prefetched.accounts : null;
  prefetched = null;
  const accounts = pre ? pre.then((r) => r || api('GET', `/accounts?${qs}`)) : api('GET', `/accounts?${qs}`);
  const [list, res] = await Promise.all([units(), accounts]);
  performance.mark('console:accounts-data');
  const q = field(t('accounts.search'), { type: 'search', id: 'acct-q', value: params.get('q') || '',
    placeholder: t('accounts.search_hint') });
  // The unit filter starts with "all units" and the chosen unit only; its
  // ~220 options are added once the rows are on screen (laying out a select
  // measures every option's text).
  const chosen = params.get('unit') || '';
  const unit = field(t('accounts.unit'), { tag: 'select', id: 'acct-unit',
    options: unitOptions(list.filter((u) => u.id === chosen), true), value: chosen });
  afterPaint(() => {
    const sel = unit.input;
    const keep = sel.value;
    sel.replaceChildren(...unitOptions(list, true).map(([v, text]) => h('option', { value: v }, text)));
    sel.value = keep;
  });
  const search = h('form', { class: 'inline', role: 'search' }, q.wrap, unit.wrap,
    h('button', { type: 'submit' }, t('accounts.search_button')));
  const go = (off) => {
    const p = new URLSearchParams();
    if (q.input.value) p.set('q', q.input.value);
    if (unit.input.value) p.set('unit', unit.input.value);
    if (off) p.set('offset', off);
    location.hash = `#/accounts?${p}`;
  };
  search.addEventListener('submit', (ev) => { ev.preventDefault(); go(0); });
  const create = h('button', { type: 'button', id: 'acct-new', onclick: () => { location.hash = '#/accounts/new'; } },
    t('accounts.create'));
  const rows = res.accounts.map((a) => h('tr', {},
    h('td', {}, h('a', { href: `#/accounts/${encodeURIComponent(a.id)}` }, a.address)),
    h('td', { class: 'name' }, a.name),
    h('td', { class: 'hide-narrow' }, unitName(a.unit)),
    h('td', {}, a.enabled ? t('accounts.enabled') : t('accounts.disabled'))));
  const table = h('div', { class: 'table-wrap' }, h('table', { id: 'acct-table' },
    h('caption', { class: 'sr' }, t('accounts.title')),
    h('thead', {}, h('tr', {}, h('th', { scope: 'col' }, t('accounts.address')), h('th', { scope: 'col' }, t('accounts.name')),
      h('th', { scope: 'col', class: 'hide-narrow' }, t('accounts.unit')), h('th', { scope: 'col' }, t('accounts.state')))),
    h('tbody', {}, rows)));
  const last = Math.min(res.total, offset + res.accounts.length);
  const pager = h('div', { class: 'pager' },
    h('button', { type: 'button', class: 'secondary', disabled: offset === 0, onclick: () => go(Math.max(0, offset - pageSize)) }, t('pager.prev')),
    h('span', { id: 'acct-count' }, t('pager.range', { from: res.total ? offset + 1 : 0, to: last, total: res.total })),
    h('button', { type: 'button', class: 'secondary', disabled: last >= res.total, onclick: () => go(offset + pageSize) }, t('pager.next')));
  page('accounts.title', search, me.role === 'auditor' ? '' : create, pager, table);
  performance.mark('console:accounts-page');
}

async function accountNewPage() {
  const list = await units();
  const addr = field(t('accounts.address'), { id: 'new-address', required: true, autocomplete: 'off' });
  const name = field(t('accounts.name'), { id: 'new-name', required: true });
  const unit = field(t('accounts.unit'), { tag: 'select', id: 'new-unit', options: unitOptions(list, false) });
  const quota = field(t('accounts.quota'), { id: 'new-quota', value: '2G' });
  const out = h('div', { role: 'alert' });
  const form = h('form', { id: 'new-form' }, addr.wrap, name.wrap, unit.wrap, quota.wrap,
    h('p', { class: 'muted' }, t('accounts.password_generated_note')),
    h('button', { type: 'submit' }, t('accounts.create')), out);
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    clear(out);
    const q = parseSize(quota.input.value);
    if (q === null) { out.append(h('p', { class: 'error' }, t('accounts.bad_quota'))); return; }
    try {
      const r = await api('POST', '/accounts', { address: addr.input.value.trim(), name: name.input.value.trim(),
        unit: unit.input.value, quota_bytes: q });
      clear(form).append(h('p', { class: 'ok' }, t('accounts.created', { address: r.account.address })),
        h('p', {}, t('password.once')), h('p', { class: 'secret', id: 'new-password' }, r.password),
        h('p', {}, h('a', { href: `#/accounts/${encodeURIComponent(r.account.id)}` }, t('accounts.open'))));
    } catch (e) {
      out.append(h('p', { class: 'error' }, errorText(e)));
    }
  });
  page('accounts.create', form);
}

async function accountPage(id) {
  const a = await api('GET', `/accounts/${encodeURIComponent(id)}`);
  const list = await units();
  const canWrite = me.role !== 'auditor';
  const msg = h('div', { role: 'alert', id: 'acct-msg' });
  const say = (text, kind = 'ok') => { clear(msg).append(h('p', { class: kind }, text)); };
  const name = field(t('accounts.name'), { id: 'edit-name', value: a.name });
  const unit = field(t('accounts.unit'), { tag: 'select', id: 'edit-unit', options: unitOptions(list, false), value: a.unit });
  const quota = field(t('accounts.quota'), { id: 'edit-quota', value: a.quota_bytes ? formatBytes(a.quota_bytes).replace(' ', '') : '0' });
  const aliases = field(t('accounts.aliases'), { id: 'edit-aliases', value: a.aliases.join(', ') });
  const edit = h('form', { id: 'edit-form' }, name.wrap, unit.wrap, quota.wrap, aliases.wrap,
    canWrite ? h('button', { type: 'submit' }, t('common.save')) : '');
  edit.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const q = parseSize(quota.input.value);
    if (q === null) { say(t('accounts.bad_quota'), 'error'); return; }
    const body = { name: name.input.value.trim(), quota_bytes: q,
      aliases: aliases.input.value.split(/[\s,;]+/).filter(Boolean) };
    if (unit.input.value !== a.unit) body.unit = unit.input.value;
    try {
      await api('PATCH', `/accounts/${encodeURIComponent(a.id)}`, body);
      say(t('common.saved'));
    } catch (e) { say(errorText(e), 'error'); }
  });

  const usage = a.usage ? a.usage.bytes : 0;
  const pct = a.quota_bytes ? Math.min(100, Math.round((100 * usage) / a.quota_bytes)) : 0;
  const bar = h('span');
  bar.style.width = `${pct}%`;
  const quotaInfo = h('p', { id: 'acct-usage' }, t('accounts.usage', { used: formatBytes(usage),
    quota: a.quota_bytes ? formatBytes(a.quota_bytes) : t('accounts.unlimited') }), ' ',
    h('span', { class: 'bar', role: 'img', 'aria-label': `${pct}%` }, bar));

  const pwOut = h('div', { id: 'pw-out' });
  const pwSet = field(t('password.new'), { id: 'pw-new', type: 'password', autocomplete: 'new-password' });
  const pwForm = h('form', { id: 'pw-form', class: 'inline' }, pwSet.wrap,
    h('button', { type: 'submit' }, t('password.set')),
    h('button', { type: 'button', id: 'pw-generate', class: 'secondary', onclick: () => setPassword(true) }, t('password.generate')));
  async function setPassword(generate) {
    clear(pwOut);
    try {
      const r = await api('POST', `/accounts/${encodeURIComponent(a.id)}/password`,
        generate ? { generate: true } : { password: pwSet.input.value });
      pwSet.input.value = '';
      if (r.password) pwOut.append(h('p', {}, t('password.once')), h('p', { class: 'secret', id: 'pw-generated' }, r.password));
      else pwOut.append(h('p', { class: 'ok' }, t('password.changed')));
    } catch (e) { pwOut.append(h('p', { class: 'error' }, errorText(e))); }
  }
  pwForm.addEventListener('submit', (ev) => { ev.preventDefault(); setPassword(false); });

  const toggle = h('button', { type: 'button', id: 'acct-toggle', class: 'secondary', onclick: async () => {
    try {
      await api('POST', `/accounts/${encodeURIComponent(a.id)}/${a.enabled ? 'disable' : 'enable'}`);
      route();
    } catch (e) { say(errorText(e), 'error'); }
  } }, a.enabled ? t('accounts.disable') : t('accounts.enable'));
  const del = h('button', { type: 'button', id: 'acct-delete', class: 'danger', onclick: async () => {
    const typed = window.prompt(t('accounts.delete_confirm', { address: a.address }));
    if (typed === null) return;
    if (typed.trim().toLowerCase() !== a.address) { say(t('accounts.delete_mismatch'), 'error'); return; }
    try {
      await api('DELETE', `/accounts/${encodeURIComponent(a.id)}`);
      status(t('accounts.deleted', { address: a.address }));
      location.hash = '#/accounts';
    } catch (e) { say(errorText(e), 'error'); }
  } }, t('accounts.delete'));

  const apps = h('div', { id: 'app-passwords' });
  async function loadApps() {
    clear(apps);
    const r = await guard(() => api('GET', `/accounts/${encodeURIComponent(a.id)}/app-passwords`));
    if (!r) return;
    const rows = r.app_passwords.map((p) => h('tr', {}, h('td', {}, p.label), h('td', {}, p.smtp_only ? 'SMTP' : 'IMAP + SMTP'),
      h('td', {}, new Date(p.created * 1000).toLocaleDateString()),
      h('td', {}, canWrite ? h('button', { type: 'button', class: 'secondary', onclick: async () => {
        await guard(() => api('DELETE', `/accounts/${encodeURIComponent(a.id)}/app-passwords/${encodeURIComponent(p.id)}`));
        loadApps();
      } }, t('apppw.revoke')) : '')));
    apps.append(rows.length ? h('table', {}, h('tbody', {}, rows)) : h('p', { class: 'muted' }, t('apppw.none')));
    if (canWrite) {
      const label = field(t('apppw.label'), { id: 'apppw-label' });
      const f = h('form', { class: 'inline' }, label.wrap, h('button', { type: 'submit' }, t('apppw.add')));
      const shown = h('div');
      f.addEventListener('submit', async (ev) => {
        ev.preventDefault();
        const r2 = await guard(() => api('POST', `/accounts/${encodeURIComponent(a.id)}/app-passwords`, { label: label.input.value }));
        if (r2) {
          await loadApps();
          apps.append(h('p', {}, t('password.once')), h('p', { class: 'secret' }, r2.password));
        }
      });
      apps.append(f, shown);
    }
  }

  let totpInfo = '';
  if (a.totp) {
    totpInfo = h('p', { id: 'acct-totp' }, t('totp.account_on'), ' ', me.role === 'province-admin'
      ? h('button', { type: 'button', class: 'secondary', id: 'totp-reset', onclick: async () => {
        if (!window.confirm(t('totp.reset_confirm', { address: a.address }))) return;
        try {
          await api('DELETE', `/accounts/${encodeURIComponent(a.id)}/totp`);
          status(t('totp.reset_done', { address: a.address }));
          route();
        } catch (e) { say(errorText(e), 'error'); }
      } }, t('totp.reset')) : '');
  }
  page('accounts.detail',
    h('p', {}, h('strong', { id: 'acct-address' }, a.address), ' — ', h('span', { id: 'acct-name' }, a.name), ' — ',
      a.enabled ? t('accounts.enabled') : t('accounts.disabled'), ' — ', roleName(a.role)),
    totpInfo, quotaInfo, msg,
    h('div', { class: 'row' },
      h('section', {}, h('h2', {}, t('accounts.edit')), edit),
      canWrite ? h('section', {}, h('h2', {}, t('password.title')), pwForm, pwOut,
        h('h2', {}, t('accounts.state')), h('p', {}, toggle, ' ', del)) : ''),
    h('h2', {}, t('apppw.title')), apps);
  loadApps();
}

// ---- units -----------------------------------------------------------------

async function unitsPage() {
  const [list, admins] = await Promise.all([units(),
    api('GET', '/admins?role=unit-admin').then((r) => r.admins).catch((e) => {
      if (e instanceof ApiError && e.status === 403) return [];
      throw e;
    })]);
  const canGrant = me.role === 'province-admin';
  const byUnit = new Map();
  for (const a of admins) {
    for (const u of a.units) {
      if (!byUnit.has(u)) byUnit.set(u, []);
      byUnit.get(u).push(a);
    }
  }
  const revoke = (u, a) => h('button', { type: 'button', class: 'secondary small', onclick: async () => {
    if (!window.confirm(t('units.revoke_confirm', { account: a.address, unit: u.name }))) return;
    if (await guard(() => api('DELETE', `/units/${encodeURIComponent(u.id)}/admins/${encodeURIComponent(a.id)}`))) {
      status(t('units.revoked', { account: a.address, unit: u.name }));
      route();
    }
  } }, t('units.revoke'));
  const children = new Map();
  for (const u of list) {
    if (!children.has(u.parent)) children.set(u.parent, []);
    children.get(u.parent).push(u);
  }
  const build = (parent) => {
    const kids = children.get(parent) || [];
    if (!kids.length) return '';
    return h('ul', {}, kids.map((u) => {
      const mine = byUnit.get(u.id) || [];
      return h('li', { 'data-unit': u.id },
        h('a', { href: `#/accounts?unit=${encodeURIComponent(u.id)}` }, u.name), ' ',
        h('span', { class: 'muted' }, t('units.count', { direct: u.accounts, total: u.total })),
        mine.length ? h('div', { class: 'unit-admins' }, t('units.admins'), ': ',
          mine.map((a) => h('span', { class: 'admin' }, h('a', { href: `#/accounts/${encodeURIComponent(a.id)}` }, a.name),
            ` <${a.address}>`, canGrant ? [' ', revoke(u, a)] : ''))) : '',
        build(u.id));
    }));
  };
  let grant = '';
  if (canGrant) {
    const acct = field(t('units.grant_account'), { id: 'grant-account', autocomplete: 'off' });
    const unit = field(t('accounts.unit'), { tag: 'select', id: 'grant-unit', options: unitOptions(list, false) });
    grant = h('form', { class: 'inline', id: 'grant-form' }, acct.wrap, unit.wrap, h('button', { type: 'submit' }, t('units.grant')));
    grant.addEventListener('submit', async (ev) => {
      ev.preventDefault();
      const r = await guard(() => api('POST', `/units/${encodeURIComponent(unit.input.value)}/admins`, { account: acct.input.value.trim() }));
      if (r) {
        status(t('units.granted', { account: r.account, unit: unitName(unit.input.value) }));
        route();
      }
    });
    grant = h('section', {}, h('h2', {}, t('units.grant_title')), h('p', { class: 'muted' }, t('units.grant_help')), grant);
  }
  page('units.title', grant, h('div', { class: 'tree', id: 'unit-tree' }, build('')));
}

// ---- lists -----------------------------------------------------------------

const policies = ['authenticated', 'members', 'moderators', 'anyone'];
const splitAddresses = (text) => text.split(/[\s,;]+/).filter(Boolean);

async function listPage(address) {
  const l = await api('GET', `/lists/${encodeURIComponent(address)}`);
  const canWrite = me.role !== 'auditor';
  const msg = h('div', { role: 'alert', id: 'list-msg' });
  const say = (text, kind = 'ok') => { clear(msg).append(h('p', { class: kind }, text)); };
  const base = `/lists/${encodeURIComponent(l.address)}`;
  const members = l.members.map((m) => h('li', {}, m, ' ', canWrite ? h('button', { type: 'button', class: 'secondary small', onclick: async () => {
    if (await guard(() => api('DELETE', `${base}/members/${encodeURIComponent(m)}`)) !== undefined) route();
  } }, t('common.remove')) : ''));
  const member = field(t('lists.member'), { id: 'list-member' });
  const add = h('form', { class: 'inline', id: 'member-form' }, member.wrap, h('button', { type: 'submit' }, t('common.add')));
  add.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    try {
      await api('POST', `${base}/members`, { member: member.input.value.trim() });
      route();
    } catch (e) { say(errorText(e), 'error'); }
  });
  const name = field(t('lists.name'), { id: 'list-name', value: l.name });
  const policy = field(t('lists.policy'), { tag: 'select', id: 'list-policy', options: policies.map((p) => [p, t(`policy.${p}`)]), value: l.policy });
  const posters = field(t('lists.posters'), { tag: 'textarea', id: 'list-posters', rows: 3, value: l.posters.join(', ') });
  const settings = h('form', { id: 'list-settings' }, name.wrap, policy.wrap, posters.wrap,
    h('p', { class: 'muted' }, t('lists.posters_help')), canWrite ? h('button', { type: 'submit' }, t('common.save')) : '');
  settings.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    try {
      await api('PATCH', base, { name: name.input.value.trim(), policy: policy.input.value, posters: splitAddresses(posters.input.value) });
      say(t('common.saved'));
    } catch (e) { say(errorText(e), 'error'); }
  });
  if (!canWrite) for (const el of settings.querySelectorAll('input, select, textarea')) el.disabled = true;
  page('lists.detail', h('p', {}, h('strong', { id: 'list-address' }, l.address), ' — ', l.unit ? unitName(l.unit) : t('lists.province_wide')),
    msg, h('div', { class: 'row' },
      h('section', {}, h('h2', {}, t('lists.settings')), settings),
      h('section', {}, h('h2', {}, t('lists.members', { n: l.members.length })), h('ul', { id: 'list-members' }, members), canWrite ? add : '')),
    h('p', {}, h('a', { href: '#/lists' }, t('lists.back'))));
}

async function listsPage(params) {
  if (params.get('address')) return listPage(params.get('address'));
  await units();
  const r = await api('GET', '/lists');
  const filter = field(t('lists.filter'), { type: 'search', id: 'lists-filter' });
  const canWrite = me.role !== 'auditor';
  const rows = r.lists.map((l) => h('tr', { 'data-text': `${l.address} ${l.name}`.toLowerCase() },
    h('td', {}, h('a', { href: `#/lists?address=${encodeURIComponent(l.address)}` }, l.address)),
    h('td', {}, l.name),
    h('td', { class: 'hide-narrow' }, l.unit ? unitName(l.unit) : t('lists.province_wide')),
    h('td', {}, t(`policy.${l.policy}`)),
    h('td', {}, l.member_count)));
  filter.input.addEventListener('input', () => {
    const q = filter.input.value.trim().toLowerCase();
    for (const row of rows) row.hidden = q !== '' && !row.dataset.text.includes(q);
  });
  const table = h('div', { class: 'table-wrap' }, h('table', { id: 'lists-table' },
    h('thead', {}, h('tr', {}, ['lists.address', 'lists.name', 'accounts.unit', 'lists.policy', 'lists.count']
      .map((k, i) => h('th', { scope: 'col', class: i === 2 ? 'hide-narrow' : undefined }, t(k))))),
    h('tbody', {}, rows)));
  let create = '';
  if (canWrite) {
    const list = await units();
    const na = field(t('lists.address'), { id: 'newlist-address' });
    const nn = field(t('lists.name'), { id: 'newlist-name' });
    const nu = field(t('accounts.unit'), { tag: 'select', options: [['', t('lists.province_wide')], ...unitOptions(list, false)] });
    const np = field(t('lists.policy'), { tag: 'select', options: policies.map((p) => [p, t(`policy.${p}`)]) });
    create = h('form', {}, h('h2', {}, t('lists.create')), na.wrap, nn.wrap, nu.wrap, np.wrap, h('button', { type: 'submit' }, t('lists.create')));
    create.addEventListener('submit', async (ev) => {
      ev.preventDefault();
      const c = await guard(() => api('POST', '/lists', { address: na.input.value.trim(), name: nn.input.value.trim(),
        unit: nu.input.value, policy: np.input.value }));
      if (c) location.hash = `#/lists?address=${encodeURIComponent(c.address)}`;
    });
  }
  page('lists.title', h('p', { class: 'muted' }, t('lists.total', { n: r.lists.length })), filter.wrap, table, create);
}

// ---- second factor (TOTP) ----------------------------------------------------

async function securityPage() {
  const m = await api('GET', '/me');
  const out = h('div', { id: 'totp-out', role: 'alert' });
  const code = field(t('totp.code'), { id: 'totp-code', autocomplete: 'one-time-code', inputmode: 'numeric', maxlength: 7 });
  let body;
  if (m.totp) {
    const off = h('form', { class: 'inline', id: 'totp-disable' }, code.wrap, h('button', { type: 'submit', class: 'danger' }, t('totp.disable')));
    off.addEventListener('submit', async (ev) => {
      ev.preventDefault();
      try {
        await api('POST', '/me/totp/disable', { code: code.input.value.trim() });
        me = await api('GET', '/me');
        showChrome();
        status(t('totp.disabled'));
        route();
      } catch (e) { clear(out).append(h('p', { class: 'error' }, errorText(e))); }
    });
    body = [h('p', { class: 'ok', id: 'totp-state' }, t('totp.on')), h('p', {}, t('totp.disable_help')), off];
  } else {
    const start = h('button', { type: 'button', id: 'totp-start', onclick: async () => {
      let r;
      try {
        r = await api('POST', '/me/totp');
      } catch (e) { clear(out).append(h('p', { class: 'error' }, errorText(e))); return; }
      const confirmForm = h('form', { class: 'inline', id: 'totp-confirm' }, code.wrap, h('button', { type: 'submit' }, t('totp.confirm')));
      confirmForm.addEventListener('submit', async (ev) => {
        ev.preventDefault();
        try {
          await api('POST', '/me/totp/confirm', { code: code.input.value.trim() });
          const wasEnrolOnly = enrolOnly();
          me = await api('GET', '/me');
          showChrome();
          status(t('totp.enabled'));
          if (wasEnrolOnly) location.hash = '#/dashboard';
          else route();
        } catch (e) { clear(out).append(h('p', { class: 'error' }, errorText(e))); }
      });
      clear(enrol).append(h('p', {}, t('totp.scan')),
        h('p', {}, t('totp.secret')), h('p', { class: 'secret', id: 'totp-secret' }, r.secret.replace(/(.{4})/g, '$1 ').trim()),
        h('p', {}, t('totp.uri')), h('p', { class: 'secret uri', id: 'totp-uri' }, r.uri),
        h('p', { class: 'muted' }, t('totp.once')), confirmForm);
      code.input.focus();
    } }, t('totp.start'));
    const enrol = h('div', { id: 'totp-enrol' }, start);
    body = [h('p', { id: 'totp-state' }, t('totp.off')), h('p', { class: 'muted' }, t('totp.help')), enrol];
    if (m.second_factor_required) body.unshift(h('p', { class: 'error', id: 'totp-required', role: 'alert' }, t('totp.required')));
  }
  page('totp.title', ...body, out);
}

// ---- bulk import -------------------------------------------------------------

function importPage() {
  const file = field(t('import.file'), { id: 'import-file', type: 'file', accept: '.csv,text/csv' });
  const out = h('div', { id: 'import-out' });
  const form = h('form', { id: 'import-form' }, h('p', { class: 'muted' }, t('import.help')), file.wrap,
    h('button', { type: 'submit' }, t('import.check')));
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    clear(out);
    const f = file.input.files[0];
    if (!f) return;
    const text = await f.text();
    const job = await guard(() => api('POST', '/imports', text, { csv: true }));
    if (job) showJob(job, out);
  });
  page('import.title', form, out);
}

function jobTable(job) {
  return h('div', { class: 'table-wrap' }, h('table', { id: 'import-rows' },
    h('thead', {}, h('tr', {}, [t('import.row'), t('accounts.address'), t('accounts.name'), t('accounts.unit'), t('import.status'), t('import.error')]
      .map((x) => h('th', { scope: 'col' }, x)))),
    h('tbody', {}, job.rows.map((r) => h('tr', {}, h('td', {}, r.row), h('td', {}, r.address), h('td', {}, r.name),
      h('td', {}, r.unit), h('td', { class: r.status === 'invalid' || r.status === 'failed' ? 'error' : '' }, t(`import.state.${r.status}`)),
      h('td', {}, r.error || ''))))));
}

function showJob(job, out) {
  clear(out);
  out.append(h('p', { id: 'import-summary' }, t('import.summary', { total: job.total, valid: job.valid, invalid: job.invalid })));
  if (job.state === 'validated' && job.valid > 0) {
    out.append(h('button', { type: 'button', id: 'import-confirm', onclick: async () => {
      const r = await guard(() => api('POST', `/imports/${job.id}/confirm`));
      if (r) poll(job.id, out);
    } }, t('import.confirm', { n: job.valid })));
  }
  out.append(jobTable(job));
}

async function poll(id, out) {
  for (let i = 0; i < 3600; i++) {
    const job = await guard(() => api('GET', `/imports/${id}`));
    if (!job) return;
    clear(out);
    const prog = h('progress', { max: job.valid, value: job.processed, id: 'import-progress' });
    out.append(h('label', { for: 'import-progress' }, t('import.progress', { done: job.processed, total: job.valid })), prog);
    if (job.state === 'done') {
      out.append(h('p', { class: 'ok', id: 'import-done' }, t('import.done', { created: job.created, failed: job.failed })),
        h('p', {}, h('a', { class: 'button', id: 'import-download', href: `/api/v1/imports/${job.id}/result.csv`, download: `import-${job.id}.csv` }, t('import.download'))),
        jobTable(job));
      return;
    }
    await new Promise((r) => setTimeout(r, 500));
  }
}

// ---- audit log ---------------------------------------------------------------

async function auditPage(params) {
  const actor = field(t('audit.actor'), { id: 'audit-actor', value: params.get('actor') || '' });
  const action = field(t('audit.action'), { id: 'audit-action', value: params.get('action') || '' });
  const target = field(t('audit.target'), { id: 'audit-target', value: params.get('target') || '' });
  const offset = Number(params.get('offset') || 0);
  const form = h('form', { class: 'inline' }, actor.wrap, action.wrap, target.wrap, h('button', { type: 'submit' }, t('audit.filter')));
  const go = (off) => {
    const p = new URLSearchParams();
    for (const [k, f] of [['actor', actor], ['action', action], ['target', target]]) if (f.input.value) p.set(k, f.input.value);
    if (off) p.set('offset', off);
    location.hash = `#/audit?${p}`;
  };
  form.addEventListener('submit', (ev) => { ev.preventDefault(); go(0); });
  const qs = new URLSearchParams({ actor: actor.input.value, action: action.input.value, target: target.input.value, offset, limit: 100 });
  const r = await api('GET', `/audit?${qs}`);
  const rows = r.records.map((x) => h('tr', {}, h('td', {}, new Date(x.time_ms).toLocaleString()), h('td', {}, x.actor),
    h('td', {}, x.action), h('td', {}, x.target), h('td', { class: 'hide-narrow' }, x.client),
    h('td', { class: x.outcome === 'ok' ? 'ok' : 'error' }, x.outcome),
    h('td', { class: 'hide-narrow' }, typeof x.detail === 'string' ? x.detail : JSON.stringify(x.detail))));
  const pager = h('div', { class: 'pager' },
    h('button', { type: 'button', class: 'secondary', disabled: offset === 0, onclick: () => go(Math.max(0, offset - 100)) }, t('pager.prev')),
    h('span', {}, t('pager.range', { from: r.total ? offset + 1 : 0, to: offset + r.records.length, total: r.total })),
    h('button', { type: 'button', class: 'secondary', disabled: offset + r.records.length >= r.total, onclick: () => go(offset + 100) }, t('pager.next')));
  page('audit.title', form, pager, h('div', { class: 'table-wrap' }, h('table', { id: 'audit-table' },
    h('thead', {}, h('tr', {}, ['audit.time', 'audit.actor', 'audit.action', 'audit.target', 'audit.client', 'audit.outcome', 'audit.detail']
      .map((k) => h('th', { scope: 'col' }, t(k))))), h('tbody', {}, rows))));
}

// ---- queue -------------------------------------------------------------------

async function queueMessagePage(id) {
  const m = await api('GET', `/queue/${encodeURIComponent(id)}`);
  const err = m.last_error
    ? h('p', { class: 'error', id: 'queue-last-error' }, t('queue.last_error', { rcpt: m.last_error.recipient, time: new Date(m.last_error.time * 1000).toLocaleString() }),
      ' ', `“${m.last_error.reply}”`, m.last_error.remote_mta ? ` (${m.last_error.remote_mta})` : '')
    : h('p', { class: 'muted', id: 'queue-last-error' }, t('queue.no_error'));
  const rows = m.recipients.map((x) => h('tr', {}, h('td', {}, x.address), h('td', {}, x.state), h('td', {}, x.attempts),
    h('td', {}, x.next_attempt ? new Date(x.next_attempt * 1000).toLocaleString() : '—'), h('td', {}, x.last_reply)));
  const headers = h('dl', { class: 'headers', id: 'queue-headers' }, m.headers.map(([n, v]) => [h('dt', {}, `${n}:`), h('dd', {}, v)]));
  page('queue.message_title', h('p', {}, `#${m.id} · ${m.sender || '<>'} · ${new Date(m.created * 1000).toLocaleString()} · ${formatBytes(m.size)}`),
    err,
    h('div', { class: 'table-wrap' }, h('table', {}, h('thead', {}, h('tr', {}, ['queue.recipient', 'queue.state', 'queue.attempts', 'queue.next', 'queue.reply']
      .map((k) => h('th', { scope: 'col' }, t(k))))), h('tbody', {}, rows))),
    h('h2', {}, t('queue.headers')), headers,
    h('p', {}, h('a', { href: '#/queue' }, t('queue.back'))));
}

async function queuePage() {
  const r = await api('GET', '/queue');
  const rows = r.messages.map((m) => h('tr', {}, h('td', {}, h('a', { href: `#/queue/${m.id}` }, m.id)), h('td', {}, m.sender || '<>'),
    h('td', {}, m.recipients.map((x) => h('div', {}, `${x.address} — ${x.state} (${x.attempts}) ${x.last_reply}`))),
    h('td', {}, new Date(m.created * 1000).toLocaleString()),
    h('td', {}, me.role === 'province-admin' ? [
      h('button', { type: 'button', class: 'secondary', onclick: async () => { await guard(() => api('POST', `/queue/${m.id}/retry`)); route(); } }, t('queue.retry')), ' ',
      h('button', { type: 'button', class: 'danger', onclick: async () => {
        if (window.confirm(t('queue.delete_confirm'))) { await guard(() => api('DELETE', `/queue/${m.id}`)); route(); }
      } }, t('common.delete'))] : '')));
  page('queue.title', h('p', {}, t('queue.total', { n: r.total })),
    h('div', { class: 'table-wrap' }, h('table', {}, h('thead', {}, h('tr', {}, ['queue.id', 'queue.sender', 'queue.recipients', 'queue.created', 'queue.actions']
      .map((k) => h('th', { scope: 'col' }, t(k))))), h('tbody', {}, rows))));
}

// ---- API tokens --------------------------------------------------------------

async function tokensPage() {
  const r = await api('GET', '/tokens');
  const out = h('div', { role: 'alert' });
  const label = field(t('tokens.label'), { id: 'token-label' });
  const scope = field(t('tokens.scope'), { tag: 'select', id: 'token-scope', options: [['read', t('tokens.read')], ['write', t('tokens.write')]] });
  const form = h('form', { class: 'inline' }, label.wrap, scope.wrap, h('button', { type: 'submit' }, t('tokens.create')));
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const tok = await guard(() => api('POST', '/tokens', { label: label.input.value, scope: scope.input.value }));
    if (tok) {
      await tokensPage();
      document.getElementById('main').append(h('p', {}, t('password.once')), h('p', { class: 'secret', id: 'token-secret' }, tok.token));
    }
  });
  const rows = r.tokens.map((x) => h('tr', {}, h('td', {}, x.label), h('td', {}, x.owner), h('td', {}, t(`tokens.${x.scope}`)),
    h('td', {}, new Date(x.created_ms).toLocaleString()), h('td', {}, x.revoked ? t('tokens.revoked') :
      h('button', { type: 'button', class: 'secondary', onclick: async () => { await guard(() => api('DELETE', `/tokens/${x.id}`)); route(); } }, t('apppw.revoke')))));
  page('tokens.title', h('p', { class: 'muted' }, t('tokens.help')), form, out,
    h('table', {}, h('tbody', {}, rows)));
}

// ---- router ------------------------------------------------------------------

async function route() {
  const [path, query] = (location.hash.slice(1) || '/dashboard').split('?');
  const params = new URLSearchParams(query || '');
  if (!me) {
    me = await api('GET', '/me').catch(() => null);
    if (me) setCsrf(me.csrf);
    showChrome();
  }
  if (!me && path !== '/signin') { location.hash = '#/signin'; return; }
  if (enrolOnly() && path !== '/security' && path !== '/signin') { location.hash = '#/security'; return; }
  for (const a of document.querySelectorAll('#nav a')) {
    if (a.getAttribute('href') === `#${path.split('/').slice(0, 2).join('/')}`) a.setAttribute('aria-current', 'page');
    else a.removeAttribute('aria-current');
  }
  const parts = path.split('/').filter(Boolean);
  await guard(async () => {
    switch (parts[0]) {
      case 'signin': return signinPage();
      case 'accounts':
        if (parts[1] === 'new') return accountNewPage();
        if (parts[1]) return accountPage(decodeURIComponent(parts[1]));
        return accountsPage(params);
      case 'units': return unitsPage();
      case 'lists': return listsPage(params);
      case 'import': return importPage();
      case 'audit': return auditPage(params);
      case 'queue': return parts[1] ? queueMessagePage(decodeURIComponent(parts[1])) : queuePage();
      case 'delivery-log': return deliveryLogPage(params);
      case 'tokens': return tokensPage();
      case 'security': return securityPage();
      default: return dashboardPage();
    }
  });
}

async function start() {
  performance.mark('console:start');
  // Who is signed in is asked while the catalogue loads.
  const who = api('GET', '/me').catch(() => null);
  prefetchAccounts();
  await loadLanguage(savedLanguage());
  performance.mark('console:language');
  me = await who;
  performance.mark('console:me');
  if (me) setCsrf(me.csrf);
  showChrome();
  const sel = document.getElementById('lang');
  sel.value = savedLanguage();
  sel.addEventListener('change', async () => { await loadLanguage(sel.value); route(); });
  document.getElementById('signout').addEventListener('click', async () => {
    await api('DELETE', '/session').catch(() => null);
    me = null;
    unitsCache = null;
    unitsLoading = null;
    setCsrf('');
    showChrome();
    location.hash = '#/signin';
  });
  window.addEventListener('hashchange', () => { status(''); route(); });
  route();
}

start();
