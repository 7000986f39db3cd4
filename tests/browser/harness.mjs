// SPDX-License-Identifier: MIT
// Shared set-up of the browser tests: where chromium, the source tree and the switchboard binary
// are; a daemon serving the web UI from the source tree (tests/integration/daemon.mjs started
// with --web_dir and a temporary data directory, which a test may fill before the start); a
// JSON API helper; chromium launched through playwright-core; a watcher that records every
// sign of a broken or unsafe page; the console login; the shutdown that checks the daemon
// stops on SIGTERM. Not a test file itself (ctest only runs *.test.mjs).
//
// Environment (set by ctest): SB_BINARY, the built switchboard; SB_SOURCE_DIR, the source tree.
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { BINARY, startDaemon as startServe } from '../integration/daemon.mjs';

export { BINARY };
export const CHROMIUM = '/usr/bin/chromium';
export const SOURCE = process.env.SB_SOURCE_DIR || join(dirname(fileURLToPath(import.meta.url)), '..', '..');
export const WAIT = 15000;
/* The tests skip only when Debian's chromium is missing (scripts/deps.sh installs it). */
export const chromiumMissing = existsSync(CHROMIUM) ? false : `${CHROMIUM} is not installed`;

/* Starts `switchboard serve` on 127.0.0.1:0 with the web UI of the source tree and the data
 * directory <tmp>/data. Options: prefix of the temporary directory; adminKey, true for a
 * generated SWITCHBOARD_ADMIN_KEY (then d.adminKey and d.api use it), false for none; env and
 * args added to the daemon's; prepare({ dir, data }), run before the start (e.g. to put a model
 * into the data directory). The result is tests/integration/daemon.mjs's (url, password, proc,
 * exited, stderr(), ...) plus dir, api(method, path, body, token = adminKey) returning
 * { status, json }, and a cleanup() that kills the daemon and removes the whole directory. */
export async function startDaemon({ prefix = 'sb-browser-', adminKey = false, env = {}, args = [], prepare } = {}) {
  assert.ok(existsSync(BINARY), `no switchboard binary at ${BINARY} (set SB_BINARY)`);
  const dir = mkdtempSync(join(tmpdir(), prefix));
  const data = join(dir, 'data');
  let d;
  try {
    if (prepare) prepare({ dir, data });
    d = await startServe({
      dataDir: data, args: ['--web_dir', join(SOURCE, 'web'), ...args],
      /* an undefined value leaves the variable out of the daemon's environment */
      env: adminKey ? env : { SWITCHBOARD_ADMIN_KEY: undefined, ...env },
    });
  } catch (e) {
    rmSync(dir, { recursive: true, force: true });
    throw e;
  }
  const key = adminKey ? d.adminKey : null;
  return {
    ...d, dir, adminKey: key,
    async api(method, path, body, token = key) {
      const r = await fetch(d.url + path, {
        method,
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
      return { status: r.status, json: await r.json().catch(() => null) };
    },
    cleanup() {
      d.cleanup();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/* Flags of every launch; launchBrowser adds `args` (by default --disable-quic). */
export const CHROMIUM_ARGS = ['--headless=new', '--no-sandbox', '--disable-gpu', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync'];

export async function launchBrowser({ args = ['--disable-quic'] } = {}) {
  const { chromium } = await import('playwright-core');
  return chromium.launch({ executablePath: CHROMIUM, args: [...CHROMIUM_ARGS, ...args] });
}

/* The browser logs every 4xx; a wrong-password login is one on purpose. */
export const ALLOWED_CONSOLE_ERRORS = /WebSocket connection to .* failed|status of 401 \(Unauthorized\)/;

/* Everything that would mean a broken or unsafe page goes into `problems`: script errors, CSP
 * refusals and other console errors not matching `allowed`, dialogs (an alert() would mean
 * injected markup ran), 4xx/5xx answers for our own files (URLs for which `own` is true;
 * by default /static/). */
export function watch(page, label, problems,
  { allowed = ALLOWED_CONSOLE_ERRORS, own = (url) => url.includes('/static/') } = {}) {
  page.on('pageerror', (e) => problems.push(`${label}: page error: ${e.message}`));
  page.on('console', (m) => {
    if (m.type() === 'error' && !allowed.test(m.text())) problems.push(`${label}: console error: ${m.text()}`);
  });
  page.on('dialog', async (d) => { problems.push(`${label}: a dialog opened: ${d.message()}`); await d.dismiss(); });
  page.on('response', (r) => {
    if (own(r.url()) && r.status() >= 400) problems.push(`${label}: ${r.status()} for ${r.url()}`);
  });
}

/* Logs in to the console and waits until its live connection is up. */
export async function consoleLogin(page, url, email, password, wait = WAIT) {
  await page.goto(url + '/console');
  await page.getByLabel('E-mail').fill(email);
  await page.getByLabel('Password').fill(password);
  await page.getByRole('button', { name: 'Log in' }).click();
  await page.locator('#conn.live').waitFor({ timeout: wait });
}

/* Closes the browser, sends SIGTERM and waits up to 20 s for the exit, removes the daemon's
 * directory. Rethrows `failure` (if any) with the problems seen and the daemon's log appended;
 * otherwise returns { code, signal, log } for the caller to check a clean exit. */
export async function shutdown(d, browser, failure, problems) {
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
  return { code, signal, log };
}
