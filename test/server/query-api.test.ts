// The read API end to end, with response shapes compared field by field against the documented Loki
// responses (shared/reference/loki-api.md §2).

import { request } from 'node:http';
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { getJson, nowNs, pushJson, startTestServer, type TestServer } from './test-server.ts';

const SECOND_NS = 1_000_000_000n;

describe('query API against the real store and engine', () => {
  let server: TestServer;
  let baseNs: bigint;
  before(async () => {
    server = await startTestServer();
    baseNs = ((nowNs() - 600n * SECOND_NS) / SECOND_NS) * SECOND_NS;
    const streams = [0, 1, 2].map((rank) => ({
      stream: { job: 'train', rank: String(rank) },
      values: Array.from({ length: 10 }, (_, i) => [String(baseNs + BigInt(i) * SECOND_NS + BigInt(rank)), `rank ${rank} step ${i} ${i === 7 ? 'NCCL WARN timeout' : 'loss 0.5'}`]),
    }));
    const response = await pushJson(server.url, [...streams, { stream: { job: 'eval', level: 'info' }, values: [[String(baseNs), 'eval done']] }]);
    assert.equal(response.status, 204, await response.text());
  });
  after(async () => {
    await server.dispose();
  });

  const range = () => ({ start: String(baseNs - SECOND_NS), end: String(baseNs + 60n * SECOND_NS) });
  const url = (path: string, params: Record<string, string>) => `${server.url}${path}?${new URLSearchParams(params)}`;

  test('query_range log query: streams, limit across streams, direction, end exclusive', async () => {
    const { status, body, contentType } = await getJson(url('/loki/api/v1/query_range', { query: '{job="train"} |= "NCCL"', ...range() }));
    assert.equal(status, 200);
    assert.match(contentType, /^application\/json/);
    const data = (body as { data: { resultType: string; result: Array<{ stream: Record<string, string>; values: string[][] }> } }).data;
    assert.equal(data.resultType, 'streams');
    assert.equal(data.result.length, 3);
    for (const stream of data.result) {
      assert.deepEqual(Object.keys(stream), ['stream', 'values']);
      assert.equal(stream.values.length, 1);
      assert.equal(typeof stream.values[0]![0], 'string');
      assert.match(stream.values[0]![1]!, /NCCL WARN timeout/);
    }
    const limited = await getJson(url('/loki/api/v1/query_range', { query: '{job="train"}', limit: '4', direction: 'backward', ...range() }));
    const values = (limited.body as { data: { result: Array<{ values: string[][] }> } }).data.result.flatMap((stream) => stream.values.map((value) => value[1]));
    assert.equal(values.length, 4);
    assert.ok(values.every((line) => /step 9|step 8/.test(line!)), `newest first: ${values.join(' | ')}`);
    const endExclusive = await getJson(url('/loki/api/v1/query_range', { query: '{job="train", rank="0"}', start: String(baseNs), end: String(baseNs + 2n * SECOND_NS), direction: 'forward' }));
    const lines = (endExclusive.body as { data: { result: Array<{ values: string[][] }> } }).data.result.flatMap((stream) => stream.values.map((value) => value[1]));
    assert.deepEqual(lines, ['rank 0 step 0 loss 0.5', 'rank 0 step 1 loss 0.5']);
  });

  test('stream selectors (=, !=, =~, !~) with line filters (|=, !=, |~, !~) end to end', async () => {
    const cases: Array<[string, number]> = [
      ['{job="train"}', 30],
      ['{job="train", rank!="0"}', 20],
      ['{job=~"tr.*", rank=~"1|2"}', 20],
      ['{job="train", rank!~"[01]"}', 10],
      ['{job="train"} |= "NCCL"', 3],
      ['{job="train"} != "NCCL"', 27],
      ['{job="train"} |~ "step [0-2] "', 9],
      ['{job="train"} !~ "(?i)nccl|step 0 "', 24],
      ['{job="train", rank="1"} |= "step" != "step 9" |~ "loss|NCCL"', 9],
      ['{job=~".+"} |= "eval"', 1],
    ];
    for (const [query, count] of cases) {
      const { status, body, text } = await getJson(url('/loki/api/v1/query_range', { query, limit: '1000', ...range() }));
      assert.equal(status, 200, `${query}: ${text}`);
      const lines = (body as { data: { result: Array<{ values: string[][] }> } }).data.result.flatMap((stream) => stream.values);
      assert.equal(lines.length, count, query);
    }
  });

  test('large answers are gzipped for clients that accept it, plain for those that do not', async () => {
    const params = new URLSearchParams({ query: '{job="train"}', limit: '1000', ...range() });
    const fetchRaw = (acceptEncoding: string) =>
      new Promise<{ encoding: string | undefined; bytes: number }>((resolve, reject) => {
        const req = request(`${server.url}/loki/api/v1/query_range?${params}`, { headers: { 'accept-encoding': acceptEncoding } }, (response) => {
          let bytes = 0;
          response.on('data', (chunk: Buffer) => (bytes += chunk.length));
          response.on('end', () => resolve({ encoding: response.headers['content-encoding'], bytes }));
        });
        req.on('error', reject);
        req.end();
      });
    // The 30 training lines are below the threshold; a stream outside the other tests' range is not.
    const t = nowNs();
    const values = Array.from({ length: 600 }, (_, i) => [String(t - 5_000_000_000n + BigInt(i)), `padding line ${i} ${'p'.repeat(80)}`]);
    assert.equal((await pushJson(server.url, [{ stream: { job: 'train', rank: 'pad' }, values }])).status, 204);
    const big = new URLSearchParams({ query: '{job="train", rank="pad"}', limit: '1000', start: String(t - 10_000_000_000n), end: String(t) });
    params.set('query', big.get('query')!);
    params.set('start', big.get('start')!);
    params.set('end', big.get('end')!);
    const plain = await fetchRaw('identity');
    const zipped = await fetchRaw('gzip, deflate, br');
    assert.equal(plain.encoding, undefined);
    assert.equal(zipped.encoding, 'gzip');
    assert.ok(zipped.bytes * 4 < plain.bytes, `gzip ${zipped.bytes} vs plain ${plain.bytes}`);
  });

  test('query_range metric query: matrix of [seconds, "value"] at each step', async () => {
    const { status, body } = await getJson(url('/loki/api/v1/query_range', { query: 'sum by (job) (count_over_time({job="train"}[1m]))', step: '60s', ...range() }));
    assert.equal(status, 200);
    const data = (body as { data: { resultType: string; result: Array<{ metric: Record<string, string>; values: Array<[number, string]> }> } }).data;
    assert.equal(data.resultType, 'matrix');
    assert.equal(data.result.length, 1);
    assert.deepEqual(data.result[0]!.metric, { job: 'train' });
    const [time, value] = data.result[0]!.values.at(-1)!;
    assert.equal(typeof time, 'number');
    assert.equal(value, '30');
  });

  test("Grafana's health check: instant vector(1)+vector(1) at time=4000000000 is one sample of \"2\"", async () => {
    const { status, body } = await getJson(url('/loki/api/v1/query', { query: 'vector(1)+vector(1)', time: '4000000000', direction: 'backward' }), {
      'X-Loki-Response-Encoding-Flags': 'categorize-labels',
    });
    assert.equal(status, 200);
    const data = (body as { data: { resultType: string; result: unknown[] } }).data;
    assert.equal(data.resultType, 'vector');
    assert.deepEqual(data.result, [{ metric: {}, value: [4000000000, '2'] }]);
  });

  test('labels, label values and series answer sorted, unique data', async () => {
    const labels = await getJson(url('/loki/api/v1/labels', range()));
    assert.deepEqual(labels.body, { status: 'success', data: ['job', 'level', 'rank'] });
    const alias = await getJson(url('/loki/api/v1/label', range()));
    assert.deepEqual(alias.body, labels.body);
    const values = await getJson(url('/loki/api/v1/label/rank/values', range()));
    assert.deepEqual(values.body, { status: 'success', data: ['0', '1', '2'] });
    const filtered = await getJson(url('/loki/api/v1/label/job/values', { ...range(), query: '{level="info"}' }));
    assert.deepEqual(filtered.body, { status: 'success', data: ['eval'] });
    const none = await getJson(url('/loki/api/v1/label/nope/values', range()));
    assert.deepEqual(none.body, { status: 'success' });
    const series = await getJson(`${server.url}/loki/api/v1/series?match[]=${encodeURIComponent('{job="train", rank=~"0|1"}')}&start=${range().start}&end=${range().end}`);
    const data = (series.body as { status: string; data: Array<Record<string, string>> }).data;
    assert.deepEqual(
      data.map((labelSet) => labelSet.rank).sort(),
      ['0', '1'],
    );
    assert.deepEqual(data[0], { job: 'train', rank: data[0]!.rank });
    const posted = await fetch(`${server.url}/loki/api/v1/series`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ 'match[]': '{job="eval"}', ...range() }),
    });
    assert.deepEqual(await posted.json(), { status: 'success', data: [{ job: 'eval', level: 'info' }] });
  });

  test('index/stats, index/volume and index/volume_range', async () => {
    const stats = await getJson(url('/loki/api/v1/index/stats', { query: '{job="train"}', ...range() }));
    assert.equal(stats.status, 200);
    const statsBody = stats.body as Record<string, number>;
    assert.deepEqual(Object.keys(statsBody).sort(), ['bytes', 'chunks', 'entries', 'streams']);
    assert.equal(statsBody.streams, 3);
    assert.equal(statsBody.entries, 30);
    const volume = await getJson(url('/loki/api/v1/index/volume', { query: '{job=~".+"}', ...range() }));
    const volumeData = (volume.body as { status: string; data: { resultType: string; result: Array<{ metric: Record<string, string>; value: [number, string] }> } }).data;
    assert.equal(volumeData.resultType, 'vector');
    assert.deepEqual(volumeData.result.map((item) => item.metric.job).sort(), ['eval', 'train']);
    const train = volumeData.result.find((item) => item.metric.job === 'train')!;
    assert.ok(Number(train.value[1]) > 500, `train volume ${train.value[1]}`);
    const volumeRange = await getJson(url('/loki/api/v1/index/volume_range', { query: '{job="train"}', step: '60s', ...range() }));
    const rangeData = (volumeRange.body as { data: { resultType: string; result: Array<{ values: Array<[number, string]> }> } }).data;
    assert.equal(rangeData.resultType, 'matrix');
    assert.equal(rangeData.result.length, 1);
    const total = rangeData.result[0]!.values.reduce((sum, [, value]) => sum + Number(value), 0);
    assert.ok(Math.abs(total - Number(train.value[1])) < 1, 'range buckets add up to the total');
  });

  test('bad parameters and parse errors are 400 plain text with position, never a stack', async () => {
    const cases: Array<[string, Record<string, string>, RegExp]> = [
      ['/loki/api/v1/query_range', { query: '{job="train"', ...range() }, /^parse error at line 1, col \d+: /],
      ['/loki/api/v1/query_range', { query: '{job="train"}', limit: 'lots' }, /^strconv.Atoi: parsing "lots": invalid syntax$/],
      ['/loki/api/v1/query_range', { query: '{job="train"}', direction: 'sideways' }, /^invalid direction 'sideways'$/],
      ['/loki/api/v1/query_range', { query: '{job="train"}', start: 'noon' }, /^could not parse 'start' parameter/],
      ['/loki/api/v1/query_range', { query: '{job="train"}', start: '20', end: '10' }, /^end timestamp must not be before or equal to start time$/],
      ['/loki/api/v1/query_range', { query: 'rate({job="train"}[1m])', step: '0' }, /^zero or negative query resolution step/],
      ['/loki/api/v1/query_range', {}, /query parameter is required/],
      ['/loki/api/v1/series', { 'match[]': '{job="train"} |= "x"' }, /.+/],
      ['/loki/api/v1/index/volume', { query: '{job="train"}', aggregateBy: 'pods' }, /^invalid aggregation option$/],
    ];
    for (const [path, params, message] of cases) {
      const { status, text, contentType } = await getJson(url(path, params));
      assert.equal(status, 400, `${path} ${JSON.stringify(params)}: ${text}`);
      assert.match(contentType, /^text\/plain/);
      assert.match(text, message, `${path} ${JSON.stringify(params)}`);
      assert.doesNotMatch(text, /\n\s+at /);
    }
  });

  test('format_query, buildinfo, ready and metrics', async () => {
    const formatted = await getJson(url('/loki/api/v1/format_query', { query: '{job="train"}|="x"' }));
    assert.equal(formatted.status, 200);
    assert.deepEqual(formatted.body, { status: 'success', data: '{job="train"} |= "x"' });
    const invalid = await getJson(url('/loki/api/v1/format_query', { query: '{job=' }));
    assert.equal(invalid.status, 400);
    assert.equal((invalid.body as { status: string }).status, 'invalid-query');
    assert.match((invalid.body as { error: string }).error, /^parse error/);
    const buildinfo = await getJson(`${server.url}/loki/api/v1/status/buildinfo`);
    assert.deepEqual(Object.keys(buildinfo.body as object), ['version', 'revision', 'branch', 'buildUser', 'buildDate', 'goVersion']);
    const ready = await fetch(`${server.url}/ready`);
    assert.equal(ready.status, 200);
    assert.equal(await ready.text(), 'ready');
    const metrics = await getJson(`${server.url}/metrics`);
    assert.match(metrics.contentType, /^text\/plain/);
    assert.match(metrics.text, /# TYPE rankscope_ingested_lines_total counter/);
    assert.match(metrics.text, /rankscope_store_parts \d+/);
  });
});
