// The hand-written remote write decoders and encoders against protobufjs with schemas written here
// from the specs (1.0: prometheus.WriteRequest; 2.0: io.prometheus.write.v2.Request).

import assert from 'node:assert/strict';
import { test } from 'node:test';
import protobuf from 'protobufjs';
import { decodeWriteRequestV1, decodeWriteRequestV1Into, decodeWriteRequestV2, decodeWriteRequestV2Into, LabelCache, labelsMatchBytes, RemoteWriteColumns, RemoteWriteDecodeError, uncompressRemoteWrite } from '../../src/push/remote-write-decode.ts';
import { encodeWriteRequestV1, encodeWriteRequestV2, snappyCompress } from '../../src/push/remote-write-encode.ts';

const root = protobuf.Root.fromJSON({
  nested: {
    prometheus: {
      nested: {
        WriteRequest: { fields: { timeseries: { rule: 'repeated', type: 'TimeSeries', id: 1 }, metadata: { rule: 'repeated', type: 'MetricMetadata', id: 3 } } },
        TimeSeries: {
          fields: {
            labels: { rule: 'repeated', type: 'Label', id: 1 },
            samples: { rule: 'repeated', type: 'Sample', id: 2 },
            exemplars: { rule: 'repeated', type: 'Exemplar', id: 3 },
          },
        },
        Label: { fields: { name: { type: 'string', id: 1 }, value: { type: 'string', id: 2 } } },
        Sample: { fields: { value: { type: 'double', id: 1 }, timestamp: { type: 'int64', id: 2 } } },
        Exemplar: { fields: { labels: { rule: 'repeated', type: 'Label', id: 1 }, value: { type: 'double', id: 2 }, timestamp: { type: 'int64', id: 3 } } },
        MetricMetadata: { fields: { type: { type: 'int32', id: 1 }, metricFamilyName: { type: 'string', id: 2 }, help: { type: 'string', id: 4 }, unit: { type: 'string', id: 5 } } },
      },
    },
    v2: {
      nested: {
        Request: { fields: { symbols: { rule: 'repeated', type: 'string', id: 4 }, timeseries: { rule: 'repeated', type: 'TimeSeries', id: 5 } } },
        TimeSeries: {
          fields: {
            labelsRefs: { rule: 'repeated', type: 'uint32', id: 1 },
            samples: { rule: 'repeated', type: 'Sample', id: 2 },
            exemplars: { rule: 'repeated', type: 'Exemplar', id: 4 },
            metadata: { type: 'Metadata', id: 5 },
            createdTimestamp: { type: 'int64', id: 6 },
          },
        },
        Sample: { fields: { value: { type: 'double', id: 1 }, timestamp: { type: 'int64', id: 2 } } },
        Exemplar: { fields: { labelsRefs: { rule: 'repeated', type: 'uint32', id: 1 }, value: { type: 'double', id: 2 }, timestamp: { type: 'int64', id: 3 } } },
        Metadata: { fields: { type: { type: 'int32', id: 1 }, helpRef: { type: 'uint32', id: 3 }, unitRef: { type: 'uint32', id: 4 } } },
      },
    },
  },
});
const WriteRequest = root.lookupType('prometheus.WriteRequest');
const RequestV2 = root.lookupType('v2.Request');

const T = 1_767_225_600_000;

test('1.0: protobufjs-encoded WriteRequest decodes to the same series, samples, exemplars and metadata', () => {
  const message = WriteRequest.create({
    timeseries: [
      {
        labels: [{ name: '__name__', value: 'http_requests_total' }, { name: 'job', value: 'api' }, { name: 'path', value: '/ünï' }],
        samples: [{ value: 1, timestamp: T }, { value: 2.5, timestamp: T + 15_000 }, { value: -Infinity, timestamp: T + 30_000 }],
        exemplars: [{ labels: [{ name: 'trace_id', value: 'abc' }], value: 1, timestamp: T }],
      },
      { labels: [{ name: '__name__', value: 'negative_ts' }], samples: [{ value: 0, timestamp: -1000 }] },
    ],
    metadata: [{ type: 1, metricFamilyName: 'http_requests_total', help: 'Requests.', unit: '' }],
  });
  const decoded = decodeWriteRequestV1(Buffer.from(WriteRequest.encode(message).finish()));
  assert.deepEqual(decoded, {
    series: [
      {
        labels: { __name__: 'http_requests_total', job: 'api', path: '/ünï' },
        samples: [{ timestampMs: T, value: 1 }, { timestampMs: T + 15_000, value: 2.5 }, { timestampMs: T + 30_000, value: -Infinity }],
        histograms: 0,
        exemplars: 1,
        exemplarList: [{ labels: { trace_id: 'abc' }, value: 1, timestampMs: T }],
      },
      { labels: { __name__: 'negative_ts' }, samples: [{ timestampMs: -1000, value: 0 }], histograms: 0, exemplars: 0 },
    ],
    metadata: [{ family: 'http_requests_total', type: 'counter', help: 'Requests.', unit: '' }],
  });
});

