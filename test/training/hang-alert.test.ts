// A live hang reaches the ruler: four ranks push step lines in real time through the push API, rank 2
// stops; the tracker (short hang floor) marks the run hung, writes its hang event, and the training
// pack's RankSilent fires within a minute naming the run, rank, host and the rank's last line.

import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { getJson, pushJson, startTestServer, waitFor, type TestServer } from '../server/test-server.ts';

let server: TestServer;
before(async () => {
  server = await startTestServer({
    training: { hang_floor: '2s', hang_interval_multiple: 5, check_interval: '200ms' },
    ruler: { enabled: true, enable_training_rules: true, poll_interval: '1h' },
  });
});
after(async () => {
  await server.dispose();
});

interface Alerts {
  data: { alerts: Array<{ labels: Record<string, string>; annotations: Record<string, string>; state: string }> };
}

test('a live hang is reported and fires RankSilent through the ruler within a minute', async () => {
  const runId = `live-hang-${process.pid}`;
  const host = (rank: number) => `gpu-node-${Math.floor(rank / 2)}`;
  let step = 0;
  let hangStartedMs = 0;
  const push = async (ranks: number[]) => {
    step++;
    const ns = String(BigInt(Date.now()) * 1_000_000n);
    const response = await pushJson(
      server.url,
      ranks.map((rank) => ({ stream: { run_id: runId, rank: String(rank), host: host(rank), node_rank: String(Math.floor(rank / 2)) }, values: [[ns, `step ${step} loss ${(3 - step * 0.01).toFixed(3)} lr 1.0e-4`]] })),
    );
    assert.equal(response.status, 204);
  };
  // Everyone trains for a few steps; then rank 2 goes silent while the others keep logging.
  for (let i = 0; i < 6; i++) {
    await push([0, 1, 2, 3]);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  hangStartedMs = Date.now();
  let alert: Alerts['data']['alerts'][number] | undefined;
  const deadline = hangStartedMs + 60_000;
  while (alert === undefined && Date.now() < deadline) {
    await push([0, 1, 3]);
    const { body } = await getJson(`${server.url}/prometheus/api/v1/alerts`);
    alert = (body as Alerts).data.alerts.find((candidate) => candidate.labels.alertname === 'RankSilent' && candidate.state === 'firing');
    if (alert === undefined) await new Promise((resolve) => setTimeout(resolve, 250));
  }
  const elapsedMs = Date.now() - hangStartedMs;
  assert.ok(alert !== undefined, 'RankSilent did not fire within a minute');
  console.log(`RankSilent fired ${elapsedMs} ms after rank 2 went silent`);
  assert.equal(alert.labels.run, runId);
  assert.equal(alert.labels.rank, '2');
  assert.equal(alert.labels.host, 'gpu-node-1');
  assert.equal(alert.labels.last_line, 'step 6 loss 2.940 lr 1.0e-4');
  assert.equal(alert.annotations.summary, `Rank 2 of run ${runId} on gpu-node-1 is hung`);

  const { body } = await getJson(`${server.url}/api/v1/runs/${runId}`);
  const run = body as { status: string; hung_ranks: number[]; first_failure: { rank: number; class: string } };
  assert.equal(run.status, 'hung');
  assert.deepEqual(run.hung_ranks, [2]);
  assert.deepEqual([run.first_failure.rank, run.first_failure.class], [2, 'hang']);

  // The hang events are in the store, one stream per hung rank, for Explore as well.
  const events = await waitFor(async () => {
    const answer = await getJson(`${server.url}/loki/api/v1/query_range?${new URLSearchParams({ query: `{rankscope_event="rank_hung", run="${runId}"}`, start: String(hangStartedMs * 1e6), limit: '10' })}`);
    const result = (answer.body as { data: { result: Array<{ stream: Record<string, string> }> } }).data.result;
    return result.length > 0 ? result : undefined;
  });
  assert.deepEqual(
    events.map((stream) => stream.stream.rank),
    ['2'],
  );
});
