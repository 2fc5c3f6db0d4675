// ztas dashboard: plain ES module, no framework, no build step. It talks only to the public API
// (api.md) with the user's JWT; the URL holds the view's state (period, filters) so a view can be
// bookmarked and shared. DOM is built with createElement (never innerHTML with data).

const main = document.getElementById('main');
const topnav = document.getElementById('topnav');
const PUBLIC_URL = (document.querySelector('meta[name="zta-public-url"]')?.content || location.origin).replace(/\/$/, '');
const TOKEN_KEY = 'ztas.token';
const PERIODS = [['24h', 'Last 24 hours'], ['day', 'Today'], ['7d', 'Last 7 days'], ['30d', 'Last 30 days'],
  ['90d', 'Last 90 days'], ['6mo', 'Last 6 months'], ['12mo', 'Last 12 months'], ['365d', 'Last 365 days'], ['custom', 'Custom range']];
const FILTER_LABELS = { page: 'Page', source: 'Source', channel: 'Channel', country: 'Country', region: 'Region',
  device: 'Device', browser: 'Browser', os: 'OS', utm_source: 'UTM source', utm_medium: 'UTM medium', utm_campaign: 'UTM campaign' };
let timers = [];
let renderSeq = 0;

// ---------- DOM helpers ----------

/** Creates an element: h('a', { href, class, onclick }, children…). */
function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v == null || v === false) continue;
    if (k.startsWith('on')) el.addEventListener(k.slice(2), v);
    else if (k === 'class') el.className = v;
    else if (k === 'text') el.textContent = v;
    else el.setAttribute(k, v === true ? '' : v);
  }
  append(el, children);
  return el;
}
function append(el, children) {
  for (const c of children.flat()) {
    if (c == null || c === false) continue;
    el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return el;
}
const SVGNS = 'http://www.w3.org/2000/svg';
function s(tag, attrs = {}, ...children) {
  const el = document.createElementNS(SVGNS, tag);
  for (const [k, v] of Object.entries(attrs)) if (v != null) el.setAttribute(k, v);
  for (const c of children.flat()) if (c != null) el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  return el;
}
function setMain(...children) {
  main.replaceChildren(...children.flat().filter(Boolean));
}
const fmt = new Intl.NumberFormat('en');
function num(n) { return n == null ? '–' : fmt.format(n); }
function compact(n) {
  if (n == null) return '–';
  if (Math.abs(n) >= 1e6) return (n / 1e6).toFixed(n >= 1e7 ? 0 : 1) + 'M';
  if (Math.abs(n) >= 1e4) return (n / 1e3).toFixed(n >= 1e5 ? 0 : 1) + 'k';
  return fmt.format(n);
}
function duration(sec) {
  sec = Math.round(sec || 0);
  const m = Math.floor(sec / 60), r = sec % 60;
  return m ? `${m}m ${String(r).padStart(2, '0')}s` : `${r}s`;
}
function notice(text, kind = 'error') { return h('p', { class: `notice ${kind}`, role: kind === 'error' ? 'alert' : 'status' }, text); }

// ---------- API ----------

const token = { get: () => localStorage.getItem(TOKEN_KEY), set: (t) => localStorage.setItem(TOKEN_KEY, t), clear: () => localStorage.removeItem(TOKEN_KEY) };

class APIError extends Error { constructor(status, body) { super(body?.error || `HTTP ${status}`); this.status = status; this.body = body; } }

/** Calls the public API with the user's JWT; a 401 sends the user to the login page. */
async function api(path, { method = 'GET', body, raw = false, auth = true } = {}) {
  const headers = {};
  if (auth && token.get()) headers.Authorization = `Bearer ${token.get()}`;
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  const res = await fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  if (raw && res.ok) return res;
  const data = await res.json().catch(() => ({}));
  if (res.status === 401 && auth && token.get()) {
    token.clear();
    go('/login?next=' + encodeURIComponent(location.pathname + location.search));
    throw new APIError(401, data);
  }
  if (!res.ok) throw new APIError(res.status, data);
  return data;
}
function qs(params) {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v != null && v !== '') q.set(k, v);
  return q.toString();
}

// ---------- Router ----------

function go(url, replace = false) {
  if (replace) history.replaceState(null, '', url); else history.pushState(null, '', url);
  route();
}
document.addEventListener('click', (e) => {
  const a = e.target.closest?.('a[href^="/"]');
  if (!a || a.target || a.hasAttribute('download') || e.metaKey || e.ctrlKey || e.shiftKey || e.button) return;
  e.preventDefault();
  go(a.getAttribute('href'));
});
window.addEventListener('popstate', route);

async function route() {
  timers.forEach(clearInterval); timers = [];
  const seq = ++renderSeq;
  const p = location.pathname, q = new URLSearchParams(location.search);
  renderNav();
  main.setAttribute('aria-busy', 'true');
  try {
    if (p === '/reset-password') return await resetPasswordView(q.get('token'));
    if (p === '/register') return await registerView();
    if (p === '/forgot-password') return await forgotView();
    const shared = p.match(/^\/shared\/([^/]+)$/);
    if (shared) return await sharedView(shared[1], q, seq);
    if (!token.get() || p === '/login') {
      if (token.get()) return go(q.get('next') || '/', true);
      if (p !== '/login') return go('/login?next=' + encodeURIComponent(p + location.search), true);
      return await loginView(q.get('next'));
    }
    const m = p.match(/^\/sites\/([^/]+)(?:\/(heatmap|settings))?$/);
    if (m) {
      const site = (await api('/api/sites/' + encodeURIComponent(m[1]))).site;
      if (seq !== renderSeq) return;
      if (m[2] === 'heatmap') return await heatmapView(site, q, seq);
      if (m[2] === 'settings') return await settingsView(site);
      return await dashboardView(site, q, seq);
    }
    if (p === '/account') return await accountView();
    return await sitesView();
  } catch (e) {
    if (e.status === 401) return;
    setMain(h('h1', {}, 'Something went wrong'), notice(e.message), h('p', {}, h('a', { href: '/' }, 'Back to your sites')));
  } finally {
    if (seq === renderSeq) main.removeAttribute('aria-busy');
    if (seq === renderSeq && document.activeElement === document.body) main.focus({ preventScroll: true });
  }
}