test('1.0: our encoder is read back by protobufjs, and the stale NaN keeps its bits', () => {
  const body = encodeWriteRequestV1([{ labels: { job: 'x', __name__: 'up' }, samples: [{ timestampMs: T, value: 1 }, { timestampMs: T + 1, value: Number.NaN, stale: true }] }]);
  const message = WriteRequest.toObject(WriteRequest.decode(body), { longs: Number }) as { timeseries: Array<{ labels: unknown[]; samples: Array<{ value: number; timestamp: number }> }> };
  assert.deepEqual(message.timeseries[0]!.labels, [{ name: '__name__', value: 'up' }, { name: 'job', value: 'x' }]);
  assert.equal(message.timeseries[0]!.samples[0]!.timestamp, T);
  assert.ok(Number.isNaN(message.timeseries[0]!.samples[1]!.value));
  const decoded = decodeWriteRequestV1(body);
  assert.deepEqual(decoded.series[0]!.samples[1], { timestampMs: T + 1, value: Number.NaN, stale: true });
});

test('2.0: protobufjs-encoded Request resolves symbols, metadata and exemplars', () => {
  const symbols = ['', '__name__', 'rpc_duration_seconds_bucket', 'le', '0.5', 'job', 'api', 'Latency.', 'seconds', 'trace_id', 'xyz'];
  const message = RequestV2.create({
    symbols,
    timeseries: [
      {
        labelsRefs: [1, 2, 5, 6, 3, 4],
        samples: [{ value: 12, timestamp: T }],
        exemplars: [{ labelsRefs: [9, 10], value: 0.3, timestamp: T }],
        metadata: { type: 3, helpRef: 7, unitRef: 8 },
      },
    ],
  });
  const decoded = decodeWriteRequestV2(Buffer.from(RequestV2.encode(message).finish()));
  assert.deepEqual(decoded, {
    series: [{ labels: { __name__: 'rpc_duration_seconds_bucket', job: 'api', le: '0.5' }, samples: [{ timestampMs: T, value: 12 }], histograms: 0, exemplars: 1, exemplarList: [{ labels: { trace_id: 'xyz' }, value: 0.3, timestampMs: T }] }],
    metadata: [{ family: 'rpc_duration_seconds', type: 'histogram', help: 'Latency.', unit: 'seconds' }],
  });
  const ours = encodeWriteRequestV2([{ labels: { __name__: 'up', job: 'api' }, samples: [{ timestampMs: T, value: 1 }], metadata: { type: 'gauge', help: 'Up.', unit: '' } }]);
  const back = RequestV2.toObject(RequestV2.decode(ours), { longs: Number }) as { symbols: string[]; timeseries: Array<{ labelsRefs: number[] }> };
  assert.equal(back.symbols[0], '');
  assert.deepEqual(back.timeseries[0]!.labelsRefs.map((ref) => back.symbols[ref]), ['__name__', 'up', 'job', 'api']);
  assert.deepEqual(decodeWriteRequestV2(ours).metadata, [{ family: 'up', type: 'gauge', help: 'Up.', unit: '' }]);
});

const malformed: Array<[string, () => unknown, RegExp]> = [
  ['v2 symbol ref out of range', () => decodeWriteRequestV2(Buffer.from(RequestV2.encode(RequestV2.create({ symbols: ['', 'a'], timeseries: [{ labelsRefs: [1, 7] }] })).finish())), /refers to symbol 7 of 2/],
  ['v2 odd labels_refs', () => decodeWriteRequestV2(Buffer.from(RequestV2.encode(RequestV2.create({ symbols: ['', 'a'], timeseries: [{ labelsRefs: [1] }] })).finish())), /odd length/],
  ['v2 first symbol not empty', () => decodeWriteRequestV2(Buffer.from(RequestV2.encode(RequestV2.create({ symbols: ['a'] })).finish())), /symbols\[0\]/],
  ['v1 duplicate label', () => decodeWriteRequestV1(Buffer.from(WriteRequest.encode(WriteRequest.create({ timeseries: [{ labels: [{ name: 'a', value: '1' }, { name: 'a', value: '2' }] }] })).finish())), /duplicate label name "a"/],
  ['not snappy', () => uncompressRemoteWrite(Buffer.from([0xff, 0xff, 0xff, 0xff, 0xff, 0xff]), 1 << 20), /malformed snappy/],
  ['snappy bomb', () => uncompressRemoteWrite(snappyCompress(Buffer.alloc(2 << 20)), 1 << 20), /more than the limit/],
];
for (const [name, run, message] of malformed) {
  test(`malformed: ${name}`, () => assert.throws(run, (error: unknown) => error instanceof RemoteWriteDecodeError && message.test(error.message)));
}

