// SPDX-License-Identifier: MIT
// Routing and escalation over the real daemon, as a supervisor and agents would use them:
// teams and skills set up through the API; customers who ask for a person in English and in
// Chinese are escalated, queued and given to the least-loaded online agent with the
// language skill; the agent replies and resolves; an agent whose console closes goes
// offline after the grace period and its conversation goes to another agent; transfers to an
// agent and a team; every decision carries an explanation; agents cannot change supervisor
// settings; another tenant sees none of it.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { join } from 'node:path';
import WebSocket from 'ws';
import { startDaemon, api } from './daemon.mjs';

let d;
const agents = {}; // name -> { id, token, ws }

before(async () => { d = await startDaemon(); });
after(async () => {
  for (const a of Object.values(agents)) if (a.ws) a.ws.close();
  await d.stop();
  d.cleanup();
});

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

async function until(what, fn, ms = 8000) {
  const end = Date.now() + ms;
  let last;
  while (Date.now() < end) {
    last = await fn();
    if (last) return last;
    await sleep(50);
  }
  throw new Error('timed out waiting for ' + what);
}

async function makeAgent(name, role = 'agent') {
  const password = 'pw-' + randomBytes(8).toString('hex');
  const email = `${name}@example.test`;
  const c = await api(d, 'POST', '/api/v1/agents', { body: { email, name, password, role } });
  assert.equal(c.status, 201, c.text);
  const l = await api(d, 'POST', '/api/v1/auth/login', { token: null, body: { email, password } });
  assert.equal(l.status, 200, l.text);
  agents[name] = { id: c.json.id, token: l.json.token, events: [] };
  return agents[name];
}

function openConsole(a) {
  a.ws = new WebSocket(d.url.replace('http', 'ws') + '/ws/agent?token=' + encodeURIComponent(a.token));
  a.ws.on('message', (m) => a.events.push(JSON.parse(m.toString())));
  a.ws.on('error', () => {});
  return new Promise((resolve) => a.ws.on('open', resolve));
}

async function presenceOf(id) {
  const r = await api(d, 'GET', '/api/v1/routing/agents');
  return r.json.agents.find((x) => x.agent_id === id);
}

async function customerSays(id, text) {
  const r = await api(d, 'POST', '/api/v1/messages', { body: { customer: { id, name: id }, text } });
  assert.ok(r.status === 201 || r.status === 202, r.text);
  return r.json.conversation_id;
}

const conv = async (id, token) => (await api(d, 'GET', `/api/v1/conversations/${id}`, { token })).json;

let team, en1, zh1;

test('a supervisor sets up teams, skills and capacity; agents may not', async () => {
  const alice = await makeAgent('alice');
  const bob = await makeAgent('bob');
  await makeAgent('carol');
  const sup = await makeAgent('sue', 'supervisor');

  // agents cannot change routing; supervisors can
  let r = await api(d, 'PUT', '/api/v1/routing/config', { token: alice.token, body: { w_vip: 20 } });
  assert.equal(r.status, 403);
  r = await api(d, 'POST', '/api/v1/teams', { token: alice.token, body: { name: 'x' } });
  assert.equal(r.status, 403);
  r = await api(d, 'PUT', `/api/v1/agents/${alice.id}/routing`, { token: alice.token, body: { capacity: 9 } });
  assert.equal(r.status, 403);
  r = await api(d, 'GET', '/api/v1/routing/config', { token: alice.token });
  assert.equal(r.status, 403);
  const newcomer = { email: 'dan@example.test', name: 'Dan', password: 'a-long-password' };
  r = await api(d, 'POST', '/api/v1/agents', { token: alice.token, body: newcomer });
  assert.equal(r.status, 403, 'agents do not create agents');

  // supervisors staff their teams, but only an admin hands out supervisor rights
  r = await api(d, 'POST', '/api/v1/agents', { token: sup.token, body: { ...newcomer, role: 'supervisor' } });
  assert.equal(r.status, 403);
  assert.match(r.json.error.message, /role/);
  r = await api(d, 'POST', '/api/v1/agents', { token: sup.token, body: newcomer });
  assert.equal(r.status, 201, r.text);
  assert.equal(r.json.role, 'agent');

  r = await api(d, 'PUT', '/api/v1/routing/config', {
    token: sup.token, body: { require_language: true, offline_grace_s: 1, w_vip: 12 } });
  assert.equal(r.status, 200, r.text);
  assert.equal(r.json.require_language, true);
  assert.equal(r.json.w_vip, 12);
  r = await api(d, 'PUT', '/api/v1/routing/config', { token: sup.token, body: { w_vip: -1 } });
  assert.equal(r.status, 400);
  assert.match(r.json.error.message, /w_vip/);
  r = await api(d, 'PUT', '/api/v1/routing/config', { token: sup.token, body: { nonsense: 1 } });
  assert.equal(r.status, 400);

  r = await api(d, 'POST', '/api/v1/teams', { token: sup.token, body: { name: 'china' } });
  assert.equal(r.status, 201, r.text);
  team = r.json.id;
  r = await api(d, 'POST', '/api/v1/teams', { token: sup.token, body: { name: 'china' } });
  assert.equal(r.status, 409);
  r = await api(d, 'GET', '/api/v1/teams', { token: alice.token });
  assert.deepEqual(r.json.teams.map((t) => t.name), ['china']);

  for (const [a, skills, teams] of [[alice, ['lang:en'], []], [bob, ['lang:zh', 'lang:en'], [team]],
    [agents.carol, ['lang:zh'], [team]]]) {
    r = await api(d, 'PUT', `/api/v1/agents/${a.id}/routing`, { token: sup.token, body: { skills, teams, capacity: 2 } });
    assert.equal(r.status, 200, r.text);
    assert.deepEqual(r.json.skills, skills);
    assert.equal(r.json.capacity, 2);
  }
  r = await api(d, 'PUT', `/api/v1/agents/${alice.id}/routing`, { token: sup.token, body: { teams: [999] } });
  assert.equal(r.status, 404);
  r = await api(d, 'PUT', `/api/v1/agents/${alice.id}/routing`, { token: sup.token, body: { capacity: 5000 } });
  assert.equal(r.status, 400);
});