function renderNav() {
  topnav.replaceChildren();
  if (!token.get()) return;
  append(topnav, [h('a', { href: '/' }, 'Sites'), h('a', { href: '/account' }, 'Account'),
    h('button', { class: 'link', type: 'button', onclick: logout }, 'Log out')]);
}
async function logout() {
  try { await api('/api/auth/logout', { method: 'POST', body: {} }); } catch (e) { /* the token is dropped anyway */ }
  token.clear();
  go('/login');
}

// ---------- Forms ----------

function field(label, input, hint) {
  const id = input.id || (input.id = 'f' + Math.random().toString(36).slice(2, 8));
  return h('div', { class: 'field' }, h('label', { for: id }, label), input, hint && h('small', { class: 'muted' }, hint));
}
function input(name, attrs = {}) { return h('input', { name, id: 'in-' + name, ...attrs }); }
function form(onsubmit, ...children) {
  const status = h('div', { class: 'form-status', 'aria-live': 'polite' });
  const f = h('form', { novalidate: true }, ...children, status);
  f.addEventListener('submit', async (e) => {
    e.preventDefault();
    const btn = f.querySelector('button[type=submit]');
    status.replaceChildren();
    if (btn) btn.disabled = true;
    try { await onsubmit(Object.fromEntries(new FormData(f)), status, f); }
    catch (err) {
      if (err.status !== 401) status.replaceChildren(notice([err.message, ...(err.body?.details || [])].join(' — ')));
    } finally { if (btn) btn.disabled = false; }
  });
  return f;
}
function authCard(title, ...children) { setMain(h('section', { class: 'auth card' }, h('h1', {}, title), ...children)); }

function loginView(next) {
  const done = (r) => { token.set(r.token); go(next && next.startsWith('/') ? next : '/', true); };
  authCard('Log in',
    form(async (v, status, f) => {
      const r = await api('/api/auth/login', { method: 'POST', body: { email: v.email, password: v.password }, auth: false });
      if (!r.requires_2fa) return done(r);
      f.replaceWith(form(async (c) => done(await api('/api/auth/2fa/validate', { method: 'POST', auth: false, body: { tempToken: r.tempToken, code: c.code } })),
        h('p', {}, 'Enter the 6-digit code from your authenticator app.'),
        field('Authentication code', input('code', { inputmode: 'numeric', autocomplete: 'one-time-code', required: true, autofocus: true })),
        h('button', { class: 'primary', type: 'submit' }, 'Verify')));
      document.getElementById('in-code')?.focus();
    },
    field('Email', input('email', { type: 'email', autocomplete: 'username', required: true, autofocus: true })),
    field('Password', input('password', { type: 'password', autocomplete: 'current-password', required: true })),
    h('button', { class: 'primary', type: 'submit' }, 'Log in')),
    h('p', { class: 'muted' }, h('a', { href: '/forgot-password' }, 'Forgot your password?'), ' · ', h('a', { href: '/register' }, 'Create an account')));
}

function registerView() {
  authCard('Create an account',
    form(async (v) => {
      try {
        const r = await api('/api/auth/register', { method: 'POST', auth: false, body: { email: v.email, password: v.password, name: v.name || undefined } });
        token.set(r.token); go('/', true);
      } catch (e) {
        if (e.status === 403) throw new Error('Registration is disabled on this server. Ask its administrator for an account.');
        throw e;
      }
    },
    field('Name (optional)', input('name', { autocomplete: 'name' })),
    field('Email', input('email', { type: 'email', autocomplete: 'username', required: true })),
    field('Password', input('password', { type: 'password', autocomplete: 'new-password', required: true }),
      '12–128 characters with a lower-case and an upper-case letter, a digit and a punctuation mark.'),
    h('button', { class: 'primary', type: 'submit' }, 'Create account')),
    h('p', { class: 'muted' }, 'Already registered? ', h('a', { href: '/login' }, 'Log in')));
}

function forgotView() {
  authCard('Reset your password',
    form(async (v, status) => {
      const r = await api('/api/auth/forgot', { method: 'POST', auth: false, body: { email: v.email } });
      status.replaceChildren(notice(r.message, 'ok'));
    },
    field('Email', input('email', { type: 'email', autocomplete: 'username', required: true })),
    h('button', { class: 'primary', type: 'submit' }, 'Send reset link')),
    h('p', { class: 'muted' }, h('a', { href: '/login' }, 'Back to log in')));
}

async function resetPasswordView(resetToken) {
  if (!resetToken) return authCard('Reset your password', notice('This link has no token. Request a new one.'), h('a', { href: '/forgot-password' }, 'Request a reset link'));
  const check = await api('/api/auth/verify-reset-token?' + qs({ token: resetToken }), { auth: false }).catch((e) => e.body || {});
  if (!check.valid) return authCard('Reset your password', notice(check.error || 'Invalid or expired reset link'), h('a', { href: '/forgot-password' }, 'Request a new link'));
  authCard('Choose a new password',
    form(async (v, status, f) => {
      const r = await api('/api/auth/reset', { method: 'POST', auth: false, body: { token: resetToken, password: v.password } });
      f.replaceWith(notice(r.message, 'ok'), h('a', { href: '/login' }, 'Log in'));
    },
    field('New password', input('password', { type: 'password', autocomplete: 'new-password', required: true })),
    h('button', { class: 'primary', type: 'submit' }, 'Set password')));
}

