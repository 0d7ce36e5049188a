// The runs API over HTTP (src/server/training-routes.ts): tenants from X-Scope-OrgID, newest first,
// ?status and ?limit, 400/401/404 with a message, URL-encoded ids, RFC3339 times with nanoseconds,
// numeric ranks, series names and points.

import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { getJson, pushJson, startTestServer, type TestServer } from '../server/test-server.ts';

let server: TestServer;
const baseNs = (BigInt(Math.floor(Date.now() / 1000)) - 7200n) * 1_000_000_000n;

before(async () => {
  server = await startTestServer({ auth_enabled: true, training: { finalize_after: '1s' } });
  const push = async (tenant: string, runId: string, offsetSeconds: number, lines: string[]) => {
    const values = lines.map((line, i): [string, string] => [String(baseNs + BigInt(offsetSeconds + i) * 1_000_000_000n + 123_456_789n), line]);
    const response = await pushJson(server.url, [{ stream: { run_id: runId, rank: '0', host: 'node-0' }, values }], { 'X-Scope-OrgID': tenant });
    assert.equal(response.status, 204, await response.text());
  };
  await push('team-a', 'older', 0, ['step 1 loss 2.5', 'step 2 loss 2.4', 'Training complete']);
  await push('team-a', 'exp/42', 100, ['step 1 loss 3.5', 'step 2 loss nan', 'torch.OutOfMemoryError: CUDA out of memory. Tried to allocate 2.00 GiB']);
  await push('team-b', 'secret', 50, ['step 1 loss 1.0']);
});
after(async () => {
  await server.dispose();
});

const A = { 'X-Scope-OrgID': 'team-a' };

test('runs are listed per tenant, newest first, with ?status and ?limit', async () => {
  const all = await getJson(`${server.url}/api/v1/runs`, A);
  assert.equal(all.status, 200);
  const runs = (all.body as { runs: Array<{ id: string; status: string; started_at: string; ranks_seen: number[]; world_size: number; attempt: number }> }).runs;
  assert.deepEqual(runs.map((run) => run.id), ['exp/42', 'older']);
  assert.match(runs[0]!.started_at, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.123456789Z$/);
  assert.deepEqual(runs[0]!.ranks_seen, [0]);
  assert.equal(runs[0]!.world_size, 1);
  assert.equal(runs[0]!.attempt, 1);

  const failed = (await getJson(`${server.url}/api/v1/runs?status=failed`, A)).body as { runs: Array<{ id: string }> };
  assert.deepEqual(failed.runs.map((run) => run.id), ['exp/42']);
  const one = (await getJson(`${server.url}/api/v1/runs?limit=1`, A)).body as { runs: Array<{ id: string }> };
  assert.deepEqual(one.runs.map((run) => run.id), ['exp/42']);

  const b = (await getJson(`${server.url}/api/v1/runs`, { 'X-Scope-OrgID': 'team-b' })).body as { runs: Array<{ id: string }> };
  assert.deepEqual(b.runs.map((run) => run.id), ['secret']);
  assert.equal((await getJson(`${server.url}/api/v1/runs/secret`, A)).status, 404, 'another tenant\'s run is not found');
});

test('bad requests are answered with what was wrong', async () => {
  const cases: Array<[string, Record<string, string>, number, RegExp]> = [
    ['/api/v1/runs', {}, 401, /no org id/],
    ['/api/v1/runs?status=broken', A, 400, /invalid status "broken"/],
    ['/api/v1/runs?limit=0', A, 400, /invalid limit "0": expected a whole number from 1 to 10000/],
    ['/api/v1/runs?limit=10001', A, 400, /invalid limit/],
    ['/api/v1/runs/nope', A, 404, /run "nope" not found/],
    ['/api/v1/runs/older/series?name=loss&rank=x', A, 400, /invalid rank "x"/],
    ['/api/v1/runs/older/series?name=loss&rank=7', A, 404, /no series "loss" for rank 7/],
  ];
  for (const [path, headers, status, message] of cases) {
    const answer = await getJson(`${server.url}${path}`, headers);
    assert.equal(answer.status, status, path);
    assert.match(answer.text, message, path);
  }
});

test('one run: first failure, hung ranks, failures, series names and points', async () => {
  const id = encodeURIComponent('exp/42');
  const run = (await getJson(`${server.url}/api/v1/runs/${id}`, A)).body as Record<string, unknown>;
  assert.equal(run.status, 'failed');
  assert.deepEqual(run.hung_ranks, []);
  const first = run.first_failure as { rank: number; class: string; time: string };
  assert.equal(first.rank, 0);
  assert.equal(first.class, 'cuda_oom', 'the OOM is the origin; the NaN printed before it is not');
  assert.match(first.time, /\.123456789Z$/);

  const failures = (await getJson(`${server.url}/api/v1/runs/${id}/failures`, A)).body as { first: { evidence: Array<{ rank: number; line: string; time: string }> }; failures: Array<{ class: string }> };
  assert.match(failures.first.evidence[0]!.line, /CUDA out of memory/);
  assert.deepEqual(failures.failures.map((failure) => failure.class).sort(), ['cuda_oom', 'nan_loss']);

  assert.deepEqual((await getJson(`${server.url}/api/v1/runs/${id}/series`, A)).body, { names: ['loss'] });
  const series = (await getJson(`${server.url}/api/v1/runs/${id}/series?name=loss&rank=0`, A)).body;
  assert.deepEqual(series, { name: 'loss', rank: 0, x: 'step', points: [[1, 3.5], [2, 'NaN']] });
  const all = (await getJson(`${server.url}/api/v1/runs/${id}/series?name=loss`, A)).body;
  assert.deepEqual(all, { name: 'loss', series: [{ name: 'loss', rank: 0, x: 'step', points: [[1, 3.5], [2, 'NaN']] }] });

  const finished = (await getJson(`${server.url}/api/v1/runs/older`, A)).body as { status: string; first_failure: unknown };
  assert.equal(finished.status, 'finished');
  assert.equal(finished.first_failure, null);
});
