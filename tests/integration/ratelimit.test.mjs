// SPDX-License-Identifier: MIT
// Rate limits answer 429 with Retry-After instead of queueing without bound.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startDaemon, api } from './daemon.mjs';

test('per-key rate limit gives 429 with Retry-After', async () => {
  const d = await startDaemon({ env: { SB_RATE_PER_KEY: '5', SB_RATE_BURST_SECONDS: '1' } });
  try {
    const results = await Promise.all(Array.from({ length: 30 }, () => api(d, 'GET', '/api/v1/me')));
    const limited = results.filter((r) => r.status === 429);
    assert.ok(limited.length >= 20, `expected most requests limited, got ${limited.length}`);
    assert.ok(Number(limited[0].headers.get('retry-after')) >= 1);
    assert.ok(results.some((r) => r.status === 200));
  } finally {
    await d.stop();
    d.cleanup();
  }
});
