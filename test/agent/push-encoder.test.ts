import { test } from 'node:test';
import assert from 'node:assert/strict';
import { encodePushBody, PushBodyBuilder } from '../../src/agent/push-encoder.ts';
import { decodeSnappyPushRequest, encodePushRequest } from '../../src/push/protobuf.ts';
import type { PushStream } from '../../src/push/types.ts';

test('the agent encoder writes what the shared decoder reads', () => {
  const streams: PushStream[] = [
    {
      labels: { job: 'train', rank: '3', note: 'quote " and \\ and ünïcode' },
      entries: [
        { timestampNs: 1_795_261_106_589_123_456n, line: 'step 1 loss 2.5' },
        { timestampNs: 1_795_261_107_000_000_000n, line: 'Traceback (most recent call last):\n  File "x.py"\nValueError: ✗ bad' },
        { timestampNs: 5n, line: '' },
        { timestampNs: 0n, line: 'x'.repeat(70_000) },
      ],
    },
    { labels: {}, entries: [{ timestampNs: 1n, line: '日本語' }] },
  ];
  const body = encodePushBody(streams);
  assert.deepEqual(decodeSnappyPushRequest(body), streams);
  // protobufjs also writes zero-valued timestamp fields; proto3 readers (Loki) accept both forms.
  assert.deepEqual(decodeSnappyPushRequest(encodePushRequest(streams)), decodeSnappyPushRequest(body));
  assert.deepEqual(decodeSnappyPushRequest(encodePushBody([])), []);
});

test('one builder, reused across batches, keeps each body to its own entries, grouped by stream', () => {
  const builder = new PushBodyBuilder();
  const a = { job: 'a' };
  const b = { job: 'b', rank: '1' };
  // Interleaved streams, and more bytes than the builder's initial buffers hold.
  const long = 'y'.repeat(100_000);
  builder.add('a', a, 1_000_000_001n, 'a1');
  builder.add('b', b, 2n, long);
  builder.add('a', a, 3n, 'a2 ünï');
  assert.equal(builder.entryCount, 3);
  assert.deepEqual(decodeSnappyPushRequest(builder.finish()), [
    { labels: a, entries: [{ timestampNs: 1_000_000_001n, line: 'a1' }, { timestampNs: 3n, line: 'a2 ünï' }] },
    { labels: b, entries: [{ timestampNs: 2n, line: long }] },
  ]);
  assert.equal(builder.entryCount, 0);
  builder.add('b', b, 4n, 'b2');
  assert.deepEqual(decodeSnappyPushRequest(builder.finish()), [{ labels: b, entries: [{ timestampNs: 4n, line: 'b2' }] }]);
});
