// SPDX-License-Identifier: MIT
// Event → agent console latency with many connected agent consoles (issue 7 benchmark).
//   node agent_events.mjs setup URL ADMIN_KEY N TOKENS_FILE
//     creates N agents (capacity 3, skill lang:en), logs each in, writes their session tokens.
//   node agent_events.mjs run URL ADMIN_KEY TOKENS_FILE RATE SECONDS
//     opens one /ws/agent console per token (each agent goes online), then posts RATE customer
//     messages per second for SECONDS through POST /api/v1/messages (one in five asks for a
//     person, so hand-offs, routing decisions and conversation.updated events run meanwhile),
//     and measures, for every (message, console) pair, the time from just before the POST was
//     sent to the message.created event arriving at that console. Prints one JSON line.
//   node agent_events.mjs send URL ADMIN_KEY RATE SECONDS
//     only the sender, for agent_console_client.c (the C consoles run_agent_events.sh uses).
// In "run", sender and consoles share this process and clock; the latency includes the HTTP ingest, the
// durable commit, the bot-pool hop that publishes, the fan-out on the network loop, and this
// client's own event-loop delays (so it is an upper bound).
import WebSocket from '../../tests/integration/node_modules/ws/index.js';
import { readFileSync, writeFileSync } from 'node:fs';
import { performance } from 'node:perf_hooks';

const [mode, url, key, ...rest] = process.argv.slice(2);
const H = { authorization: `Bearer ${key}`, 'content-type': 'application/json' };
const post = (path, body, headers = H) =>
  fetch(url + path, { method: 'POST', headers, body: JSON.stringify(body) }).then(async (r) => ({ status: r.status, json: await r.json() }));

async function pool(n, width, fn) {
  let next = 0;
  await Promise.all(Array.from({ length: width }, async () => {
    while (next < n) await fn(next++);
  }));
}

if (mode === 'setup') {
  const [nArg, file] = rest;
  const n = Number(nArg);
  await fetch(url + '/api/v1/routing/config', { method: 'PUT', headers: H, body: JSON.stringify({ default_capacity: 3 }) });
  const tokens = new Array(n);
  await pool(n, 4, async (i) => {
    const email = `bench-agent-${i}@example.test`, password = 'bench-password-' + i;
    const c = await post('/api/v1/agents', { email, name: `Agent ${i}`, password, role: 'agent' });
    if (c.status !== 201) throw new Error('agent: ' + JSON.stringify(c.json));
    await fetch(url + `/api/v1/agents/${c.json.id}/routing`, { method: 'PUT', headers: H, body: JSON.stringify({ skills: ['lang:en'], capacity: 3 }) });
    const l = await post('/api/v1/auth/login', { email, password }, { 'content-type': 'application/json' });
    if (l.status !== 200) throw new Error('login: ' + JSON.stringify(l.json));
    tokens[i] = l.json.token;
  });
  writeFileSync(file, JSON.stringify(tokens));
  console.log(JSON.stringify({ agents: n }));
  process.exit(0);
}

if (mode === 'send') {
  // Only the sender (the consoles are agent_console_client.c): each text carries its send
  // time, "bench <tag> <epoch ms>", taken just before the POST.
  const [rateArg, secArg] = rest;
  const rate = Number(rateArg || 20), seconds = Number(secArg || 10);
  const total = Math.round(rate * seconds);
  const runTag = Date.now().toString(36);
  const wall = () => (performance.timeOrigin + performance.now()).toFixed(3);
  const start = performance.now();
  const pending = [], acks = [];
  for (let i = 0; i < total; i++) {
    const wait = start + (i * 1000) / rate - performance.now();
    if (wait > 0) await new Promise((r) => setTimeout(r, wait));
    const what = i % 5 === 0 ? 'can I talk to a person please' : `where is my order ${100000 + i}?`;
    const t0 = performance.now();
    pending.push(post('/api/v1/messages', { customer: { id: `bench-${runTag}-${i % 200}` }, text: `bench ${i} ${wall()} ${what}` })
      .then(() => acks.push(performance.now() - t0)));
  }
  await Promise.all(pending);
  acks.sort((a, b) => a - b);
  const qa = (p) => Math.round(acks[Math.min(acks.length - 1, Math.floor(p * acks.length))] * 10) / 10;
  console.log(JSON.stringify({ messages: total, rate_per_s: rate, ack_p50_ms: qa(0.5), ack_p99_ms: qa(0.99) }));
  process.exit(0);
}

const [file, rateArg, secArg] = rest;
const tokens = JSON.parse(readFileSync(file, 'utf8'));
const rate = Number(rateArg || 20), seconds = Number(secArg || 10);
const MARK = Buffer.from('"text":"bench ');
const sentAt = new Map(); // tag -> performance.now() just before the POST
const lat = [];
let updates = 0, ready = 0;
const sockets = [];
await pool(tokens.length, 50, async (i) => {
  await new Promise((resolve, reject) => {
    const ws = new WebSocket(url.replace('http', 'ws') + '/ws/agent?token=' + encodeURIComponent(tokens[i]), { perMessageDeflate: false });
    // Buffers are searched in place (no string copy of each ~2 KB event), so that this
    // single process keeps up with 500 consoles and adds as little delay as it can.
    ws.on('message', (data) => {
      const now = performance.now();
      const head = data.subarray(0, 40);
      if (head.includes('"ready"')) { ready++; resolve(); return; }
      if (head.includes('conversation.updated')) { updates++; return; }
      if (!head.includes('message.created')) return;
      const at = data.indexOf(MARK);
      if (at < 0) return;
      let tag = 0, k = at + MARK.length;
      while (data[k] >= 48 && data[k] <= 57) tag = tag * 10 + (data[k++] - 48);
      const t0 = sentAt.get(String(tag));
      if (t0 !== undefined) lat.push(now - t0);
    });
    ws.on('error', reject);
    sockets.push(ws);
  });
});
await new Promise((r) => setTimeout(r, 1000)); // presence settles
const total = Math.round(rate * seconds);
const runTag = Date.now().toString(36); // new customers each run: new conversations, new hand-offs
const start = performance.now();
const pending = [];
for (let i = 0; i < total; i++) {
  const due = start + (i * 1000) / rate;
  const wait = due - performance.now();
  if (wait > 0) await new Promise((r) => setTimeout(r, wait));
  const tag = String(i);
  const text = i % 5 === 0 ? `bench ${tag} can I talk to a person please` : `bench ${tag} where is my order ${100000 + i}?`;
  sentAt.set(tag, performance.now());
  pending.push(post('/api/v1/messages', { customer: { id: `bench-${runTag}-${i % 200}` }, text }));
}
await Promise.all(pending);
await new Promise((r) => setTimeout(r, 2000)); // the last events arrive
const expected = total * tokens.length;
lat.sort((a, b) => a - b);
const q = (p) => lat.length ? Math.round(lat[Math.min(lat.length - 1, Math.floor(p * lat.length))] * 10) / 10 : null;
console.log(JSON.stringify({ consoles: ready, messages: total, rate_per_s: rate, deliveries: lat.length,
  expected_deliveries: expected, conversation_updates: updates, p50_ms: q(0.5), p90_ms: q(0.9), p99_ms: q(0.99),
  max_ms: q(1) }));
for (const ws of sockets) ws.terminate();
process.exit(0);
