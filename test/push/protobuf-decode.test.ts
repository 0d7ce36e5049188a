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
