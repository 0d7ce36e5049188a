import assert from 'node:assert/strict';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';
import { parseServerConfig } from '../../src/server/config.ts';
import { decodeWalRecord, encodePushBodyRecordStart, encodeWalRecord, MAX_WAL_PAIRS, WalRecordError } from '../../src/store/wal-record.ts';
import { encodePushRequest } from '../../src/push/protobuf.ts';
import type { PushStream } from '../../src/push/types.ts';
import { openStore } from '../../src/store/store.ts';
import { streamId } from '../../src/store/stream-id.ts';
import { RawLineEntry } from '../../src/push/raw-line-entry.ts';
import { RawPushStream } from '../../src/push/raw-push-stream.ts';
import type { AppendStream, LabelPair } from '../../src/store/types.ts';
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

/**
 * A version 2 record as the previous version wrote it (seq 41, tenant "fake"): {job="a",rank="0"}
 * with (1, "one"), {job="b"} with (2, "two") and (3, "three", metadata k=v), each with its stream id.
 */
const VERSION_2_RECORD_HEX =
  '29000000000000800400000066616b6502000000189305ea2e90855aace203b9ff00ef850200030000006a6f6201000000610400000072616e6b01000000300100000001000000000000' +
  '00030000006f6e650000c3578cb4af13ca22df4316e4a65665b50100030000006a6f6201000000620200000002000000000000000300000074776f000003000000000000000500000074687265650100010000006b0100000076';

