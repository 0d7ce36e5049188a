import assert from 'node:assert/strict';
import { test } from 'node:test';
import { columnsFromEntries, decodeBlock } from '../../src/store/block.ts';
import { BlockEncoderPool } from '../../src/store/block-encoder-pool.ts';
import { mayContain } from '../../src/store/token-filter.ts';
import { DAY_START_NS, linesOf } from './store-fixture.ts';

test('blocks encoded on a worker thread equal those encoded inline, split at the target size', async () => {
  const entries = Array.from({ length: 3000 }, (_, i) => ({
    timestampNs: DAY_START_NS + BigInt(i) * 1_000_000n,
    line: `step=${i} loss=${(2 - i / 3000).toFixed(4)}${i === 1234 ? ' CUDA out of memory' : ''}`,
    ...(i % 1000 === 0 ? { structuredMetadata: [{ name: 'checkpoint', value: String(i) }] } : {}),
  }));
  const columns = columnsFromEntries(entries);
  // A budget of about one block: the stream goes to the worker one block per message.
  const threaded = new BlockEncoderPool(1, 20 * 1024);
  const inline = new BlockEncoderPool(0);
  try {
    const [fromWorker, fromInline] = await Promise.all([threaded.encode(columns, 16 * 1024), inline.encode(columns, 16 * 1024)]);
    assert.ok(fromWorker.length > 3, `expected several blocks, got ${fromWorker.length}`);
    assert.equal(fromWorker.length, fromInline.length);
    const stream = { id: 'x', labels: {} };
    let decodedLines: string[] = [];
    for (let i = 0; i < fromWorker.length; i++) {
      assert.deepEqual(Buffer.from(fromWorker[i]!.bytes), Buffer.from(fromInline[i]!.bytes));
      assert.deepEqual(fromWorker[i]!.filter, fromInline[i]!.filter);
      decodedLines = decodedLines.concat(linesOf(decodeBlock(fromWorker[i]!.bytes, stream)));
    }
    assert.deepEqual(decodedLines, entries.map((entry) => entry.line));
    const withNeedle = fromWorker.filter((block) => mayContain(block.filter, Buffer.from('out of memory'), false));
    assert.equal(withNeedle.length, 1);
    assert.equal(fromWorker.reduce((sum, block) => sum + block.entryCount, 0), 3000);
    // The columns were copied for the worker, never moved: the caller's (a head's) stay intact.
    assert.deepEqual(linesOf({ stream, ...columns }), entries.map((entry) => entry.line));
  } finally {
    await threaded.close();
    await inline.close();
  }
});

test('an idle encoder thread is stopped, and the next encode starts a fresh one', async () => {
  const entries = Array.from({ length: 500 }, (_, i) => ({ timestampNs: DAY_START_NS + BigInt(i), line: `line ${i} ${'x'.repeat(i % 50)}` }));
  const columns = columnsFromEntries(entries);
  const pool = new BlockEncoderPool(1, 1024 * 1024, 50);
  const inline = new BlockEncoderPool(0);
  try {
    const expected = (await inline.encode(columns, 16 * 1024)).map((block) => Buffer.from(block.bytes));
    assert.deepEqual((await pool.encode(columns, 16 * 1024)).map((block) => Buffer.from(block.bytes)), expected);
    assert.equal(pool.threads, 1);
    // Bounded wait for the idle stop (50 ms): poll, don't sleep for the interval.
    for (let i = 0; i < 400 && pool.threads > 0; i++) await new Promise((resolve) => setTimeout(resolve, 25));
    assert.equal(pool.threads, 0, 'the idle thread was stopped');
    assert.deepEqual((await pool.encode(columns, 16 * 1024)).map((block) => Buffer.from(block.bytes)), expected);
    assert.equal(pool.threads, 1);
  } finally {
    await pool.close();
    await inline.close();
  }
});

test('a worker that dies under its tasks loses none: they are encoded inline, and after repeated deaths the pool stops starting workers', async () => {
  const entries = Array.from({ length: 2000 }, (_, i) => ({ timestampNs: DAY_START_NS + BigInt(i), line: `step=${i} loss=${(1 / (i + 1)).toFixed(6)}` }));
  const columns = columnsFromEntries(entries);
  const dying = new BlockEncoderPool(1, 8 * 1024, 30_000, new URL('./fixtures/dying-encoder-worker.ts', import.meta.url));
  const inline = new BlockEncoderPool(0);
  try {
    const expected = (await inline.encode(columns, 4 * 1024)).map((block) => Buffer.from(block.bytes));
    assert.ok(expected.length > 3);
    for (let round = 0; round < 4; round++) {
      const blocks = await dying.encode(columns, 4 * 1024);
      assert.deepEqual(blocks.map((block) => Buffer.from(block.bytes)), expected, `round ${round}: every block encoded despite the dead worker`);
    }
    assert.equal(dying.threads, 0, 'no worker is started again after three deaths in a row');
  } finally {
    await dying.close();
    await inline.close();
  }
});