// ---------- Account (2FA) ----------

async function accountView() {
  const me = await api('/api/user/status');
  const box = h('div');
  const render = (u) => {
    box.replaceChildren(h('h2', {}, 'Two-factor authentication'), u.twoFactorEnabled
      ? form(async (v) => { await api('/api/auth/2fa/disable', { method: 'POST', body: { code: v.code } }); render({ ...u, twoFactorEnabled: false }); },
        h('p', {}, '2FA is on. Enter a current code to turn it off.'), field('Code', input('code', { inputmode: 'numeric', required: true })),
        h('button', { type: 'submit' }, 'Turn off 2FA'))
      : h('div', {}, h('p', {}, '2FA is off.'), h('button', { type: 'button', onclick: async (e) => {
        const r = await api('/api/auth/2fa/setup', { method: 'POST', body: {} });
        e.target.replaceWith(h('p', {}, 'Add this secret to your authenticator app: ', h('code', { class: 'secret' }, r.secret)),
          h('p', { class: 'muted small' }, r.qrCode),
          form(async (v) => { await api('/api/auth/2fa/verify', { method: 'POST', body: { code: v.code } }); render({ ...u, twoFactorEnabled: true }); },
            field('Code from the app', input('code', { inputmode: 'numeric', required: true })), h('button', { class: 'primary', type: 'submit' }, 'Turn on 2FA')));
      } }, 'Set up 2FA')));
  };
  render(me);
  setMain(h('h1', {}, 'Account'), h('section', { class: 'card' }, h('p', {}, 'Signed in as ', h('strong', {}, me.email)), box));
}

// ---------- Sites ----------

function snippet(id) { return `<script async src="${PUBLIC_URL}/js/analytics.js" data-site-id="${id}"></script>`; }
function copyBox(text, label = 'Copy') {
  const status = h('span', { class: 'muted', 'aria-live': 'polite' });
  return h('div', { class: 'copy' }, h('pre', { class: 'code', tabindex: '0' }, text),
    h('button', { type: 'button', onclick: async () => {
      try { await navigator.clipboard.writeText(text); status.textContent = 'Copied'; }
      catch (e) { status.textContent = 'Select the text and copy it'; }
    } }, label), status);
}

async function sitesView() {
  const { sites } = await api('/api/sites');
  const list = h('ul', { class: 'sites' }, sites.map((x) => h('li', { class: 'card site' },
    h('a', { href: `/sites/${x.id}`, class: 'site-link' }, h('strong', {}, x.name || x.domain), h('span', { class: 'muted' }, x.domain)),
    h('p', { class: 'site-stats' }, h('span', {}, h('b', {}, compact(x.stats?.visitors)), ' visitors'), h('span', {}, h('b', {}, compact(x.stats?.pageviews)), ' pageviews'),
      h('span', { class: 'muted' }, 'last 30 days')))));
  const created = h('div');
  const add = form(async (v, status, f) => {
    const r = await api('/api/sites', { method: 'POST', body: { domain: v.domain, name: v.name || undefined, timezone: v.timezone || 'UTC' } });
    created.replaceChildren(h('h3', {}, `${r.site.domain} added`), h('p', {}, 'Paste this snippet into every page of the site:'),
      copyBox(r.site.trackingCode || snippet(r.site.id)), h('a', { href: `/sites/${r.site.id}` }, 'Open its dashboard →'));
    f.reset();
  },
  h('div', { class: 'row' },
    field('Domain', input('domain', { placeholder: 'example.com', required: true })),
    field('Name', input('name', { placeholder: 'optional' })),
    field('Time zone', input('timezone', { value: Intl.DateTimeFormat().resolvedOptions().timeZone || 'UTC' }))),
  h('button', { class: 'primary', type: 'submit' }, 'Add site'));
  setMain(h('h1', {}, 'Your sites'), sites.length ? list : h('p', { class: 'muted' }, 'No sites yet. Add your first one below.'),
    h('section', { class: 'card' }, h('h2', {}, 'Add a site'), add, created));
}

// ---------- Site dashboard ----------

/** The view state in the URL: period or custom range, and filters. */
function periodParams(q) {
  const from = q.get('from'), to = q.get('to');
  if (from && to) return { startDate: from, endDate: to };
  return { period: q.get('period') || '7d' };
}
function escFilter(v) { return String(v).replace(/[\\;|*]/g, (c) => '\\' + c); }
function parseFilters(raw) {
  if (!raw) return [];
  const out = []; let cur = '', esc = false;
  const parts = [];
  for (const c of raw) {
    if (esc) { cur += '\\' + c; esc = false; } else if (c === '\\') esc = true; else if (c === ';') { parts.push(cur); cur = ''; } else cur += c;
  }
  if (cur) parts.push(cur);
  for (const p of parts) {
    const m = p.match(/^([a-z_]+)(==|!=)(.*)$/);
    if (m) out.push({ prop: m[1], op: m[2], value: m[3].replace(/\\(.)/g, '$1'), raw: p });
  }
  return out;
}
function withParams(changes) {
  const q = new URLSearchParams(location.search);
  for (const [k, v] of Object.entries(changes)) { if (v == null || v === '') q.delete(k); else q.set(k, v); }
  const t = q.toString();
  return location.pathname + (t ? '?' + t : '');
}
function addFilter(prop, value) {
  const q = new URLSearchParams(location.search);
  const fs = parseFilters(q.get('filters')).filter((f) => f.prop !== prop).map((f) => f.raw);
  fs.push(`${prop}==${escFilter(value)}`);
  go(withParams({ filters: fs.join(';') }));
}

