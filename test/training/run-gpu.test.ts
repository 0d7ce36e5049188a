// GET /api/v1/runs/{id}/gpu on a real server: two live runs push step lines and GPU utilization
// (remote_write, with run_id and rank). In one, both ranks stop logging while their GPUs stay at
// 100%: the tracker calls the run hung and the GPU route names the NCCL-deadlock signature with its
// evidence. The other keeps training on busy GPUs: no verdict. The tracker's per-rank state reaches
// PromQL as rankscope_training_rank_silent.

import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import Fastify from 'fastify';
import { trainingRoutes, type TrainingRoutesOptions } from '../../src/server/training-routes.ts';
import { trainingConfigSchema } from '../../src/training/config.ts';
import { RunTracker } from '../../src/training/run-tracker.ts';
import { getJson, startTestServer, waitFor, type TestServer } from '../server/test-server.ts';
import { rank, startLiveRuns, type LiveRuns } from './live-gpu-runs.ts';

interface GpuAnswer {
  metric: string;
  step_seconds: number;
  ranks: Array<{ rank: number; gpu: string; uuid: string; host: string; points: Array<[number, number]> }>;
  verdict: { kind: string; summary: string; findings: Array<{ rank: number; gpu: string; uuid: string; host: string; silent_since: string; last_line: string; mean_percent: number; min_percent: number; samples: number }> } | null;
}

const DEADLOCKED = `deadlocked-${process.pid}`;
const HEALTHY = `healthy-${process.pid}`;
let server: TestServer;
let live: LiveRuns | undefined;

before(async () => {
  server = await startTestServer({ training: { hang_floor: '2s', hang_interval_multiple: 5, check_interval: '200ms', finalize_after: '2s' } });
  live = startLiveRuns(server.url, [
    { id: DEADLOCKED, ranks: [rank(0, 100, 8), rank(1, 100, 8)] },
    { id: HEALTHY, ranks: [rank(0, 96), rank(1, 98)] },
  ]);
});

after(async () => {
  await live?.stop();
  await server.dispose();
});

/** The run's GPU answer; undefined while the server has not seen the run's first line yet. */
const gpuOf = async (id: string): Promise<GpuAnswer | undefined> => {
  const answer = await getJson(`${server.url}/api/v1/runs/${id}/gpu`);
  if (answer.status === 404) return undefined;
  assert.equal(answer.status, 200, answer.text);
  return answer.body as GpuAnswer;
};

test('ranks silent on busy GPUs: the run is hung and the GPU verdict names the NCCL-deadlock signature with its evidence', async () => {
  const answer = await waitFor(
    async () => {
      const gpu = await gpuOf(DEADLOCKED);
      return gpu?.verdict?.kind === 'nccl_deadlock' ? gpu : undefined;
    },
    45_000,
    'the deadlock verdict',
  );
  const run = (await getJson(`${server.url}/api/v1/runs/${DEADLOCKED}`)).body as { status: string; ranks: Array<{ rank: number; last_activity_at: string; last_line: string }> };
  assert.equal(run.status, 'hung');
  const verdict = answer.verdict!;
  assert.match(verdict.summary, /^The run is hung, yet the GPUs of ranks 0, 1 read 100% busy since they went silent: the NCCL-deadlock signature/);
  assert.deepEqual(
    verdict.findings.map((finding) => [finding.rank, finding.gpu, finding.uuid, finding.host]),
    [
      [0, '0', `GPU-${DEADLOCKED}-0`, 'gpu-node-0'],
      [1, '1', `GPU-${DEADLOCKED}-1`, 'gpu-node-0'],
    ],
  );
  for (const finding of verdict.findings) {
    const logged = run.ranks.find((one) => one.rank === finding.rank)!;
    assert.equal(finding.silent_since, logged.last_activity_at, 'silent since the rank\'s last line');
    assert.equal(finding.last_line, logged.last_line);
    assert.equal(finding.mean_percent, 100);
    assert.ok(finding.samples >= 3, `judged on ${finding.samples} samples`);
  }
  // The strip: one row per rank, every point at what the GPU read, on the window's step.
  assert.equal(answer.metric, 'DCGM_FI_DEV_GPU_UTIL');
  assert.deepEqual(answer.ranks.map((row) => row.rank), [0, 1]);
  for (const row of answer.ranks) {
    assert.ok(row.points.length > 0);
    assert.ok(row.points.every(([, value]) => value === 100), JSON.stringify(row.points.slice(0, 5)));
  }
});

