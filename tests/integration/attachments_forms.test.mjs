// SPDX-License-Identifier: MIT
// Attachments, second part: the multipart/form-data and JSON/base64 upload forms (fields,
// malformed bodies answered 400 naming the part or field), the type allow-list, metadata
// stripping of PNG files (eXIf, tEXt, tIME gone, CRCs valid), media download by the visitor who
// owns the conversation only, and per-job limits: a decompression-bomb PNG, a corrupt WAV and
// a job over its memory/time limit give error annotations while the daemon stays healthy.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { deflateSync, crc32 } from 'node:zlib';
import { startDaemon, api, login } from './daemon.mjs';

const SRC = process.env.SB_SOURCE_DIR || new URL('../..', import.meta.url).pathname;
const WAV = join(SRC, 'tests', 'fixtures', 'digit_seven.wav');

function chunk(type, data) {
  const len = Buffer.alloc(4);
  len.writeUInt32BE(data.length);
  const td = Buffer.concat([Buffer.from(type, 'latin1'), data]);
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(td) >>> 0);
  return Buffer.concat([len, td, crc]);
}

// A grey PNG of w x h pixels (all white), with optional extra chunks before IDAT.
function png(w, h, extra = [], rows = null, colour = 0) {
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(w, 0);
  ihdr.writeUInt32BE(h, 4);
  ihdr[8] = 8; // bit depth
  ihdr[9] = colour; // 0 grey, 2 RGB
  const raw = rows || Buffer.alloc((w + 1) * h, 0xff).fill(0, 0, 1);
  if (!rows) for (let y = 0; y < h; y++) raw[y * (w + 1)] = 0;
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk('IHDR', ihdr), ...extra, chunk('IDAT', deflateSync(raw)), chunk('IEND', Buffer.alloc(0)),
  ]);
}

let d, agent, visitor, visitor2, slow;
before(async () => {
  d = await startDaemon();
  agent = await login(d);
  visitor = (await api(d, 'POST', '/api/v1/widget/session', { token: null, body: {} })).json.visitor_token;
  visitor2 = (await api(d, 'POST', '/api/v1/widget/session', { token: null, body: {} })).json.visitor_token;
});
after(async () => {
  for (const x of [d, slow]) {
    if (!x) continue;
    const { code } = await x.stop();
    assert.equal(code, 0, 'daemon exits 0 on SIGTERM');
    x.cleanup();
  }
});

async function post(dd, path, token, body, headers = {}) {
  const res = await fetch(dd.url + path, { method: 'POST', headers: { authorization: `Bearer ${token}`, ...headers }, body });
  const text = await res.text();
  let json = null;
  try { json = JSON.parse(text); } catch { /* not JSON */ }
  return { status: res.status, json, text };
}

function multipart(parts, boundary = 'sbTestBoundary7') {
  const chunks = [];
  for (const p of parts) {
    let h = `--${boundary}\r\nContent-Disposition: form-data; name="${p.name}"`;
    if (p.filename !== undefined) h += `; filename="${p.filename}"`;
    h += '\r\n';
    if (p.type) h += `Content-Type: ${p.type}\r\n`;
    chunks.push(Buffer.from(h + '\r\n'), Buffer.from(p.data), Buffer.from('\r\n'));
  }
  chunks.push(Buffer.from(`--${boundary}--\r\n`));
  return { body: Buffer.concat(chunks), type: `multipart/form-data; boundary=${boundary}` };
}

async function annotated(dd, conv, id, key, token = agent) {
  for (let i = 0; i < 300; i++) {
    const r = await api(dd, 'GET', `/api/v1/conversations/${conv}/messages`, { token });
    const list = r.json.messages || r.json;
    const m = list.find((x) => x.id === id);
    if (m && (m.annotations[key] || m.annotations.media_error)) return m;
    await new Promise((res) => setTimeout(res, 100));
  }
  throw new Error(`message ${id} never got '${key}' annotations`);
}

const secretPng = () => png(40, 20, [
  chunk('tEXt', Buffer.from('Comment\0GPS-SECRET-TEXT')),
  chunk('eXIf', Buffer.from('MM\0*GPS-SECRET-EXIF')),
  chunk('tIME', Buffer.from([7, 232, 1, 2, 3, 4, 5])),
  chunk('gAMA', Buffer.from([0, 0, 0xb1, 0x8f])),
]);