test('every truncation of a valid body fails cleanly or decodes a prefix, never crashes', () => {
  const series = Array.from({ length: 5 }, (_, i) => ({ labels: { __name__: `m${i}`, job: 'x' }, samples: [{ timestampMs: T + i, value: i / 3 }] }));
  for (const [encode, decode] of [[encodeWriteRequestV1, decodeWriteRequestV1], [encodeWriteRequestV2, decodeWriteRequestV2]] as const) {
    const body = encode(series);
    for (let cut = 0; cut < body.length; cut++) {
      try {
        decode(body.subarray(0, cut));
      } catch (error) {
        assert.ok(error instanceof RemoteWriteDecodeError, `cut at ${cut}: ${String(error)}`);
      }
    }
  }
});

/** A TimeSeries' Label fields, as bytes: [name, value] pairs in wire order. */
function labelFields(pairs: [string, string][]): Buffer {
  const parts: Buffer[] = [];
  for (const [name, value] of pairs) {
    const label = Buffer.concat([Buffer.from([0x0a, Buffer.byteLength(name)]), Buffer.from(name), Buffer.from([0x12, Buffer.byteLength(value)]), Buffer.from(value)]);
    parts.push(Buffer.from([0x0a, label.length]), label);
  }
  return Buffer.concat(parts);
}

test('the label cache returns one shared object per label bytes, and verifies the bytes against the labels on a hash collision', () => {
  const cache = new LabelCache();
  const body = encodeWriteRequestV1([
    { labels: { __name__: 'a', job: 'x' }, samples: [{ timestampMs: T, value: 1 }] },
    { labels: { __name__: 'b', job: 'x' }, samples: [{ timestampMs: T, value: 2 }] },
  ]);
  const first = decodeWriteRequestV1(body, cache);
  const second = decodeWriteRequestV1(body, cache);
  assert.equal(first.series[0]!.labels, second.series[0]!.labels, 'same object for the same bytes');
  assert.equal(second.series[0]!.interned, true);
  assert.notEqual(first.series[0]!.labels, first.series[1]!.labels);
  assert.equal(cache.size, 2);
  // Forced collision: two label sets under one hash value; each bytes range finds its own.
  const aaaa = { l: 'aaaa' };
  const bbbb = { l: 'bbbb' };
  assert.equal(cache.set(7, aaaa), aaaa);
  assert.equal(cache.set(7, bbbb), bbbb);
  const aaaaBytes = labelFields([['l', 'aaaa']]);
  const bbbbBytes = labelFields([['l', 'bbbb']]);
  assert.equal(cache.get(aaaaBytes, 0, aaaaBytes.length, 7), aaaa);
  assert.equal(cache.get(bbbbBytes, 0, bbbbBytes.length, 7), bbbb);
  assert.equal(cache.get(aaaaBytes, 0, aaaaBytes.length, 8), undefined, 'another hash');
  const cccc = labelFields([['l', 'cccc']]);
  assert.equal(cache.get(cccc, 0, cccc.length, 7), undefined);
  // The same labels again under that hash: the cached object, not a second entry.
  assert.equal(cache.set(7, { l: 'aaaa' }), aaaa);
  assert.equal(cache.size, 4);
});