test('a healthy run on busy GPUs: a strip per rank and no verdict; the tracker\'s rank state is in PromQL', async () => {
  const answer = await waitFor(
    async () => {
      const gpu = await gpuOf(HEALTHY);
      return gpu !== undefined && gpu.ranks.length === 2 && gpu.ranks.every((row) => row.points.length >= 3) ? gpu : undefined;
    },
    20_000,
    'the healthy run\'s GPU rows',
  );
  assert.equal(answer.verdict, null);
  assert.deepEqual(answer.ranks.map((row) => [row.rank, row.points.at(-1)![1]]), [
    [0, 96],
    [1, 98],
  ]);
  const silentOf = async (id: string) => {
    const body = (await getJson(`${server.url}/api/v1/query?${new URLSearchParams({ query: `rankscope_training_rank_silent{run_id="${id}"}` })}`)).body as { data: { result: Array<{ metric: Record<string, string>; value: [number, string] }> } };
    return body.data.result.map((series) => [series.metric.rank, series.metric.host, series.value[1]]).sort();
  };
  const deadlocked = await waitFor(async () => {
    const states = await silentOf(DEADLOCKED);
    return states.length === 2 && states.every(([, , value]) => value === '1') ? states : undefined;
  }, 20_000, 'the deadlocked ranks\' silent state');
  assert.deepEqual(deadlocked, [
    ['0', 'gpu-node-0', '1'],
    ['1', 'gpu-node-0', '1'],
  ]);
  assert.deepEqual(await silentOf(HEALTHY), [
    ['0', 'gpu-node-0', '0'],
    ['1', 'gpu-node-0', '0'],
  ]);
});

test('bad windows are refused with what is wrong; an unknown run is a 404', async () => {
  const cases: Array<[string, number, RegExp]> = [
    ['?step=0.5', 400, /invalid step "0\.5": at least 1s/],
    ['?start=2000&end=1000', 400, /end \(1970-01-01T00:16:40\.000Z\) must be after start/],
    ['?start=0&end=2000000000&step=1', 400, /more than 11000 steps/],
    ['?step=soon', 400, /invalid step value: cannot parse "soon"/],
  ];
  for (const [query, status, message] of cases) {
    const answer = await getJson(`${server.url}/api/v1/runs/${HEALTHY}/gpu${query}`);
    assert.equal(answer.status, status, query);
    assert.match(answer.text, message, query);
  }
  const missing = await getJson(`${server.url}/api/v1/runs/no-such-run/gpu`);
  assert.equal(missing.status, 404);
  assert.match(missing.text, /run "no-such-run" not found/);
});

test('a metrics query that times out is a 503 that says so; a server without a metrics store answers with a note', async () => {
  const tracker = new RunTracker({ config: trainingConfigSchema.parse({}) });
  tracker.ingest('fake', [{ labels: { run_id: 'r1', rank: '0' }, entries: [{ timestampNs: BigInt(Date.now()) * 1_000_000n, line: 'step 1 loss 2' }] }]);
  const answer = async (metrics: TrainingRoutesOptions['metrics']) => {
    const app = Fastify();
    await app.register(trainingRoutes, { tracker, authEnabled: false, ...(metrics !== undefined ? { metrics } : {}) });
    try {
      return await app.inject({ method: 'GET', url: '/api/v1/runs/r1/gpu' });
    } finally {
      await app.close();
    }
  };
  const timedOut = await answer({
    rangeQuery: async () => {
      throw Object.assign(new Error('query timed out in expression evaluation'), { errorType: 'timeout' });
    },
  });
  assert.equal(timedOut.statusCode, 503);
  assert.equal(timedOut.body, 'GPU utilization query failed (timeout): query timed out in expression evaluation');
  const without = await answer(undefined);
  assert.equal(without.statusCode, 200);
  assert.deepEqual(JSON.parse(without.body), { metric: 'DCGM_FI_DEV_GPU_UTIL', ranks: [], verdict: null, note: 'no metrics store on this server (tsdb.enabled: false)' });
});
