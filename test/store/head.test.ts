import assert from 'node:assert/strict';
import { test } from 'node:test';
import { decodeSnappyPushRequestFast } from '../../src/push/protobuf-decode.ts';
import { encodePushRequest } from '../../src/push/protobuf.ts';
import { rawColumnsOf } from '../../src/push/raw-push-stream.ts';
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

test('head drops exact duplicates (same timestamp and line bytes) and keeps same-timestamp different lines', () => {
  // Each case: batches appended in order, then the lines the head must hold (sorted) and the drops.
  const cases: Array<{ name: string; batches: Array<Array<[bigint, string]>>; lines: string[]; dropped: number[] }> = [
    { name: 'retry of an in-order batch', batches: [[[1n, 'a'], [2n, 'b']], [[1n, 'a'], [2n, 'b']]], lines: ['a', 'b'], dropped: [0, 2] },
    { name: 'same timestamp, other line', batches: [[[1n, 'a']], [[1n, 'a2'], [1n, 'a']]], lines: ['a', 'a2'], dropped: [0, 1] },
    { name: 'duplicate inside one batch, in order', batches: [[[1n, 'a'], [1n, 'a'], [2n, 'b']]], lines: ['a', 'b'], dropped: [1] },
    { name: 'duplicate inside one batch, out of order', batches: [[[5n, 'e'], [1n, 'a'], [5n, 'e'], [1n, 'a'], [3n, 'c']]], lines: ['a', 'c', 'e'], dropped: [2] },
    { name: 'retry into an unsorted head', batches: [[[5n, 'e'], [1n, 'a']], [[9n, 'i']], [[1n, 'a'], [5n, 'e'], [9n, 'i'], [7n, 'g']]], lines: ['a', 'e', 'g', 'i'], dropped: [0, 0, 3] },
    { name: 'multi-byte lines compare as bytes', batches: [[[1n, 'ü€'], [1n, 'ü€x']], [[1n, 'ü€'], [1n, 'ü€x']]], lines: ['ü€', 'ü€x'], dropped: [0, 2] },
    { name: 'a later entry is never a duplicate', batches: [[[1n, 'a']], [[2n, 'a']]], lines: ['a', 'a'], dropped: [0, 0] },
    // A head starts in the shared arena and moves to chunks when a batch does not fit its reservation.
    { name: 'retry while the lines outgrow the arena', batches: [[[1n, 'a']], [[1n, 'a'], [2n, 'x'.repeat(40)]], [[2n, 'x'.repeat(40)], [0n, 'b'.repeat(2000)]]], lines: ['a', 'b'.repeat(2000), 'x'.repeat(40)], dropped: [0, 1, 1] },
    { name: 'a first batch too large for the arena', batches: [[[1n, 'c'.repeat(1500)], [1n, 'c'.repeat(1500)]], [[1n, 'c'.repeat(1500)]]], lines: ['c'.repeat(1500)], dropped: [1, 1] },
  ];
  for (const { name, batches, lines, dropped } of cases) {
    // Entries or a decoded push's columns; lines from them or (the WAL path) from a frame with spans.
    for (const [fromColumns, encoded] of [[false, false], [false, true], [true, false], [true, true]]) {
      const head = new StreamHead('fake', { id: 'x', labels: { job: 'a' } });
      const drops = batches.map((batch, seq) => {
        const entries = batch.map(([timestampNs, line]) => ({ timestampNs, line }));
        const pushed = fromColumns ? rawColumnsOf(decodeSnappyPushRequestFast(encodePushRequest([{ labels: { job: 'a' }, entries }]), undefined, true)[0]!)! : entries;
        if (!encoded) return head.add(pushed, BigInt(seq), 1000);
        const frame = Buffer.from(batch.map(([, line]) => line).join(''), 'utf8');
        const spans = new Uint32Array(batch.length * 2);
        let offset = 0;
        batch.forEach(([, line], i) => {
          spans[i * 2] = offset;
          offset += Buffer.byteLength(line);
          spans[i * 2 + 1] = offset;
        });
        return head.add(pushed, BigInt(seq), 1000, { frame, spans });
      });
      assert.deepEqual(drops, dropped, `${name} (columns ${fromColumns}, encoded ${encoded}): drops`);
      assert.deepEqual(linesOf(head.toBlockData()).sort(), lines, `${name} (columns ${fromColumns}, encoded ${encoded}): lines`);
      assert.equal(head.rawBytes, Buffer.byteLength(lines.join('')), `${name}: raw bytes`);
    }
  }
});

