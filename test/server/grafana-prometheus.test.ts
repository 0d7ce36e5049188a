// Grafana's Prometheus data source, replayed against a real server (127.0.0.1): the requests it makes
// as shared/reference/prometheus-api.md §3 lists them (its backend's POST form bodies with
// `Idempotency-Key`, the frontend's GETs), checked against the fields its parser reads.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { encodeWriteRequestV1, snappyCompress, type RemoteWriteSeriesInput } from '../../src/push/remote-write-encode.ts';
import { startServer, type RunningServer } from '../../src/server/server.ts';

let root: string;
let server: RunningServer;
const nowMs = Math.floor(Date.now() / 1000) * 1000;
const startSeconds = nowMs / 1000 - 600;
const endSeconds = nowMs / 1000 + 60;

before(async () => {
  root = mkdtempSync(join(tmpdir(), 'rankscope-grafana-prom-'));
  server = await startServer({ server: { listen: '127.0.0.1:0' }, store: { data_dir: join(root, 'data') }, ui: { enabled: false } });
  const series: RemoteWriteSeriesInput[] = [];
  for (const rank of ['0', '1']) {
    series.push({
      labels: { __name__: 'DCGM_FI_DEV_GPU_UTIL', gpu: rank, host: 'node-a', rank, run_id: 'r1' },
      samples: [0, 1, 2, 3, 4].map((i) => ({ timestampMs: nowMs - (4 - i) * 15_000, value: 50 + i + Number(rank) })),
    });
    series.push({
      labels: { __name__: 'train_steps_total', rank, run_id: 'r1' },
      samples: [0, 1, 2, 3, 4].map((i) => ({ timestampMs: nowMs - (4 - i) * 15_000, value: i * 30 })),
    });
  }
  const response = await fetch(`${server.url}/api/v1/write`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/x-protobuf', 'Content-Encoding': 'snappy', 'X-Prometheus-Remote-Write-Version': '0.1.0' },
    body: snappyCompress(encodeWriteRequestV1(series, [{ family: 'train_steps_total', type: 'counter', help: 'Optimizer steps.', unit: '' }])),
  });
  assert.equal(response.status, 204, await response.text());
});

after(async () => {
  await server?.close();
  rmSync(root, { recursive: true, force: true });
});

/** The backend's transport: POST, form-encoded, `Idempotency-Key: nil` (Go retries idempotent POSTs). */
async function postForm(path: string, form: Array<[string, string]>): Promise<{ status: number; body: Record<string, unknown> }> {
  const response = await fetch(`${server.url}${path}`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/x-www-form-urlencoded', 'Idempotency-Key': 'nil', 'X-Dashboard-UID': 'abc', 'X-Panel-Id': '2' },
    body: new URLSearchParams(form).toString(),
  });
  return { status: response.status, body: (await response.json()) as Record<string, unknown> };
}

async function get(path: string, params: Array<[string, string]> = []): Promise<{ status: number; body: Record<string, unknown> }> {
  const query = params.length === 0 ? '' : `?${new URLSearchParams(params).toString()}`;
  const response = await fetch(`${server.url}${path}${query}`);
  return { status: response.status, body: (await response.json()) as Record<string, unknown> };
}

test('health check: instant 1+1 at time 4 answers the scalar Grafana checks', async () => {
  for (const answer of [await postForm('/api/v1/query', [['query', '1+1'], ['time', '4']]), await get('/api/v1/query', [['query', '1+1'], ['time', '4']])]) {
    assert.equal(answer.status, 200);
    assert.deepEqual(answer.body, { status: 'success', data: { resultType: 'scalar', result: [4, '2'] } });
  }
  const buildinfo = await get('/api/v1/status/buildinfo');
  assert.equal(buildinfo.status, 200);
  const data = buildinfo.body.data as Record<string, unknown>;
  assert.equal(typeof data.version, 'string');
  assert.equal(data.features, undefined, 'no features: Grafana must not take rankscope for Mimir');
  const rules = await get('/api/v1/rules');
  assert.equal(rules.status, 200);
  assert.ok(Array.isArray((rules.body.data as { groups: unknown[] }).groups));
});

test('the exemplar probe at start-up sends milliseconds and must get success', async () => {
  const probe = await get('/api/v1/query_exemplars', [['query', 'test'], ['start', String(nowMs - 3_600_000)], ['end', String(nowMs)]]);
  assert.deepEqual(probe, { status: 200, body: { status: 'success', data: [] } });
});

