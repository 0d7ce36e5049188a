import { test } from 'node:test';
import assert from 'node:assert/strict';
import { decodeSnappyPushRequest, encodePushRequest, PushDecodeError } from '../../src/push/protobuf.ts';
import { formatLabels, parseLabels, LabelParseError } from '../../src/push/labels.ts';

test('protobuf push round-trips labels, nanosecond timestamps and structured metadata', () => {
  const streams = [
    {
      labels: { job: 'train', rank: '3' },
      entries: [
        { timestampNs: 1_700_000_000_123_456_789n, line: 'step 10 loss 2.31', structuredMetadata: [{ name: 'trace_id', value: 'abc' }] },
        { timestampNs: 1_700_000_000_000_000_001n, line: 'Traceback (most recent call last):\n  File "x.py"' },
      ],
    },
  ];
  const decoded = decodeSnappyPushRequest(encodePushRequest(streams));
  assert.deepEqual(decoded, streams);
});

test('a corrupt snappy body is a PushDecodeError naming snappy', () => {
  assert.throws(() => decodeSnappyPushRequest(Buffer.from('definitely not snappy')), (error: unknown) => {
    return error instanceof PushDecodeError && /snappy/.test(error.message);
  });
});

test('label text parses and formats canonically', () => {
  assert.deepEqual(parseLabels('{rank="0", job="tr\\"ain"}'), { rank: '0', job: 'tr"ain' });
  assert.equal(formatLabels({ rank: '0', job: 'train' }), '{job="train", rank="0"}');
  for (const bad of ['job="x"', '{job=x}', '{1job="x"}', '{job="x"', '{a="1", a="2"}', '{a="1"} trailing']) {
    assert.throws(() => parseLabels(bad), LabelParseError, bad);
  }
});
