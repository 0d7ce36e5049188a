// Every endpoint that takes GET parameters takes them as a POST form body too, as Loki and
// Prometheus do; they once answered 499 because the request stream closing after its body was read
// looked like a client disconnect. Each POST must answer what the same GET answers.

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { nowNs, pushJson, startTestServer, type TestServer } from '../server/test-server.ts';

describe('POST form bodies on every read endpoint', () => {
  let server: TestServer;
  const t = nowNs();
  const start = String(t - 600_000_000_000n);
  const end = String(t + 60_000_000_000n);
  before(async () => {
    server = await startTestServer({ ruler: { enabled: true, poll_interval: '1h' } });
    const values = Array.from({ length: 20 }, (_, i) => [String(t - BigInt(i) * 1_000_000_000n), `level=info step=${i} loss=${(1 / (i + 1)).toFixed(3)} msg="training step"`]);
    const response = await pushJson(server.url, [{ stream: { job: 'train', rank: '0' }, values }]);
    assert.equal(response.status, 204);
  });
  after(async () => {
    await server.dispose();
  });

  const cases: Array<{ path: string; params: Record<string, string | string[]>; same?: boolean }> = [
    { path: '/loki/api/v1/query', params: { query: 'sum(count_over_time({job="train"}[5m]))', time: end } },
    { path: '/loki/api/v1/query_range', params: { query: '{job="train"} |= "loss"', start, end, limit: '5' } },
    { path: '/loki/api/v1/query_range', params: { query: 'sum(rate({job="train"}[1m]))', start, end, step: '60' } },
    { path: '/api/prom/query', params: { query: '{job="train"}', start, end, limit: '3' } },
    { path: '/loki/api/v1/series', params: { 'match[]': ['{job="train"}', '{rank="0"}'], start, end } },
    { path: '/loki/api/v1/labels', params: { start, end } },
    { path: '/loki/api/v1/label/rank/values', params: { start, end, query: '{job="train"}' } },
    { path: '/loki/api/v1/detected_labels', params: { query: '{job="train"}', start, end } },
    { path: '/loki/api/v1/detected_fields', params: { query: '{job="train"}', start, end } },
    { path: '/loki/api/v1/detected_field/loss/values', params: { query: '{job="train"}', start, end } },
    { path: '/loki/api/v1/patterns', params: { query: '{job="train"}', start, end } },
    { path: '/loki/api/v1/index/stats', params: { query: '{job="train"}', start, end } },
    { path: '/loki/api/v1/index/volume', params: { query: '{job="train"}', start, end } },
    { path: '/loki/api/v1/index/volume_range', params: { query: '{job="train"}', start, end, step: '60' } },
    { path: '/loki/api/v1/format_query', params: { query: '{job="train"}|="x"' } },
    { path: '/prometheus/api/v1/query', params: { query: '1+1', time: '1700000000' } },
    { path: '/prometheus/api/v1/query_range', params: { query: 'tenant:lines:rate1m', start: '1700000000', end: '1700000600', step: '60' } },
  ];

  for (const item of cases) {
    test(`POST ${item.path} with a form body answers as GET does`, async () => {
      const form = new URLSearchParams();
      for (const [key, value] of Object.entries(item.params)) for (const one of [value].flat()) form.append(key, one);
      const get = await fetch(`${server.url}${item.path}?${form}`);
      const getText = await get.text();
      assert.equal(get.status, 200, `GET: ${getText}`);
      const post = await fetch(`${server.url}${item.path}`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: form.toString() });
      const postText = await post.text();
      assert.equal(post.status, 200, `POST: ${postText}`);
      assert.deepEqual(withoutStats(JSON.parse(postText)), withoutStats(JSON.parse(getText)));
    });
  }
});

/** Query statistics carry timings that differ between two runs of the same query. */
function withoutStats(body: unknown): unknown {
  if (typeof body === 'object' && body !== null && 'data' in body) {
    const data = (body as { data: unknown }).data;
    if (typeof data === 'object' && data !== null && 'stats' in data) return { ...body, data: { ...data, stats: undefined } };
  }
  return body;
}
