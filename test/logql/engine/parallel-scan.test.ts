// Worker-thread scans against the real disk store: the same answers as a single-threaded scan, and
// pipeline errors raised inside a worker reach the caller as QueryError.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openStore } from '../../../src/store/store.ts';
import { createEngine, QueryError } from '../../../src/logql/index.ts';
import type { QueryParams, QueryResult } from '../../../src/logql/api.ts';

const SECOND_NS = 1_000_000_000n;
const T0 = 1_700_000_000n * SECOND_NS;

function vectorValues(result: QueryResult): Array<[string, number]> {
  assert.equal(result.resultType, 'vector');
  return result.resultType === 'vector' ? result.samples.map((s) => [JSON.stringify(s.labels), s.value]) : [];
}

test('parallel scans over persisted blocks match the single-threaded answer', async () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'rankscope-parallel-'));
  const store = await openStore({
    dataDir,
    walFsync: false,
    headCutBytes: 64 * 1024 * 1024,
    headCutAgeMs: 3_600_000,
    // Small blocks so the scan splits into several worker chunks.
    blockTargetBytes: 16 * 1024,
    compactionIntervalMs: 0,
    retentionPeriodMs: 0,
  });
  try {
    for (let rank = 0; rank < 4; rank++) {
      const entries = Array.from({ length: 3000 }, (_, i) => ({
        timestampNs: T0 + BigInt(i) * 100_000_000n + BigInt(rank),
        line: i % 10 === 0 ? `step ${i} loss=${(i % 7) / 10} rank=${rank}` : i % 10 === 5 ? `NCCL WARN timeout after ${i} ms` : `dataloader batch ${i}`,
      }));
      await store.append('fake', [{ labels: { job: 'train', rank: String(rank) }, entries }]);
    }
    await store.flush();
    // A head block (no location) that stays on the main thread alongside the workers.
    await store.append('fake', [{ labels: { job: 'train', rank: '9' }, entries: [{ timestampNs: T0 + 5n * SECOND_NS, line: 'step 0 loss=0.5 rank=9' }] }]);

    const serial = createEngine(store, { workerThreads: 1 });
    const parallel = createEngine(store, { workerThreads: 2, parallelScanMinRawBytes: 0 });
    const at = T0 + 400n * SECOND_NS;
    const params = (query: string): QueryParams => ({ tenant: 'fake', query, startNs: at, endNs: at, stepMs: 1000, intervalMs: 0, limit: 100, direction: 'backward', instant: true });
    const queries = [
      'sum by (rank) (count_over_time({job="train"} |= "loss" [10m]))',
      'sum(count_over_time({job="train"} |~ "(?i)nccl.*TIMEOUT" [10m]))',
      'avg by (rank) (avg_over_time({job="train"} |= "loss=" | logfmt | unwrap loss [10m]))',
      'sum by (rank) (bytes_over_time({job="train"} [10m]))',
    ];
    for (const query of queries) {
      const expected = vectorValues(await serial.query(params(query)));
      const actual = vectorValues(await parallel.query(params(query)));
      assert.ok(expected.length > 0, query);
      assert.deepEqual(actual.map(([l]) => l), expected.map(([l]) => l), query);
      actual.forEach(([, v], i) => assert.ok(Math.abs(v - expected[i]![1]) < 1e-9, `${query}: ${v} vs ${expected[i]![1]}`));
    }
    const withRank9 = vectorValues(await parallel.query(params('sum by (rank) (count_over_time({job="train"} |= "loss" [10m]))')));
    assert.ok(withRank9.some(([labels]) => labels === '{"rank":"9"}'), 'head blocks are counted too');

    // Log queries: the same entries in the same order, whatever the direction, limit or needle.
    const logParams = (query: string, direction: 'forward' | 'backward', limit: number): QueryParams => ({
      tenant: 'fake', query, startNs: T0, endNs: T0 + 400n * SECOND_NS, stepMs: 0, intervalMs: 0, limit, direction, instant: false,
    });
    for (const [query, limit] of [['{job="train"} |= "NCCL"', 50], ['{job="train"} |~ "(?i)STEP 2990"', 100], ['{job="train"} | logfmt | loss > 0.5', 1000]] as const) {
      for (const direction of ['forward', 'backward'] as const) {
        const expected = await serial.query(logParams(query, direction, limit));
        const actual = await parallel.query(logParams(query, direction, limit));
        assert.deepEqual(actual.resultType === 'streams' && actual.streams, expected.resultType === 'streams' && expected.streams, `${query} ${direction}`);
      }
    }

    await assert.rejects(
      parallel.query(params('sum(sum_over_time({job="train"} | regexp "(?P<word>[a-z]+)" | unwrap word [10m]))')),
      (error: Error) => error instanceof QueryError && error.message.startsWith("pipeline error: 'SampleExtractionErr'"),
    );
  } finally {
    await store.close();
    rmSync(dataDir, { recursive: true, force: true });
  }
});

