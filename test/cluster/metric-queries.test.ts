import { test } from 'node:test';
import assert from 'node:assert/strict';
import { answerMetricRequest, decodeExemplarFrames, decodeSampleFrames, type PartitionMetrics } from '../../src/cluster/metric-queries.ts';
import { decodeFrame, type MetricRequest } from '../../src/cluster/query-protocol.ts';
import type { BlockMeta } from '../../src/tsdb/block.ts';
import type { SeriesExemplars } from '../../src/tsdb/exemplar-storage.ts';
import type { SeriesSamples, SeriesSelectQuery } from '../../src/tsdb/types.ts';

function meta(id: string, tenant: string, minTimeMs: number, maxTimeMs: number): BlockMeta {
  return { id, tenant, minTimeMs, maxTimeMs } as BlockMeta;
}

function owner(cover: number, series: SeriesSamples[], blocks: BlockMeta[], selects: SeriesSelectQuery[], exemplars: SeriesExemplars[] = []): PartitionMetrics {
  return {
    coverFromMs: () => cover,
    blockMetas: () => blocks,
    select: async (_tenant, query) => {
      selects.push(query);
      return series;
    },
    series: async () => series.map((entry) => entry.labels),
    exemplars: () => exemplars,
  };
}

async function ask(metrics: PartitionMetrics, request: MetricRequest, budgetBytes: number) {
  const sent: Uint8Array[] = [];
  await answerMetricRequest(request, metrics, budgetBytes, (data) => sent.push(data));
  return { frames: sent.map((data) => decodeFrame(data)), count: sent.length };
}

const select = (startMs: number, endMs: number): MetricRequest => ({ op: 'metricSelect', tenant: 't', matchers: [{ name: '__name__', type: '=', value: 'm' }], startMs, endMs });

test('the owner answers from coverFromMs on and lists only the durable blocks before it', async () => {
  const selects: SeriesSelectQuery[] = [];
  const blocks = [meta('old', 't', 0, 999), meta('straddles', 't', 900, 2100), meta('after', 't', 2000, 3000), meta('other-tenant', 'u', 0, 999), meta('before-query', 't', -500, -100)];
  const series: SeriesSamples[] = [{ labels: { __name__: 'm' }, timestampsMs: new Float64Array([2000, 2500]), values: new Float64Array([1, NaN]), stale: new Uint8Array([0, 1]) }];
  const { frames } = await ask(owner(2000, series, blocks, selects), select(0, 5000), 1 << 20);
  const answer = decodeSampleFrames(frames);
  assert.equal(answer.coverFromMs, 2000);
  assert.deepEqual(answer.blocks.map((block) => block.id), ['old', 'straddles']);
  assert.deepEqual(selects.map((query) => [query.startMs, query.endMs]), [[2000, 5000]], 'the owner selects only from coverFromMs');
  assert.deepEqual([...answer.series[0]!.timestampsMs], [2000, 2500]);
  assert.ok(Number.isNaN(answer.series[0]!.values[1]!));
  assert.deepEqual([...answer.series[0]!.stale!], [0, 1]);
});

test('an owner with nothing uncommitted sends no samples, only blocks', async () => {
  const selects: SeriesSelectQuery[] = [];
  const { frames, count } = await ask(owner(Infinity, [], [meta('b', 't', 0, 100)], selects), select(0, 5000), 1 << 20);
  assert.equal(count, 1);
  const answer = decodeSampleFrames(frames);
  assert.equal(answer.coverFromMs, null);
  assert.deepEqual(selects, []);
  assert.deepEqual(answer.blocks.map((block) => block.id), ['b']);
});

test('a long series is split over frames within the budget and joins back whole', async () => {
  const length = 20_000;
  const series: SeriesSamples[] = [
    { labels: { __name__: 'm', s: 'long' }, timestampsMs: Float64Array.from({ length }, (_, i) => i), values: Float64Array.from({ length }, (_, i) => i * 2) },
    { labels: { __name__: 'm', s: 'short' }, timestampsMs: new Float64Array([5]), values: new Float64Array([7]) },
  ];
  const budgetBytes = 64 * 1024;
  const sent: Uint8Array[] = [];
  await answerMetricRequest(select(0, 1e9), owner(0, series, [], []), budgetBytes, (data) => sent.push(data));
  assert.ok(sent.length > 4, `${sent.length} frames`);
  for (const data of sent) assert.ok(data.length <= budgetBytes + 1024, `frame of ${data.length} bytes`);
  const answer = decodeSampleFrames(sent.map((data) => decodeFrame(data)));
  const long = answer.series.filter((entry) => entry.labels.s === 'long');
  assert.deepEqual(long.flatMap((entry) => [...entry.timestampsMs]), [...series[0]!.timestampsMs]);
  assert.deepEqual(long.flatMap((entry) => [...entry.values]), [...series[0]!.values]);
});

test('a frame whose body is shorter than its series say is refused', () => {
  assert.throws(() => decodeSampleFrames([{ header: { kind: 'samples', coverFromMs: 0, blocks: [], series: [{ labels: {}, count: 10, stale: false }] }, body: Buffer.alloc(100) }]), /needs 160 bytes, 100 left/);
});

test('exemplars travel in frames within the budget, a long series split and joined, NaN and ±Inf kept', async () => {
  const many: SeriesExemplars = { seriesLabels: { __name__: 'm', s: 'long' }, exemplars: Array.from({ length: 3000 }, (_, i) => ({ labels: { trace_id: `trace-${i}` }, value: i / 4, timestampMs: 1000 + i })) };
  const odd: SeriesExemplars = { seriesLabels: { __name__: 'm', s: 'odd' }, exemplars: [NaN, Infinity, -Infinity].map((value, i) => ({ labels: { trace_id: `odd-${i}` }, value, timestampMs: i })) };
  const budgetBytes = 16 * 1024;
  const sent: Uint8Array[] = [];
  const request: MetricRequest = { op: 'metricExemplars', tenant: 't', matcherSets: [[{ name: '__name__', type: '=', value: 'm' }]], startMs: 0, endMs: 1e9 };
  await answerMetricRequest(request, owner(0, [], [], [], [many, odd]), budgetBytes, (data) => sent.push(data));
  assert.ok(sent.length > 4, `${sent.length} frames`);
  for (const data of sent) assert.ok(data.length <= budgetBytes + 1024, `frame of ${data.length} bytes`);
  const decoded = decodeExemplarFrames(sent.map((data) => decodeFrame(data)));
  assert.deepEqual(decoded, [many, odd]);
});