test('multipart upload: file part + caption field; PNG metadata is stripped, CRCs stay valid', async () => {
  const { body, type } = multipart([
    { name: 'text', data: 'Here is my receipt' },
    { name: 'file', filename: '../../etc/receipt.png', type: 'text/plain', data: secretPng() },
    { name: 'message_id', data: 'mp-1' },
  ]);
  const up = await post(d, '/api/v1/widget/attachments', visitor, body, { 'content-type': type });
  assert.equal(up.status, 201, up.text);
  const a = up.json.attachment;
  assert.equal(a.type, 'image');
  assert.equal(a.mime, 'image/png', 'sniffed, not the part\'s text/plain');
  assert.equal(a.name, 'receipt.png', 'path and control characters dropped from the file name');
  const stored = readFileSync(join(d.dataDir, 'media', '1', a.media));
  assert.equal(stored.indexOf('GPS-SECRET'), -1);
  assert.equal(stored.indexOf('tIME'), -1);
  assert.notEqual(stored.indexOf('gAMA'), -1, 'display chunks are kept');
  // every chunk of the stored file has a valid CRC
  for (let i = 8; i < stored.length;) {
    const len = stored.readUInt32BE(i);
    const crc = stored.readUInt32BE(i + 8 + len);
    assert.equal(crc32(stored.subarray(i + 4, i + 8 + len)) >>> 0, crc);
    i += 12 + len;
  }
  const m = await annotated(d, up.json.conversation_id, up.json.message_id, 'ocr');
  assert.equal(m.text, 'Here is my receipt');
  assert.equal(m.parts[1].text, 'Here is my receipt');
  // the same message_id again is a duplicate
  const again = await post(d, '/api/v1/widget/attachments', visitor, body, { 'content-type': type });
  assert.equal(again.status, 200, again.text);
  assert.equal(again.json.duplicate, true);
});

test('JSON/base64 upload through the API channel, with fields in the body', { skip: !existsSync(WAV) && 'no WAV fixture' }, async () => {
  const wav = readFileSync(WAV);
  const up = await post(d, '/api/v1/attachments', d.adminKey, JSON.stringify({
    filename: 'note.wav', content_type: 'image/png', data_base64: wav.toString('base64'),
    customer_id: 'json-1', customer_name: 'Json Customer', grammar: 'digits', text: 'my choice',
  }), { 'content-type': 'application/json' });
  assert.equal(up.status, 201, up.text);
  assert.equal(up.json.attachment.type, 'audio', 'sniffed, not the claimed image/png');
  assert.equal(up.json.attachment.size, wav.length);
  const m = await annotated(d, up.json.conversation_id, up.json.message_id, 'asr');
  assert.equal(m.annotations.media_error, undefined, JSON.stringify(m.annotations));
  assert.equal(m.annotations.asr.text, 'seven');
});

test('malformed bodies are 400 naming the part, header or field', async () => {
  const cases = [
    [{ 'content-type': 'multipart/form-data' }, 'x', /boundary/],
    [{ 'content-type': 'multipart/form-data; boundary=b' }, '--b\r\nContent-Type: x\r\n\r\nv\r\n--b--', /part 1: missing Content-Disposition/],
    [{ 'content-type': 'multipart/form-data; boundary=b' }, '--b\r\nContent-Disposition: form-data; name="file"; filename="a.png"\r\n\r\nnever ends', /part 1 \('file'\): not ended/],
    [{ 'content-type': 'multipart/form-data; boundary=b' }, '--b\r\nContent-Disposition: form-data; name="text"\r\n\r\nno file\r\n--b--', /no file part/],
    [{ 'content-type': 'multipart/form-data; boundary=b' }, '--b\r\nContent-Disposition: form-data; name="colour"\r\n\r\nred\r\n--b--', /part 1: unknown field 'colour'/],
    [{ 'content-type': 'application/json' }, '{"filename": "a.png", "data_base64": "iVBO!!"}', /field 'data_base64': character 0x21 at offset 4/],
    [{ 'content-type': 'application/json' }, '{"data_base64": "aGVsbG8="}', /field 'filename' is required/],
    [{ 'content-type': 'application/json' }, '{"filename": "a.png"}', /field 'data_base64' is required/],
    [{ 'content-type': 'application/json' }, '{"filename": "a.png", "data_base64": "aGVsbG8=", "grammar": 5}', /field 'grammar' must be a string/],
    [{ 'content-type': 'application/json' }, '{"filename": ', /request body/],
  ];
  for (const [headers, body, re] of cases) {
    const r = await post(d, '/api/v1/widget/attachments', visitor, body, headers);
    assert.equal(r.status, 400, `${body}: ${r.text}`);
    assert.match(r.json.error.message, re);
  }
  // a second file part
  const two = multipart([{ name: 'a', filename: 'a.png', data: 'x' }, { name: 'b', filename: 'b.png', data: 'y' }]);
  const r2 = await post(d, '/api/v1/widget/attachments', visitor, two.body, { 'content-type': two.type });
  assert.equal(r2.status, 400);
  assert.match(r2.json.error.message, /part 2 \('b'\) is a second file/);
  // base64 that decodes past the limit is 413
  const big = JSON.stringify({ filename: 'big.png', data_base64: 'A'.repeat(14 * 1024 * 1024) });
  const r3 = await post(d, '/api/v1/widget/attachments', visitor, big, { 'content-type': 'application/json' });
  assert.equal(r3.status, 413, r3.text);
  // types outside the allow-list: GIF is an image libmagic knows, still refused
  const gif = Buffer.from('R0lGODlhAQABAIAAAAAAAP///yH5BAEAAAAALAAAAAABAAEAAAIBRAA7', 'base64');
  const g = multipart([{ name: 'file', filename: 'x.gif', type: 'image/png', data: gif }]);
  const r4 = await post(d, '/api/v1/widget/attachments', visitor, g.body, { 'content-type': g.type });
  assert.equal(r4.status, 415);
  assert.match(r4.json.error.message, /image\/gif/);
  assert.equal((await api(d, 'GET', '/healthz', { token: null })).status, 200);
});