test('scans free the lines of part blocks they read, and a head block stays readable for the next query', async () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'rankscope-release-'));
  // Blocks above releaseBlockColumns' 64 KiB floor, in parts and in a head.
  const store = await openStore({ dataDir, walFsync: false, headCutBytes: 64 * 1024 * 1024, headCutAgeMs: 3_600_000, blockTargetBytes: 256 * 1024, compactionIntervalMs: 0, retentionPeriodMs: 0 });
  try {
    const entries = (rank: number, count: number) =>
      Array.from({ length: count }, (_, i) => ({ timestampNs: T0 + BigInt(i) * 10_000_000n + BigInt(rank), line: `step ${i} loss=${(i % 7) / 10} rank=${rank} ${'x'.repeat(60)}` }));
    await store.append('fake', [0, 1].map((rank) => ({ labels: { job: 'train', rank: String(rank) }, entries: entries(rank, 20_000) })));
    await store.flush();
    await store.append('fake', [{ labels: { job: 'train', rank: '9' }, entries: entries(9, 5_000) }]);
    const at = T0 + 400n * SECOND_NS;
    const query = 'sum by (rank) (count_over_time({job="train"} | logfmt | loss > 0.3 [10m]))';
    const params: QueryParams = { tenant: 'fake', query, startNs: at, endNs: at, stepMs: 1000, intervalMs: 0, limit: 100, direction: 'backward', instant: true };
    // Lines with loss 0.4, 0.5 or 0.6: i % 7 in 4..6.
    const expected = (count: number) => Array.from({ length: count }, (_, i) => i % 7).filter((r) => r >= 4).length;
    for (const engine of [createEngine(store, { workerThreads: 1 }), createEngine(store, { workerThreads: 2, parallelScanMinRawBytes: 0 })]) {
      for (let round = 0; round < 3; round++) {
        assert.deepEqual(vectorValues(await engine.query(params)), [['{"rank":"0"}', expected(20_000)], ['{"rank":"1"}', expected(20_000)], ['{"rank":"9"}', expected(5_000)]], `round ${round}`);
        // A log query reads (and frees) the same blocks: its lines come out whole every time.
        const logs = await engine.query({ ...params, query: '{job="train"} |= "step 1999 "', startNs: T0, endNs: at, instant: false, direction: 'forward' });
        assert.equal(logs.resultType, 'streams');
        const lines = logs.resultType === 'streams' ? logs.streams.flatMap((s) => s.entries.map((e) => e.line)).sort() : [];
        assert.deepEqual(lines, [0, 1, 9].map((rank) => `step 1999 loss=0.4 rank=${rank} ${'x'.repeat(60)}`), `round ${round}`);
      }
    }
  } finally {
    await store.close();
    rmSync(dataDir, { recursive: true, force: true });
  }
});