function siteHeader(site, tab) {
  const t = (name, href, label) => h('a', { href, class: 'tab', 'aria-current': tab === name ? 'page' : null }, label);
  const keep = (p) => { const q = new URLSearchParams(location.search); const k = new URLSearchParams(); for (const n of ['period', 'from', 'to']) if (q.get(n)) k.set(n, q.get(n)); const x = k.toString(); return p + (x ? '?' + x : ''); };
  return h('div', { class: 'site-head' },
    h('div', {}, h('h1', {}, site.name || site.domain), h('p', { class: 'muted' }, site.domain, ' · ', site.timezone)),
    h('nav', { class: 'tabs', 'aria-label': 'Site' }, t('dash', keep(`/sites/${site.id}`), 'Dashboard'), t('heatmap', keep(`/sites/${site.id}/heatmap`), 'Heatmaps'),
      t('settings', `/sites/${site.id}/settings`, 'Settings')));
}

function periodPicker(q, site) {
  const custom = q.get('from') && q.get('to');
  const current = custom ? 'custom' : (q.get('period') || '7d');
  // Today in the site's time zone (en-CA formats as YYYY-MM-DD).
  let today;
  try { today = new Intl.DateTimeFormat('en-CA', { timeZone: site.timezone }).format(new Date()); }
  catch (e) { today = new Date().toISOString().slice(0, 10); }
  const from = input('from', { type: 'date', value: q.get('from') || today, max: '2099-12-31', 'aria-label': 'From' });
  const to = input('to', { type: 'date', value: q.get('to') || today, max: '2099-12-31', 'aria-label': 'To' });
  const range = h('form', { class: 'range', hidden: current !== 'custom' }, from, h('span', {}, '–'), to, h('button', { type: 'submit' }, 'Apply'));
  range.addEventListener('submit', (e) => { e.preventDefault(); if (from.value && to.value) go(withParams({ period: null, from: from.value, to: to.value })); });
  const sel = h('select', { id: 'period', 'aria-label': 'Period', onchange: (e) => {
    if (e.target.value === 'custom') { range.hidden = false; from.focus(); } else go(withParams({ period: e.target.value, from: null, to: null }));
  } }, PERIODS.map(([v, l]) => h('option', { value: v, selected: v === current }, l)));
  return h('div', { class: 'period' }, sel, range);
}

function filterChips(q) {
  const fs = parseFilters(q.get('filters'));
  if (!fs.length) return null;
  return h('div', { class: 'chips', 'aria-label': 'Filters' }, fs.map((f) => h('span', { class: 'chip' },
    `${FILTER_LABELS[f.prop] || f.prop} ${f.op === '==' ? 'is' : 'is not'} ${f.value}`,
    h('button', { type: 'button', 'aria-label': `Remove filter ${FILTER_LABELS[f.prop] || f.prop}`, onclick: () => {
      go(withParams({ filters: fs.filter((x) => x !== f).map((x) => x.raw).join(';') }));
    } }, '×'))),
  h('button', { type: 'button', class: 'link', onclick: () => go(withParams({ filters: null })) }, 'Clear all'));
}

