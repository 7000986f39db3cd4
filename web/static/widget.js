// SPDX-License-Identifier: MIT
/*
 * Switchboard web chat widget: a launcher button and a chat panel that any page embeds with one
 * tag, no framework and no build step:
 *
 *   <script src="https://support.example.com/static/widget.js" defer
 *           data-title="Chat with us" data-accent="#1f5f5b"></script>
 *
 * Attributes (all optional): data-server (base URL of the Switchboard server; default: where
 * this script came from), data-title, data-subtitle, data-welcome (a first line shown before
 * the visitor writes; it is page text, not a bot message), data-accent (a CSS colour),
 * data-position ("right" or "left"), data-name (the visitor's display name, if the page knows
 * it), data-open ("true" opens the panel at load), data-voice-grammar ("digits" or "yesno":
 * voice notes are recognised as a menu choice instead of free English speech).
 *
 * How it talks to the server: POST /api/v1/widget/session gives a signed visitor token, kept in
 * localStorage so a reload continues the same conversation. History comes from
 * GET /api/v1/widget/messages; messages go out with POST /api/v1/widget/messages carrying a
 * client-made message_id, so a retry after a network error can never store a message twice.
 * Live events arrive over the WebSocket /ws/widget?token=...&since=SEQ; after a drop it
 * reconnects with exponential backoff and resumes from the last event sequence number seen.
 * Every message is keyed by its server id (and our own by their message_id), so an event that
 * arrives twice, or both over the socket and in a history load, is shown once.
 *
 * Security: all text that comes from people (customers, agents) or the server is put into the
 * page with textContent only; nothing here builds markup from strings. The UI lives in a Shadow
 * DOM so the host page's CSS cannot break it and its CSS cannot leak into the page.
 */
