// SPDX-License-Identifier: MIT
// Browser test of the agent workspace against the real daemon: a customer asks the demo shop a
// question the knowledge base answers, then asks for a person; agent A finds the conversation in
// the Queue, accepts it, sees the hand-off summary in the side panel, inserts the suggested reply
// (with its citation) into the composer, edits and sends it; agent B (a second browser context)
// opens the same conversation and A sees B viewing and typing (collision indicator); a canned
// reply is inserted with "/"; an internal note reaches B live and never the customer; A resolves
// with a reason; the widget asks the customer for a rating, which A sees arrive.
// Drives Debian's chromium through playwright-core (no browser download).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { WAIT, chromiumMissing, consoleLogin as login, launchBrowser, shutdown, startDaemon, watch } from './harness.mjs';

const XSS = '<img src=x onerror=alert(1)>';

test('agent workspace: queue, accept, suggestion, canned reply, note, collision, resolve, CSAT', {
  skip: chromiumMissing,
  timeout: 240000,
}, async () => {
  const d = await startDaemon({ adminKey: true });
  let browser;
  let failure = null;
  const problems = [];
  try {
    const made = await fetch(d.url + '/api/v1/agents', {
      method: 'POST', headers: { authorization: 'Bearer ' + d.adminKey, 'content-type': 'application/json' },
      body: JSON.stringify({ email: 'bea@demo.local', name: 'Bea Second', password: 'bea-password-1', role: 'agent' }) });
    assert.equal(made.status, 201, await made.text());
    // agent A is "away", so the router leaves the conversation in the queue for A to accept
    const lr = await fetch(d.url + '/api/v1/auth/login', { method: 'POST', headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ email: 'agent@demo.local', password: d.password }) });
    const away = await fetch(d.url + '/api/v1/agents/me/presence', { method: 'PUT',
      headers: { authorization: 'Bearer ' + (await lr.json()).token, 'content-type': 'application/json' },
      body: JSON.stringify({ presence: 'away' }) });
    assert.equal(away.status, 200, await away.text());

    browser = await launchBrowser();

    // ---- the customer asks something the KB answers, then for a person ----
    const shopCtx = await browser.newContext({ viewport: { width: 1280, height: 860 } });
    const shop = await shopCtx.newPage();
    watch(shop, 'shop', problems);
    await shop.goto(d.url + '/widget');
    await shop.getByRole('button', { name: /open chat/i }).click();
    const input = shop.getByLabel('Your message');
    await input.fill('Where is my order?');
    await input.press('Enter');
    await shop.locator('.msg.bot .bubble').first().waitFor({ timeout: WAIT });
    await input.fill('I want to talk to a human please');
    await input.press('Enter');
    await shop.locator('.msg.bot').nth(1).waitFor({ timeout: WAIT });

    // ---- agent A: the Queue, accept ----
    const aCtx = await browser.newContext({ viewport: { width: 1400, height: 900 } });
    const a = await aCtx.newPage();
    watch(a, 'agent A', problems);
    await login(a, d.url, 'agent@demo.local', d.password);
    await a.getByRole('tab', { name: /Queue/ }).click();
    const queued = a.locator('button.conv', { hasText: 'Visitor' }).first();
    await queued.waitFor({ timeout: WAIT });
    await queued.click();
    await a.locator('#thread-status', { hasText: 'queued' }).waitFor({ timeout: WAIT });
    await a.locator('#sla .sla-chip', { hasText: 'First response' }).waitFor({ timeout: WAIT });
    await a.getByRole('button', { name: 'Accept' }).click();
    await a.locator('#thread-status', { hasText: 'assigned' }).waitFor({ timeout: WAIT });
    // the side panel: the customer and the hand-off summary
    await a.locator('#side-name', { hasText: 'Visitor' }).waitFor({ timeout: WAIT });
    await a.locator('#side-channels li').first().waitFor({ timeout: WAIT });

    // ---- agent B opens the same conversation: A sees it ----
    const bCtx = await browser.newContext({ viewport: { width: 1400, height: 900 } });
    const b = await bCtx.newPage();
    watch(b, 'agent B', problems);
    await login(b, d.url, 'bea@demo.local', 'bea-password-1');
    await b.locator('button.conv', { hasText: 'Visitor' }).first().click();
    await b.locator('#thread-title', { hasText: 'Visitor' }).waitFor({ timeout: WAIT });
    await a.locator('#activity', { hasText: 'Bea Second is viewing' }).waitFor({ timeout: WAIT });
    await b.getByLabel('Reply').pressSequentially('I can take th', { delay: 30 });
    await a.locator('#activity', { hasText: 'Bea Second is typing' }).waitFor({ timeout: WAIT });
    await b.getByLabel('Reply').fill('');

    // ---- the suggested reply, with its citation, inserted and edited ----
    const sug = a.locator('#suggest-list .suggestion').first();
    await sug.waitFor({ timeout: WAIT });
    assert.match(await sug.textContent(), /Where is my order\?/, 'the citation names the KB entry');
    await sug.getByRole('button', { name: 'Insert' }).click();
    const reply = a.getByLabel('Reply');
    assert.match(await reply.inputValue(), /parcel/);
    await reply.press('End');
    await reply.pressSequentially(' Anything else?');
    const sentText = await reply.inputValue();
    assert.match(sentText, /parcel[\s\S]*Anything else\?$/);
    await reply.press('Enter');
    await a.locator('#messages .msg.agent .bubble', { hasText: 'Anything else?' }).waitFor({ timeout: WAIT });
    await shop.locator('.msg.agent .bubble', { hasText: 'Anything else?' }).waitFor({ timeout: WAIT });

    // ---- a canned reply with "/" ----
    await reply.focus();
    await reply.pressSequentially('/thank');
    const option = a.locator('#canned [role="option"]', { hasText: 'thanks' }).first();
    await option.waitFor({ timeout: WAIT });
    await reply.press('Enter');
    assert.match(await reply.inputValue(), /Thank you for your patience/);
    await reply.fill('');

    // ---- an internal note: B sees it live, the customer never ----
    await a.getByLabel(/Internal note/).check();
    await reply.fill('Note: VIP, be generous <b>here</b>');
    await a.getByRole('button', { name: 'Send' }).click();
    await a.locator('#messages .msg.note .bubble', { hasText: 'VIP, be generous' }).waitFor({ timeout: WAIT });
    const atB = b.locator('#messages .msg.note .bubble', { hasText: 'VIP, be generous' });
    await atB.waitFor({ timeout: WAIT });
    assert.equal(await atB.textContent(), 'Note: VIP, be generous <b>here</b>', 'note text shown as text');

    // ---- keyboard: Esc leaves the composer, r comes back ----
    await reply.press('Escape');
    await a.keyboard.press('r');
    assert.equal(await a.evaluate(() => document.activeElement && document.activeElement.id), 'reply');

    // ---- resolve with a reason ----
    await a.getByLabel('Resolution reason').selectOption('Answered');
    await a.getByRole('button', { name: 'Resolve' }).click();
    await a.locator('#thread-status', { hasText: 'resolved' }).waitFor({ timeout: WAIT });
    await a.locator('#thread-meta', { hasText: 'resolved: Answered' }).waitFor({ timeout: WAIT });

    // ---- CSAT in the widget; agent A sees it arrive ----
    await shop.locator('.csat').waitFor({ timeout: WAIT });
    await shop.getByRole('button', { name: '4 of 5' }).click();
    await shop.getByLabel('Comment (optional)').fill('Quick and kind, 谢谢');
    await shop.getByRole('button', { name: 'Send rating' }).click();
    await shop.getByText('Thank you for your rating!').waitFor({ timeout: WAIT });
    await a.locator('#messages .csat-line', { hasText: 'rated 4/5' }).waitFor({ timeout: WAIT });
    assert.equal(await shop.locator('.bubble', { hasText: 'VIP, be generous' }).count(), 0, 'the customer never sees notes');
    // after a reload the widget does not ask again
    await shop.reload();
    await shop.getByRole('button', { name: /open chat/i }).click();
    await shop.locator('.msg.agent .bubble', { hasText: 'Anything else?' }).waitFor({ timeout: WAIT });
    await new Promise((r) => setTimeout(r, 800));
    assert.equal(await shop.locator('.csat').count(), 0, 'rated once');

    assert.deepEqual(problems, []);
  } catch (e) {
    failure = e;
  }
  const { code, signal, log } = await shutdown(d, browser, failure, problems);
  assert.equal(code, 0, `the daemon should exit 0 on SIGTERM (got ${code}, signal ${signal}):\n${log}`);
});
