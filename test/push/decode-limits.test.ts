import { test } from 'node:test';
import assert from 'node:assert/strict';
import snappy from 'snappy';
import { PushTooLargeError, type PushDecodeLimits } from '../../src/push/decode-limits.ts';
import { decodeJsonPush, decodeLegacyJsonPush } from '../../src/push/json.ts';
import { encodePushRequest, PushDecodeError } from '../../src/push/protobuf.ts';
import { decodePushRequestFast } from '../../src/push/protobuf-decode.ts';
import type { PushStream } from '../../src/push/types.ts';

const LIMITS: PushDecodeLimits = { maxStreams: 3, maxEntries: 10, maxPairs: 4 };

function streams(streamCount: number, entriesPerStream: number, pairsPerEntry = 0): PushStream[] {
  return Array.from({ length: streamCount }, (_, s) => ({
    labels: { job: 'limits', s: String(s) },
    entries: Array.from({ length: entriesPerStream }, (_, i) => ({
      timestampNs: 1_700_000_000_000_000_000n + BigInt(i),
      line: `line ${i}`,
      ...(pairsPerEntry > 0 ? { structuredMetadata: Array.from({ length: pairsPerEntry }, (_, p) => ({ name: `k${p}`, value: 'v' })) } : {}),
    })),
  }));
}

const protobuf = (input: PushStream[]) => snappy.uncompressSync(encodePushRequest(input)) as Buffer;
const json = (input: PushStream[]) =>
  Buffer.from(
    JSON.stringify({
      streams: input.map((stream) => ({
        stream: stream.labels,
        values: stream.entries.map((entry) => [String(entry.timestampNs), entry.line, ...(entry.structuredMetadata ? [Object.fromEntries(entry.structuredMetadata.map((p) => [p.name, p.value]))] : [])]),
      })),
    }),
  );
const legacy = (input: PushStream[]) =>
  Buffer.from(JSON.stringify({ streams: input.map((stream) => ({ labels: `{job="limits", s="${stream.labels.s}"}`, entries: stream.entries.map((entry) => ({ ts: '2023-11-14T22:13:20Z', line: entry.line })) })) }));

const decoders: Array<[string, (input: PushStream[]) => PushStream[]]> = [
  ['protobuf', (input) => decodePushRequestFast(protobuf(input), LIMITS)],
  ['JSON', (input) => decodeJsonPush(json(input), LIMITS)],
  ['legacy JSON', (input) => decodeLegacyJsonPush(legacy(input), LIMITS)],
];

for (const [name, decode] of decoders) {
  test(`${name}: counts at the limits decode; one past any limit is a PushTooLargeError naming the key`, () => {
    assert.equal(decode(streams(2, 5)).length, 2);
    assert.throws(() => decode(streams(4, 1)), (error: unknown) => error instanceof PushTooLargeError && /more than 3 streams \(server\.max_push_streams\)/.test(error.message));
    assert.throws(() => decode(streams(1, 11)), (error: unknown) => error instanceof PushTooLargeError && /more than 10 entries \(server\.max_push_entries\)/.test(error.message));
    if (name !== 'legacy JSON') {
      assert.equal(decode(streams(1, 2, 2)).length, 1);
      assert.throws(() => decode(streams(1, 1, 5)), (error: unknown) => error instanceof PushTooLargeError && /more than 4 label and structured metadata pairs/.test(error.message));
    }
  });
}

test('protobuf: timestamps outside 0001..9999 are decode errors with the offset', () => {
  const cases: Array<[bigint, RegExp]> = [
    [(2n ** 63n - 1n) * 1_000_000_000n, /timestamp seconds 9223372036854775807 outside 0001-01-01\.\.9999-12-31 in the entry ending at byte \d+/],
    [-(2n ** 62n) * 1_000_000_000n, /timestamp seconds -4611686018427387904 outside/],
    [253_402_300_800n * 1_000_000_000n, /timestamp seconds 253402300800 outside/],
  ];
  for (const [timestampNs, message] of cases) {
    const body = protobuf([{ labels: { job: 'ts' }, entries: [{ timestampNs, line: 'x' }] }]);
    assert.throws(() => decodePushRequestFast(body, LIMITS), (error: unknown) => error instanceof PushDecodeError && message.test(error.message));
  }
  const edge = protobuf([{ labels: { job: 'ts' }, entries: [{ timestampNs: 253_402_300_799n * 1_000_000_000n, line: 'x' }] }]);
  assert.equal(decodePushRequestFast(edge, LIMITS)[0]!.entries[0]!.timestampNs, 253_402_300_799n * 1_000_000_000n);
});

test('JSON: nesting deeper than a push can be is refused before JSON.parse', () => {
  assert.throws(() => decodeJsonPush(Buffer.from(`{"streams":${'['.repeat(20)}${']'.repeat(20)}}`), LIMITS), /nested deeper than 8 levels at byte 18/);
  // Brackets inside strings do not count.
  assert.equal(decodeJsonPush(Buffer.from(`{"streams":[{"stream":{"a":"${'['.repeat(50)}"},"values":[["1","${'[\\"'.repeat(50)}"]]}]}`), LIMITS)[0]!.entries.length, 1);
});
