// SPDX-License-Identifier: MIT
// Teaching the knowledge base from the console, through the API like the console does it: a
// customer asks something the bot abstains on; an agent proposes that the message was answered
// by an FAQ entry; a supervisor sees it pending and approves it; the same question asked again
// is answered citing that entry. Agents may propose but not decide (403); the wording is the
// stored message's text without its personal data; only customer messages and FAQ/catalogue
// entries qualify; another tenant neither sees nor decides the proposals.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { startDaemon, api } from './daemon.mjs';

const PARCEL = "My package hasn't shown up yet";

let d;
let agent; // an agent's session token
before(async () => {
  d = await startDaemon();
  const created = await api(d, 'POST', '/api/v1/agents', { body: {
    email: 'ada@demo.local', name: 'Ada Agent', password: 'ada-password-1', role: 'agent' } });
  assert.equal(created.status, 201, created.text);
  const r = await api(d, 'POST', '/api/v1/auth/login', { token: null,
    body: { email: 'ada@demo.local', password: 'ada-password-1' } });
  assert.equal(r.status, 200, r.text);
  agent = r.json.token;
});
after(async () => { await d.stop(); d.cleanup(); });

const ask = (customer, text) => api(d, 'POST', '/api/v1/messages', {
  body: { customer: { id: customer }, text, wait_reply: true } });

let proposalId;

test('abstain → an agent proposes → a supervisor approves → the bot answers citing the entry', async () => {
  const first = await ask('teach-1', PARCEL);
  assert.equal(first.status, 201, first.text);
  assert.notEqual(first.json.reply.annotations.reason, 'kb_answer', 'the bot abstains today');

  const p = await api(d, 'POST', '/api/v1/kb/wordings', { token: agent,
    body: { message_id: first.json.message_id, entry: 'faq-order-status' } });
  assert.equal(p.status, 201, p.text);
  assert.equal(p.json.status, 'pending');
  assert.equal(p.json.wording, PARCEL);
  assert.equal(p.json.entry, 'faq-order-status');
  assert.equal(p.json.entry_title, 'Where is my order?');
  assert.equal(p.json.message_id, first.json.message_id);
  assert.equal(p.json.proposed_by.name, 'Ada Agent');
  assert.equal(p.json.created, true);
  proposalId = p.json.id;

  // the same question from another customer, proposed again: one proposal
  const second = await ask('teach-2', '  my package hasn\'t shown up YET ');
  const again = await api(d, 'POST', '/api/v1/kb/wordings', { token: agent,
    body: { message_id: second.json.message_id, entry: 'faq-order-status' } });
  assert.equal(again.status, 200, again.text);
  assert.equal(again.json.id, proposalId);
  assert.equal(again.json.created, false);

  // an agent cannot list or decide
  assert.equal((await api(d, 'GET', '/api/v1/kb/wordings', { token: agent })).status, 403);
  const denied = await api(d, 'POST', `/api/v1/kb/wordings/${proposalId}/approve`, { token: agent });
  assert.equal(denied.status, 403, denied.text);
  assert.equal((await api(d, 'POST', `/api/v1/kb/wordings/${proposalId}/dismiss`, { token: agent })).status, 403);

  // the supervisor (here the admin key) sees it pending and approves it
  const list = await api(d, 'GET', '/api/v1/kb/wordings?status=pending');
  assert.equal(list.status, 200, list.text);
  assert.deepEqual(list.json.wordings.map((w) => w.id), [proposalId]);
  assert.equal(list.json.next_before, null);
  const ok = await api(d, 'POST', `/api/v1/kb/wordings/${proposalId}/approve`);
  assert.equal(ok.status, 200, ok.text);
  assert.equal(ok.json.status, 'approved');
  assert.equal(typeof ok.json.decided_at, 'number');
  const t0 = Date.now();
  const third = await ask('teach-3', PARCEL);
  assert.ok(Date.now() - t0 < 1000, 'answered within a second of the approval');
  assert.equal(third.json.reply.annotations.reason, 'kb_answer', JSON.stringify(third.json.reply));
  assert.equal(third.json.reply.annotations.citations[0].doc_id, 'faq-order-status');
  const entry = await api(d, 'GET', '/api/v1/kb/entries/faq-order-status');
  assert.ok(entry.json.questions.includes(PARCEL), JSON.stringify(entry.json.questions));

  // decided once; no longer pending; proposing it again is a conflict
  assert.equal((await api(d, 'POST', `/api/v1/kb/wordings/${proposalId}/approve`)).status, 409);
  assert.equal((await api(d, 'POST', `/api/v1/kb/wordings/${proposalId}/dismiss`)).status, 409);
  assert.deepEqual((await api(d, 'GET', '/api/v1/kb/wordings')).json.wordings, []);
  const approved = await api(d, 'GET', '/api/v1/kb/wordings?status=approved');
  assert.equal(approved.json.wordings[0].id, proposalId);
  const dup = await api(d, 'POST', '/api/v1/kb/wordings', { token: agent,
    body: { message_id: third.json.message_id, entry: 'faq-order-status' } });
  assert.equal(dup.status, 409, dup.text);
});

