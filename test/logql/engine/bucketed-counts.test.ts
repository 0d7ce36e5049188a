// count_over_time / rate / bytes_* over raw filters are counted per interval between window edges
// (step-buckets.ts). The same queries with a no-op stage (`| drop nothing`) take the per-line path; both
// must give identical matrices for overlapping, gapped and offset windows, with and without
// structured metadata in a block.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createEngine } from '../../../src/logql/index.ts';
import type { QueryParams, QueryResult } from '../../../src/logql/api.ts';
import { MemorySource } from './memory-source.ts';

const SECOND_NS = 1_000_000_000n;

// Irregular timestamps (several per second, some exactly on step edges) over 10 minutes, two ranks.
const source = new MemorySource(
  [0, 1].map((rank) => ({
    labels: { job: 'train', rank: String(rank) },
    entries: Array.from({ length: 900 }, (_, i) => ({
      timestampNs: BigInt(Math.floor((i * 2 * 600) / 900)) * (SECOND_NS / 2n) + (i % 3 === 0 ? 0n : BigInt((i % 7) + 1) * 1000n),
      line: i % 4 === 0 ? `step ${i} loss=${i % 9}` : i % 4 === 1 ? `WARN fail ${'x'.repeat(i % 13)}` : `batch ${i}`,
      structuredMetadata: rank === 1 && i > 600 ? [{ name: 'trace', value: 't' }] : undefined,
    })),
  })),
  { blockSize: 50 },
);
const engine = createEngine(source, { workerThreads: 1 });

async function matrix(query: string, startS: number, endS: number, stepS: number): Promise<string> {
  const params: QueryParams = { tenant: 'fake', query, startNs: BigInt(startS) * SECOND_NS, endNs: BigInt(endS) * SECOND_NS, stepMs: stepS * 1000, intervalMs: 0, limit: 100, direction: 'forward', instant: false };
  const result: QueryResult = await engine.query(params);
  assert.equal(result.resultType, 'matrix');
  return JSON.stringify(result.resultType === 'matrix' ? result.series.map((s) => [s.labels, s.samples]) : null);
}

test('interval counting gives the per-line answer for every window shape', async () => {
  const shapes: Array<[string, number, number, number]> = [
    ['[1m]', 0, 600, 60],
    ['[90s]', 30, 620, 20],
    ['[10s]', 0, 600, 45],
    ['[2m] offset 30s', 60, 660, 7],
    ['[5s]', 100, 100, 1],
  ];
  for (const op of ['count_over_time', 'rate', 'bytes_over_time', 'bytes_rate']) {
    for (const filter of ['|= "loss"', '|~ "(?i)(error|fail)"', '!= "batch"', '']) {
      for (const [range, startS, endS, stepS] of shapes) {
        for (const outer of ['', 'sum by (rank) ']) {
          const fast = `${outer}(${op}({job="train"} ${filter} ${range}))`;
          const slow = `${outer}(${op}({job="train"} ${filter} | drop nothing ${range}))`;
          const expected = await matrix(slow, startS, endS, stepS);
          assert.ok(expected.length > 10, slow);
          assert.equal(await matrix(fast, startS, endS, stepS), expected, fast);
        }
      }
    }
  }
});
