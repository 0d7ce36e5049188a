import { test } from 'node:test';
import assert from 'node:assert/strict';
import { validatePush, type ValidationLimits } from '../../src/ingest/validate.ts';
import { decodeSnappyPushRequestFast } from '../../src/push/protobuf-decode.ts';
import { encodePushRequest } from '../../src/push/protobuf.ts';
import { rawColumnsOf, RawPushStream } from '../../src/push/raw-push-stream.ts';
import type { PushStream } from '../../src/push/types.ts';
import { decodeWalRecord, encodeWalRecord } from '../../src/store/wal-record.ts';
import { TIGHT_LIMITS } from '../ingest/validation-limits-fixture.ts';

const NS = 1_000_000_000n;

/** Timestamps at the edges of the columns' word arithmetic (2^16 seconds, 2^32 words, 2262). */
const edgeTimestampsNs = [
  0n,
  1n,
  999_999_999n,
  65_535n * NS + 999_999_999n,
  65_536n * NS,
  4n * NS + 294_967_295n,
  4n * NS + 294_967_296n,
  1_700_000_000n * NS + 123_456_789n,
  2n ** 63n - 1n,
];

test('columns hold each entry exactly as the string decode does, with their summaries', () => {
  const streams: PushStream[] = [
    {
      labels: { job: 'train', rank: '0' },
      entries: edgeTimestampsNs.map((timestampNs, i) => ({
        timestampNs,
        line: i % 3 === 0 ? '' : `line ${i} ünïcødé ${'x'.repeat(i * 7)}`,
        ...(i === 4 ? { structuredMetadata: [{ name: 'trace_id', value: 't4' }] } : {}),
      })),
    },
    { labels: { job: 'train', rank: '1' }, entries: [] },
  ];
  const body = encodePushRequest(streams);
  const plain = decodeSnappyPushRequestFast(body);
  const raw = decodeSnappyPushRequestFast(body, undefined, true);
  const columns = rawColumnsOf(raw[0]!)!;
  assert.ok(raw[0] instanceof RawPushStream);
  assert.equal(columns.count, edgeTimestampsNs.length);
  assert.deepEqual([...columns.timestampsNs.subarray(0, columns.count)], edgeTimestampsNs);
  for (let i = 0; i < columns.count; i++) {
    assert.equal(columns.source.toString('utf8', columns.lineStarts[i], columns.lineEnds[i]), plain[0]!.entries[i]!.line);
    assert.deepEqual(columns.structuredMetadata?.[i], plain[0]!.entries[i]!.structuredMetadata);
  }
  const lineBytes = plain[0]!.entries.map((entry) => Buffer.byteLength(entry.line));
  assert.equal(columns.lineBytes, lineBytes.reduce((a, b) => a + b, 0));
  assert.equal(columns.maxLineBytes, Math.max(...lineBytes));
  assert.equal(columns.minTimestampNs, 0n);
  assert.equal(columns.maxTimestampNs, 2n ** 63n - 1n);
  assert.equal(rawColumnsOf(raw[1]!)!.count, 0);
  // The WAL record from columns is the record of the plain entries, byte for byte.
  const spans: { spans?: Uint32Array } = {};
  const record = encodeWalRecord(9n, 'fake', raw, 8, spans);
  assert.deepEqual(record.subarray(8), encodeWalRecord(9n, 'fake', plain, 8).subarray(8));
  assert.deepEqual(decodeWalRecord(record.subarray(8)).streams, plain);
  assert.equal(record.toString('utf8', spans.spans![2], spans.spans![3]), plain[0]!.entries[1]!.line);
  // Reading the entries gives the same entries; from then on they, not the columns, are the stream.
  assert.deepEqual(
    raw[0]!.entries.map((entry) => ({ timestampNs: entry.timestampNs, line: entry.line, structuredMetadata: entry.structuredMetadata })),
    plain[0]!.entries.map((entry) => ({ timestampNs: entry.timestampNs, line: entry.line, structuredMetadata: entry.structuredMetadata })),
  );
  assert.equal(rawColumnsOf(raw[0]!), undefined);
});