test('a decoded push whose timestamps increase is appended as entries would be (table)', () => {
  // Columns that increase and start after the head's newest entry are appended in one go; the
  // others take the entry loop. Either way the head must hold what the entries give it, with line
  // bytes from the push body, or from a WAL frame where they lie back to back (version 3 records:
  // one copy per run of lines) or apart (versions 1 and 2: a few bytes between lines).
  const cases: Array<{ name: string; batches: Array<Array<[bigint, string]>> }> = [
    { name: 'increasing batches in turn', batches: [[[1n, 'a'], [2n, 'b']], [[3n, 'c'], [4n, 'd']], [[5n, 'e']]] },
    { name: 'one entry, then increasing', batches: [[[1n, 'a']], [[2n, 'b'], [3n, 'c']]] },
    { name: 'increasing, outgrowing the arena', batches: [[[1n, 'a'], [2n, 'b']], [[3n, 'c'], [4n, 'x'.repeat(1500)]], [[5n, 'e'], [6n, 'f']]] },
    { name: 'increasing after an unsorted batch', batches: [[[5n, 'e'], [1n, 'a']], [[9n, 'i'], [10n, 'j']]] },
    { name: 'increasing but overlapping the head', batches: [[[1n, 'a'], [5n, 'e']], [[3n, 'c'], [7n, 'g']]] },
    { name: 'equal timestamps (not increasing)', batches: [[[1n, 'a'], [1n, 'b'], [2n, 'c']], [[3n, 'd'], [3n, 'd']]] },
    { name: 'starting at the newest held timestamp', batches: [[[1n, 'a'], [2n, 'b']], [[2n, 'b2'], [3n, 'c']]] },
    { name: 'many increasing batches growing the arrays', batches: Array.from({ length: 20 }, (_, b) => Array.from({ length: 50 }, (_, i): [bigint, string] => [BigInt(b * 50 + i) * 1_000_000_000n + 7n, `line ${b}/${i} ü`])) },
    { name: 'runs of lines over several chunks', batches: Array.from({ length: 3 }, (_, b) => Array.from({ length: 150 }, (_, i): [bigint, string] => [BigInt(b * 150 + i), `${b}:${i}:`.padEnd(997, 'z')])) },
    { name: 'empty lines', batches: [[[1n, ''], [2n, 'b'], [3n, '']], [[4n, ''], [5n, '']]] },
  ];
  // The frame a WAL record gives the head: the lines with `gap(i)` bytes before line i, and their spans.
  const frameOf = (batch: Array<[bigint, string]>, gap: (i: number) => number): { frame: Buffer; spans: Uint32Array } => {
    const spans = new Uint32Array(batch.length * 2);
    const parts: Buffer[] = [];
    let offset = 0;
    batch.forEach(([, line], i) => {
      parts.push(Buffer.alloc(gap(i), '#'), Buffer.from(line, 'utf8'));
      spans[i * 2] = offset + gap(i);
      offset += gap(i) + Buffer.byteLength(line);
      spans[i * 2 + 1] = offset;
    });
    return { frame: Buffer.concat(parts), spans };
  };
  const sources = ['body', 'frame, lines back to back', 'frame, lines apart', 'frame, every other line apart'] as const;
  for (const { name, batches } of cases) {
    const fromEntries = new StreamHead('fake', { id: 'x', labels: { job: 'a' } });
    const heads = sources.map(() => new StreamHead('fake', { id: 'x', labels: { job: 'a' } }));
    batches.forEach((batch, seq) => {
      const entries = batch.map(([timestampNs, line]) => ({ timestampNs, line }));
      fromEntries.add(entries, BigInt(seq), 1000);
      const columns = () => rawColumnsOf(decodeSnappyPushRequestFast(encodePushRequest([{ labels: { job: 'a' }, entries }]), undefined, true)[0]!)!;
      heads[0]!.add(columns(), BigInt(seq), 1000);
      heads[1]!.add(columns(), BigInt(seq), 1000, frameOf(batch, () => 0));
      heads[2]!.add(columns(), BigInt(seq), 1000, frameOf(batch, () => 14));
      heads[3]!.add(columns(), BigInt(seq), 1000, frameOf(batch, (i) => (i % 2) * 3));
    });
    const want = fromEntries.toBlockData();
    heads.forEach((fromColumns, h) => {
      const got = fromColumns.toBlockData();
      const label = `${name} (${sources[h]})`;
      assert.deepEqual(Array.from(got.timestampsNs), Array.from(want.timestampsNs), `${label}: timestamps`);
      assert.deepEqual(Array.from(got.lineEnds), Array.from(want.lineEnds), `${label}: line ends`);
      assert.deepEqual(linesOf(got), linesOf(want), `${label}: lines`);
      assert.deepEqual(
        [fromColumns.count, fromColumns.rawBytes, fromColumns.sorted, fromColumns.minTimeNs, fromColumns.maxTimeNs, fromColumns.minSeq, fromColumns.maxSeq],
        [fromEntries.count, fromEntries.rawBytes, fromEntries.sorted, fromEntries.minTimeNs, fromEntries.maxTimeNs, fromEntries.minSeq, fromEntries.maxSeq],
        `${label}: fields`,
      );
    });
  }
});

