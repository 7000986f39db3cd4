// SPDX-License-Identifier: MIT
// The supervisor dashboard over the real daemon: only supervisors and admins see it (an agent
// gets 403); a scripted day — a greeting the bot handles and a supervisor closes, a customer
// who asks for a person and is answered and resolved by an agent, a widget visitor whose
// conversation an agent takes over, resolves and the visitor rates — gives exactly the
// figures docs/metrics.md defines; the CSV export has one RFC 4180 row per conversation with
// formula-looking cells neutralised; another tenant sees none of it.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startDaemon, api, BINARY } from './daemon.mjs';

let d, dir;
const people = {};

// The demo has no sentiment model (messages then carry no sentiment and the trend is empty):
// train a tiny one into the data directory first, as the README tells a user to.
const SENTIMENT = [
  ['thank you so much, great service', 'positive'], ['love it, works perfectly', 'positive'],
  ['that was fast, thanks', 'positive'], ['excellent, very happy', 'positive'],
  ['wonderful help, appreciated', 'positive'], ['brilliant, you are the best', 'positive'],
  ['hello', 'neutral'], ['where is my order 12345?', 'neutral'], ['what time do you open', 'neutral'],
  ['I want to talk to a human please', 'neutral'], ['do you ship to canada', 'neutral'],
  ['how do I change my address', 'neutral'],
  ['this is terrible, I am angry', 'negative'], ['worst service ever', 'negative'],
  ['my parcel is broken and nobody helps', 'negative'], ['you lied to me', 'negative'],
  ['awful, I want my money back now', 'negative'], ['very disappointed and upset', 'negative'],
];

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'sb-dash-'));
  mkdirSync(join(dir, 'models'));
  const tsv = join(dir, 'sentiment.tsv');
  writeFileSync(tsv, 'text\tlabel\n' + SENTIMENT.map(([t, l]) => `${t}\t${l}`).join('\n') + '\n');
  execFileSync(BINARY, ['train', 'sentiment', '--data', tsv, '--out', join(dir, 'models', 'sentiment.model'), '--quiet']);
  d = await startDaemon({ dataDir: dir });
});
after(async () => { await d.stop(); d.cleanup(); rmSync(dir, { recursive: true, force: true }); });

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

async function until(what, fn, ms = 15000) {
  const end = Date.now() + ms;
  let last;
  while (Date.now() < end) {
    last = await fn();
    if (last) return last;
    await sleep(100);
  }
  throw new Error('timed out waiting for ' + what + ': ' + JSON.stringify(last));
}

async function person(name, role) {
  const password = 'pw-' + randomBytes(8).toString('hex');
  const email = `${name}@example.test`;
  const c = await api(d, 'POST', '/api/v1/agents', { body: { email, name, password, role } });
  assert.equal(c.status, 201, c.text);
  const l = await api(d, 'POST', '/api/v1/auth/login', { token: null, body: { email, password } });
  assert.equal(l.status, 200, l.text);
  people[name] = { id: c.json.id, token: l.json.token };
  return people[name];
}

// A small RFC 4180 reader: quoted fields, doubled quotes, CRLF records.
function parseCsv(text) {
  const rows = [];
  let row = [], field = '', i = 0, quoted = false;
  while (i < text.length) {
    const c = text[i];
    if (quoted) {
      if (c === '"' && text[i + 1] === '"') { field += '"'; i += 2; continue; }
      if (c === '"') { quoted = false; i++; continue; }
      field += c; i++; continue;
    }
    if (c === '"') { quoted = true; i++; continue; }
    if (c === ',') { row.push(field); field = ''; i++; continue; }
    if (c === '\r' && text[i + 1] === '\n') { row.push(field); rows.push(row); row = []; field = ''; i += 2; continue; }
    field += c; i++;
  }
  assert.equal(field, '', 'the last record ends with CRLF');
  return rows;
}

const dash = (token, query = '') => api(d, 'GET', '/api/v1/dashboard' + query, { token });

test('only supervisors and admins see the dashboard and the export', async () => {
  const alice = await person('alice', 'agent');
  const sue = await person('sue', 'supervisor');
  for (const path of ['/api/v1/dashboard', '/api/v1/reports/conversations.csv']) {
    let r = await api(d, 'GET', path, { token: alice.token });
    assert.equal(r.status, 403, path);
    assert.equal(r.json.error.code, 'EFORBIDDEN');
    r = await api(d, 'GET', path, { token: null });
    assert.equal(r.status, 401, path);
    r = await api(d, 'GET', path, { token: sue.token });
    assert.equal(r.status, 200, path + ': ' + r.text);
    r = await api(d, 'GET', path); // the admin key
    assert.equal(r.status, 200, path);
  }
  // the page itself is static; its data needs the role
  const page = await fetch(d.url + '/console/dashboard');
  assert.equal(page.status, 200);
  assert.match(await page.text(), /dashboard\.js/);
});

