// SPDX-License-Identifier: MIT
// Browser test of teaching the knowledge base from the console, against the real daemon: an
// agent (role agent) opens a conversation whose question the bot could not answer, uses
// "Answered by KB entry…" with the keyboard only (search, Tab to the entry, Enter) to propose
// it; in another conversation she inserts the bot's suggested reply and sends it, which
// proposes that question automatically ("proposed to the knowledge base"). The agent does not
// see the review section of the gap page; the supervisor (the demo admin) sees the pending
// proposals there -- customer markup shown as text -- approves one and dismisses another; the
// question the bot abstained on is then answered citing the entry. Drives Debian's chromium
// through playwright-core (no browser download).
//
// Environment (set by ctest): SB_BINARY, the built switchboard; SB_SOURCE_DIR, the source tree.
// Skips only when /usr/bin/chromium is missing (scripts/deps.sh installs it).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { WAIT, chromiumMissing, consoleLogin, launchBrowser, shutdown, startDaemon, watch } from './harness.mjs';

const PARCEL = "My package hasn't shown up yet";
const TRACK = 'Could you tell me how to track my parcel?';
const XSS = 'Is the <img src=x onerror=alert(1)> showroom open?';

/* Failed requests for the console pages count as problems too. */
const own = (url) => url.includes('/static/') || url.includes('/console');