test('sortedOrder merges sorted runs into a stable order', async () => {
  const { sortedOrder } = await import('../../src/store/head.ts');
  const cases: Array<{ name: string; timestamps: bigint[] }> = [
    { name: 'empty', timestamps: [] },
    { name: 'sorted', timestamps: [1n, 2n, 2n, 3n] },
    { name: 'two runs', timestamps: [5n, 6n, 7n, 1n, 6n, 9n] },
    { name: 'three runs with ties across runs', timestamps: [3n, 3n, 1n, 3n, 2n, 3n] },
    { name: 'descending', timestamps: [9n, 8n, 7n, 6n, 5n] },
    { name: 'pseudo-random', timestamps: Array.from({ length: 200 }, (_, i) => BigInt((i * 7919) % 61)) },
  ];
  for (const { name, timestamps } of cases) {
    const expected = timestamps.map((ns, i) => [ns, i] as const).sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : a[1] - b[1])).map(([, i]) => i);
    assert.deepEqual(Array.from(sortedOrder(BigInt64Array.from(timestamps), timestamps.length)), expected, name);
  }
});

test('head frees its replaced arrays while no snapshot holds them, and keeps them once one does', () => {
  const head = new StreamHead('fake', { id: 'x', labels: { job: 'a' } });
  const batch = (from: number, count: number) => Array.from({ length: count }, (_, i) => ({ timestampNs: BigInt(from + i), line: `l${from + i}` }));
  head.add(batch(0, 1000), 0n, 1000);
  // Grown past 1000 entries (8 KB of timestamps): reach the arrays through a snapshot, then grow without one.
  const first = head.toBlockData();
  const sharedMemory = first.timestampsNs.buffer as ArrayBuffer;
  head.add(batch(1000, 2000), 1n, 1000);
  assert.equal(sharedMemory.detached, false, 'a snapshot\'s arrays are left to it');
  assert.equal(first.timestampsNs.length, 1000);
  assert.equal(linesOf(first)[999], 'l999');
  const second = head.toBlockData();
  const secondMemory = second.timestampsNs.buffer as ArrayBuffer;
  assert.equal(second.timestampsNs.length, 3000);
  // The arrays of `second` grow once more; then, unshared, again: that second growth frees its predecessor.
  head.add(batch(3000, 2000), 2n, 1000);
  assert.equal(secondMemory.detached, false);
  const grownMemory = (head as unknown as { timestampsNs: BigInt64Array }).timestampsNs.buffer as ArrayBuffer;
  head.add(batch(5000, 4000), 3n, 1000);
  assert.equal(grownMemory.detached, true, 'arrays no snapshot saw are freed when replaced');
  const all = head.toBlockData();
  assert.equal(all.timestampsNs.length, 9000);
  assert.equal(all.timestampsNs[8999], 8999n);
  assert.equal(linesOf(all)[4321], 'l4321');
  assert.equal(linesOf(second)[2999], 'l2999');
});

