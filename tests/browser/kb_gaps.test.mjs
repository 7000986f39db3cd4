// SPDX-License-Identifier: MIT
// Browser test of the knowledge-gap report (/console/kb-gaps) against the real daemon: customers
// ask questions the demo knowledge base cannot answer; an agent logs in to the console, follows
// the header link to the report and sees them grouped with counts, last-seen times and example
// wordings, markup typed by a customer shown as text; once someone writes the entry, the group
// is marked answered; adding a group's wordings to the entry that answers it teaches the bot.
// Without a login the page points to the console. Drives Debian's chromium
// through playwright-core (no browser download).
//
// Environment (set by ctest): SB_BINARY, the built switchboard; SB_SOURCE_DIR, the source tree.
// Skips only when /usr/bin/chromium is missing (scripts/deps.sh installs it).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { WAIT, chromiumMissing, consoleLogin, launchBrowser, startDaemon, watch } from './harness.mjs';

const XSS = 'Do you sell garden furniture? <img src=x onerror=alert(1)>';
const PARCEL = "My package hasn't shown up yet";

/* Failed requests for the console pages count as problems too. */
const own = (url) => url.includes('/static/') || url.includes('/console');

test('knowledge-gap report in the console', {
  skip: chromiumMissing,
  timeout: 180000,
}, async () => {
  const d = await startDaemon({ prefix: 'sb-gaps-', adminKey: true });
  let browser;
  let exit = null;
  const problems = [];
  try {
    // customers ask what the demo KB does not cover; the bot abstains and records them
    let n = 0;
    for (const text of ['Can I pay with bitcoin?', 'Is paying with bitcoin possible?', XSS, PARCEL]) {
      const r = await d.api('POST', '/api/v1/messages', { customer: { id: `gap-${++n}` }, text, wait_reply: true });
      assert.equal(r.status, 201, JSON.stringify(r.json));
      assert.notEqual(r.json.reply.annotations.reason, 'kb_answer', `answered: ${text}`);
    }

    browser = await launchBrowser();

    // without a login the page says where to log in
    const anon = await (await browser.newContext()).newPage();
    watch(anon, 'anonymous', problems, { own });
    await anon.goto(d.url + '/console/kb-gaps');
    await anon.getByText('Log in to the console first').waitFor({ timeout: WAIT });
    assert.equal(await anon.locator('li.gap').count(), 0);

    // the agent logs in and follows the header link
    const ctx = await browser.newContext({ viewport: { width: 1280, height: 860 } });
    const page = await ctx.newPage();
    watch(page, 'console', problems, { own });
    await consoleLogin(page, d.url, 'agent@demo.local', d.password);
    await page.getByRole('link', { name: 'Knowledge gaps' }).click();
    await page.waitForURL(/\/console\/kb-gaps$/, { timeout: WAIT });
    assert.match(await page.title(), /Knowledge gaps/);

    // the two bitcoin questions form one group of 2, with the other wording as an example
    const bitcoin = page.locator('li.gap', { hasText: /bitcoin/i });
    await bitcoin.waitFor({ timeout: WAIT });
    assert.equal(await bitcoin.count(), 1, 'one group for both bitcoin questions');
    assert.match(await bitcoin.locator('.gap-count').textContent(), /^2 times$/);
    assert.match(await bitcoin.locator('.gap-last').textContent(), /last asked \S/);
    const wordings = [await bitcoin.locator('.gap-question').textContent(),
      ...(await bitcoin.locator('.gap-example').allTextContents())];
    assert.ok(wordings.includes('Can I pay with bitcoin?') && wordings.includes('Is paying with bitcoin possible?'),
      JSON.stringify(wordings));
    assert.equal(await bitcoin.locator('.badge.ok').count(), 0);

    // markup typed by a customer is shown as text, never run
    const xss = page.locator('li.gap', { hasText: 'garden furniture' });
    await xss.waitFor({ timeout: WAIT });
    assert.match(await xss.textContent(), /<img src=x onerror=alert\(1\)>/);
    assert.equal(await page.locator('#gaps-list img').count(), 0);
    assert.match(await page.locator('#gaps-status').textContent(), /3 groups, 4 questions/);

    // someone writes the entry: after a refresh the group is marked answered, citing it
    const put = await d.api('PUT', '/api/v1/kb/entries/faq-bitcoin', {
      kind: 'faq', title: 'Can I pay with bitcoin?', questions: ['Is paying with bitcoin possible?'],
      body: 'No, we do not accept bitcoin. We accept cards and PayPal.' });
    assert.equal(put.status, 200, JSON.stringify(put.json));
    await page.getByRole('button', { name: 'Refresh' }).click();
    await bitcoin.locator('.badge.ok', { hasText: 'answered now' }).waitFor({ timeout: WAIT });
    assert.match(await bitcoin.locator('.gap-kb').textContent(), /faq-bitcoin/);

    // the period filter reloads the list (everything here was asked in the last 24 hours)
    await page.locator('#gaps-since').selectOption('1');
    await page.locator('#gaps-status', { hasText: /3 groups, 4 questions/ }).waitFor({ timeout: WAIT });

    // teaching: the closest entry does answer the parcel question; adding the wording to its
    // phrasings makes the bot answer it from then on
    const parcel = page.locator('li.gap', { hasText: PARCEL });
    const entry = parcel.getByLabel('These questions are answered by');
    assert.equal(await entry.inputValue(), 'faq-order-status');
    await parcel.getByRole('button', { name: 'Add these wordings' }).click();
    await page.locator('#gaps-status', { hasText: 'Added 1 wording to faq-order-status.' }).waitFor({ timeout: WAIT });
    await parcel.locator('.badge.ok', { hasText: 'answered now' }).waitFor({ timeout: WAIT });
    const learned = await d.api('GET', '/api/v1/kb/entries/faq-order-status');
    assert.ok(learned.json.questions.includes(PARCEL), JSON.stringify(learned.json.questions));
    const again = await d.api('POST', '/api/v1/messages', { customer: { id: 'gap-again' }, text: PARCEL, wait_reply: true });
    assert.equal(again.json.reply.annotations.reason, 'kb_answer', JSON.stringify(again.json.reply));
    assert.equal(again.json.reply.annotations.citations[0].doc_id, 'faq-order-status');
    // a second click adds nothing
    await parcel.getByRole('button', { name: 'Add these wordings' }).click();
    await page.locator('#gaps-status', { hasText: 'faq-order-status already has these wordings.' }).waitFor({ timeout: WAIT });
    assert.deepEqual(problems, []);
  } finally {
    if (browser) await browser.close().catch(() => {});
    d.proc.kill('SIGTERM');
    exit = await d.exited;
    d.cleanup();
  }
  // a clean stop (a sanitizer report would make it non-zero)
  assert.equal(exit.code, 0, `the daemon should exit 0 on SIGTERM (got ${exit.code}, ${exit.signal}):\n${d.stderr()}`);
});
