// SPDX-License-Identifier: MIT
// Live events over WebSocket: a widget visitor and an agent see each other's messages at once;
// a reconnect with `since` resumes without loss; bad tokens, foreign Origins and oversized
// frames are refused.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import WebSocket from 'ws';
import { startDaemon, api, login } from './daemon.mjs';

let d;
before(async () => { d = await startDaemon(); });
after(async () => { await d.stop(); d.cleanup(); });

function connect(path, opts = {}) {
  const ws = new WebSocket(d.url.replace('http', 'ws') + path, opts);
  const events = [];
  const waiters = [];
  ws.on('message', (data) => {
    const ev = JSON.parse(data.toString());
    events.push(ev);
    for (const w of [...waiters]) if (w.pred(ev)) { waiters.splice(waiters.indexOf(w), 1); w.resolve(ev); }
  });
  const closed = new Promise((resolve) => ws.on('close', (code) => resolve(code)));
  ws.on('error', () => {});
  return {
    ws, events, closed,
    next(pred, ms = 5000) {
      const found = events.find(pred);
      if (found) return Promise.resolve(found);
      return new Promise((resolve, reject) => {
        const w = { pred, resolve };
        waiters.push(w);
        setTimeout(() => reject(new Error('timed out; got ' + JSON.stringify(events))), ms);
      });
    },
  };
}

async function visitor() {
  const s = await api(d, 'POST', '/api/v1/widget/session', { token: null, body: {} });
  assert.equal(s.status, 201, s.text);
  return s.json.visitor_token;
}

test('widget and agent exchange messages live, and a reconnect resumes', async () => {
  const vt = await visitor();
  const token = await login(d);
  const agent = connect(`/ws/agent?token=${encodeURIComponent(token)}`);
  await agent.next((e) => e.type === 'ready');
  const widget = connect(`/ws/widget?token=${encodeURIComponent(vt)}`);
  await widget.next((e) => e.type === 'ready');

  const sent = await api(d, 'POST', '/api/v1/widget/messages', { token: vt, body: { text: 'Is the Oslo sofa in stock?', message_id: 'w-1' } });
  assert.equal(sent.status, 201, sent.text);
  const conv = sent.json.conversation_id;
  const atAgent = await agent.next((e) => e.type === 'message.created' && e.message.text === 'Is the Oslo sofa in stock?');
  assert.equal(atAgent.conversation.id, conv);
  await widget.next((e) => e.type === 'message.created' && e.message.sender.kind === 'customer');
  const botReply = await widget.next((e) => e.type === 'message.created' && e.message.sender.kind === 'bot');
  assert.ok(botReply.seq > 0);

  const r = await api(d, 'POST', `/api/v1/conversations/${conv}/messages`, { token, body: { text: 'Yes, in grey and blue.' } });
  assert.equal(r.status, 201);
  const live = await widget.next((e) => e.type === 'message.created' && e.message.text === 'Yes, in grey and blue.');
  const lastSeq = Math.max(...widget.events.filter((e) => e.seq).map((e) => e.seq));
  assert.ok(live.seq <= lastSeq);

  // an internal note reaches agents only
  await api(d, 'POST', `/api/v1/conversations/${conv}/messages`, { token, body: { text: 'note for colleagues', internal: true } });
  await agent.next((e) => e.type === 'message.created' && e.message.text === 'note for colleagues');

  // disconnect, miss a message, reconnect with since: the missed message arrives
  widget.ws.close();
  await widget.closed;
  await api(d, 'POST', `/api/v1/conversations/${conv}/messages`, { token, body: { text: 'Sent while you were away' } });
  const again = connect(`/ws/widget?token=${encodeURIComponent(vt)}&since=${lastSeq}`);
  const resumed = await again.next((e) => e.type === 'message.created' && e.message.text === 'Sent while you were away');
  assert.ok(resumed.seq > lastSeq);
  assert.ok(!again.events.some((e) => e.type === 'message.created' && e.seq <= lastSeq), 'nothing old is replayed');
  assert.ok(!again.events.some((e) => e.message && e.message.text === 'note for colleagues'), 'notes never reach the widget');
  const history = await api(d, 'GET', '/api/v1/widget/messages', { token: vt });
  assert.ok(history.json.messages.some((m) => m.text === 'Sent while you were away'));
  assert.ok(!history.json.messages.some((m) => m.text === 'note for colleagues'));
  again.ws.close();
  agent.ws.close();
});

