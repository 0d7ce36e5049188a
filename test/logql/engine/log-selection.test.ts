// timestampAfter reads an entry's time relative to a window base from the block's 32-bit words; it
// must give exactly what Number(timestamp - base) gives, across word boundaries, negative times and
// gaps past 2^53 ns where the conversion rounds.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { splitNs, timestampAfter } from '../../../src/logql/engine/log-selection.ts';

test('timestampAfter equals Number(timestamp - base)', () => {
  const timestamps = [0n, 1n, 4294967295n, 4294967296n, 1_767_600_000_123_456_789n, -1n, -4294967297n, 9_223_372_036_854_775_807n, -9_223_372_036_854_775_808n, 1_767_600_000_000_000_000n + 2n ** 53n + 1n];
  const bases = [0n, 1n, 4294967296n, 1_767_599_999_000_000_000n, 1_767_600_000_123_456_790n, -5n, -9_223_372_036_854_775_808n, 9_223_372_036_854_775_807n];
  const column = BigInt64Array.from(timestamps);
  const words = new Uint32Array(column.buffer);
  for (const base of bases) {
    const split = splitNs(base);
    for (let i = 0; i < timestamps.length; i++) {
      assert.equal(timestampAfter(words, i, split), Number(timestamps[i]! - base), `${timestamps[i]} - ${base}`);
    }
  }
});