test('consoles opening make agents online', async () => {
  await openConsole(agents.alice);
  await openConsole(agents.bob);
  await until('alice and bob online', async () =>
    (await presenceOf(agents.alice.id)).presence === 'online' &&
    (await presenceOf(agents.bob.id)).presence === 'online');
  assert.equal((await presenceOf(agents.carol.id)).presence, 'offline');
});

test('asking for a person in English escalates and goes to the least-loaded agent with the skill', async () => {
  // bob holds one English conversation first, so alice is the least loaded for the next
  const busy = await customerSays('cust-busy', 'I want to talk to a real person about my refund');
  const first = await until('first assignment', async () => {
    const c = await conv(busy);
    return c.status === 'assigned' && c;
  });
  // alice and bob both have lang:en and the same load: the tie goes to the one idle longer
  assert.ok([agents.alice.id, agents.bob.id].includes(first.assignee_id));
  assert.equal(first.routing.reason, 'least_loaded');
  assert.deepEqual(first.routing.required, ['lang:en']);
  const other = first.assignee_id === agents.alice.id ? agents.bob : agents.alice;

  en1 = await customerSays('cust-en', 'Can I speak with somebody from your team? Order 123456 arrived broken');
  const c = await until('assignment', async () => {
    const x = await conv(en1);
    return x.status === 'assigned' && x;
  });
  assert.equal(c.assignee_id, other.id, 'the agent with the lower load gets it');
  assert.equal(c.routing.reason, 'least_loaded');
  assert.equal(c.routing.tiebreak, 'lowest_load');
  assert.match(c.routing.why, /lowest load/);
  assert.ok(c.queued_at > 0);

  // the agent's console got the update with the explanation
  await until('console event', async () => other.events.some((e) =>
    e.type === 'conversation.updated' && e.conversation.id === en1 && e.conversation.routing.agent === other.id));

  // the summary the agent sees first
  const s = await api(d, 'GET', `/api/v1/conversations/${en1}/summary`, { token: other.token });
  assert.equal(s.status, 200, s.text);
  assert.equal(s.json.handoff.trigger, 'asks_human');
  assert.ok(s.json.entities.some((e) => e.type === 'order_id' && e.value === '123456'), s.text);
  assert.equal(s.json.language, 'en');
  assert.equal(s.json.contact.name, 'cust-en');
  assert.ok(s.json.contact.channels.length >= 1);
  assert.match(s.json.text, /handed off/);

  // the explanation route
  const x = await api(d, 'GET', `/api/v1/conversations/${en1}/routing`, { token: other.token });
  assert.equal(x.status, 200);
  assert.equal(x.json.last_decision.agent, other.id);
  assert.ok(x.json.priority.total >= 0);

  // the assigned agent replies, then resolves: the conversation leaves routing
  let r = await api(d, 'POST', `/api/v1/conversations/${en1}/messages`, { token: other.token, body: { text: 'Hello, I am on it.' } });
  assert.equal(r.status, 201, r.text);
  r = await api(d, 'GET', '/api/v1/queue?mine=1', { token: other.token });
  assert.ok(r.json.mine.some((m) => m.id === en1));
  r = await api(d, 'POST', `/api/v1/conversations/${en1}/resolve`, { token: other.token });
  assert.equal(r.status, 200);
  assert.equal(r.json.status, 'resolved');
  r = await api(d, 'GET', '/api/v1/queue?mine=1', { token: other.token });
  assert.ok(!r.json.mine.some((m) => m.id === en1));
  r = await api(d, 'POST', `/api/v1/conversations/${busy}/resolve`, { token: agents.sue.token });
  assert.equal(r.status, 200);
});