test('bad periods are refused with the field named', async () => {
  const t = people.sue.token;
  let r = await dash(t, '?from=2000&to=1000');
  assert.equal(r.status, 400);
  assert.match(r.json.error.message, /to/);
  r = await dash(t, '?tz_offset=7');
  assert.equal(r.status, 400);
  assert.match(r.json.error.message, /tz_offset/);
  r = await dash(t, '?tz_offset=900');
  assert.equal(r.status, 400);
  r = await dash(t, '?from=0&to=' + 400 * 86400000);
  assert.equal(r.status, 400);
  r = await dash(t, '?top=0');
  assert.equal(r.status, 400);
});

let greetConv, humanConv, webConv;
const start = Date.now();

test('a scripted day gives the defined figures', async () => {
  const { alice, sue } = people;
  // 1. a greeting: the bot answers; a supervisor closes it later — no person ever spoke
  let r = await api(d, 'POST', '/api/v1/messages', {
    body: { customer: { id: 'dash-greet', name: 'Greta' }, text: 'hello', wait_reply: true } });
  assert.equal(r.status, 201, r.text);
  greetConv = r.json.conversation_id;
  // 2. asks for a person: handed off and waiting (no agent has a console open)
  r = await api(d, 'POST', '/api/v1/messages', {
    body: { customer: { id: 'dash-human', name: '=HYPERLINK("http://evil.example","x")' },
            text: 'I want to talk to a human please', wait_reply: true } });
  assert.equal(r.status, 201, r.text);
  humanConv = r.json.conversation_id;
  assert.equal((await api(d, 'GET', `/api/v1/conversations/${humanConv}`)).json.status, 'queued');
  // 3. a widget visitor asks about an order
  const s = await api(d, 'POST', '/api/v1/widget/session', { token: null, body: {} });
  assert.equal(s.status, 201, s.text);
  const vt = s.json.visitor_token;
  r = await api(d, 'POST', '/api/v1/widget/messages', { token: vt, body: { text: 'where is my order 12345?' } });
  assert.equal(r.status, 201, r.text);
  webConv = r.json.conversation_id;

  r = await dash(sue.token);
  assert.equal(r.status, 200, r.text);
  assert.equal(r.json.queue.waiting, 1);
  assert.ok(r.json.queue.longest_wait_ms >= 0 && r.json.queue.longest_wait_ms < 60000);
  assert.equal(r.json.queue.awaiting_first_response, 1);
  assert.equal(r.json.conversations.total, 3);
  assert.equal(r.json.conversations.handed_off, 1);

  // the agent answers the waiting customer one moment later and resolves
  await sleep(300);
  r = await api(d, 'POST', `/api/v1/conversations/${humanConv}/messages`, { token: alice.token, body: { text: 'Hi, Alice here.' } });
  assert.equal(r.status, 201, r.text);
  r = await api(d, 'POST', `/api/v1/conversations/${humanConv}/resolve`, { token: alice.token });
  assert.equal(r.status, 200, r.text);
  // the supervisor closes the greeting
  r = await api(d, 'POST', `/api/v1/conversations/${greetConv}/resolve`, { token: sue.token });
  assert.equal(r.status, 200, r.text);
  // the agent takes over the widget conversation by replying, resolves; the visitor rates 4
  r = await api(d, 'POST', `/api/v1/conversations/${webConv}/messages`, { token: alice.token, body: { text: 'It ships today.' } });
  assert.equal(r.status, 201, r.text);
  r = await api(d, 'POST', `/api/v1/conversations/${webConv}/resolve`, { token: alice.token });
  assert.equal(r.status, 200, r.text);
  r = await api(d, 'POST', '/api/v1/widget/csat', { token: vt, body: { rating: 4, comment: 'quick' } });
  assert.equal(r.status, 201, r.text);

  // enrichment runs after the acknowledgement: wait for the three customer messages' labels
  const got = await until('labels of three messages', async () => {
    const x = await dash(sue.token);
    return x.json.intents.messages === 3 ? x.json : null;
  });
  const c = got.conversations;
  assert.equal(c.total, 3);
  assert.equal(c.handed_off, 2);
  assert.ok(Math.abs(c.hand_off_rate - 2 / 3) < 1e-9);
  assert.equal(c.resolved, 3);
  assert.equal(c.bot_resolved, 0, 'not final before its 24 h reopen window has passed');
  assert.equal(c.bot_resolved_provisional, 1, 'the greeting');
  assert.ok(Math.abs(c.bot_resolved_rate_with_provisional - 1 / 3) < 1e-9);
  assert.equal(c.reopened, 0);
  assert.equal(got.queue.waiting, 0);
  assert.equal(got.queue.awaiting_first_response, 0);
  assert.equal(got.first_response.count, 2);
  // the take-over counts 0 s; the queued customer waited at least the 300 ms above
  assert.ok(got.first_response.p90_ms >= 300, JSON.stringify(got.first_response));
  assert.equal(got.first_response.median_ms, 0);
  assert.equal(got.resolution.count, 3);
  assert.ok(got.resolution.p90_ms <= Date.now() - start);
  assert.deepEqual(got.csat, { count: 1, mean: 4, distribution: [0, 0, 0, 1, 0] });
  const vol = Object.fromEntries(got.volume.map((v) => [v.channel, v]));
  assert.equal(vol.api.conversations, 2);
  assert.equal(vol.api.customer_messages, 2);
  assert.equal(vol.web.conversations, 1);
  assert.equal(vol.web.agent_messages, 1);
  assert.equal(vol.api.agent_messages, 1);
  assert.ok(vol.api.bot_messages >= 2, 'the bot answered both api customers');
  const a = got.agents.find((x) => x.id === alice.id);
  assert.equal(a.name, 'alice');
  assert.equal(a.assigned, 0);
  assert.equal(a.csat_count, 1);
  assert.equal(a.csat_mean, 4);
  assert.ok(['online', 'away', 'offline'].includes(a.presence));
  // today has one day of sentiment holding the three messages
  const today = got.sentiment[got.sentiment.length - 1];
  assert.equal(got.sentiment.length, 1);
  assert.equal(today.positive + today.neutral + today.negative + today.other, 3);
  assert.match(today.date, /^\d{4}-\d{2}-\d{2}$/);
  const intents = got.intents.top.reduce((n, x) => n + x.messages, 0) + got.intents.out_of_scope;
  assert.equal(intents, 3);
  assert.ok(got.intents.top.every((x, i, xs) => i === 0 || xs[i - 1].messages >= x.messages));

  // a period before any of it is empty
  r = await dash(sue.token, '?from=0&to=86400000');
  assert.equal(r.json.conversations.total, 0);
  assert.equal(r.json.first_response.median_ms, null);
  assert.equal(r.json.conversations.hand_off_rate, null);
});

