// SPDX-License-Identifier: MIT
// `switchboard chat` talks to a running server as a customer: a typed line is answered by the
// bot, and an agent's later reply appears in the terminal too.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { startDaemon, api, login, BINARY } from './daemon.mjs';

test('chat: the customer sees the bot answer and the agent reply', async () => {
  const d = await startDaemon();
  try {
    const chat = spawn(BINARY, ['chat', '--server', d.url, '--name', 'Terminal Tess'], { stdio: ['pipe', 'pipe', 'pipe'] });
    let out = '';
    chat.stdout.on('data', (b) => { out += b; });
    const waitFor = async (re, ms = 8000) => {
      const t0 = Date.now();
      while (!re.test(out)) {
        if (Date.now() - t0 > ms) throw new Error(`no ${re} in chat output:\n${out}`);
        await new Promise((r) => setTimeout(r, 50));
      }
    };
    await waitFor(/Connected to/);
    chat.stdin.write('How much is the Oslo sofa?\n');
    await waitFor(/bot> .*899/);
    const token = await login(d);
    const list = await api(d, 'GET', '/api/v1/conversations', { token });
    const conv = list.json.conversations.find((c) => c.contact.name === 'Terminal Tess');
    assert.ok(conv, 'the chat customer has a conversation');
    await api(d, 'POST', `/api/v1/conversations/${conv.id}/messages`, { token, body: { text: 'Hi Tess, it ships in a week.' } });
    await waitFor(/agent> Hi Tess, it ships in a week\./);
    chat.stdin.end();
    const code = await new Promise((r) => chat.on('exit', r));
    assert.equal(code, 0);
  } finally {
    await d.stop();
    d.cleanup();
  }
});
