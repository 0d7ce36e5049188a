import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseServerConfig } from '../../src/server/config.ts';
import { decodeWalRecord, encodeWalRecord, MAX_WAL_PAIRS, WalRecordError } from '../../src/store/wal-record.ts';
import { openStore } from '../../src/store/store.ts';
import { makeTempDir, testOptions } from './store-fixture.ts';

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
  const lines = record.streams.map((stream, s) => stream.entries.map((_, e) => record.frame!.toString('utf8', record.lineSpans![s]![e * 2], record.lineSpans![s]![e * 2 + 1])));
  assert.deepEqual(lines, [['first', '', 'ünï\nline'], ['other']]);
  assert.deepEqual(record.streams[0]!.entries[2]!.structuredMetadata, [{ name: 'k', value: 'v' }]);
  assert.deepEqual(record.streams.map((stream) => stream.entries.map((entry) => [entry.timestampNs, entry.line])), [[[1n, ''], [2n, ''], [3n, '']], [[4n, '']]]);
  assert.deepEqual(decodeWalRecord(payload).streams, streams);
});
