// Replays Logs Drilldown's and the query builder's Loki 3 resource calls (grafana-client.md §5, §11):
// RFC3339 times, `query=` empty for `{}`, X-Query-Tags — and checks the fields the app reads.

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { getJson, nowNs, pushJson, startTestServer, type TestServer } from './test-server.ts';

const DRILLDOWN = { 'X-Query-Tags': 'Source=grafana-lokiexplore-app', 'X-Grafana-Cache': 'private, max-age=86400' };
const NS_PER_MS = 1_000_000n;

interface DetectedFieldJson {
  label: string;
  type: string;
  cardinality: number;
  parsers: string[] | null;
  jsonPath?: string[];
}

describe('Logs Drilldown against rankscope', () => {
  let server: TestServer;
  const rfcStart = new Date(Date.now() - 15 * 60_000).toISOString();
  const rfcEnd = new Date(Date.now() + 60_000).toISOString();

  before(async () => {
    server = await startTestServer({ limits: { discover_log_levels: true, discover_service_name: ['service', 'app', 'job'] } });
    const baseNs = nowNs() - 300_000n * NS_PER_MS;
    const logfmt: unknown[] = [];
    const json: unknown[] = [];
    for (let i = 0; i < 30; i++) {
      const ns = baseNs + BigInt(i) * 1_000n * NS_PER_MS;
      logfmt.push([String(ns), `level=${i % 3 === 0 ? 'warn' : 'info'} msg="request served" path=/api/v${i % 2} status=${200 + (i % 2) * 300} duration=${i + 1}ms size=${i}KB`, { pod: `pod-${i % 4}` }]);
      json.push([String(ns + 1n), JSON.stringify({ severity: 'ERROR', error: { code: 500 + (i % 5), retry: i % 2 === 0 }, message: `upload ${i} failed` })]);
    }
    const streams: Array<{ stream: Record<string, string>; values: unknown[] }> = [
      { stream: { service_name: 'api', cluster: 'eu', region: 'west' }, values: logfmt },
      { stream: { service_name: 'uploader', cluster: 'eu', region: 'east' }, values: json },
      { stream: { service_name: 'batch', cluster: 'eu', region: 'east', job_id: '12345' }, values: [[String(baseNs), 'job started']] },
      // No service_name: discovered from `app`.
      { stream: { app: 'worker', cluster: 'eu', region: 'west' }, values: [[String(baseNs), 'worker ready to take jobs']] },
    ];
    assert.equal((await pushJson(server.url, streams)).status, 204);
  });
  after(async () => {
    await server.dispose();
  });

  test('service list: index/volume with RFC3339 times and {service_name=~".+"}', async () => {
    const { status, body } = await getJson(
      `${server.url}/loki/api/v1/index/volume?end=${encodeURIComponent(rfcEnd)}&limit=5000&query=%7Bservice_name%3D~%22.%2B%22%7D&start=${encodeURIComponent(rfcStart)}`,
      DRILLDOWN,
    );
    assert.equal(status, 200);
    const result = (body as { data: { result: Array<{ metric: Record<string, string>; value: [number, string] }> } }).data.result;
    assert.deepEqual(
      result.map((item) => item.metric),
      [{ service_name: 'uploader' }, { service_name: 'api' }, { service_name: 'worker' }, { service_name: 'batch' }],
      'largest volume first; worker got its service_name from app',
    );
    assert.ok(Number(result[0]!.value[1]) > Number(result[1]!.value[1]) && Number(result[1]!.value[1]) > Number(result[3]!.value[1]));
  });

  test('detected_labels: cardinalities from the label index; id-only labels dropped, static ones kept', async () => {
    const all = await getJson(`${server.url}/loki/api/v1/detected_labels?end=${encodeURIComponent(rfcEnd)}&query=&start=${encodeURIComponent(rfcStart)}`, DRILLDOWN);
    assert.equal(all.status, 200, all.text);
    const labels = Object.fromEntries((all.body as { detectedLabels: Array<{ label: string; cardinality: number }> }).detectedLabels.map((item) => [item.label, item.cardinality]));
    assert.deepEqual(labels, { app: 1, cluster: 1, region: 2, service_name: 4 }, 'job_id has only numeric values, an id');
    const scoped = await getJson(
      `${server.url}/loki/api/v1/detected_labels?end=${encodeURIComponent(rfcEnd)}&query=${encodeURIComponent('{region="east"}')}&start=${encodeURIComponent(rfcStart)}`,
      DRILLDOWN,
    );
    const scopedLabels = (scoped.body as { detectedLabels: Array<{ label: string; cardinality: number }> }).detectedLabels;
    assert.equal(scopedLabels.find((item) => item.label === 'service_name')?.cardinality, 2);
  });

  test('detected_fields: logfmt and json fields with types, parsers, jsonPath; structured metadata has parsers null', async () => {
    const query = '{cluster="eu"} | json | logfmt | drop __error__, __error_details__';
    const { status, body, text } = await getJson(
      `${server.url}/loki/api/v1/detected_fields?end=${encodeURIComponent(rfcEnd)}&query=${encodeURIComponent(query)}&start=${encodeURIComponent(rfcStart)}`,
      DRILLDOWN,
    );
    assert.equal(status, 200, text);
    const answer = body as { fields: DetectedFieldJson[]; limit: number };
    assert.equal(answer.limit, 1000);
    const fields = new Map(answer.fields.map((field) => [field.label, field]));
    assert.deepEqual(fields.get('status'), { label: 'status', type: 'int', cardinality: 2, parsers: ['logfmt'] });
    assert.deepEqual(fields.get('duration'), { label: 'duration', type: 'duration', cardinality: 30, parsers: ['logfmt'] });
    assert.equal(fields.get('size')?.type, 'bytes');
    assert.equal(fields.get('path')?.cardinality, 2);
    assert.deepEqual(fields.get('error_code'), { label: 'error_code', type: 'int', cardinality: 5, parsers: ['json'], jsonPath: ['error', 'code'] });
    assert.equal(fields.get('error_retry')?.type, 'boolean');
    assert.deepEqual(fields.get('pod'), { label: 'pod', type: 'string', cardinality: 4, parsers: null });
    assert.deepEqual(fields.get('detected_level')?.parsers, null);
    for (const hidden of ['__error__', '__error_details__', 'cluster', 'service_name']) assert.ok(!fields.has(hidden), `${hidden} is not a field`);
  });

  test('a line field named like a stream label or metadata is reported as `| logfmt` names it (_extracted)', async () => {
    const ns = String(nowNs() - 1_000n * NS_PER_MS);
    const push = await pushJson(server.url, [{ stream: { service_name: 'clash', level: 'x' }, values: [[ns, 'level=info trace_id=abc msg=hi', { trace_id: 'meta' }]] }]);
    assert.equal(push.status, 204);
    const query = encodeURIComponent('{service_name="clash"}');
    const { body } = await getJson(`${server.url}/loki/api/v1/detected_fields?end=${encodeURIComponent(rfcEnd)}&query=${query}&start=${encodeURIComponent(rfcStart)}`, DRILLDOWN);
    const labels = (body as { fields: DetectedFieldJson[] }).fields.map((field) => [field.label, field.parsers]);
    assert.deepEqual(labels, [
      ['detected_level', null],
      ['level_extracted', ['logfmt']],
      ['msg', ['logfmt']],
      ['trace_id', null],
      ['trace_id_extracted', ['logfmt']],
    ]);
    const values = await getJson(`${server.url}/loki/api/v1/detected_field/level_extracted/values?end=${encodeURIComponent(rfcEnd)}&query=${query}&start=${encodeURIComponent(rfcStart)}`);
    assert.deepEqual((values.body as { values: string[] }).values, ['info']);
    // The name works in the filter Drilldown builds from it.
    const filtered = await getJson(`${server.url}/loki/api/v1/query_range?query=${encodeURIComponent('{service_name="clash"} | logfmt | level_extracted="info"')}&start=${nowNs() - 900_000n * NS_PER_MS}`);
    assert.equal((filtered.body as { data: { result: unknown[] } }).data.result.length, 1);
  });

  test('detected_field values (query builder / Drilldown): ns times, limit, the expression', async () => {
    const startNs = nowNs() - 900_000n * NS_PER_MS;
    const endNs = nowNs() + 60_000n * NS_PER_MS;
    const { body } = await getJson(`${server.url}/loki/api/v1/detected_field/path/values?start=${startNs}&end=${endNs}&limit=1000&query=${encodeURIComponent('{service_name="api"}')}`);
    assert.deepEqual([...(body as { values: string[] }).values].sort(), ['/api/v0', '/api/v1']);
    const levels = await getJson(`${server.url}/loki/api/v1/detected_field/detected_level/values?start=${startNs}&end=${endNs}&limit=1000&query=${encodeURIComponent('{cluster="eu"}')}`);
    assert.deepEqual([...(levels.body as { values: string[] }).values].sort(), ['error', 'info', 'unknown', 'warn']);
    const metric = await getJson(`${server.url}/loki/api/v1/detected_fields?start=${startNs}&end=${endNs}&query=${encodeURIComponent('count_over_time({cluster="eu"}[1m])')}`);
    assert.equal(metric.status, 400);
  });

  test('level volume Drilldown runs: detected_level != "" grouped by detected_level', async () => {
    const endNs = nowNs();
    const startNs = endNs - 900_000n * NS_PER_MS;
    const query = 'sum(count_over_time({service_name="api"} | detected_level != "" [1m])) by (detected_level)';
    const { body } = await getJson(`${server.url}/loki/api/v1/query_range?direction=backward&end=${endNs}&query=${encodeURIComponent(query)}&start=${startNs}&step=60000ms`, DRILLDOWN);
    const result = (body as { data: { result: Array<{ metric: Record<string, string>; values: Array<[number, string]> }> } }).data.result;
    const totals = Object.fromEntries(result.map((series) => [series.metric.detected_level, series.values.reduce((sum, [, value]) => sum + Number(value), 0)]));
    assert.deepEqual(totals, { info: 20, warn: 10 });
  });

  test('patterns: templates with <_>, per-step samples, levels; each works as a |> filter', async () => {
    const { status, body, text } = await getJson(
      `${server.url}/loki/api/v1/patterns?end=${encodeURIComponent(rfcEnd)}&query=${encodeURIComponent('{cluster="eu"}')}&start=${encodeURIComponent(rfcStart)}&step=60s`,
      DRILLDOWN,
    );
    assert.equal(status, 200, text);
    const data = (body as { status: string; data: Array<{ pattern: string; samples: Array<[number, number]>; level: string }> }).data;
    const upload = data.find((item) => item.pattern.includes('upload'));
    assert.ok(upload !== undefined, text);
    assert.equal(upload.pattern, '{"severity":"ERROR","error":{"code":<_>,"retry":<_>},"message":"upload <_> failed"}');
    assert.equal(upload.level, 'error');
    assert.equal(upload.samples.reduce((sum, [, count]) => sum + count, 0), 30);
    for (const [time, count] of upload.samples) {
      assert.equal(typeof time, 'number');
      assert.equal(time % 60, 0, 'samples sit on step boundaries');
      assert.equal(typeof count, 'number');
    }
    const served = data.filter((item) => item.pattern.includes('request served'));
    assert.deepEqual(served.map((item) => item.level).sort(), ['info', 'warn']);
    // A 500ms step over a long range widens the buckets instead of failing.
    const wide = await getJson(`${server.url}/loki/api/v1/patterns?end=${encodeURIComponent(rfcEnd)}&query=${encodeURIComponent('{cluster="eu"}')}&start=${encodeURIComponent(new Date(Date.now() - 7 * 86_400_000).toISOString())}&step=500ms`);
    assert.equal(wide.status, 200, wide.text);
    // Drilldown turns a pattern into `|> "<pattern>"`; it must match the lines it came from.
    const filter = `{cluster="eu"} |> \`${upload.pattern}\``;
    const lines = await getJson(`${server.url}/loki/api/v1/query_range?query=${encodeURIComponent(filter)}&start=${nowNs() - 900_000n * NS_PER_MS}&limit=1000`);
    assert.equal((lines.body as { data: { result: Array<{ values: unknown[] }> } }).data.result.reduce((sum, stream) => sum + stream.values.length, 0), 30);
  });

  test('drilldown-limits: Loki-shaped limits, pattern_ingester_enabled and version', async () => {
    const { status, body } = await getJson(`${server.url}/loki/api/v1/drilldown-limits`, DRILLDOWN);
    assert.equal(status, 200);
    const answer = body as { limits: Record<string, unknown>; pattern_ingester_enabled: boolean; version: string };
    assert.equal(answer.limits.discover_log_levels, true);
    assert.deepEqual(answer.limits.discover_service_name, ['service', 'app', 'job']);
    assert.equal(answer.limits.max_entries_limit_per_query, 5000);
    assert.equal(answer.limits.query_timeout, '1m');
    assert.equal(answer.limits.max_query_length, '721h');
    assert.ok(Array.isArray(answer.limits.log_level_fields));
    assert.equal(answer.pattern_ingester_enabled, true);
    assert.equal(typeof answer.version, 'string');
  });
});