test('media download: agents of the tenant, and the visitor whose conversation holds it', async () => {
  const { body, type } = multipart([{ name: 'file', filename: 'p.png', data: png(8, 8) }]);
  const up = await post(d, '/api/v1/widget/attachments', visitor, body, { 'content-type': type });
  assert.equal(up.status, 201, up.text);
  const key = up.json.attachment.media;
  const get = (path, token) => fetch(d.url + path, { headers: token ? { authorization: `Bearer ${token}` } : {} });
  assert.equal((await get(`/api/v1/media/${key}`, agent)).status, 200);
  assert.equal((await get(`/api/v1/media/${key}`, visitor)).status, 401, 'the agent route is not for visitors');
  const own = await get(`/api/v1/widget/media/${key}`, visitor);
  assert.equal(own.status, 200);
  assert.equal(own.headers.get('content-type'), 'image/png');
  assert.equal((await get(`/api/v1/widget/media/${key}`, visitor2)).status, 404, 'another visitor');
  assert.equal((await get(`/api/v1/widget/media/${key}`, null)).status, 401);
  // a visitor who merely writes the key in a text message does not gain access
  await api(d, 'POST', '/api/v1/widget/messages', { token: visitor2, body: { text: `"media":"${key}"` } });
  assert.equal((await get(`/api/v1/widget/media/${key}`, visitor2)).status, 404);
  assert.equal((await get('/api/v1/widget/media/not-a-key', visitor)).status, 404);
});

test('a decompression-bomb PNG and a corrupt WAV become error annotations; the daemon is fine', async () => {
  // 100,000 x 100,000 grey pixels claimed; a few KB of deflate data
  const bomb = png(100000, 100000, [], Buffer.alloc(200000, 0));
  assert.ok(bomb.length < 10000);
  const b = multipart([{ name: 'file', filename: 'bomb.png', data: bomb }]);
  const up = await post(d, '/api/v1/widget/attachments', visitor, b.body, { 'content-type': b.type });
  assert.equal(up.status, 201, up.text);
  const m = await annotated(d, up.json.conversation_id, up.json.message_id, 'ocr');
  assert.match(m.annotations.media_error, /^ocr: ETOOBIG: /);
  // a RIFF/WAVE header that lies about its format
  const wav = Buffer.alloc(44 + 400);
  wav.write('RIFF', 0); wav.writeUInt32LE(36 + 400, 4); wav.write('WAVEfmt ', 8);
  wav.writeUInt32LE(16, 16); wav.writeUInt16LE(1, 20); wav.writeUInt16LE(0, 22); // 0 channels
  wav.writeUInt32LE(16000, 24); wav.writeUInt32LE(0, 28); wav.writeUInt16LE(0, 32); wav.writeUInt16LE(16, 34);
  wav.write('data', 36); wav.writeUInt32LE(400, 40);
  const w = await post(d, '/api/v1/widget/attachments', visitor, JSON.stringify({ filename: 'v.wav', data_base64: wav.toString('base64') }), { 'content-type': 'application/json' });
  assert.equal(w.status, 201, w.text);
  const mw = await annotated(d, w.json.conversation_id, w.json.message_id, 'asr');
  assert.match(mw.annotations.media_error, /^asr: E[A-Z]+: /);
  assert.equal((await api(d, 'GET', '/healthz', { token: null })).status, 200);
});

test('jobs over their time or memory limit are stopped with the limit named', async () => {
  slow = await startDaemon({ args: ['--media-ocr-time-ms', '100', '--media-job-memory-mb', '24'] });
  const tok = (await api(slow, 'POST', '/api/v1/widget/session', { token: null, body: {} })).json.visitor_token;
  const agent2 = await login(slow);
  // a 4000 x 4000 RGB image: under the pixel limit, but decoded it needs 64 MB (more than 24)
  const W = 4000, stride = W * 3 + 1;
  const rows = Buffer.alloc(stride * W, 0x80);
  for (let y = 0; y < W; y++) rows[y * stride] = 0;
  const big = png(W, W, [], rows, 2);
  const b = multipart([{ name: 'file', filename: 'big.png', data: big }]);
  const up = await post(slow, '/api/v1/widget/attachments', tok, b.body, { 'content-type': b.type });
  assert.equal(up.status, 201, up.text);
  const m = await annotated(slow, up.json.conversation_id, up.json.message_id, 'ocr', agent2);
  assert.match(m.annotations.media_error || '', /(memory limit of 24 MB|time limit of 100 ms)/, JSON.stringify(m.annotations));
  assert.equal((await api(slow, 'GET', '/healthz', { token: null })).status, 200);
  const again = await post(slow, '/api/v1/widget/attachments', tok, b.body, { 'content-type': b.type });
  assert.equal(again.status, 201, 'the daemon still takes uploads');
});
