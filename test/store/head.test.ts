import assert from 'node:assert/strict';
import { test } from 'node:test';
import { StreamHead } from '../../src/store/head.ts';
import { linesOf } from './store-fixture.ts';

test('head sorts out-of-order entries stably, keeps metadata aligned, and snapshots stay valid', () => {
  const head = new StreamHead('fake', { id: 'x', labels: { job: 'a' } });
  head.add(
    [
      { timestampNs: 30n, line: 'c' },
      { timestampNs: 10n, line: 'a1', structuredMetadata: [{ name: 'k', value: 'first' }] },
      { timestampNs: 20n, line: 'b' },
      { timestampNs: 10n, line: 'a2' },
    ],
    0n,
    1000,
  );
  assert.equal(head.sorted, false);
  const snapshot = head.toBlockData();
  assert.deepEqual(Array.from(snapshot.timestampsNs), [10n, 10n, 20n, 30n]);
  assert.deepEqual(linesOf(snapshot), ['a1', 'a2', 'b', 'c']);
  assert.deepEqual(snapshot.structuredMetadata, [[{ name: 'k', value: 'first' }], undefined, undefined, undefined]);
  // Growth past the initial capacities, and another out-of-order entry, must not disturb it.
  const many = Array.from({ length: 500 }, (_, i) => ({ timestampNs: 100n + BigInt(i), line: 'ü'.repeat(20) + i }));
  head.add(many, 1n, 2000);
  head.add([{ timestampNs: 5n, line: 'earliest' }], 2n, 3000);
  assert.deepEqual(linesOf(snapshot), ['a1', 'a2', 'b', 'c']);
  const after = head.toBlockData();
  assert.equal(after.timestampsNs.length, 505);
  assert.equal(linesOf(after)[0], 'earliest');
  assert.equal(linesOf(after)[504], 'ü'.repeat(20) + '499');
  assert.equal(after.structuredMetadata![1]![0]!.value, 'first');
  assert.equal(head.minSeq, 0n);
  assert.equal(head.maxSeq, 2n);
  assert.equal(head.minTimeNs, 5n);
  assert.equal(head.maxTimeNs, 599n);
  assert.equal(head.rawBytes, after.lines.length);
});
