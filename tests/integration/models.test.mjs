// SPDX-License-Identifier: MIT
// The bot's models in the real daemon: the demo tenant's customer messages get a sentiment out
// of the box; a business trains its own intents with the CLI and reloads them without a restart
// (POST /api/v1/models/reload, admin only, or SIGHUP); a corrupt model file is refused with an
// error naming it and the models in use stay.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { startDaemon, api, BINARY } from './daemon.mjs';

let d;
before(async () => { d = await startDaemon(); });
after(async () => { await d.stop(); d.cleanup(); });

const models = () => join(d.dataDir, 'models');

// The customer message's annotations, once the bot turn has written them.
async function annotate(customer, text) {
  const r = await api(d, 'POST', '/api/v1/messages', { body: { customer: { id: customer }, text, wait_reply: true } });
  assert.equal(r.status, 201, r.text);
  const msgs = await api(d, 'GET', `/api/v1/conversations/${r.json.conversation_id}/messages`);
  const m = msgs.json.messages.filter((x) => x.sender.kind === 'customer').pop();
  return m.annotations;
}

// A small intent set of another business: a wine shop's three intents.
function trainIntents(file, rows) {
  const tsv = join(d.dataDir, file);
  writeFileSync(tsv, 'text\tlabel\n' + rows.map(([t, l]) => `${t}\t${l}`).join('\n') + '\n');
  execFileSync(BINARY, ['train', 'intent', '--data', tsv, '--out', join(models(), 'intent.model')], { stdio: 'pipe' });
}

const wine = [];
for (const t of ['which red wine goes with lamb', 'recommend a wine for fish', 'a good wine for steak',
  'what wine with pasta', 'which white pairs with chicken', 'wine for a cheese board',
  'what should I drink with curry', 'pairing for salmon please'])
  wine.push([t, 'pairing']);
for (const t of ['book a tasting for saturday', 'can I reserve a tasting', 'tasting session for four people',
  'sign me up for the wine tasting', 'is there a tasting this weekend', 'reserve two seats at the tasting',
  'how do I book the tasting evening', 'tasting booking for friday'])
  wine.push([t, 'tasting']);
for (const t of ['is this vintage in the cellar', 'do you still have the 2015 rioja', 'stock of champagne',
  'is the merlot available', 'any bottles of barolo left', 'do you have magnums in stock',
  'is the port in stock', 'how many bottles of chablis do you have'])
  wine.push([t, 'stock']);

test('a customer message gets a sentiment annotation out of the box', async () => {
  const neg = await annotate('m-1', 'This is terrible, my parcel is two weeks late and nobody answers!!');
  assert.equal(neg.sentiment?.label, 'negative', JSON.stringify(neg));
  const pos = await annotate('m-2', '谢谢你们，服务很好');
  assert.equal(pos.sentiment?.label, 'positive', JSON.stringify(pos));
});

test('a non-admin may not reload models', async () => {
  const k = await api(d, 'POST', '/api/v1/api-keys', { body: { name: 'agent key', role: 'agent' } });
  assert.equal(k.status, 201, k.text);
  const r = await api(d, 'POST', '/api/v1/models/reload', { token: k.json.key });
  assert.equal(r.status, 403, r.text);
  const anon = await api(d, 'POST', '/api/v1/models/reload', { token: null });
  assert.equal(anon.status, 401, anon.text);
});

test('intents trained with the CLI are reloaded by the route; a corrupt file is refused', async () => {
  const goodSentiment = readFileSync(join(models(), 'sentiment.model'));
  trainIntents('wine.tsv', wine);
  const r = await api(d, 'POST', '/api/v1/models/reload');
  assert.equal(r.status, 200, r.text);
  const [intent, sentiment] = r.json.models;
  assert.equal(intent.kind, 'intent');
  assert.equal(intent.loaded, true);
  assert.equal(intent.labels, 3);
  assert.ok(intent.bytes > 0 && intent.load_ms >= 0);
  assert.equal(sentiment.kind, 'sentiment');
  assert.equal(sentiment.labels, 3);

  const a = await annotate('m-3', 'which wine would go with roast lamb?');
  assert.ok(['pairing', 'tasting', 'stock', 'oos'].includes(a.intent.label), JSON.stringify(a));
  assert.equal(a.intent.label, 'pairing', JSON.stringify(a));

  // a corrupt sentiment model: 400 naming the file, nothing swapped
  writeFileSync(join(models(), 'sentiment.model'), 'not a model at all');
  const bad = await api(d, 'POST', '/api/v1/models/reload');
  assert.equal(bad.status, 400, bad.text);
  assert.match(bad.json.error.message, /sentiment\.model/);
  const b = await annotate('m-4', 'terrible service, I am very angry');
  assert.equal(b.sentiment?.label, 'negative', 'the old sentiment model is still in use');
  assert.ok(['pairing', 'tasting', 'stock', 'oos'].includes(b.intent.label), JSON.stringify(b));

  // a model of the wrong kind in intent.model is refused too
  writeFileSync(join(models(), 'intent.model'), goodSentiment);
  const wrong = await api(d, 'POST', '/api/v1/models/reload');
  assert.equal(wrong.status, 400, wrong.text);
  assert.match(wrong.json.error.message, /intent\.model/);

  // SIGHUP reloads too: restore the sentiment model, train a two-intent set, signal
  writeFileSync(join(models(), 'sentiment.model'), goodSentiment);
  trainIntents('wine2.tsv', wine.filter(([, l]) => l !== 'stock').map(([t, l]) => [t, l === 'pairing' ? 'food_pairing' : 'book_tasting']));
  d.proc.kill('SIGHUP');
  let label;
  for (let i = 0; i < 50; i++) {
    await new Promise((res) => setTimeout(res, 100));
    label = (await annotate(`m-5-${i}`, 'can I book a tasting for next friday')).intent.label;
    if (label === 'book_tasting') break;
  }
  assert.equal(label, 'book_tasting');
});