test('asking for a person in Chinese goes to the agent with the Chinese skill', async () => {
  zh1 = await customerSays('cust-zh', '你们的机器人没用，我要找人工客服');
  const c = await until('assignment', async () => {
    const x = await conv(zh1);
    return x.status === 'assigned' && x;
  });
  assert.equal(c.assignee_id, agents.bob.id, 'only bob is online with lang:zh');
  assert.deepEqual(c.routing.required, ['lang:zh']);
  const s = await api(d, 'GET', `/api/v1/conversations/${zh1}/summary`, { token: agents.bob.token });
  assert.equal(s.json.handoff.trigger, 'asks_human');
});

test('nobody with the skill online: it waits, and the explanation says why', async () => {
  const fr = await customerSays('cust-zh-2', '我想和真人说话');
  // bob has capacity 2 and holds one: he gets this too; the third waits
  await until('second zh assigned', async () => (await conv(fr)).status === 'assigned');
  const third = await customerSays('cust-zh-3', '请帮我转人工');
  const c = await until('queued', async () => {
    const x = await conv(third);
    return x.status === 'queued' && x.routing.reason && x;
  });
  assert.equal(c.routing.reason, 'no_agent');
  assert.match(c.routing.why, /Waiting/);
  const q = await api(d, 'GET', '/api/v1/queue', { token: agents.alice.token });
  assert.equal(q.status, 200);
  assert.ok(q.json.items.some((i) => i.id === third && i.routing_priority.waited_s >= 0));
  const mine = await api(d, 'GET', '/api/v1/queue?mine=1', { token: agents.alice.token });
  assert.ok(!mine.json.items.some((i) => i.id === third), 'alice cannot take a zh conversation');
  const x = await api(d, 'GET', `/api/v1/conversations/${third}/routing`, { token: agents.alice.token });
  assert.equal(x.json.if_offered_now.reason, 'no_agent');

  // while it waits, the customer's new messages move its priority (the signals are brought
  // up to date message by message)
  const termsOf = async () => (await api(d, 'GET', '/api/v1/queue', { token: agents.bob.token }))
    .json.items.find((i) => i.id === third).routing_priority.terms;
  assert.equal((await termsOf()).negative_trend, 0);
  await customerSays('cust-zh-3', '太差劲了，非常失望，我很生气');
  await customerSays('cust-zh-3', '垃圾服务，气死我了，太糟糕了');
  await until('negative trend', async () => (await termsOf()).negative_trend > 0);

  // carol comes online (explicit presence): she pulls the waiting one at once
  const r = await api(d, 'PUT', '/api/v1/agents/me/presence', { token: agents.carol.token, body: { presence: 'online' } });
  assert.equal(r.status, 200, r.text);
  const got = await until('carol takes it', async () => {
    const y = await conv(third);
    return y.assignee_id === agents.carol.id && y;
  });
  assert.equal(got.routing.reason, 'next_in_queue');
});

test('transfers: to an agent (forced over capacity), to a team; agents move only their own', async () => {
  // alice may not move bob's conversation
  let r = await api(d, 'POST', `/api/v1/conversations/${zh1}/transfer`, { token: agents.alice.token, body: { agent: agents.alice.id } });
  assert.equal(r.status, 403);
  // carol is at 1 of 2: bob hands zh1 to carol
  r = await api(d, 'POST', `/api/v1/conversations/${zh1}/transfer`, { token: agents.bob.token, body: { agent: agents.carol.id } });
  assert.equal(r.status, 200, r.text);
  assert.equal(r.json.assignee_id, agents.carol.id);
  assert.equal(r.json.routing.reason, 'transfer');
  // carol is now full: a plain transfer to her is refused, a forced one is not
  r = await api(d, 'POST', `/api/v1/conversations/${zh1}/transfer`, { token: agents.sue.token, body: { agent: agents.bob.id } });
  assert.equal(r.status, 200, r.text);
  r = await api(d, 'POST', `/api/v1/conversations/${zh1}/transfer`, { token: agents.sue.token, body: { agent: agents.carol.id } });
  assert.equal(r.status, 200, r.text);
  const full = await api(d, 'POST', `/api/v1/conversations/${zh1}/transfer`, { token: agents.sue.token, body: { agent: agents.alice.id } });
  assert.equal(full.status, 200, 'alice has room; skills are not required for a manual transfer');
  assert.equal(full.json.routing.skills_missing ?? true, true);
  // to the team: alice (the holder) is not in it; it goes to a team member with room
  r = await api(d, 'POST', `/api/v1/conversations/${zh1}/transfer`, { token: agents.alice.token, body: { team: team } });
  assert.equal(r.status, 200, r.text);
  assert.equal(r.json.team_id, team);
  assert.notEqual(r.json.assignee_id, agents.alice.id);
  r = await api(d, 'POST', `/api/v1/conversations/${zh1}/transfer`, { token: agents.sue.token, body: { team: 98765 } });
  assert.equal(r.status, 404);
  r = await api(d, 'POST', `/api/v1/conversations/${zh1}/transfer`, { token: agents.sue.token, body: {} });
  assert.equal(r.status, 400);
});