test('the CSV export has one quoted, formula-safe row per conversation', async () => {
  const r = await api(d, 'GET', '/api/v1/reports/conversations.csv', { token: people.sue.token });
  assert.equal(r.status, 200, r.text);
  assert.match(r.headers.get('content-type'), /^text\/csv/);
  assert.match(r.headers.get('content-disposition'), /attachment; filename="conversations-\d+-\d+\.csv"/);
  const rows = parseCsv(r.text);
  const head = rows[0];
  assert.deepEqual(head.slice(0, 3), ['conversation_id', 'channel', 'inbox']);
  assert.equal(rows.length, 4, 'a header and three conversations');
  assert.ok(rows.every((x) => x.length === head.length));
  const byId = Object.fromEntries(rows.slice(1).map((x) => [Number(x[0]), Object.fromEntries(head.map((h, i) => [h, x[i]]))]));
  const human = byId[humanConv];
  // the spreadsheet sees text, not a formula; the raw bytes are quoted with doubled quotes
  assert.equal(human.contact_name, `'=HYPERLINK("http://evil.example","x")`);
  assert.ok(r.text.includes(`"'=HYPERLINK(""http://evil.example"",""x"")"`));
  assert.equal(human.status, 'resolved');
  assert.equal(human.assignee, 'alice');
  assert.equal(human.bot_resolved, 'no');
  assert.ok(Number(human.first_response_s) >= 0.3);
  assert.match(human.handoff_at, /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/);
  assert.equal(byId[greetConv].bot_resolved, 'provisional');
  assert.equal(byId[greetConv].handoff_at, '');
  assert.equal(byId[webConv].channel, 'web');
  assert.equal(byId[webConv].csat, '4');
  assert.equal(byId[webConv].first_response_s, '0.000');
  const empty = await api(d, 'GET', '/api/v1/reports/conversations.csv?from=0&to=1000', { token: people.sue.token });
  assert.equal(parseCsv(empty.text).length, 1);
});

test('another tenant sees none of it', async () => {
  const key = 'sbk_other_' + randomBytes(16).toString('hex');
  const h = (label) => createHash('sha256').update(label + ':' + key).digest('hex');
  const db = join(d.dataDir, 'switchboard.db');
  const now = Date.now();
  execFileSync('sqlite3', ['-cmd', '.timeout 5000', db,
    `INSERT INTO tenants (slug, name, created_ms) VALUES ('dash-other', 'Other', ${now});` +
    `INSERT INTO api_keys (tenant_id, name, role, prefix, hash, created_ms) VALUES ` +
    `((SELECT id FROM tenants WHERE slug = 'dash-other'), 'admin', 'admin', '${h('prefix').slice(0, 16)}', '${h('key')}', ${now});`]);
  const r = await dash(key);
  assert.equal(r.status, 200, r.text);
  assert.equal(r.json.conversations.total, 0);
  assert.deepEqual(r.json.agents, []);
  assert.equal(r.json.csat.count, 0);
  assert.equal(r.json.intents.messages, 0);
  const csv = await api(d, 'GET', '/api/v1/reports/conversations.csv', { token: key });
  assert.equal(parseCsv(csv.text).length, 1);
});