test('WAL record versions: version 3 writes entries as columns with stream ids, versions 2 and 1 (the previous formats) still decode', () => {
  const streams: AppendStream[] = [
    { labels: { job: 'a', rank: '0' }, entries: [{ timestampNs: 1n, line: 'one' }] },
    { labels: { job: 'b' }, entries: [{ timestampNs: 2n, line: 'two' }, { timestampNs: 3n, line: 'three', structuredMetadata: [{ name: 'k', value: 'v' }] }] },
  ];
  const ids = streams.map((stream) => streamId('fake', stream.labels));
  // Each case: how the record was written, and what decoding it must give.
  const cases: Array<{ name: string; payload: Buffer; ids: string[] | undefined }> = [
    { name: 'version 1 (no ids, as written before stream ids were added)', payload: encodeWalRecord(41n, 'fake', streams), ids: undefined },
    { name: 'version 2 (as written before entries were columns)', payload: Buffer.from(VERSION_2_RECORD_HEX, 'hex'), ids },
    { name: 'version 3', payload: encodeWalRecord(41n, 'fake', streams, 0, undefined, Buffer.allocUnsafe, ids), ids },
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
  // Version 1's first u64 is the seq as is; version 2 sets bit 63, version 3 bits 63 and 62.
  assert.equal(cases[0]!.payload.readBigUInt64LE(0), 41n);
  assert.equal(cases[1]!.payload.readBigUInt64LE(0), 41n | (1n << 63n));
  assert.equal(cases[2]!.payload.readBigUInt64LE(0), 41n | (1n << 63n) | (1n << 62n));
  assert.throws(() => encodeWalRecord(1n, 'fake', streams, 0, undefined, Buffer.allocUnsafe, [ids[0]!]), /1 stream ids for 2 streams/);
  assert.throws(() => encodeWalRecord(1n, 'fake', streams, 0, undefined, Buffer.allocUnsafe, ['xyz', ids[1]!]), /is not 16 bytes of hex/);
  // Stream counts of versions 2 and 3 are bounded by the bytes present too (each stream takes an id).
  for (const payload of [cases[1]!.payload, cases[2]!.payload]) {
    const corrupt = Buffer.from(payload);
    corrupt.writeUInt32LE(3, 16);
    assert.throws(() => decodeWalRecord(corrupt), WalRecordError);
  }
});

test('version 3 records: what columns hold decodes exactly, and every cut-off or inflated count is refused', () => {
  const entries = [
    { timestampNs: 5n, line: '' },
    { timestampNs: -7n, line: 'ünïcode\nand a newline' },
    { timestampNs: (1n << 62n) + 3n, line: 'x'.repeat(70_000), structuredMetadata: [{ name: 'trace_id', value: 'abc' }, { name: 'empty', value: '' }] },
    { timestampNs: 9n, line: 'no metadata after one with' },
  ];
  // Table: streams as written (strings, bytes of a body, columns of a decoded push) → read back.
  const body = Buffer.from('..one..two....three');
  // 200 lines of 1000 bytes, 3 bytes of framing before each (as a protobuf body has).
  const longLines = Array.from({ length: 200 }, (_, i) => `${i}:`.padEnd(1000, String.fromCharCode(97 + (i % 26))));
  const longBody = Buffer.from(longLines.map((line) => `##${String.fromCharCode(65 + (line.length % 26))}${line}`).join(''));
  const cases: Array<{ name: string; streams: AppendStream[]; expected: Array<Array<[bigint, string, unknown]>> }> = [
    { name: 'string lines, some metadata', streams: [{ labels: { job: 'a' }, entries }], expected: [entries.map((e) => [e.timestampNs, e.line, e.structuredMetadata])] },
    { name: 'no entries', streams: [{ labels: { job: 'a' }, entries: [] }, { labels: { job: 'b' }, entries: [{ timestampNs: 1n, line: 'b' }] }], expected: [[], [[1n, 'b', undefined]]] },
    {
      name: 'lines as bytes of a request body',
      streams: [{ labels: { job: 'a' }, entries: [new RawLineEntry(1n, body, 2, 5), new RawLineEntry(2n, body, 7, 10), new RawLineEntry(3n, body, 14, 19)] }],
      expected: [[[1n, 'one', undefined], [2n, 'two', undefined], [3n, 'three', undefined]]],
    },
    {
      name: 'columns of a decoded push',
      streams: [rawStream({ job: 'a' }, body, [[11n, 2, 5], [12n, 7, 10], [13n, 14, 19]], [undefined, [{ name: 'k', value: 'v' }], undefined])],
      expected: [[[11n, 'one', undefined], [12n, 'two', [{ name: 'k', value: 'v' }]], [13n, 'three', undefined]]],
    },
    {
      name: 'lines as bytes of two bodies and as strings, some going backwards',
      streams: [
        {
          labels: { job: 'a' },
          entries: [
            new RawLineEntry(1n, body, 2, 5),
            new RawLineEntry(2n, body, 14, 19),
            { timestampNs: 3n, line: 'a string' },
            new RawLineEntry(4n, body, 7, 10),
            new RawLineEntry(5n, longBody, 3, 1003),
            new RawLineEntry(6n, longBody, 1006, 2006),
            new RawLineEntry(7n, body, 2, 5),
            ...longLines.map((_, i) => new RawLineEntry(BigInt(8 + i), longBody, i * 1003 + 3, i * 1003 + 1003)),
          ],
        },
      ],
      expected: [[[1n, 'one', undefined], [2n, 'three', undefined], [3n, 'a string', undefined], [4n, 'two', undefined], [5n, longLines[0]!, undefined], [6n, longLines[1]!, undefined], [7n, 'one', undefined], ...longLines.map((line, i): [bigint, string, unknown] => [BigInt(8 + i), line, undefined])]],
    },
    {
      // Not how the decoder lays them out, but columns allow it: each line must still come out whole.
      name: 'columns whose lines go backwards and overlap in the body',
      streams: [rawStream({ job: 'a' }, body, [[11n, 14, 19], [12n, 2, 5], [13n, 2, 10], [14n, 7, 10], [15n, 8, 8]], [])],
      expected: [[[11n, 'three', undefined], [12n, 'one', undefined], [13n, 'one..two', undefined], [14n, 'two', undefined], [15n, '', undefined]]],
    },
    {
      name: 'columns over more than one run of body (64 KB)',
      streams: [rawStream({ job: 'a' }, longBody, longLines.map((_, i): [bigint, number, number] => [BigInt(i), i * 1003 + 3, i * 1003 + 1003]), [])],
      expected: [longLines.map((line, i): [bigint, string, unknown] => [BigInt(i), line, undefined])],
    },
  ];
  for (const { name, streams, expected } of cases) {
    const ids = streams.map((stream) => streamId('fake', stream.labels));
    const lineSpans: { spans?: Uint32Array } = {};
    const payload = encodeWalRecord(3n, 'fake', streams, 8, lineSpans, Buffer.allocUnsafe, ids).subarray(8);
    const read = (record: ReturnType<typeof decodeWalRecord>) => record.streams.map((stream) => stream.entries.map((entry) => [entry.timestampNs, entry.line, entry.structuredMetadata]));
    assert.deepEqual(read(decodeWalRecord(payload)), expected, name);
    const spanned = decodeWalRecord(payload, true);
    let span = 0;
    const lines = spanned.streams.map((stream) => stream.entries.map(() => payload.toString('utf8', spanned.lineSpans![span++], spanned.lineSpans![span++])));
    assert.deepEqual(lines, expected.map((stream) => stream.map(([, line]) => line)), name);
    // The spans the encoder reports point at the same bytes (in the frame, 8 bytes of headroom on).
    assert.deepEqual(Array.from(lineSpans.spans!, (offset) => offset - 8), Array.from(spanned.lineSpans!.subarray(0, span)), name);
  }
  // Every cut short record fails with a WalRecordError, never a wrong record or a RangeError.
  const payload = encodeWalRecord(3n, 'fake', cases[0]!.streams, 0, undefined, Buffer.allocUnsafe, [streamId('fake', { job: 'a' })]);
  for (let length = 0; length < payload.length; length += length < 200 ? 1 : 997) {
    assert.throws(() => decodeWalRecord(payload.subarray(0, length)), WalRecordError, `cut at ${length}`);
  }
  // The entry count: seq (8), tenant (4 + 4), stream count (4), id (16), label count (2), "job" (4 + 3), "a" (4 + 1).
  const entryCountAt = 8 + 8 + 4 + 16 + 2 + 7 + 5;
  for (const [count, message] of [[0xffffffff, /entries, only/], [5, /truncated/]] as const) {
    const corrupt = Buffer.from(payload);
    corrupt.writeUInt32LE(count, entryCountAt);
    assert.throws(() => decodeWalRecord(corrupt), (error: Error) => error instanceof WalRecordError && message.test(error.message), `entry count ${count}`);
  }
  const flags = Buffer.from(payload);
  flags[entryCountAt + 4] = 0x80;
  assert.throws(() => decodeWalRecord(flags), /unknown column flags 128/);
});

/** A decoded push stream's columns over `body`: [timestamp, line start, line end] per entry. */
function rawStream(labels: Record<string, string>, body: Buffer, rows: Array<[bigint, number, number]>, metadata: Array<LabelPair[] | undefined>): AppendStream {
  const timestampsNs = BigInt64Array.from(rows.map(([timestampNs]) => timestampNs));
  return new RawPushStream(labels, {
    count: rows.length,
    timestampsNs,
    timestampWords: new Uint32Array(timestampsNs.buffer),
    source: body,
    lineStarts: Uint32Array.from(rows.map(([, start]) => start)),
    lineEnds: Uint32Array.from(rows.map(([, , end]) => end)),
    structuredMetadata: metadata,
    lineBytes: rows.reduce((sum, [, start, end]) => sum + end - start, 0),
    maxLineBytes: Math.max(...rows.map(([, start, end]) => end - start)),
    minTimestampNs: rows[0]![0],
    maxTimestampNs: rows.at(-1)![0],
    increasing: true,
  });
}

test('a store replays WAL segments of version 1 records (the previous format) and writes version 3', async () => {
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
      for (let offset = 0; offset < bytes.length; offset += 8 + bytes.readUInt32LE(offset)) versions.push(Number(bytes.readBigUInt64LE(offset + 8) >> 62n) === 3 ? 3 : bytes.readBigUInt64LE(offset + 8) >= 1n << 63n ? 2 : 1);
    }
    assert.deepEqual(versions, [1, 1, 3, 3]);
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

test('version 4 records: the push body as it came decodes to its streams, with the ids written before it', () => {
  const streams: PushStream[] = [
    { labels: { job: 'a', rank: '0' }, entries: [{ timestampNs: 1n, line: 'one' }, { timestampNs: 2n, line: 'ünï', structuredMetadata: [{ name: 'k', value: 'v' }] }] },
    { labels: { job: 'b' }, entries: [{ timestampNs: 3n, line: 'three' }] },
  ];
  const body = encodePushRequest(streams);
  const ids = streams.map((stream) => streamId('fake', stream.labels));
  const start = encodePushBodyRecordStart(12n, 'fake', ids, 8);
  assert.equal(start.readBigUInt64LE(8), 12n | (7n << 61n));
  const record = decodeWalRecord(Buffer.concat([start.subarray(8), body]));
  assert.equal(record.seq, 12n);
  assert.equal(record.tenant, 'fake');
  assert.deepEqual(record.ids, ids);
  assert.deepEqual(
    record.streams.map((stream) => ({ labels: stream.labels, entries: stream.entries.map((entry) => ({ timestampNs: entry.timestampNs, line: entry.line, ...(entry.structuredMetadata ? { structuredMetadata: entry.structuredMetadata } : {}) })) })),
    streams,
  );
  // A body that does not decode, or to another number of streams, is a corrupt record.
  const cases: Array<[string, Buffer, RegExp]> = [
    ['not snappy', Buffer.concat([start.subarray(8), Buffer.from('garbage')]), /push body does not decode/],
    ['one stream short', Buffer.concat([start.subarray(8), encodePushRequest(streams.slice(0, 1))]), /holds 1 streams, the record says 2/],
    ['ids cut off', start.subarray(8, start.length - 4), /streams, only/],
  ];
  for (const [name, payload, message] of cases) assert.throws(() => decodeWalRecord(payload), (error: Error) => error instanceof WalRecordError && message.test(error.message), name);
});
