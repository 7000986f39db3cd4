// SPDX-License-Identifier: MIT
// The REST API v1 as a client sees it: auth, the generic message channel with idempotency and
// wait_reply, agent actions, and clear errors for bad input.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startDaemon, api, login } from './daemon.mjs';

let d;
before(async () => { d = await startDaemon(); });
after(async () => {
  const { code } = await d.stop();
  assert.equal(code, 0, 'daemon exits 0 on SIGTERM');
  d.cleanup();
});

test('health, metrics and OpenAPI are served', async () => {
  const h = await api(d, 'GET', '/healthz', { token: null });
  assert.equal(h.status, 200);
  assert.equal(h.json.status, 'ok');
  const m = await api(d, 'GET', '/metrics', { token: null });
  assert.equal(m.status, 200);
  assert.match(m.text, /# TYPE switchboard_messages_ingested_total counter/);
  const o = await api(d, 'GET', '/api/v1/openapi.json', { token: null });
  assert.equal(o.status, 200);
  assert.match(o.json.openapi, /^3\./);
});

test('credentials are required and checked', async () => {
  const body = { customer: { id: 'c1' }, text: 'hi' };
  assert.equal((await api(d, 'POST', '/api/v1/messages', { token: null, body })).status, 401);
  const bad = await api(d, 'POST', '/api/v1/messages', { token: 'sbk_not_a_key', body });
  assert.equal(bad.status, 401);
  assert.equal(bad.json.error.code, 'EAUTH');
});

test('a message is stored once, acknowledged with ids, and a repeat is recognised', async () => {
  const body = { customer: { id: 'cust-idem', name: 'Ada' }, message_id: 'm-1', text: 'Where is my order?' };
  const a = await api(d, 'POST', '/api/v1/messages', { body });
  assert.equal(a.status, 201, a.text);
  assert.equal(a.json.duplicate, false);
  assert.ok(a.json.conversation_id > 0 && a.json.message_id > 0);
  const b = await api(d, 'POST', '/api/v1/messages', { body });
  assert.equal(b.status, 200);
  assert.equal(b.json.duplicate, true);
  assert.equal(b.json.message_id, a.json.message_id);
  assert.equal(b.json.conversation_id, a.json.conversation_id);
  const msgs = await api(d, 'GET', `/api/v1/conversations/${a.json.conversation_id}/messages`);
  assert.equal(msgs.status, 200);
  const mine = msgs.json.messages.filter((m) => m.provider_message_id === 'm-1');
  assert.equal(mine.length, 1, 'stored exactly once');
});

test('wait_reply carries the bot reply; asking for a person hands off', async () => {
  const hi = await api(d, 'POST', '/api/v1/messages', {
    body: { customer: { id: 'cust-bot' }, text: 'hello', wait_reply: true } });
  assert.equal(hi.status, 201, hi.text);
  assert.equal(hi.json.reply.sender.kind, 'bot');
  assert.ok(hi.json.reply.text.length > 0);
  const human = await api(d, 'POST', '/api/v1/messages', {
    body: { customer: { id: 'cust-bot' }, text: 'I want to talk to a human please', wait_reply: true } });
  assert.equal(human.status, 201);
  assert.equal(human.json.reply.annotations.reason, 'asked_for_human');
  const conv = await api(d, 'GET', `/api/v1/conversations/${human.json.conversation_id}`);
  assert.equal(conv.json.status, 'queued');
  const zh = await api(d, 'POST', '/api/v1/messages', {
    body: { customer: { id: 'cust-zh' }, text: '我要转人工', wait_reply: true } });
  assert.equal(zh.json.reply.annotations.reason, 'asked_for_human');
});

test('bad input gets a 4xx that names the problem', async () => {
  const post = (raw) => api(d, 'POST', '/api/v1/messages', { raw, headers: { 'content-type': 'application/json' } });
  let r = await post('{"customer": ');
  assert.equal(r.status, 400);
  assert.match(r.json.error.message, /invalid JSON/);
  r = await post(JSON.stringify({ text: 'x' }));
  assert.equal(r.status, 400);
  assert.match(r.json.error.message, /'customer'/);
  r = await post(JSON.stringify({ customer: { id: 'a' }, text: 42 }));
  assert.match(r.json.error.message, /'text' must be a string/);
  r = await post(JSON.stringify({ customer: { id: 'a' } }));
  assert.match(r.json.error.message, /'text' is required/);
  r = await post('['.repeat(100) + ']'.repeat(100));
  assert.equal(r.status, 400);
  assert.match(r.json.error.message, /nested deeper/);
  r = await post(JSON.stringify({ inbox: 'nope', customer: { id: 'a' }, text: 'x' }));
  assert.equal(r.status, 404);
  assert.match(r.json.error.message, /inbox/);
  r = await post(JSON.stringify({ customer: { id: 'a' }, text: 'x'.repeat(2 * 1024 * 1024) }));
  assert.equal(r.status, 413);
  r = await api(d, 'GET', '/api/v1/nothing-here');
  assert.equal(r.status, 404);
  r = await api(d, 'DELETE', '/api/v1/messages');
  assert.equal(r.status, 405);
  r = await api(d, 'GET', '/api/v1/conversations?status=weird');
  assert.equal(r.status, 400);
  assert.match(r.json.error.message, /'status'/);
  r = await api(d, 'GET', '/api/v1/conversations/999999');
  assert.equal(r.status, 404);
});

test('an agent logs in, lists, replies, assigns and resolves; the next message reopens', async () => {
  const token = await login(d);
  const first = await api(d, 'POST', '/api/v1/messages', { body: { customer: { id: 'cust-agent', name: 'Bo' }, text: 'My parcel is late' } });
  const conv = first.json.conversation_id;
  const list = await api(d, 'GET', '/api/v1/conversations?limit=100', { token });
  assert.ok(list.json.conversations.some((c) => c.id === conv));
  const reply = await api(d, 'POST', `/api/v1/conversations/${conv}/messages`, { token, body: { text: 'Let me check that for you.' } });
  assert.equal(reply.status, 201, reply.text);
  assert.equal(reply.json.sender.kind, 'agent');
  let c = await api(d, 'GET', `/api/v1/conversations/${conv}`, { token });
  assert.equal(c.json.status, 'assigned');
  const me = await api(d, 'GET', '/api/v1/me', { token });
  assert.equal(c.json.assignee_id, me.json.agent.id);
  const mine = await api(d, 'GET', '/api/v1/conversations?assignee=me', { token });
  assert.ok(mine.json.conversations.every((x) => x.assignee_id === me.json.agent.id));
  const res = await api(d, 'POST', `/api/v1/conversations/${conv}/resolve`, { token });
  assert.equal(res.json.status, 'resolved');
  const again = await api(d, 'POST', '/api/v1/messages', { body: { customer: { id: 'cust-agent' }, text: 'One more thing' } });
  assert.notEqual(again.json.conversation_id, conv, 'a resolved conversation is not reused');
  const note = await api(d, 'POST', `/api/v1/conversations/${again.json.conversation_id}/messages`, { token, body: { text: 'VIP customer', internal: true } });
  assert.equal(note.json.annotations.internal, true);
  const contact = await api(d, 'GET', `/api/v1/contacts/${c.json.contact.id}`, { token });
  assert.equal(contact.json.name, 'Bo');
  assert.ok(contact.json.identities.some((i) => i.external_id === 'cust-agent'));
  const out = await api(d, 'POST', '/api/v1/auth/logout', { token });
  assert.equal(out.status, 200);
  assert.equal((await api(d, 'GET', '/api/v1/me', { token })).status, 401);
  const wrong = await api(d, 'POST', '/api/v1/auth/login', { token: null, body: { email: 'agent@demo.local', password: 'nope' } });
  assert.equal(wrong.status, 401);
});

test('API keys are created, scoped by role, and revoked', async () => {
  const k = await api(d, 'POST', '/api/v1/api-keys', { body: { name: 'shop backend', role: 'agent' } });
  assert.equal(k.status, 201, k.text);
  assert.match(k.json.key, /^sbk_/);
  const list = await api(d, 'GET', '/api/v1/api-keys');
  const row = list.json.api_keys.find((x) => x.name === 'shop backend');
  assert.ok(row && !('hash' in row) && !('key' in row), 'secrets are never listed');
  const ok = await api(d, 'POST', '/api/v1/messages', { token: k.json.key, body: { customer: { id: 'k1' }, text: 'hi' } });
  assert.equal(ok.status, 201);
  const forbidden = await api(d, 'POST', '/api/v1/inboxes', { token: k.json.key, body: { name: 'x' } });
  assert.equal(forbidden.status, 403);
  const inbox = await api(d, 'POST', '/api/v1/inboxes', { body: { name: 'shop-app', kind: 'api' } });
  assert.equal(inbox.status, 201, inbox.text);
  const dup = await api(d, 'POST', '/api/v1/inboxes', { body: { name: 'shop-app' } });
  assert.equal(dup.status, 409);
  const viaInbox = await api(d, 'POST', '/api/v1/messages', { token: k.json.key, body: { inbox: 'shop-app', customer: { id: 'k1' }, text: 'hi' } });
  assert.equal(viaInbox.status, 201);
  const del = await api(d, 'DELETE', `/api/v1/api-keys/${row.id}`);
  assert.equal(del.status, 200);
  const after = await api(d, 'POST', '/api/v1/messages', { token: k.json.key, body: { customer: { id: 'k1' }, text: 'hi' } });
  assert.equal(after.status, 401);
});