test('bad tokens, foreign origins and oversized frames are refused', async () => {
  const bad = connect('/ws/agent?token=sbs_nonsense');
  assert.equal(await bad.closed, 1008);
  const forged = connect('/ws/widget?token=v1.1.2.abc.99999999999.' + '0'.repeat(64));
  assert.equal(await forged.closed, 1008);
  const vt = await visitor();
  const foreign = connect(`/ws/widget?token=${encodeURIComponent(vt)}`, { origin: 'https://evil.example' });
  const code = await foreign.closed;
  assert.notEqual(code, 1000);
  assert.equal(foreign.events.length, 0);
  const same = connect(`/ws/widget?token=${encodeURIComponent(vt)}`, { origin: d.url });
  await same.next((e) => e.type === 'ready');
  same.ws.send(JSON.stringify({ type: 'ping' }));
  await same.next((e) => e.type === 'pong');
  same.ws.send('x'.repeat(70000));
  assert.equal(await same.closed, 1009);
});

test('events while no socket is open (left unrendered) are still in the log; a fresh socket starts after them', async () => {
  // a daemon of its own: no socket of the other tests may be open
  const d2 = await startDaemon();
  try {
    const wsUrl = d2.url.replace('http', 'ws');
    const token = await login(d2);
    const open = (path) => {
      const ws = new WebSocket(wsUrl + path);
      const events = [];
      ws.on('message', (data) => events.push(JSON.parse(data.toString())));
      const ready = new Promise((resolve) => ws.on('message', (data) => {
        const ev = JSON.parse(data.toString());
        if (ev.type === 'ready') resolve(ev);
      }));
      const closed = new Promise((resolve) => ws.on('close', resolve));
      return { ws, events, ready, closed };
    };
    // one event while a socket is open: its seq is where a resume starts (since=0 is "fresh")
    const first = open(`/ws/agent?token=${encodeURIComponent(token)}`);
    await first.ready;
    await api(d2, 'POST', '/api/v1/messages', { body: { customer: { id: 'quiet-0' }, message_id: 'q-0', text: 'First' } });
    for (let i = 0; i < 50 && !first.events.some((e) => e.type === 'message.created'); i++)
      await new Promise((r) => setTimeout(r, 100));
    const s0 = Math.max(...first.events.map((e) => e.seq || 0));
    assert.ok(s0 > 0, JSON.stringify(first.events));
    first.ws.close();
    await first.closed;
    await new Promise((r) => setTimeout(r, 100)); // the daemon sees the close

    const sent = await api(d2, 'POST', '/api/v1/messages', {
      body: { customer: { id: 'quiet-1' }, message_id: 'q-1', text: 'Anyone there?', wait_reply: true } });
    assert.ok(sent.status === 200 || sent.status === 201, sent.text);

    // a fresh socket starts after what happened while no one listened
    const fresh = open(`/ws/agent?token=${encodeURIComponent(token)}`);
    const ready = await fresh.ready;
    assert.ok(ready.seq > s0, `ready ${ready.seq} after ${s0}`);
    // a socket resuming from before gets it from the event log
    const resumed = open(`/ws/agent?token=${encodeURIComponent(token)}&since=${s0}`);
    await resumed.ready;
    assert.ok(resumed.events.some((e) => e.type === 'message.created' && e.message.text === 'Anyone there?'),
      JSON.stringify(resumed.events));
    // and with sockets open, events are live again
    await api(d2, 'POST', '/api/v1/messages', { body: { customer: { id: 'quiet-1' }, message_id: 'q-2', text: 'Hello again' } });
    for (let i = 0; i < 50 && !fresh.events.some((e) => e.message && e.message.text === 'Hello again'); i++)
      await new Promise((r) => setTimeout(r, 100));
    assert.ok(fresh.events.some((e) => e.type === 'message.created' && e.message.text === 'Hello again'));
    assert.ok(!fresh.events.some((e) => e.message && e.message.text === 'Anyone there?'), 'nothing old on a fresh socket');
    fresh.ws.close();
    resumed.ws.close();
  } finally {
    await d2.stop();
    d2.cleanup();
  }
});
