// SPDX-License-Identifier: MIT
// Browser test of the supervisor dashboard (/console/dashboard) against the real daemon:
// customers write on the API and the web widget, one asks for a person and an agent answers and
// resolves; a supervisor logs in to the console, follows the header link and sees the figures
// as numbers with units and as SVG charts drawn from the live data (bars per channel and per
// intent, the sentiment line, the agents table), an agent's name holding markup shown as text;
// a new conversation appears by itself within the 10 s refresh; "Export CSV" downloads the
// report; an agent is told the page is for supervisors. Any script error, CSP refusal or
// console error fails the test. Drives Debian's chromium through playwright-core.
//
// Environment (set by ctest): SB_BINARY, the built switchboard; SB_SOURCE_DIR, the source tree.
// Skips only when /usr/bin/chromium is missing (scripts/deps.sh installs it).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { BINARY, WAIT, chromiumMissing, consoleLogin, launchBrowser, startDaemon, watch } from './harness.mjs';

const XSS_NAME = '<img src=x onerror=alert(1)>';

// a tiny sentiment model, so that messages carry sentiment (the demo ships none)
const SENTIMENT = [
  ['thank you so much, great service', 'positive'], ['love it, works perfectly', 'positive'],
  ['excellent, very happy', 'positive'], ['wonderful help, appreciated', 'positive'],
  ['hello', 'neutral'], ['where is my order?', 'neutral'], ['what time do you open', 'neutral'],
  ['do you ship to canada', 'neutral'],
  ['this is terrible, I am angry', 'negative'], ['worst service ever', 'negative'],
  ['you lied to me', 'negative'], ['very disappointed and upset', 'negative'],
];

/* Puts the sentiment model into the daemon's data directory before it starts. */
function trainSentiment({ dir, data }) {
  mkdirSync(join(data, 'models'), { recursive: true });
  const tsv = join(dir, 'sentiment.tsv');
  writeFileSync(tsv, 'text\tlabel\n' + SENTIMENT.map(([t, l]) => `${t}\t${l}`).join('\n') + '\n');
  execFileSync(BINARY, ['train', 'sentiment', '--data', tsv, '--out', join(data, 'models', 'sentiment.model'), '--quiet']);
}

/* Script errors, CSP refusals, dialogs (an alert() would mean injected markup ran) and failed
 * requests for our own files (and the dashboard page) fail the test; `allowed` lists expected
 * console errors. */
const WS_FAILED = /WebSocket connection to .* failed/;
const dashWatch = (page, label, problems, allowed = WS_FAILED) => watch(page, label, problems,
  { allowed, own: (url) => url.includes('/static/') || url.endsWith('/console/dashboard') });