test('a stream with a timestamp the columns cannot hold is decoded as entries; the others stay columns', () => {
  const streams: PushStream[] = [
    { labels: { a: 'before-1970' }, entries: [{ timestampNs: 5n * NS, line: 'ok' }, { timestampNs: -1_500_000_000n, line: 'negative' }] },
    { labels: { a: 'past-2262' }, entries: [{ timestampNs: 2n ** 63n, line: 'too far' }] },
    { labels: { a: 'fine' }, entries: [{ timestampNs: 7n * NS, line: 'fine' }] },
  ];
  const body = encodePushRequest(streams);
  const raw = decodeSnappyPushRequestFast(body, { maxStreams: 10, maxEntries: 4, maxPairs: 10 }, true);
  assert.equal(rawColumnsOf(raw[0]!), undefined);
  assert.equal(rawColumnsOf(raw[1]!), undefined);
  assert.ok(rawColumnsOf(raw[2]!) !== undefined);
  assert.deepEqual(
    raw.map((stream) => stream.entries.map((entry) => [entry.timestampNs, entry.line])),
    streams.map((stream) => stream.entries.map((entry) => [entry.timestampNs, entry.line])),
  );
});

const limits: ValidationLimits = TIGHT_LIMITS;

test('validation of columns answers as validation of the entries: whole streams pass, any rule falls back per entry', () => {
  const nowMs = 1_700_000_000_000;
  const now = BigInt(nowMs) * 1_000_000n;
  const cases: Array<[string, PushStream[]]> = [
    ['all valid', [{ labels: { job: 'a', empty: '' }, entries: [{ timestampNs: now, line: 'héllo' }, { timestampNs: now - NS, line: 'x', structuredMetadata: [{ name: 'k', value: 'v' }] }] }]],
    ['a line too long', [{ labels: { job: 'a' }, entries: [{ timestampNs: now, line: 'x'.repeat(17) }, { timestampNs: now, line: 'ok' }] }]],
    ['too old', [{ labels: { job: 'a' }, entries: [{ timestampNs: now - 7_200n * NS, line: 'old' }, { timestampNs: now, line: 'ok' }] }]],
    ['too new', [{ labels: { job: 'a' }, entries: [{ timestampNs: now, line: 'ok' }, { timestampNs: now + 3_600n * NS, line: 'new' }] }]],
    ['metadata too large', [{ labels: { job: 'a' }, entries: [{ timestampNs: now, line: 'ok', structuredMetadata: [{ name: 'k', value: 'v'.repeat(30) }] }] }]],
    ['label value too long', [{ labels: { a: 'averyverylongvalue' }, entries: [{ timestampNs: now, line: 'x' }] }, { labels: { job: 'b' }, entries: [{ timestampNs: now, line: 'y' }] }]],
  ];
  for (const [name, streams] of cases) {
    const body = encodePushRequest(streams);
    const fromEntries = validatePush(decodeSnappyPushRequestFast(body), limits, nowMs);
    const fromColumns = validatePush(decodeSnappyPushRequestFast(body, undefined, true), limits, nowMs);
    assert.deepEqual(fromColumns.errors, fromEntries.errors, name);
    assert.deepEqual([fromColumns.acceptedLines, fromColumns.acceptedBytes, fromColumns.rejected], [fromEntries.acceptedLines, fromEntries.acceptedBytes, fromEntries.rejected], name);
    assert.deepEqual(fromColumns.discarded, fromEntries.discarded, name);
    assert.deepEqual(
      fromColumns.streams.map((stream) => [stream.labels, stream.entries.map((entry) => [entry.timestampNs, entry.line])]),
      fromEntries.streams.map((stream) => [stream.labels, stream.entries.map((entry) => [entry.timestampNs, entry.line])]),
      name,
    );
  }
});

