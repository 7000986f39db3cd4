/* SPDX-License-Identifier: MIT */
/*
 * The supervisor dashboard (/console/dashboard). Reads GET /api/v1/dashboard for the chosen
 * period (in the browser's time zone) every 10 seconds and draws it: key figures as numbers
 * with units, bars for volume per channel, top intents and CSAT ratings, a line for the
 * sentiment trend, a table of agents and their load. The charts are SVG built here with
 * createElementNS — no chart library — and every label that comes from data (channel kinds,
 * intent labels, agent names) is inserted as text (textContent), never as markup. "Export CSV"
 * downloads GET /api/v1/reports/conversations.csv for the same period. Uses the console's
 * login token from this tab's sessionStorage.
 */
(function () {
  'use strict';
  const TOKEN_KEY = 'switchboard.console.token';
  const DAY_MS = 24 * 3600 * 1000;
  const REFRESH_MS = 10000;
  const TREND_DAYS = 14;
  const SVG = 'http://www.w3.org/2000/svg';
  const $ = (id) => document.getElementById(id);
  let timer = null;
  let inflight = false;

  function token() {
    try { return sessionStorage.getItem(TOKEN_KEY); } catch (e) { return null; }
  }

  function el(tag, cls, text) {
    const e = document.createElement(tag);
    if (cls) e.className = cls;
    if (text !== undefined && text !== null) e.textContent = String(text);
    return e;
  }

  function svg(tag, attrs, text) {
    const e = document.createElementNS(SVG, tag);
    for (const k in attrs || {}) e.setAttribute(k, String(attrs[k]));
    if (text !== undefined && text !== null) e.textContent = String(text);
    return e;
  }

  /* Minutes east of UTC, as the API wants it (a multiple of 15). */
  function tzOffset() {
    return Math.round(-new Date().getTimezoneOffset() / 15) * 15;
  }

  function localMidnight(ms) {
    const d = new Date(ms);
    d.setHours(0, 0, 0, 0);
    return d.getTime();
  }

  function period() {
    const v = $('dash-period').value;
    const today = localMidnight(Date.now());
    if (v === 'yesterday') return { from: localMidnight(today - DAY_MS / 2), to: today };
    if (v === '7' || v === '30') {
      const n = Number(v);
      return { from: localMidnight(today - (n - 1) * DAY_MS + DAY_MS / 2), to: localMidnight(today + DAY_MS * 1.5) };
    }
    return { from: today, to: localMidnight(today + DAY_MS * 1.5) };
  }

  /* 0 s · 45 s · 4 min 12 s · 2 h 5 min · 3 d 4 h */
  function duration(ms) {
    if (ms === null || ms === undefined) return '—';
    let s = Math.round(ms / 1000);
    if (s < 60) return `${s} s`;
    let m = Math.floor(s / 60); s %= 60;
    if (m < 60) return s ? `${m} min ${s} s` : `${m} min`;
    let h = Math.floor(m / 60); m %= 60;
    if (h < 24) return m ? `${h} h ${m} min` : `${h} h`;
    const d = Math.floor(h / 24); h %= 24;
    return h ? `${d} d ${h} h` : `${d} d`;
  }

  function plural(n, one, many) {
    return `${n} ${n === 1 ? one : many || one + 's'}`;
  }

  function pct(x) {
    return x === null || x === undefined ? '—' : `${Math.round(x * 1000) / 10} %`;
  }

  function status(text, isError) {
    const s = $('dash-status');
    s.textContent = text;
    s.classList.toggle('error', !!isError);
  }

  function tile(id, big, sub) {
    const t = $(id);
    t.querySelector('.big').textContent = big;
    t.querySelector('.sub').textContent = sub || '';
  }

  /* Horizontal bars: one row per item, the label left, the bar, the value right. */
  function bars(items, { label, value, note, empty, cls }) {
    if (!items.length) return el('p', 'chart-empty muted', empty);
    const rowH = 30, labelW = 150, valueW = 60, width = 560;
    const max = Math.max(1, ...items.map(value));
    const root = svg('svg', { viewBox: `0 0 ${width} ${items.length * rowH + 4}`, role: 'img', class: 'bars ' + (cls || '') });
    root.appendChild(svg('title', {}, items.map((x) => `${label(x)}: ${value(x)}`).join(', ')));
    items.forEach((x, i) => {
      const y = i * rowH + 4;
      const w = Math.max(2, ((width - labelW - valueW - 10) * value(x)) / max);
      const g = svg('g', { class: 'bar-row' });
      g.appendChild(svg('text', { x: labelW - 8, y: y + 17, 'text-anchor': 'end', class: 'bar-label' }, label(x)));
      const rect = svg('rect', { x: labelW, y: y + 4, width: w, height: rowH - 10, rx: 4, class: 'bar' });
      rect.appendChild(svg('title', {}, `${label(x)}: ${value(x)}${note ? ' — ' + note(x) : ''}`));
      g.appendChild(rect);
      g.appendChild(svg('text', { x: labelW + w + 6, y: y + 17, class: 'bar-value' }, value(x)));
      root.appendChild(g);
    });
    return root;
  }

  /* The sentiment line: score per day from -1 (all negative) to +1 (all positive). */
  function line(days) {
    const rated = days.filter((d) => d.score !== null);
    if (!rated.length) {
      return el('p', 'chart-empty muted',
        'No rated customer messages in these days. Sentiment needs a sentiment model (data/models/sentiment.model, see the README).');
    }
    const width = 760, height = 180, left = 44, right = 14, top = 12, bottom = 30;
    const plotW = width - left - right, plotH = height - top - bottom;
    const xOf = (i) => left + (days.length === 1 ? plotW / 2 : (plotW * i) / (days.length - 1));
    const yOf = (v) => top + ((1 - v) / 2) * plotH;
    const root = svg('svg', { viewBox: `0 0 ${width} ${height}`, role: 'img', class: 'line' });
    root.appendChild(svg('title', {}, 'Sentiment per day: ' + rated.map((d) => `${d.date} ${d.score.toFixed(2)}`).join(', ')));
    for (const [v, name] of [[1, '+1 positive'], [0, '0'], [-1, '−1 negative']]) {
      root.appendChild(svg('line', { x1: left, x2: width - right, y1: yOf(v), y2: yOf(v), class: v === 0 ? 'axis zero' : 'axis' }));
      root.appendChild(svg('text', { x: left - 6, y: yOf(v) + 4, 'text-anchor': 'end', class: 'tick' }, name.split(' ')[0]));
    }
    // about seven date labels, counted back from the last day so that it always has one
    const step = Math.max(1, Math.ceil(days.length / 7));
    days.forEach((d, i) => {
      if ((days.length - 1 - i) % step === 0) {
        const anchor = days.length > 1 && i === days.length - 1 ? 'end' : 'middle';
        root.appendChild(svg('text', { x: xOf(i), y: height - 8, 'text-anchor': anchor, class: 'tick' }, d.date.slice(5)));
      }
    });
    let path = '';
    days.forEach((d, i) => {
      if (d.score === null) return;
      path += (path ? ' L ' : 'M ') + xOf(i).toFixed(1) + ' ' + yOf(d.score).toFixed(1);
    });
    root.appendChild(svg('path', { d: path, class: 'trend' }));
    days.forEach((d, i) => {
      if (d.score === null) return;
      const c = svg('circle', { cx: xOf(i), cy: yOf(d.score), r: 4, class: d.score < -0.2 ? 'pt neg' : d.score > 0.2 ? 'pt pos' : 'pt' });
      c.appendChild(svg('title', {}, `${d.date}: score ${d.score.toFixed(2)} — ${d.positive} positive, ${d.neutral} neutral, ${d.negative} negative`));
      root.appendChild(c);
    });
    return root;
  }

  function put(id, node) {
    $(id).querySelector('.chart').replaceChildren(node);
  }

  function renderTiles(x) {
    const q = x.queue, c = x.conversations;
    tile('t-waiting', String(q.waiting), q.waiting ? `longest wait ${duration(q.longest_wait_ms)}` : 'nobody is waiting');
    tile('t-agents', `${q.agents_online} of ${x.agents.length}`, `${plural(q.assigned, 'conversation')} with agents now`);
    tile('t-volume', String(c.total), `${c.resolved} resolved · ${c.reopened} reopened`);
    tile('t-handoff', pct(c.hand_off_rate), `${c.handed_off} of ${c.total} went to a person`);
    const withProv = c.bot_resolved + c.bot_resolved_provisional;
    tile('t-bot', pct(c.bot_resolved_rate_with_provisional),
      c.bot_resolved_provisional
        ? `${withProv} of ${c.total}; ${c.bot_resolved_provisional} still inside the 24 h reopen window`
        : `${c.bot_resolved} of ${c.total}`);
    const f = x.first_response, r = x.resolution;
    tile('t-frt', f.count ? `${duration(f.median_ms)}` : '—',
      f.count ? `median · p90 ${duration(f.p90_ms)} · ${plural(f.count, 'response')}` : 'no agent replies after a hand-off yet');
    tile('t-res', r.count ? `${duration(r.median_ms)}` : '—',
      r.count ? `median · p90 ${duration(r.p90_ms)} · ${r.count} resolved` : 'nothing resolved yet');
    tile('t-csat', x.csat.count ? `${x.csat.mean.toFixed(2)} / 5` : '—',
      x.csat.count ? plural(x.csat.count, 'rating') : 'no ratings yet');
  }

  function renderAgents(agents) {
    const body = $('c-agents').querySelector('tbody');
    const rows = agents.map((a) => {
      const tr = el('tr');
      const name = el('td');
      name.appendChild(el('span', 'agent-name', a.name));
      if (a.role !== 'agent') name.appendChild(el('span', 'badge', a.role));
      tr.appendChild(name);
      const p = el('td');
      p.appendChild(el('span', 'dot ' + a.presence, ''));
      p.appendChild(document.createTextNode(a.presence));
      tr.appendChild(p);
      const load = el('td', 'load');
      const cap = a.capacity;
      const meter = el('span', 'meter');
      const fill = el('span', 'meter-fill');
      fill.style.width = cap ? `${Math.min(100, (100 * a.assigned) / cap)}%` : a.assigned ? '100%' : '0';
      meter.appendChild(fill);
      load.appendChild(meter);
      load.appendChild(el('span', 'load-text', cap === null ? `${a.assigned}` : `${a.assigned} / ${cap}`));
      tr.appendChild(load);
      tr.appendChild(el('td', null, a.csat_count ? `${a.csat_mean.toFixed(1)} (${a.csat_count})` : '—'));
      return tr;
    });
    if (!rows.length) {
      const tr = el('tr');
      const td = el('td', 'muted', 'No agents yet.');
      td.colSpan = 4;
      tr.appendChild(td);
      rows.push(tr);
    }
    body.replaceChildren(...rows);
  }

  function render(x, trend) {
    renderTiles(x);
    put('c-volume', bars(x.volume, {
      label: (v) => v.channel, value: (v) => v.conversations,
      note: (v) => `${v.customer_messages} customer, ${v.bot_messages} bot, ${v.agent_messages} agent messages written in the period`,
      empty: 'No conversations in this period.' }));
    const oos = x.intents.out_of_scope;
    put('c-intents', bars(x.intents.top, {
      label: (v) => v.intent, value: (v) => v.messages, cls: 'alt',
      empty: x.intents.messages ? 'Only out-of-scope messages so far.' : 'No classified customer messages in this period.' }));
    if (oos) {
      $('c-intents').querySelector('.chart').appendChild(
        el('p', 'muted small', `${oos} of ${x.intents.messages} messages were out of scope.`));
    }
    put('c-sentiment', line(trend));
    const hist = x.csat.distribution.map((n, i) => ({ label: '★'.repeat(i + 1), n })).reverse();
    put('c-csat', x.csat.count
      ? bars(hist, { label: (v) => v.label, value: (v) => v.n, cls: 'csat' })
      : el('p', 'chart-empty muted', 'No ratings in this period.'));
    renderAgents(x.agents);
  }

  async function get(path) {
    const r = await fetch(path, { headers: { authorization: 'Bearer ' + token() }, cache: 'no-store', credentials: 'omit' });
    let body = null;
    try { body = await r.json(); } catch (e) { body = null; }
    return { status: r.status, ok: r.ok, body };
  }

  function needLogin(text) {
    $('dash-body').hidden = true;
    $('dash-login').hidden = false;
    $('dash-login-text').textContent = text;
  }

  async function load() {
    if (inflight) return;
    if (!token()) {
      needLogin('Log in to the console first; this page uses the same login.');
      status('');
      return;
    }
    inflight = true;
    try {
      const p = period(), tz = tzOffset();
      const q = `from=${p.from}&to=${p.to}&tz_offset=${tz}`;
      const main = get(`/api/v1/dashboard?${q}`);
      // a trend needs days: short periods show the last TREND_DAYS days up to the period's end
      const days = Math.round((p.to - p.from) / DAY_MS);
      const trendFrom = localMidnight(p.to - TREND_DAYS * DAY_MS + DAY_MS / 2);
      const trendReq = days >= TREND_DAYS ? null
        : get(`/api/v1/dashboard?from=${trendFrom}&to=${p.to}&tz_offset=${tz}&sections=sentiment`);
      let r, t;
      try {
        r = await main;
        t = trendReq ? await trendReq : null;
      } catch (e) {
        status('The server cannot be reached; retrying every 10 s.', true);
        return;
      }
      if (r.status === 401) {
        try { sessionStorage.removeItem(TOKEN_KEY); } catch (e) { /* ignore */ }
        needLogin('Your login has expired. Log in again in the console.');
        status('', false);
        return;
      }
      if (r.status === 403) {
        needLogin('The dashboard is for supervisors and admins. Ask an admin for the supervisor role.');
        status('', false);
        return;
      }
      if (!r.ok || !r.body || !r.body.conversations) {
        status(`Could not load the figures (HTTP ${r.status}).`, true);
        return;
      }
      $('dash-login').hidden = true;
      $('dash-body').hidden = false;
      render(r.body, t && t.ok && t.body.sentiment ? t.body.sentiment : r.body.sentiment);
      status('');
      $('dash-updated').textContent = 'Updated ' + new Date(r.body.generated_at).toLocaleTimeString();
    } finally {
      inflight = false;
    }
  }

  async function exportCsv() {
    const p = period();
    const btn = $('dash-export');
    btn.disabled = true;
    try {
      const r = await fetch(`/api/v1/reports/conversations.csv?from=${p.from}&to=${p.to}`, {
        headers: { authorization: 'Bearer ' + token() }, cache: 'no-store', credentials: 'omit' });
      if (!r.ok) {
        status(`The export failed (HTTP ${r.status}).`, true);
        return;
      }
      const blob = await r.blob();
      const a = document.createElement('a');
      a.href = URL.createObjectURL(blob);
      a.download = `conversations-${new Date(p.from).toISOString().slice(0, 10)}.csv`;
      document.body.appendChild(a);
      a.click();
      a.remove();
      setTimeout(() => URL.revokeObjectURL(a.href), 10000);
    } catch (e) {
      status('The server cannot be reached.', true);
    } finally {
      btn.disabled = false;
    }
  }

  function schedule() {
    if (timer) clearInterval(timer);
    timer = setInterval(() => { if (!document.hidden) load(); }, REFRESH_MS);
  }

  document.addEventListener('DOMContentLoaded', () => {
    $('dash-form').addEventListener('submit', (e) => { e.preventDefault(); load(); });
    $('dash-period').addEventListener('change', () => { load(); schedule(); });
    $('dash-export').addEventListener('click', exportCsv);
    document.addEventListener('visibilitychange', () => { if (!document.hidden) load(); });
    load();
    schedule();
  });
})();