test('teach the knowledge base from the console: propose, auto-propose, review on the gap page', {
  skip: chromiumMissing,
  timeout: 240000,
}, async () => {
  const d = await startDaemon({ prefix: 'sb-teach-', adminKey: true });
  let browser;
  let failure = null;
  const problems = [];
  try {
    const made = await d.api('POST', '/api/v1/agents', {
      email: 'ada@demo.local', name: 'Ada Agent', password: 'ada-password-1', role: 'agent' });
    assert.equal(made.status, 201, JSON.stringify(made.json));
    const ask = async (customer, text) => {
      const r = await d.api('POST', '/api/v1/messages', { customer: { id: customer, name: customer }, text, wait_reply: true });
      assert.equal(r.status, 201, JSON.stringify(r.json));
      return r.json;
    };
    const parcel = await ask('Pat Parcel', PARCEL);
    assert.notEqual(parcel.reply.annotations.reason, 'kb_answer', 'the bot abstains on the parcel question');
    const track = await ask('Tom Track', TRACK);
    assert.equal(track.reply.annotations.reason, 'kb_answer', 'the bot answers the tracking question');
    const xss = await ask('Xena Markup', XSS);

    browser = await launchBrowser();

    // ---- the agent: "Answered by KB entry…", keyboard only ----
    const aCtx = await browser.newContext({ viewport: { width: 1400, height: 900 } });
    const a = await aCtx.newPage();
    watch(a, 'agent', problems, { own });
    await consoleLogin(a, d.url, 'ada@demo.local', 'ada-password-1');
    await a.locator(`button.conv[data-id="${parcel.conversation_id}"]`).click();
    const customerMsg = a.locator('#messages .msg.customer', { hasText: PARCEL });
    await customerMsg.waitFor({ timeout: WAIT });
    assert.equal(await a.locator('#messages .msg.bot .teach-btn').count(), 0, 'only customer messages have the action');
    const teachBtn = customerMsg.getByRole('button', { name: 'Answered by KB entry…' });
    await teachBtn.focus();
    await a.keyboard.press('Enter');
    const dialog = a.getByRole('dialog', { name: 'Answered by which knowledge-base entry?' });
    await dialog.waitFor({ timeout: WAIT });
    assert.equal(await a.locator('#teach-wording').textContent(), PARCEL);
    assert.equal(await a.evaluate(() => document.activeElement.id), 'teach-q', 'the search field has the focus');
    // a search of our own words, by keyboard
    await a.keyboard.type('where is my order');
    await a.keyboard.press('Enter');
    const hit = dialog.locator('button.teach-hit[data-entry="faq-order-status"]');
    await hit.waitFor({ timeout: WAIT });
    for (const label of await dialog.locator('button.teach-hit').allTextContents()) {
      assert.match(label, /· (FAQ|catalogue)\]$/, 'only FAQ and catalogue entries are offered');
    }
    await a.keyboard.press('Tab'); // the Search button
    let guard = 0;
    while (await a.evaluate(() => document.activeElement && document.activeElement.dataset.entry) !== 'faq-order-status') {
      await a.keyboard.press('Tab');
      assert.ok(++guard < 12, 'Tab reaches the entry');
    }
    await a.keyboard.press('Enter');
    await dialog.waitFor({ state: 'hidden', timeout: WAIT });
    await a.locator('#teach-status', { hasText: 'Proposed to the knowledge base' }).waitFor({ timeout: WAIT });
    assert.match(await a.locator('#teach-status').textContent(), /“My package hasn't shown up yet” → “Where is my order\?”/);
    assert.equal(await a.evaluate(() => document.activeElement.textContent), 'Answered by KB entry…', 'the focus returns');
    // Esc closes the dialog without proposing
    await a.keyboard.press('Enter');
    await dialog.waitFor({ timeout: WAIT });
    await a.keyboard.press('Escape');
    await dialog.waitFor({ state: 'hidden', timeout: WAIT });

    // ---- the agent: insert the suggested reply and send it ----
    await a.locator(`button.conv[data-id="${track.conversation_id}"]`).click();
    await a.locator('#messages .msg.customer', { hasText: TRACK }).waitFor({ timeout: WAIT });
    assert.equal(await a.locator('#teach-status').textContent(), '', 'the status belongs to the other conversation');
    const sug = a.locator('#suggest-list .suggestion').first();
    await sug.waitFor({ timeout: WAIT });
    await sug.getByRole('button', { name: 'Insert' }).click();
    const reply = a.getByLabel('Reply');
    assert.match(await reply.inputValue(), /parcel/);
    await reply.press('End');
    await reply.pressSequentially(' Have a nice day!');
    await reply.press('Enter');
    await a.locator('#messages .msg.agent .bubble', { hasText: 'Have a nice day!' }).waitFor({ timeout: WAIT });
    await a.locator('#teach-status', { hasText: 'Proposed to the knowledge base' }).waitFor({ timeout: WAIT });
    assert.match(await a.locator('#teach-status').textContent(), new RegExp(`“${TRACK.replace('?', '\\?')}”`));

    // a third proposal, through the API, with markup typed by a customer
    const agentToken = await a.evaluate(() => sessionStorage.getItem('switchboard.console.token'));
    const p3 = await d.api('POST', '/api/v1/kb/wordings', { message_id: xss.message_id, entry: 'faq-showroom' }, agentToken);
    assert.equal(p3.status, 201, JSON.stringify(p3.json));

    // the agent does not review: the gap page has no "Proposed by agents" for her
    await a.goto(d.url + '/console/kb-gaps');
    await a.locator('#gaps-status', { hasText: /group|No unanswered/ }).waitFor({ timeout: WAIT });
    assert.equal(await a.locator('#proposals').isHidden(), true);

    // ---- the supervisor reviews on the gap page ----
    const sCtx = await browser.newContext({ viewport: { width: 1280, height: 900 } });
    const s = await sCtx.newPage();
    watch(s, 'supervisor', problems, { own });
    await consoleLogin(s, d.url, 'agent@demo.local', d.password);
    await s.getByRole('link', { name: 'Knowledge gaps' }).click();
    await s.waitForURL(/\/console\/kb-gaps$/, { timeout: WAIT });
    const section = s.getByRole('region', { name: /Proposed by agents/ });
    await section.waitFor({ timeout: WAIT });
    const items = section.locator('li.proposal');
    await items.first().waitFor({ timeout: WAIT });
    assert.equal(await items.count(), 3);
    assert.equal(await s.locator('#proposals-count').textContent(), '3');
    const pParcel = section.locator('li.proposal', { hasText: PARCEL });
    assert.match(await pParcel.textContent(), /answered by Where is my order\? \[faq-order-status\]/);
    assert.match(await pParcel.locator('.proposal-meta').textContent(), /proposed by Ada Agent, \S/);
    const pXss = section.locator('li.proposal', { hasText: 'showroom open' });
    assert.equal(await pXss.locator('.proposal-wording').textContent(), XSS, 'markup shown as text');
    assert.equal(await s.locator('#proposals-list img').count(), 0);

    // the parcel question is still a gap; approving the proposal teaches the bot
    await s.locator('li.gap', { hasText: PARCEL }).waitFor({ timeout: WAIT });
    await pParcel.getByRole('button', { name: /^Approve/ }).click();
    await s.locator('#proposals-status', { hasText: `Approved: “${PARCEL}” is now a phrasing of faq-order-status.` }).waitFor({ timeout: WAIT });
    await s.locator('li.gap', { hasText: PARCEL }).locator('.badge.ok', { hasText: 'answered now' }).waitFor({ timeout: WAIT });
    assert.equal(await items.count(), 2);
    await pXss.getByRole('button', { name: /^Dismiss/ }).click();
    await s.locator('#proposals-status', { hasText: 'Dismissed' }).waitFor({ timeout: WAIT });
    assert.equal(await items.count(), 1);
    assert.equal(await s.locator('#proposals-count').textContent(), '1');

    const again = await d.api('POST', '/api/v1/messages', { customer: { id: 'again' }, text: PARCEL, wait_reply: true });
    assert.equal(again.json.reply.annotations.reason, 'kb_answer', JSON.stringify(again.json.reply));
    assert.equal(again.json.reply.annotations.citations[0].doc_id, 'faq-order-status');
    const decided = await d.api('GET', '/api/v1/kb/wordings?status=all');
    const byStatus = Object.fromEntries(decided.json.wordings.map((w) => [w.wording, w.status]));
    assert.deepEqual(byStatus, { [PARCEL]: 'approved', [TRACK]: 'pending', [XSS]: 'dismissed' });
    assert.deepEqual(problems, []);
  } catch (e) {
    failure = e;
  }
  const { code, signal, log } = await shutdown(d, browser, failure, problems);
  assert.equal(code, 0, `the daemon should exit 0 on SIGTERM (got ${code}, ${signal}):\n${log}`);
});
