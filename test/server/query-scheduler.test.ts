import { test } from 'node:test';
import assert from 'node:assert/strict';
import { QueryScheduler, TooManyOutstandingRequestsError } from '../../src/server/query-scheduler.ts';

/** A query that runs until released, recording when it started. */
function gate(log: string[], name: string): { query: () => Promise<string>; release: () => void } {
  let release!: () => void;
  const done = new Promise<void>((resolve) => (release = resolve));
  return {
    query: async () => {
      log.push(name);
      await done;
      return name;
    },
    release: () => release(),
  };
}

const tick = () => new Promise((resolve) => setImmediate(resolve));

test('at most maxConcurrent run; waiting tenants are served round-robin, not in arrival order', async () => {
  const scheduler = new QueryScheduler({ maxConcurrent: 1, maxConcurrentPerTenant: 1, maxQueuedPerTenant: 10 });
  const log: string[] = [];
  const gates = ['a1', 'a2', 'a3', 'b1', 'b2'].map((name) => ({ name, ...gate(log, name) }));
  const results = gates.map((g) => scheduler.run(g.name[0]!, undefined, g.query));
  await tick();
  assert.deepEqual(log, ['a1']);
  assert.deepEqual(scheduler.counts(), { running: 1, queued: 4 });
  for (const g of gates) {
    g.release();
    await tick();
  }
  // Done in order of admission: a1, then b (a was just served), then a, b, a.
  for (const g of gates) g.release();
  await Promise.all(results);
  assert.deepEqual(log, ['a1', 'b1', 'a2', 'b2', 'a3']);
  assert.deepEqual(scheduler.counts(), { running: 0, queued: 0 });
});

test('a per-tenant limit lets another tenant use the free global slot', async () => {
  const scheduler = new QueryScheduler({ maxConcurrent: 2, maxConcurrentPerTenant: 1, maxQueuedPerTenant: 10 });
  const log: string[] = [];
  const a1 = gate(log, 'a1');
  const a2 = gate(log, 'a2');
  const b1 = gate(log, 'b1');
  const runs = [scheduler.run('a', undefined, a1.query), scheduler.run('a', undefined, a2.query), scheduler.run('b', undefined, b1.query)];
  await tick();
  assert.deepEqual(log, ['a1', 'b1']);
  a1.release();
  await tick();
  assert.deepEqual(log, ['a1', 'b1', 'a2']);
  a2.release();
  b1.release();
  await Promise.all(runs);
});

test('a full tenant queue answers 429; an aborted waiter leaves the queue with its reason', async () => {
  const scheduler = new QueryScheduler({ maxConcurrent: 1, maxConcurrentPerTenant: 1, maxQueuedPerTenant: 1 });
  const log: string[] = [];
  const first = gate(log, 'first');
  const running = scheduler.run('a', undefined, first.query);
  const controller = new AbortController();
  const waiting = scheduler.run('a', controller.signal, async () => 'never');
  await assert.rejects(scheduler.run('a', undefined, async () => 'x'), TooManyOutstandingRequestsError);
  // Another tenant has its own queue.
  const other = scheduler.run('b', undefined, async () => 'b');
  controller.abort(new Error('client went away'));
  await assert.rejects(waiting, /client went away/);
  assert.deepEqual(scheduler.counts(), { running: 1, queued: 1 });
  first.release();
  assert.equal(await running, 'first');
  assert.equal(await other, 'b');
  assert.deepEqual(scheduler.counts(), { running: 0, queued: 0 });
});
