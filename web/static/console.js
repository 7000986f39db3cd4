// SPDX-License-Identifier: MIT
/*
 * The agent console (/console). An agent logs in (POST /api/v1/auth/login; the session token is
 * kept in sessionStorage, so it ends with the tab), sees a live list of conversations
 * (GET /api/v1/conversations, kept current by the WebSocket /ws/agent events message.created,
 * message.annotated and conversation.updated), filters it (all open, bot, queued, mine,
 * resolved), opens a conversation (GET .../messages), replies or writes an internal note
 * (POST .../messages), assigns it to themselves (POST .../assign) and resolves it
 * (POST .../resolve).
 *
 * Live updates: the socket reconnects with exponential backoff and resumes from the last event
 * sequence number it saw (?since=SEQ), then reloads the lists and the open conversation to be
 * sure nothing was missed. Messages are keyed by id, so an event seen twice is shown once.
 *
 * Security: customer and agent text is only ever set with textContent; no markup is built from
 * strings. The page's Content-Security-Policy forbids inline script.
 */
(function () {
  'use strict';

  const TOKEN_KEY = 'switchboard.console.token';
  const PAGE = 100;
  const PING_MS = 25000;

  const $ = (id) => document.getElementById(id);
  const ui = {
    loginView: $('login-view'), loginForm: $('login-form'), email: $('login-email'),
    password: $('login-password'), loginError: $('login-error'), loginSubmit: $('login-submit'),
    app: $('app-view'), conn: $('conn'), me: $('me'), logout: $('logout'),
    tabs: $('tabs'), list: $('conv-list'), items: $('conv-items'), empty: $('conv-empty'), more: $('conv-more'),
    threadEmpty: $('thread-empty'), thread: $('thread-view'), title: $('thread-title'), meta: $('thread-meta'),
    status: $('thread-status'), assign: $('btn-assign'), unassign: $('btn-unassign'), resolve: $('btn-resolve'),
    threadError: $('thread-error'), messages: $('messages'), composer: $('composer'), reply: $('reply'),
    internal: $('internal'), send: $('send'), announce: $('announce'),
  };

  /* The tabs, each a predicate over conversations and the server queries that fill it. */
  const TABS = {
    open: { label: 'All open', test: (c) => c.status !== 'resolved',
      queries: ['status=bot', 'status=queued', 'status=assigned'] },
    bot: { label: 'Bot', test: (c) => c.status === 'bot', queries: ['status=bot'] },
    queued: { label: 'Queued', test: (c) => c.status === 'queued', queries: ['status=queued'] },
    mine: { label: 'Mine', test: (c) => c.status === 'assigned' && S.me && c.assignee_id === S.me.id,
      queries: ['status=assigned&assignee=me'] },
    resolved: { label: 'Resolved', test: (c) => c.status === 'resolved', queries: ['status=resolved'] },
  };

  const S = {
    token: null,
    me: null,
    agents: new Map(),
    inboxes: new Map(),
    convs: new Map(),       /* id -> conversation as last seen */
    cursors: new Map(),     /* query -> next_before (null: no more; absent: not loaded) */
    tab: 'open',
    current: null,          /* id of the open conversation */
    shown: new Map(),       /* message id -> {li, m} in the open conversation */
    maxMsgId: 0,
    unread: new Set(),
    ws: null, wsLive: false, everLive: false, backoff: 0, reconnectTimer: 0, pingTimer: 0,
    lastSeq: 0,
    renderQueued: false,
    loadSeq: 0,             /* guards against a slow load for a conversation no longer open */
  };

  /* ---------------- helpers ---------------- */

  function el(tag, props, children) {
    const e = document.createElement(tag);
    if (props) {
      for (const k of Object.keys(props)) {
        const v = props[k];
        if (v === undefined || v === null || v === false) continue;
        if (k === 'class') e.className = v;
        else if (k === 'text') e.textContent = v;
        else e.setAttribute(k, v === true ? '' : String(v));
      }
    }
    for (const c of children || []) if (c) e.appendChild(typeof c === 'string' ? document.createTextNode(c) : c);
    return e;
  }

  function randomId() {
    if (crypto.randomUUID) return crypto.randomUUID();
    const b = new Uint8Array(16);
    crypto.getRandomValues(b);
    return Array.from(b, (x) => x.toString(16).padStart(2, '0')).join('');
  }

  const fmtTime = new Intl.DateTimeFormat(undefined, { hour: '2-digit', minute: '2-digit' });
  const fmtDay = new Intl.DateTimeFormat(undefined, { weekday: 'short' });
  const fmtDate = new Intl.DateTimeFormat(undefined, { day: 'numeric', month: 'short' });
  const fmtFull = new Intl.DateTimeFormat(undefined, { dateStyle: 'medium', timeStyle: 'short' });

  function when(ms) {
    if (!ms) return '';
    const d = new Date(ms), now = new Date();
    const age = now - d;
    if (age < 60000) return 'now';
    if (age < 3600000) return Math.floor(age / 60000) + ' min';
    if (d.toDateString() === now.toDateString()) return fmtTime.format(d);
    if (age < 6 * 86400000) return fmtDay.format(d);
    return fmtDate.format(d);
  }

  function pct(x) {
    return typeof x === 'number' ? Math.round(x * 100) + '%' : '';
  }

  /* Only http(s) links become clickable. */
  function safeLink(href) {
    if (typeof href !== 'string' || !href) return null;
    try {
      const u = new URL(href, location.href);
      return u.protocol === 'https:' || u.protocol === 'http:' ? u.href : null;
    } catch (e) {
      return null;
    }
  }

  function announce(text) {
    ui.announce.textContent = '';
    setTimeout(() => { ui.announce.textContent = text; }, 30);
  }

  const AV_COLOURS = ['#3d6b8f', '#7a5c99', '#2f7d6b', '#9c5a3c', '#5b6f2e', '#a04867', '#4a5fa8', '#6d6d6d'];
  function avatarColour(id) {
    return AV_COLOURS[Math.abs(Number(id) || 0) % AV_COLOURS.length];
  }
  function initials(name) {
    const parts = String(name || '?').trim().split(/\s+/).filter(Boolean);
    const first = Array.from(parts[0] || '?');
    const last = parts.length > 1 ? Array.from(parts[parts.length - 1]) : [];
    /* "Ada Lovelace" -> AL; "Visitor 3fa2c1" -> V; "李雷" -> 李 */
    return first[0] + (last.length && /\p{L}/u.test(last[0]) && !/\d/.test(parts[parts.length - 1]) ? last[0] : '');
  }

  function contactName(c) {
    return (c && c.contact && c.contact.name) || 'Customer #' + (c && c.contact ? c.contact.id : '?');
  }
  function agentName(id) {
    if (!id) return '';
    if (S.me && id === S.me.id) return 'you';
    const a = S.agents.get(id);
    return a ? a.name || a.email : 'agent #' + id;
  }

  /* ---------------- HTTP ---------------- */

  class ApiError extends Error {
    constructor(status, code, message) { super(message); this.status = status; this.code = code; }
  }

  async function api(method, path, body) {
    const headers = {};
    if (S.token) headers.authorization = 'Bearer ' + S.token;
    if (body !== undefined) headers['content-type'] = 'application/json';
    let res;
    try {
      res = await fetch(path, { method, headers, cache: 'no-store', credentials: 'omit',
        body: body === undefined ? undefined : JSON.stringify(body) });
    } catch (e) {
      throw new ApiError(0, 'ENETWORK', 'The server cannot be reached.');
    }
    let json = null;
    try { json = await res.json(); } catch (e) { /* not JSON */ }
    if (res.ok) return json;
    const err = json && json.error ? json.error : {};
    if (res.status === 401 && S.token && path !== '/api/v1/auth/login') sessionEnded();
    throw new ApiError(res.status, err.code || 'E' + res.status, err.message || 'Request failed (' + res.status + ').');
  }

  /* ---------------- login / logout ---------------- */

  function showLogin(message) {
    ui.app.hidden = true;
    ui.loginView.hidden = false;
    ui.loginError.textContent = message || '';
    document.title = 'Log in · Switchboard console';
    (ui.email.value ? ui.password : ui.email).focus();
  }

  function resetState() {
    closeSocket();
    S.me = null;
    S.convs.clear();
    S.cursors.clear();
    S.shown.clear();
    S.unread.clear();
    S.current = null;
    S.lastSeq = 0;
    S.everLive = false;
    ui.items.replaceChildren();
    ui.messages.replaceChildren();
  }

  function sessionEnded() {
    try { sessionStorage.removeItem(TOKEN_KEY); } catch (e) { /* ignore */ }
    S.token = null;
    resetState();
    showLogin('Your session has ended. Please log in again.');
  }

  ui.loginForm.addEventListener('submit', async (e) => {
    e.preventDefault();
    const email = ui.email.value.trim(), password = ui.password.value;
    if (!email || !password) {
      ui.loginError.textContent = 'Enter your e-mail and password.';
      return;
    }
    ui.loginSubmit.disabled = true;
    ui.loginError.textContent = '';
    try {
      const r = await api('POST', '/api/v1/auth/login', { email, password });
      S.token = r.token;
      try { sessionStorage.setItem(TOKEN_KEY, r.token); } catch (err) { /* memory only */ }
      ui.password.value = '';
      await boot();
    } catch (err) {
      ui.loginError.textContent = err.status === 401 ? 'Wrong e-mail or password.' : err.message;
    } finally {
      ui.loginSubmit.disabled = false;
    }
  });

  ui.logout.addEventListener('click', async () => {
    try { await api('POST', '/api/v1/auth/logout'); } catch (e) { /* the token is dropped anyway */ }
    try { sessionStorage.removeItem(TOKEN_KEY); } catch (e) { /* ignore */ }
    S.token = null;
    resetState();
    showLogin('');
  });

  /* ---------------- start ---------------- */

  async function boot() {
    const me = await api('GET', '/api/v1/me');
    S.me = me.agent || { id: 0, name: 'API key', role: me.role };
    ui.me.textContent = (S.me.name || S.me.email || '') + (S.me.role ? ' · ' + S.me.role : '');
    ui.loginView.hidden = true;
    ui.app.hidden = false;
    setConn(false);
    const [agents, inboxes] = await Promise.all([
      api('GET', '/api/v1/agents').catch(() => ({ agents: [] })),
      api('GET', '/api/v1/inboxes').catch(() => ({ inboxes: [] })),
    ]);
    S.agents = new Map(agents.agents.map((a) => [a.id, a]));
    S.inboxes = new Map(inboxes.inboxes.map((x) => [x.id, x]));
    connect();
    await loadTab('open', false);
    if (S.tab !== 'open') await loadTab(S.tab, false);
    render();
    const first = ui.items.querySelector('button.conv');
    (first || ui.tabs.querySelector('[aria-selected="true"]')).focus();
  }

  /* ---------------- conversations ---------------- */

  function upsertConv(c) {
    if (!c || typeof c.id !== 'number') return;
    const old = S.convs.get(c.id);
    if (old && (old.updated_at || 0) > (c.updated_at || 0)) return; /* an older snapshot */
    S.convs.set(c.id, c);
  }

  async function runQuery(q, more) {
    let url = '/api/v1/conversations?limit=' + PAGE + '&' + q;
    if (more) {
      const before = S.cursors.get(q);
      if (!before) return;
      url += '&before=' + before;
    }
    const r = await api('GET', url);
    for (const c of r.conversations) upsertConv(c);
    if (!more || S.cursors.has(q)) S.cursors.set(q, r.next_before);
  }

  async function loadTab(tab, more) {
    const qs = TABS[tab].queries;
    try {
      await Promise.all(qs.map((q) => runQuery(q, more)));
    } catch (e) {
      if (e.status !== 401) setListError(e.message);
    }
    scheduleRender();
  }

  function setListError(text) {
    ui.empty.hidden = false;
    ui.empty.textContent = text;
  }

  function sorted(tab) {
    const t = TABS[tab];
    return [...S.convs.values()].filter(t.test)
      .sort((a, b) => (b.last_message_at || b.updated_at || 0) - (a.last_message_at || a.updated_at || 0) || b.id - a.id);
  }

  function scheduleRender() {
    if (S.renderQueued) return;
    S.renderQueued = true;
    requestAnimationFrame(() => { S.renderQueued = false; render(); });
  }

  function render() {
    renderTabs();
    renderList();
    renderHead();
    const n = S.unread.size;
    document.title = (n ? '(' + n + ') ' : '') + 'Switchboard console';
  }

  function renderTabs() {
    for (const b of ui.tabs.querySelectorAll('[role="tab"]')) {
      const tab = b.dataset.tab;
      const count = b.querySelector('.count');
      if (count) {
        const n = tab === 'resolved' ? 0 : sorted(tab).length;
        count.textContent = n ? String(n) : '';
      }
      const sel = tab === S.tab;
      b.setAttribute('aria-selected', String(sel));
      b.tabIndex = sel ? 0 : -1;
    }
    ui.list.setAttribute('aria-labelledby', 'tab-' + S.tab);
  }

  function renderList() {
    const list = sorted(S.tab);
    const keep = new Map();
    for (const li of ui.items.children) keep.set(Number(li.dataset.id), li);
    const frag = document.createDocumentFragment();
    for (const c of list) {
      let li = keep.get(c.id);
      if (!li) li = el('li');
      li.dataset.id = String(c.id);
      li.replaceChildren(convButton(c));
      frag.appendChild(li);
    }
    /* keep focus on the same conversation button across re-renders */
    const focused = document.activeElement && document.activeElement.closest && document.activeElement.closest('.conv');
    const focusId = focused ? Number(focused.dataset.id) : null;
    ui.items.replaceChildren(frag);
    if (focusId) {
      const b = ui.items.querySelector('button.conv[data-id="' + focusId + '"]');
      if (b) b.focus();
    }
    ui.empty.hidden = list.length > 0;
    if (!list.length) ui.empty.textContent = 'No conversations here.';
    ui.more.hidden = !TABS[S.tab].queries.some((q) => S.cursors.get(q));
  }

  function convButton(c) {
    const name = contactName(c);
    const av = el('span', { class: 'avatar', 'aria-hidden': 'true', text: initials(name) });
    av.style.setProperty('--av', avatarColour(c.contact && c.contact.id));
    const tags = el('div', { class: 'conv-tags' }, [
      el('span', { class: 'status ' + c.status, text: c.status }),
      c.assignee_id ? el('span', { class: 'assignee', text: '→ ' + agentName(c.assignee_id) }) : null,
    ]);
    const b = el('button', {
      class: 'conv' + (S.unread.has(c.id) ? ' unread' : ''), type: 'button',
      'data-id': c.id, 'aria-current': S.current === c.id ? 'true' : null,
      title: fmtFull.format(new Date(c.last_message_at || c.updated_at || Date.now())),
    }, [
      av,
      el('div', { class: 'conv-main' }, [
        el('div', { class: 'conv-top' }, [
          el('span', { class: 'conv-name', text: name }),
          el('time', { class: 'conv-time', text: when(c.last_message_at || c.updated_at) }),
        ]),
        el('div', { class: 'conv-preview', text: c.preview || '' }),
        tags,
      ]),
    ]);
    if (S.unread.has(c.id)) b.setAttribute('aria-label', name + ', unread: ' + (c.preview || ''));
    return b;
  }

  ui.items.addEventListener('click', (e) => {
    const b = e.target.closest('button.conv');
    if (b) openConversation(Number(b.dataset.id));
  });

  ui.more.addEventListener('click', async () => {
    ui.more.disabled = true;
    await loadTab(S.tab, true);
    ui.more.disabled = false;
  });

  /* Tabs: click or arrow keys (the WAI-ARIA tabs pattern). */
  function selectTab(tab, focus) {
    S.tab = tab;
    render();
    if (focus) $('tab-' + tab).focus();
    if (!TABS[tab].queries.every((q) => S.cursors.has(q))) loadTab(tab, false);
  }
  ui.tabs.addEventListener('click', (e) => {
    const b = e.target.closest('[role="tab"]');
    if (b) selectTab(b.dataset.tab, false);
  });
  ui.tabs.addEventListener('keydown', (e) => {
    const order = Object.keys(TABS);
    let i = order.indexOf(S.tab);
    if (e.key === 'ArrowRight') i = (i + 1) % order.length;
    else if (e.key === 'ArrowLeft') i = (i + order.length - 1) % order.length;
    else if (e.key === 'Home') i = 0;
    else if (e.key === 'End') i = order.length - 1;
    else return;
    e.preventDefault();
    selectTab(order[i], true);
  });

  /* ---------------- one conversation ---------------- */

  async function openConversation(id) {
    S.current = id;
    S.unread.delete(id);
    S.shown.clear();
    S.maxMsgId = 0;
    const seq = ++S.loadSeq;
    ui.threadEmpty.hidden = true;
    ui.thread.hidden = false;
    ui.threadError.textContent = '';
    ui.messages.replaceChildren();
    ui.messages.setAttribute('aria-busy', 'true');
    render();
    try {
      if (!S.convs.has(id)) upsertConv(await api('GET', '/api/v1/conversations/' + id));
      renderHead();
      await loadMessages(id, seq);
    } catch (e) {
      if (seq === S.loadSeq) ui.threadError.textContent = e.message;
    } finally {
      if (seq === S.loadSeq) ui.messages.removeAttribute('aria-busy');
    }
    if (seq === S.loadSeq) {
      ui.messages.scrollTop = ui.messages.scrollHeight;
      ui.reply.focus();
    }
  }

  /* Loads the messages after the newest shown, page by page. */
  async function loadMessages(id, seq) {
    for (let page = 0; page < 50; page++) {
      const r = await api('GET', '/api/v1/conversations/' + id + '/messages?limit=500&after=' + S.maxMsgId);
      if (seq !== S.loadSeq) return;
      for (const m of r.messages) addMessage(m, false);
      if (!r.next_after) break;
    }
  }

  function renderHead() {
    const c = S.current && S.convs.get(S.current);
    if (!c) return;
    ui.title.textContent = contactName(c);
    const inbox = S.inboxes.get(c.inbox_id);
    const bits = ['Conversation #' + c.id];
    if (inbox) bits.push('via ' + inbox.name + (inbox.kind && inbox.kind !== inbox.name ? ' (' + inbox.kind + ')' : ''));
    if (c.created_at) bits.push('started ' + fmtFull.format(new Date(c.created_at)));
    if (c.assignee_id) bits.push('assigned to ' + agentName(c.assignee_id));
    if (c.priority) bits.push('priority ' + c.priority);
    if (Array.isArray(c.tags) && c.tags.length) bits.push('tags: ' + c.tags.join(', '));
    ui.meta.textContent = bits.join(' · ');
    ui.status.className = 'status ' + c.status;
    ui.status.textContent = c.status;
    const mine = c.status === 'assigned' && S.me && c.assignee_id === S.me.id;
    ui.assign.hidden = mine;
    ui.assign.disabled = !S.me || !S.me.id;
    ui.unassign.hidden = !mine;
    ui.resolve.disabled = c.status === 'resolved';
  }

  const KIND_LABEL = { bot: 'Assistant', system: 'System' };

  function messageClass(m) {
    const kind = (m.sender && m.sender.kind) || 'system';
    const note = m.annotations && m.annotations.internal === true;
    if (note) return 'msg note';
    return 'msg ' + kind + (m.direction === 'out' ? ' out' : '');
  }

  function senderLabel(m, conv) {
    const kind = (m.sender && m.sender.kind) || 'system';
    const note = m.annotations && m.annotations.internal === true;
    if (kind === 'customer') return contactName(conv);
    if (kind === 'agent') {
      const who = m.sender.id ? agentName(m.sender.id) : 'API';
      const name = who === 'you' ? 'You' : who;
      return note ? 'Internal note · ' + name : name;
    }
    return KIND_LABEL[kind] || kind;
  }

  /* The small line of understanding under a message: what the pipeline found out. */
  function annotationChips(m) {
    const a = m.annotations;
    if (!a || typeof a !== 'object') return null;
    const chips = [];
    const chip = (text, cls) => chips.push(el('span', { class: 'chip' + (cls ? ' ' + cls : ''), text }));
    const kind = m.sender && m.sender.kind;
    if (kind === 'customer') {
      if (typeof a.language === 'string' && a.language) chip('lang: ' + a.language);
      if (a.intent && typeof a.intent === 'object' && a.intent.label) {
        if (a.intent.oos) chip('intent: out of scope' + (a.intent.nearest ? ' (nearest ' + a.intent.nearest + ')' : ''));
        else chip('intent: ' + a.intent.label + (a.intent.confidence !== undefined ? ' ' + pct(a.intent.confidence) : ''));
      }
      if (a.sentiment && typeof a.sentiment === 'object' && a.sentiment.label) {
        const l = String(a.sentiment.label);
        chip('sentiment: ' + l + (a.sentiment.confidence !== undefined ? ' ' + pct(a.sentiment.confidence) : ''),
          /neg|anger|angry|sad|frustr/i.test(l) ? 'neg' : /pos|happy|joy/i.test(l) ? 'pos' : '');
      }
      if (Array.isArray(a.entities)) {
        for (const e of a.entities.slice(0, 4)) {
          if (e && e.type) chip(e.type + (typeof e.value === 'string' ? ': ' + e.value : ''));
        }
      }
      if (Array.isArray(a.pii) && a.pii.length) {
        const types = [...new Set(a.pii.map((p) => p && p.type).filter(Boolean))];
        chip('PII: ' + (types.join(', ') || a.pii.length), 'pii');
      }
    } else if (kind === 'bot') {
      if (typeof a.reason === 'string') chip('reason: ' + a.reason);
      if (typeof a.policy === 'string') chip('policy: ' + a.policy);
      if (typeof a.confidence === 'number') chip('confidence ' + pct(a.confidence));
      if (Array.isArray(a.citations)) {
        for (const c of a.citations.slice(0, 5)) {
          if (!c || typeof c !== 'object') continue;
          const title = String(c.title || c.doc_id || c.link || 'source');
          const href = safeLink(c.link);
          chips.push(href
            ? el('a', { class: 'chip src', href, target: '_blank', rel: 'noopener noreferrer', text: 'source: ' + title })
            : el('span', { class: 'chip src', text: 'source: ' + title }));
        }
      }
    }
    return chips.length ? el('div', { class: 'ann', 'aria-label': 'Annotations' }, chips) : null;
  }

  /* ---- attachments: images and voice notes ----
   * <img>/<audio> cannot send the Authorization header, so the bytes are fetched with the token
   * and shown through an object URL (kept per media hash while the page lives). */
  const mediaUrls = new Map();
  function mediaUrl(sha) {
    if (!mediaUrls.has(sha)) {
      mediaUrls.set(sha, (async () => {
        const res = await fetch('/api/v1/media/' + encodeURIComponent(sha), {
          headers: { authorization: 'Bearer ' + S.token }, cache: 'no-store', credentials: 'omit' });
        if (!res.ok) throw new Error('media ' + res.status);
        return URL.createObjectURL(await res.blob());
      })().catch((e) => { mediaUrls.delete(sha); throw e; }));
    }
    return mediaUrls.get(sha);
  }

  function mediaBlock(m) {
    const parts = Array.isArray(m.parts) ? m.parts : [];
    const media = parts.filter((x) => x && (x.type === 'image' || x.type === 'audio') && /^[0-9a-f]{64}$/.test(String(x.media)));
    if (!media.length) return null;
    const box = el('div', { class: 'media' });
    for (const part of media) {
      const view = part.type === 'image'
        ? el('img', { class: 'media-img', alt: 'Image sent by the customer' })
        : el('audio', { class: 'media-audio', controls: true, preload: 'metadata' });
      const status = el('span', { class: 'media-status', text: 'Loading ' + (part.type === 'image' ? 'image' : 'voice note') + '…' });
      box.appendChild(el('div', { class: 'media-item' }, [view, status]));
      mediaUrl(part.media).then((url) => {
        view.src = url;
        status.remove();
        if (part.type === 'image') {
          view.addEventListener('click', () => window.open(url, '_blank', 'noopener'));
        }
      }, () => { status.textContent = 'The file could not be loaded.'; });
    }
    const a = m.annotations && typeof m.annotations === 'object' ? m.annotations : {};
    if (a.ocr && typeof a.ocr === 'object') {
      const f = a.ocr.fields && typeof a.ocr.fields === 'object' ? a.ocr.fields : {};
      const rows = [];
      for (const k of ['company', 'date', 'address', 'total']) {
        if (typeof f[k] === 'string' && f[k]) rows.push(el('dt', { text: k }), el('dd', { text: f[k] }));
      }
      if (rows.length) box.appendChild(el('dl', { class: 'media-fields', 'aria-label': 'Receipt fields' }, rows));
      const conf = typeof a.ocr.confidence === 'number' ? ' (' + pct(a.ocr.confidence) + ')' : '';
      box.appendChild(el('details', { class: 'media-text' }, [
        el('summary', { text: 'Text in the image' + conf }),
        el('div', { class: 'media-transcript', text: typeof a.ocr.text === 'string' ? a.ocr.text : '' }),
      ]));
    }
    if (a.asr && typeof a.asr === 'object') {
      const conf = typeof a.asr.confidence === 'number' ? ' (' + pct(a.asr.confidence) + ')' : '';
      box.appendChild(el('div', { class: 'media-transcript' }, [
        el('strong', { text: 'Transcript' + conf + ': ' }),
        el('span', { text: typeof a.asr.text === 'string' && a.asr.text ? a.asr.text : '(nothing recognised)' }),
      ]));
    }
    if (typeof a.media_error === 'string') {
      box.appendChild(el('div', { class: 'media-error', text: 'Could not read the attachment: ' + a.media_error }));
    } else if (!a.ocr && !a.asr) {
      box.appendChild(el('div', { class: 'media-status', text: 'Recognising…' }));
    }
    return box;
  }

  function messageItem(m, conv) {
    const when = m.created_at ? new Date(m.created_at) : new Date();
    const li = el('li', { class: messageClass(m), 'data-id': m.id }, [
      el('div', { class: 'msg-who' }, [
        el('span', { text: senderLabel(m, conv) }),
        el('time', { datetime: when.toISOString(), title: fmtFull.format(when), text: fmtTime.format(when) }),
      ]),
      el('div', { class: 'bubble', text: typeof m.text === 'string' ? m.text : '' }),
    ]);
    const media = mediaBlock(m);
    if (media) li.appendChild(media);
    const ann = annotationChips(m);
    if (ann) li.appendChild(ann);
    return li;
  }

  function insertOrdered(li, id) {
    let before = null;
    for (let n = ui.messages.lastElementChild; n; n = n.previousElementSibling) {
      const nid = Number(n.dataset.id);
      if (!n.dataset.id) continue;
      if (nid < id) break;
      before = n;
    }
    ui.messages.insertBefore(li, before);
  }

  function addMessage(m, live) {
    if (!m || typeof m.id !== 'number' || m.conversation_id !== S.current) return;
    if (S.shown.has(m.id)) return;
    const conv = S.convs.get(m.conversation_id);
    const log = ui.messages;
    const near = log.scrollHeight - log.scrollTop - log.clientHeight < 120;
    const li = messageItem(m, conv);
    S.shown.set(m.id, { li, m });
    if (m.id > S.maxMsgId) S.maxMsgId = m.id;
    insertOrdered(li, m.id);
    if (!live || near || (m.sender && m.sender.kind === 'agent' && m.sender.id === S.me.id)) log.scrollTop = log.scrollHeight;
  }

  function annotate(m) {
    const item = S.shown.get(m.id);
    if (!item) return;
    const fresh = messageItem(m, S.convs.get(m.conversation_id));
    item.li.replaceWith(fresh);
    S.shown.set(m.id, { li: fresh, m });
  }

  async function act(button, fn) {
    button.disabled = true;
    ui.threadError.textContent = '';
    try {
      upsertConv(await fn());
      render();
    } catch (e) {
      ui.threadError.textContent = e.message;
    } finally {
      button.disabled = false;
      renderHead();
    }
  }

  ui.assign.addEventListener('click', () => {
    const id = S.current;
    act(ui.assign, () => api('POST', '/api/v1/conversations/' + id + '/assign', { agent_id: 'me' }));
  });
  ui.unassign.addEventListener('click', () => {
    const id = S.current;
    act(ui.unassign, () => api('POST', '/api/v1/conversations/' + id + '/assign', { agent_id: null }));
  });
  ui.resolve.addEventListener('click', () => {
    const id = S.current;
    act(ui.resolve, () => api('POST', '/api/v1/conversations/' + id + '/resolve'));
  });

  /* ---------------- replying ---------------- */

  async function sendReply() {
    const text = ui.reply.value.trim();
    const id = S.current;
    if (!text || !id) return;
    const internal = ui.internal.checked;
    const body = { text, message_id: 'c-' + randomId() };
    if (internal) body.internal = true;
    ui.send.disabled = true;
    ui.threadError.textContent = '';
    /* One message_id for all attempts: a retry after a lost answer is refused as a duplicate
     * (409) instead of being stored twice. */
    for (let attempt = 1; ; attempt++) {
      try {
        const m = await api('POST', '/api/v1/conversations/' + id + '/messages', body);
        ui.reply.value = '';
        ui.internal.checked = false;
        ui.composer.classList.remove('note-mode');
        addMessage(m, true);
        break;
      } catch (e) {
        if (e.status === 409 && attempt > 1) { ui.reply.value = ''; break; } /* the first try got through */
        if ((e.status === 0 || e.status === 429 || e.status >= 500) && attempt < 4) {
          await new Promise((r) => setTimeout(r, 500 * Math.pow(2, attempt)));
          continue;
        }
        ui.threadError.textContent = 'Not sent: ' + e.message;
        break;
      }
    }
    ui.send.disabled = false;
    ui.reply.focus();
  }

  ui.composer.addEventListener('submit', (e) => { e.preventDefault(); sendReply(); });
  ui.reply.addEventListener('keydown', (e) => {
    if (e.key === 'Enter' && !e.shiftKey && !e.isComposing) { e.preventDefault(); sendReply(); }
  });
  ui.internal.addEventListener('change', () => {
    ui.composer.classList.toggle('note-mode', ui.internal.checked);
    ui.reply.placeholder = ui.internal.checked ? 'Write a note for your colleagues…' : 'Write a reply…';
  });

  /* ---------------- live events ---------------- */

  function setConn(live, text) {
    ui.conn.classList.toggle('live', live);
    ui.conn.textContent = text || (live ? 'Live' : 'Connecting…');
  }

  function closeSocket() {
    clearTimeout(S.reconnectTimer);
    clearInterval(S.pingTimer);
    if (S.ws) {
      const ws = S.ws;
      S.ws = null;
      ws.onclose = null;
      ws.close();
    }
    S.wsLive = false;
  }

  function connect() {
    clearTimeout(S.reconnectTimer);
    if (S.ws || !S.token) return;
    const url = location.origin.replace(/^http/, 'ws') + '/ws/agent?token=' + encodeURIComponent(S.token) +
      '&since=' + S.lastSeq;
    let ws;
    try { ws = new WebSocket(url); } catch (e) { scheduleReconnect(); return; }
    S.ws = ws;
    let wasLive = false;
    ws.onmessage = (ev) => {
      let e;
      try { e = JSON.parse(ev.data); } catch (err) { return; }
      if (typeof e.seq === 'number' && e.seq > S.lastSeq) S.lastSeq = e.seq;
      if (e.type === 'ready') {
        wasLive = true;
        S.wsLive = true;
        S.backoff = 0;
        setConn(true);
        clearInterval(S.pingTimer);
        S.pingTimer = setInterval(() => { if (ws.readyState === WebSocket.OPEN) ws.send('{"type":"ping"}'); }, PING_MS);
        if (S.everLive) resync();
        S.everLive = true;
      } else {
        onEvent(e);
      }
    };
    ws.onclose = () => {
      if (S.ws !== ws) return;
      S.ws = null;
      S.wsLive = false;
      clearInterval(S.pingTimer);
      if (!wasLive && S.token) {
        /* refused before "ready": perhaps the session expired; /me tells (401 logs out) */
        api('GET', '/api/v1/me').catch(() => {});
      }
      if (S.token) scheduleReconnect();
    };
    ws.onerror = () => { /* onclose follows */ };
  }

  function scheduleReconnect() {
    clearTimeout(S.reconnectTimer);
    setConn(false, 'Reconnecting…');
    const base = Math.min(30000, 500 * Math.pow(2, S.backoff++));
    S.reconnectTimer = setTimeout(connect, base / 2 + Math.random() * base / 2);
  }

  window.addEventListener('online', () => { if (!S.ws && S.token) { S.backoff = 0; connect(); } });

  /* After a reconnect: the server replayed what we missed; reload anyway in case it was more
   * than its resume window holds. */
  async function resync() {
    const tabs = new Set(['open', S.tab]);
    for (const t of tabs) await loadTab(t, false);
    if (S.current) {
      try { await loadMessages(S.current, S.loadSeq); } catch (e) { /* shown on the next action */ }
    }
  }

  function onEvent(e) {
    if (e.type === 'message.created' && e.message) {
      const isNew = e.conversation && !S.convs.has(e.conversation.id);
      upsertConv(e.conversation);
      const m = e.message;
      if (m.conversation_id === S.current) {
        addMessage(m, true);
        if (document.hidden && m.sender && m.sender.kind === 'customer') S.unread.add(m.conversation_id);
      } else if (m.sender && m.sender.kind === 'customer') {
        S.unread.add(m.conversation_id);
        announce((isNew ? 'New conversation from ' : 'New message from ') + contactName(S.convs.get(m.conversation_id)));
      }
      scheduleRender();
    } else if (e.type === 'message.annotated' && e.message) {
      upsertConv(e.conversation);
      if (e.message.conversation_id === S.current) annotate(e.message);
    } else if (e.type === 'conversation.updated' && e.conversation) {
      upsertConv(e.conversation);
      scheduleRender();
    }
  }

  document.addEventListener('visibilitychange', () => {
    if (!document.hidden && S.current && S.unread.delete(S.current)) scheduleRender();
  });

  /* Relative times ("3 min") age: refresh the list now and then. */
  setInterval(() => { if (S.token && !document.hidden) scheduleRender(); }, 30000);

  /* ---------------- go ---------------- */

  (async () => {
    try { S.token = sessionStorage.getItem(TOKEN_KEY); } catch (e) { S.token = null; }
    if (!S.token) { showLogin(''); return; }
    try {
      await boot();
    } catch (e) {
      if (S.token) showLogin(e.message);
    }
  })();
})();
