// Stand-ins for the exporters a GPU cluster runs, scraped by a real server: vLLM's /metrics (the V1
// names, and the V0 names older deployments still expose) and dcgm-exporter's (with the DCGM_FI_PROF_*
// profiling fields). The fixtures under fixtures/ are static exposition text with the real metric
// names, label sets and histogram buckets; the PromQL the built-in dashboards run over them answers
// with the values the text implies.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { readFileSync } from 'node:fs';
import { startTestServer, type TestServer } from '../server/test-server.ts';
import { pollUntil } from '../support/peers.ts';

const FIXTURES = new URL('./fixtures/', import.meta.url);
const EXPORTERS = ['vllm-v1', 'vllm-v0', 'dcgm-exporter'] as const;
const bodies = Object.fromEntries(EXPORTERS.map((name) => [name, readFileSync(new URL(`${name}.prom`, FIXTURES), 'utf8')]));

let server: TestServer;
let target: Server;
let address: string;

interface Row {
  metric: Record<string, string>;
  value: [number, string];
}

async function query(text: string): Promise<Row[]> {
  const response = await fetch(`${server.url}/api/v1/query?query=${encodeURIComponent(text)}`);
  const body = (await response.json()) as { status: string; error?: string; data: { result: Row[] } };
  assert.equal(body.status, 'success', `${text}: ${body.error}`);
  return body.data.result;
}

before(async () => {
  // One HTTP server answers /<exporter>/metrics with that exporter's fixture.
  target = createServer((request, response) => {
    const name = /^\/([^/]+)\/metrics$/.exec(request.url ?? '')?.[1];
    const body = name === undefined ? undefined : bodies[name];
    if (body === undefined) return void response.writeHead(404).end('no such exporter');
    response.writeHead(200, { 'content-type': 'text/plain; version=0.0.4; charset=utf-8' }).end(body);
  });
  await new Promise<void>((resolve) => target.listen(0, '127.0.0.1', resolve));
  address = `127.0.0.1:${(target.address() as AddressInfo).port}`;
  server = await startTestServer({
    scrape_configs: EXPORTERS.map((name) => ({ job_name: name, scrape_interval: '200ms', metrics_path: `/${name}/metrics`, static_configs: [{ targets: [address] }] })),
  });
  await pollUntil('every exporter scraped', async () => ((await query('up == 1')).length === EXPORTERS.length ? true : undefined), { timeoutMs: 15_000 });
});

after(async () => {
  await server?.dispose();
  target?.close();
});

test('every sample line of each fixture is scraped and stored', async () => {
  for (const name of EXPORTERS) {
    const sampleLines = bodies[name]!.split('\n').filter((line) => line !== '' && !line.startsWith('#')).length;
    const [scraped] = await query(`scrape_samples_scraped{job="${name}"}`);
    assert.equal(Number(scraped?.value[1]), sampleLines, name);
    const [stored] = await query(`count({job="${name}", __name__!~"up|scrape_.*"})`);
    assert.equal(Number(stored?.value[1]), sampleLines, `${name}: one series per sample line`);
  }
});

