// The demo's simulated vLLM server: what it remote_writes is vLLM's V1 metric set with cumulative
// histogram buckets and counters that only grow; it ships metrics and logs every second and stops.
import { test, mock } from 'node:test';
import assert from 'node:assert/strict';
import { DEMO_VLLM_MODEL, SimulatedVllmState, startSimulatedVllm } from '../../src/demo/simulated-vllm.ts';
import { decodeWriteRequestV1, uncompressRemoteWrite } from '../../src/push/remote-write-decode.ts';

test('each tick: vLLM V1 names, cumulative buckets ending in +Inf = count, counters that only grow', () => {
  const state = new SimulatedVllmState(7);
  let previous = new Map<string, number>();
  for (let second = 0; second < 30; second++) {
    const { series } = state.tick(1_800_000_000_000 + second * 1000);
    const value = (name: string, labels: Record<string, string> = {}) =>
      series.find((entry) => entry.labels.__name__ === name && Object.entries(labels).every(([key, text]) => entry.labels[key] === text))?.samples[0]?.value;
    for (const name of ['vllm:time_to_first_token_seconds', 'vllm:inter_token_latency_seconds', 'vllm:e2e_request_latency_seconds']) {
      const buckets = series.filter((entry) => entry.labels.__name__ === `${name}_bucket`).map((entry) => entry.samples[0]!.value);
      assert.ok(buckets.length > 15, name);
      assert.ok(buckets.every((count, index) => index === 0 || count >= buckets[index - 1]!), `${name}: cumulative`);
      assert.equal(buckets[buckets.length - 1], value(`${name}_count`), `${name}: +Inf is the count`);
    }
    assert.ok(value('vllm:kv_cache_usage_perc')! >= 0 && value('vllm:kv_cache_usage_perc')! <= 1);
    assert.ok(value('vllm:num_requests_running')! >= 0 && value('vllm:num_requests_waiting')! >= 0);
    const counters = new Map(series.filter((entry) => /_total$|_count$|_sum$|_bucket$/.test(entry.labels.__name__!)).map((entry) => [JSON.stringify(entry.labels), entry.samples[0]!.value]));
    for (const [key, count] of counters) assert.ok(count >= (previous.get(key) ?? 0), `${key} only grows`);
    previous = counters;
    assert.ok(series.every((entry) => entry.labels.model_name === DEMO_VLLM_MODEL));
  }
  assert.deepEqual([...new Set([...previous.keys()].map((key) => (JSON.parse(key) as Record<string, string>).finished_reason).filter(Boolean))].sort(), ['abort', 'length', 'stop']);
});

test('ships remote_write and log pushes every second until stopped', async () => {
  mock.timers.enable({ apis: ['setInterval'] });
  const posts: Array<{ url: string; body: Buffer | string }> = [];
  const fakeFetch = (async (url: string, init: { body: Buffer | string }) => {
    posts.push({ url, body: init.body });
    return new Response(null, { status: 204 });
  }) as unknown as typeof fetch;
  const vllm = startSimulatedVllm({ serverUrl: 'http://127.0.0.1:9', seed: 3, fetch: fakeFetch });
  try {
    for (let second = 0; second < 10; second++) mock.timers.tick(1000);
  } finally {
    mock.timers.reset();
    await vllm.stop();
  }
  const writes = posts.filter((post) => post.url.endsWith('/api/v1/write'));
  assert.equal(writes.length, 10);
  const decoded = decodeWriteRequestV1(uncompressRemoteWrite(writes[0]!.body as Buffer, 10_000_000));
  assert.ok(decoded.series.some((entry) => entry.labels.__name__ === 'vllm:num_requests_running'));
  const pushes = posts.filter((post) => post.url.endsWith('/loki/api/v1/push'));
  assert.ok(pushes.length >= 1);
  const pushed = JSON.parse(pushes.at(-1)!.body as string) as { streams: Array<{ stream: Record<string, string>; values: string[][] }> };
  assert.equal(pushed.streams[0]!.stream.job, 'vllm-server');
  const after = posts.length;
  await new Promise((resolve) => setImmediate(resolve));
  assert.equal(posts.length, after, 'nothing is sent after stop');
});
