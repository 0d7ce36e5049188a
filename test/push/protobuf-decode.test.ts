import { test } from 'node:test';
import assert from 'node:assert/strict';
import snappy from 'snappy';
import { decodePushRequestFast, decodeSnappyPushRequestFast } from '../../src/push/protobuf-decode.ts';
import { decodeSnappyPushRequest, encodePushRequest, PushDecodeError } from '../../src/push/protobuf.ts';
import type { PushStream } from '../../src/push/types.ts';

test('the fast decoder agrees with the protobufjs reference on varied requests', () => {
  let seed = 7;
  const random = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
  for (let round = 0; round < 30; round++) {
    const streams: PushStream[] = Array.from({ length: 1 + Math.floor(random() * 4) }, (_, s) => ({
      labels: { job: `j${round}`, rank: String(s), weird: 'quote " and \\ and ünïcødé' },
      entries: Array.from({ length: Math.floor(random() * 20) }, (_, i) => ({
        // Whole seconds, sub-second, and far-past/far-future values exercise every varint width.
        timestampNs: i % 5 === 0 ? BigInt(Math.floor(random() * 2 ** 33)) * 1_000_000_000n : 1_700_000_000_000_000_000n + BigInt(Math.floor(random() * 1e12)),
        line: i % 3 === 0 ? '' : `line ${i} ${'é'.repeat(i)} ${'x'.repeat(Math.floor(random() * 300))}`,
        ...(i % 4 === 1 ? { structuredMetadata: [{ name: 'trace_id', value: `t${i}` }, { name: 'empty', value: '' }] } : {}),
      })),
    }));
    const body = encodePushRequest(streams);
    assert.deepEqual(decodeSnappyPushRequestFast(body), decodeSnappyPushRequest(body));
  }
});

test('negative timestamps (10-byte varints) decode exactly', () => {
  const streams: PushStream[] = [{ labels: { a: 'b' }, entries: [{ timestampNs: -1_500_000_000n, line: 'before epoch' }] }];
  assert.deepEqual(decodeSnappyPushRequestFast(encodePushRequest(streams)), decodeSnappyPushRequest(encodePushRequest(streams)));
});

test('truncated, overlong and bad-label messages fail with a PushDecodeError naming the byte', () => {
  const good = snappy.uncompressSync(encodePushRequest([{ labels: { a: 'b' }, entries: [{ timestampNs: 5n, line: 'hello' }] }])) as Buffer;
  for (let cut = 1; cut < good.length; cut++) {
    assert.throws(() => decodePushRequestFast(good.subarray(0, cut)), (error: unknown) => error instanceof PushDecodeError && /malformed protobuf PushRequest: .* at byte \d+/.test(error.message), `cut at ${cut}`);
  }
  assert.throws(() => decodePushRequestFast(Buffer.from([0x0b])), /unsupported wire type 3/);
  const badLabels = Buffer.concat([Buffer.from([0x0a, 0x07, 0x0a, 0x05]), Buffer.from('{a=b}')]);
  assert.throws(() => decodePushRequestFast(badLabels), /error parsing labels '\{a=b\}' of stream 0/);
  assert.throws(() => decodeSnappyPushRequestFast(Buffer.from('nope')), /malformed snappy body/);
});

/** Protobuf bytes by hand: a varint, and a length-delimited field. */
function varint(value: bigint): number[] {
  const bytes: number[] = [];
  let rest = BigInt.asUintN(64, value);
  while (rest >= 0x80n) {
    bytes.push(Number(rest & 0x7fn) | 0x80);
    rest >>= 7n;
  }
  bytes.push(Number(rest));
  return bytes;
}
const field = (key: number, bytes: number[]): number[] => [key, ...varint(BigInt(bytes.length)), ...bytes];
const timestamp = (seconds: bigint, nanos?: bigint): number[] => field(0x0a, [0x08, ...varint(seconds), ...(nanos === undefined ? [] : [0x10, ...varint(nanos)])]);
const line = (text: string): number[] => field(0x12, [...Buffer.from(text, 'utf8')]);