test('dismiss leaves the KB alone; personal data never reaches the wording', async () => {
  const q = await ask('teach-4', 'Can I get it delivered to my office? Call me on +47 412 34 567');
  const p = await api(d, 'POST', '/api/v1/kb/wordings', { token: agent,
    body: { message_id: q.json.message_id, entry: 'faq-change-address' } });
  assert.equal(p.status, 201, p.text);
  assert.doesNotMatch(p.json.wording, /412|567/, p.json.wording);
  assert.match(p.json.wording, /^Can I get it delivered to my office\? Call me on …$/);
  const before = (await api(d, 'GET', '/api/v1/kb/entries/faq-change-address')).json.questions;
  const r = await api(d, 'POST', `/api/v1/kb/wordings/${p.json.id}/dismiss`);
  assert.equal(r.status, 200, r.text);
  assert.equal(r.json.status, 'dismissed');
  assert.deepEqual((await api(d, 'GET', '/api/v1/kb/entries/faq-change-address')).json.questions, before);
  assert.equal((await api(d, 'POST', `/api/v1/kb/wordings/${p.json.id}/approve`)).status, 409);
  const all = await api(d, 'GET', '/api/v1/kb/wordings?status=all&limit=1');
  assert.equal(all.json.wordings.length, 1);
  assert.equal(all.json.wordings[0].id, p.json.id);
  assert.equal(typeof all.json.next_before, 'number');
});

test('bad proposals are refused naming the field', async () => {
  const q = await ask('teach-5', 'Do you have a showroom in Bergen?');
  const convMsgs = await api(d, 'GET', `/api/v1/conversations/${q.json.conversation_id}/messages`);
  const botMsg = convMsgs.json.messages.find((m) => m.sender.kind === 'bot');
  const cases = [
    [{ entry: 'faq-showroom' }, 400, /'message_id'/],
    [{ message_id: 'x', entry: 'faq-showroom' }, 400, /'message_id'/],
    [{ message_id: q.json.message_id }, 400, /'entry'/],
    [{ message_id: 99999999, entry: 'faq-showroom' }, 404, /'message_id'/],
    [{ message_id: botMsg.id, entry: 'faq-showroom' }, 400, /not a customer's message/],
    [{ message_id: q.json.message_id, entry: 'no-such-entry' }, 404, /'entry'/],
    [{ message_id: q.json.message_id, entry: 'x'.repeat(200) }, 400, /'entry'/],
  ];
  const sections = await api(d, 'GET', '/api/v1/kb/search?q=' + encodeURIComponent('return period refund'));
  const section = sections.json.hits.find((h) => h.kind === 'section');
  assert.ok(section, JSON.stringify(sections.json));
  cases.push([{ message_id: q.json.message_id, entry: section.id }, 400, /article section/]);
  for (const [body, status, msg] of cases) {
    const r = await api(d, 'POST', '/api/v1/kb/wordings', { token: agent, body });
    assert.equal(r.status, status, `${JSON.stringify(body)}: ${r.text}`);
    assert.match(r.json.error.message, msg);
  }
  const long = await ask('teach-6', 'Where is my order? ' + 'Please hurry. '.repeat(80));
  const r = await api(d, 'POST', '/api/v1/kb/wordings', { token: agent,
    body: { message_id: long.json.message_id, entry: 'faq-order-status' } });
  assert.equal(r.status, 413, r.text);
  assert.match(r.json.error.message, /1024 bytes/);
  assert.equal((await api(d, 'GET', '/api/v1/kb/wordings?status=maybe')).status, 400);
  assert.equal((await api(d, 'POST', '/api/v1/kb/wordings/999999/approve')).status, 404);
});

test('another tenant cannot see, decide or propose from the first tenant', async () => {
  const q = await ask('teach-7', 'Can I pick up my order at the warehouse?');
  const p = await api(d, 'POST', '/api/v1/kb/wordings', { token: agent,
    body: { message_id: q.json.message_id, entry: 'faq-showroom' } });
  assert.equal(p.status, 201, p.text);

  const key = 'sbk_other_' + randomBytes(16).toString('hex');
  const h = (label) => createHash('sha256').update(label + ':' + key).digest('hex');
  const now = Date.now();
  execFileSync('sqlite3', ['-cmd', '.timeout 5000', join(d.dataDir, 'switchboard.db'),
    `INSERT INTO tenants (slug, name, created_ms) VALUES ('teach-other', 'Other', ${now});` +
    `INSERT INTO api_keys (tenant_id, name, role, prefix, hash, created_ms) VALUES ` +
    `((SELECT id FROM tenants WHERE slug = 'teach-other'), 'admin', 'admin', '${h('prefix').slice(0, 16)}', '${h('key')}', ${now});`]);
  const list = await api(d, 'GET', '/api/v1/kb/wordings?status=all', { token: key });
  assert.equal(list.status, 200, list.text);
  assert.deepEqual(list.json.wordings, []);
  assert.equal((await api(d, 'POST', `/api/v1/kb/wordings/${p.json.id}/approve`, { token: key })).status, 404);
  assert.equal((await api(d, 'POST', `/api/v1/kb/wordings/${p.json.id}/dismiss`, { token: key })).status, 404);
  // its own entry of the same name does not let it use the first tenant's message
  const put = await api(d, 'PUT', '/api/v1/kb/entries/faq-showroom', { token: key,
    body: { kind: 'faq', title: 'Do you have a showroom?', body: 'No.' } });
  assert.equal(put.status, 200, put.text);
  const steal = await api(d, 'POST', '/api/v1/kb/wordings', { token: key,
    body: { message_id: q.json.message_id, entry: 'faq-showroom' } });
  assert.equal(steal.status, 404, steal.text);
  assert.match(steal.json.error.message, /'message_id'/);
  // and the first tenant's proposal is still pending, untouched
  const mine = await api(d, 'GET', '/api/v1/kb/wordings');
  assert.ok(mine.json.wordings.some((w) => w.id === p.json.id && w.status === 'pending'));
});