async function dashboardView(site, q, seq) {
  const base = { siteId: site.id, ...periodParams(q), filters: q.get('filters') || undefined };
  const realtime = h('p', { class: 'realtime', 'aria-live': 'polite' }, h('span', { class: 'dot', 'aria-hidden': 'true' }), 'Loading current visitors…');
  const cards = h('div', { class: 'cards', id: 'summary', 'aria-busy': 'true' });
  const chart = h('div', { class: 'card chart', id: 'graph' }, h('p', { class: 'muted' }, 'Loading…'));
  const panels = h('div', { class: 'panels' });
  const rangeNote = h('p', { class: 'muted small', id: 'range' });
  const exportBar = h('div', { class: 'export' }, h('span', { class: 'muted' }, 'Export:'),
    ['csv', 'ndjson'].map((f) => h('button', { type: 'button', onclick: () => download(site, base, f) }, f.toUpperCase())));
  setMain(siteHeader(site, 'dash'), h('div', { class: 'toolbar' }, periodPicker(q, site), realtime), filterChips(q), cards, chart, rangeNote, panels, exportBar);

  const refreshRealtime = async () => {
    try {
      const r = await api('/api/realtime?' + qs({ siteId: site.id }));
      realtime.replaceChildren(h('span', { class: 'dot', 'aria-hidden': 'true' }), h('b', { id: 'realtime-count' }, num(r.activeVisitors)), ` current visitor${r.activeVisitors === 1 ? '' : 's'}`);
    } catch (e) { /* the next tick tries again */ }
  };
  refreshRealtime();
  timers.push(setInterval(refreshRealtime, 15000));

  performance.mark('zta-stats-request');
  const stats = await api('/api/stats?' + qs(base));
  if (seq !== renderSeq) return;
  performance.mark('zta-stats-response');
  const sm = stats.summary;
  cards.replaceChildren(...[
    ['uniqueVisitors', 'Unique visitors', num(sm.uniqueVisitors)], ['pageviews', 'Pageviews', num(sm.pageviews)],
    ['sessions', 'Visits', num(sm.sessions)], ['bounceRate', 'Bounce rate', `${sm.bounceRate}%`],
    ['avgSessionDuration', 'Visit duration', duration(sm.avgSessionDuration)], ['viewsPerVisit', 'Views per visit', sm.viewsPerVisit],
    ['events', 'Events', num(sm.events)], ['avgTimeOnPage', 'Time on page', duration(sm.avgTimeOnPage)],
  ].map(([k, label, v]) => h('div', { class: 'card stat', 'data-metric': k, 'data-value': sm[k] }, h('span', { class: 'label' }, label), h('span', { class: 'value' }, v))));
  cards.removeAttribute('aria-busy');
  rangeNote.textContent = `${stats.period.from.slice(0, 16).replace('T', ' ')} – ${stats.period.to.slice(0, 16).replace('T', ' ')} (${stats.period.timezone})`;
  chart.replaceChildren(graph(stats.timeseries));
  requestAnimationFrame(() => requestAnimationFrame(() => performance.mark('zta-summary-painted')));

  const pct = (share) => (share == null ? '' : `${share}%`);
  const panel = (title, id, rows, prop, { col = 'Visitors', tabs } = {}) => {
    const body = h('div', { class: 'panel-body' });
    const el = h('section', { class: 'card panel', id: 'panel-' + id, 'aria-labelledby': 'h-' + id }, h('div', { class: 'panel-head' }, h('h2', { id: 'h-' + id }, title), tabs), body);
    const fill = (rs, column = col) => {
      const max = Math.max(1, ...rs.map((r) => r.value));
      body.replaceChildren(rs.length ? h('table', {}, h('thead', {}, h('tr', {}, h('th', { scope: 'col' }, 'Name'), h('th', { scope: 'col', class: 'num' }, column))),
        h('tbody', {}, rs.map((r) => {
          const label = r.label === '' ? '(none)' : r.label;
          const cell = prop && r.filter != null && r.filter !== ''
            ? h('button', { type: 'button', class: 'row-btn', title: `Filter by ${label}`, onclick: () => addFilter(r.prop || prop, r.filter) }, label)
            : h('span', {}, label);
          return h('tr', { style: null }, h('td', {}, h('div', { class: 'bar', 'data-w': Math.round(100 * r.value / max) }), cell), h('td', { class: 'num' }, r.display ?? num(r.value)));
        }))) : h('p', { class: 'muted' }, 'No data for this period.'));
      body.querySelectorAll('.bar').forEach((b) => { b.style.width = b.dataset.w + '%'; });
    };
    if (rows) fill(rows); else body.append(h('p', { class: 'muted' }, 'Loading…'));
    el.fill = fill;
    panels.append(el);
    return el;
  };
  const breakdown = async (property, metric = 'visitors') => {
    const r = await api('/api/stats-api?' + qs({ site_id: site.id, ...(base.period ? { period: base.period } : { period: 'custom', date_from: base.startDate, date_to: base.endDate }), filters: base.filters, property, metrics: metric, limit: 10 }));
    return r.results.map((x) => ({ label: String(x[property] ?? ''), value: x[metric], filter: x[property] }));
  };
  panel('Top pages', 'pages', stats.topPages.map((p) => ({ label: p.path, value: p.pageviews, filter: p.path })), 'page', { col: 'Pageviews' });
  const entry = panel('Entry pages', 'entry', null, 'page', { col: 'Visits' });
  panel('Sources', 'sources', stats.topReferrers.map((r) => ({ label: r.domain, value: r.visits, filter: r.domain })), 'source', { col: 'Visits' });
  const channels = panel('Channels', 'channels', null, 'channel');
  const utmTabs = h('div', { class: 'mini-tabs', role: 'group', 'aria-label': 'UTM parameter' });
  const utm = panel('Campaigns (UTM)', 'utm', null, 'utm_source', { tabs: utmTabs });
  panel('Countries', 'countries', stats.countries.map((c) => ({ label: c.name || c.code, value: c.visits, filter: c.code })), 'country', { col: 'Visits' });
  const regions = panel('Regions', 'regions', null, 'region');
  panel('Devices', 'devices', Object.entries(stats.devices).filter(([, v]) => v > 0).map(([k, v]) => ({ label: k, value: v, display: pct(v), filter: k })), 'device', { col: '% visitors' });
  panel('Browsers', 'browsers', stats.browsers.map((b) => ({ label: b.name, value: b.percentage, display: pct(b.percentage), filter: b.name })), 'browser', { col: '% visitors' });
  const os = panel('Operating systems', 'os', null, 'os');
  const load = (p, prop, metric = 'visitors', col) => breakdown(prop, metric).then((rs) => seq === renderSeq && p.fill(rs.map((r) => ({ ...r, prop })), col))
    .catch((e) => p.fill([]));
  // Entry rows filter by page (entry_page is not a filter property in api.md §4).
  entry.fill = ((orig) => (rs, c) => orig(rs.map((r) => ({ ...r, prop: 'page' })), c))(entry.fill);
  load(entry, 'entry_page', 'sessions', 'Visits');
  load(channels, 'channel');
  load(regions, 'region');
  load(os, 'os');
  const utmProps = [['utm_source', 'Source'], ['utm_medium', 'Medium'], ['utm_campaign', 'Campaign']];
  const showUtm = (prop) => {
    utmTabs.replaceChildren(...utmProps.map(([p, l]) => h('button', { type: 'button', 'aria-pressed': String(p === prop), onclick: () => showUtm(p) }, l)));
    load(utm, prop);
  };
  showUtm('utm_source');
}

