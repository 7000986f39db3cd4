// SPDX-License-Identifier: MIT
// kill -9 during a load run loses no acknowledged message: every message the daemon answered
// with ids is there after a restart, exactly once.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startDaemon, api } from './daemon.mjs';

test('acknowledged messages survive kill -9, stored exactly once', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'sb-kill-'));
  const adminKey = 'sbk_kill_test_key_0123456789abcdef';
  let d = await startDaemon({ dataDir: dir, adminKey });
  const acked = new Map(); // message_id -> {conversation_id, message_id}
  let stop = false;
  let sent = 0;
  const client = async (c) => {
    for (let i = 0; !stop; i++) {
      const id = `c${c}-m${i}`;
      sent++;
      try {
        const r = await api(d, 'POST', '/api/v1/messages', { body: { customer: { id: `kill-${c}` }, message_id: id, text: `load ${id}` } });
        if (r.status === 201 || r.status === 200) acked.set(id, r.json);
      } catch { return; } // connection dropped by the kill
    }
  };
  const clients = Array.from({ length: 16 }, (_, c) => client(c));
  await new Promise((r) => setTimeout(r, 1500));
  await d.kill9();
  stop = true;
  await Promise.all(clients);
  assert.ok(acked.size > 50, `load ran (${acked.size} acknowledged of ${sent} sent)`);

  d = await startDaemon({ dataDir: dir, adminKey });
  try {
    // every acknowledged message is still there under the same ids ...
    for (const [id, ids] of acked) {
      const [c] = id.split('-');
      const r = await api(d, 'POST', '/api/v1/messages', { body: { customer: { id: `kill-${c.slice(1)}` }, message_id: id, text: `load ${id}` } });
      assert.equal(r.json.duplicate, true, `${id} was acknowledged but is missing`);
      assert.equal(r.json.message_id, ids.message_id);
    }
    // ... and stored once: list each customer's conversation
    const convs = new Set([...acked.values()].map((v) => v.conversation_id));
    for (const conv of convs) {
      const seen = new Map();
      let after = 0;
      for (;;) {
        const page = await api(d, 'GET', `/api/v1/conversations/${conv}/messages?after=${after}&limit=500`);
        for (const m of page.json.messages) {
          if (m.provider_message_id) seen.set(m.provider_message_id, (seen.get(m.provider_message_id) || 0) + 1);
        }
        if (!page.json.next_after) break;
        after = page.json.next_after;
      }
      for (const [pid, n] of seen) assert.equal(n, 1, `${pid} stored ${n} times`);
    }
  } finally {
    await d.stop();
    rmSync(dir, { recursive: true, force: true });
  }
});
