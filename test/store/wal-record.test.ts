import assert from 'node:assert/strict';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';
import { parseServerConfig } from '../../src/server/config.ts';
import { decodeWalRecord, encodeWalRecord, MAX_WAL_PAIRS, WalRecordError } from '../../src/store/wal-record.ts';
import { openStore } from '../../src/store/store.ts';
import { streamId } from '../../src/store/stream-id.ts';
import type { AppendStream } from '../../src/store/types.ts';
import { Wal } from '../../src/store/wal.ts';
import { makeTempDir, readAll, testOptions } from './store-fixture.ts';

test('WAL record counts read from disk are bounded by the bytes present', () => {
  const record = encodeWalRecord(7n, 'fake', [{ labels: { job: 'a' }, entries: [{ timestampNs: 1n, line: 'x' }] }]);
  assert.equal(decodeWalRecord(record).streams[0]!.entries[0]!.line, 'x');
  // seq (8) + tenant (4 + 4) → stream count at byte 16; the stream: u16 label count, "job" (4 + 3),
  // "a" (4 + 1), then the entry count.
  const streamCountAt = 16;
  const entryCountAt = streamCountAt + 4 + 2 + 7 + 5;
  const cases: Array<[string, number, number, RegExp]> = [
    ['stream count 2^32 - 1', streamCountAt, 0xffffffff, /streams, only/],
    ['entry count 2^32 - 1', entryCountAt, 0xffffffff, /entries, only/],
    ['entry count + 1', entryCountAt, 2, /truncated|entries, only/],
  ];
  for (const [name, at, value, message] of cases) {
    const corrupt = Buffer.from(record);
    corrupt.writeUInt32LE(value, at);
    assert.throws(() => decodeWalRecord(corrupt), (error: Error) => error instanceof WalRecordError && message.test(error.message), name);
  }
});

test('label and metadata counts beyond the u16 fields are refused on append and by the config schema', async () => {
  const labels = Object.fromEntries(Array.from({ length: MAX_WAL_PAIRS + 1 }, (_, i) => [`l${i}`, 'v']));
  assert.throws(() => encodeWalRecord(1n, 'fake', [{ labels, entries: [{ timestampNs: 1n, line: 'x' }] }]), WalRecordError);
  const metadata = Array.from({ length: MAX_WAL_PAIRS + 1 }, (_, i) => ({ name: `m${i}`, value: 'v' }));
  const dir = await makeTempDir('wal-record-limits');
  try {
    const store = await openStore(testOptions(dir.path));
    try {
      await assert.rejects(store.append('fake', [{ labels, entries: [{ timestampNs: 1n, line: 'x' }] }]), /more than 65535 labels/);
      await assert.rejects(store.append('fake', [{ labels: { job: 'a' }, entries: [{ timestampNs: 1n, line: 'x', structuredMetadata: metadata }] }]), /more than 65535 structured metadata/);
    } finally {
      await store.close();
    }
  } finally {
    await dir.remove();
  }
  assert.throws(() => parseServerConfig({ limits: { max_label_names_per_series: 70_000 } }));
  assert.throws(() => parseServerConfig({ limits: { max_structured_metadata_entries_count: 70_000 } }));
});

test('WAL records decode with lines as spans into the payload (how replay reads them)', () => {
  const streams = [
    { labels: { job: 'a' }, entries: [{ timestampNs: 1n, line: 'first' }, { timestampNs: 2n, line: '' }, { timestampNs: 3n, line: 'ünï\nline', structuredMetadata: [{ name: 'k', value: 'v' }] }] },
    { labels: { job: 'b' }, entries: [{ timestampNs: 4n, line: 'other' }] },
  ];
  const payload = encodeWalRecord(9n, 'fake', streams);
  const record = decodeWalRecord(payload, true);
  assert.equal(record.frame, payload);
  let span = 0;
  const lines = record.streams.map((stream) => stream.entries.map(() => record.frame!.toString('utf8', record.lineSpans![span++], record.lineSpans![span++])));
  assert.deepEqual(lines, [['first', '', 'ünï\nline'], ['other']]);
  assert.deepEqual(record.streams[0]!.entries[2]!.structuredMetadata, [{ name: 'k', value: 'v' }]);
  assert.deepEqual(record.streams.map((stream) => stream.entries.map((entry) => [entry.timestampNs, entry.line])), [[[1n, ''], [2n, ''], [3n, '']], [[4n, '']]]);
  assert.deepEqual(decodeWalRecord(payload).streams, streams);
});