test('label bytes are matched against labels in place: names, values, order and UTF-8', () => {
  const cases: { name: string; bytes: Buffer; labels: Record<string, string>; match: boolean }[] = [
    { name: 'same pairs, same order', bytes: labelFields([['__name__', 'up'], ['job', 'node']]), labels: { __name__: 'up', job: 'node' }, match: true },
    { name: 'other order', bytes: labelFields([['job', 'node'], ['__name__', 'up']]), labels: { __name__: 'up', job: 'node' }, match: false },
    { name: 'other value', bytes: labelFields([['__name__', 'up'], ['job', 'nodf']]), labels: { __name__: 'up', job: 'node' }, match: false },
    { name: 'value a prefix', bytes: labelFields([['__name__', 'up'], ['job', 'nod']]), labels: { __name__: 'up', job: 'node' }, match: false },
    { name: 'one label more in the bytes', bytes: labelFields([['__name__', 'up'], ['job', 'node'], ['a', 'b']]), labels: { __name__: 'up', job: 'node' }, match: false },
    { name: 'one label fewer in the bytes', bytes: labelFields([['__name__', 'up']]), labels: { __name__: 'up', job: 'node' }, match: false },
    { name: 'non-ASCII value', bytes: labelFields([['gpu', 'Grüße ✓']]), labels: { gpu: 'Grüße ✓' }, match: true },
    { name: 'non-ASCII value differs', bytes: labelFields([['gpu', 'Grüße ✓']]), labels: { gpu: 'Grüsse ✓' }, match: false },
    { name: 'ASCII text against non-ASCII bytes', bytes: labelFields([['a', 'é']]), labels: { a: 'xx' }, match: false },
    { name: 'empty value written out', bytes: labelFields([['a', '']]), labels: { a: '' }, match: true },
    { name: 'empty value left out', bytes: Buffer.from([0x0a, 0x03, 0x0a, 0x01, 0x61]), labels: { a: '' }, match: true },
    { name: 'value before name', bytes: Buffer.from([0x0a, 0x06, 0x12, 0x01, 0x62, 0x0a, 0x01, 0x61]), labels: { a: 'b' }, match: true },
    { name: 'an unknown field in the Label', bytes: Buffer.from([0x0a, 0x08, 0x0a, 0x01, 0x61, 0x12, 0x01, 0x62, 0x18, 0x01]), labels: { a: 'b' }, match: false },
    { name: 'length past the end', bytes: Buffer.from([0x0a, 0x09, 0x0a, 0x01, 0x61, 0x12, 0x01, 0x62]), labels: { a: 'b' }, match: false },
    { name: 'no labels', bytes: Buffer.alloc(0), labels: {}, match: true },
  ];
  for (const { name, bytes, labels, match } of cases) assert.equal(labelsMatchBytes(bytes, 0, bytes.length, labels), match, name);
});

test('label bytes the in-place match does not follow still give one object per label set', () => {
  // Wire order a, 1: JavaScript orders the integer-like name "1" first, so the bytes never match in place.
  const body = Buffer.from(WriteRequest.encode({ timeseries: [{ labels: [{ name: 'a', value: 'y' }, { name: '1', value: 'x' }], samples: [{ value: 1, timestamp: T }] }] }).finish());
  const cache = new LabelCache();
  const first = decodeWriteRequestV1(body, cache).series[0]!.labels;
  const second = decodeWriteRequestV1(body, cache).series[0]!.labels;
  assert.deepEqual(first, { a: 'y', 1: 'x' });
  assert.equal(second, first);
  assert.equal(cache.size, 1);
});

test('the label cache grows its table and keeps every entry, and starts over at its limit', () => {
  const series = Array.from({ length: 5000 }, (_, i) => ({ labels: { __name__: 'm', i: String(i) }, samples: [{ timestampMs: T, value: i }] }));
  const body = encodeWriteRequestV1(series);
  const cache = new LabelCache();
  const first = decodeWriteRequestV1(body, cache).series.map((entry) => entry.labels);
  const second = decodeWriteRequestV1(body, cache).series.map((entry) => entry.labels);
  assert.equal(cache.size, 5000);
  for (let i = 0; i < series.length; i++) {
    assert.equal(second[i], first[i], `series ${i}`);
    assert.deepEqual(second[i], series[i]!.labels);
  }
  const small = new LabelCache(1000);
  decodeWriteRequestV1(body, small);
  // 5,000 entries through a cache of 1,000: cleared at every 1,000th, so the last 1,000 are left.
  assert.equal(small.size, 1000);
  const again = decodeWriteRequestV1(body, small).series.map((entry) => entry.labels);
  for (let i = 0; i < series.length; i++) assert.deepEqual(again[i], series[i]!.labels);
});

test('one columns object decodes request after request: each decode holds only its own request', () => {
  const columns = new RemoteWriteColumns();
  // More series and samples than the initial capacity, so the columns grow on the first request.
  const big = Array.from({ length: 300 }, (_, i) => ({ labels: { __name__: 'm', i: String(i) }, samples: [{ timestampMs: T + i, value: i }, { timestampMs: T + i + 1, value: Number.NaN }] }));
  const small = [{ labels: { __name__: 'n', job: 'x' }, samples: [{ timestampMs: T, value: 0.5 }] }];
  for (const [encode, decodeInto, decode] of [
    [encodeWriteRequestV1, (body: Buffer) => decodeWriteRequestV1Into(body, columns, new LabelCache()), decodeWriteRequestV1],
    [encodeWriteRequestV2, (body: Buffer) => decodeWriteRequestV2Into(body, columns), decodeWriteRequestV2],
  ] as const) {
    for (const series of [big, small, big]) {
      const body = encode(series);
      decodeInto(body);
      assert.equal(columns.seriesCount, series.length);
      assert.equal(columns.sampleCount, series.length === 1 ? 1 : 600);
      const viaColumns = columns.toRequest();
      for (const entry of viaColumns.series) delete entry.interned;
      assert.deepEqual(viaColumns, decode(body));
    }
  }
});
