/*! ztas heatmap.js: clicks (position, element selector, text), scroll depth and sampled mouse
 * moves, batched to /api/track. Loaded by analytics.js on the pages listed in data-heatmap. */
(function (w, d) {
  var z = w.__zta;
  if (!z || z.hmLoaded) return;
  z.hmLoaded = 1;
  var queue = [], depth = 0, sentDepth = 0, lastMove = 0, moves = 0, page = z.path();

  // "*" or a comma list of paths, each may end in "*" (prefix).
  function enabled() {
    var p = z.path();
    return String(z.pages || '*').split(',').some(function (x) {
      x = x.trim();
      return x == '*' || x == '' || x == p || (x.slice(-1) == '*' && p.indexOf(x.slice(0, -1)) == 0);
    });
  }
  function push(e) {
    if (!enabled()) return;
    e.path = page;
    queue.push(e);
    if (queue.length >= 50) flush();
  }
  function flush() {
    if (depth > sentDepth && enabled()) {
      queue.push({ type: 'scroll', path: page, scrollDepth: depth });
      sentDepth = depth;
    }
    while (queue.length) {
      var body = JSON.stringify({ batch: true, siteId: z.site, events: queue.splice(0, 100) });
      try { if (navigator.sendBeacon && navigator.sendBeacon(z.api, body)) continue; } catch (e) {}
      fetch(z.api, { method: 'POST', body: body, keepalive: true, credentials: 'omit' }).catch(function () {});
    }
  }
  // A CSS selector of the element: tag, then #id or up to two classes (e.g. button#signup).
  function selector(el) {
    var s = el.tagName.toLowerCase();
    if (el.id) return (s + '#' + el.id).slice(0, 100);
    var c = typeof el.className == 'string' ? el.className.trim().split(/\s+/).slice(0, 2).filter(Boolean) : [];
    return (s + (c.length ? '.' + c.join('.') : '')).slice(0, 100);
  }
  function text(el) {
    if (/^(INPUT|TEXTAREA|SELECT)$/.test(el.tagName)) return '';  // never what a visitor typed
    return (el.innerText || el.textContent || '').replace(/\s+/g, ' ').trim().slice(0, 100);
  }
  function measure() {
    var el = d.documentElement, total = Math.max(el.scrollHeight, d.body ? d.body.scrollHeight : 0);
    var seen = (w.scrollY || el.scrollTop) + w.innerHeight;
    var pct = total > 0 ? Math.min(100, Math.round(seen * 100 / total)) : 100;
    if (pct > depth) depth = pct;
  }

  d.addEventListener('click', function (e) {
    var t = e.target && e.target.nodeType == 1 ? e.target : e.target && e.target.parentElement;
    if (!t) return;
    var el = t.closest('a,button,input,select,textarea,label,summary,[role=button]') || t;
    push({ type: 'click', x: Math.round(e.pageX), y: Math.round(e.pageY), viewportWidth: w.innerWidth,
           element: selector(el), text: text(el) });
  }, true);
  w.addEventListener('scroll', measure, { passive: true });
  d.addEventListener('mousemove', function (e) {
    var now = Date.now();
    if (now - lastMove < 500 || moves >= 200) return;  // sampled: ≤ 2 per second, ≤ 200 per page
    lastMove = now; moves++;
    push({ type: 'move', x: Math.round(e.pageX), y: Math.round(e.pageY), viewportWidth: w.innerWidth });
  }, { passive: true });
  d.addEventListener('visibilitychange', function () { if (d.visibilityState == 'hidden') flush(); });
  w.addEventListener('pagehide', flush);
  setInterval(flush, 5000);
  // analytics.js calls this on a single-page navigation: close the previous page's batch.
  z.hm = function () { flush(); page = z.path(); depth = sentDepth = moves = 0; measure(); };
  measure();
})(window, document);
