// PromQL queries take a slot from the same QueryScheduler as LogQL queries: with every slot busy a
// query waits (and times out in the queue, never reaching the engine), a full tenant queue answers
// 429, and a freed slot lets the next query run. Real HTTP on 127.0.0.1 with an engine held by a gate.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import Fastify, { type FastifyInstance } from 'fastify';
import { prometheusRoutes, type PromqlAnswer, type PromqlEngine } from '../../src/server/prometheus-routes.ts';
import { QueryScheduler } from '../../src/server/query-scheduler.ts';

const scheduler = new QueryScheduler({ maxConcurrent: 1, maxConcurrentPerTenant: 1, maxQueuedPerTenant: 1 });
const evaluated: string[] = [];
let releaseGate!: () => void;
const gate = new Promise<void>((resolve) => (releaseGate = resolve));
let app: FastifyInstance;
let base: string;

const answer: PromqlAnswer = { data: { resultType: 'scalar', result: [1, '1'] } };
const engine: PromqlEngine = {
  async instantQuery(_tenant, query) {
    evaluated.push(query);
    if (query === 'slow') await gate;
    return answer;
  },
  async rangeQuery(_tenant, query) {
    evaluated.push(query);
    return { data: { resultType: 'matrix', result: [] } };
  },
  formatQuery: (query) => query,
  queryExemplars: async () => [],
};

before(async () => {
  app = Fastify();
  const empty = async () => [];
  await app.register(prometheusRoutes, {
    tsdb: { select: empty, series: empty, labelNames: empty, labelValues: empty, getMetadata: () => new Map() },
    engine,
    authEnabled: false,
    queryTimeoutMs: 30_000,
    version: 'test',
    scheduler,
    prefixes: ['/api/v1'],
  });
  await app.listen({ host: '127.0.0.1', port: 0 });
  const address = app.server.address();
  base = `http://127.0.0.1:${typeof address === 'object' && address !== null ? address.port : 0}`;
});

after(async () => {
  releaseGate();
  await app.close();
});

async function until(what: string, probe: () => boolean, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!probe()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

test('PromQL queries wait for a scheduler slot, time out in the queue, and get 429 when the queue is full', async () => {
  const slow = fetch(`${base}/api/v1/query?query=slow`);
  await until('the slow query to hold the only slot', () => scheduler.counts().running === 1);

  const queued = fetch(`${base}/api/v1/query`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: 'query=queued&timeout=300ms' });
  await until('the second query to wait', () => scheduler.counts().queued === 1);

  const refused = await fetch(`${base}/api/v1/query_range?query=up&start=0&end=60&step=15`);
  assert.equal(refused.status, 429);
  assert.deepEqual(await refused.json(), { status: 'error', errorType: 'unavailable', error: 'too many outstanding requests' });

  const timedOut = await queued;
  assert.equal(timedOut.status, 503);
  assert.deepEqual(await timedOut.json(), { status: 'error', errorType: 'timeout', error: 'query timed out in query queue' });
  assert.deepEqual(evaluated, ['slow'], 'queries refused or timed out in the queue never reach the engine');

  releaseGate();
  assert.equal((await slow).status, 200);
  const next = await fetch(`${base}/api/v1/query_range?query=up&start=0&end=60&step=15`);
  assert.equal(next.status, 200);
  assert.deepEqual(evaluated, ['slow', 'up']);
  assert.deepEqual(scheduler.counts(), { running: 0, queued: 0 });
});
