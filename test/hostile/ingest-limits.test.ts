// Ingest limits that answer 429: limits.max_global_streams_per_user (new streams past the limit get
// Loki's message naming the stream and the tenant; active streams keep being ingested; tenants are
// counted apart) and server.max_inflight_push_bytes (concurrent pushes past it are told to retry).

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { nowNs, pushJson, queryLines, startTestServer, type TestServer } from '../server/test-server.ts';

describe('active stream limit per tenant', () => {
  let server: TestServer;
  before(async () => {
    server = await startTestServer({ auth_enabled: true, limits: { max_global_streams_per_user: 100 } });
  });
  after(async () => {
    await server.dispose();
  });

  const streams = (from: number, count: number, t: bigint) =>
    Array.from({ length: count }, (_, i) => ({ stream: { job: 'limit', n: String(from + i) }, values: [[String(t + BigInt(i)), `line of ${from + i}`]] }));

  test('the 101st stream gets 429 with Loki message; active streams still pass; another tenant is not affected', async () => {
    const t = nowNs();
    const a = { 'x-scope-orgid': 'a' };
    assert.equal((await pushJson(server.url, streams(0, 100, t), a)).status, 204);
    const refused = await pushJson(server.url, streams(100, 1, t), a);
    assert.equal(refused.status, 429);
    assert.equal(
      await refused.text(),
      `Maximum active stream limit exceeded when trying to create stream {job="limit", n="100"}, reduce the number of active streams (reduce labels or reduce label values), or contact your Loki administrator to see if the limit can be increased, user: 'a'`,
    );
    // A push mixing an active stream and new ones: the active one is ingested, the answer is 429.
    const mixed = await pushJson(server.url, [...streams(0, 1, t + 1000n), ...streams(200, 5, t)], a);
    assert.equal(mixed.status, 429);
    assert.deepEqual((await queryLines(server.url, '{job="limit", n="0"}', a)).length, 2);
    assert.deepEqual(await queryLines(server.url, '{job="limit", n=~"100|200"}', a), []);
    assert.equal((await pushJson(server.url, streams(0, 100, t + 5000n), { 'x-scope-orgid': 'b' })).status, 204);
    const metrics = await (await fetch(`${server.url}/metrics`)).text();
    assert.match(metrics, /rankscope_discarded_lines_total\{tenant="a",reason="stream_limit"\} 6/);
  });
});

describe('push bytes in flight', () => {
  let server: TestServer;
  before(async () => {
    server = await startTestServer({ server: { max_inflight_push_bytes: '1MB' } });
  });
  after(async () => {
    await server.dispose();
  });

  test('concurrent pushes past server.max_inflight_push_bytes get 429; the bytes are released after each push', async () => {
    const t = nowNs();
    const body = (n: number) =>
      JSON.stringify({ streams: [{ stream: { job: 'inflight', n: String(n) }, values: Array.from({ length: 6000 }, (_, i) => [String(t + BigInt(i)), `line ${i} ${'x'.repeat(100)}`]) }] });
    const answers = await Promise.all(
      Array.from({ length: 20 }, (_, n) => fetch(`${server.url}/loki/api/v1/push`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: body(n) })),
    );
    const statuses = answers.map((answer) => answer.status);
    const texts = await Promise.all(answers.map((answer) => answer.text()));
    assert.ok(statuses.every((status) => status === 204 || status === 429), JSON.stringify(statuses));
    assert.ok(statuses.includes(204) && statuses.includes(429), JSON.stringify(statuses));
    assert.match(texts[statuses.indexOf(429)]!, /too many push bytes in flight: \d+ bytes are being ingested and this push needs \d+, limit 1048576 \(server\.max_inflight_push_bytes\)/);
    // Nothing stays reserved: pushes one at a time all pass.
    for (let n = 0; n < 3; n++) {
      const response = await fetch(`${server.url}/loki/api/v1/push`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: body(100 + n) });
      assert.equal(response.status, 204, await response.text());
    }
  });
});
