/*! ztas analytics.js - no cookies, no storage, no fingerprinting. See README "Tracking script". */
((w, d, n) => {
  let s = d.currentScript, l = w.location, h = w.history, A = k => s.getAttribute('data-' + k);
  if (!s || w.__zta) return;
  let site = A('site-id'), base = (A('api') || new URL(s.src).origin).replace(/\/$/, ''), api = base + '/api/track',
    hash = A('hash') != null, hm = A('heatmap'), cur, spent = 0, beats = 0,
    vis = () => d.visibilityState == 'visible', shown = vis() && Date.now(),
    off = !site || A('respect-dnt') != null && (n.doNotTrack == '1' || n.globalPrivacyControl)
      || /^(localhost|127\.|\[::1\])/.test(l.hostname) && A('allow-localhost') == null,
    path = () => l.pathname + (hash ? l.hash : ''),
    send = o => {
      if (off) return;
      o.siteId = site;
      let b = JSON.stringify(o);
      try { if (n.sendBeacon(api, b)) return } catch (e) {}
      fetch(api, { method: 'POST', body: b, keepalive: true }).catch(() => {});
    },
    engaged = () => {
      if (shown) spent += Date.now() - shown, shown = vis() && Date.now();
      let t = Math.round(spent / 1e3);
      if (t > 0 && cur) send({ type: 'engagement', path: cur, timeOnPage: t });
      spent = 0;
    },
    pageview = first => {
      let p = path(), o = { type: 'pageview', path: p }, q = new URLSearchParams(l.search);
      if (p == cur) return;
      if (cur) engaged();
      cur = p; beats = 0;
      if (first && d.referrer) o.referrer = d.referrer;
      for (let k of ['source', 'medium', 'campaign']) if (q.get('utm_' + k)) o['utm_' + k] = q.get('utm_' + k);
      send(o);
      z.hm && z.hm();
    },
    zta = (c, a, p = {}) => c == 'event' && a && send({ ...p, type: 'event', path: path(), action: '' + a }),
    z = w.__zta = { send, path, site, api, pages: hm }, q = w.zta && w.zta.q || [], on = (t, f, c) => t.addEventListener(f, c, 1);
  w.zta = zta;
  q.forEach(a => zta(...a));
  on(d, 'visibilitychange', () => vis() ? shown = Date.now() : engaged());
  on(w, 'pagehide', engaged);
  setInterval(() => shown && beats++ < 60 && send({ type: 'heartbeat', path: cur }), 3e4);
  on(d, 'click', e => {
    let a = e.target.closest && e.target.closest('a[href]'), u = a && new URL(a.href, l.href);
    if (!u) return;
    if (/^http/.test(u.protocol) && u.host != l.host) zta('event', 'Outbound Link', { category: 'outbound', label: u.href });
    else if (/\.(pdf|zip|t?gz|dmg|exe|csv|xlsx?|docx?|pptx?|txt|mp[34]|mov)$/i.test(u.pathname))
      zta('event', 'File Download', { category: 'download', label: u.pathname });
  });
  let push = h.pushState;
  h.pushState = function () { push.apply(h, arguments); pageview() };
  on(w, 'popstate', () => pageview());
  hash && on(w, 'hashchange', () => pageview());
  if (hm != null && !off) {
    let e = d.createElement('script');
    e.async = 1; e.src = base + '/js/heatmap.js';
    d.head.append(e);
  }
  pageview(1);
})(window, document, navigator);