(function () {
  'use strict';

  const script = document.currentScript;
  if (!script || window.SwitchboardWidget) return; /* loaded twice: keep the first */

  const data = script.dataset;
  const SERVER = (data.server || new URL(script.src, location.href).origin).replace(/\/+$/, '');
  const TITLE = data.title || 'Chat with us';
  const SUBTITLE = data.subtitle || 'Questions about an order or a product? Ask here.';
  const WELCOME = data.welcome || '';
  const STORE_KEY = 'switchboard.widget:' + SERVER;
  const MAX_CHARS = 4000; /* the server takes 16 KiB of UTF-8; 4000 characters always fit */
  const SEND_ATTEMPTS = 5;
  const PING_MS = 25000;

  /* ---------- small helpers ---------- */

  function el(tag, props, children) {
    const e = document.createElement(tag);
    if (props) {
      for (const k of Object.keys(props)) {
        const v = props[k];
        if (v === undefined || v === null || v === false) continue;
        if (k === 'class') e.className = v;
        else if (k === 'text') e.textContent = v;
        else if (k === 'hidden') e.hidden = true;
        else e.setAttribute(k, v === true ? '' : String(v));
      }
    }
    for (const c of children || []) if (c) e.appendChild(c);
    return e;
  }

  const SVG_NS = 'http://www.w3.org/2000/svg';
  function icon(paths, size) {
    const s = document.createElementNS(SVG_NS, 'svg');
    s.setAttribute('viewBox', '0 0 24 24');
    s.setAttribute('width', String(size || 24));
    s.setAttribute('height', String(size || 24));
    s.setAttribute('aria-hidden', 'true');
    s.setAttribute('focusable', 'false');
    for (const d of paths) {
      const p = document.createElementNS(SVG_NS, 'path');
      p.setAttribute('d', d);
      s.appendChild(p);
    }
    return s;
  }
  const ICON_CHAT = ['M4 4h16a2 2 0 0 1 2 2v10a2 2 0 0 1-2 2H9l-5 4v-4a2 2 0 0 1-2-2V6a2 2 0 0 1 2-2z'];
  const ICON_CLOSE = ['M6 6l12 12M18 6L6 18'];
  const ICON_SEND = ['M3 11.5L21 3l-8.5 18-2.2-7.3L3 11.5z'];
  const ICON_ATTACH = ['M21 11.5l-8.6 8.6a5 5 0 0 1-7.1-7.1l8.6-8.6a3.3 3.3 0 0 1 4.7 4.7l-8.6 8.6a1.7 1.7 0 0 1-2.4-2.4l7.9-7.9'];
  /* Photos and WAV voice notes (the server sniffs the type and refuses anything else). */
  const MAX_ATTACH_BYTES = 10 * 1024 * 1024;
  /* Voice notes: recorded as PCM through the Web Audio API and sent as 16 kHz mono 16-bit WAV,
   * which the server's recognisers read (MediaRecorder's WebM/Opus they do not). */
  const ICON_MIC = ['M12 3a3 3 0 0 1 3 3v6a3 3 0 0 1-6 0V6a3 3 0 0 1 3-3z', 'M5 11a7 7 0 0 0 14 0M12 18v3'];
  const VOICE_MAX_S = 60;
  const VOICE_RATE = 16000;
  const VOICE_GRAMMAR = /^(digits|yesno)$/.test(data.voiceGrammar || '') ? data.voiceGrammar : '';

  function randomId() {
    if (window.crypto && crypto.randomUUID) return crypto.randomUUID();
    const b = new Uint8Array(16);
    crypto.getRandomValues(b);
    return Array.from(b, (x) => x.toString(16).padStart(2, '0')).join('');
  }

  const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

  function loadSaved() {
    try { return JSON.parse(localStorage.getItem(STORE_KEY) || 'null') || {}; } catch (e) { return {}; }
  }
  function save(obj) {
    try { localStorage.setItem(STORE_KEY, JSON.stringify(obj)); } catch (e) { /* private mode */ }
  }

  const timeFmt = new Intl.DateTimeFormat(undefined, { hour: '2-digit', minute: '2-digit' });
  function timeOf(ms) {
    return timeFmt.format(new Date(typeof ms === 'number' && ms > 0 ? ms : Date.now()));
  }

  /* ---------- styles (in the shadow root, so nothing leaks either way) ---------- */

  const CSS = `
:host { all: initial; }
[hidden] { display: none !important; }
*, *::before, *::after { box-sizing: border-box; }
.root {
  --accent: #1f5f5b; --accent-ink: #fff; --ink: #1d2327; --muted: #5f6b73; --line: #e3e6e8;
  --bg: #fff; --soft: #f4f6f7; --bot: #eef2f6; --agent: #fdf3e1; --danger: #b3261e;
  font: 15px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, "Noto Sans", sans-serif;
  color: var(--ink); position: fixed; bottom: 20px; right: 20px; z-index: 2147483000;
  display: flex; flex-direction: column; align-items: flex-end; gap: 12px;
}
.root.left { right: auto; left: 20px; align-items: flex-start; }
button { font: inherit; color: inherit; cursor: pointer; }
:focus-visible { outline: 3px solid #4c9ffe; outline-offset: 2px; }
.vh { position: absolute !important; width: 1px; height: 1px; overflow: hidden; clip: rect(0 0 0 0);
  white-space: nowrap; margin: -1px; padding: 0; border: 0; }
.launcher {
  width: 60px; height: 60px; border-radius: 50%; border: 0; background: var(--accent);
  color: var(--accent-ink); display: grid; place-items: center; position: relative;
  box-shadow: 0 8px 24px rgba(0,0,0,.22); transition: transform .15s ease;
}
.launcher:hover { transform: translateY(-2px); }
.launcher svg { fill: currentColor; stroke: none; }
.launcher[aria-expanded="true"] svg { fill: none; stroke: currentColor; stroke-width: 2.4; stroke-linecap: round; }
.badge {
  position: absolute; top: -2px; right: -2px; min-width: 22px; height: 22px; padding: 0 6px;
  border-radius: 11px; background: #d93025; color: #fff; font-size: 12px; font-weight: 700;
  display: grid; place-items: center; border: 2px solid #fff;
}
.panel {
  width: 380px; height: min(600px, calc(100vh - 110px)); background: var(--bg);
  border-radius: 16px; box-shadow: 0 18px 50px rgba(16,24,32,.25), 0 2px 6px rgba(16,24,32,.08);
  display: flex; flex-direction: column; overflow: hidden; border: 1px solid rgba(0,0,0,.06);
  animation: rise .18s ease-out;
}
.panel[hidden] { display: none; }
@keyframes rise { from { opacity: 0; transform: translateY(8px); } to { opacity: 1; transform: none; } }
@media (prefers-reduced-motion: reduce) { .panel, .launcher { animation: none; transition: none; } }
header { background: var(--accent); color: var(--accent-ink); padding: 16px 14px 14px 18px;
  display: flex; align-items: flex-start; gap: 10px; }
.head-text { flex: 1; min-width: 0; }
h2 { font-size: 17px; margin: 0; font-weight: 650; letter-spacing: .1px; }
.sub { margin: 2px 0 0; font-size: 13px; opacity: .88; }
.close { background: transparent; border: 0; color: inherit; border-radius: 8px; width: 34px; height: 34px;
  display: grid; place-items: center; flex: none; }
.close:hover { background: rgba(255,255,255,.16); }
.close svg { fill: none; stroke: currentColor; stroke-width: 2.2; stroke-linecap: round; }
.conn { margin: 0; padding: 6px 14px; font-size: 12.5px; background: #fff7e0; color: #6b4e00;
  border-bottom: 1px solid #f1e2b3; }
.conn[hidden] { display: none; }
.log { flex: 1; overflow-y: auto; margin: 0; padding: 16px 14px 8px; list-style: none;
  display: flex; flex-direction: column; gap: 10px; background: var(--soft); overscroll-behavior: contain; }
.msg { display: flex; flex-direction: column; max-width: 84%; align-self: flex-start; }
.msg.customer { align-self: flex-end; align-items: flex-end; }
.who { font-size: 12px; color: var(--muted); margin: 0 4px 3px; font-weight: 600; }
.bubble { padding: 9px 13px; border-radius: 16px; white-space: pre-wrap; overflow-wrap: anywhere;
  word-break: break-word; }
.customer .bubble { background: var(--accent); color: var(--accent-ink); border-bottom-right-radius: 5px; }
.bot .bubble { background: var(--bg); border: 1px solid var(--line); border-bottom-left-radius: 5px; }
.agent .bubble { background: var(--agent); border: 1px solid #f1ddb4; border-bottom-left-radius: 5px; }
.system .bubble { background: transparent; color: var(--muted); font-size: 13px; }
.sources { font-size: 12px; color: var(--muted); margin: 4px 6px 0; }
.sources span { font-weight: 600; }
.sources ul { list-style: none; margin: 2px 0 0; padding: 0; display: flex; flex-direction: column; gap: 2px; }
.sources a { color: var(--accent); }
.meta { font-size: 11.5px; color: var(--muted); margin: 3px 6px 0; display: flex; gap: 6px; align-items: center; }
.msg.failed .bubble { opacity: .75; }
.msg.failed .meta { color: var(--danger); }
.msg.sending .bubble { opacity: .8; }
.retry { background: none; border: 0; padding: 0; color: var(--danger); text-decoration: underline;
  font-size: 11.5px; font-weight: 600; }
.note { align-self: center; font-size: 12.5px; color: var(--muted); background: var(--bg);
  border: 1px solid var(--line); border-radius: 999px; padding: 4px 12px; text-align: center; max-width: 92%; }
.welcome { align-self: stretch; max-width: none; }
.welcome .bubble { background: var(--bg); border: 1px dashed var(--line); color: var(--ink); border-radius: 12px; }
form { display: flex; gap: 8px; align-items: flex-end; padding: 10px 12px; border-top: 1px solid var(--line); background: var(--bg); }
textarea { flex: 1; resize: none; font: inherit; color: inherit; border: 1px solid #cfd5d9; border-radius: 12px;
  padding: 9px 12px; max-height: 120px; min-height: 42px; line-height: 1.4; background: #fff; }
textarea:focus { outline: none; border-color: var(--accent); box-shadow: 0 0 0 3px rgba(31,95,91,.18); }
.send { width: 42px; height: 42px; border-radius: 12px; border: 0; background: var(--accent); color: var(--accent-ink);
  display: grid; place-items: center; flex: none; }
.send:disabled { opacity: .45; cursor: default; }
.attach { width: 42px; height: 42px; border-radius: 12px; border: 1px solid #cfd5d9; background: #fff; color: var(--accent);
  display: grid; place-items: center; flex: none; cursor: pointer; }
.attach svg { fill: none; stroke: currentColor; stroke-width: 2; }
.mic { width: 42px; height: 42px; border-radius: 12px; border: 1px solid #cfd5d9; background: #fff; color: var(--accent);
  display: grid; place-items: center; flex: none; cursor: pointer; }
.mic svg { fill: none; stroke: currentColor; stroke-width: 2; stroke-linecap: round; }
.mic[aria-pressed="true"] { background: var(--danger); border-color: var(--danger); color: #fff; }
.rec { display: flex; align-items: center; gap: 8px; padding: 8px 14px; background: #fdecea; color: var(--danger);
  font-size: 13px; font-weight: 600; border-top: 1px solid #f5c6c0; }
.rec[hidden] { display: none; }
.rec .dot { width: 10px; height: 10px; border-radius: 50%; background: var(--danger); animation: blink 1s steps(2) infinite; }
@keyframes blink { 50% { opacity: .2; } }
@media (prefers-reduced-motion: reduce) { .rec .dot { animation: none; } }
.rec .rec-time { flex: 1; }
.rec button { font-size: 12.5px; font-weight: 600; border-radius: 8px; padding: 4px 10px; border: 1px solid currentColor;
  background: #fff; color: var(--danger); }
.rec button.rec-stop { background: var(--danger); color: #fff; border-color: var(--danger); }
.send svg { fill: currentColor; }
.foot { margin: 0; padding: 0 12px 8px; font-size: 11px; color: var(--muted); text-align: center; background: var(--bg); }
.err { color: var(--danger); font-size: 12.5px; padding: 0 14px 6px; margin: 0; background: var(--bg); }
.err:empty { display: none; }
@media (max-width: 480px) {
  .root { bottom: 12px; right: 12px; }
  .root.left { left: 12px; }
  .panel { position: fixed; inset: 0; width: auto; height: auto; border-radius: 0; }
  .root.open .launcher { display: none; }
}
.csat { align-self: stretch; background: var(--bg); border: 1px solid var(--line, #e3e6e9); border-radius: 12px;
  padding: 10px 12px; font-size: 13.5px; display: grid; gap: 8px; }
.csat p { margin: 0; font-weight: 600; }
.csat .stars { display: flex; gap: 6px; }
.csat .stars button { width: 36px; height: 36px; border-radius: 8px; border: 1px solid #cbd2d6; background: #fff;
  font: inherit; font-weight: 700; cursor: pointer; }
.csat .stars button[aria-pressed="true"] { background: var(--accent); color: #fff; border-color: var(--accent); }
.csat textarea { font: inherit; font-size: 13px; border: 1px solid #cbd2d6; border-radius: 8px; padding: 6px 8px; resize: vertical; min-height: 40px; }
.csat .csat-send { justify-self: start; border: 0; border-radius: 8px; padding: 6px 12px; background: var(--accent); color: #fff;
  font: inherit; font-weight: 600; cursor: pointer; }
.csat .csat-send:disabled { opacity: .5; cursor: default; }
.csat .csat-err { color: var(--danger); margin: 0; font-size: 12.5px; }
.csat .csat-err:empty { display: none; }
`;

  /* ---------- the DOM ---------- */

  const host = el('div', { id: 'switchboard-widget' });
  const shadow = host.attachShadow({ mode: 'open' });
  try {
    const sheet = new CSSStyleSheet();
    sheet.replaceSync(CSS);
    shadow.adoptedStyleSheets = [sheet];
  } catch (e) {
    shadow.appendChild(el('style', { text: CSS })); /* older browsers */
  }

  const ui = {};
  ui.title = el('h2', { id: 'sbw-title', text: TITLE });
  ui.sub = el('p', { class: 'sub', id: 'sbw-sub', text: SUBTITLE });
  ui.close = el('button', { class: 'close', type: 'button', 'aria-label': 'Close chat' }, [icon(ICON_CLOSE, 20)]);
  ui.conn = el('p', { class: 'conn', role: 'status', hidden: true });
  ui.log = el('ol', {
    class: 'log', role: 'log', 'aria-live': 'polite', 'aria-relevant': 'additions',
    'aria-label': 'Conversation', tabindex: '0',
  });
  ui.input = el('textarea', {
    id: 'sbw-input', rows: '1', maxlength: String(MAX_CHARS), placeholder: 'Write a message…',
    autocomplete: 'off', 'aria-describedby': 'sbw-hint',
  });
  ui.send = el('button', { class: 'send', type: 'submit', 'aria-label': 'Send message', disabled: true }, [icon(ICON_SEND, 20)]);
  ui.file = el('input', { type: 'file', accept: 'image/*,.wav,audio/wav,audio/x-wav', hidden: true, tabindex: '-1' });
  ui.attach = el('button', { class: 'attach', type: 'button', 'aria-label': 'Send a photo or a voice note (.wav)' }, [icon(ICON_ATTACH, 20)]);
  ui.mic = el('button', { class: 'mic', type: 'button', 'aria-label': 'Record a voice note', 'aria-pressed': 'false' }, [icon(ICON_MIC, 20)]);
  ui.recTime = el('span', { class: 'rec-time', text: 'Recording…' });
  ui.recStop = el('button', { class: 'rec-stop', type: 'button', text: 'Stop and send' });
  ui.recCancel = el('button', { class: 'rec-cancel', type: 'button', text: 'Cancel' });
  ui.rec = el('div', { class: 'rec', role: 'status', hidden: true }, [
    el('span', { class: 'dot', 'aria-hidden': 'true' }), ui.recTime, ui.recStop, ui.recCancel,
  ]);
  ui.form = el('form', { 'aria-label': 'Send a message' }, [
    el('label', { class: 'vh', for: 'sbw-input', text: 'Your message' }),
    ui.attach, ui.mic, ui.file, ui.input, ui.send,
  ]);
  ui.err = el('p', { class: 'err', role: 'alert' });
  ui.panel = el('section', {
    class: 'panel', id: 'sbw-panel', role: 'dialog', 'aria-modal': 'false',
    'aria-labelledby': 'sbw-title', 'aria-describedby': 'sbw-sub', hidden: true,
  }, [
    el('header', null, [el('div', { class: 'head-text' }, [ui.title, ui.sub]), ui.close]),
    ui.conn, ui.log, ui.err, ui.rec, ui.form,
    el('p', { class: 'foot', id: 'sbw-hint', text: 'Enter to send · Shift+Enter for a new line · Esc to close' }),
  ]);
  ui.badge = el('span', { class: 'badge', hidden: true, 'aria-hidden': 'true' });
  ui.launcher = el('button', {
    class: 'launcher', type: 'button', 'aria-label': 'Open chat', 'aria-expanded': 'false',
    'aria-controls': 'sbw-panel',
  }, [icon(ICON_CHAT, 28), ui.badge]);
  ui.root = el('div', { class: 'root' + (data.position === 'left' ? ' left' : '') }, [ui.panel, ui.launcher]);
  if (data.accent) ui.root.style.setProperty('--accent', data.accent);
  shadow.appendChild(ui.root);

  /* ---------- state ---------- */

  const saved = loadSaved();
  const state = {
    token: saved.token || null,
    open: false,
    started: false,        /* session + socket set up */
    starting: null,        /* the promise while starting */
    ws: null,
    wsLive: false,
    wsFailures: 0,         /* consecutive sockets that closed before "ready" */
    backoff: 0,
    reconnectTimer: 0,
    pingTimer: 0,
    lastSeq: 0,            /* highest event seq seen: where a reconnect resumes */
    maxId: 0,              /* highest server message id shown: where a history load resumes */
    byId: new Map(),       /* server message id -> <li> */
    pending: new Map(),    /* our message_id -> {text, li, meta} not yet confirmed */
    status: null,          /* conversation status as last seen */
    unread: 0,
    welcomeShown: false,
  };

  /* ---------- rendering ---------- */

  const LABEL = { customer: 'You', bot: 'Assistant', agent: 'Support team', system: '' };

  function scrollToEnd(force) {
    const log = ui.log;
    const near = log.scrollHeight - log.scrollTop - log.clientHeight < 80;
    if (force || near) log.scrollTop = log.scrollHeight;
  }

  /* Inserts `li` in server-id order; ids of unconfirmed messages sort last. */
  function insertOrdered(li) {
    const id = Number(li.dataset.id || Infinity);
    let before = null;
    for (let n = ui.log.lastElementChild; n; n = n.previousElementSibling) {
      const nid = Number(n.dataset.id || Infinity);
      if (n.dataset.id && nid <= id) break;
      if (n.dataset.id && nid > id) before = n;
    }
    ui.log.insertBefore(li, before);
  }

  function messageItem(kind, text, when) {
    const meta = el('div', { class: 'meta' }, [el('time', { text: timeOf(when) })]);
    const who = LABEL[kind] || '';
    const li = el('li', { class: 'msg ' + kind }, [
      who ? el('div', { class: 'who', text: who }) : null,
      el('div', { class: 'bubble', text: text }),
      meta,
    ]);
    return { li, meta };
  }

  /* Only http(s) links are made clickable; anything else is shown as text. */
  function safeLink(href) {
    try {
      const u = new URL(String(href), location.href);
      return u.protocol === 'https:' || u.protocol === 'http:' ? u.href : null;
    } catch (e) {
      return null;
    }
  }

  /* The knowledge-base articles a bot answer came from. */
  function citations(ann) {
    const list = ann && Array.isArray(ann.citations) ? ann.citations.slice(0, 5) : [];
    const items = [];
    for (const c of list) {
      if (!c || typeof c !== 'object') continue;
      const title = typeof c.title === 'string' && c.title ? c.title : typeof c.link === 'string' ? c.link : '';
      if (!title) continue;
      const href = typeof c.link === 'string' ? safeLink(c.link) : null;
      items.push(el('li', null, [href
        ? el('a', { href, target: '_blank', rel: 'noopener noreferrer', text: title })
        : el('span', { text: title })]));
    }
    if (!items.length) return null;
    return el('div', { class: 'sources' }, [el('span', { text: 'Sources' }), el('ul', null, items)]);
  }

  function showWelcome() {
    if (state.welcomeShown || !WELCOME || ui.log.querySelector('.msg:not(.welcome)')) return;
    state.welcomeShown = true;
    const li = el('li', { class: 'msg welcome' }, [el('div', { class: 'bubble', text: WELCOME })]);
    ui.log.insertBefore(li, ui.log.firstChild);
  }

  function note(text) {
    const li = el('li', { class: 'note', text: text });
    ui.log.appendChild(li);
    scrollToEnd(false);
  }

  /* A message from the server (history, socket or a POST answer); shown once. */
  /* The text of a message; attachments are named (their bytes are for agents only). */
  function messageText(m) {
    const text = typeof m.text === 'string' ? m.text : '';
    const media = Array.isArray(m.parts) ? m.parts.find((x) => x && (x.type === 'image' || x.type === 'audio')) : null;
    if (!media) return text;
    const label = media.type === 'image' ? '[Photo]' : '[Voice note]';
    return text ? label + ' ' + text : label;
  }

  function addMessage(m, live) {
    if (!m || typeof m.id !== 'number') return;
    const kind = m.sender && m.sender.kind;
    /* Customers see their own messages and what was sent to them, never agents' internal notes. */
    if (kind !== 'customer' && m.direction !== 'out') return;
    if (m.id > state.maxId) state.maxId = m.id;
    if (state.byId.has(m.id)) return;
    const pend = m.provider_message_id && state.pending.get(m.provider_message_id);
    if (pend) {
      confirmPending(m.provider_message_id, m.id, m.created_at);
      return;
    }
    /* An agent's first reply: say so before it (the status event follows the message). */
    if (live && kind === 'agent' && (state.status === 'bot' || state.status === 'queued')) setStatus('assigned', true);
    const { li } = messageItem(kind === 'customer' ? 'customer' : kind === 'agent' ? 'agent' : kind === 'bot' ? 'bot' : 'system',
      messageText(m), m.created_at);
    const sources = kind === 'bot' ? citations(m.annotations) : null;
    if (sources) li.insertBefore(sources, li.lastChild);
    li.dataset.id = String(m.id);
    state.byId.set(m.id, li);
    insertOrdered(li);
    if (live && kind !== 'customer' && !state.open) {
      state.unread++;
      updateBadge();
    }
    scrollToEnd(kind === 'customer');
  }

  function confirmPending(clientId, serverId, createdAt) {
    const p = state.pending.get(clientId);
    if (!p) return;
    state.pending.delete(clientId);
    p.li.classList.remove('sending', 'failed');
    p.li.dataset.id = String(serverId);
    p.meta.replaceChildren(el('time', { text: timeOf(createdAt) }));
    if (serverId > state.maxId) state.maxId = serverId;
    state.byId.set(serverId, p.li);
    /* keep server order if other messages were confirmed in between */
    p.li.remove();
    insertOrdered(p.li);
  }

  const STATUS_TEXT = {
    bot: 'Automated assistant · ask for a person any time',
    queued: 'Waiting for a person from our team to join…',
    assigned: 'You are chatting with our team',
    resolved: 'Conversation resolved · write again to reopen it',
  };
  const STATUS_NOTE = {
    queued: 'You are in the queue. A person will reply here.',
    assigned: 'A person from our team has joined.',
    resolved: 'This conversation was marked as resolved.',
  };

  function setStatus(status, live) {
    if (!status || status === state.status) return;
    const prev = state.status;
    state.status = status;
    ui.sub.textContent = STATUS_TEXT[status] || SUBTITLE;
    if (live && prev && STATUS_NOTE[status]) note(STATUS_NOTE[status]);
    if (status === 'resolved') csatCheck();
    else if (ui.csat) { ui.csat.remove(); ui.csat = null; }
  }

  /* ---------- CSAT: after resolution, a 1-5 rating and an optional comment ---------- */

  const CSAT_COMMENT_MAX = 2000; /* bytes (UTF-8), as the server counts */

  async function csatCheck() {
    if (ui.csat || !state.token) return;
    let res;
    try { res = await api('GET', '/api/v1/widget/csat'); } catch (e) { return; }
    if (res.status !== 200 || !res.json || !res.json.can_rate || ui.csat || state.status !== 'resolved') return;
    showCsat(res.json.conversation_id);
  }

  function showCsat(conversationId) {
    let rating = 0;
    const stars = [1, 2, 3, 4, 5].map((n) => el('button', {
      type: 'button', 'aria-pressed': 'false', 'aria-label': n + ' of 5', title: ['', 'Very bad', 'Bad', 'OK', 'Good', 'Very good'][n], text: String(n),
    }));
    const comment = el('textarea', { id: 'sbw-csat-comment', rows: '2', maxlength: String(CSAT_COMMENT_MAX), placeholder: 'Anything to add? (optional)' });
    const send = el('button', { class: 'csat-send', type: 'button', disabled: true, text: 'Send rating' });
    const err = el('p', { class: 'csat-err', role: 'alert' });
    const li = el('li', { class: 'csat', role: 'group', 'aria-labelledby': 'sbw-csat-q' }, [
      el('p', { id: 'sbw-csat-q', text: 'How did we do? Rate this conversation from 1 to 5.' }),
      el('div', { class: 'stars' }, stars),
      el('label', { class: 'vh', for: 'sbw-csat-comment', text: 'Comment (optional)' }), comment, send, err,
    ]);
    stars.forEach((b, i) => b.addEventListener('click', () => {
      rating = i + 1;
      stars.forEach((x, j) => x.setAttribute('aria-pressed', String(j === i)));
      send.disabled = false;
    }));
    send.addEventListener('click', async () => {
      const text = comment.value.trim();
      if (new TextEncoder().encode(text).length > CSAT_COMMENT_MAX) {
        err.textContent = 'The comment is too long (at most ' + CSAT_COMMENT_MAX + ' bytes).';
        return;
      }
      send.disabled = true;
      err.textContent = '';
      let res = null;
      try {
        res = await api('POST', '/api/v1/widget/csat', text ? { rating, comment: text, conversation_id: conversationId } : { rating, conversation_id: conversationId });
      } catch (e) { /* network */ }
      if (res && (res.status === 201 || res.status === 409)) {
        li.replaceChildren(el('p', { text: res.status === 201 ? 'Thank you for your rating!' : 'You have already rated this conversation.' }));
        li.setAttribute('role', 'status');
        return;
      }
      err.textContent = res ? errorText(res) : 'The rating could not be sent. Please try again.';
      send.disabled = false;
    });
    ui.csat = li;
    ui.log.appendChild(li);
    scrollToEnd(true);
  }

  function updateBadge() {
    ui.badge.hidden = state.unread === 0;
    ui.badge.textContent = state.unread > 9 ? '9+' : String(state.unread);
    ui.launcher.setAttribute('aria-label', state.unread
      ? `Open chat, ${state.unread} new message${state.unread === 1 ? '' : 's'}` : 'Open chat');
  }

  function setConn(text) {
    ui.conn.hidden = !text;
    ui.conn.textContent = text || '';
  }

  /* ---------- HTTP ---------- */

  async function api(method, path, body) {
    const headers = {};
    if (state.token) headers.authorization = 'Bearer ' + state.token;
    if (body !== undefined) headers['content-type'] = 'application/json';
    const res = await fetch(SERVER + path, {
      method, headers, credentials: 'omit', cache: 'no-store',
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    let json = null;
    try { json = await res.json(); } catch (e) { /* not JSON */ }
    return { status: res.status, json, retryAfter: Number(res.headers.get('retry-after')) || 0 };
  }

  function errorText(res) {
    return (res && res.json && res.json.error && res.json.error.message) || 'Something went wrong.';
  }

  /* Gets (or renews) the visitor token. The server returns the same token while it is valid. */
  async function session() {
    const res = await api('POST', '/api/v1/widget/session', state.token ? { visitor_token: state.token } : {});
    if (res.status !== 200 && res.status !== 201) throw new Error(errorText(res));
    if (res.json.visitor_token !== state.token) {
      /* a new visitor: nothing shown so far belongs to it */
      state.token = res.json.visitor_token;
      save({ token: state.token });
    }
  }

  async function loadHistory() {
    for (let page = 0; page < 20; page++) {
      const res = await api('GET', '/api/v1/widget/messages?after=' + state.maxId);
      if (res.status === 401) throw Object.assign(new Error('session expired'), { auth: true });
      if (res.status !== 200) throw new Error(errorText(res));
      if (res.json.conversation) setStatus(res.json.conversation.status, false);
      const ms = res.json.messages || [];
      const before = state.maxId;
      for (const m of ms) addMessage(m, false);
      if (ms.length < 500 || state.maxId === before) break;
    }
  }

  /* ---------- the live socket ---------- */

  function connect() {
    clearTimeout(state.reconnectTimer);
    if (state.ws || !state.token) return;
    const url = SERVER.replace(/^http/, 'ws') + '/ws/widget?token=' + encodeURIComponent(state.token) +
      '&since=' + state.lastSeq;
    let ws;
    try { ws = new WebSocket(url); } catch (e) { scheduleReconnect(); return; }
    state.ws = ws;
    let wasLive = false;
    ws.onmessage = (ev) => {
      let e;
      try { e = JSON.parse(ev.data); } catch (err) { return; }
      if (typeof e.seq === 'number' && e.seq > state.lastSeq) state.lastSeq = e.seq;
      if (e.type === 'ready') {
        wasLive = true;
        state.wsLive = true;
        state.wsFailures = 0;
        state.backoff = 0;
        setConn('');
        clearInterval(state.pingTimer);
        state.pingTimer = setInterval(() => {
          if (ws.readyState === WebSocket.OPEN) ws.send('{"type":"ping"}');
        }, PING_MS);
        /* Anything sent before the socket was live (or beyond the server's resume window). */
        loadHistory().catch(() => {});
      } else if (e.type === 'message.created') {
        if (e.conversation) setStatus(e.conversation.status, true);
        addMessage(e.message, true);
      } else if (e.type === 'conversation.updated') {
        if (e.conversation) setStatus(e.conversation.status, true);
      }
    };
    ws.onclose = () => {
      if (state.ws !== ws) return;
      state.ws = null;
      state.wsLive = false;
      clearInterval(state.pingTimer);
      if (!wasLive) state.wsFailures++;
      scheduleReconnect();
    };
    ws.onerror = () => { /* onclose follows */ };
  }

  function scheduleReconnect() {
    clearTimeout(state.reconnectTimer);
    setConn(navigator.onLine === false ? 'You are offline. Messages will arrive when you are back.'
      : 'Reconnecting… your conversation is kept.');
    const base = Math.min(30000, 500 * Math.pow(2, state.backoff++));
    const delay = base / 2 + Math.random() * base / 2;
    state.reconnectTimer = setTimeout(async () => {
      /* Twice refused before "ready": the token may be stale (e.g. the server's secret changed). */
      if (state.wsFailures >= 2) {
        try { await session(); state.wsFailures = 0; } catch (e) { /* retry later */ }
      }
      connect();
    }, delay);
  }

  function reconnectNow() {
    if (state.started && !state.ws) {
      state.backoff = 0;
      connect();
    }
  }
  window.addEventListener('online', reconnectNow);
  document.addEventListener('visibilitychange', () => { if (!document.hidden) reconnectNow(); });

  function start() {
    if (state.started) return Promise.resolve();
    if (!state.starting) {
      setConn('Connecting…');
      state.starting = (async () => {
        for (let attempt = 0; ; attempt++) {
          try {
            await session();
            break;
          } catch (e) {
            setConn('Cannot reach the chat service. Retrying…');
            await sleep(Math.min(30000, 1000 * Math.pow(2, attempt)));
          }
        }
        state.started = true;
        connect();
        try { await loadHistory(); } catch (e) { /* the socket's "ready" loads it again */ }
        showWelcome();
      })();
    }
    return state.starting;
  }

  /* ---------- sending ---------- */

  function setPendingMeta(p, what) {
    p.li.classList.toggle('sending', what === 'sending');
    p.li.classList.toggle('failed', what !== 'sending');
    if (what === 'sending') {
      p.meta.replaceChildren(el('span', { text: 'Sending…' }));
      return;
    }
    const retry = el('button', { class: 'retry', type: 'button', text: 'Retry' });
    retry.addEventListener('click', () => deliver(p));
    p.meta.replaceChildren(el('span', { text: what }), retry);
  }

  async function deliver(p) {
    setPendingMeta(p, 'sending');
    ui.err.textContent = '';
    let renewed = false;
    for (let attempt = 1; ; attempt++) {
      let res = null;
      try {
        if (p.file) {
          res = await upload(p);
        } else {
          const body = { text: p.text, message_id: p.clientId };
          if (data.name) body.name = data.name;
          res = await api('POST', '/api/v1/widget/messages', body);
        }
      } catch (e) { res = null; /* network: retry with the same message_id */ }
      if (!state.pending.has(p.clientId)) return; /* the socket confirmed it meanwhile */
      if (res && (res.status === 200 || res.status === 201)) {
        confirmPending(p.clientId, res.json.message_id, Date.now());
        return;
      }
      if (res && res.status === 401 && !renewed) {
        renewed = true;
        try { await session(); if (state.ws) state.ws.close(); } catch (e) { /* retried below */ }
        continue;
      }
      const transient = !res || res.status === 429 || res.status >= 500;
      if (!transient) {
        setPendingMeta(p, 'Not sent: ' + errorText(res));
        return;
      }
      if (attempt >= SEND_ATTEMPTS) {
        setPendingMeta(p, 'Not sent.');
        return;
      }
      const wait = res && res.retryAfter ? res.retryAfter * 1000 : 600 * Math.pow(2, attempt - 1);
      await sleep(Math.min(wait, 15000));
    }
  }

  /* Sends the file as multipart/form-data; the type is sniffed by the server. */
  async function upload(p) {
    const kind = /\.wav$/i.test(p.file.name) || /^audio\//.test(p.file.type) ? 'audio' : 'image';
    const form = new FormData();
    form.append('kind', kind);
    form.append('message_id', p.clientId);
    if (kind === 'audio' && VOICE_GRAMMAR) form.append('grammar', VOICE_GRAMMAR);
    form.append('file', p.file, p.file.name || (kind === 'audio' ? 'voice-note.wav' : 'photo'));
    const res = await fetch(SERVER + '/api/v1/widget/attachments', {
      method: 'POST', credentials: 'omit', cache: 'no-store',
      headers: { authorization: 'Bearer ' + state.token },
      body: form,
    });
    let json = null;
    try { json = await res.json(); } catch (e) { /* not JSON */ }
    return { status: res.status, json, retryAfter: Number(res.headers.get('retry-after')) || 0 };
  }

  async function sendFile(file) {
    ui.err.textContent = '';
    if (file.size > MAX_ATTACH_BYTES) {
      ui.err.textContent = 'That file is too large (10 MB at most).';
      return;
    }
    const clientId = 'w-' + randomId();
    const label = (/\.wav$/i.test(file.name) || /^audio\//.test(file.type) ? '[Voice note] ' : '[Photo] ') + file.name;
    const { li, meta } = messageItem('customer', label, Date.now());
    const p = { clientId, text: label, file, li, meta };
    state.pending.set(clientId, p);
    ui.log.appendChild(li);
    scrollToEnd(true);
    await start();
    await deliver(p);
  }

  async function sendText(text) {
    const clientId = 'w-' + randomId();
    const { li, meta } = messageItem('customer', text, Date.now());
    const p = { clientId, text, li, meta };
    state.pending.set(clientId, p);
    ui.log.appendChild(li);
    scrollToEnd(true);
    await start();
    await deliver(p);
  }

  /* ---------- interaction ---------- */

  function autosize() {
    ui.input.style.height = 'auto';
    ui.input.style.height = Math.min(ui.input.scrollHeight + 2, 120) + 'px';
    ui.send.disabled = ui.input.value.trim() === '';
  }

  function submit() {
    const text = ui.input.value.trim();
    if (!text) return;
    ui.input.value = '';
    autosize();
    sendText(text);
    ui.input.focus();
  }

  function setOpen(open) {
    if (!open && recording()) stopRecording(false); /* closing the panel discards a recording */
    state.open = open;
    ui.panel.hidden = !open;
    ui.root.classList.toggle('open', open);
    ui.launcher.setAttribute('aria-expanded', String(open));
    ui.launcher.replaceChildren(icon(open ? ICON_CLOSE : ICON_CHAT, open ? 24 : 28), ui.badge);
    if (open) {
      state.unread = 0;
      updateBadge();
      ui.launcher.setAttribute('aria-label', 'Close chat');
      if (!saved.token) showWelcome(); /* a new visitor: before anything they type */
      start();
      scrollToEnd(true);
      ui.input.focus();
    } else {
      updateBadge();
    }
  }

  ui.launcher.addEventListener('click', () => setOpen(!state.open));
  ui.close.addEventListener('click', () => { setOpen(false); ui.launcher.focus(); });
  ui.panel.addEventListener('keydown', (e) => {
    if (e.key === 'Escape') { e.preventDefault(); setOpen(false); ui.launcher.focus(); }
  });
  ui.input.addEventListener('input', autosize);
  ui.input.addEventListener('keydown', (e) => {
    if (e.key === 'Enter' && !e.shiftKey && !e.isComposing) { e.preventDefault(); submit(); }
  });
  ui.form.addEventListener('submit', (e) => { e.preventDefault(); submit(); });
  ui.attach.addEventListener('click', () => ui.file.click());

  /* ---------- voice notes ---------- */

  const rec = { ctx: null, stream: null, node: null, chunks: [], samples: 0, started: 0, timer: 0, limit: 0 };

  function recording() { return !!rec.ctx; }

  async function startRecording() {
    if (recording()) return;
    ui.err.textContent = '';
    const AC = window.AudioContext || window.webkitAudioContext;
    if (!navigator.mediaDevices || !navigator.mediaDevices.getUserMedia || !AC) {
      ui.err.textContent = 'Voice notes are not supported in this browser.';
      return;
    }
    let stream;
    try {
      /* the recognisers want the voice as it was: no echo cancelling, suppression or gain games */
      stream = await navigator.mediaDevices.getUserMedia({ audio: { channelCount: 1, echoCancellation: false, noiseSuppression: false, autoGainControl: false } });
    } catch (e) {
      ui.err.textContent = 'The microphone is not available (' + (e && e.name ? e.name : 'denied') + ').';
      return;
    }
    const ctx = new AC();
    const source = ctx.createMediaStreamSource(stream);
    /* ScriptProcessor: deprecated, but everywhere, and needs no separate worklet file */
    const node = ctx.createScriptProcessor(4096, 1, 1);
    Object.assign(rec, { ctx, stream, node, chunks: [], samples: 0, started: Date.now() });
    node.onaudioprocess = (ev) => {
      if (rec.node !== node) return;
      const ch = ev.inputBuffer.getChannelData(0);
      rec.chunks.push(new Float32Array(ch));
      rec.samples += ch.length;
      if (rec.samples >= VOICE_MAX_S * ctx.sampleRate) stopRecording(true);
    };
    source.connect(node);
    node.connect(ctx.destination); /* the processor only runs when connected; it outputs silence */
    ui.rec.hidden = false;
    ui.mic.setAttribute('aria-pressed', 'true');
    ui.mic.setAttribute('aria-label', 'Stop recording and send');
    const tick = () => {
      const s = Math.floor((Date.now() - rec.started) / 1000);
      ui.recTime.textContent = 'Recording… ' + Math.floor(s / 60) + ':' + String(s % 60).padStart(2, '0') +
        ' (at most ' + VOICE_MAX_S + ' s)';
    };
    tick();
    rec.timer = setInterval(tick, 250);
    rec.limit = setTimeout(() => stopRecording(true), (VOICE_MAX_S + 1) * 1000);
    ui.recStop.focus();
  }

  /* Ends the recording; `send` false discards it. */
  function stopRecording(send) {
    if (!recording()) return;
    const { ctx, stream, node, chunks, samples } = rec;
    clearInterval(rec.timer);
    clearTimeout(rec.limit);
    Object.assign(rec, { ctx: null, stream: null, node: null, chunks: [], samples: 0 });
    node.onaudioprocess = null;
    try { node.disconnect(); } catch (e) { /* already */ }
    for (const t of stream.getTracks()) t.stop();
    const rate = ctx.sampleRate;
    ctx.close().catch(() => {});
    ui.rec.hidden = true;
    ui.mic.setAttribute('aria-pressed', 'false');
    ui.mic.setAttribute('aria-label', 'Record a voice note');
    ui.mic.focus();
    if (!send) return;
    if (samples < rate * 0.3) {
      ui.err.textContent = 'That voice note was too short.';
      return;
    }
    const pcm = new Float32Array(samples);
    let at = 0;
    for (const c of chunks) { pcm.set(c, at); at += c.length; }
    const stamp = new Date().toISOString().slice(11, 19).replace(/:/g, '');
    sendFile(new File([wavBlob(pcm, rate)], 'voice-note-' + stamp + '.wav', { type: 'audio/wav' }));
  }

  /* Float PCM at `rate` -> 16 kHz mono 16-bit WAV. Each output sample averages the input over
   * its own period (a box low-pass against aliasing) before linear interpolation. */
  function wavBlob(pcm, rate) {
    const ratio = rate / VOICE_RATE;
    const n = Math.floor(pcm.length / ratio);
    const out = new Int16Array(n);
    const half = Math.max(0, Math.floor(ratio / 2));
    for (let i = 0; i < n; i++) {
      const pos = i * ratio;
      const j = Math.floor(pos);
      let v;
      if (half > 0) {
        let sum = 0, cnt = 0;
        for (let k = Math.max(0, j - half); k <= Math.min(pcm.length - 1, j + half); k++) { sum += pcm[k]; cnt++; }
        v = sum / cnt;
      } else {
        const f = pos - j;
        v = pcm[j] * (1 - f) + (j + 1 < pcm.length ? pcm[j + 1] : pcm[j]) * f;
      }
      out[i] = Math.max(-32768, Math.min(32767, Math.round(v * 32767)));
    }
    const buf = new ArrayBuffer(44 + n * 2);
    const dv = new DataView(buf);
    const str = (o, s) => { for (let k = 0; k < s.length; k++) dv.setUint8(o + k, s.charCodeAt(k)); };
    str(0, 'RIFF'); dv.setUint32(4, 36 + n * 2, true); str(8, 'WAVE');
    str(12, 'fmt '); dv.setUint32(16, 16, true); dv.setUint16(20, 1, true); dv.setUint16(22, 1, true);
    dv.setUint32(24, VOICE_RATE, true); dv.setUint32(28, VOICE_RATE * 2, true);
    dv.setUint16(32, 2, true); dv.setUint16(34, 16, true);
    str(36, 'data'); dv.setUint32(40, n * 2, true);
    for (let i = 0; i < n; i++) dv.setInt16(44 + i * 2, out[i], true);
    return new Blob([buf], { type: 'audio/wav' });
  }

  ui.mic.addEventListener('click', () => { if (recording()) stopRecording(true); else startRecording(); });
  ui.recStop.addEventListener('click', () => stopRecording(true));
  ui.recCancel.addEventListener('click', () => stopRecording(false));
  ui.rec.addEventListener('keydown', (e) => {
    if (e.key === 'Escape') { e.preventDefault(); e.stopPropagation(); stopRecording(false); }
  });
  ui.file.addEventListener('change', () => {
    const f = ui.file.files && ui.file.files[0];
    ui.file.value = '';
    if (f) sendFile(f);
  });

  function mount() {
    document.body.appendChild(host);
    /* A returning visitor: reconnect at once so replies raise the badge while the panel is closed. */
    if (state.token) start();
    if (data.open === 'true') setOpen(true);
  }
  if (document.body) mount();
  else document.addEventListener('DOMContentLoaded', mount);

  window.SwitchboardWidget = {
    open: () => setOpen(true),
    close: () => setOpen(false),
    toggle: () => setOpen(!state.open),
  };
})();