// A query, and the value of its single result or the value per label `by`.
const CASES: Array<{ query: string; expected: number | Record<string, number>; by?: string }> = [
  // vLLM V1: the latency panels of the Inference dashboard, over the cumulative buckets.
  { query: 'histogram_quantile(0.5, sum by (le) (vllm:time_to_first_token_seconds_bucket{job="vllm-v1"}))', expected: 0.085 },
  { query: 'histogram_quantile(0.9, sum by (le) (vllm:time_to_first_token_seconds_bucket{job="vllm-v1"}))', expected: 0.25 },
  { query: 'histogram_quantile(0.99, sum by (le) (vllm:time_to_first_token_seconds_bucket{job="vllm-v1"}))', expected: 0.75 },
  { query: 'histogram_quantile(0.5, sum by (le) (vllm:inter_token_latency_seconds_bucket{job="vllm-v1"}))', expected: 0.01 + 0.015 * (191256 - 20000) / 200000 },
  { query: 'histogram_quantile(0.5, sum by (le) (vllm:e2e_request_latency_seconds_bucket{job="vllm-v1"}))', expected: 1.5 + (0.5 * 20) / 350 },
  { query: 'vllm:time_to_first_token_seconds_sum{job="vllm-v1"} / vllm:time_to_first_token_seconds_count{job="vllm-v1"}', expected: 231.7 / 2000 },
  { query: 'vllm:num_requests_running{job="vllm-v1"}', expected: 12 },
  { query: 'vllm:num_requests_waiting{job="vllm-v1"}', expected: 3 },
  { query: '100 * vllm:kv_cache_usage_perc{job="vllm-v1"}', expected: 43.75 },
  { query: 'vllm:prompt_tokens_total{job="vllm-v1"}', expected: 2_150_400 },
  { query: 'vllm:generation_tokens_total{job="vllm-v1"}', expected: 384_512 },
  { query: 'sum by (finished_reason) (vllm:request_success_total{job="vllm-v1"})', by: 'finished_reason', expected: { abort: 7, length: 93, stop: 1900 } },
  // V0 names, as the Inference dashboard's `or` fallbacks read them.
  { query: '100 * (vllm:kv_cache_usage_perc{job="vllm-v0"} or vllm:gpu_cache_usage_perc{job="vllm-v0"})', expected: 25 },
  { query: 'histogram_quantile(0.5, sum by (le) (vllm:time_per_output_token_seconds_bucket{job="vllm-v0"}))', expected: 0.01 + 0.015 * (750 - 100) / 900 },
  // dcgm-exporter, including the profiling fields.
  { query: 'DCGM_FI_DEV_GPU_UTIL{job="dcgm-exporter"}', by: 'gpu', expected: { '0': 97, '1': 100 } },
  { query: 'DCGM_FI_PROF_SM_ACTIVE{job="dcgm-exporter"}', by: 'gpu', expected: { '0': 0.873311, '1': 0.021455 } },
  { query: 'DCGM_FI_PROF_PIPE_TENSOR_ACTIVE{job="dcgm-exporter"} > 0.5', by: 'pod', expected: { 'llama-pretrain-worker-0': 0.521998 } },
  { query: 'DCGM_FI_PROF_DRAM_ACTIVE{job="dcgm-exporter", gpu="0"}', expected: 0.334502 },
  { query: 'sum(DCGM_FI_PROF_NVLINK_TX_BYTES{job="dcgm-exporter"})', expected: 91_234_567_890 },
  { query: 'count by (Hostname) (DCGM_FI_DEV_XID_ERRORS{job="dcgm-exporter"} > 0)', by: 'Hostname', expected: { 'gpu-node-1': 1 } },
  // The "busy by the coarse counter, idle by the SMs" GPU: util 100 % while SM activity is ~2 %.
  { query: 'DCGM_FI_DEV_GPU_UTIL{job="dcgm-exporter"} > 90 and on (UUID) DCGM_FI_PROF_SM_ACTIVE{job="dcgm-exporter"} < 0.1', by: 'gpu', expected: { '1': 100 } },
  { query: '100 * DCGM_FI_DEV_FB_USED{job="dcgm-exporter"} / (DCGM_FI_DEV_FB_USED{job="dcgm-exporter"} + DCGM_FI_DEV_FB_FREE{job="dcgm-exporter"})', by: 'gpu', expected: { '0': (100 * 73036) / 81159, '1': (100 * 80137) / 81159 } },
];

test('PromQL over the scraped vLLM and dcgm-exporter series', async () => {
  for (const { query: text, expected, by } of CASES) {
    const rows = await query(text);
    if (typeof expected === 'number') {
      assert.equal(rows.length, 1, `${text}: one result, got ${JSON.stringify(rows)}`);
      assert.ok(Math.abs(Number(rows[0]!.value[1]) - expected) < 1e-9 * Math.max(1, Math.abs(expected)), `${text}: ${rows[0]!.value[1]} ≠ ${expected}`);
    } else {
      const got = Object.fromEntries(rows.map((row) => [row.metric[by!]!, Number(row.value[1])]));
      assert.deepEqual(Object.keys(got).sort(), Object.keys(expected).sort(), text);
      for (const [key, value] of Object.entries(expected)) assert.ok(Math.abs(got[key]! - value) < 1e-9 * Math.max(1, value), `${text} {${by}="${key}"}: ${got[key]} ≠ ${value}`);
    }
  }
});

test('the exporters keep their label sets: dcgm-exporter names the pod, vLLM the model and engine', async () => {
  const [gpu] = await query('DCGM_FI_DEV_GPU_TEMP{job="dcgm-exporter", gpu="1"}');
  assert.deepEqual(
    { ...gpu!.metric },
    {
      __name__: 'DCGM_FI_DEV_GPU_TEMP',
      gpu: '1',
      UUID: 'GPU-9b2d41e7-6a3f-0c5d-8e1b-7f4a2c9d3e02',
      pci_bus_id: '00000000:0F:00.0',
      device: 'nvidia1',
      modelName: 'NVIDIA H100 80GB HBM3',
      Hostname: 'gpu-node-1',
      DCGM_FI_DRIVER_VERSION: '550.54.15',
      container: 'pytorch',
      namespace: 'ml-train',
      pod: 'llama-pretrain-worker-1',
      instance: address,
      job: 'dcgm-exporter',
    },
  );
  const buckets = await query('vllm:e2e_request_latency_seconds_bucket{job="vllm-v1"}');
  assert.equal(buckets.length, 22, '21 bounds and +Inf');
  assert.ok(buckets.every((row) => row.metric.model_name === 'meta-llama/Llama-3.1-8B-Instruct' && row.metric.engine === '0'));
  const metadata = (await (await fetch(`${server.url}/api/v1/metadata?metric=vllm:time_to_first_token_seconds`)).json()) as { data: Record<string, Array<{ type: string }>> };
  assert.equal(metadata.data['vllm:time_to_first_token_seconds']?.[0]?.type, 'histogram');
});
