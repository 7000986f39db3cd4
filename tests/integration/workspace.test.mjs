// SPDX-License-Identifier: MIT
// The agent workspace over the real daemon: internal notes (agents only, live on the agent
// socket, never on the widget), canned replies (demo ones seeded in English and Chinese,
// roles, unique shortcuts), suggested replies from the knowledge base with citations (and none
// when the KB has no supported answer), resolve with a reason, the SLA setting, CSAT from the
// widget (only the visitor's own resolved conversation, once, 1-5, comment limit), and the
// collision indicator between two agent sockets.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import WebSocket from 'ws';
import { startDaemon, api, login } from './daemon.mjs';

let d, agent;
before(async () => {
  d = await startDaemon();
  agent = await login(d);
});
after(async () => {
  const { code } = await d.stop();
  assert.equal(code, 0, 'daemon exits 0 on SIGTERM');
  d.cleanup();
});

async function customerSays(id, text) {
  const r = await api(d, 'POST', '/api/v1/messages', {
    body: { customer: { id }, text, wait_reply: true } });
  assert.equal(r.status, 201, r.text);
  return r.json;
}

/* An agent socket that collects events. */
async function agentSocket(token) {
  const ws = new WebSocket(d.url.replace('http', 'ws') + '/ws/agent?token=' + encodeURIComponent(token));
  const events = [];
  ws.on('message', (m) => { try { events.push(JSON.parse(String(m))); } catch { /* not JSON */ } });
  await new Promise((resolve, reject) => {
    const t = setTimeout(() => reject(new Error('socket not ready')), 10000);
    const check = setInterval(() => {
      if (events.some((e) => e.type === 'ready')) { clearInterval(check); clearTimeout(t); resolve(); }
    }, 20);
  });
  return { ws, events };
}

async function until(fn, what, ms = 5000) {
  const end = Date.now() + ms;
  for (;;) {
    const v = fn();
    if (v) return v;
    if (Date.now() > end) throw new Error('timed out waiting for ' + what);
    await new Promise((r) => setTimeout(r, 25));
  }
}

test('notes are stored for agents, published to agent sockets, and never shown to the customer', async () => {
  const s = await api(d, 'POST', '/api/v1/widget/session', { token: null, body: {} });
  const visitor = s.json.visitor_token;
  const sent = await api(d, 'POST', '/api/v1/widget/messages', { token: visitor, body: { text: 'hello there' } });
  assert.equal(sent.status, 201, sent.text);
  const conv = sent.json.conversation_id;
  const sock = await agentSocket(agent);
  try {
    const n = await api(d, 'POST', `/api/v1/conversations/${conv}/notes`, { token: agent, body: { text: 'VIP — be nice <b>x</b>' } });
    assert.equal(n.status, 201, n.text);
    assert.equal(n.json.text, 'VIP — be nice <b>x</b>');
    assert.ok(n.json.agent_id > 0);
    const ev = await until(() => sock.events.find((e) => e.type === 'note.created'), 'note.created');
    assert.equal(ev.conversation_id, conv);
    assert.equal(ev.note.id, n.json.id);
    const list = await api(d, 'GET', `/api/v1/conversations/${conv}/notes`, { token: agent });
    assert.equal(list.status, 200);
    assert.deepEqual(list.json.notes.map((x) => x.text), ['VIP — be nice <b>x</b>']);
    // the visitor's history has no trace of it
    const w = await api(d, 'GET', '/api/v1/widget/messages', { token: visitor });
    assert.ok(!w.text.includes('VIP'), 'the widget never gets a note');
    // errors
    assert.equal((await api(d, 'POST', `/api/v1/conversations/${conv}/notes`, { token: agent, body: { text: '' } })).status, 400);
    assert.equal((await api(d, 'POST', `/api/v1/conversations/${conv}/notes`, { token: agent, body: { text: 'x'.repeat(16385) } })).status, 400);
    assert.equal((await api(d, 'POST', '/api/v1/conversations/999999/notes', { token: agent, body: { text: 'x' } })).status, 404);
    assert.equal((await api(d, 'GET', `/api/v1/conversations/${conv}/notes`, { token: null })).status, 401);
    assert.equal((await api(d, 'GET', `/api/v1/conversations/${conv}/notes`, { token: visitor })).status, 401);
  } finally {
    sock.ws.close();
  }
});

