// Multi-tenant reads (`X-Scope-OrgID: a|b`, query.multi_tenant_queries_enabled) through the real HTTP
// server: merged results with `__tenant_id__`, selectors on it, aggregations across tenants, labels,
// series and stats; off by default, and never for pushes.

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { getJson, nowNs, pushJson, startTestServer, type TestServer } from './test-server.ts';

const NS_PER_MS = 1_000_000n;
const BOTH = { 'X-Scope-OrgID': 'team-b|team-a' };

describe('multi-tenant queries', () => {
  let server: TestServer;
  let plain: TestServer;
  const startNs = nowNs() - 3_600_000n * NS_PER_MS;
  const range = () => `start=${startNs}&end=${nowNs() + 1000n * NS_PER_MS}`;

  before(async () => {
    [server, plain] = await Promise.all([
      startTestServer({ auth_enabled: true, query: { multi_tenant_queries_enabled: true } }),
      startTestServer({ auth_enabled: true }),
    ]);
    const baseNs = nowNs() - 60_000n * NS_PER_MS;
    for (const [tenant, count] of [['team-a', 3], ['team-b', 2]] as const) {
      const values = Array.from({ length: count }, (_, i) => [String(baseNs + BigInt(i) * NS_PER_MS * 1000n + (tenant === 'team-b' ? 1n : 0n)), `${tenant} line ${i}`]);
      assert.equal((await pushJson(server.url, [{ stream: { job: 'shared' }, values }], { 'X-Scope-OrgID': tenant })).status, 204);
    }
  });
  after(async () => {
    await Promise.all([server.dispose(), plain.dispose()]);
  });

  test('a log query over a|b returns both tenants, each stream labelled __tenant_id__', async () => {
    const { status, body, text } = await getJson(`${server.url}/loki/api/v1/query_range?query=${encodeURIComponent('{job="shared"}')}&${range()}`, BOTH);
    assert.equal(status, 200, text);
    const streams = (body as { data: { result: Array<{ stream: Record<string, string>; values: string[][] }> } }).data.result;
    const byTenant = Object.fromEntries(streams.map((stream) => [stream.stream.__tenant_id__, stream.values.length]));
    assert.deepEqual(byTenant, { 'team-a': 3, 'team-b': 2 });
    assert.deepEqual(streams.map((stream) => Object.keys(stream.stream)), [['__tenant_id__', 'job'], ['__tenant_id__', 'job']]);
  });

  test('selectors match __tenant_id__; aggregations run across tenants', async () => {
    const onlyB = await getJson(`${server.url}/loki/api/v1/query_range?query=${encodeURIComponent('{job="shared", __tenant_id__="team-b"}')}&${range()}`, BOTH);
    const lines = (onlyB.body as { data: { result: Array<{ values: string[][] }> } }).data.result.flatMap((stream) => stream.values.map((value) => value[1]));
    assert.deepEqual(lines.sort(), ['team-b line 0', 'team-b line 1']);
    const total = await getJson(`${server.url}/loki/api/v1/query?query=${encodeURIComponent('sum(count_over_time({job="shared"}[1h]))')}&time=${nowNs()}`, BOTH);
    assert.equal((total.body as { data: { result: Array<{ value: [number, string] }> } }).data.result[0]!.value[1], '5');
    const perTenant = await getJson(`${server.url}/loki/api/v1/query?query=${encodeURIComponent('sum by (__tenant_id__) (count_over_time({job="shared"}[1h]))')}&time=${nowNs()}`, BOTH);
    const counts = (perTenant.body as { data: { result: Array<{ metric: Record<string, string>; value: [number, string] }> } }).data.result.map((sample) => [sample.metric.__tenant_id__, sample.value[1]]);
    assert.deepEqual(counts, [['team-a', '3'], ['team-b', '2']]);
  });

  test('labels, __tenant_id__ values, series and index/stats cover every tenant', async () => {
    const names = await getJson(`${server.url}/loki/api/v1/labels?${range()}`, BOTH);
    assert.deepEqual((names.body as { data: string[] }).data, ['__tenant_id__', 'job']);
    const tenants = await getJson(`${server.url}/loki/api/v1/label/__tenant_id__/values?${range()}`, BOTH);
    assert.deepEqual((tenants.body as { data: string[] }).data, ['team-a', 'team-b']);
    const series = await getJson(`${server.url}/loki/api/v1/series?match[]=${encodeURIComponent('{job="shared"}')}&${range()}`, BOTH);
    assert.equal((series.body as { data: unknown[] }).data.length, 2);
    const stats = await getJson(`${server.url}/loki/api/v1/index/stats?query=${encodeURIComponent('{job="shared"}')}&${range()}`, BOTH);
    assert.equal((stats.body as { entries: number }).entries, 5);
    const single = await getJson(`${server.url}/loki/api/v1/labels?${range()}`, { 'X-Scope-OrgID': 'team-a' });
    assert.deepEqual((single.body as { data: string[] }).data, ['job'], 'one tenant: no __tenant_id__');
  });

  test('off by default (400), and a push never takes several tenants', async () => {
    const off = await getJson(`${plain.url}/loki/api/v1/query_range?query=${encodeURIComponent('{job="shared"}')}&${range()}`, BOTH);
    assert.equal(off.status, 400);
    assert.match(off.text, /names several tenants \('team-b\|team-a'\).*multi_tenant_queries_enabled/);
    const push = await pushJson(server.url, [{ stream: { job: 'x' }, values: [[String(nowNs()), 'x']] }], BOTH);
    assert.equal(push.status, 400);
    assert.match(await push.text(), /pushes and tails take one/);
  });
});
