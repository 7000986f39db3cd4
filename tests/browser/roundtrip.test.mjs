// SPDX-License-Identifier: MIT
// Browser test of the web UI against the real daemon: a customer writes from the demo shop's
// chat widget, an agent logs in to the console in another browser context, sees the
// conversation and a new message arrive live, assigns it, replies, and the customer sees the
// reply live; a reload of the shop page keeps the conversation; markup typed by a customer is
// shown as text on both pages; resolving shows on both sides; the daemon stops cleanly on
// SIGTERM. Drives Debian's chromium through playwright-core (no browser download).
//
// Environment (set by ctest): SB_BINARY, the built switchboard; SB_SOURCE_DIR, the source tree.
// Skips only when /usr/bin/chromium is missing (scripts/deps.sh installs it).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { randomBytes } from 'node:crypto';

const CHROMIUM = '/usr/bin/chromium';
const HERE = dirname(fileURLToPath(import.meta.url));
const SOURCE = process.env.SB_SOURCE_DIR || join(HERE, '..', '..');
const BINARY = process.env.SB_BINARY || join(SOURCE, 'build', 'switchboard');
const WAIT = 15000;
const XSS = '<img src=x onerror=alert(1)>';

async function startDaemon() {
  const dir = mkdtempSync(join(tmpdir(), 'sb-browser-'));
  const password = 'browser-test-' + randomBytes(8).toString('hex');
  const proc = spawn(BINARY, ['serve', '--listen', '127.0.0.1:0', '--data', join(dir, 'data'),
    '--web_dir', join(SOURCE, 'web')], {
    env: { ...process.env, SWITCHBOARD_AGENT_PASSWORD: password, SB_LOG_LEVEL: 'warn' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  proc.stderr.on('data', (d) => { stderr += d; });
  const exited = new Promise((resolve) => proc.on('exit', (code, signal) => resolve({ code, signal })));
  const port = await new Promise((resolve, reject) => {
    let out = '';
    const timer = setTimeout(() => reject(new Error('the daemon did not start in 30 s:\n' + stderr)), 30000);
    proc.stdout.on('data', (d) => {
      out += d;
      const m = out.match(/switchboard: listening on http:\/\/127\.0\.0\.1:(\d+)/);
      if (m) { clearTimeout(timer); resolve(Number(m[1])); }
    });
    proc.on('exit', (code) => { clearTimeout(timer); reject(new Error(`the daemon exited (${code}):\n${stderr}`)); });
  });
  return {
    url: `http://127.0.0.1:${port}`, password, proc, exited, dir,
    stderr: () => stderr,
    cleanup() {
      try { proc.kill('SIGKILL'); } catch { /* already gone */ }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/* Everything that would mean a broken or unsafe page: script errors, CSP refusals, dialogs
 * (an alert() would mean injected markup ran), failed requests for our own files. */
function watch(page, label, problems) {
  page.on('pageerror', (e) => problems.push(`${label}: page error: ${e.message}`));
  page.on('console', (m) => {
    /* the browser logs every 4xx; the wrong-password login is one on purpose */
    const expected = /WebSocket connection to .* failed|status of 401 \(Unauthorized\)/;
    if (m.type() === 'error' && !expected.test(m.text())) problems.push(`${label}: console error: ${m.text()}`);
  });
  page.on('dialog', async (d) => { problems.push(`${label}: a dialog opened: ${d.message()}`); await d.dismiss(); });
  page.on('response', (r) => {
    if (r.url().includes('/static/') && r.status() >= 400) problems.push(`${label}: ${r.status()} for ${r.url()}`);
  });
}

test('widget → console → reply round trip in a real browser', {
  skip: existsSync(CHROMIUM) ? false : `${CHROMIUM} is not installed`,
  timeout: 240000,
}, async () => {
  assert.ok(existsSync(BINARY), `no switchboard binary at ${BINARY} (set SB_BINARY)`);
  const { chromium } = await import('playwright-core');
  const d = await startDaemon();
  let browser;
  let failure = null;
  const problems = [];
  try {
    // the daemon serves the API document it was built with
    const served = await fetch(d.url + '/api/v1/openapi.json');
    assert.equal(served.status, 200);
    assert.deepEqual(await served.json(), JSON.parse(readFileSync(join(SOURCE, 'docs', 'openapi.json'), 'utf8')));

    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: ['--headless=new', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
        '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    });

    // ---- the customer on the demo shop page ----
    const shopCtx = await browser.newContext({ viewport: { width: 1280, height: 860 } });
    const shop = await shopCtx.newPage();
    watch(shop, 'shop', problems);
    await shop.goto(d.url + '/widget');
    assert.match(await shop.title(), /Oslo sofa/);
    const launcher = shop.getByRole('button', { name: /open chat/i });
    await launcher.waitFor({ timeout: WAIT });
    await launcher.click();
    const input = shop.getByLabel('Your message');
    await input.fill('Hello, is the Oslo sofa in stock?');
    await input.press('Enter');
    const mine = shop.locator('.msg.customer .bubble', { hasText: 'Hello, is the Oslo sofa in stock?' });
    await mine.waitFor({ timeout: WAIT });
    // the bot's answer arrives live over the widget socket
    const botReply = shop.locator('.msg.bot .bubble').first();
    await botReply.waitFor({ timeout: WAIT });
    assert.ok((await botReply.textContent()).length > 0);
    // "Sending…" is gone once the server has stored the message
    await shop.locator('.msg.customer.sending').waitFor({ state: 'detached', timeout: WAIT });
    const visitorToken = await shop.evaluate(() => Object.entries(localStorage).find(([k]) => k.startsWith('switchboard.widget:'))?.[1]);
    assert.ok(visitorToken && JSON.parse(visitorToken).token.startsWith('v1.'), 'the visitor token is kept in localStorage');

    // ---- the agent in another browser context ----
    const consoleCtx = await browser.newContext({ viewport: { width: 1280, height: 860 } });
    const agent = await consoleCtx.newPage();
    watch(agent, 'console', problems);
    await agent.goto(d.url + '/console');
    await agent.getByLabel('E-mail').fill('agent@demo.local');
    await agent.getByLabel('Password').fill('wrong password');
    await agent.getByRole('button', { name: 'Log in' }).click();
    await agent.getByText('Wrong e-mail or password.').waitFor({ timeout: WAIT });
    await agent.getByLabel('Password').fill(d.password);
    await agent.getByRole('button', { name: 'Log in' }).click();
    await agent.locator('#conn.live').waitFor({ timeout: WAIT });
    const item = agent.locator('button.conv', { hasText: 'Visitor' }).first();
    await item.waitFor({ timeout: WAIT });
    await agent.evaluate(() => { window.__sameDocument = true; });

    // a new customer message reaches the console live (no reload): the conversation is marked
    // unread (its preview may already show the bot's answer to it)
    assert.equal(await agent.locator('button.conv.unread').count(), 0);
    await input.fill(XSS);
    await input.press('Enter');
    await shop.locator('.msg.customer .bubble', { hasText: XSS }).waitFor({ timeout: WAIT });
    const live = agent.locator('button.conv.unread', { hasText: 'Visitor' });
    await live.waitFor({ timeout: WAIT });

    // open it: the whole history, with the markup shown as text
    await live.click();
    await agent.locator('#thread-title', { hasText: 'Visitor' }).waitFor({ timeout: WAIT });
    await agent.locator('#messages .msg.customer .bubble', { hasText: 'Hello, is the Oslo sofa in stock?' }).waitFor({ timeout: WAIT });
    const xssAtAgent = agent.locator('#messages .msg.customer .bubble', { hasText: XSS });
    await xssAtAgent.waitFor({ timeout: WAIT });
    assert.equal(await xssAtAgent.textContent(), XSS);
    assert.ok(await agent.locator('#messages .msg.bot').count() >= 1, 'the bot reply is in the history');
    assert.equal(await agent.locator('#messages img').count(), 0, 'no element was made from customer text');

    // it becomes mine: either the router already handed it to this agent (the only one online;
    // the bot could not answer the markup, so it escalated) or the agent takes it by hand
    const assignBtn = agent.locator('#btn-assign:visible');
    const assigned = agent.locator('#thread-status', { hasText: 'assigned' });
    await assignBtn.or(assigned).first().waitFor({ timeout: WAIT });
    if (await assignBtn.count()) await assignBtn.click();
    await assigned.waitFor({ timeout: WAIT });
    await agent.locator('#thread-meta', { hasText: 'assigned to' }).waitFor({ timeout: WAIT });

    // reply; the customer sees it at once
    const replyText = 'Yes! The Oslo sofa is in stock in blue and grey.';
    await agent.getByLabel('Reply').fill(replyText);
    await agent.getByLabel('Reply').press('Enter');
    await agent.locator('#messages .msg.agent .bubble', { hasText: replyText }).waitFor({ timeout: WAIT });
    const atShop = shop.locator('.msg.agent .bubble', { hasText: replyText });
    await atShop.waitFor({ timeout: WAIT });
    assert.equal(await atShop.count(), 1, 'the reply is shown once');
    const xssAtShop = shop.locator('.msg.customer .bubble', { hasText: XSS });
    assert.equal(await xssAtShop.textContent(), XSS);
    assert.equal(await shop.locator('img').count(), 0, 'no element was made from customer text');

    // an internal note stays with the agents
    await agent.getByLabel(/Internal note/).check();
    await agent.getByLabel('Reply').fill('Note: check stock of the grey cover');
    await agent.getByRole('button', { name: 'Send' }).click();
    await agent.locator('#messages .msg.note .bubble', { hasText: 'check stock' }).waitFor({ timeout: WAIT });

    // resolve: both sides show it
    await agent.getByRole('button', { name: 'Resolve' }).click();
    await agent.locator('#thread-status', { hasText: 'resolved' }).waitFor({ timeout: WAIT });
    await shop.locator('.note', { hasText: 'resolved' }).waitFor({ timeout: WAIT });
    assert.equal(await shop.locator('.bubble', { hasText: 'check stock' }).count(), 0, 'the customer never sees internal notes');
    assert.equal(await agent.evaluate(() => window.__sameDocument), true, 'the console updated without a reload');

    // the customer reloads: same visitor, same conversation, each message once
    await shop.reload();
    await shop.getByRole('button', { name: /open chat/i }).click();
    await shop.locator('.msg.agent .bubble', { hasText: replyText }).waitFor({ timeout: WAIT });
    assert.equal(await shop.locator('.msg.customer .bubble', { hasText: 'Hello, is the Oslo sofa in stock?' }).count(), 1);
    assert.equal(await shop.locator('.msg.customer .bubble', { hasText: XSS }).textContent(), XSS);
    assert.equal(await shop.locator('.bubble', { hasText: 'check stock' }).count(), 0);

    // logging out returns to the login form
    await agent.getByRole('button', { name: 'Log out' }).click();
    await agent.getByRole('button', { name: 'Log in' }).waitFor({ timeout: WAIT });

    assert.deepEqual(problems, []);
  } catch (e) {
    failure = e;
  }
  if (browser) await browser.close().catch(() => {});
  d.proc.kill('SIGTERM');
  const { code, signal } = await Promise.race([
    d.exited, new Promise((r) => setTimeout(() => r({ code: 'timeout', signal: null }), 20000))]);
  const log = d.stderr();
  d.cleanup();
  if (failure) {
    if (problems.length) failure.message += '\nalso seen: ' + problems.join('\n');
    failure.message += '\ndaemon log:\n' + log;
    throw failure;
  }
  assert.equal(code, 0, `the daemon should exit 0 on SIGTERM (got ${code}, signal ${signal}):\n${log}`);
});