/** A share link's read-only page (api.md §7.2 public stats): no login, counts of visitors. */
async function sharedView(shareToken, q, seq) {
  let stats;
  try {
    stats = await api('/api/public/stats?' + qs({ token: shareToken, period: q.get('period') }), { auth: false });
  } catch (e) {
    return setMain(h('h1', {}, 'Shared statistics'), notice(e.message));
  }
  if (seq !== renderSeq) return;
  const periods = h('div', { class: 'mini-tabs', role: 'group', 'aria-label': 'Period' }, (stats.allowedPeriods || []).map((p) =>
    h('button', { type: 'button', 'aria-pressed': String(p === stats.period), onclick: () => go(`/shared/${encodeURIComponent(shareToken)}?period=${p}`) }, p)));
  const cards = h('div', { class: 'cards', id: 'summary' }, [
    ['uniqueVisitors', 'Unique visitors', num(stats.uniqueVisitors)], ['pageviews', 'Pageviews', num(stats.pageviews)],
    ['bounceRate', 'Bounce rate', `${stats.bounceRate}%`], ['avgSessionDuration', 'Visit duration', duration(stats.avgSessionDuration)],
  ].map(([k, label, v]) => h('div', { class: 'card stat', 'data-metric': k, 'data-value': stats[k] }, h('span', { class: 'label' }, label), h('span', { class: 'value' }, v))));
  const table = (title, rows, col) => h('section', { class: 'card panel' }, h('div', { class: 'panel-head' }, h('h2', {}, title)),
    h('div', { class: 'panel-body' }, rows.length
      ? h('table', {}, h('thead', {}, h('tr', {}, h('th', { scope: 'col' }, 'Name'), h('th', { scope: 'col', class: 'num' }, col))),
        h('tbody', {}, rows.map(([label, v]) => h('tr', {}, h('td', {}, label), h('td', { class: 'num' }, num(v))))))
      : h('p', { class: 'muted' }, 'No data for this period.')));
  setMain(h('h1', {}, stats.site.nickname), h('p', { class: 'muted' }, stats.site.domain, ' · ', stats.period), periods, cards,
    h('div', { class: 'card chart', id: 'graph' }, graph(stats.daily)),
    h('div', { class: 'panels' },
      table('Top pages', stats.pages.map((r) => [r.path, r.pageviews]), 'Pageviews'),
      table('Sources', stats.referrers.map((r) => [r.source, r.visits]), 'Visits'),
      table('Countries', stats.countries.map((r) => [r.name || r.code, r.count]), 'Visitors'),
      table('Devices', stats.devices.map((r) => [r.type, r.count]), 'Visitors'),
      table('Browsers', stats.browsers.map((r) => [r.name, r.count]), 'Visitors')));
}

/** The visitors/pageviews graph: inline SVG, values on hover and keyboard focus. */
function graph(series) {
  // Drawn at the width it is shown at, so its text stays readable on a phone.
  const W = Math.round(Math.max(320, Math.min(1140, main.clientWidth - 60))), H = W < 600 ? 200 : 240;
  const P = { l: 44, r: 10, t: 12, b: 28 };
  const n = series.length;
  const wrap = h('div', { class: 'graph-wrap' });
  const legend = h('div', { class: 'legend' }, h('span', { class: 'key pv' }, 'Pageviews'), h('span', { class: 'key uv' }, 'Visitors'));
  if (!n) return append(wrap, [legend, h('p', { class: 'muted' }, 'No data for this period.')]);
  const max = Math.max(1, ...series.map((d) => Math.max(d.pageviews, d.uniqueVisitors)));
  const step = niceStep(max / 4), top = Math.ceil(max / step) * step;
  const x = (i) => P.l + (n === 1 ? (W - P.l - P.r) / 2 : i * (W - P.l - P.r) / (n - 1));
  const y = (v) => H - P.b - v * (H - P.t - P.b) / top;
  const line = (k) => series.map((d, i) => `${i ? 'L' : 'M'}${x(i).toFixed(1)},${y(d[k]).toFixed(1)}`).join('');
  const svg = s('svg', { viewBox: `0 0 ${W} ${H}`, role: 'img', 'aria-label': 'Visitors and pageviews over time', class: 'graph' });
  for (let v = 0; v <= top; v += step) {
    svg.append(s('line', { x1: P.l, x2: W - P.r, y1: y(v), y2: y(v), class: 'grid' }), s('text', { x: P.l - 6, y: y(v) + 4, class: 'axis', 'text-anchor': 'end' }, compact(v)));
  }
  const labelEvery = Math.max(1, Math.ceil(n / Math.max(3, Math.floor(W / 110))));
  series.forEach((d, i) => { if (i % labelEvery === 0) svg.append(s('text', { x: x(i), y: H - 8, class: 'axis', 'text-anchor': 'middle' }, shortLabel(d.date))); });
  svg.append(s('path', { d: `${line('uniqueVisitors')}L${x(n - 1)},${y(0)}L${x(0)},${y(0)}Z`, class: 'area' }),
    s('path', { d: line('pageviews'), class: 'line pv' }), s('path', { d: line('uniqueVisitors'), class: 'line uv' }));
  const cursor = s('line', { class: 'cursor', y1: P.t, y2: H - P.b, visibility: 'hidden' });
  svg.append(cursor);
  const tip = h('div', { class: 'tip', role: 'status', hidden: true });
  const show = (i) => {
    const d = series[i];
    cursor.setAttribute('x1', x(i)); cursor.setAttribute('x2', x(i)); cursor.setAttribute('visibility', 'visible');
    tip.replaceChildren(h('strong', {}, d.date.replace('T', ' ').slice(0, 16)), h('br'), `${num(d.uniqueVisitors)} visitors · ${num(d.pageviews)} pageviews`);
    tip.hidden = false;
    tip.style.left = `${(100 * x(i) / W).toFixed(1)}%`;
  };
  const hide = () => { cursor.setAttribute('visibility', 'hidden'); tip.hidden = true; };
  const bw = n === 1 ? W - P.l - P.r : (W - P.l - P.r) / (n - 1);
  series.forEach((d, i) => {
    const r = s('rect', { x: x(i) - bw / 2, y: P.t, width: bw, height: H - P.t - P.b, class: 'hit', tabindex: '0',
      'aria-label': `${d.date}: ${d.uniqueVisitors} visitors, ${d.pageviews} pageviews` }, s('title', {}, `${d.date}: ${d.uniqueVisitors} visitors, ${d.pageviews} pageviews`));
    r.addEventListener('mouseenter', () => show(i)); r.addEventListener('focus', () => show(i));
    r.addEventListener('mouseleave', hide); r.addEventListener('blur', hide);
    svg.append(r);
  });
  return append(wrap, [legend, svg, tip]);
}
function niceStep(raw) {
  const p = Math.pow(10, Math.floor(Math.log10(Math.max(raw, 1))));
  for (const m of [1, 2, 2.5, 5, 10]) if (m * p >= raw) return m * p;
  return 10 * p;
}
function shortLabel(date) {
  if (date.includes('T')) return date.slice(11, 16);
  const d = new Date(date + 'T00:00:00Z');
  return d.toLocaleDateString('en', { month: 'short', day: 'numeric', timeZone: 'UTC' });
}

