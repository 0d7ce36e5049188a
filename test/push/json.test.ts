import { test } from 'node:test';
import assert from 'node:assert/strict';
import { decodeJsonPush, decodeLegacyJsonPush, parseRfc3339Ns } from '../../src/push/json.ts';
import { PushDecodeError } from '../../src/push/protobuf.ts';

test('v1 JSON push decodes labels, ns timestamps and structured metadata', () => {
  const body = JSON.stringify({
    streams: [
      {
        stream: { job: 'train', rank: '0' },
        values: [
          ['1700000000123456789', 'step 1 loss 2.5'],
          ['1700000000123456790', 'step 2', { trace_id: 'abc' }],
          null,
        ],
      },
      { stream: { job: 'eval' }, values: null },
    ],
  });
  assert.deepEqual(decodeJsonPush(Buffer.from(body)), [
    {
      labels: { job: 'train', rank: '0' },
      entries: [
        { timestampNs: 1_700_000_000_123_456_789n, line: 'step 1 loss 2.5' },
        { timestampNs: 1_700_000_000_123_456_790n, line: 'step 2', structuredMetadata: [{ name: 'trace_id', value: 'abc' }] },
      ],
    },
    { labels: { job: 'eval' }, entries: [] },
  ]);
});

test('malformed JSON pushes name what and where', () => {
  const cases: Array<[string, RegExp]> = [
    ['{"streams":[', /malformed JSON push body: .*JSON/],
    ['[]', /expected an object with a "streams" array/],
    ['{"streams":{}}', /"streams" must be an array/],
    ['{"streams":[{"stream":{"a":1},"values":[]}]}', /streams\[0\]\.stream label "a" must have a string value/],
    ['{"streams":[{"stream":{"a":"b"},"values":[[1700000000000000000,"x"]]}]}', /streams\[0\]\.values\[0\]\[0\] must be a string of decimal unix nanoseconds/],
    ['{"streams":[{"stream":{"a":"b"},"values":[["17x","x"]]}]}', /values\[0\]\[0\]/],
    ['{"streams":[{"stream":{"a":"b"},"values":[["1","x","y"]]}]}', /values\[0\]\[2\] must be an object of structured metadata/],
    ['{"streams":[{"stream":{"a":"b"},"values":[["1","x",{"k":5}]]}]}', /structured metadata "k" .* must be a string/],
    ['{"streams":[{"stream":{"a":"b"},"values":[["1"]]}]}', /must be \["<unix ns>", "<line>"\]/],
    ['{"streams":[{"stream":{"a":"b"},"values":[["1", 5]]}]}', /values\[0\]\[1\] must be a string log line/],
  ];
  for (const [body, pattern] of cases) {
    assert.throws(() => decodeJsonPush(Buffer.from(body)), (error: unknown) => error instanceof PushDecodeError && pattern.test(error.message), body);
  }
});

test('legacy v0 JSON push parses label text and RFC3339 timestamps with nanoseconds', () => {
  const body = '{"streams":[{"labels":"{foo=\\"bar\\"}","entries":[{"ts":"2018-12-18T08:28:06.801064123-04:00","line":"hello"}]}]}';
  assert.deepEqual(decodeLegacyJsonPush(body), [{ labels: { foo: 'bar' }, entries: [{ timestampNs: 1_545_136_086_801_064_123n, line: 'hello' }] }]);
  assert.throws(() => decodeLegacyJsonPush('{"streams":[{"labels":"{foo=bar}","entries":[]}]}'), /error parsing labels '\{foo=bar\}'/);
  assert.equal(parseRfc3339Ns('2024-01-01T00:00:00Z', 'x'), 1_704_067_200_000_000_000n);
  assert.throws(() => parseRfc3339Ns('yesterday', 'ts'), /ts is not an RFC3339 timestamp/);
});