test('head release frees the arrays a cut read, not those a query snapshot holds', () => {
  const batch = Array.from({ length: 2000 }, (_, i) => ({ timestampNs: BigInt(i), line: `l${i}` }));
  const cutOnly = new StreamHead('fake', { id: 'x', labels: { job: 'a' } });
  cutOnly.add(batch, 0n, 1000);
  const cut = cutOnly.columnsForCut();
  assert.equal(cut.timestampsNs[1999], 1999n);
  const cutMemory = cut.timestampsNs.buffer as ArrayBuffer;
  cutOnly.release();
  assert.equal(cutMemory.detached, true);

  const queried = new StreamHead('fake', { id: 'y', labels: { job: 'b' } });
  queried.add(batch, 0n, 1000);
  const snapshot = queried.toBlockData();
  queried.columnsForCut();
  queried.release();
  assert.equal(snapshot.timestampsNs[1999], 1999n, 'a query snapshot outlives the cut');
  assert.equal(snapshot.lineEnds.length, 2000);
});

test('a cut reading lines into a reused buffer gets the columns a fresh copy gives (table)', () => {
  // Heads of every shape: one entry, lines in the shared arena, in chunks, out of order (sorted on read).
  const cases: Array<{ name: string; batches: Array<Array<[bigint, string]>> }> = [
    { name: 'one entry', batches: [[[1n, 'only']]] },
    { name: 'arena', batches: [[[1n, 'a'], [2n, 'bb']], [[3n, 'ccc']]] },
    { name: 'chunks', batches: [Array.from({ length: 300 }, (_, i): [bigint, string] => [BigInt(i), `line ${i} `.padEnd(400, 'ü')])] },
    { name: 'out of order', batches: [[[5n, 'e'], [1n, 'a']], [[3n, 'c'], [2n, 'b']]] },
    { name: 'empty lines', batches: [[[1n, ''], [2n, '']]] },
  ];
  for (const { name, batches } of cases) {
    const heads = [0, 1].map(() => new StreamHead('fake', { id: 'x', labels: { job: 'a' } }));
    for (const head of heads) batches.forEach((batch, seq) => head.add(batch.map(([timestampNs, line]) => ({ timestampNs, line })), BigInt(seq), 1000));
    const want = heads[0]!.columnsForCut();
    // Larger than the lines, holding old bytes past them: the columns must end where the lines do.
    const reused = Buffer.alloc(heads[1]!.rawBytes + 100, '#');
    const got = heads[1]!.columnsForCut(reused);
    assert.equal(got.lines.buffer, reused.buffer, `${name}: lines in the reused buffer`);
    assert.deepEqual([Array.from(got.timestampsNs), Array.from(got.lineEnds), got.lines.toString('utf8')], [Array.from(want.timestampsNs), Array.from(want.lineEnds), want.lines.toString('utf8')], name);
    // Too small a buffer is not used.
    if (heads[1]!.rawBytes > 0) {
      const small = Buffer.alloc(heads[1]!.rawBytes - 1);
      const own = heads[1]!.columnsForCut(small).lines;
      assert.deepEqual([own.buffer === small.buffer, own.toString('utf8')], [false, want.lines.toString('utf8')], `${name}: too small a buffer`);
    }
  }
});
