// A replica whose NATS is gone refuses pushes with 503 within cluster.request_timeout (nothing is
// acknowledged that JetStream did not store), and works again once NATS is back, without a restart.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startServer } from '../../src/server/server.ts';
import { pollUntil } from '../support/peers.ts';
import { startNats } from './nats-fixture.ts';

const REQUEST_TIMEOUT_MS = 1500;

function pushBody(line: string): string {
  return JSON.stringify({ streams: [{ stream: { job: 'outage' }, values: [[String(BigInt(Date.now()) * 1_000_000n), line]] }] });
}

test('with NATS down a push gets 503 in bounded time; after NATS returns pushes and queries work again', { timeout: 120_000 }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'rankscope-nats-outage-'));
  const nats = await startNats(join(dir, 'nats'), 1);
  const replica = await startServer({
    server: { listen: '127.0.0.1:0' },
    store: { data_dir: join(dir, 'replica') },
    ui: { enabled: false },
    training: { enabled: false },
    ruler: { enabled: false },
    cluster: { enabled: true, nats_urls: nats.urls, partitions: 2, lease_ttl: '30s', request_timeout: `${REQUEST_TIMEOUT_MS}ms`, shared_directory: join(dir, 'shared') },
  });
  try {
    const push = (line: string): Promise<Response> => fetch(`${replica.url}/loki/api/v1/push`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: pushBody(line) });
    assert.equal((await push('before the outage')).status, 204);
    await nats.nodes[0]!.kill('SIGKILL');
    const startedMs = Date.now();
    const refused = await push('during the outage');
    const elapsedMs = Date.now() - startedMs;
    assert.equal(refused.status, 503, await refused.clone().text());
    assert.match(await refused.text(), /did not acknowledge the push.*retry/);
    assert.ok(elapsedMs < REQUEST_TIMEOUT_MS + 2000, `refused after ${elapsedMs} ms`);

    await nats.nodes[0]!.restart();
    await pollUntil('a push acknowledged after NATS returned', async () => ((await push('after the outage')).status === 204 ? true : undefined), { timeoutMs: 30_000, intervalMs: 250 });
    const lines = await pollUntil('both acknowledged lines', async () => {
      const params = new URLSearchParams({ query: '{job="outage"}', limit: '100', start: String((BigInt(Date.now()) - 600_000n) * 1_000_000n), end: String((BigInt(Date.now()) + 1000n) * 1_000_000n) });
      const response = await fetch(`${replica.url}/loki/api/v1/query_range?${params}`);
      if (response.status !== 200) return undefined;
      const body = (await response.json()) as { data: { result: Array<{ values: Array<[string, string]> }> } };
      const found = body.data.result.flatMap((stream) => stream.values.map(([, line]) => line));
      return found.includes('before the outage') && found.includes('after the outage') ? found : undefined;
    }, { timeoutMs: 30_000, intervalMs: 250 });
    assert.equal(lines.filter((line) => line === 'before the outage').length, 1);
  } finally {
    await replica.close().catch(() => undefined);
    await nats.stop();
    rmSync(dir, { recursive: true, force: true });
  }
});
