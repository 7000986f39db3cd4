// SPDX-License-Identifier: MIT
// Starts the real switchboard daemon on 127.0.0.1:0 with a temporary data directory, as a
// user would, and gives tests its URL, credentials and a way to stop or kill it.
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';

export const BINARY = process.env.SB_BINARY || new URL('../../build/switchboard', import.meta.url).pathname;

export async function startDaemon({ dataDir, env = {}, args = [], adminKey } = {}) {
  const dir = dataDir || mkdtempSync(join(tmpdir(), 'sb-test-'));
  const key = adminKey || 'sbk_test_' + randomBytes(24).toString('hex');
  const password = 'test-password-' + randomBytes(6).toString('hex');
  const proc = spawn(BINARY, ['serve', '--listen', '127.0.0.1:0', '--data', dir, ...args], {
    env: { ...process.env, SWITCHBOARD_ADMIN_KEY: key, SWITCHBOARD_AGENT_PASSWORD: password,
           SB_LOG_LEVEL: 'warn', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  proc.stderr.on('data', (d) => { stderr += d; });
  // A daemon that dies under a test shows why (sanitizer reports, fatal log lines).
  proc.on('exit', (code, signal) => {
    if (code !== 0 && signal !== 'SIGKILL' && signal !== 'SIGTERM') process.stderr.write(`daemon exited ${code ?? signal}:\n${stderr}\n`);
  });
  const port = await new Promise((resolve, reject) => {
    let out = '';
    const timer = setTimeout(() => reject(new Error('daemon did not start:\n' + stderr)), 20000);
    proc.stdout.on('data', (d) => {
      out += d;
      const m = out.match(/listening on http:\/\/127\.0\.0\.1:(\d+)/);
      if (m) { clearTimeout(timer); resolve(Number(m[1])); }
    });
    proc.on('exit', (code) => { clearTimeout(timer); reject(new Error(`daemon exited ${code}:\n${stderr}`)); });
  });
  const exited = new Promise((resolve) => proc.on('exit', (code, signal) => resolve({ code, signal })));
  const url = `http://127.0.0.1:${port}`;
  return {
    url, port, dataDir: dir, adminKey: key, password, proc, exited,
    stderr: () => stderr,
    async stop() { proc.kill('SIGTERM'); return exited; },
    async kill9() { proc.kill('SIGKILL'); return exited; },
    cleanup() { try { proc.kill('SIGKILL'); } catch { /* gone */ } if (!dataDir) rmSync(dir, { recursive: true, force: true }); },
  };
}

export async function api(d, method, path, { body, token, raw, headers = {} } = {}) {
  const h = { ...headers };
  if (token !== null) h.authorization = `Bearer ${token || d.adminKey}`;
  if (body !== undefined) h['content-type'] = 'application/json';
  const res = await fetch(d.url + path, {
    method, headers: h,
    body: raw !== undefined ? raw : body !== undefined ? JSON.stringify(body) : undefined,
  });
  const text = await res.text();
  let json = null;
  try { json = JSON.parse(text); } catch { /* not JSON */ }
  return { status: res.status, json, text, headers: res.headers };
}

export async function login(d) {
  const r = await api(d, 'POST', '/api/v1/auth/login', {
    token: null, body: { email: 'agent@demo.local', password: d.password } });
  if (r.status !== 200) throw new Error('login failed: ' + r.text);
  return r.json.token;
}
