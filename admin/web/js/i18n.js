// One catalogue per language (i18n/vi.json, i18n/en.json); Vietnamese by
// default, the choice kept in localStorage.
let catalogue = {};
let fallback = {};
export let lang = 'vi';

export async function loadLanguage(l) {
  lang = l === 'en' ? 'en' : 'vi';
  const load = async (x) => (await fetch(`/i18n/${x}.json`, { credentials: 'same-origin' })).json();
  catalogue = await load(lang);
  if (lang !== 'vi' && Object.keys(fallback).length === 0) fallback = await load('vi');
  document.documentElement.lang = lang;
  try { localStorage.setItem('homthu.lang', lang); } catch (e) { /* private mode */ }
  for (const el of document.querySelectorAll('[data-i18n]')) el.textContent = t(el.dataset.i18n);
  document.title = t('app.title');
}

export function savedLanguage() {
  try { return localStorage.getItem('homthu.lang') || 'vi'; } catch (e) { return 'vi'; }
}

// t('accounts.total', {n: 5}) → "5 tài khoản"
export function t(key, vars = {}) {
  let s = catalogue[key] ?? fallback[key] ?? key;
  for (const [k, v] of Object.entries(vars)) s = s.split(`{${k}}`).join(String(v));
  return s;
}