async function download(site, base, format) {
  try { await downloadExport(site, base, format); } catch (e) { if (e.status !== 401) alert(`Export failed: ${e.message}`); }
}
async function downloadExport(site, base, format) {
  const params = { siteId: site.id, format, type: 'pageviews', limit: 0, ...(base.period ? { period: base.period } : { startDate: base.startDate, endDate: base.endDate }) };
  const res = await api('/api/export?' + qs(params), { raw: true });
  const blob = await res.blob();
  const a = h('a', { href: URL.createObjectURL(blob), download: `zta-${site.domain}-pageviews.${format}` });
  document.body.append(a); a.click(); a.remove();
  setTimeout(() => URL.revokeObjectURL(a.href), 10000);
}

// ---------- Heatmaps ----------

const STD = { desktop: [1280, 1024], tablet: [768, 1024], mobile: [375, 667] };

async function heatmapView(site, q, seq) {
  const device = q.get('device') || 'desktop';
  const per = periodParams(q);
  const pagesP = api('/api/heatmaps/pages?' + qs({ siteId: site.id, ...per }));
  const { pages } = await pagesP;
  if (seq !== renderSeq) return;
  const path = q.get('path') || pages[0]?.path;
  const baseURL = q.get('base') || `https://${site.domain}`;
  const mode = q.get('mode') || 'live';
  const controls = h('form', { class: 'heat-controls' },
    field('Page', h('select', { name: 'path', id: 'hm-path' }, pages.length ? pages.map((p) => h('option', { value: p.path, selected: p.path === path }, `${p.path} (${p.clicks} clicks)`)) : h('option', { value: '' }, 'No heatmap data yet'))),
    field('Device', h('select', { name: 'device', id: 'hm-device' }, Object.keys(STD).map((d) => h('option', { value: d, selected: d === device }, d)))),
    field('Site address', input('base', { value: baseURL }), 'Where the live page is loaded from'),
    field('Show', h('select', { name: 'mode', id: 'hm-mode' }, [['live', 'Overlay on live page'], ['grid', 'Plain grid']].map(([v, l]) => h('option', { value: v, selected: v === mode }, l)))),
    h('button', { type: 'submit' }, 'Show'));
  controls.addEventListener('submit', (e) => { e.preventDefault(); const v = Object.fromEntries(new FormData(controls)); go(withParams(v)); });
  controls.querySelectorAll('select').forEach((el) => el.addEventListener('change', () => controls.requestSubmit()));
  const stage = h('div', { class: 'heat-stage card' });
  const side = h('div', { class: 'heat-side' });
  setMain(siteHeader(site, 'heatmap'), h('div', { class: 'toolbar' }, periodPicker(q, site)), h('section', { class: 'card' }, controls), h('div', { class: 'heat-layout' }, stage, side));
  if (!path) { stage.append(h('p', { class: 'muted' }, 'No clicks recorded in this period. Enable the heatmap module with data-heatmap on the tracking snippet.')); return; }
  const params = { siteId: site.id, path, device: q.get('device') || undefined, ...per };
  const [clicks, scroll, elements] = await Promise.all([
    api('/api/heatmaps?' + qs({ ...params, type: 'click' })).catch(() => null),
    api('/api/heatmaps?' + qs({ ...params, type: 'scroll' })).catch(() => null),
    api('/api/heatmaps/elements?' + qs(params)).catch(() => null)]);
  if (seq !== renderSeq) return;
  const [vw, vh] = STD[device] || STD.desktop;
  const cells = clicks?.clicks || [];
  const height = Math.max(vh, ...cells.map((c) => c.y + 40));
  const maxCount = Math.max(1, ...cells.map((c) => c.count));
  const overlay = s('svg', { class: 'heat-overlay', viewBox: `0 0 ${vw} ${height}`, width: vw, height, 'aria-label': `${cells.length} click positions`, role: 'img' },
    s('defs', {}, s('radialGradient', { id: 'hot' }, s('stop', { offset: '0', 'stop-color': '#e11d48', 'stop-opacity': '0.85' }), s('stop', { offset: '1', 'stop-color': '#e11d48', 'stop-opacity': '0' }))),
    mode === 'grid' ? gridLines(vw, height) : null,
    cells.map((c) => s('circle', { class: 'click', cx: c.x + 5, cy: c.y + 5, r: 14 + 26 * c.count / maxCount, fill: 'url(#hot)', 'data-count': c.count },
      s('title', {}, `${c.count} click${c.count === 1 ? '' : 's'} (${c.percentage}%) ${c.element || ''} ${c.text || ''}`))));
  const frameBox = h('div', { class: 'heat-frame', 'data-w': vw, 'data-h': height });
  if (mode === 'live') {
    const src = baseURL.replace(/\/$/, '') + path;
    const frame = h('iframe', { src, title: `Live page ${path}`, width: vw, height, scrolling: 'no', sandbox: '', referrerpolicy: 'no-referrer', tabindex: '-1' });
    const note = h('p', { class: 'muted small' }, 'The live page is shown without running its scripts (so it records nothing). If it stays blank, the site refuses to be framed: choose "Plain grid".');
    frameBox.append(frame, overlay);
    stage.append(note);
  } else {
    frameBox.classList.add('grid-mode');
    frameBox.append(overlay);
  }
  stage.append(h('div', { class: 'heat-scale' }, frameBox));
  const fit = () => {
    const w = stage.clientWidth - 2; const k = Math.min(1, w / vw);
    frameBox.style.transform = `scale(${k})`; frameBox.parentElement.style.height = `${height * k}px`;
  };
  requestAnimationFrame(fit);
  window.addEventListener('resize', fit);
  side.append(h('section', { class: 'card' }, h('h2', {}, 'Clicks'), h('p', { class: 'big', id: 'hm-total' }, num(clicks?.totalClicks || 0)), h('p', { class: 'muted' }, `${num(clicks?.pageviews || 0)} pageview${clicks?.pageviews === 1 ? '' : 's'} of ${path}`)),
    h('section', { class: 'card' }, h('h2', {}, 'Top elements'), elements?.elements?.length
      ? h('table', {}, h('tbody', {}, elements.elements.map((e) => h('tr', {}, h('td', {}, h('code', {}, e.element), e.text ? h('div', { class: 'muted small' }, e.text) : null), h('td', { class: 'num' }, num(e.clicks))))))
      : h('p', { class: 'muted' }, 'No clicks.')),
    h('section', { class: 'card' }, h('h2', {}, 'Scroll depth'), scroll ? h('div', { class: 'scroll-bars' }, h('p', { class: 'muted' }, `Average ${scroll.avgScrollDepth}%`),
      scroll.scrollDepth.filter((d) => d.depth > 0).map((d) => h('div', { class: 'sbar' }, h('span', {}, `${d.depth}%`), h('div', { class: 'track' }, h('div', { class: 'fill', 'data-w': d.percentage })), h('span', { class: 'num' }, `${d.percentage}%`))))
      : h('p', { class: 'muted' }, 'No scroll data.')));
  side.querySelectorAll('.fill').forEach((f) => { f.style.width = Math.min(100, f.dataset.w) + '%'; });
}
function gridLines(w, hgt) {
  const g = s('g', { class: 'gridlines' });
  for (let x = 0; x <= w; x += 80) g.append(s('line', { x1: x, x2: x, y1: 0, y2: hgt }));
  for (let y = 0; y <= hgt; y += 80) g.append(s('line', { x1: 0, x2: w, y1: y, y2: y }));
  return g;
}