test('supervisor dashboard in the console', {
  skip: chromiumMissing,
  timeout: 240000,
}, async () => {
  const d = await startDaemon({ prefix: 'sb-dash-', adminKey: true, prepare: trainSentiment });
  let browser;
  const problems = [];
  try {
    const supPw = 'sup-' + randomBytes(8).toString('hex');
    let r = await d.api('POST', '/api/v1/agents', { email: 'sue@example.test', name: 'Sue', password: supPw, role: 'supervisor' });
    assert.equal(r.status, 201, JSON.stringify(r.json));
    r = await d.api('POST', '/api/v1/agents', { email: 'x@example.test', name: XSS_NAME, password: supPw, role: 'agent' });
    assert.equal(r.status, 201, JSON.stringify(r.json));
    const login = await d.api('POST', '/api/v1/auth/login', { email: 'agent@demo.local', password: d.password }, null);
    assert.equal(login.status, 200);

    // the day so far: two API customers (one asks for a person), one web visitor
    for (const [id, text] of [['dash-1', 'where is my order?'], ['dash-2', 'I want to talk to a human please']]) {
      r = await d.api('POST', '/api/v1/messages', { customer: { id }, text, wait_reply: true });
      assert.equal(r.status, 201, JSON.stringify(r.json));
    }
    const human = r.json.conversation_id;
    const s = await fetch(d.url + '/api/v1/widget/session', { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' });
    const vt = (await s.json()).visitor_token;
    const w = await fetch(d.url + '/api/v1/widget/messages', {
      method: 'POST', headers: { authorization: `Bearer ${vt}`, 'content-type': 'application/json' },
      body: JSON.stringify({ text: 'this is terrible, I am angry' }) });
    assert.equal(w.status, 201);
    r = await d.api('POST', `/api/v1/conversations/${human}/messages`, { text: 'Hello, how can I help?' }, login.json.token);
    assert.equal(r.status, 201, JSON.stringify(r.json));
    r = await d.api('POST', `/api/v1/conversations/${human}/resolve`, undefined, login.json.token);
    assert.equal(r.status, 200, JSON.stringify(r.json));
    // wait for enrichment of the three customer messages; the page must show what the API says
    const end = Date.now() + WAIT;
    let x;
    for (;;) {
      x = (await d.api('GET', '/api/v1/dashboard')).json;
      if (x.intents.messages === 3) break;
      assert.ok(Date.now() < end, 'messages were not annotated: ' + JSON.stringify(x.intents));
      await new Promise((res) => setTimeout(res, 100));
    }
    assert.equal(x.conversations.total, 3);
    assert.ok(x.conversations.handed_off >= 1);
    const handoffPct = `${Math.round(x.conversations.hand_off_rate * 1000) / 10} %`;

    browser = await launchBrowser();

    // the supervisor logs in to the console and follows the header link
    const ctx = await browser.newContext({ viewport: { width: 1280, height: 1000 }, acceptDownloads: true });
    const page = await ctx.newPage();
    dashWatch(page, 'supervisor', problems);
    await consoleLogin(page, d.url, 'sue@example.test', supPw);
    await page.getByRole('link', { name: 'Dashboard' }).click();
    await page.waitForURL(/\/console\/dashboard$/, { timeout: WAIT });
    assert.match(await page.title(), /Dashboard/);
    await page.locator('#dash-body').waitFor({ state: 'visible', timeout: WAIT });

    // numbers with units
    assert.equal(await page.locator('#t-volume .big').textContent(), '3');
    assert.equal(await page.locator('#t-handoff .big').textContent(), handoffPct);
    assert.equal(await page.locator('#t-handoff .sub').textContent(), `${x.conversations.handed_off} of 3 went to a person`);
    assert.match(await page.locator('#t-frt .big').textContent(), /^\d+ (s|min)/);
    assert.match(await page.locator('#t-frt .sub').textContent(), /median · p90 .* · 1 response$/);
    assert.match(await page.locator('#t-res .big').textContent(), /^\d+ (s|min)/);
    assert.equal(await page.locator('#t-waiting .big').textContent(), '0');
    assert.equal(await page.locator('#t-csat .big').textContent(), '—');

    // charts drawn from the data: bars per channel (api 2, web 1), per intent, the sentiment line
    const vol = page.locator('#c-volume svg.bars');
    await vol.waitFor({ timeout: WAIT });
    assert.deepEqual(await vol.locator('.bar-label').allTextContents(), ['api', 'web']);
    assert.deepEqual(await vol.locator('.bar-value').allTextContents(), ['2', '1']);
    const w1 = Number(await vol.locator('rect.bar').nth(0).getAttribute('width'));
    const w2 = Number(await vol.locator('rect.bar').nth(1).getAttribute('width'));
    assert.ok(Math.abs(w1 - 2 * w2) < 1, `bar lengths follow the values (${w1}, ${w2})`);
    assert.ok(await page.locator('#c-intents svg rect.bar').count() >= 1);
    await page.locator('#c-sentiment svg path.trend').waitFor({ state: 'attached', timeout: WAIT });
    assert.ok(await page.locator('#c-sentiment svg circle.pt').count() >= 1);
    assert.match(await page.locator('#c-sentiment svg > title').textContent(), /Sentiment per day: \d{4}-\d{2}-\d{2} -?\d\.\d\d/);

    // the agents table, an agent's name with markup shown as text
    const rows = page.locator('#c-agents tbody tr');
    assert.ok(await rows.count() >= 3);
    await page.locator('#c-agents td', { hasText: XSS_NAME }).waitFor({ timeout: WAIT });
    assert.equal(await page.locator('#c-agents img').count(), 0);
    assert.equal(await page.locator('main img').count(), 0);

    if (process.env.SB_DASH_SHOT) await page.screenshot({ path: process.env.SB_DASH_SHOT, fullPage: true });

    // live: a new conversation shows up within the 10 s refresh, without reloading
    r = await d.api('POST', '/api/v1/messages', { customer: { id: 'dash-4' }, text: 'hello' });
    assert.ok(r.status === 201 || r.status === 202);
    await page.locator('#t-volume .big', { hasText: /^4$/ }).waitFor({ timeout: 14000 });

    // the CSV export downloads one row per conversation
    const [download] = await Promise.all([
      page.waitForEvent('download', { timeout: WAIT }),
      page.getByRole('button', { name: 'Export CSV' }).click(),
    ]);
    const csv = readFileSync(await download.path(), 'utf8');
    const lines = csv.split('\r\n').filter((x) => x);
    assert.match(lines[0], /^conversation_id,channel,inbox,/);
    assert.equal(lines.length, 5, csv);
    assert.match(download.suggestedFilename(), /^conversations-\d{4}-\d{2}-\d{2}\.csv$/);

    // another period reloads the figures (yesterday: nothing)
    await page.locator('#dash-period').selectOption('yesterday');
    await page.locator('#t-volume .big', { hasText: /^0$/ }).waitFor({ timeout: WAIT });
    assert.match(await page.locator('#c-volume').textContent(), /No conversations in this period/);

    // an agent is told the page is for supervisors (its data request is refused with 403)
    const actx = await browser.newContext();
    const apage = await actx.newPage();
    dashWatch(apage, 'agent', problems, /WebSocket connection to .* failed|status of 403 \(Forbidden\)/);
    await consoleLogin(apage, d.url, 'x@example.test', supPw); // (the demo's agent@ is an admin)
    await apage.goto(d.url + '/console/dashboard');
    await apage.getByText('The dashboard is for supervisors and admins').waitFor({ timeout: WAIT });
    assert.equal(await apage.locator('#dash-body').isVisible(), false);

    // and without a login it points to the console
    const anon = await (await browser.newContext()).newPage();
    dashWatch(anon, 'anonymous', problems);
    await anon.goto(d.url + '/console/dashboard');
    await anon.getByText('Log in to the console first').waitFor({ timeout: WAIT });
    assert.deepEqual(problems, []);
  } catch (e) {
    if (process.env.SB_DEBUG) {
      console.error('problems:', problems);
      for (const ctx of browser ? browser.contexts() : []) for (const p of ctx.pages()) {
        console.error('PAGE', p.url(), (await p.locator('body').innerText()).slice(0, 600));
      }
    }
    throw e;
  } finally {
    if (browser) await browser.close().catch(() => {});
    d.proc.kill('SIGTERM');
    await d.exited;
    d.cleanup();
  }
});
