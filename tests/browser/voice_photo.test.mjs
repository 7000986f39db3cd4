// SPDX-License-Identifier: MIT
// Browser test of voice notes and photos: in a real Chromium whose fake microphone plays a
// recording of a spoken "seven" (tests/fixtures/digit_seven.wav), a customer records a voice
// note in the widget (Web Audio PCM → 16 kHz WAV → multipart upload) and sends a receipt
// photo drawn on a canvas; the agent console then shows an audio player with the transcript
// "seven" (the widget is embedded with data-voice-grammar="digits") and the image with the text
// and fields read from it. Also checks the recording state (visible, cancellable). Drives
// Debian's chromium through playwright-core.
//
// Environment (set by ctest): SB_BINARY, the built switchboard; SB_SOURCE_DIR, the source tree.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { SOURCE, chromiumMissing, consoleLogin, launchBrowser, shutdown, startDaemon } from './harness.mjs';

const VOICE = join(SOURCE, 'tests', 'fixtures', 'digit_seven.wav');
const WAIT = 20000;

// A shop page that embeds the widget for a phone-menu style deployment (spoken digits).
const SHOP = `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Voice shop</title>
<script src="/static/widget.js" defer data-voice-grammar="digits" data-title="Help"></script>
</head><body><h1>Voice shop</h1></body></html>`;

test('a voice note and a receipt photo from the widget reach the agent console', {
  skip: chromiumMissing || (!existsSync(VOICE) ? 'no voice fixture' : false),
  timeout: 300000,
}, async () => {
  const d = await startDaemon({ prefix: 'sb-voice-' });
  let browser;
  let failure = null;
  const problems = [];
  try {
    // the fake microphone plays VOICE (and QUIC is left on, as this test always had it)
    browser = await launchBrowser({ args: [
      '--use-fake-ui-for-media-stream', '--use-fake-device-for-media-stream',
      `--use-file-for-fake-audio-capture=${VOICE}%noloop`,
      '--autoplay-policy=no-user-gesture-required'] });
    const shopCtx = await browser.newContext({ viewport: { width: 1280, height: 860 } });
    await shopCtx.route(d.url + '/voice-shop', (r) => r.fulfill({ status: 200, contentType: 'text/html', body: SHOP }));
    const shop = await shopCtx.newPage();
    shop.on('pageerror', (e) => problems.push(`shop: page error: ${e.message}`));
    shop.on('dialog', async (dl) => { problems.push(`shop: dialog ${dl.message()}`); await dl.dismiss(); });
    await shop.goto(d.url + '/voice-shop');
    await shop.getByRole('button', { name: /open chat/i }).click();

    // ---- a recording can be started and cancelled: nothing is sent ----
    const mic = shop.getByRole('button', { name: 'Record a voice note' });
    await mic.click();
    const bar = shop.locator('#switchboard-widget .rec');
    await bar.waitFor({ state: 'visible', timeout: WAIT });
    assert.match(await bar.textContent(), /Recording… 0:0\d/);
    assert.equal(await shop.getByRole('button', { name: 'Stop recording and send' }).getAttribute('aria-pressed'), 'true');
    await shop.getByRole('button', { name: 'Cancel' }).click();
    await bar.waitFor({ state: 'hidden', timeout: WAIT });
    assert.equal(await shop.locator('.msg.customer').count(), 0, 'a cancelled recording is not sent');

    // ---- a voice note: the fake microphone says "seven" ----
    // A new capture starts the file again from its beginning.
    await mic.click();
    await bar.waitFor({ state: 'visible', timeout: WAIT });
    await shop.waitForTimeout(2500);
    await shop.getByRole('button', { name: 'Stop and send' }).click();
    await bar.waitFor({ state: 'hidden', timeout: WAIT });
    const note = shop.locator('.msg.customer .bubble', { hasText: '[Voice note]' });
    await note.waitFor({ timeout: WAIT });
    await shop.locator('.msg.customer.sending').waitFor({ state: 'detached', timeout: WAIT });
    assert.equal(await shop.locator('.msg.customer.failed').count(), 0, 'the voice note was accepted');

    // ---- a receipt photo through the picker ----
    const receipt = await shop.evaluate(() => {
      const c = document.createElement('canvas');
      c.width = 640;
      c.height = 420;
      const g = c.getContext('2d');
      g.fillStyle = '#fff';
      g.fillRect(0, 0, c.width, c.height);
      g.fillStyle = '#000';
      g.font = 'bold 30px monospace';
      const lines = ['CORNER SHOP SDN BHD', '12 JALAN MERDEKA', 'DATE: 05/03/2024', '',
        'BREAD          3.50', 'MILK           6.40', 'TOTAL          9.90'];
      lines.forEach((t, i) => g.fillText(t, 30, 50 + i * 52));
      return c.toDataURL('image/png').split(',')[1];
    });
    await shop.locator('#switchboard-widget input[type=file]').setInputFiles({
      name: 'receipt.png', mimeType: 'image/png', buffer: Buffer.from(receipt, 'base64'),
    });
    await shop.locator('.msg.customer .bubble', { hasText: '[Photo] receipt.png' }).waitFor({ timeout: WAIT });
    await shop.locator('.msg.customer.sending').waitFor({ state: 'detached', timeout: WAIT });
    assert.equal(await shop.locator('.msg.customer.failed').count(), 0, 'the photo was accepted');

    // ---- the agent console ----
    const consoleCtx = await browser.newContext({ viewport: { width: 1280, height: 900 } });
    const agent = await consoleCtx.newPage();
    agent.on('pageerror', (e) => problems.push(`console: page error: ${e.message}`));
    await consoleLogin(agent, d.url, 'agent@demo.local', d.password, WAIT);
    await agent.locator('button.conv', { hasText: 'Visitor' }).first().click();

    const audio = agent.locator('#messages audio.media-audio');
    await audio.waitFor({ timeout: WAIT });
    await agent.waitForFunction(() => {
      const a = document.querySelector('#messages audio.media-audio');
      return a && a.src.startsWith('blob:');
    }, null, { timeout: WAIT });
    // the player can read what was stored: a WAV of about 2.5 s
    await agent.waitForFunction(() => {
      const a = document.querySelector('#messages audio.media-audio');
      return a && a.readyState >= 1 && a.duration > 1.5 && a.duration < 5;
    }, null, { timeout: WAIT });
    const transcript = agent.locator('#messages .media-transcript', { hasText: 'Transcript' });
    await transcript.waitFor({ timeout: 60000 });
    assert.match(await transcript.textContent(), /Transcript \(\d+ ?%\): seven/);

    const img = agent.locator('#messages img.media-img');
    await img.waitFor({ timeout: WAIT });
    await agent.waitForFunction(() => {
      const i = document.querySelector('#messages img.media-img');
      return i && i.src.startsWith('blob:') && i.complete && i.naturalWidth === 640;
    }, null, { timeout: WAIT });
    const fields = agent.locator('#messages .media-fields');
    await fields.waitFor({ timeout: 60000 });
    const fieldText = await fields.textContent();
    assert.match(fieldText, /total\s*9\.90/, fieldText);
    const text = await agent.locator('#messages details.media-text .media-transcript').textContent();
    assert.match(text, /TOTAL/, text);
    assert.match(text, /BREAD/, text);
    assert.equal(await agent.locator('#messages .media-error').count(), 0);
    assert.deepEqual(problems, []);
  } catch (e) {
    failure = e;
  }
  const { code, log } = await shutdown(d, browser, failure, problems);
  assert.equal(code, 0, `the daemon should exit 0 on SIGTERM:\n${log}`);
});
