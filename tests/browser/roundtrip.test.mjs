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
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { SOURCE, WAIT, chromiumMissing, launchBrowser, shutdown, startDaemon, watch } from './harness.mjs';

const XSS = '<img src=x onerror=alert(1)>';

test('widget → console → reply round trip in a real browser', {
  skip: chromiumMissing,
  timeout: 240000,
}, async () => {
  const d = await startDaemon();
  let browser;
  let failure = null;
  const problems = [];
  try {
    // the daemon serves the API document it was built with
    const served = await fetch(d.url + '/api/v1/openapi.json');
    assert.equal(served.status, 200);
    assert.deepEqual(await served.json(), JSON.parse(readFileSync(join(SOURCE, 'docs', 'openapi.json'), 'utf8')));

    browser = await launchBrowser();

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
  const { code, signal, log } = await shutdown(d, browser, failure, problems);
  assert.equal(code, 0, `the daemon should exit 0 on SIGTERM (got ${code}, signal ${signal}):\n${log}`);
});
