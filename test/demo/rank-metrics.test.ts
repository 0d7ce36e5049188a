// A simulated rank's metrics: DCGM-style GPU series and training series with the rank's labels,
// batched about once a second into remote_write 1.0 requests that decode back to what was recorded,
// with metadata once, and a send failure that never reaches the rank.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { RankMetrics } from '../../src/demo/rank-metrics.ts';
import { decodeWriteRequestV1, uncompressRemoteWrite } from '../../src/push/remote-write-decode.ts';

const identity = { rank: 5, localRank: 1, worldSize: 8, nodeRank: 1, host: 'node-1', pid: 42 };

test('steps are batched into remote_write requests carrying the rank labels', async () => {
  const bodies: Buffer[] = [];
  const metrics = new RankMetrics({
    url: 'http://127.0.0.1:1/api/v1/write',
    identity,
    runId: 'run-1',
    job: 'demo-train',
    seed: 1,
    fetch: async (_url, init) => {
      assert.equal((init!.headers as Record<string, string>)['Content-Encoding'], 'snappy');
      bodies.push(Buffer.from(init!.body as Uint8Array));
      return new Response(null, { status: 204 });
    },
  });
  const startMs = 1_800_000_000_000;
  // The first step ships at once (nothing sent yet); the next ones wait for a second to pass.
  metrics.step(1, startMs, { loss: 2.5, stepSeconds: 0.3, failed: false });
  metrics.step(2, startMs + 300, { loss: 2.4, stepSeconds: 0.3, failed: false });
  metrics.step(3, startMs + 600, { loss: 2.3, stepSeconds: 0.3, failed: true });
  await metrics.flush();
  assert.equal(bodies.length, 2);
  const [first, second] = bodies.map((body) => decodeWriteRequestV1(uncompressRemoteWrite(body, 1 << 20)));
  assert.deepEqual(first!.metadata.map((m) => m.family).sort(), ['DCGM_FI_DEV_FB_FREE', 'DCGM_FI_DEV_FB_USED', 'DCGM_FI_DEV_GPU_TEMP', 'DCGM_FI_DEV_GPU_UTIL', 'DCGM_FI_DEV_PCIE_RX_THROUGHPUT', 'DCGM_FI_DEV_PCIE_TX_THROUGHPUT', 'DCGM_FI_DEV_POWER_USAGE', 'DCGM_FI_PROF_SM_ACTIVE', 'train_loss', 'train_step', 'train_step_duration_seconds']);
  assert.deepEqual(second!.metadata, [], 'metadata is sent once');
  const byName = new Map(second!.series.map((series) => [series.labels.__name__, series]));
  assert.deepEqual(byName.get('DCGM_FI_DEV_GPU_UTIL')!.labels, { __name__: 'DCGM_FI_DEV_GPU_UTIL', job: 'demo-train', host: 'node-1', rank: '5', run_id: 'run-1', gpu: '1' });
  assert.deepEqual(byName.get('train_loss')!.labels, { __name__: 'train_loss', job: 'demo-train', host: 'node-1', rank: '5', run_id: 'run-1' });
  assert.deepEqual(byName.get('train_loss')!.samples.map((s) => [s.timestampMs, s.value]), [[startMs + 300, 2.4], [startMs + 600, 2.3]]);
  assert.deepEqual(byName.get('train_step')!.samples.map((s) => s.value), [2, 3]);
  const [busy, dying] = byName.get('DCGM_FI_DEV_GPU_UTIL')!.samples.map((s) => s.value);
  assert.ok(busy! >= 86 && dying! < 10, `a failing rank's GPU idles: ${busy} then ${dying}`);
});

test('a server that cannot be reached does not fail the rank', async () => {
  const metrics = new RankMetrics({ url: 'http://127.0.0.1:1/api/v1/write', identity, runId: 'r', job: 'j', seed: 1, fetch: async () => Promise.reject(new Error('ECONNREFUSED')) });
  metrics.step(1, Date.now(), { loss: 1, stepSeconds: 0.1, failed: false });
  await metrics.flush();
});