// ---------- Settings ----------

async function settingsView(site) {
  const ex = (site.settings?.excludePaths || []).join('\n');
  const settingsForm = form(async (v, status) => {
    const excludePaths = v.excludePaths.split('\n').map((x) => x.trim()).filter(Boolean);
    const retention = v.retention.trim() === '' ? null : Number(v.retention);
    const r = await api('/api/sites', { method: 'PATCH', body: { id: site.id, name: v.name, timezone: v.timezone, settings: { excludePaths, dataRetention: retention } } });
    Object.assign(site, r.site);
    status.replaceChildren(notice('Saved', 'ok'));
  },
  field('Domain', input('domain', { value: site.domain, readonly: true }), 'The domain cannot be changed.'),
  field('Name', input('name', { value: site.name || '' })),
  field('Time zone', input('timezone', { value: site.timezone }), 'IANA name, e.g. Europe/Berlin. Periods and graphs use it.'),
  field('Excluded paths', h('textarea', { name: 'excludePaths', id: 'in-exclude', rows: '4' }, ex), 'One per line; a path and everything below it is not recorded.'),
  field('Data retention (days)', input('retention', { type: 'number', min: '1', max: '36500', value: site.settings?.dataRetention ?? '' }), 'Empty keeps events forever.'),
  h('button', { class: 'primary', type: 'submit' }, 'Save settings'));

  const keysBox = h('div');
  const renderKeys = async () => {
    const { apiKeys } = await api('/api/api-keys');
    const mine = apiKeys.filter((k) => !k.siteId || k.siteId === site.id);
    keysBox.replaceChildren(mine.length ? h('table', {}, h('thead', {}, h('tr', {}, h('th', {}, 'Name'), h('th', {}, 'Scope'), h('th', {}, 'Key'), h('th', {}, 'Last used'), h('th', {}))),
      h('tbody', {}, mine.map((k) => h('tr', {}, h('td', {}, k.name), h('td', {}, k.scope, k.siteId ? '' : ' (all sites)'), h('td', {}, h('code', {}, k.keyPrefix)), h('td', {}, k.lastUsed ? k.lastUsed.slice(0, 10) : 'never'),
        h('td', {}, h('button', { type: 'button', class: 'danger', onclick: async () => {
          if (!confirm(`Revoke the key "${k.name}"?`)) return;
          await api('/api/api-keys?' + qs({ id: k.id }), { method: 'DELETE' }); renderKeys();
        } }, 'Revoke')))))) : h('p', { class: 'muted' }, 'No API keys for this site.'));
  };
  const newKey = h('div');
  const keyForm = form(async (v, status, f) => {
    const r = await api('/api/api-keys', { method: 'POST', body: { name: v.name, scope: v.scope, siteId: site.id } });
    newKey.replaceChildren(h('p', {}, 'Copy the key now, it is shown only once:'), copyBox(r.apiKey.key));
    f.reset(); renderKeys();
  }, h('div', { class: 'row' }, field('Key name', input('name', { id: 'in-keyname', required: true })),
    field('Scope', h('select', { name: 'scope', id: 'in-scope' }, ['read', 'write', 'admin'].map((x) => h('option', { value: x }, x))))),
  h('button', { type: 'submit' }, 'Create key'));
  setMain(siteHeader(site, 'settings'),
    h('section', { class: 'card' }, h('h2', {}, 'Tracking snippet'), h('p', {}, 'Add this to the <head> of every page. Add ', h('code', {}, 'data-heatmap="*"'), ' (or a list of paths) for heatmaps, ', h('code', {}, 'data-respect-dnt'), ' to honour Do Not Track and Global Privacy Control.'), copyBox(snippet(site.id))),
    h('section', { class: 'card' }, h('h2', {}, 'Site settings'), settingsForm),
    h('section', { class: 'card' }, h('h2', {}, 'API keys'), keysBox, keyForm, newKey));
  renderKeys();
}

route();