test('canned replies: demo ones in English and Chinese, supervisor-only changes, unique shortcuts', async () => {
  const list = await api(d, 'GET', '/api/v1/canned-replies', { token: agent });
  assert.equal(list.status, 200);
  const shortcuts = list.json.canned_replies.map((c) => c.shortcut);
  assert.ok(shortcuts.includes('refund') && shortcuts.includes('refund-zh'), shortcuts.join(','));
  assert.ok(list.json.canned_replies.some((c) => /[\u4e00-\u9fff]/.test(c.text)), 'a Chinese reply is seeded');

  const made = await api(d, 'POST', '/api/v1/canned-replies', { token: agent, body: { shortcut: 'ship', title: 'Shipping', text: 'We ship within 2 days.' } });
  assert.equal(made.status, 201, made.text);
  assert.equal((await api(d, 'POST', '/api/v1/canned-replies', { token: agent, body: { shortcut: 'ship', title: 'x', text: 'y' } })).status, 409);
  assert.equal((await api(d, 'POST', '/api/v1/canned-replies', { token: agent, body: { shortcut: 'Bad One', title: 'x', text: 'y' } })).status, 400);
  assert.equal((await api(d, 'POST', '/api/v1/canned-replies', { token: agent, body: { shortcut: 'x', title: 'x' } })).status, 400);

  // a plain agent may use them but not change them
  const plain = await api(d, 'POST', '/api/v1/agents', { body: { email: 'plain@demo.local', name: 'Plain', password: 'plain-password-1', role: 'agent' } });
  assert.equal(plain.status, 201, plain.text);
  const lp = await api(d, 'POST', '/api/v1/auth/login', { token: null, body: { email: 'plain@demo.local', password: 'plain-password-1' } });
  const plainToken = lp.json.token;
  assert.equal((await api(d, 'GET', '/api/v1/canned-replies', { token: plainToken })).status, 200);
  assert.equal((await api(d, 'POST', '/api/v1/canned-replies', { token: plainToken, body: { shortcut: 'p', title: 'p', text: 'p' } })).status, 403);
  assert.equal((await api(d, 'DELETE', `/api/v1/canned-replies/${made.json.id}`, { token: plainToken })).status, 403);

  assert.equal((await api(d, 'DELETE', `/api/v1/canned-replies/${made.json.id}`, { token: agent })).status, 200);
  assert.equal((await api(d, 'DELETE', `/api/v1/canned-replies/${made.json.id}`, { token: agent })).status, 404);
});

test('suggested replies come from the knowledge base with citations, and none without support', async () => {
  const a = await customerSays('cust-suggest', 'Where is my order?');
  const s = await api(d, 'GET', `/api/v1/conversations/${a.conversation_id}/suggestions`, { token: agent });
  assert.equal(s.status, 200, s.text);
  assert.equal(s.json.knowledge_base, 'on');
  assert.ok(s.json.suggestions.length >= 1, s.text);
  const first = s.json.suggestions[0];
  assert.ok(first.citations.length >= 1);
  assert.equal(first.citations[0].doc_id, 'faq-order-status');
  assert.match(first.text, /parcel/);
  assert.ok(first.confidence > 0 && first.confidence <= 1);
  assert.equal(first.question.text, 'Where is my order?');

  // nothing the KB supports: no suggestion is made up
  const b = await customerSays('cust-nosupport', 'qwzx vbnm plorf');
  const none = await api(d, 'GET', `/api/v1/conversations/${b.conversation_id}/suggestions`, { token: agent });
  assert.equal(none.status, 200);
  assert.deepEqual(none.json.suggestions, []);
  assert.equal((await api(d, 'GET', '/api/v1/conversations/999999/suggestions', { token: agent })).status, 404);
});

test('resolve with a reason; the SLA setting has defaults, bounds and roles', async () => {
  const a = await customerSays('cust-resolve', 'I need a person please');
  const r = await api(d, 'POST', `/api/v1/conversations/${a.conversation_id}/resolve`, { token: agent, body: { reason: 'answered by phone' } });
  assert.equal(r.status, 200, r.text);
  assert.equal(r.json.status, 'resolved');
  assert.equal(r.json.resolve_reason, 'answered by phone');
  const g = await api(d, 'GET', `/api/v1/conversations/${a.conversation_id}`, { token: agent });
  assert.equal(g.json.resolve_reason, 'answered by phone');
  assert.equal((await api(d, 'POST', `/api/v1/conversations/${a.conversation_id}/resolve`, { token: agent, body: { reason: 'x'.repeat(300) } })).status, 400);
  // still works without a body
  const b = await customerSays('cust-resolve2', 'hello');
  assert.equal((await api(d, 'POST', `/api/v1/conversations/${b.conversation_id}/resolve`, { token: agent })).status, 200);

  const sla = await api(d, 'GET', '/api/v1/settings/sla', { token: agent });
  assert.equal(sla.status, 200);
  assert.equal(sla.json.first_response_s, 300);
  assert.equal(sla.json.resolution_s, 86400);
  const put = await api(d, 'PUT', '/api/v1/settings/sla', { token: agent, body: { first_response_s: 120 } });
  assert.equal(put.status, 200, put.text);
  assert.deepEqual({ ...put.json }, { first_response_s: 120, resolution_s: 86400 });
  assert.equal((await api(d, 'GET', '/api/v1/settings/sla', { token: agent })).json.first_response_s, 120);
  assert.equal((await api(d, 'PUT', '/api/v1/settings/sla', { token: agent, body: { first_response_s: -1 } })).status, 400);
  assert.equal((await api(d, 'PUT', '/api/v1/settings/sla', { token: agent, body: { other: 1 } })).status, 400);
});

