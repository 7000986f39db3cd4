/* SPDX-License-Identifier: MIT */
/*
 * The knowledge-gap report (/console/kb-gaps): lists GET /api/v1/kb/gaps — the questions the bot
 * abstained on, grouped by wording — with their counts, first/last time asked, example messages
 * and the closest knowledge-base entries today. Everything a customer wrote is inserted as text
 * (textContent), never as markup. Uses the console's login token from this tab's sessionStorage;
 * without one (or when it has expired) it points to the console's login.
 *
 * Teaching: when one of the closest entries does answer a group, an administrator can add the
 * group's wordings to that entry's question phrasings (GET the entry, PUT it back with the new
 * phrasings): the bot then recognises those wordings. Only FAQ entries and products (entries
 * without a parent article) learn phrasings: a PUT of one article section would replace the
 * article's other sections.
 *
 * Proposed by agents: for supervisors and admins (GET /api/v1/me tells the role), the pending
 * wordings agents proposed from conversations (GET /api/v1/kb/wordings) with Approve and
 * Dismiss (POST /api/v1/kb/wordings/{id}/approve|dismiss). Approving adds the wording to the
 * entry's phrasings on the server, live at once; the gap list is reloaded since a group may
 * now be answered. Agents do not see the section (they propose from the console).
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

  const PHRASINGS_MAX = 50;

  async function call(method, path, body) {
    const headers = { authorization: 'Bearer ' + token() };
    if (body !== undefined) headers['content-type'] = 'application/json';
    const r = await fetch(path, { method, headers, cache: 'no-store', credentials: 'omit',
      body: body === undefined ? undefined : JSON.stringify(body) });
    let json = null;
    try { json = await r.json(); } catch (e) { json = null; }
    return { status: r.status, json };
  }

  /* Adds the group's wordings to entry `id`'s phrasings; returns a message for the status line. */
  async function teach(g, id) {
    const got = await call('GET', '/api/v1/kb/entries/' + encodeURIComponent(id));
    if (got.status !== 200 || !got.json) return [`Could not read entry ${id} (HTTP ${got.status}).`, true];
    const e = got.json;
    if ((e.kind !== 'faq' && e.kind !== 'product') || e.parent) {
      return [`${id} is an article section; edit the article to cover these questions.`, true];
    }
    const have = new Set([e.title, ...(e.questions || [])].map((q) => q.trim().toLowerCase()));
    const add = [];
    for (const w of [g.question, ...(g.examples || [])]) {
      const q = String(w).replace(/\s+/g, ' ').trim();
      if (q && !have.has(q.toLowerCase())) { have.add(q.toLowerCase()); add.push(q); }
    }
    if (!add.length) return [`${id} already has these wordings.`, false];
    const questions = [...(e.questions || []), ...add].slice(-PHRASINGS_MAX);
    const put = await call('PUT', '/api/v1/kb/entries/' + encodeURIComponent(id), {
      kind: e.kind, title: e.title, questions, body: e.body, parent: e.parent,
      collection: e.collection, lang: e.lang, heading: e.heading, link: e.link, sku: e.sku,
      price: e.price, attributes: e.attributes || {} });
    if (put.status === 403) return ['Only administrators can change the knowledge base.', true];
    if (put.status !== 200) {
      const why = put.json && put.json.error ? put.json.error.message : `HTTP ${put.status}`;
      return [`Could not update ${id}: ${why}`, true];
    }
    return [`Added ${add.length} wording${add.length === 1 ? '' : 's'} to ${id}.`, false];
  }

  function teachForm(g) {
    const form = el('form', 'gap-teach');
    const sel = el('select', 'gap-teach-entry');
    const label = el('label', null, 'These questions are answered by');
    const sid = 'teach-' + Math.random().toString(36).slice(2);
    sel.id = sid;
    label.htmlFor = sid;
    for (const c of g.closest) {
      const o = el('option', null, `${c.title || c.doc_id} [${c.doc_id}]`);
      o.value = c.doc_id;
      sel.appendChild(o);
    }
    const btn = el('button', 'btn secondary', 'Add these wordings');
    btn.type = 'submit';
    form.append(label, sel, btn);
    form.addEventListener('submit', async (ev) => {
      ev.preventDefault();
      btn.disabled = true;
      let msg;
      try { msg = await teach(g, sel.value); } catch (e) { msg = ['The server cannot be reached.', true]; }
      btn.disabled = false;
      if (!msg[1]) await load();
      status(msg[0], msg[1]);
    });
    return form;
  }

  /* ---- proposed by agents ---- */

  function proposalItem(w) {
    const li = el('li', 'proposal');
    li.dataset.id = String(w.id);
    li.appendChild(el('p', 'proposal-wording', w.wording));
    const entry = el('div', 'proposal-entry');
    entry.appendChild(document.createTextNode('answered by '));
    entry.appendChild(el('strong', null, w.entry_title || w.entry));
    entry.appendChild(document.createTextNode(` [${w.entry}]`));
    li.appendChild(entry);
    const who = w.proposed_by && w.proposed_by.name ? w.proposed_by.name : 'an API client';
    li.appendChild(el('div', 'proposal-meta', `proposed by ${who}, ${when(w.created_at)}`));
    const actions = el('div', 'proposal-actions');
    const approve = el('button', 'btn primary', 'Approve');
    const dismiss = el('button', 'btn secondary', 'Dismiss');
    approve.type = dismiss.type = 'button';
    approve.setAttribute('aria-label', `Approve “${w.wording}” for ${w.entry}`);
    dismiss.setAttribute('aria-label', `Dismiss “${w.wording}”`);
    approve.addEventListener('click', () => decide(w, 'approve', li));
    dismiss.addEventListener('click', () => decide(w, 'dismiss', li));
    actions.append(approve, dismiss);
    li.appendChild(actions);
    return li;
  }

  function proposalsStatus(text, isError) {
    const s = $('proposals-status');
    s.textContent = text;
    s.classList.toggle('error', !!isError);
  }

  function countProposals() {
    const n = $('proposals-list').children.length;
    $('proposals-count').textContent = n ? String(n) : '';
    if (!n && !$('proposals-status').textContent) proposalsStatus('Nothing to review.');
  }

  async function decide(w, verb, li) {
    for (const b of li.querySelectorAll('button')) b.disabled = true;
    let r;
    try {
      r = await call('POST', `/api/v1/kb/wordings/${encodeURIComponent(w.id)}/${verb}`);
    } catch (e) {
      r = { status: 0, json: null };
    }
    if (r.status !== 200) {
      for (const b of li.querySelectorAll('button')) b.disabled = false;
      const why = r.json && r.json.error ? r.json.error.message : r.status ? `HTTP ${r.status}` : 'the server cannot be reached';
      proposalsStatus(`Could not ${verb} “${w.wording}”: ${why}`, true);
      if (r.status === 409 || r.status === 404) { li.remove(); countProposals(); }
      return;
    }
    /* keep the keyboard focus in the list */
    const next = li.nextElementSibling || li.previousElementSibling;
    li.remove();
    proposalsStatus(verb === 'approve'
      ? `Approved: “${w.wording}” is now a phrasing of ${w.entry}.`
      : `Dismissed “${w.wording}”.`, false);
    countProposals();
    const focus = next && next.querySelector('button');
    if (focus) focus.focus();
    else $('proposals-h').focus();
    if (verb === 'approve') load();
  }

  let role = null;
  async function loadProposals() {
    const box = $('proposals');
    if (role === null) {
      const me = await call('GET', '/api/v1/me').catch(() => ({ status: 0, json: null }));
      if (me.status !== 200 || !me.json) { box.hidden = true; return; }
      role = String(me.json.role || '');
    }
    if (role !== 'admin' && role !== 'supervisor') { box.hidden = true; return; }
    box.hidden = false;
    let r;
    try {
      r = await call('GET', '/api/v1/kb/wordings?status=pending&limit=200');
    } catch (e) {
      proposalsStatus('The server cannot be reached.', true);
      return;
    }
    if (r.status !== 200 || !r.json || !Array.isArray(r.json.wordings)) {
      proposalsStatus(`Could not load the proposals (HTTP ${r.status}).`, true);
      return;
    }
    proposalsStatus('');
    $('proposals-list').replaceChildren(...r.json.wordings.map(proposalItem));
    countProposals();
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
    if (closest.length) li.appendChild(teachForm(g));
    return li;
  }

  async function load() {
    const list = $('gaps-list');
    const t = token();
    if (!t) {
      list.replaceChildren();
      $('gaps-login').hidden = false;
      $('proposals').hidden = true;
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
      $('proposals').hidden = true;
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
    $('gaps-filter').addEventListener('submit', (e) => { e.preventDefault(); load(); if (token()) loadProposals(); });
    $('gaps-since').addEventListener('change', load);
    $('proposals-h').tabIndex = -1;
    load();
    if (token()) loadProposals();
  });
})();
