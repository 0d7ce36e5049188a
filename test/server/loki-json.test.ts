import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { QueryStatistics } from '../../src/logql/api.ts';
import { encodeQueryResponse, formatSampleValue, formatUnixSeconds } from '../../src/server/loki-json.ts';

const stats: QueryStatistics = { bytesProcessed: 2000, linesProcessed: 20, blocksRead: 2, blocksSkipped: 3, execTimeSeconds: 0.5 };

test('streams answer has Loki v1 shape: stream + values of [ns string, line string]', () => {
  const body = encodeQueryResponse(
    { resultType: 'streams', streams: [{ labels: { job: 'train', rank: '0' }, entries: [{ timestampNs: 1_700_000_000_000_000_001n, line: 'loss <1> & "ok"' }] }], stats },
    { categorizeLabels: false, direction: 'backward' },
  );
  const parsed = JSON.parse(body);
  assert.deepEqual(Object.keys(parsed), ['status', 'data']);
  assert.equal(parsed.status, 'success');
  assert.deepEqual(Object.keys(parsed.data), ['resultType', 'result', 'stats']);
  assert.deepEqual(parsed.data.result, [{ stream: { job: 'train', rank: '0' }, values: [['1700000000000000001', 'loss <1> & "ok"']] }]);
  const summary = parsed.data.stats.summary;
  for (const key of ['bytesProcessedPerSecond', 'linesProcessedPerSecond', 'totalBytesProcessed', 'totalLinesProcessed', 'execTime', 'queueTime', 'subqueries', 'totalEntriesReturned', 'splits', 'shards']) {
    assert.equal(typeof summary[key], 'number', key);
  }
  assert.equal(summary.totalBytesProcessed, 2000);
  assert.equal(summary.bytesProcessedPerSecond, 4000);
  assert.equal(summary.totalEntriesReturned, 1);
  assert.deepEqual(Object.keys(parsed.data.stats), ['summary', 'querier', 'ingester', 'cache', 'index']);
  assert.equal(parsed.data.stats.querier.store.totalChunksRef, 5);
  assert.equal(parsed.data.stats.querier.store.chunk.decompressedLines, 20);
});

test('categorize-labels: flag before result, indexed labels in stream, metadata and parsed as a third element', () => {
  const body = encodeQueryResponse(
    {
      resultType: 'streams',
      streams: [
        { labels: { job: 'train', trace_id: 'a', level: 'info' }, entries: [{ timestampNs: 3n, line: 'b', structuredMetadata: { trace_id: 'a' }, parsed: { level: 'info' } }] },
        { labels: { job: 'train' }, entries: [{ timestampNs: 5n, line: 'c' }, { timestampNs: 1n, line: 'a' }] },
      ],
      stats,
    },
    { categorizeLabels: true, direction: 'backward' },
  );
  const parsed = JSON.parse(body);
  assert.deepEqual(Object.keys(parsed.data), ['resultType', 'encodingFlags', 'result', 'stats']);
  assert.deepEqual(parsed.data.encodingFlags, ['categorize-labels']);
  assert.deepEqual(parsed.data.result, [
    {
      stream: { job: 'train' },
      values: [
        ['5', 'c', {}],
        ['3', 'b', { structuredMetadata: { trace_id: 'a' }, parsed: { level: 'info' } }],
        ['1', 'a', {}],
      ],
    },
  ]);
});

test('matrix, vector and scalar use [unix seconds number, "value string"]', () => {
  const matrix = JSON.parse(
    encodeQueryResponse({ resultType: 'matrix', series: [{ labels: { rank: '1' }, samples: [[1_588_889_221_000, 1], [1_588_889_221_500, 2.5]] }], stats }, { categorizeLabels: true, direction: 'backward' }),
  );
  assert.deepEqual(Object.keys(matrix.data), ['resultType', 'result', 'stats'], 'encodingFlags only for streams');
  assert.deepEqual(matrix.data.result, [{ metric: { rank: '1' }, values: [[1588889221, '1'], [1588889221.5, '2.5']] }]);
  const vector = JSON.parse(encodeQueryResponse({ resultType: 'vector', samples: [{ labels: {}, timestampMs: 4_000_000_000_000, value: 2 }], stats }, { categorizeLabels: false, direction: 'backward' }));
  assert.deepEqual(vector.data.result, [{ metric: {}, value: [4000000000, '2'] }]);
  const scalar = JSON.parse(encodeQueryResponse({ resultType: 'scalar', timestampMs: 1_000, value: Number.NaN, stats }, { categorizeLabels: false, direction: 'backward' }));
  assert.deepEqual(scalar.data.result, [1, 'NaN']);
});

test("numbers format like Go's FormatFloat 'f' -1 and model.Time", () => {
  const cases: Array<[number, string]> = [[1, '1'], [0.1, '0.1'], [1e21, '1000000000000000000000'], [1.5e-7, '0.00000015'], [-2.5e22, '-25000000000000000000000'], [Infinity, '+Inf'], [-Infinity, '-Inf']];
  for (const [value, text] of cases) assert.equal(formatSampleValue(value), text, String(value));
  assert.equal(formatUnixSeconds(1_000_010), '1000.01');
  assert.equal(formatUnixSeconds(1_000_000), '1000');
});