test('CSAT: the visitor rates their own resolved conversation once, 1 to 5', async () => {
  const s = await api(d, 'POST', '/api/v1/widget/session', { token: null, body: {} });
  const visitor = s.json.visitor_token;
  const other = (await api(d, 'POST', '/api/v1/widget/session', { token: null, body: {} })).json.visitor_token;
  // nothing to rate before the first message
  assert.equal((await api(d, 'POST', '/api/v1/widget/csat', { token: visitor, body: { rating: 5 } })).status, 404);
  const sent = await api(d, 'POST', '/api/v1/widget/messages', { token: visitor, body: { text: 'Can I get a refund?' } });
  const conv = sent.json.conversation_id;
  await api(d, 'POST', `/api/v1/widget/messages`, { token: other, body: { text: 'hi' } });

  let st = await api(d, 'GET', '/api/v1/widget/csat', { token: visitor });
  assert.equal(st.status, 200);
  assert.equal(st.json.can_rate, false);
  // not resolved yet
  assert.equal((await api(d, 'POST', '/api/v1/widget/csat', { token: visitor, body: { rating: 5 } })).status, 409);
  await api(d, 'POST', `/api/v1/conversations/${conv}/assign`, { token: agent, body: { agent_id: 'me' } });
  await api(d, 'POST', `/api/v1/conversations/${conv}/resolve`, { token: agent, body: { reason: 'refund issued' } });
  st = await api(d, 'GET', '/api/v1/widget/csat', { token: visitor });
  assert.equal(st.json.can_rate, true);
  assert.equal(st.json.conversation_id, conv);

  // bad input
  for (const body of [{ rating: 0 }, { rating: 6 }, { rating: '5' }, { rating: 3.5 }, {}, { rating: 4, comment: 'x'.repeat(2001) }, { rating: 4, comment: 7 }]) {
    const r = await api(d, 'POST', '/api/v1/widget/csat', { token: visitor, body });
    assert.equal(r.status, 400, JSON.stringify(body) + ' ' + r.text);
  }
  // another visitor cannot rate it, agents' tokens are not visitor tokens
  assert.equal((await api(d, 'POST', '/api/v1/widget/csat', { token: other, body: { rating: 1, conversation_id: conv } })).status, 404);
  assert.equal((await api(d, 'POST', '/api/v1/widget/csat', { token: agent, body: { rating: 1, conversation_id: conv } })).status, 401);

  const sock = await agentSocket(agent);
  try {
    const ok = await api(d, 'POST', '/api/v1/widget/csat', { token: visitor, body: { rating: 4, comment: 'x'.repeat(1990) + ' 很好' } });
    assert.equal(ok.status, 201, ok.text);
    assert.equal(ok.json.rating, 4);
    assert.equal(ok.json.agent_id, undefined, 'the customer is not told internal ids');
    const ev = await until(() => sock.events.find((e) => e.type === 'csat.created'), 'csat.created');
    assert.equal(ev.conversation_id, conv);
    assert.ok(ev.csat.agent_id > 0, 'rated against the agent who had it');
  } finally {
    sock.ws.close();
  }
  assert.equal((await api(d, 'POST', '/api/v1/widget/csat', { token: visitor, body: { rating: 2 } })).status, 409, 'once only');
  st = await api(d, 'GET', '/api/v1/widget/csat', { token: visitor });
  assert.equal(st.json.can_rate, false);
  assert.equal(st.json.csat.rating, 4);
});

test('collision indicator: viewing and typing reach the other agents of the tenant only', async () => {
  const second = await api(d, 'POST', '/api/v1/agents', { body: { email: 'second@demo.local', name: 'Second', password: 'second-password-1', role: 'agent' } });
  assert.equal(second.status, 201, second.text);
  const t2 = (await api(d, 'POST', '/api/v1/auth/login', { token: null, body: { email: 'second@demo.local', password: 'second-password-1' } })).json.token;
  const a = await agentSocket(agent);
  const b = await agentSocket(t2);
  try {
    a.ws.send(JSON.stringify({ type: 'viewing', conversation: 42 }));
    const seen = await until(() => b.events.find((e) => e.type === 'agent.activity'), 'agent.activity');
    assert.equal(seen.activity, 'viewing');
    assert.equal(seen.conversation, 42);
    assert.ok(seen.agent_id > 0 && seen.expires_ms > 0);
    b.ws.send(JSON.stringify({ type: 'typing', conversation: 42 }));
    await until(() => a.events.find((e) => e.type === 'agent.activity' && e.activity === 'typing'), 'typing');
    // nobody hears themselves; junk is ignored
    a.ws.send(JSON.stringify({ type: 'typing', conversation: 'x' }));
    a.ws.send('not json');
    await new Promise((r) => setTimeout(r, 300));
    assert.equal(a.events.filter((e) => e.type === 'agent.activity' && e.agent_id === seen.agent_id).length, 0);
    assert.equal(b.events.filter((e) => e.type === 'agent.activity').length, 1);
  } finally {
    a.ws.close();
    b.ws.close();
  }
});
