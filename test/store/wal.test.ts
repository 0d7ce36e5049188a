import assert from 'node:assert/strict';
import { appendFile, readdir, readFile, truncate, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';
import { Wal, type DurableRecord } from '../../src/store/wal.ts';
import type { WalRecord } from '../../src/store/wal-record.ts';
import { makeTempDir } from './store-fixture.ts';

async function openWal(directory: string, durable: DurableRecord[] = [], fsyncs: number[] = []) {
  const replayed: WalRecord[] = [];
  const { wal, replayed: result } = await Wal.open(
    { directory, fsync: true, minimumNextSeq: 0n, onDurable: (record) => durable.push(record), onFsync: (seconds) => fsyncs.push(seconds) },
    (record) => replayed.push(record),
  );
  return { wal, replayed, result };
}

test('WAL replays every record in order after reopen, with labels, lines and metadata intact', async () => {
  const dir = await makeTempDir('wal-replay');
  try {
    const { wal } = await openWal(dir.path);
    await wal.append('tenant-a', [{ labels: { job: 'train', rank: '0' }, entries: [{ timestampNs: 5n, line: 'first\nwith newline' }] }]);
    await wal.append('tenant-b', [
      { labels: { job: 'eval' }, entries: [{ timestampNs: 7n, line: 'ünï', structuredMetadata: [{ name: 'trace', value: 'x' }] }, { timestampNs: 6n, line: '' }] },
    ]);
    await wal.close();
    const { wal: again, replayed } = await openWal(dir.path);
    assert.deepEqual(
      replayed.map((record) => [record.seq, record.tenant, record.streams]),
      [
        [0n, 'tenant-a', [{ labels: { job: 'train', rank: '0' }, entries: [{ timestampNs: 5n, line: 'first\nwith newline' }] }]],
        [1n, 'tenant-b', [{ labels: { job: 'eval' }, entries: [{ timestampNs: 7n, line: 'ünï', structuredMetadata: [{ name: 'trace', value: 'x' }] }, { timestampNs: 6n, line: '' }] }]],
      ],
    );
    assert.equal(again.peekNextSeq(), 2n, 'sequence numbers continue after replay');
    await again.close();
  } finally {
    await dir.remove();
  }
});

test('WAL group commit: concurrent appends share fsyncs and resolve only after they are durable', async () => {
  const dir = await makeTempDir('wal-group');
  try {
    const durable: DurableRecord[] = [];
    const fsyncs: number[] = [];
    const { wal } = await openWal(dir.path, durable, fsyncs);
    const appends = Array.from({ length: 200 }, (_, i) =>
      wal.append('t', [{ labels: { job: 'x' }, entries: [{ timestampNs: BigInt(i), line: `line ${i}` }] }]).then(() => {
        // By the time an append resolves, its record was handed over as durable.
        assert.ok(durable.some((record) => record.seq === BigInt(i)));
        return i;
      }),
    );
    assert.equal(durable.length, 0, 'nothing is durable synchronously');
    await Promise.all(appends);
    assert.equal(durable.length, 200);
    assert.deepEqual(durable.map((record) => record.seq), Array.from({ length: 200 }, (_, i) => BigInt(i)), 'durable in seq order');
    assert.ok(fsyncs.length < 200 / 4, `200 concurrent appends took ${fsyncs.length} fsyncs`);
    await wal.close();
  } finally {
    await dir.remove();
  }
});

test('WAL stops replay at a torn or corrupt tail and keeps every record before it', async () => {
  const dir = await makeTempDir('wal-torn');
  try {
    const { wal } = await openWal(dir.path);
    for (let i = 0; i < 5; i++) await wal.append('t', [{ labels: { job: 'x' }, entries: [{ timestampNs: BigInt(i), line: `line ${i}` }] }]);
    await wal.close();
    const [segment] = (await readdir(dir.path)).filter((name) => name.endsWith('.wal')).sort();
    const path = join(dir.path, segment!);
    const size = (await readFile(path)).length;
    await truncate(path, size - 3); // a crash mid-write of the last frame
    let reopened = await openWal(dir.path);
    assert.equal(reopened.replayed.length, 4);
    assert.equal(reopened.result.corruptTails.length, 1);
    await reopened.wal.close();
    // Flip a payload byte in the second frame: replay of that segment stops after the first.
    const bytes = await readFile(path);
    const firstFrameLength = 8 + bytes.readUInt32LE(0);
    bytes[firstFrameLength + 20] ^= 0xff;
    await writeFile(path, bytes);
    reopened = await openWal(dir.path);
    assert.equal(reopened.replayed.length, 1);
    assert.match(reopened.result.corruptTails[0]!, /checksum mismatch/);
    await reopened.wal.close();
  } finally {
    await dir.remove();
  }
});

test('WAL rotate + truncateBefore deletes only whole segments below the kept sequence number', async () => {
  const dir = await makeTempDir('wal-truncate');
  try {
    const { wal } = await openWal(dir.path);
    await wal.append('t', [{ labels: { job: 'x' }, entries: [{ timestampNs: 1n, line: 'a' }] }]); // seq 0
    await wal.rotate();
    await wal.append('t', [{ labels: { job: 'x' }, entries: [{ timestampNs: 2n, line: 'b' }] }]); // seq 1
    await wal.rotate();
    await wal.append('t', [{ labels: { job: 'x' }, entries: [{ timestampNs: 3n, line: 'c' }] }]); // seq 2
    assert.equal(wal.segmentCount(), 3);
    assert.equal(await wal.truncateBefore(1n), 1, 'segment holding seq 0 goes');
    assert.equal(await wal.truncateBefore(1n), 0, 'seq 1 is still needed');
    assert.equal(await wal.truncateBefore(100n), 1, 'the active segment always stays');
    await wal.close();
    const { wal: again, replayed } = await openWal(dir.path);
    assert.deepEqual(replayed.map((record) => record.seq), [2n]);
    assert.equal(again.peekNextSeq(), 3n);
    await again.close();
  } finally {
    await dir.remove();
  }
});

test('WAL keeps sequence numbers increasing even when every segment was truncated', async () => {
  const dir = await makeTempDir('wal-seq');
  try {
    const { wal } = await openWal(dir.path);
    for (let i = 0; i < 3; i++) await wal.append('t', [{ labels: { job: 'x' }, entries: [{ timestampNs: 1n, line: 'a' }] }]);
    await wal.rotate();
    await wal.truncateBefore(wal.peekNextSeq());
    await wal.close();
    const { wal: again, replayed } = await openWal(dir.path);
    assert.equal(replayed.length, 0);
    assert.equal(again.peekNextSeq(), 3n, 'the empty active segment carries the next sequence number');
    await again.close();
    await appendFile(join(dir.path, 'not-a-segment.txt'), 'ignored');
  } finally {
    await dir.remove();
  }
});

test('WAL rotation of an empty segment, and rotation amid a stream of appends, both complete', async () => {
  const dir = await makeTempDir('wal-rotate');
  try {
    const { wal } = await openWal(dir.path);
    await wal.rotate(); // nothing written yet: no new segment, and idle()/close() must not hang
    assert.equal(wal.segmentCount(), 1);
    // Keep appending while a rotation is requested: it is served between group commits.
    let stop = false;
    const writer = (async () => {
      for (let i = 0; i < 2000 && !stop; i++) await wal.append('t', [{ labels: { job: 'x' }, entries: [{ timestampNs: BigInt(i), line: 'busy' }] }]);
    })();
    await wal.append('t', [{ labels: { job: 'x' }, entries: [{ timestampNs: 0n, line: 'first' }] }]);
    await wal.rotate();
    stop = true;
    await writer;
    assert.equal(wal.segmentCount(), 2);
    await wal.close();
  } finally {
    await dir.remove();
  }
});

test('WAL records with multi-byte text far beyond the ASCII size estimate round-trip', async () => {
  const dir = await makeTempDir('wal-utf8');
  try {
    const { wal } = await openWal(dir.path);
    const entries = Array.from({ length: 50 }, (_, i) => ({ timestampNs: BigInt(i), line: '日本語🙂'.repeat(500 + i) }));
    await wal.append('テナント', [{ labels: { job: 'ジョブ', rank: '0' }, entries }]);
    await wal.close();
    const { wal: again, replayed } = await openWal(dir.path);
    assert.equal(replayed.length, 1);
    assert.equal(replayed[0]!.tenant, 'テナント');
    assert.deepEqual(replayed[0]!.streams, [{ labels: { job: 'ジョブ', rank: '0' }, entries }]);
    await again.close();
  } finally {
    await dir.remove();
  }
});

test('WAL frames past the frame pool are freed once durable; frames reused from the pool never mix records', async () => {
  const dir = await makeTempDir('wal-frames');
  try {
    const frames: Array<{ memory: ArrayBufferLike; spans: ArrayBufferLike | undefined; lines: string[] }> = [];
    const { wal } = await Wal.open(
      {
        directory: dir.path,
        fsync: true,
        minimumNextSeq: 0n,
        // Room for one ~300 KB frame: of two concurrent appends, one frame is pooled and the other freed.
        framePoolBytes: 400 * 1024,
        onDurable: (record) => {
          // What the store's head does: copy the lines out of the frame, synchronously.
          const lines: string[] = [];
          for (let i = 0; i < record.lineSpans!.length; i += 2) lines.push(record.frame!.toString('utf8', record.lineSpans![i], record.lineSpans![i + 1]));
          frames.push({ memory: record.frame!.buffer, spans: record.lineSpans!.buffer, lines });
        },
      },
      () => undefined,
    );
    const batch = (round: number, writer: number) => [{ labels: { job: 'x' }, entries: Array.from({ length: 2000 }, (_, i) => ({ timestampNs: BigInt(i), line: `round ${round} writer ${writer} line ${i} ${'x'.repeat(100)}` })) }];
    for (let round = 0; round < 3; round++) await Promise.all([wal.append('t', batch(round, 0)), wal.append('t', batch(round, 1))]);
    assert.equal(frames.length, 6);
    // Each record's lines were its own when it was handed over.
    for (let f = 0; f < frames.length; f++) {
      const [round, writer] = [Math.floor(f / 2), f % 2];
      assert.equal(frames[f]!.lines.length, 2000);
      assert.equal(frames[f]!.lines[1999], `round ${round} writer ${writer} line 1999 ${'x'.repeat(100)}`);
    }
    // Per group of two: one frame went back to the pool (reused by the next round), the other was freed,
    // and so was every record's span array.
    const detached = frames.filter((frame) => (frame.memory as ArrayBuffer).detached).length;
    assert.ok(detached >= 2, `${detached} of 6 frames freed`);
    assert.ok(frames.every((frame) => (frame.spans as ArrayBuffer).detached));
    await wal.close();
    const replayed: WalRecord[] = [];
    await (await Wal.open({ directory: dir.path, fsync: true, minimumNextSeq: 0n, onDurable: () => undefined }, (record) => replayed.push(record))).wal.close();
    assert.deepEqual(
      replayed.map((record) => record.streams[0]!.entries[7]!.line),
      [0, 0, 1, 1, 2, 2].map((round, f) => `round ${round} writer ${f % 2} line 7 ${'x'.repeat(100)}`),
    );
  } finally {
    await dir.remove();
  }
});