test('columns of streams that outgrow their share of the push, or find it used up, hold every entry', () => {
  // Empty lines make entry messages far smaller than the share per byte assumes (growth past the
  // share); hundreds of one-entry streams use up the push's column space (buffers of their own).
  const streams: PushStream[] = [
    { labels: { a: 'dense' }, entries: Array.from({ length: 2_000 }, (_, i) => ({ timestampNs: BigInt(i + 1), line: '' })) },
    ...Array.from({ length: 500 }, (_, s) => ({ labels: { a: `one-${s}` }, entries: [{ timestampNs: BigInt(s) * NS, line: `only ${s}` }] })),
    { labels: { a: 'last' }, entries: [{ timestampNs: 3n * NS, line: 'x' }, { timestampNs: 2n * NS, line: 'yy' }] },
  ];
  const raw = decodeSnappyPushRequestFast(encodePushRequest(streams), undefined, true);
  assert.equal(raw.length, streams.length);
  for (let s = 0; s < streams.length; s++) {
    const columns = rawColumnsOf(raw[s]!)!;
    const expected = streams[s]!.entries;
    assert.equal(columns.count, expected.length);
    assert.deepEqual([...columns.timestampsNs.subarray(0, columns.count)], expected.map((entry) => entry.timestampNs), `stream ${s}`);
    assert.deepEqual(
      Array.from({ length: columns.count }, (_, i) => columns.source.toString('utf8', columns.lineStarts[i], columns.lineEnds[i])),
      expected.map((entry) => entry.line),
      `stream ${s}`,
    );
  }
  const last = rawColumnsOf(raw.at(-1)!)!;
  assert.deepEqual([last.minTimestampNs, last.maxTimestampNs, last.lineBytes, last.maxLineBytes], [2n * NS, 3n * NS, 3, 2]);
});

test('columns say whether their timestamps increase entry by entry (table)', () => {
  const cases: Array<[string, bigint[], boolean]> = [
    ['one entry', [5n], true],
    ['increasing', [1n, 2n, 3n * NS], true],
    ['a repeated timestamp', [1n, 1n], false],
    ['a step back', [2n * NS, 1n * NS, 3n * NS], false],
    ['a step back at the end', [1n, 2n, 1n], false],
    ['increasing across the 32-bit word boundary', [2n ** 32n - 1n, 2n ** 32n, 2n ** 32n + 1n], true],
    ['a step back across the word boundary', [2n ** 32n + 5n, 5n], false],
    ['equal high words, lower low word', [3n * 2n ** 32n + 9n, 3n * 2n ** 32n + 8n], false],
  ];
  for (const [name, timestamps, increasing] of cases) {
    const raw = decodeSnappyPushRequestFast(encodePushRequest([{ labels: { job: 'a' }, entries: timestamps.map((timestampNs, i) => ({ timestampNs, line: `l${i}` })) }]), undefined, true);
    assert.equal(rawColumnsOf(raw[0]!)!.increasing, increasing, name);
  }
});

test('releaseColumnMemory frees the push\'s column arena and grown columns; entries built before stay whole', () => {
  // Stream 0 outgrows its share of the arena (many tiny entries), stream 1 stays in it.
  const streams: PushStream[] = [
    { labels: { job: 'a' }, entries: Array.from({ length: 3000 }, (_, i) => ({ timestampNs: 1_700_000_000n * NS + BigInt(i), line: '' })) },
    { labels: { job: 'b' }, entries: [{ timestampNs: 5n * NS, line: 'kept' }] },
  ];
  const decoded = decodeSnappyPushRequestFast(encodePushRequest(streams), undefined, true) as RawPushStream[];
  const entries = decoded[1]!.entries;
  const buffers = decoded.map((stream) => rawColumnsOf(stream) ?? undefined);
  const arenaOrGrown = [buffers[0]!.timestampsNs.buffer, buffers[0]!.lineStarts.buffer, buffers[0]!.lineEnds.buffer];
  for (const stream of decoded) stream.releaseColumnMemory();
  for (const memory of arenaOrGrown) assert.equal((memory as ArrayBuffer).detached, true);
  assert.equal(entries[0]!.timestampNs, 5n * NS);
  assert.equal(entries[0]!.line, 'kept');
  // A second release (streams of one push share the arena) is a no-op.
  decoded[0]!.releaseColumnMemory();
});
