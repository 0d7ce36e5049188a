// PromQL over Prometheus' HTTP API on a real server: samples arrive by remote_write, queries come as
// Grafana sends them (GET and POST forms), answers have Prometheus' shapes, and errors its types.

import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { encodeWriteRequestV1, snappyCompress, type RemoteWriteSeriesInput } from '../../src/push/remote-write-encode.ts';
import { startTestServer, type TestServer } from './test-server.ts';

let server: TestServer;
/** A whole minute, a little in the past, so every sample is inside the out-of-order window. */
const T0 = Math.floor(Date.now() / 60_000) * 60_000 - 10 * 60_000;

before(async () => {
  server = await startTestServer();
  const series: RemoteWriteSeriesInput[] = [];
  for (const gpu of ['0', '1']) {
    const samples = [];
    // A counter at 10/s on gpu 0 and 20/s on gpu 1, every 15 s for 5 minutes.
    for (let i = 0; i <= 20; i++) samples.push({ timestampMs: T0 + i * 15_000, value: (gpu === '0' ? 10 : 20) * 15 * i });
    series.push({ labels: { __name__: 'gpu_tokens_total', gpu, host: 'node-1' }, samples });
  }
  const response = await fetch(server.url + '/api/v1/write', {
    method: 'POST',
    headers: { 'Content-Type': 'application/x-protobuf', 'Content-Encoding': 'snappy', 'X-Prometheus-Remote-Write-Version': '0.1.0' },
    body: snappyCompress(encodeWriteRequestV1(series, [])),
  });
  assert.equal(response.status, 204, await response.text());
});
after(async () => {
  await server.dispose();
});

interface ApiBody {
  status: string;
  data?: { resultType: string; result: unknown } | string;
  errorType?: string;
  error?: string;
}

async function api(path: string, init?: RequestInit): Promise<{ status: number; body: ApiBody }> {
  const response = await fetch(server.url + path, init);
  return { status: response.status, body: (await response.json()) as ApiBody };
}

const form = (params: Record<string, string>): RequestInit => ({
  method: 'POST',
  headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
  body: new URLSearchParams(params).toString(),
});

test('instant rate and sum by answer with Prometheus vector shapes, GET and POST alike', async () => {
  const time = String((T0 + 300_000) / 1000);
  const query = 'sum by (gpu) (rate(gpu_tokens_total[1m]))';
  {
    const viaGet = await api(`/api/v1/query?${new URLSearchParams({ query, time })}`);
    const viaPost = await api('/api/v1/query', form({ query, time }));
    for (const answer of [viaGet, viaPost]) {
      assert.equal(answer.status, 200, JSON.stringify(answer.body));
      const data = answer.body.data as { resultType: string; result: Array<{ metric: Record<string, string>; value: [number, string] }> };
      assert.equal(data.resultType, 'vector');
      const byGpu = Object.fromEntries(data.result.map((sample) => [sample.metric.gpu, sample.value]));
      assert.deepEqual(Object.keys(byGpu).sort(), ['0', '1']);
      for (const [gpu, perSecond] of [['0', 10], ['1', 20]] as const) {
        assert.equal(byGpu[gpu]![0], Number(time));
        assert.ok(Math.abs(Number(byGpu[gpu]![1]) - perSecond) < 1e-9, `gpu ${gpu}: ${byGpu[gpu]![1]}`);
      }
    }
  }
});

test('a range query returns one point per step, [seconds, "value"]', async () => {
  const params = new URLSearchParams({ query: 'gpu_tokens_total{gpu="1"}', start: String(T0 / 1000), end: String((T0 + 60_000) / 1000), step: '30' });
  const answer = await api(`/api/v1/query_range?${params}`);
  assert.equal(answer.status, 200);
  const data = answer.body.data as { resultType: string; result: Array<{ metric: Record<string, string>; values: Array<[number, string]> }> };
  assert.equal(data.resultType, 'matrix');
  assert.deepEqual(data.result, [
    { metric: { __name__: 'gpu_tokens_total', gpu: '1', host: 'node-1' }, values: [[T0 / 1000, '0'], [T0 / 1000 + 30, '600'], [T0 / 1000 + 60, '1200']] },
  ]);
});

test('errors: a parse error is bad_data 400 with its position; an evaluation error is execution 422', async () => {
  const parse = await api(`/api/v1/query?${new URLSearchParams({ query: 'sum(rate(x[5m])' })}`);
  assert.equal(parse.status, 400);
  assert.equal(parse.body.errorType, 'bad_data');
  assert.match(parse.body.error!, /^1:16: parse error: unclosed left parenthesis/);
  const evaluation = await api(`/api/v1/query?${new URLSearchParams({ query: 'gpu_tokens_total + on() gpu_tokens_total', time: String((T0 + 60_000) / 1000) })}`);
  assert.equal(evaluation.status, 422);
  assert.equal(evaluation.body.errorType, 'execution');
  assert.match(evaluation.body.error!, /many-to-many|duplicate/);
});

test('format_query prints the canonical form', async () => {
  const answer = await api(`/api/v1/format_query?${new URLSearchParams({ query: 'sum(rate(x[5m]))by(a)' })}`);
  assert.deepEqual(answer.body, { status: 'success', data: 'sum by (a) (rate(x[5m]))' });
});
