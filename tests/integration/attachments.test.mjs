// SPDX-License-Identifier: MIT
// Images and voice notes end to end: a receipt photo and a spoken digit sent through the widget
// and the API channel are stored content-addressed, become message parts, and are enriched by
// OCR / ASR annotations; media download needs an agent of the same tenant; corrupt and
// oversized uploads are refused or annotated without harming the daemon.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, existsSync, statSync, mkdirSync, copyFileSync } from 'node:fs';
import { join } from 'node:path';
import { createHash } from 'node:crypto';
import { startDaemon, api, login } from './daemon.mjs';

const SRC = process.env.SB_SOURCE_DIR || new URL('../..', import.meta.url).pathname;
const SHARED = join(SRC, '..', 'shared', 'bench', 'data');
const RECEIPT = join(SHARED, 'sroie', 'img', '000.jpg');
const WAV = join(SHARED, 'fsdd', 'wav', '7_george_5.wav');

let d, agent, visitor;
before(async () => {
  d = await startDaemon();
  agent = await login(d);
  const s = await api(d, 'POST', '/api/v1/widget/session', { token: null, body: {} });
  visitor = s.json.visitor_token;
});
after(async () => {
  const { code } = await d.stop();
  assert.equal(code, 0, 'daemon exits 0 on SIGTERM');
  d.cleanup();
});

async function upload(path, bytes, token, query = '') {
  const res = await fetch(d.url + path + query, {
    method: 'POST', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/octet-stream' },
    body: bytes,
  });
  const text = await res.text();
  let json = null;
  try { json = JSON.parse(text); } catch { /* not JSON */ }
  return { status: res.status, json, text };
}

// The stored message, once its annotations are written (they come from a worker).
async function annotated(conv, id, key) {
  for (let i = 0; i < 200; i++) {
    const r = await api(d, 'GET', `/api/v1/conversations/${conv}/messages`, { token: agent });
    const m = r.json.messages ? r.json.messages.find((x) => x.id === id) : r.json.find((x) => x.id === id);
    if (m && (m.annotations[key] || m.annotations.media_error)) return m;
    await new Promise((res) => setTimeout(res, 100));
  }
  throw new Error(`message ${id} never got '${key}' annotations`);
}

test('a receipt photo from the widget is stored, OCR-ed and downloadable by agents only', { skip: !existsSync(RECEIPT) && 'no SROIE data' }, async () => {
  const bytes = readFileSync(RECEIPT);
  const up = await upload('/api/v1/widget/attachments', bytes, visitor, '?kind=image&text=' + encodeURIComponent('I want my money back'));
  assert.equal(up.status, 201, up.text);
  const a = up.json.attachment;
  assert.equal(a.type, 'image');
  assert.equal(a.mime, 'image/jpeg');
  assert.match(a.media, /^[0-9a-f]{64}$/);
  // stored content-addressed under the tenant, owner-only
  const files = join(d.dataDir, 'media');
  const tenantDir = join(files, '1');
  const stored = join(tenantDir, a.media);
  assert.ok(existsSync(stored), 'stored under DATA/media/<tenant>/<sha256>');
  assert.equal(statSync(stored).mode & 0o777, 0o600);
  const storedBytes = readFileSync(stored);
  assert.equal(createHash('sha256').update(storedBytes).digest('hex'), a.media);
  assert.equal(storedBytes.length, a.size);

  const m = await annotated(up.json.conversation_id, up.json.message_id, 'ocr');
  assert.deepEqual(m.parts[0], a);
  assert.equal(m.parts[1].type, 'text');
  assert.equal(m.parts[1].text, 'I want my money back');
  assert.equal(m.annotations.media_error, undefined, JSON.stringify(m.annotations));
  assert.ok(m.annotations.ocr.text.length > 20, 'OCR text');
  assert.match(m.annotations.ocr.text, /TOTAL/i);
  for (const f of ['company', 'date', 'address', 'total']) assert.equal(typeof m.annotations.ocr.fields[f], 'string');
  assert.ok(m.annotations.ocr.confidence > 0 && m.annotations.ocr.confidence <= 1);
  // the caption decides the intent; the receipt's text is evidence with its own entities
  assert.equal(m.annotations.intent.label, 'refund', JSON.stringify(m.annotations.intent));
  assert.ok(Array.isArray(m.annotations.ocr.entities));

  // download: agents of the tenant only
  const noAuth = await fetch(`${d.url}/api/v1/media/${a.media}`);
  assert.equal(noAuth.status, 401);
  const asVisitor = await fetch(`${d.url}/api/v1/media/${a.media}`, { headers: { authorization: `Bearer ${visitor}` } });
  assert.equal(asVisitor.status, 401);
  const ok = await fetch(`${d.url}/api/v1/media/${a.media}`, { headers: { authorization: `Bearer ${agent}` } });
  assert.equal(ok.status, 200);
  assert.equal(ok.headers.get('content-type'), 'image/jpeg');
  assert.deepEqual(Buffer.from(await ok.arrayBuffer()), storedBytes);
  // media of another tenant is invisible (a file planted under tenant 999's directory)
  mkdirSync(join(files, '999'), { recursive: true });
  const other = createHash('sha256').update('other tenant').digest('hex');
  copyFileSync(stored, join(files, '999', other));
  const cross = await fetch(`${d.url}/api/v1/media/${other}`, { headers: { authorization: `Bearer ${agent}` } });
  assert.equal(cross.status, 404);
  const bad = await fetch(`${d.url}/api/v1/media/..%2F..%2Fkeys`, { headers: { authorization: `Bearer ${agent}` } });
  assert.equal(bad.status, 404);
});