test('WAL record versions: version 2 carries each stream id, version 1 (the previous format) still decodes', () => {
  const streams: AppendStream[] = [
    { labels: { job: 'a', rank: '0' }, entries: [{ timestampNs: 1n, line: 'one' }] },
    { labels: { job: 'b' }, entries: [{ timestampNs: 2n, line: 'two' }, { timestampNs: 3n, line: 'three' }] },
  ];
  const ids = streams.map((stream) => streamId('fake', stream.labels));
  // Each case: how the record was written, and what decoding it must give.
  const cases: Array<{ name: string; payload: Buffer; ids: string[] | undefined }> = [
    { name: 'version 1 (no ids, as written before stream ids were added)', payload: encodeWalRecord(41n, 'fake', streams), ids: undefined },
    { name: 'version 2', payload: encodeWalRecord(41n, 'fake', streams, 0, undefined, Buffer.allocUnsafe, ids), ids },
  ];
  for (const { name, payload, ids: expectedIds } of cases) {
    for (const linesAsSpans of [false, true]) {
      const record = decodeWalRecord(payload, linesAsSpans);
      assert.equal(record.seq, 41n, name);
      assert.equal(record.tenant, 'fake', name);
      assert.deepEqual(record.ids, expectedIds, name);
      assert.deepEqual(record.streams.map((stream) => stream.labels), streams.map((stream) => stream.labels), name);
      if (!linesAsSpans) assert.deepEqual(record.streams, streams, name);
      else assert.deepEqual(Array.from({ length: 3 }, (_, e) => payload.toString('utf8', record.lineSpans![e * 2], record.lineSpans![e * 2 + 1])), ['one', 'two', 'three'], name);
    }
  }
  // Version 1's first u64 is the seq as is; version 2 sets bit 63.
  assert.equal(cases[0]!.payload.readBigUInt64LE(0), 41n);
  assert.equal(cases[1]!.payload.readBigUInt64LE(0), 41n | (1n << 63n));
  assert.throws(() => encodeWalRecord(1n, 'fake', streams, 0, undefined, Buffer.allocUnsafe, [ids[0]!]), /1 stream ids for 2 streams/);
  assert.throws(() => encodeWalRecord(1n, 'fake', streams, 0, undefined, Buffer.allocUnsafe, ['xyz', ids[1]!]), /is not 16 bytes of hex/);
  // A version 2 stream count is bounded by the bytes present too (each stream takes an id).
  const corrupt = Buffer.from(cases[1]!.payload);
  corrupt.writeUInt32LE(3, 16);
  assert.throws(() => decodeWalRecord(corrupt), WalRecordError);
});

