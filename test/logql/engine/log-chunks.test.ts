// src/logql/engine/log-query.ts chunkRefs: how a log query's blocks are split between scan workers.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { chunkRefs } from '../../../src/logql/engine/log-query.ts';
import type { BlockRef } from '../../../src/store/types.ts';

const KB = 1024;

function ref(rawBytes: number, located = true): BlockRef {
  return {
    stream: { id: 's', labels: {} },
    minTimeNs: 0n,
    maxTimeNs: 0n,
    entryCount: 1,
    rawBytes,
    ...(located ? { location: { objectKey: 'p', offset: 0, length: 1 } } : {}),
    load: () => Promise.reject(new Error('not read here')),
  };
}

test('with a limit, chunks start small and double up to 8 MB, so the newest blocks answer before the rest is read', () => {
  const refs = Array.from({ length: 63 }, () => ref(256 * KB));
  const sizes = chunkRefs(refs, 256 * KB).map((chunk) => chunk.length * 256);
  // 256 KB, 512 KB, 1, 2, 4 MB, then 8 MB chunks until the end (15.75 MB here).
  assert.deepEqual(sizes, [256, 512, 1024, 2048, 4096, 8192]);
  // Without one, every chunk is 8 MB from the start.
  assert.deepEqual(chunkRefs(refs).map((chunk) => chunk.length * 256), [8192, 7936]);
  // A block larger than the target is a chunk of its own; head blocks never share a chunk with part blocks.
  assert.deepEqual(chunkRefs([ref(3000 * KB), ref(100 * KB, false), ref(100 * KB)], 256 * KB).map((chunk) => chunk.map((r) => r.rawBytes / KB)), [[3000], [100], [100]]);
  // Every block is in exactly one chunk, in order.
  assert.equal(chunkRefs(refs, 256 * KB).flat().length, refs.length);
});

test('a log query with a limit reads its newest block alone first, and none behind it once that block holds the limit', async () => {
  const { createEngine } = await import('../../../src/logql/index.ts');
  const { MemorySource } = await import('./memory-source.ts');
  // One stream, blocks of 50 entries: the newest block holds the 10 lines asked for.
  const source = new MemorySource([{ labels: { job: 'train' }, entries: Array.from({ length: 400 }, (_, i) => ({ timestampNs: BigInt(i + 1) * 1_000_000n, line: `step ${i}` })) }], { blockSize: 50 });
  const engine = createEngine(source, { workerThreads: 1 });
  const result = await engine.query({ tenant: 'fake', query: '{job="train"}', startNs: 0n, endNs: 1_000_000_000n, stepMs: 0, intervalMs: 0, limit: 10, direction: 'backward', instant: false });
  assert.equal(result.stats.blocksRead, 1);
  assert.equal(result.resultType, 'streams');
  assert.deepEqual(
    (result.resultType === 'streams' ? result.streams : []).flatMap((stream) => stream.entries.map((entry) => entry.line)),
    Array.from({ length: 10 }, (_, i) => `step ${399 - i}`),
  );
  // Without a limit's cutoff (fewer lines match than asked for) every block is read.
  const rare = await engine.query({ tenant: 'fake', query: '{job="train"} |= "step 1"', startNs: 0n, endNs: 1_000_000_000n, stepMs: 0, intervalMs: 0, limit: 1000, direction: 'backward', instant: false });
  assert.equal(rare.stats.blocksRead, 8);
});