test('EXIF (APP1) segments are stripped from stored JPEGs', async () => {
  // a minimal JPEG header: SOI, APP1 "Exif" with a fake GPS payload, then the receipt's own
  // segments; the stored copy must not contain the payload
  const orig = existsSync(RECEIPT) ? readFileSync(RECEIPT) : null;
  if (!orig) return;
  const payload = Buffer.from('Exif\0\0GPS-SECRET-LOCATION-48.8584N-2.2945E');
  const app1 = Buffer.concat([Buffer.from([0xff, 0xe1, (payload.length + 2) >> 8, (payload.length + 2) & 0xff]), payload]);
  const withExif = Buffer.concat([orig.subarray(0, 2), app1, orig.subarray(2)]);
  const up = await upload('/api/v1/widget/attachments', withExif, visitor);
  assert.equal(up.status, 201, up.text);
  const stored = readFileSync(join(d.dataDir, 'media', '1', up.json.attachment.media));
  assert.equal(stored.indexOf('GPS-SECRET'), -1);
  assert.ok(stored.length < withExif.length);
});

test('a voice note is transcribed (digit grammar) and feeds the annotations', { skip: !existsSync(WAV) && 'no FSDD data' }, async () => {
  const up = await upload('/api/v1/widget/attachments', readFileSync(WAV), visitor, '?kind=audio&grammar=digits');
  assert.equal(up.status, 201, up.text);
  assert.equal(up.json.attachment.type, 'audio');
  assert.equal(up.json.attachment.mime, 'audio/x-wav');
  const m = await annotated(up.json.conversation_id, up.json.message_id, 'asr');
  assert.equal(m.annotations.media_error, undefined, JSON.stringify(m.annotations));
  assert.equal(m.annotations.asr.text, 'seven');
  assert.ok(m.annotations.asr.confidence >= 0);
  // free recognition through the API channel (API key) also gives a transcript annotation
  const api2 = await upload('/api/v1/attachments', readFileSync(WAV), d.adminKey, '?customer_id=voice-1');
  assert.equal(api2.status, 201, api2.text);
  const m2 = await annotated(api2.json.conversation_id, api2.json.message_id, 'asr');
  assert.equal(typeof (m2.annotations.asr || {}).text, 'string', JSON.stringify(m2.annotations));
});

test('a corrupt image is kept with a media_error annotation; the daemon survives', async () => {
  // a PNG signature followed by garbage: sniffed as an image, undecodable
  const junk = Buffer.concat([Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0, 13]), Buffer.from('IHDR'), Buffer.alloc(3000, 0x41)]);
  const up = await upload('/api/v1/widget/attachments', junk, visitor);
  assert.equal(up.status, 201, up.text);
  const m = await annotated(up.json.conversation_id, up.json.message_id, 'ocr');
  assert.match(m.annotations.media_error, /^ocr: E/);
  const h = await api(d, 'GET', '/healthz', { token: null });
  assert.equal(h.status, 200);
});

test('uploads are checked: type, kind, size, credentials', async () => {
  const text = await upload('/api/v1/widget/attachments', Buffer.from('just some text, not an image'), visitor);
  assert.equal(text.status, 415, text.text);
  if (existsSync(WAV)) {
    const wrong = await upload('/api/v1/widget/attachments', readFileSync(WAV), visitor, '?kind=image');
    assert.equal(wrong.status, 415);
  }
  const empty = await upload('/api/v1/widget/attachments', Buffer.alloc(0), visitor);
  assert.equal(empty.status, 400);
  const big = Buffer.concat([Buffer.from([0xff, 0xd8, 0xff, 0xe0]), Buffer.alloc(10 * 1024 * 1024 + 10)]);
  const tooBig = await upload('/api/v1/widget/attachments', big, visitor);
  assert.equal(tooBig.status, 413);
  const noCred = await upload('/api/v1/widget/attachments', Buffer.from('x'), 'nope');
  assert.equal(noCred.status, 401);
  const noCustomer = await upload('/api/v1/attachments', Buffer.from('x'), d.adminKey);
  assert.equal(noCustomer.status, 400);
  const h = await api(d, 'GET', '/healthz', { token: null });
  assert.equal(h.status, 200);
});
