// SPDX-License-Identifier: MIT
/*
 * The agent console (/console). An agent logs in (POST /api/v1/auth/login; the session token is
 * kept in sessionStorage, so it ends with the tab), sees a live list of conversations
 * (GET /api/v1/conversations, kept current by the WebSocket /ws/agent events message.created,
 * message.annotated and conversation.updated), filters it (all open, bot, queued, mine,
 * resolved), opens a conversation (GET .../messages), replies or writes an internal note
 * (POST .../messages, POST .../notes), accepts it (POST .../assign) and resolves it with a
 * reason (POST .../resolve).
 *
 * The workspace around a conversation: the Queue tab follows GET /api/v1/queue (priority
 * order; the status filter when that route is missing); a customer-360 side panel (contact,
 * channels, past conversations, the hand-off summary of GET .../summary); suggested replies
 * from the knowledge base with their citations (GET .../suggestions; one click inserts one into
 * the composer, where it can be edited before sending); canned replies on "/" in the composer
 * (type to filter, arrows, Enter inserts); SLA timers (GET /api/v1/settings/sla) with breach
 * highlighting; a collision indicator (the socket sends "viewing"/"typing" and shows other
 * agents' agent.activity events until they expire); keyboard navigation (j/k, Enter, r, n, a,
 * 1-3, Esc, ?).
 *
 * Teaching the knowledge base: every customer message has an "Answered by KB entry…" action that
 * opens a small dialog to search the KB (GET /api/v1/kb/search) and pick the FAQ or catalogue
 * entry that answers it; picking one proposes the message's wording for that entry
 * (POST /api/v1/kb/wordings). Sending a reply that still holds an inserted suggestion proposes
 * that suggestion's question for its cited entry the same way ("proposed to the knowledge
 * base"). Supervisors review proposals on /console/kb-gaps.
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
    activity: $('activity'), sla: $('sla'), reason: $('resolve-reason'), reasonOther: $('resolve-other'),
    suggest: $('suggest'), suggestList: $('suggest-list'), suggestState: $('suggest-state'), canned: $('canned'),
    side: $('side'), sideEmpty: $('side-empty'), sideBody: $('side-body'), sideName: $('side-name'),
    sideAttrs: $('side-attrs'), sideSummary: $('side-summary'), sideChannels: $('side-channels'), sidePast: $('side-past'),
    help: $('help'), helpBtn: $('help-btn'), helpClose: $('help-close'),
    teach: $('teach'), teachWording: $('teach-wording'), teachForm: $('teach-form'), teachQ: $('teach-q'),
    teachHits: $('teach-hits'), teachMsg: $('teach-msg'), teachClose: $('teach-close'), teachStatus: $('teach-status'),
  };

  /* The tabs, each a predicate over conversations and the server queries that fill it. */
  const TABS = {
    open: { label: 'All open', test: (c) => c.status !== 'resolved',
      queries: ['status=bot', 'status=queued', 'status=assigned'] },
    bot: { label: 'Bot', test: (c) => c.status === 'bot', queries: ['status=bot'] },
    queued: { label: 'Queue', test: (c) => c.status === 'queued', queries: ['status=queued'], queue: true },
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
    queueRank: new Map(),   /* conversation id -> position in the server's queue order */
    queueApi: true,         /* false once GET /api/v1/queue turned out to be missing */
    canned: [],             /* the tenant's canned replies */
    cannedSel: 0, cannedMatches: [],
    sla: { first_response_s: 300, resolution_s: 86400 },
    notesShown: new Map(),  /* note id -> li in the open conversation */
    maxNoteId: 0,
    activity: new Map(),    /* conversation id -> Map(agent id -> {activity, until}) */
    suggestions: [],
    viewTimer: 0, lastTyping: 0,
    firstAgentReply: new Map(), /* conversation id -> ms of the first agent reply seen */
    inserted: null,         /* the suggestion last inserted into the composer: {conv, text, message_id, question, entry, title} */
    teachFor: null,         /* the customer message the teach dialog is open for: {id, text, opener} */
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
    loadCanned();
    api('GET', '/api/v1/settings/sla').then((v) => { S.sla = v; scheduleRender(); }, () => {});
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

  /* The Queue tab in the router's order (priority, then waiting time). */
  async function loadQueue() {
    if (!S.queueApi) return false;
    try {
      const r = await api('GET', '/api/v1/queue?limit=200');
      S.queueRank.clear();
      (r.items || []).forEach((c, i) => { upsertConv(c); S.queueRank.set(c.id, i); });
      S.cursors.set('queue', null);
      return true;
    } catch (e) {
      if (e.status === 404 || e.status === 405) { S.queueApi = false; return false; }
      throw e;
    }
  }
  let queueTimer = 0;
  function reloadQueueSoon() {
    clearTimeout(queueTimer);
    queueTimer = setTimeout(() => { loadQueue().then(scheduleRender, () => {}); }, 400);
  }

  async function loadTab(tab, more) {
    const qs = TABS[tab].queries;
    if (TABS[tab].queue && !more) {
      try {
        if (await loadQueue()) { scheduleRender(); return; }
      } catch (e) {
        if (e.status !== 401) setListError(e.message);
        return;
      }
    }
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
    const list = [...S.convs.values()].filter(t.test);
    if (t.queue) {
      /* the server's queue order; newcomers since the last load wait at the end, oldest first */
      const rank = (c) => (S.queueRank.has(c.id) ? S.queueRank.get(c.id) : 1e9);
      return list.sort((a, b) => rank(a) - rank(b) || (a.queued_at || a.updated_at || 0) - (b.queued_at || b.updated_at || 0) || a.id - b.id);
    }
    return list.sort((a, b) => (b.last_message_at || b.updated_at || 0) - (a.last_message_at || a.updated_at || 0) || b.id - a.id);
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
    const watchers = othersOn(c.id);
    const tags = el('div', { class: 'conv-tags' }, [
      el('span', { class: 'status ' + c.status, text: c.status }),
      c.assignee_id ? el('span', { class: 'assignee', text: '→ ' + agentName(c.assignee_id) }) : null,
      ...slaChips(c, true),
      watchers.length ? el('span', { class: 'watchers', text: '👁 ' + watchers.map((w) => agentName(w.agent)).join(', ') }) : null,
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
    if (S.current && S.current !== id) sendActivity('left', S.current);
    S.current = id;
    S.unread.delete(id);
    S.shown.clear();
    S.notesShown.clear();
    S.maxMsgId = 0;
    S.maxNoteId = 0;
    closeCanned();
    ui.suggestList.replaceChildren();
    ui.suggestState.textContent = '';
    S.inserted = null;
    setTeachStatus('');
    if (!ui.teach.hidden) closeTeach();
    startViewing(id);
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
      loadSide(id, seq);
      await Promise.all([loadMessages(id, seq), loadNotes(id, seq)]);
      loadSuggestions(id, seq);
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
    ui.assign.disabled = !S.me || !S.me.id || c.status === 'resolved';
    ui.assign.textContent = c.status === 'queued' ? 'Accept (assign to me)' : 'Assign to me';
    ui.unassign.hidden = !mine;
    ui.resolve.disabled = c.status === 'resolved';
    ui.reason.disabled = c.status === 'resolved';
    if (c.resolve_reason) bits.push('resolved: ' + c.resolve_reason);
    ui.meta.textContent = bits.join(' · ');
    ui.sla.replaceChildren(...slaChips(c, false));
    const others = othersOn(c.id);
    ui.activity.textContent = others.map((w) => agentName(w.agent) + (w.activity === 'typing' ? ' is typing…' : ' is viewing')).join(' · ');
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
    const li = el('li', { class: messageClass(m), 'data-id': m.id, 'data-ts': m.created_at || Date.now() }, [
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
    if (m.sender && m.sender.kind === 'customer' && typeof m.text === 'string' && m.text.trim()) {
      li.appendChild(el('button', { class: 'btn ghost teach-btn', type: 'button', 'data-teach': m.id,
        'aria-haspopup': 'dialog', title: 'Propose this question to the knowledge base for the entry that answers it',
        text: 'Answered by KB entry…' }));
    }
    return li;
  }

  /* Messages and notes in time order (ties by id). */
  function insertOrdered(li) {
    const ts = Number(li.dataset.ts) || 0, id = Number(li.dataset.id || li.dataset.note) || 0;
    let before = null;
    for (let n = ui.messages.lastElementChild; n; n = n.previousElementSibling) {
      if (!n.dataset.ts) continue;
      const nts = Number(n.dataset.ts), nid = Number(n.dataset.id || n.dataset.note) || 0;
      if (nts < ts || (nts === ts && nid < id)) break;
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
    noteAgentReply(m);
    insertOrdered(li);
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
    const reason = ui.reason.value === 'other' ? ui.reasonOther.value.trim() : ui.reason.value;
    act(ui.resolve, async () => {
      const c = await api('POST', '/api/v1/conversations/' + id + '/resolve', reason ? { reason } : {});
      ui.reason.value = '';
      ui.reasonOther.value = '';
      ui.reasonOther.hidden = true;
      return c;
    });
  });
  ui.reason.addEventListener('change', () => {
    ui.reasonOther.hidden = ui.reason.value !== 'other';
    if (!ui.reasonOther.hidden) ui.reasonOther.focus();
  });

  /* ---------------- replying ---------------- */

  async function sendReply() {
    const text = ui.reply.value.trim();
    const id = S.current;
    if (!text || !id) return;
    const internal = ui.internal.checked;
    const body = { text, message_id: 'c-' + randomId() };
    ui.send.disabled = true;
    if (internal) {
      /* an internal note: stored apart from the messages, never sent to the customer */
      try {
        const n = await api('POST', '/api/v1/conversations/' + id + '/notes', { text });
        ui.reply.value = '';
        ui.internal.checked = false;
        ui.composer.classList.remove('note-mode');
        ui.reply.placeholder = 'Write a reply… (/ for canned replies)';
        addNote(n);
      } catch (e) {
        ui.threadError.textContent = 'Note not saved: ' + e.message;
      }
      ui.send.disabled = false;
      ui.reply.focus();
      return;
    }
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
        proposeFromSuggestion(id, text);
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
    if (!ui.canned.hidden && cannedKey(e)) return;
    if (e.key === 'Enter' && !e.shiftKey && !e.isComposing) { e.preventDefault(); sendReply(); }
    else if (e.key === 'Escape') { e.preventDefault(); ui.reply.blur(); focusList(); }
  });
  ui.reply.addEventListener('input', () => {
    updateCanned();
    if (ui.reply.value && !ui.internal.checked && S.current && Date.now() - S.lastTyping > 2000) {
      S.lastTyping = Date.now();
      sendActivity('typing', S.current);
    }
  });
  ui.internal.addEventListener('change', () => {
    ui.composer.classList.toggle('note-mode', ui.internal.checked);
    ui.reply.placeholder = ui.internal.checked ? 'Write a note for your colleagues…' : 'Write a reply… (/ for canned replies)';
  });

  /* ---------------- notes ---------------- */

  function noteItem(n) {
    const when = new Date(n.created_at || Date.now());
    const who = n.agent_id ? agentName(n.agent_id) : 'API';
    return el('li', { class: 'msg note', 'data-note': n.id, 'data-ts': n.created_at || Date.now() }, [
      el('div', { class: 'msg-who' }, [
        el('span', { text: 'Internal note · ' + (who === 'you' ? 'You' : who) }),
        el('time', { datetime: when.toISOString(), title: fmtFull.format(when), text: fmtTime.format(when) }),
      ]),
      el('div', { class: 'bubble', text: typeof n.text === 'string' ? n.text : '' }),
    ]);
  }

  function addNote(n) {
    if (!n || typeof n.id !== 'number' || n.conversation_id !== S.current || S.notesShown.has(n.id)) return;
    const li = noteItem(n);
    S.notesShown.set(n.id, li);
    if (n.id > S.maxNoteId) S.maxNoteId = n.id;
    insertOrdered(li);
    ui.messages.scrollTop = ui.messages.scrollHeight;
  }

  async function loadNotes(id, seq) {
    for (let page = 0; page < 20; page++) {
      const r = await api('GET', '/api/v1/conversations/' + id + '/notes?limit=500&after=' + S.maxNoteId);
      if (seq !== S.loadSeq) return;
      for (const n of r.notes) addNote(n);
      if (!r.next_after) break;
    }
  }

  /* ---------------- customer 360 ---------------- */

  function attrValue(v) {
    if (typeof v === 'string') return v;
    if (typeof v === 'number' || typeof v === 'boolean') return String(v);
    return null;
  }

  async function loadSide(id, seq) {
    const c = S.convs.get(id);
    if (!c || !c.contact) return;
    ui.sideEmpty.hidden = true;
    ui.sideBody.hidden = false;
    ui.sideName.replaceChildren(contactName(c));
    ui.sideAttrs.replaceChildren();
    ui.sideChannels.replaceChildren();
    ui.sidePast.replaceChildren();
    ui.sideSummary.replaceChildren(el('p', { class: 'muted', text: 'Loading…' }));
    const [contact, past, summary] = await Promise.all([
      api('GET', '/api/v1/contacts/' + c.contact.id).catch(() => null),
      api('GET', '/api/v1/conversations?limit=20&contact=' + c.contact.id).catch(() => null),
      api('GET', '/api/v1/conversations/' + id + '/summary').catch(() => null),
    ]);
    if (seq !== S.loadSeq) return;
    if (contact) {
      const attrs = contact.attributes && typeof contact.attributes === 'object' ? contact.attributes : {};
      if (attrs.vip === true || attrs.vip === 'true') ui.sideName.appendChild(el('span', { class: 'vip', text: 'VIP' }));
      const rows = [];
      for (const k of Object.keys(attrs).slice(0, 20)) {
        const v = attrValue(attrs[k]);
        if (v !== null) rows.push(el('dt', { text: k }), el('dd', { text: v }));
      }
      if (contact.created_at) rows.push(el('dt', { text: 'customer since' }), el('dd', { text: fmtFull.format(new Date(contact.created_at)) }));
      ui.sideAttrs.replaceChildren(...rows);
      for (const idn of contact.identities || []) {
        const inbox = S.inboxes.get(idn.inbox_id);
        ui.sideChannels.appendChild(el('li', {}, [
          el('strong', { text: inbox ? inbox.name + (inbox.kind && inbox.kind !== inbox.name ? ' (' + inbox.kind + ')' : '') : 'inbox #' + idn.inbox_id }),
          el('span', { class: 'muted', text: idn.external_id }),
        ]));
      }
    }
    const others = ((past && past.conversations) || []).filter((x) => x.id !== id);
    if (!others.length) ui.sidePast.appendChild(el('li', { class: 'muted', text: 'No other conversations.' }));
    for (const p of others) {
      upsertConv(p);
      const a = el('a', { href: '#conversation-' + p.id, 'data-open': p.id, text: '#' + p.id + ' · ' + p.status + ' · ' + when(p.last_message_at || p.updated_at) });
      ui.sidePast.appendChild(el('li', {}, [a, el('span', { class: 'muted', text: p.preview || '' })]));
    }
    renderSummary(summary);
  }

  function renderSummary(sm) {
    if (!sm || typeof sm !== 'object') {
      ui.sideSummary.replaceChildren(el('p', { class: 'muted', text: 'No hand-off summary.' }));
      return;
    }
    const parts = [];
    if (typeof sm.text === 'string' && sm.text) parts.push(el('p', { class: 'summary-text', text: sm.text }));
    const chips = [];
    const chip = (t, cls) => chips.push(el('span', { class: 'chip' + (cls ? ' ' + cls : ''), text: t }));
    if (sm.handoff && typeof sm.handoff.why === 'string') chip('why: ' + sm.handoff.why);
    if (sm.intent && sm.intent.label) chip('intent: ' + sm.intent.label + (typeof sm.intent.confidence === 'number' ? ' ' + pct(sm.intent.confidence) : ''));
    for (const e of (Array.isArray(sm.entities) ? sm.entities : []).slice(0, 6)) if (e && e.type) chip(e.type + (typeof e.value === 'string' ? ': ' + e.value : ''));
    if (sm.sentiment && typeof sm.sentiment.direction === 'string') chip('sentiment ' + sm.sentiment.direction, sm.sentiment.direction === 'worsening' ? 'neg' : '');
    if (typeof sm.language === 'string' && sm.language) chip('lang: ' + sm.language);
    for (const b of (Array.isArray(sm.bot_answers) ? sm.bot_answers : []).slice(0, 3)) {
      for (const src of (Array.isArray(b.sources) ? b.sources : []).slice(0, 2)) chips.push(citationChip(src, 'bot cited: '));
    }
    if (chips.length) parts.push(el('div', { class: 'ann' }, chips));
    ui.sideSummary.replaceChildren(...(parts.length ? parts : [el('p', { class: 'muted', text: 'Nothing yet.' })]));
  }

  ui.sidePast.addEventListener('click', (e) => {
    const a = e.target.closest('a[data-open]');
    if (!a) return;
    e.preventDefault();
    openConversation(Number(a.dataset.open));
  });

  /* ---------------- suggested replies ---------------- */

  function citationChip(c, prefix) {
    const title = String((c && (c.title || c.doc_id || c.link)) || 'source');
    const href = safeLink(c && c.link);
    return href
      ? el('a', { class: 'chip src', href, target: '_blank', rel: 'noopener noreferrer', text: (prefix || 'source: ') + title })
      : el('span', { class: 'chip src', text: (prefix || 'source: ') + title });
  }

  async function loadSuggestions(id, seq) {
    ui.suggestState.textContent = '(looking…)';
    let r;
    try {
      r = await api('GET', '/api/v1/conversations/' + id + '/suggestions');
    } catch (e) {
      if (seq === S.loadSeq) ui.suggestState.textContent = '(' + e.message + ')';
      return;
    }
    if (seq !== S.loadSeq) return;
    S.suggestions = Array.isArray(r.suggestions) ? r.suggestions : [];
    ui.suggestList.replaceChildren();
    if (r.knowledge_base === 'off') ui.suggestState.textContent = '(the knowledge base is off)';
    else if (!S.suggestions.length) ui.suggestState.textContent = '— no supported answer to the latest question';
    else ui.suggestState.textContent = '';
    S.suggestions.slice(0, 3).forEach((sg, i) => {
      const cites = (Array.isArray(sg.citations) ? sg.citations : []).slice(0, 3).map((c) => citationChip(c));
      ui.suggestList.appendChild(el('li', { class: 'suggestion' }, [
        el('div', { class: 'suggestion-text', text: String(sg.text || '') }),
        el('button', { class: 'btn secondary', type: 'button', 'data-i': i, title: 'Insert into the composer to edit and send (' + (i + 1) + ')', text: 'Insert' }),
        el('div', { class: 'ann' }, [
          el('span', { class: 'chip', text: 'confidence ' + pct(sg.confidence) }),
          sg.question && sg.question.text ? el('span', { class: 'chip', text: 'for: ' + String(sg.question.text).slice(0, 60) }) : null,
          ...cites,
        ]),
      ]));
    });
    if (!S.suggestions.length && Array.isArray(r.related) && r.related.length) {
      ui.suggestList.appendChild(el('li', { class: 'ann' }, [el('span', { class: 'muted', text: 'Related reading: ' }),
        ...r.related.slice(0, 3).map((c) => citationChip(c, ''))]));
    }
  }

  let suggestTimer = 0;
  function loadSuggestionsSoon() {
    clearTimeout(suggestTimer);
    const id = S.current, seq = S.loadSeq;
    suggestTimer = setTimeout(() => { if (id === S.current) loadSuggestions(id, seq); }, 600);
  }

  function insertIntoComposer(text) {
    const cur = ui.reply.value.replace(/\s+$/, '');
    ui.reply.value = cur ? cur + '\n\n' + text : text;
    ui.reply.focus();
    ui.reply.setSelectionRange(ui.reply.value.length, ui.reply.value.length);
  }

  /* Inserts suggestion `sg` and remembers it: sending it proposes its question to the KB. */
  function insertSuggestion(sg) {
    const text = String(sg.text || '');
    insertIntoComposer(text);
    const cite = Array.isArray(sg.citations) && sg.citations[0];
    const q = sg.question && typeof sg.question === 'object' ? sg.question : null;
    S.inserted = cite && cite.doc_id && q && typeof q.message_id === 'number'
      ? { conv: S.current, text, message_id: q.message_id, question: String(q.text || ''),
        entry: String(cite.doc_id), title: String(cite.title || cite.doc_id) }
      : null;
  }

  ui.suggestList.addEventListener('click', (e) => {
    const b = e.target.closest('button[data-i]');
    if (!b) return;
    const sg = S.suggestions[Number(b.dataset.i)];
    if (sg) insertSuggestion(sg);
  });

  /* ---------------- teaching the knowledge base ---------------- */

  function setTeachStatus(text, isError) {
    ui.teachStatus.textContent = text;
    ui.teachStatus.classList.toggle('error', !!isError);
    if (text) announce(text);
  }

  /* POST /api/v1/kb/wordings; returns [message, isError, proposal or null]. */
  async function propose(messageId, entry, title) {
    try {
      const w = await api('POST', '/api/v1/kb/wordings', { message_id: messageId, entry });
      const name = (w && w.entry_title) || title || entry;
      if (w && w.created === false) {
        return ['Already proposed to the knowledge base for “' + name + '” (' + w.status + ').', false, w];
      }
      return ['Proposed to the knowledge base: “' + (w ? w.wording : '') + '” → “' + name + '”. A supervisor will review it.', false, w];
    } catch (e) {
      if (e.status === 409) return ['“' + (title || entry) + '” already has this wording.', false, null];
      return ['Not proposed: ' + e.message, true, null];
    }
  }

  const fold = (t) => String(t || '').replace(/\s+/g, ' ').trim().toLowerCase();

  /* After a reply is sent: when it still holds the inserted suggestion, the customer's question
   * is proposed for the entry the suggestion cited -- unless that entry cannot learn wordings
   * (an article section) or already has this one: an automatic proposal then says nothing. */
  async function proposeFromSuggestion(conv, sent) {
    const ins = S.inserted;
    S.inserted = null;
    if (!ins || ins.conv !== conv) return;
    const head = ins.text.trim().slice(0, 40);
    if (!head || !sent.includes(head)) return; /* the agent replaced the suggestion */
    let entry;
    try {
      entry = await api('GET', '/api/v1/kb/entries/' + encodeURIComponent(ins.entry));
    } catch (e) {
      return;
    }
    if (!entry || (entry.kind !== 'faq' && entry.kind !== 'product') || entry.parent) return;
    const known = new Set([entry.title, ...(Array.isArray(entry.questions) ? entry.questions : [])].map(fold));
    if (known.has(fold(ins.question))) return;
    const [msg, isError] = await propose(ins.message_id, ins.entry, entry.title || ins.title);
    if (conv === S.current) setTeachStatus(msg, isError);
  }

  function teachFocusables() {
    return [...ui.teach.querySelectorAll('input, button:not([disabled])')].filter((x) => x.offsetParent !== null);
  }

  function openTeach(messageId, opener) {
    const item = S.shown.get(messageId);
    if (!item) return;
    const text = String(item.m.text || '');
    S.teachFor = { id: messageId, text, opener };
    ui.teachWording.textContent = text;
    ui.teachQ.value = text.slice(0, 1000);
    ui.teachHits.replaceChildren();
    ui.teachMsg.textContent = '';
    ui.teachMsg.classList.remove('error');
    ui.teach.hidden = false;
    ui.teachQ.focus();
    ui.teachQ.select();
    teachSearch();
  }

  function closeTeach() {
    const opener = S.teachFor && S.teachFor.opener;
    ui.teach.hidden = true;
    S.teachFor = null;
    if (opener && opener.isConnected) opener.focus();
    else if (S.current) ui.reply.focus();
  }

  function teachNote(text, isError) {
    ui.teachMsg.textContent = text;
    ui.teachMsg.classList.toggle('error', !!isError);
  }

  let teachSeq = 0;
  async function teachSearch() {
    const q = ui.teachQ.value.trim();
    const seq = ++teachSeq;
    if (!q) { ui.teachHits.replaceChildren(); teachNote('Type a few words to search.'); return; }
    teachNote('Searching…');
    let r;
    try {
      r = await api('GET', '/api/v1/kb/search?k=12&q=' + encodeURIComponent(q));
    } catch (e) {
      if (seq === teachSeq) teachNote(e.status === 501 ? 'The knowledge base is off.' : e.message, true);
      return;
    }
    if (seq !== teachSeq || ui.teach.hidden) return;
    /* only FAQ and catalogue entries learn wordings (an article section is part of an article) */
    const hits = (Array.isArray(r.hits) ? r.hits : []).filter((h) => h && (h.kind === 'faq' || h.kind === 'product'));
    ui.teachHits.replaceChildren(...hits.slice(0, 8).map((h) => el('li', null, [
      el('button', { class: 'teach-hit', type: 'button', 'data-entry': h.id, 'data-title': h.title || h.id }, [
        el('span', { text: String(h.title || h.id) }), ' ',
        el('span', { class: 'muted', text: '[' + h.id + ' · ' + (h.kind === 'faq' ? 'FAQ' : 'catalogue') + ']' }),
      ]),
    ])));
    teachNote(hits.length ? 'Choose the entry that answers the question (Tab, then Enter).'
      : 'No FAQ or catalogue entry found. Try other words.');
  }

  ui.messages.addEventListener('click', (e) => {
    const b = e.target.closest('button[data-teach]');
    if (b) openTeach(Number(b.dataset.teach), b);
  });
  ui.teachForm.addEventListener('submit', (e) => { e.preventDefault(); teachSearch(); });
  ui.teachClose.addEventListener('click', closeTeach);
  ui.teach.addEventListener('click', (e) => { if (e.target === ui.teach) closeTeach(); });
  ui.teachHits.addEventListener('click', async (e) => {
    const b = e.target.closest('button[data-entry]');
    if (!b || !S.teachFor) return;
    const forId = S.teachFor.id;
    b.disabled = true;
    teachNote('Proposing…');
    const [msg, isError] = await propose(forId, b.dataset.entry, b.dataset.title);
    b.disabled = false;
    if (!S.teachFor || S.teachFor.id !== forId) return;
    if (isError) { teachNote(msg, true); return; }
    closeTeach();
    setTeachStatus(msg, false);
  });
  ui.teach.addEventListener('keydown', (e) => {
    if (e.key === 'Escape') { e.preventDefault(); e.stopPropagation(); closeTeach(); return; }
    if (e.key !== 'Tab') return;
    const f = teachFocusables();
    if (!f.length) return;
    const i = f.indexOf(document.activeElement);
    if (e.shiftKey && i <= 0) { e.preventDefault(); f[f.length - 1].focus(); }
    else if (!e.shiftKey && i === f.length - 1) { e.preventDefault(); f[0].focus(); }
  });

  /* ---------------- canned replies ("/" in the composer) ---------------- */

  async function loadCanned() {
    try {
      const r = await api('GET', '/api/v1/canned-replies');
      S.canned = Array.isArray(r.canned_replies) ? r.canned_replies : [];
    } catch (e) { /* the composer works without them */ }
  }

  /* The "/word" just before the caret, or null. */
  function cannedQuery() {
    const v = ui.reply.value, at = ui.reply.selectionStart;
    const m = /(^|\s)\/([\w-]*)$/.exec(v.slice(0, at));
    return m ? { q: m[2].toLowerCase(), start: at - m[2].length - 1, end: at } : null;
  }

  function updateCanned() {
    const cq = cannedQuery();
    if (!cq || !S.canned.length) { closeCanned(); return; }
    const matches = S.canned.filter((c) => c.shortcut.includes(cq.q) || String(c.title).toLowerCase().includes(cq.q)).slice(0, 8);
    S.cannedMatches = matches;
    if (!matches.length) { closeCanned(); return; }
    if (S.cannedSel >= matches.length) S.cannedSel = 0;
    ui.canned.replaceChildren(...matches.map((c, i) => el('li', {
      role: 'option', id: 'canned-' + c.id, 'data-i': i, 'aria-selected': i === S.cannedSel ? 'true' : 'false',
    }, [el('span', { class: 'sc', text: '/' + c.shortcut + ' · ' + c.title }), el('span', { class: 'tx', text: c.text })])));
    ui.canned.hidden = false;
    ui.reply.setAttribute('aria-expanded', 'true');
    ui.reply.setAttribute('aria-activedescendant', 'canned-' + matches[S.cannedSel].id);
  }

  function closeCanned() {
    ui.canned.hidden = true;
    S.cannedSel = 0;
    ui.reply.setAttribute('aria-expanded', 'false');
    ui.reply.removeAttribute('aria-activedescendant');
  }

  function pickCanned(i) {
    const c = S.cannedMatches[i], cq = cannedQuery();
    if (!c || !cq) return;
    const v = ui.reply.value;
    ui.reply.value = v.slice(0, cq.start) + c.text + v.slice(cq.end);
    const pos = cq.start + c.text.length;
    ui.reply.setSelectionRange(pos, pos);
    closeCanned();
    ui.reply.focus();
  }

  /* Keys while the list is open; true when handled. */
  function cannedKey(e) {
    const n = S.cannedMatches.length;
    if (e.key === 'ArrowDown' || e.key === 'ArrowUp') {
      S.cannedSel = (S.cannedSel + (e.key === 'ArrowDown' ? 1 : n - 1)) % n;
      updateCanned();
    } else if ((e.key === 'Enter' || e.key === 'Tab') && !e.isComposing) {
      pickCanned(S.cannedSel);
    } else if (e.key === 'Escape') {
      closeCanned();
    } else {
      return false;
    }
    e.preventDefault();
    return true;
  }

  ui.canned.addEventListener('mousedown', (e) => {
    const li = e.target.closest('li[data-i]');
    if (!li) return;
    e.preventDefault(); /* keep the caret in the textarea */
    pickCanned(Number(li.dataset.i));
  });
  ui.reply.addEventListener('blur', () => setTimeout(closeCanned, 150));

  /* ---------------- SLA timers ---------------- */

  function dur(ms) {
    const s = Math.max(0, Math.round(Math.abs(ms) / 1000));
    if (s < 3600) return Math.floor(s / 60) + ':' + String(s % 60).padStart(2, '0');
    if (s < 86400) return Math.floor(s / 3600) + 'h ' + String(Math.floor(s / 60) % 60).padStart(2, '0') + 'm';
    return Math.floor(s / 86400) + 'd ' + Math.floor(s / 3600) % 24 + 'h';
  }

  function timerChip(label, left, total, compact) {
    const cls = left < 0 ? 'breach' : left < total * 0.25 ? 'warn' : '';
    const text = left < 0 ? label + ' overdue ' + dur(left) : label + ' ' + dur(left);
    return el('span', { class: 'sla-chip' + (cls ? ' ' + cls : ''), title: compact ? text : null, text });
  }

  /* Both timers run from the hand-off to people (or the start when an agent took it directly). */
  function slaChips(c, compact) {
    if (!c || (c.status !== 'queued' && c.status !== 'assigned')) return [];
    const start = c.handoff_at || c.queued_at || c.created_at;
    if (!start) return [];
    const now = Date.now(), out = [];
    const fr = Number(S.sla.first_response_s) || 0, rs = Number(S.sla.resolution_s) || 0;
    const replied = c.first_response_at || S.firstAgentReply.get(c.id) || 0;
    /* in the list the first reply is known only when the server says so, or for the queue */
    const known = !compact || 'first_response_at' in c || c.status === 'queued' || S.firstAgentReply.has(c.id);
    if (fr > 0 && known) {
      if (replied) {
        if (!compact) out.push(el('span', { class: 'sla-chip ' + (replied - start > fr * 1000 ? 'breach' : 'met'), text: 'First response ' + dur(replied - start) }));
      } else {
        out.push(timerChip(compact ? 'FR' : 'First response', start + fr * 1000 - now, fr * 1000, compact));
      }
    }
    if (rs > 0) out.push(timerChip(compact ? 'Res' : 'Resolution', start + rs * 1000 - now, rs * 1000, compact));
    return out;
  }

  function noteAgentReply(m) {
    if (!m || !m.sender || m.sender.kind !== 'agent' || m.direction !== 'out') return;
    const c = S.convs.get(m.conversation_id);
    const start = c && (c.handoff_at || c.queued_at || c.created_at);
    const prev = S.firstAgentReply.get(m.conversation_id);
    if (start && m.created_at >= start && (!prev || m.created_at < prev)) S.firstAgentReply.set(m.conversation_id, m.created_at);
  }

  /* ---------------- collision indicator ---------------- */

  function sendActivity(type, id) {
    if (S.ws && S.wsLive && S.ws.readyState === WebSocket.OPEN && id) S.ws.send(JSON.stringify({ type, conversation: id }));
  }

  function startViewing(id) {
    clearInterval(S.viewTimer);
    sendActivity('viewing', id);
    S.viewTimer = setInterval(() => {
      if (S.current === id && !document.hidden) sendActivity('viewing', id);
    }, 4000);
  }

  function onActivity(e) {
    if (typeof e.conversation !== 'number' || typeof e.agent_id !== 'number') return;
    if (!S.agents.has(e.agent_id)) {
      api('GET', '/api/v1/agents').then((a) => { for (const x of a.agents) S.agents.set(x.id, x); scheduleRender(); }, () => {});
    }
    /* an agent is in one conversation at a time */
    for (const [cid, m] of S.activity) if (cid !== e.conversation) m.delete(e.agent_id);
    let m = S.activity.get(e.conversation);
    if (e.activity === 'left') {
      if (m) m.delete(e.agent_id);
    } else {
      if (!m) S.activity.set(e.conversation, (m = new Map()));
      const now = Date.now(), ttl = Number(e.expires_ms) || 8000;
      const w = m.get(e.agent_id) || { agent: e.agent_id, viewUntil: 0, typeUntil: 0 };
      w.viewUntil = now + ttl;
      if (e.activity === 'typing') w.typeUntil = now + Math.min(ttl, 4000);
      m.set(e.agent_id, w);
    }
    scheduleRender();
  }

  function othersOn(id) {
    const m = S.activity.get(id);
    if (!m) return [];
    const now = Date.now(), out = [];
    for (const [k, w] of m) {
      if (w.viewUntil < now) m.delete(k);
      else out.push({ agent: w.agent, activity: w.typeUntil > now ? 'typing' : 'viewing' });
    }
    return out;
  }

  /* ---------------- keyboard ---------------- */

  function convButtons() { return [...ui.items.querySelectorAll('button.conv')]; }
  function focusList() {
    const bs = convButtons();
    const cur = bs.find((b) => Number(b.dataset.id) === S.current) || bs[0];
    if (cur) cur.focus();
  }

  function openHelp(open) {
    ui.help.hidden = !open;
    if (open) ui.helpClose.focus();
    else ui.helpBtn.focus();
  }
  ui.helpBtn.addEventListener('click', () => openHelp(true));
  ui.helpClose.addEventListener('click', () => openHelp(false));

  document.addEventListener('keydown', (e) => {
    if (ui.app.hidden || e.ctrlKey || e.metaKey || e.altKey) return;
    if (!ui.teach.hidden) return; /* the dialog handles its own keys */
    if (!ui.help.hidden) {
      if (e.key === 'Escape') { e.preventDefault(); openHelp(false); }
      return;
    }
    const t = e.target;
    if (t && (t.tagName === 'TEXTAREA' || t.tagName === 'INPUT' || t.tagName === 'SELECT' || t.isContentEditable)) return;
    const inTabs = t && t.closest && t.closest('[role="tablist"]');
    const key = e.key;
    if (key === 'j' || key === 'k' || (!inTabs && (key === 'ArrowDown' || key === 'ArrowUp'))) {
      const bs = convButtons();
      if (!bs.length) return;
      const at = bs.indexOf(t && t.closest ? t.closest('button.conv') : null);
      const from = at >= 0 ? at : Math.max(0, bs.findIndex((b) => Number(b.dataset.id) === S.current));
      const next = key === 'j' || key === 'ArrowDown' ? Math.min(bs.length - 1, at < 0 ? from : from + 1) : Math.max(0, from - 1);
      e.preventDefault();
      bs[next].focus();
      bs[next].scrollIntoView({ block: 'nearest' });
    } else if (key === 'r' && S.current) {
      e.preventDefault();
      ui.reply.focus();
    } else if (key === 'n' && S.current) {
      e.preventDefault();
      ui.internal.checked = true;
      ui.internal.dispatchEvent(new Event('change'));
      ui.reply.focus();
    } else if (key === 'a' && S.current && !ui.assign.hidden && !ui.assign.disabled) {
      e.preventDefault();
      ui.assign.click();
    } else if ((key === '1' || key === '2' || key === '3') && S.current && S.suggestions[Number(key) - 1]) {
      e.preventDefault();
      insertSuggestion(S.suggestions[Number(key) - 1]);
    } else if (key === '?') {
      e.preventDefault();
      openHelp(true);
    } else if (key === 'Escape') {
      focusList();
    }
  });

  /* SLA timers and activity expire by the clock. */
  setInterval(() => {
    if (!S.token || document.hidden) return;
    if (S.current) renderHead();
  }, 1000);
  setInterval(() => { if (S.token && !document.hidden) scheduleRender(); }, 5000);

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
      noteAgentReply(m);
      if (m.conversation_id === S.current) {
        addMessage(m, true);
        if (m.sender && m.sender.kind === 'customer') loadSuggestionsSoon();
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
      if (e.conversation.status === 'queued' || S.queueRank.has(e.conversation.id)) reloadQueueSoon();
      scheduleRender();
    } else if (e.type === 'note.created' && e.note) {
      if (e.conversation_id === S.current) addNote(e.note);
    } else if (e.type === 'csat.created' && e.csat) {
      const c = S.convs.get(e.conversation_id);
      const text = 'Customer rated ' + e.csat.rating + '/5' + (e.csat.comment ? ': ' + e.csat.comment : '');
      if (e.conversation_id === S.current) {
        ui.messages.appendChild(el('li', { class: 'csat-line', 'data-ts': e.csat.created_at || Date.now(), text }));
      }
      announce(text + (c ? ' (' + contactName(c) + ')' : ''));
    } else if (e.type === 'agent.activity') {
      onActivity(e);
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