test('a store replays WAL segments of version 1 records (the previous format) and writes version 2', async () => {
  const dir = await makeTempDir('wal-versions');
  try {
    // A segment as the previous version wrote it: version 1 records, no stream ids.
    const { wal } = await Wal.open({ directory: join(dir.path, 'wal'), fsync: true, minimumNextSeq: 0n, onDurable: () => undefined }, () => undefined);
    await wal.append('fake', [{ labels: { job: 'old', rank: '0' }, entries: [{ timestampNs: 10n, line: 'from v1' }] }]);
    await wal.append('fake', [{ labels: { job: 'old', rank: '0' }, entries: [{ timestampNs: 10n, line: 'from v1' }, { timestampNs: 11n, line: 'next' }] }]);
    await wal.close();
    let store = await openStore(testOptions(dir.path));
    // The retried entry (same timestamp and line) is dropped at replay, as on append.
    assert.deepEqual(await readAll(store, 'fake'), ['10 from v1', '11 next']);
    const [series] = await store.series('fake', [{ name: 'job', type: '=', value: 'old' }], 0n, 1n << 62n);
    assert.equal(series!.id, streamId('fake', { job: 'old', rank: '0' }));
    await store.append('fake', [{ labels: { rank: '0', job: 'old' }, entries: [{ timestampNs: 12n, line: 'from v2' }] }]);
    await store.append('fake', [{ labels: { job: 'new' }, entries: [{ timestampNs: 13n, line: 'new stream' }] }]);
    // Not closed: everything is replayed from the WAL, old and new records alike.
    store = await openStore(testOptions(dir.path));
    assert.deepEqual(await readAll(store, 'fake'), ['10 from v1', '11 next', '12 from v2', '13 new stream']);
    const ids = (await store.series('fake', [], 0n, 1n << 62n)).map((stream) => [stream.labels, stream.id]);
    assert.deepEqual(ids.sort(), [
      [{ job: 'new' }, streamId('fake', { job: 'new' })],
      [{ job: 'old', rank: '0' }, streamId('fake', { job: 'old', rank: '0' })],
    ].sort());
    const segments = (await readdir(join(dir.path, 'wal'))).sort();
    const versions: number[] = [];
    for (const name of segments) {
      const bytes = await readFile(join(dir.path, 'wal', name));
      for (let offset = 0; offset < bytes.length; offset += 8 + bytes.readUInt32LE(offset)) versions.push(bytes.readBigUInt64LE(offset + 8) >= 1n << 63n ? 2 : 1);
    }
    assert.deepEqual(versions, [1, 1, 2, 2]);
    await store.close();
  } finally {
    await dir.remove();
  }
});

test('label strings decode exactly when the previous stream had similar ones (decoded strings are reused by position)', () => {
  // Decoded in this order: each stream's labels must come back exactly, whatever came before.
  const labelSets: Array<Record<string, string>> = [
    { job: 'a', value: 'é' },
    { job: 'a', value: 'ab' },
    { job: 'a', value: 'ab' },
    { job: 'a', value: 'aé' },
    { job: 'a', value: 'a\u00c3' },
    { job: 'ab', value: '' },
    { value: 'ab', job: 'a' },
    { job: 'a', value: '\u{1f600}' },
    { job: 'a', value: 'ab', extra: 'x' },
  ];
  for (const grouping of ['one record', 'a record each']) {
    const records = grouping === 'one record' ? [labelSets] : labelSets.map((labels) => [labels]);
    const decoded = records.flatMap((group) => decodeWalRecord(encodeWalRecord(1n, 'fake', group.map((labels) => ({ labels, entries: [{ timestampNs: 1n, line: 'x' }] })))).streams.map((stream) => stream.labels));
    assert.deepEqual(decoded, labelSets, grouping);
    for (let i = 0; i < decoded.length; i++) assert.deepEqual(Object.keys(decoded[i]!), Object.keys(labelSets[i]!), `${grouping}: label order of stream ${i}`);
  }
});

test('label strings decode exactly across many distinct values per position (shared while few, decoded once a position has many)', () => {
  // Values cycle (shared from the second round on), then a position sees thousands of distinct values
  // (it stops sharing), with look-alikes: same hash bucket candidates, prefixes, non-ASCII, long values.
  const labelSets: Array<Record<string, string>> = [];
  for (let s = 0; s < 3000; s++) {
    labelSets.push({
      namespace: 'training',
      pod: `job-${s >> 3}-worker-${s & 7}`,
      node: s % 3 === 0 ? `node-${s % 50}` : s % 3 === 1 ? `nöde-${s % 50}` : `node-${s % 50}-${'x'.repeat(200)}`,
      rank: String(s % 8),
    });
  }
  const decoded: Array<Record<string, string>> = [];
  for (let first = 0; first < labelSets.length; first += 250) {
    const group = labelSets.slice(first, first + 250).map((labels) => ({ labels, entries: [{ timestampNs: 1n, line: 'x' }] }));
    for (const stream of decodeWalRecord(encodeWalRecord(1n, 'fake', group)).streams) decoded.push(stream.labels);
  }
  assert.deepEqual(decoded, labelSets);
});
