// SPDX-License-Identifier: MIT
// Opens N idle widget WebSockets to a running daemon and reports the daemon's resident memory
// per connection (RSS after minus RSS before, over N). Usage:
//   node bench/server/ws_idle.mjs URL PID N
import WebSocket from '../../tests/integration/node_modules/ws/index.js';
import { readFileSync } from 'node:fs';

const [url, pid, nArg] = process.argv.slice(2);
const n = Number(nArg || 10000);
const rssKiB = () => Number(readFileSync(`/proc/${pid}/status`, 'utf8').match(/VmRSS:\s+(\d+)/)[1]);

const s = await fetch(url + '/api/v1/widget/session', { method: 'POST', body: '{}' }).then((r) => r.json());
const token = encodeURIComponent(s.visitor_token);
const wsUrl = url.replace('http', 'ws') + '/ws/widget?token=' + token;
const before = rssKiB();
const sockets = [];
let ready = 0, failed = 0;
const batch = 500;
for (let i = 0; i < n; i += batch) {
  await Promise.all(Array.from({ length: Math.min(batch, n - i) }, () => new Promise((resolve) => {
    const ws = new WebSocket(wsUrl, { perMessageDeflate: false });
    ws.on('message', () => { ready++; resolve(); });
    ws.on('error', () => { failed++; resolve(); });
    sockets.push(ws);
  })));
}
await new Promise((r) => setTimeout(r, 2000));
const after = rssKiB();
console.log(JSON.stringify({ connections: ready, failed, rss_before_kib: before, rss_after_kib: after,
  bytes_per_connection: Math.round((after - before) * 1024 / Math.max(ready, 1)) }));
for (const ws of sockets) ws.terminate();
process.exit(0);
