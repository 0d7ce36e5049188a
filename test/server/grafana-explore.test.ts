// Replays the requests Grafana's Loki data source sends (shared/reference/grafana-client.md §2–§8, §12)
// byte for byte — sorted keys, ns times, `step=<n>ms`, the categorize-labels header — against a real
// server, and checks the response fields Grafana reads.

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import WebSocket from 'ws';
import { getJson, nowNs, pushJson, startTestServer, type TestServer } from './test-server.ts';

const CATEGORIZE = { 'X-Loki-Response-Encoding-Flags': 'categorize-labels' };
const NS_PER_MS = 1_000_000n;

/** Go's url.Values.Encode(): keys sorted, QueryEscape (space → `+`). */
function goQuery(params: Record<string, string>): string {
  return Object.keys(params)
    .sort()
    .map((key) => `${encodeURIComponent(key)}=${encodeURIComponent(params[key]!).replace(/%20/g, '+').replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`)}`)
    .join('&');
}

interface StreamsData {
  resultType: string;
  encodingFlags?: string[];
  result: Array<{ stream: Record<string, string>; values: unknown[][] }>;
}

describe('Grafana Explore against rankscope', () => {
  let server: TestServer;
  /** A row's timestamp, as Grafana keeps it: ms (`row.timeEpochMs`) plus the exact ns string. */
  let rowNs: bigint;
  const baseNs = (nowNs() / 1_000_000_000n - 120n) * 1_000_000_000n + 123_456_789n;
  const labels = { host: 'node-a', job: 'train', rank: '0', run: 'f59b15f0' };

  before(async () => {
    server = await startTestServer({ limits: { discover_log_levels: true } });
    const values: unknown[] = [];
    for (let i = 0; i < 20; i++) {
      const ns = String(baseNs + BigInt(i) * 1_000_000_000n);
      values.push(i % 5 === 4 ? [ns, `level=error msg="out of memory" step=${i}`, { trace_id: `t${i}` }] : [ns, `level=info msg="step done" step=${i} loss=0.${i}`]);
    }
    const response = await pushJson(server.url, [
      { stream: labels, values },
      { stream: { host: 'node-b', job: 'train', rank: '1', run: 'f59b15f0' }, values: [[String(baseNs + 500_000_000n), 'WARNING: rank 1 is slow']] },
    ]);
    assert.equal(response.status, 204);
    rowNs = baseNs + 10n * 1_000_000_000n;
  });
  after(async () => {
    await server.dispose();
  });

  test('health check: instant vector(1)+vector(1) at time=4000000000 → one sample "2"', async () => {
    const { status, body } = await getJson(`${server.url}/loki/api/v1/query?direction=backward&query=vector%281%29%2Bvector%281%29&time=4000000000`, CATEGORIZE);
    assert.equal(status, 200);
    const data = (body as { status: string; data: { resultType: string; result: Array<{ metric: object; value: [unknown, unknown] }> } }).data;
    assert.equal((body as { status: string }).status, 'success');
    assert.equal(data.resultType, 'vector');
    assert.equal(data.result.length, 1);
    assert.deepEqual(data.result[0]!.metric, {});
    assert.equal(typeof data.result[0]!.value[0], 'number');
    assert.equal(data.result[0]!.value[1], '2');
  });

  test('log query with categorize-labels: flags before result, 3-element values, only indexed labels in stream', async () => {
    const endNs = nowNs() + 60_000n * NS_PER_MS;
    const query = goQuery({ direction: 'backward', end: String(endNs), limit: '1000', query: '{job="train",run="f59b15f0"} | logfmt', start: String(endNs - 3_600_000n * NS_PER_MS), step: '2000ms' });
    const { status, text } = await getJson(`${server.url}/loki/api/v1/query_range?${query}`, { ...CATEGORIZE, 'X-Query-Tags': 'Source=infinitescroll' });
    assert.equal(status, 200, text);
    assert.ok(text.indexOf('"encodingFlags"') < text.indexOf('"result"'), 'encodingFlags must come before result');
    const data = (JSON.parse(text) as { data: StreamsData }).data;
    assert.deepEqual(data.encodingFlags, ['categorize-labels']);
    let entries = 0;
    for (const stream of data.result) {
      assert.deepEqual(Object.keys(stream).sort(), ['stream', 'values']);
      assert.deepEqual(Object.keys(stream.stream).sort(), ['host', 'job', 'rank', 'run'], 'parsed labels and metadata stay out of stream');
      for (const value of stream.values) {
        entries++;
        assert.equal(value.length, 3);
        assert.match(value[0] as string, /^\d{19}$/);
        assert.equal(typeof value[1], 'string');
        const extra = value[2] as Record<string, Record<string, string>>;
        for (const key of Object.keys(extra)) assert.ok(key === 'structuredMetadata' || key === 'parsed', `unexpected key ${key}`);
        assert.ok(extra.structuredMetadata?.detected_level !== undefined, 'detected_level is structured metadata');
        if ((value[1] as string).startsWith('level=')) assert.ok(extra.parsed?.msg !== undefined, 'logfmt fields are parsed labels');
      }
    }
    assert.equal(entries, 21);
  });

  test('log query without the header: exactly two string elements per value', async () => {
    const endNs = nowNs() + 60_000n * NS_PER_MS;
    const query = goQuery({ direction: 'forward', end: String(endNs), limit: '5', query: '{job="train"}', start: String(endNs - 3_600_000n * NS_PER_MS), step: '2000ms' });
    // A custom X-Scope-OrgID header in the data source settings is ignored while auth is off.
    const { body } = await getJson(`${server.url}/loki/api/v1/query_range?${query}`, { 'X-Scope-OrgID': 'grafana-team' });
    const data = (body as { data: StreamsData }).data;
    assert.equal(data.encodingFlags, undefined);
    const values = data.result.flatMap((stream) => stream.values);
    assert.equal(values.length, 5);
    for (const value of values) {
      assert.equal(value.length, 2);
      assert.equal(typeof value[0], 'string');
      assert.equal(typeof value[1], 'string');
    }
  });

  test('logs volume: sum by (level, detected_level) (count_over_time(… | drop __error__[2s])) colours by level', async () => {
    const stepMs = 2000n;
    const endNs = nowNs();
    const startNs = ((endNs - 3_600_000n * NS_PER_MS) / (stepMs * NS_PER_MS)) * stepMs * NS_PER_MS;
    const url = `${server.url}/loki/api/v1/query_range?direction=backward&end=${endNs}&query=sum+by+%28level%2C+detected_level%29+%28count_over_time%28%7Bjob%3D%22train%22%2Crun%3D%22f59b15f0%22%7D+%7C+drop+__error__%5B2s%5D%29%29&start=${startNs}&step=2000ms`;
    const { status, body, text } = await getJson(url, { ...CATEGORIZE, 'X-Query-Tags': 'Source=logvolhist' });
    assert.equal(status, 200, text);
    const data = (body as { data: { resultType: string; result: Array<{ metric: Record<string, string>; values: Array<[unknown, unknown]> }> } }).data;
    assert.equal(data.resultType, 'matrix');
    const totals = new Map<string, number>();
    for (const series of data.result) {
      for (const [time, value] of series.values) {
        assert.equal(typeof time, 'number');
        assert.equal(typeof value, 'string');
        assert.ok((time as number) * 1e9 >= Number(startNs) - 1e9 && (time as number) * 1e9 <= Number(endNs) + 1e9, 'no sample outside [start, end]');
        totals.set(series.metric.detected_level ?? '', (totals.get(series.metric.detected_level ?? '') ?? 0) + Number(value));
      }
    }
    assert.deepEqual(Object.fromEntries(totals), { info: 16, error: 4, warn: 1 });
  });

  test('label browser: labels, values with a selector, series with match[]', async () => {
    const startNs = String(nowNs() - 3_600_000n * NS_PER_MS);
    const endNs = String(nowNs());
    const names = await getJson(`${server.url}/loki/api/v1/labels?start=${startNs}&end=${endNs}`);
    assert.deepEqual((names.body as { data: string[] }).data, ['host', 'job', 'rank', 'run']);
    const values = await getJson(`${server.url}/loki/api/v1/label/rank/values?start=${startNs}&end=${endNs}&query=%7Bjob%3D%22train%22%7D`);
    assert.deepEqual((values.body as { data: string[] }).data, ['0', '1']);
    const scoped = await getJson(`${server.url}/loki/api/v1/labels?start=${startNs}&end=${endNs}&query=%7Bhost%3D%22node-b%22%7D`);
    assert.deepEqual((scoped.body as { data: string[] }).data, ['host', 'job', 'rank', 'run']);
    const series = await getJson(`${server.url}/loki/api/v1/series?match%5B%5D=%7Bjob%3D%22train%22%7D&start=${startNs}&end=${endNs}`);
    const found = (series.body as { data: Array<Record<string, string>> }).data.map((item) => item.host).sort();
    assert.deepEqual(found, ['node-a', 'node-b']);
  });

  test('show context: labels at start == end find the row stream; before/after queries page around the row', async () => {
    const rowMs = rowNs / NS_PER_MS;
    const atRow = await getJson(`${server.url}/loki/api/v1/labels?start=${rowMs * NS_PER_MS}&end=${rowMs * NS_PER_MS}`);
    assert.deepEqual((atRow.body as { data?: string[] }).data, ['host', 'job', 'rank', 'run'], 'a point range still finds the row stream');
    const selector = encodeURIComponent('{host="node-a",job="train",rank="0",run="f59b15f0"}');
    const twoHoursNs = 7_200_000n * NS_PER_MS;
    const before = await getJson(
      `${server.url}/loki/api/v1/query_range?direction=backward&end=${rowMs * NS_PER_MS}&limit=100&query=${selector}&start=${rowMs * NS_PER_MS - twoHoursNs}&step=7200000ms`,
      CATEGORIZE,
    );
    const beforeValues = (before.body as { data: StreamsData }).data.result.flatMap((stream) => stream.values.map((value) => BigInt(value[0] as string)));
    assert.equal(beforeValues.length, 10, 'the 10 lines strictly before the row (end is exclusive)');
    assert.ok(beforeValues.every((ns) => ns < rowNs));
    const afterAnswer = await getJson(
      `${server.url}/loki/api/v1/query_range?direction=forward&end=${rowMs * NS_PER_MS + twoHoursNs}&limit=100&query=${selector}&start=${rowMs * NS_PER_MS}&step=7200000ms`,
      CATEGORIZE,
    );
    const afterValues = (afterAnswer.body as { data: StreamsData }).data.result.flatMap((stream) => stream.values.map((value) => BigInt(value[0] as string)));
    assert.equal(afterValues[0], rowNs, 'forward context starts with the row itself');
    assert.equal(afterValues.length, 10);
  });

  test('query size hint: index/stats answers four numbers', async () => {
    const { body } = await getJson(`${server.url}/loki/api/v1/index/stats?query=%7Bjob%3D%22train%22,run%3D%22f59b15f0%22%7D&start=${nowNs() - 3_600_000n * NS_PER_MS}&end=${nowNs()}`);
    const stats = body as Record<string, unknown>;
    for (const key of ['streams', 'chunks', 'bytes', 'entries']) assert.equal(typeof stats[key], 'number', key);
    assert.equal(stats.streams, 2);
    assert.equal(stats.entries, 21);
  });

  test('instant log query: 400 with Loki 3 message, as the engine answers it', async () => {
    const { status, text } = await getJson(`${server.url}/loki/api/v1/query?direction=backward&limit=100&query=%7Bjob%3D%22train%22%7D&time=${nowNs()}`, CATEGORIZE);
    assert.equal(status, 400);
    assert.equal(text, 'log queries are not supported as an instant query type, please change your query to a range query type');
  });

  test('alert rule preview: instant metric query without limit; range rule with step=1000ms', async () => {
    const instant = await getJson(
      `${server.url}/loki/api/v1/query?direction=backward&query=sum+by+%28rank%29+%28count_over_time%28%7Bjob%3D%22train%22%2Crun%3D%22f59b15f0%22%7D+%7C%3D+%22out+of+memory%22+%5B15m%5D%29%29&time=${nowNs()}`,
      CATEGORIZE,
    );
    assert.equal(instant.status, 200, instant.text);
    const vector = (instant.body as { data: { resultType: string; result: Array<{ metric: Record<string, string>; value: [number, string] }> } }).data;
    assert.equal(vector.resultType, 'vector');
    assert.deepEqual(vector.result.map((sample) => [sample.metric, sample.value[1]]), [[{ rank: '0' }, '4']]);
    const endNs = nowNs();
    const range = await getJson(
      `${server.url}/loki/api/v1/query_range?${goQuery({ direction: 'backward', end: String(endNs), query: 'sum(count_over_time({job="train"}[10m]))', start: String(endNs - 600_000n * NS_PER_MS), step: '1000ms' })}`,
      CATEGORIZE,
    );
    const matrix = (range.body as { data: { resultType: string; result: Array<{ values: Array<[number, string]> }> } }).data;
    assert.equal(matrix.resultType, 'matrix');
    const times = matrix.result[0]!.values.map(([time]) => time);
    assert.ok(times.every((time, i) => i === 0 || Math.abs(time - times[i - 1]! - 1) < 1e-9), 'one point per second');
    assert.equal(matrix.result[0]!.values.at(-1)![1], '21');
  });

  test('the browser Accept-Encoding: large answers come back gzipped', async () => {
    const values = Array.from({ length: 30 }, (_, i) => [String(baseNs + BigInt(i)), `${i} ${'x'.repeat(3000)}`]);
    assert.equal((await pushJson(server.url, [{ stream: { job: 'big' }, values }])).status, 204);
    const endNs = nowNs() + 60_000n * NS_PER_MS;
    const response = await fetch(
      `${server.url}/loki/api/v1/query_range?${goQuery({ direction: 'backward', end: String(endNs), limit: '1000', query: '{job="big"}', start: String(endNs - 3_600_000n * NS_PER_MS), step: '2000ms' })}`,
      { headers: { 'Accept-Encoding': 'gzip, deflate, br, zstd' } },
    );
    const text = await response.text();
    assert.equal(response.status, 200, text.slice(0, 200));
    assert.equal(response.headers.get('content-encoding'), 'gzip');
    assert.equal((JSON.parse(text) as { data: StreamsData }).data.result.flatMap((stream) => stream.values).length, 30);
  });

  test('one-day query splitting: adjacent chunks [a, b) and [b, c) return every line exactly once', async () => {
    const splitNs = baseNs + 7n * 1_000_000_000n;
    const endNs = nowNs() + 60_000n * NS_PER_MS;
    const ask = async (startNs: bigint, chunkEndNs: bigint) => {
      const query = goQuery({ direction: 'backward', end: String(chunkEndNs), limit: '1000', query: '{job="train"}', start: String(startNs), step: '2000ms' });
      const { body } = await getJson(`${server.url}/loki/api/v1/query_range?${query}`, CATEGORIZE);
      return (body as { data: StreamsData }).data.result.flatMap((stream) => stream.values.map((value) => value[0] as string));
    };
    const newer = await ask(splitNs, endNs);
    const older = await ask(baseNs - 3_600_000n * NS_PER_MS, splitNs);
    assert.ok(newer.includes(String(splitNs)) && !older.includes(String(splitNs)));
    assert.equal(new Set([...newer, ...older]).size, 21);
    assert.equal(newer.length + older.length, 21);
  });
});

describe('Grafana live tail and tenants', () => {
  let server: TestServer;
  before(async () => {
    server = await startTestServer({ auth_enabled: true });
  });
  after(async () => {
    await server.dispose();
  });

  const firstFrame = (url: string, headers: Record<string, string> = {}) =>
    new Promise<{ streams?: Array<{ stream: Record<string, string>; values: string[][] }> }>((resolve, reject) => {
      const socket = new WebSocket(url, { headers });
      const timer = setTimeout(() => {
        socket.terminate();
        reject(new Error('no tail frame within 3 s'));
      }, 3000);
      socket.once('message', (data) => {
        clearTimeout(timer);
        socket.close();
        resolve(JSON.parse(data.toString()) as never);
      });
      socket.once('unexpected-response', (_request, response) => {
        clearTimeout(timer);
        reject(new Error(`HTTP ${response.statusCode}`));
      });
      socket.once('error', (error) => {
        clearTimeout(timer);
        reject(error);
      });
    });

  test('tail with only ?query= and the tenant as orgId (browser web UI); the header wins over orgId', async () => {
    const ns = String(nowNs() - 5_000n * NS_PER_MS);
    assert.equal((await pushJson(server.url, [{ stream: { job: 'tail' }, values: [[ns, 'line of tenant a']] }], { 'X-Scope-OrgID': 'team-a' })).status, 204);
    assert.equal((await pushJson(server.url, [{ stream: { job: 'tail' }, values: [[ns, 'line of tenant b']] }], { 'X-Scope-OrgID': 'team-b' })).status, 204);
    const ws = server.url.replace(/^http/, 'ws');
    const viaParam = await firstFrame(`${ws}/loki/api/v1/tail?query=%7Bjob%3D%22tail%22%7D&orgId=team-a`);
    assert.deepEqual(viaParam.streams?.[0]?.values, [[ns, 'line of tenant a']]);
    assert.deepEqual(Object.keys(viaParam.streams![0]!).sort(), ['stream', 'values']);
    const headerWins = await firstFrame(`${ws}/loki/api/v1/tail?query=%7Bjob%3D%22tail%22%7D&orgId=team-a`, { 'X-Scope-OrgID': 'team-b' });
    assert.deepEqual(headerWins.streams?.[0]?.values, [[ns, 'line of tenant b']]);
    await assert.rejects(firstFrame(`${ws}/loki/api/v1/tail?query=%7Bjob%3D%22tail%22%7D`), /HTTP 401/);
    await assert.rejects(firstFrame(`${ws}/loki/api/v1/tail?query=%7Bjob%3D%22tail%22%7D&orgId=..`), /HTTP 401/);
  });

  test('orgId is not a tenant for other endpoints: the HTTP API still needs the header', async () => {
    const { status, text } = await getJson(`${server.url}/loki/api/v1/labels?orgId=team-a`);
    assert.equal(status, 401);
    assert.equal(text, 'no org id');
  });
});

describe('query timeout end to end', () => {
  let server: TestServer;
  before(async () => {
    server = await startTestServer({ limits: { query_timeout: '1ms' } });
  });
  after(async () => {
    await server.dispose();
  });

  test('a query running past limits.query_timeout gets 504 and Loki message', async () => {
    const startNs = nowNs() - 600_000n * NS_PER_MS;
    for (let batch = 0; batch < 4; batch++) {
      const values: Array<[string, string]> = [];
      for (let i = 0; i < 5000; i++) values.push([String(startNs + BigInt(batch * 5000 + i) * 20_000_000n), `level=info caller=loop.go:${i} msg="batch ${batch} item ${i}" payload=${'x'.repeat(60)}`]);
      assert.equal((await pushJson(server.url, [{ stream: { job: 'slow', batch: String(batch) }, values }])).status, 204);
    }
    const query = goQuery({
      direction: 'backward',
      end: String(nowNs()),
      query: 'sum by (caller) (count_over_time({job="slow"} |~ "item (1|2|3).*x{10}" | logfmt [1m]))',
      start: String(startNs),
      step: '1000ms',
    });
    const { status, text } = await getJson(`${server.url}/loki/api/v1/query_range?${query}`, CATEGORIZE);
    assert.equal(status, 504, text);
    assert.equal(text, 'request timed out, decrease the duration of the request or add more label matchers (prefer exact match over regex match) to reduce the amount of data processed');
  });
});
