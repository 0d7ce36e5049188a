// The scan byte budget: grants in arrival order within the capacity, one oversized request alone,
// waits that end with the query's deadline or cancellation; and, over the real disk store, many
// concurrent queries (serial and on worker threads) that stay within it and answer as without it.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ScanBudget, type BudgetWaiter } from '../../../src/logql/engine/scan-budget.ts';
import { openStore } from '../../../src/store/store.ts';
import { createEngine, QueryLimitError } from '../../../src/logql/index.ts';
import type { QueryParams, QueryResult } from '../../../src/logql/api.ts';

/** A query's side of a wait, as QueryContext gives it: over once cancelled or past the deadline. */
function waiter(deadlineMs: number, signal?: AbortSignal): BudgetWaiter {
  return {
    deadlineMs,
    signal,
    checkDeadline() {
      if (signal?.aborted) throw new QueryLimitError('cancelled');
      if (Date.now() > deadlineMs) throw new QueryLimitError('timed out');
    },
  };
}

const FAR_DEADLINE = waiter(Date.now() + 3_600_000);

test('grants in arrival order while they fit; a release lets the waiting ones in', async () => {
  const budget = new ScanBudget(100);
  const releaseA = await budget.acquire(60, FAR_DEADLINE);
  const order: string[] = [];
  const b = budget.acquire(50, FAR_DEADLINE).then((release) => (order.push('b'), release));
  // c fits beside a, but b came first: c must not overtake it.
  const c = budget.acquire(30, FAR_DEADLINE).then((release) => (order.push('c'), release));
  await new Promise((resolve) => setImmediate(resolve));
  assert.deepEqual(order, [], 'nothing granted while a holds 60 of 100 and b needs 50');
  assert.equal(budget.stats().inUseBytes, 60);
  releaseA();
  releaseA(); // a second call gives nothing back twice
  const [releaseB, releaseC] = await Promise.all([b, c]);
  assert.deepEqual(order, ['b', 'c']);
  assert.deepEqual(budget.stats(), { capacityBytes: 100, inUseBytes: 80, peakBytes: 80, waits: 2 });
  releaseB();
  releaseC();
  assert.equal(budget.stats().inUseBytes, 0);
});

test('a request larger than the budget runs alone, charged as the whole budget', async () => {
  const budget = new ScanBudget(100);
  const releaseBig = await budget.acquire(1_000, FAR_DEADLINE);
  assert.equal(budget.stats().inUseBytes, 100);
  let smallGranted = false;
  const small = budget.acquire(1, FAR_DEADLINE).then((release) => ((smallGranted = true), release));
  await new Promise((resolve) => setImmediate(resolve));
  assert.equal(smallGranted, false);
  releaseBig();
  (await small)();
  assert.equal(smallGranted, true);
  assert.equal(budget.stats().peakBytes, 100);
});

test('a wait ends with the deadline or a cancellation, and those behind it move up', async () => {
  const budget = new ScanBudget(100);
  const release = await budget.acquire(100, FAR_DEADLINE);
  await assert.rejects(budget.acquire(10, waiter(Date.now() + 20)), (error: Error) => error instanceof QueryLimitError && /timed out/.test(error.message));
  const controller = new AbortController();
  const cancelled = budget.acquire(90, waiter(Date.now() + 60_000, controller.signal));
  const behind = budget.acquire(10, FAR_DEADLINE);
  controller.abort();
  await assert.rejects(cancelled, (error: Error) => error instanceof QueryLimitError && error.message === 'cancelled');
  assert.equal(budget.stats().inUseBytes, 100, 'nothing granted while the first holder keeps everything');
  release();
  (await behind)();
  assert.equal(budget.stats().inUseBytes, 0);
});

function answers(result: QueryResult): unknown {
  if (result.resultType === 'streams') return result.streams;
  if (result.resultType === 'vector') return result.samples.map((s) => [JSON.stringify(s.labels), s.value]);
  if (result.resultType === 'matrix') return result.series.map((s) => [JSON.stringify(s.labels), s.samples]);
  return result;
}

test('16 concurrent queries over the disk store stay within a 64 KiB budget and answer as without one', async () => {
  const SECOND_NS = 1_000_000_000n;
  const T0 = 1_700_000_000n * SECOND_NS;
  const dataDir = mkdtempSync(join(tmpdir(), 'rankscope-scan-budget-'));
  const store = await openStore({ dataDir, walFsync: false, headCutBytes: 64 * 1024 * 1024, headCutAgeMs: 3_600_000, blockTargetBytes: 16 * 1024, compactionIntervalMs: 0, retentionPeriodMs: 0 });
  try {
    for (let rank = 0; rank < 4; rank++) {
      const entries = Array.from({ length: 3000 }, (_, i) => ({
        timestampNs: T0 + BigInt(i) * 100_000_000n + BigInt(rank),
        line: i % 10 === 0 ? `step ${i} loss=${(i % 7) / 10} rank=${rank}` : `dataloader batch ${i} of epoch ${i % 3}`,
      }));
      await store.append('fake', [{ labels: { job: 'train', rank: String(rank) }, entries }]);
    }
    await store.flush();
    const unbounded = createEngine(store, { workerThreads: 1 });
    const budgetBytes = 64 * 1024;
    const engines = [createEngine(store, { workerThreads: 1, scanBudgetBytes: budgetBytes }), createEngine(store, { workerThreads: 2, parallelScanMinRawBytes: 0, scanBudgetBytes: budgetBytes })];
    const at = T0 + 400n * SECOND_NS;
    const queries: QueryParams[] = [
      { tenant: 'fake', query: 'sum by (rank) (count_over_time({job="train"} |= "loss" [10m]))', startNs: at, endNs: at, stepMs: 1000, intervalMs: 0, limit: 100, direction: 'backward', instant: true },
      { tenant: 'fake', query: 'avg by (rank) (avg_over_time({job="train"} |= "loss=" | logfmt | unwrap loss [1m]))', startNs: T0, endNs: at, stepMs: 60_000, intervalMs: 0, limit: 100, direction: 'backward', instant: false },
      { tenant: 'fake', query: '{job="train"} |= "epoch 2"', startNs: T0, endNs: at, stepMs: 0, intervalMs: 0, limit: 2000, direction: 'forward', instant: false },
      { tenant: 'fake', query: '{job="train"} |~ "step 2[0-9]+0 "', startNs: T0, endNs: at, stepMs: 0, intervalMs: 0, limit: 50, direction: 'backward', instant: false },
    ];
    const expected = await Promise.all(queries.map(async (params) => answers(await unbounded.query(params))));
    for (const engine of engines) {
      const results = await Promise.all(Array.from({ length: 16 }, (_, i) => engine.query(queries[i % queries.length]!)));
      results.forEach((result, i) => assert.deepEqual(answers(result), expected[i % queries.length], queries[i % queries.length]!.query));
      const stats = engine.scanBudget()!;
      assert.ok(stats.peakBytes > 0 && stats.peakBytes <= budgetBytes, `peak ${stats.peakBytes} within ${budgetBytes}`);
      assert.ok(stats.waits > 0, 'concurrent queries waited for each other');
      assert.equal(stats.inUseBytes, 0, 'everything given back');
    }
    assert.equal(unbounded.scanBudget(), undefined);
  } finally {
    await store.close();
    rmSync(dataDir, { recursive: true, force: true });
  }
});
