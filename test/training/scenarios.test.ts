// Scores the run tracker on simulated multi-node failures (test/training/scenarios/simulator.ts):
// every scenario is pushed through the real push API into a real server, in shuffled chunks with its
// original (hours-old) timestamps, and the runs API is compared with the ground truth on status,
// origin rank, class and hung ranks. The score is printed; below 95% the test fails.
// SCENARIO_SEED=<n> scores a different suite built the same way.

import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { seededRandom } from '../../src/demo/rank-output.ts';
import { getJson, pushJson, startTestServer, waitFor, type TestServer } from '../server/test-server.ts';
import { buildScenario } from './scenarios/simulator.ts';
import type { Scenario } from './scenarios/scenario-log.ts';

const SEED = Number(process.env.SCENARIO_SEED ?? '20241127');
const COUNT = Number(process.env.SCENARIO_COUNT ?? '56');

let server: TestServer;
before(async () => {
  server = await startTestServer({ training: { finalize_after: '1s', check_interval: '200ms' } });
});
after(async () => {
  await server.dispose();
});

/** Pushes a scenario's streams in random order, each cut into chunks, so arrival order differs from log order. */
async function pushScenario(scenario: Scenario, seed: number): Promise<void> {
  const rng = seededRandom(seed);
  const chunks: Array<{ stream: Record<string, string>; values: Array<[string, string]> }> = [];
  for (const stream of scenario.streams) {
    const sorted = [...stream.entries].sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
    const size = 1 + Math.floor(rng() * 60);
    for (let i = 0; i < sorted.length; i += size) chunks.push({ stream: stream.labels, values: sorted.slice(i, i + size).map(([ns, line]) => [String(ns), line]) });
  }
  for (let i = chunks.length - 1; i > 0; i--) {
    const j = Math.floor(rng() * (i + 1));
    [chunks[i], chunks[j]] = [chunks[j]!, chunks[i]!];
  }
  for (let i = 0; i < chunks.length; i += 20) {
    const response = await pushJson(server.url, chunks.slice(i, i + 20));
    assert.equal(response.status, 204, await response.text());
  }
}

interface RunAnswer {
  status: string;
  first_failure: { rank: number | null; class: string } | null;
  hung_ranks: number[];
}

test(`run tracker scores at least 95% on ${COUNT} simulated multi-node scenarios`, async () => {
  const scenarios = Array.from({ length: COUNT }, (_, index) => buildScenario(SEED, index));
  for (const [index, scenario] of scenarios.entries()) await pushScenario(scenario, SEED + index);
  let checks = 0;
  let passed = 0;
  let fullyRight = 0;
  const misses: string[] = [];
  for (const scenario of scenarios) {
    const id = encodeURIComponent(scenario.topology.runId);
    const answer = await waitFor(
      async () => {
        const { status, body } = await getJson(`${server.url}/api/v1/runs/${id}`);
        assert.equal(status, 200, `run ${scenario.topology.runId}: ${JSON.stringify(body)}`);
        const run = body as RunAnswer;
        return run.status === 'running' ? undefined : run;
      },
      15_000,
      `a verdict on ${scenario.name}`,
    );
    const truth = scenario.truth;
    const got = {
      status: answer.status,
      rank: answer.first_failure?.rank ?? null,
      class: answer.first_failure?.class ?? null,
      hung: [...answer.hung_ranks].sort((a, b) => a - b).join(','),
    };
    const want = { status: truth.status, rank: truth.rank, class: truth.class, hung: [...truth.hungRanks].sort((a, b) => a - b).join(',') };
    const results = [got.status === want.status, got.rank === want.rank, got.class === want.class, got.hung === want.hung];
    checks += results.length;
    passed += results.filter(Boolean).length;
    if (results.every(Boolean)) fullyRight++;
    else misses.push(`  ${scenario.name} [${scenario.topology.runId}]: want ${JSON.stringify(want)} got ${JSON.stringify(got)}`);
  }
  const score = passed / checks;
  console.log(`training scenario score (seed ${SEED}): ${(score * 100).toFixed(1)}% of ${checks} checks; ${fullyRight}/${scenarios.length} scenarios fully right`);
  if (misses.length > 0) console.log(misses.join('\n'));
  assert.ok(score >= 0.95, `score ${(score * 100).toFixed(1)}% is below 95%:\n${misses.join('\n')}`);
});
