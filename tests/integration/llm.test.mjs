// SPDX-License-Identifier: MIT
// Optional LLM phrasing of knowledge-base answers, end to end: the daemon is pointed at a small
// OpenAI-compatible stub server started here. A grounded rewrite is sent to the customer; an
// ungrounded one, an error or a slow endpoint gives the extractive answer, never later than the
// timeout; PII never reaches the endpoint; the annotations say which path was taken.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startDaemon, api } from './daemon.mjs';

const TIMEOUT_MS = 800;
let d;
let stub;
let mode = 'grounded';
const received = []; // { auth, body } of every request the stub got

function startStub() {
  return new Promise((resolve) => {
    const s = createServer((req, res) => {
      let body = '';
      req.on('data', (c) => { body += c; });
      req.on('end', () => {
        received.push({ url: req.url, auth: req.headers.authorization, body });
        const reply = (content) => {
          res.writeHead(200, { 'content-type': 'application/json' });
          res.end(JSON.stringify({ id: 'stub', object: 'chat.completion',
            choices: [{ index: 0, message: { role: 'assistant', content }, finish_reason: 'stop' }] }));
        };
        if (mode === 'grounded') reply('Price of the Oslo sofa: 899 €.');
        else if (mode === 'ungrounded') reply('The Oslo sofa costs 499 € and ships free tomorrow.');
        else if (mode === 'error') { res.writeHead(500); res.end('{"error":"boom"}'); }
        else if (mode === 'slow') setTimeout(() => { if (!res.destroyed) reply('Price of the Oslo sofa: 899 €.'); }, 10000);
      });
    });
    s.listen(0, '127.0.0.1', () => resolve(s));
  });
}

before(async () => {
  stub = await startStub();
  d = await startDaemon({
    env: { SB_LLM_KEY: 'sk-test-123' },
    args: ['--llm-url', `http://127.0.0.1:${stub.address().port}/v1`, '--llm-model', 'stub-model',
      '--llm-timeout-ms', String(TIMEOUT_MS)],
  });
});
after(async () => {
  await d.stop();
  d.cleanup();
  stub.closeAllConnections();
  stub.close();
});

let n = 0;
const ask = (text) => api(d, 'POST', '/api/v1/messages', { body: { customer: { id: `llm-${++n}` }, text, wait_reply: true } });

test('a grounded rewrite from the LLM is the reply, and the annotations say so', async () => {
  mode = 'grounded';
  received.length = 0;
  const r = await ask('How much is the Oslo sofa?');
  assert.equal(r.status, 201, r.text);
  const a = r.json.reply.annotations;
  assert.equal(a.reason, 'kb_answer', JSON.stringify(a));
  assert.equal(a.phrasing, 'llm', JSON.stringify(a));
  assert.equal(r.json.reply.text, 'Price of the Oslo sofa: 899 €.');
  assert.ok(a.citations.length >= 1 && a.citations[0].title === 'Oslo sofa');
  assert.equal(received.length, 1);
  assert.equal(received[0].url, '/v1/chat/completions');
  assert.equal(received[0].auth, 'Bearer sk-test-123');
  const req = JSON.parse(received[0].body);
  assert.equal(req.model, 'stub-model');
  const prompt = req.messages.map((m) => m.content).join('\n');
  assert.match(prompt, /899/, 'the cited passage is in the prompt');
  assert.match(prompt, /How much is the Oslo sofa/);
});

test('an unsupported sentence gives the extractive answer', async () => {
  mode = 'ungrounded';
  const r = await ask('How much is the Oslo sofa?');
  const a = r.json.reply.annotations;
  assert.equal(a.reason, 'kb_answer');
  assert.equal(a.phrasing, 'extractive');
  assert.equal(a.llm_fallback, 'ungrounded');
  assert.doesNotMatch(r.json.reply.text, /499|free/);
  assert.match(r.json.reply.text, /899/);
});

test('an HTTP error gives the extractive answer', async () => {
  mode = 'error';
  const r = await ask('How much is the Oslo sofa?');
  assert.equal(r.json.reply.annotations.phrasing, 'extractive');
  assert.equal(r.json.reply.annotations.llm_fallback, 'error');
  assert.match(r.json.reply.text, /899/);
});

test('a slow LLM never delays the reply beyond the timeout', async () => {
  mode = 'slow';
  const t0 = Date.now();
  const r = await ask('How much is the Oslo sofa?');
  const took = Date.now() - t0;
  assert.equal(r.status, 201);
  assert.equal(r.json.reply.annotations.phrasing, 'extractive');
  assert.equal(r.json.reply.annotations.llm_fallback, 'timeout');
  assert.ok(r.json.reply.annotations.llm_ms < TIMEOUT_MS + 300, JSON.stringify(r.json.reply.annotations));
  assert.ok(took < TIMEOUT_MS + 1500, `reply after ${took} ms`);
  assert.match(r.json.reply.text, /899/);
});

test('PII in the question never reaches the LLM', async () => {
  mode = 'grounded';
  received.length = 0;
  const r = await ask('How much is the Oslo sofa? Mail me at jane.doe@example.com');
  assert.equal(r.json.reply.annotations.reason, 'kb_answer', JSON.stringify(r.json.reply.annotations));
  assert.equal(received.length, 1, 'the LLM was asked');
  assert.doesNotMatch(received[0].body, /jane\.doe|example\.com/);
  assert.match(received[0].body, /Oslo sofa/);
});

test('the key can come from llm_key_file; a bad URL stops the daemon with a reason', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'sb-llm-key-'));
  try {
    const keyFile = join(dir, 'llm.key');
    writeFileSync(keyFile, 'sk-file-456\n', { mode: 0o600 });
    const d2 = await startDaemon({
      args: ['--llm-url', `http://127.0.0.1:${stub.address().port}/v1/chat/completions`,
        '--llm-model', 'stub-model', '--llm-key-file', keyFile],
    });
    try {
      mode = 'grounded';
      received.length = 0;
      const r = await api(d2, 'POST', '/api/v1/messages', { body: { customer: { id: 'llm-key' }, text: 'How much is the Oslo sofa?', wait_reply: true } });
      assert.equal(r.json.reply.annotations.phrasing, 'llm');
      assert.equal(received[0].auth, 'Bearer sk-file-456');
      assert.equal(received[0].url, '/v1/chat/completions');
    } finally {
      await d2.stop();
      d2.cleanup();
    }
    await assert.rejects(startDaemon({ dataDir: join(dir, 'data'), args: ['--llm-url', 'ftp://example.invalid/', '--llm-model', 'm'] }),
      /LLM phrasing: .*http/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