test('autocomplete: metric names, label names and series with limit=40000 and match[]', async () => {
  const range: Array<[string, string]> = [['start', String(startSeconds)], ['end', String(endSeconds)], ['limit', '40000']];
  const names = await get('/api/v1/label/__name__/values', range);
  assert.equal(names.status, 200, JSON.stringify(names.body));
  assert.deepEqual(names.body.data, ['DCGM_FI_DEV_GPU_UTIL', 'train_steps_total']);
  const labels = await postForm('/api/v1/labels', [...range, ['match[]', 'DCGM_FI_DEV_GPU_UTIL']]);
  assert.equal(labels.status, 200, JSON.stringify(labels.body));
  assert.deepEqual(labels.body.data, ['__name__', 'gpu', 'host', 'rank', 'run_id']);
  const series = await postForm('/api/v1/series', [...range, ['match[]', '{__name__!=""}']]);
  assert.equal(series.status, 200, JSON.stringify(series.body));
  assert.equal((series.body.data as unknown[]).length, 4);
  const limited = await postForm('/api/v1/series', [['match[]', '{__name__!=""}'], ['start', String(startSeconds)], ['end', String(endSeconds)], ['limit', '2']]);
  assert.equal((limited.body.data as unknown[]).length, 2);
  assert.deepEqual(limited.body.warnings, ['results truncated due to limit']);
  const metadata = await get('/api/v1/metadata');
  assert.deepEqual((metadata.body.data as Record<string, unknown>).train_steps_total, [{ type: 'counter', help: 'Optimizer steps.', unit: '' }]);
});

test('variables: label_values(metric, label) asks /label/<name>/values with match[]', async () => {
  const values = await get('/api/v1/label/rank/values', [['match[]', 'DCGM_FI_DEV_GPU_UTIL{run_id="r1"}'], ['start', String(startSeconds)], ['end', String(endSeconds)]]);
  assert.deepEqual(values, { status: 200, body: { status: 'success', data: ['0', '1'] } });
  const none = await get('/api/v1/label/rank/values', [['match[]', 'DCGM_FI_DEV_GPU_UTIL{run_id="r2"}']]);
  assert.deepEqual(none.body.data, []);
});

test('panels: POST form query and query_range with float seconds, step and timeout', async () => {
  const instant = await postForm('/api/v1/query', [['query', 'avg by (rank) (DCGM_FI_DEV_GPU_UTIL)'], ['time', String(nowMs / 1000)], ['timeout', '30s']]);
  assert.equal(instant.status, 200);
  const vector = instant.body.data as { resultType: string; result: Array<{ metric: Record<string, string>; value: [number, string] }> };
  assert.equal(vector.resultType, 'vector');
  assert.deepEqual(vector.result.map((sample) => [sample.metric.rank, sample.value]).sort(), [
    ['0', [nowMs / 1000, '54']],
    ['1', [nowMs / 1000, '55']],
  ]);
  const range = await postForm('/api/v1/query_range', [
    ['query', 'sum(irate(train_steps_total[1m]))'],
    ['start', String(nowMs / 1000 - 30)],
    ['end', String(nowMs / 1000)],
    ['step', '15'],
  ]);
  assert.equal(range.status, 200);
  const matrix = range.body.data as { resultType: string; result: Array<{ metric: Record<string, string>; values: Array<[number, string]> }> };
  assert.equal(matrix.resultType, 'matrix');
  assert.deepEqual(matrix.result[0]!.metric, {});
  assert.deepEqual(matrix.result[0]!.values.map(([t]) => t), [nowMs / 1000 - 30, nowMs / 1000 - 15, nowMs / 1000]);
  for (const [, value] of matrix.result[0]!.values) assert.equal(value, '4');
});

test('errors come in the envelope Grafana turns into "<errorType>: <error>"', async () => {
  const bad = await postForm('/api/v1/query', [['query', 'sum(rate(x[5m])']]);
  assert.equal(bad.status, 400);
  assert.equal(bad.body.status, 'error');
  assert.equal(bad.body.errorType, 'bad_data');
  assert.match(String(bad.body.error), /parse error/);
  const badStep = await postForm('/api/v1/query_range', [['query', 'up'], ['start', '10'], ['end', '0'], ['step', '15']]);
  assert.equal(badStep.status, 400);
  assert.equal(badStep.body.errorType, 'bad_data');
});
