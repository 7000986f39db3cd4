/* SPDX-License-Identifier: MIT */
/*
 * The knowledge-gap report (/console/kb-gaps): lists GET /api/v1/kb/gaps — the questions the bot
 * abstained on, grouped by wording — with their counts, first/last time asked, example messages
 * and the closest knowledge-base entries today. Everything a customer wrote is inserted as text
 * (textContent), never as markup. Uses the console's login token from this tab's sessionStorage;
 * without one (or when it has expired) it points to the console's login.
 */
(function () {
  'use strict';
  const TOKEN_KEY = 'switchboard.console.token';
  const DAY_MS = 24 * 3600 * 1000;
  const $ = (id) => document.getElementById(id);

  function token() {
    try { return sessionStorage.getItem(TOKEN_KEY); } catch (e) { return null; }
  }

  function el(tag, cls, text) {
    const e = document.createElement(tag);
    if (cls) e.className = cls;
    if (text !== undefined && text !== null) e.textContent = String(text);
    return e;
  }

  function when(ms) {
    if (!ms) return '—';
    const d = new Date(ms);
    return d.toLocaleString(undefined, { dateStyle: 'medium', timeStyle: 'short' });
  }

  function status(text, isError) {
    const s = $('gaps-status');
    s.textContent = text;
    s.classList.toggle('error', !!isError);
  }

  /* Only http(s) links of KB entries become links; anything else stays text. */
  function safeLink(href) {
    try {
      const u = new URL(href, location.href);
      return u.protocol === 'http:' || u.protocol === 'https:' ? u.href : null;
    } catch (e) { return null; }
  }

  function renderGap(g) {
    const li = el('li', 'gap');
    const top = el('div', 'gap-top');
    top.appendChild(el('h2', 'gap-question', g.question));
    const count = el('span', 'gap-count', g.count === 1 ? '1 time' : `${g.count} times`);
    count.setAttribute('aria-label', `asked ${g.count} times`);
    top.appendChild(count);
    li.appendChild(top);

    const meta = el('div', 'gap-meta');
    meta.appendChild(el('span', 'gap-last', 'last asked ' + when(g.last_at)));
    meta.appendChild(el('span', 'gap-first', 'first asked ' + when(g.first_at)));
    if (g.answered_now) meta.appendChild(el('span', 'badge ok', 'answered now'));
    li.appendChild(meta);

    const examples = (g.examples || []).filter((x) => x !== g.question);
    if (examples.length) {
      const ul = el('ul', 'gap-examples');
      ul.setAttribute('aria-label', 'other wordings');
      for (const x of examples) ul.appendChild(el('li', 'gap-example', x));
      li.appendChild(ul);
    }

    const kb = el('div', 'gap-kb');
    const closest = g.closest || [];
    if (!closest.length) {
      kb.textContent = 'The knowledge base has nothing close.';
    } else {
      kb.appendChild(document.createTextNode(
        (g.answered_now ? 'Answered today by ' : 'Closest entry today ') +
        `(confidence ${Math.round((g.confidence_now || 0) * 100)} %): `));
      closest.forEach((c, i) => {
        if (i) kb.appendChild(document.createTextNode(', '));
        const href = c.link ? safeLink(c.link) : null;
        const label = `${c.title || c.doc_id} [${c.doc_id}]`;
        if (href) {
          const a = el('a', null, label);
          a.href = href;
          a.rel = 'noopener noreferrer';
          a.target = '_blank';
          kb.appendChild(a);
        } else {
          kb.appendChild(el('span', null, label));
        }
      });
    }
    li.appendChild(kb);
    return li;
  }

  async function load() {
    const list = $('gaps-list');
    const t = token();
    if (!t) {
      list.replaceChildren();
      $('gaps-login').hidden = false;
      status('');
      return;
    }
    $('gaps-login').hidden = true;
    const days = Number($('gaps-since').value) || 0;
    const since = days ? Date.now() - days * DAY_MS : 0;
    status('Loading…');
    let r;
    try {
      r = await fetch(`/api/v1/kb/gaps?limit=200&since=${since}`, {
        headers: { authorization: 'Bearer ' + t }, cache: 'no-store', credentials: 'omit' });
    } catch (e) {
      status('The server cannot be reached. Try again.', true);
      return;
    }
    if (r.status === 401) {
      try { sessionStorage.removeItem(TOKEN_KEY); } catch (e) { /* ignore */ }
      list.replaceChildren();
      $('gaps-login').hidden = false;
      status('Your login has expired.', true);
      return;
    }
    let body = null;
    try { body = await r.json(); } catch (e) { body = null; }
    if (!r.ok || !body || !Array.isArray(body.gaps)) {
      status(`Could not load the report (HTTP ${r.status}).`, true);
      return;
    }
    list.replaceChildren(...body.gaps.map(renderGap));
    const total = body.gaps.reduce((s, g) => s + (g.count || 0), 0);
    status(body.gaps.length
      ? `${body.gaps.length} group${body.gaps.length === 1 ? '' : 's'}, ${total} question${total === 1 ? '' : 's'} — largest first.`
      : 'No unanswered questions in this period.');
  }

  document.addEventListener('DOMContentLoaded', () => {
    $('gaps-filter').addEventListener('submit', (e) => { e.preventDefault(); load(); });
    $('gaps-since').addEventListener('change', load);
    load();
  });
})();