test('an agent whose console closes goes offline after the grace period; its conversations are re-queued to others', async () => {
  const held = (await api(d, 'GET', '/api/v1/queue?mine=1', { token: agents.bob.token })).json.mine.map((m) => m.id);
  assert.ok(held.length >= 1, 'bob holds a conversation');
  // give carol room for them
  await api(d, 'PUT', `/api/v1/agents/${agents.carol.id}/routing`, { token: agents.sue.token, body: { capacity: 10 } });
  agents.bob.ws.close();
  agents.bob.ws = null;
  await sleep(300);
  assert.equal((await presenceOf(agents.bob.id)).presence, 'online', 'still online within the grace period');
  await until('bob offline', async () => (await presenceOf(agents.bob.id)).presence === 'offline', 6000);
  for (const id of held) {
    const c = await until('re-assigned', async () => {
      const x = await conv(id);
      return x.assignee_id && x.assignee_id !== agents.bob.id && x;
    });
    assert.equal(c.status, 'assigned');
    assert.equal(c.routing.from_agent, agents.bob.id);
  }
  // requeue: the holder hands one back; it goes to someone else or waits, never back to it
  const one = held[0];
  const holderId = (await conv(one)).assignee_id;
  const holder = Object.values(agents).find((a) => a.id === holderId);
  let r = await api(d, 'POST', `/api/v1/conversations/${one}/requeue`, { token: holder.token });
  assert.equal(r.status, 200, r.text);
  assert.notEqual(r.json.assignee_id, holderId);
  assert.equal(r.json.routing.from_agent, holderId);
  r = await api(d, 'POST', `/api/v1/conversations/${one}/requeue`, { token: holder.token });
  assert.equal(r.status, 403, 'no longer the holder');
});

test('another tenant sees none of it', async () => {
  // a second tenant with its own admin key, written straight into the store
  const key = 'sbk_other_' + randomBytes(16).toString('hex');
  const h = (label) => createHash('sha256').update(label + ':' + key).digest('hex');
  const db = join(d.dataDir, 'switchboard.db');
  const now = Date.now();
  execFileSync('sqlite3', ['-cmd', '.timeout 5000', db,
    `INSERT INTO tenants (slug, name, created_ms) VALUES ('other', 'Other', ${now});` +
    `INSERT INTO api_keys (tenant_id, name, role, prefix, hash, created_ms) VALUES ` +
    `((SELECT id FROM tenants WHERE slug = 'other'), 'admin', 'admin', '${h('prefix').slice(0, 16)}', '${h('key')}', ${now});`]);
  const other = { token: key };
  let r = await api(d, 'GET', '/api/v1/queue', other);
  assert.equal(r.status, 200, r.text);
  assert.equal(r.json.waiting, 0);
  assert.deepEqual(r.json.items, []);
  for (const path of [`/api/v1/conversations/${zh1}/routing`, `/api/v1/conversations/${zh1}/summary`]) {
    r = await api(d, 'GET', path, other);
    assert.equal(r.status, 404, path);
  }
  r = await api(d, 'POST', `/api/v1/conversations/${zh1}/transfer`, { ...other, body: { team: 0 } });
  assert.equal(r.status, 404);
  r = await api(d, 'PUT', `/api/v1/agents/${agents.alice.id}/routing`, { ...other, body: { capacity: 1 } });
  assert.equal(r.status, 404);
  r = await api(d, 'GET', '/api/v1/teams', other);
  assert.deepEqual(r.json.teams, []);
  r = await api(d, 'GET', '/api/v1/routing/config', other);
  assert.equal(r.json.require_language, false, 'settings are per tenant');
});
