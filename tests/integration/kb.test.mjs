// SPDX-License-Identifier: MIT
// The knowledge base through the API and the bot: cited answers, abstention with hand-over,
// live edits (an edit changes the bot's answer within a second), import errors that name the
// line, and the gap report of questions the bot could not answer.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startDaemon, api } from './daemon.mjs';

let d;
before(async () => { d = await startDaemon(); });
after(async () => { await d.stop(); d.cleanup(); });

const ask = (customer, text) => api(d, 'POST', '/api/v1/messages', { body: { customer: { id: customer }, text, wait_reply: true } });

test('the bot answers from the demo knowledge base with citations', async () => {
  const r = await ask('kb-1', 'How much is the Oslo sofa?');
  assert.equal(r.status, 201, r.text);
  assert.equal(r.json.reply.annotations.reason, 'kb_answer');
  assert.match(r.json.reply.text, /899/);
  assert.ok(r.json.reply.annotations.citations.length >= 1);
  assert.equal(r.json.reply.annotations.citations[0].title, 'Oslo sofa');
  const msg = await api(d, 'GET', `/api/v1/conversations/${r.json.conversation_id}/messages`);
  const customer = msg.json.messages.find((m) => m.sender.kind === 'customer');
  assert.ok(customer.annotations.language === 'en', 'customer messages carry understanding');
  assert.ok(customer.annotations.intent, 'an intent is annotated');
});

test('the bot abstains on what the KB does not know, and the question reaches the gap report', async () => {
  const r = await ask('kb-2', 'Can I pay with bitcoin?');
  assert.notEqual(r.json.reply.annotations.reason, 'kb_answer');
  assert.doesNotMatch(r.json.reply.text, /bitcoin/i);
  const gaps = await api(d, 'GET', '/api/v1/kb/gaps');
  assert.equal(gaps.status, 200);
  assert.ok(gaps.json.gaps.some((g) => /bitcoin/i.test(g.question)), JSON.stringify(gaps.json));
});

test('an edit changes the answer within a second; delete removes it', async () => {
  const put = await api(d, 'PUT', '/api/v1/kb/entries/faq-bitcoin', { body: {
    kind: 'faq', title: 'Can I pay with bitcoin?', questions: ['Do you accept cryptocurrency?'],
    body: 'No, we do not accept bitcoin or other cryptocurrencies. We accept cards and PayPal.' } });
  assert.equal(put.status, 200, put.text);
  const t0 = Date.now();
  const r = await ask('kb-3', 'Can I pay with bitcoin?');
  assert.ok(Date.now() - t0 < 1000);
  assert.equal(r.json.reply.annotations.reason, 'kb_answer', JSON.stringify(r.json.reply));
  assert.equal(r.json.reply.annotations.citations[0].doc_id, 'faq-bitcoin');
  const got = await api(d, 'GET', '/api/v1/kb/entries/faq-bitcoin');
  assert.deepEqual(got.json.questions, ['Do you accept cryptocurrency?']);
  const del = await api(d, 'DELETE', '/api/v1/kb/entries/faq-bitcoin');
  assert.equal(del.status, 200);
  assert.equal((await api(d, 'GET', '/api/v1/kb/entries/faq-bitcoin')).status, 404);
  const s = await api(d, 'GET', '/api/v1/kb/search?q=bitcoin');
  assert.ok(!s.json.hits.some((h) => h.id === 'faq-bitcoin'));
});

test('import stores a file at once or not at all, naming the bad line', async () => {
  const good = '{"id":"faq-gift","question":"Do you sell gift cards?","answer":"Yes, from 25 to 500 euros."}\n';
  const ok = await api(d, 'POST', '/api/v1/kb/import?name=gifts.jsonl', { raw: good });
  assert.equal(ok.status, 201, ok.text);
  assert.equal(ok.json.imported, 1);
  const bad = good.replace('gift"', 'gift2"') + '{"id": "x", "question": }\n';
  const r = await api(d, 'POST', '/api/v1/kb/import?name=more.jsonl', { raw: bad });
  assert.equal(r.status, 400);
  assert.match(r.json.error.message, /more\.jsonl:2/);
  assert.equal((await api(d, 'GET', '/api/v1/kb/entries/faq-gift2')).status, 404, 'nothing half-imported');
  const list = await api(d, 'GET', '/api/v1/kb/entries?limit=1000');
  assert.ok(list.json.entries.some((e) => e.id === 'faq-gift'));
  const ans = await api(d, 'GET', '/api/v1/kb/answer?q=' + encodeURIComponent('do you sell gift cards'));
  assert.equal(ans.json.decision, 'answer');
});

test('agents cannot edit the knowledge base; bad requests say why', async () => {
  const k = await api(d, 'POST', '/api/v1/api-keys', { body: { name: 'reader', role: 'agent' } });
  const r = await api(d, 'PUT', '/api/v1/kb/entries/x', { token: k.json.key, body: { kind: 'faq', title: 'x' } });
  assert.equal(r.status, 403);
  const bad = await api(d, 'PUT', '/api/v1/kb/entries/x', { body: { kind: 'poem', title: 'x' } });
  assert.equal(bad.status, 400);
  assert.match(bad.json.error.message, /'kind'/);
  const noq = await api(d, 'GET', '/api/v1/kb/search');
  assert.equal(noq.status, 400);
});