test('entries in columns decode as entries do, whatever the layout of their fields (table)', () => {
  // The columns decoder reads the common layout (timestamp then line) on a fast path and leaves
  // every other layout to its general loop: both must give what the entries decoder gives.
  const cases: Array<[string, number[]]> = [
    ['timestamp, line', [...timestamp(1_767_600_000n, 123_456_789n), ...line('step 1 | loss 2.5')]],
    ['no nanos', [...timestamp(1_767_600_000n), ...line('whole second')]],
    ['nanos only', [...field(0x0a, [0x10, ...varint(5n)]), ...line('epoch plus 5 ns')]],
    ['no timestamp', line('no time')],
    ['no line', timestamp(1_767_600_001n, 1n)],
    ['empty entry', []],
    ['line before timestamp', [...line('swapped'), ...timestamp(1_767_600_002n, 2n)]],
    ['timestamp twice', [...timestamp(1_767_600_003n, 3n), ...timestamp(1_767_600_004n, 4n), ...line('second wins')]],
    ['nanos before seconds', [...field(0x0a, [0x10, ...varint(7n), 0x08, ...varint(1_767_600_005n)]), ...line('nanos first')]],
    ['line twice', [...timestamp(1_767_600_006n), ...line('first'), ...line('second')]],
    ['structured metadata', [...timestamp(1_767_600_007n), ...line('with metadata'), ...field(0x1a, [...field(0x0a, [...Buffer.from('k')]), ...field(0x12, [...Buffer.from('v')])])]],
    ['unknown field', [...timestamp(1_767_600_008n), ...line('unknown after'), 0x28, 0x01]],
    ['negative nanos', [...timestamp(1_767_600_009n, -1n), ...line('negative nanos')]],
    ['seconds past 2262', [...timestamp(2n ** 34n), ...line('far future')]],
    ['multi-byte line length', [...timestamp(1_767_600_010n), ...line('x'.repeat(20_000))]],
    ['multi-byte UTF-8', [...timestamp(1_767_600_011n, 999_999_999n), ...line('ünïcødé █ 🚀')]],
  ];
  for (const [name, entry] of cases) {
    const stream = [...field(0x0a, [...Buffer.from('{job="a"}')]), ...field(0x12, entry), ...field(0x12, [...timestamp(1_767_600_100n), ...line('next entry')])];
    const body = Buffer.from(field(0x0a, stream));
    const asEntries = decodePushRequestFast(body);
    const asColumns = decodePushRequestFast(body, undefined, true);
    assert.deepEqual(
      asColumns.map((one) => one.entries.map((e) => [e.timestampNs, e.line, e.structuredMetadata ?? []])),
      asEntries.map((one) => one.entries.map((e) => [e.timestampNs, e.line, e.structuredMetadata ?? []])),
      name,
    );
  }
});

test('truncated messages fail the same way when decoded into columns', () => {
  const good = snappy.uncompressSync(encodePushRequest([{ labels: { a: 'b' }, entries: [{ timestampNs: 1_767_600_000_123_456_789n, line: 'hello' }, { timestampNs: 1_767_600_001_000_000_000n, line: 'world' }] }])) as Buffer;
  for (let cut = 1; cut < good.length; cut++) {
    const problem = (rawLines: boolean): string => {
      try {
        decodePushRequestFast(good.subarray(0, cut), undefined, rawLines);
      } catch (error) {
        assert.ok(error instanceof PushDecodeError, `cut at ${cut}`);
        return error.message;
      }
      return 'no error';
    };
    assert.equal(problem(true), problem(false), `cut at ${cut}`);
  }
});

test('timestamps decode into columns exactly, at the edges of the word arithmetic (table)', () => {
  const NS = 1_000_000_000n;
  const cases: bigint[] = [0n, 1n, 999_999_999n, NS, 65_535n * NS + 999_999_999n, 65_536n * NS, 65_537n * NS + 1n, (2n ** 31n - 1n) * NS + 999_999_999n, 2n ** 31n * NS, 1_767_600_000n * NS + 123_456_789n, 2n ** 32n - 1n, 2n ** 32n, 2n ** 33n * NS, 9_223_372_035n * NS + 854_775_807n];
  const streams: PushStream[] = [{ labels: { job: 'a' }, entries: cases.map((timestampNs, i) => ({ timestampNs, line: `l${i}` })) }];
  const columns = decodeSnappyPushRequestFast(encodePushRequest(streams), undefined, true)[0]!;
  assert.deepEqual(columns.entries.map((entry) => entry.timestampNs), cases);
});
