import { test } from 'node:test';
import assert from 'node:assert/strict';
import { decodePushRequestFast, decodeSnappyPushRequestFast } from '../../src/push/protobuf-decode.ts';
import { encodePushRequest } from '../../src/push/protobuf.ts';
import { RawLineEntry } from '../../src/push/raw-line-entry.ts';
import type { PushStream } from '../../src/push/types.ts';
import { decodeWalRecord, encodeWalRecord } from '../../src/store/wal-record.ts';
import snappy from 'snappy';

const streams: PushStream[] = [
  {
    labels: { job: 'train', rank: '0' },
    entries: [
      { timestampNs: 1_700_000_000_123_456_789n, line: 'step 1 loss 2.5' },
      { timestampNs: 1_700_000_001_000_000_000n, line: '' },
      { timestampNs: 1_700_000_002_000_000_000n, line: 'ünïcødé ✓ and "quotes"', structuredMetadata: [{ name: 'trace_id', value: 't1' }] },
    ],
  },
  { labels: { job: 'train', rank: '1' }, entries: [{ timestampNs: 5n, line: 'x'.repeat(70_000) }] },
];

test('raw-line decoding gives the same entries as string decoding, with lines left as bytes of the body', () => {
  const body = encodePushRequest(streams);
  const asStrings = decodeSnappyPushRequestFast(body);
  const asBytes = decodeSnappyPushRequestFast(body, undefined, true);
  assert.equal(asBytes.length, asStrings.length);
  for (let s = 0; s < asStrings.length; s++) {
    assert.deepEqual(asBytes[s]!.labels, asStrings[s]!.labels);
    assert.equal(asBytes[s]!.entries.length, asStrings[s]!.entries.length);
    for (let e = 0; e < asStrings[s]!.entries.length; e++) {
      const raw = asBytes[s]!.entries[e]!;
      const plain = asStrings[s]!.entries[e]!;
      assert.ok(raw instanceof RawLineEntry);
      assert.equal(raw.timestampNs, plain.timestampNs);
      assert.equal(raw.line, plain.line);
      assert.equal(raw.lineBytes, Buffer.byteLength(plain.line));
      assert.deepEqual(raw.structuredMetadata, plain.structuredMetadata);
    }
  }
});

test('a WAL record of raw-line entries is byte for byte the record of their strings, and spans point at the lines', () => {
  const raw = decodeSnappyPushRequestFast(encodePushRequest(streams), undefined, true);
  const plain = decodeSnappyPushRequestFast(encodePushRequest(streams));
  const rawSpans: { spans?: Uint32Array } = {};
  const fromRaw = encodeWalRecord(3n, 'fake', raw, 8, rawSpans);
  // The first 8 bytes are reserved for the caller's frame header and left unwritten (allocUnsafe).
  assert.deepEqual(fromRaw.subarray(8), encodeWalRecord(3n, 'fake', plain, 8).subarray(8));
  assert.deepEqual(decodeWalRecord(fromRaw.subarray(8)).streams, plain);
  assert.equal(fromRaw.toString('utf8', rawSpans.spans![4]!, rawSpans.spans![5]!), 'ünïcødé ✓ and "quotes"');
});

test('invalid UTF-8 is kept as sent (as Loki stores it) and reads back with U+FFFD', () => {
  // A PushRequest by hand: stream { labels '{a="b"}', entry { timestamp {seconds 1}, line ff 41 } }.
  const labels = Buffer.from('{a="b"}');
  const entry = Buffer.from([0x0a, 0x02, 0x08, 0x01, 0x12, 0x02, 0xff, 0x41]);
  const stream = Buffer.concat([Buffer.from([0x0a, labels.length]), labels, Buffer.from([0x12, entry.length]), entry]);
  const body = Buffer.concat([Buffer.from([0x0a, stream.length]), stream]);
  const [decoded] = decodePushRequestFast(body, undefined, true);
  const line = decoded!.entries[0] as RawLineEntry;
  assert.equal(line.line, '\ufffdA');
  assert.equal(line.lineBytes, 2);
  const spans: { spans?: Uint32Array } = {};
  const frame = encodeWalRecord(1n, 'fake', [decoded!], 0, spans);
  assert.deepEqual([...frame.subarray(spans.spans![0]!, spans.spans![1]!)], [0xff, 0x41]);
  assert.equal(decodeSnappyPushRequestFast(snappy.compressSync(body))[0]!.entries[0]!.line, '\ufffdA');
});
