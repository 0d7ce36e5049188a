// Metrics queries against a partition's owner, split by time. The owner knows `coverFromMs`: every
// sample it holds that may not be in a durable block has a timestamp at or after it (it tracks the
// smallest timestamp applied since the last head cut began). So a select is answered in two
// disjoint halves: samples at or after coverFromMs from the owner's TSDB (head and blocks), and
// before it from the durable blocks the owner lists, which the asking replica reads from the object
// store itself. No sample is counted twice and none is missed, whatever the owner flushed meanwhile.

import type { BlockMeta } from '../tsdb/block.ts';
import type { SeriesExemplars } from '../tsdb/exemplar-storage.ts';
import { seriesKey } from '../tsdb/series-index.ts';
import type { Labels, SeriesSamples, SeriesSelectQuery } from '../tsdb/types.ts';
import { encodeFrame, ProtocolError, type MetricRequest, type ReplyFrame, type WireSeries, type WireSeriesExemplars } from './query-protocol.ts';

/** What an owner answers metrics queries from: its partition's TSDB and the time its blocks cover. */
export interface PartitionMetrics {
  select(tenant: string, query: SeriesSelectQuery): Promise<SeriesSamples[]>;
  series(tenant: string, matcherSets: SeriesSelectQuery['matchers'][], startMs: number, endMs: number): Promise<Labels[]>;
  blockMetas(): BlockMeta[];
  /** Samples before this time are all in durable blocks; Infinity when nothing is uncommitted. */
  coverFromMs(): number;
  /** The exemplars the owner's TSDB keeps (in memory, as Prometheus keeps them; blocks hold none). */
  exemplars(tenant: string, matcherSets: SeriesSelectQuery['matchers'][], startMs: number, endMs: number): SeriesExemplars[];
}

/** JSON bytes of a series beyond its labels in a frame header. */
const SERIES_JSON_BYTES = 48;

export async function answerMetricRequest(request: MetricRequest, metrics: PartitionMetrics, frameBudgetBytes: number, send: (data: Uint8Array) => void): Promise<void> {
  if (request.op === 'metricSeries') {
    send(encodeFrame({ kind: 'labelSets', series: await metrics.series(request.tenant, request.matcherSets, request.startMs, request.endMs) }));
    return;
  }
  if (request.op === 'metricExemplars') {
    sendExemplars(metrics.exemplars(request.tenant, request.matcherSets, request.startMs, request.endMs), frameBudgetBytes, send);
    return;
  }
  const { tenant, matchers, startMs, endMs } = request;
  // Read together, before any await: the block list and the boundary describe the same moment.
  const cover = metrics.coverFromMs();
  const blocks = metrics.blockMetas().filter((meta) => meta.tenant === tenant && meta.minTimeMs < cover && meta.maxTimeMs >= startMs && meta.minTimeMs <= endMs);
  const fromMs = Math.max(startMs, cover);
  const selected = fromMs <= endMs ? await metrics.select(tenant, { matchers, startMs: fromMs, endMs }) : [];
  const coverFromMs = Number.isFinite(cover) ? cover : null;
  let wire: WireSeries[] = [];
  let bodies: Buffer[] = [];
  let frameBytes = 0;
  let sent = false;
  const flush = (): void => {
    send(encodeFrame({ kind: 'samples', coverFromMs, blocks: sent ? [] : blocks, series: wire }, bodies));
    sent = true;
    wire = [];
    bodies = [];
    frameBytes = 0;
  };
  for (const series of selected) {
    const labelBytes = SERIES_JSON_BYTES + JSON.stringify(series.labels).length;
    const perSample = series.stale === undefined ? 16 : 17;
    const perPiece = Math.max(1, Math.floor((frameBudgetBytes / 2 - labelBytes) / perSample));
    for (let from = 0; from < series.timestampsMs.length; from += perPiece) {
      const to = Math.min(series.timestampsMs.length, from + perPiece);
      const cost = labelBytes + (to - from) * perSample;
      if (frameBytes + cost > frameBudgetBytes && wire.length > 0) flush();
      const timestamps = series.timestampsMs.subarray(from, to);
      const values = series.values.subarray(from, to);
      bodies.push(Buffer.from(timestamps.buffer, timestamps.byteOffset, timestamps.byteLength), Buffer.from(values.buffer, values.byteOffset, values.byteLength));
      if (series.stale !== undefined) bodies.push(Buffer.from(series.stale.subarray(from, to)));
      wire.push({ labels: series.labels, count: to - from, stale: series.stale !== undefined });
      frameBytes += cost;
    }
  }
  if (wire.length > 0 || !sent) flush();
}

export interface OwnerSamples {
  /** Null: the owner sent no samples, everything is in `blocks`. */
  coverFromMs: number | null;
  blocks: BlockMeta[];
  series: SeriesSamples[];
}

/** The frames of one owner's answer to a metricSelect. */
export function decodeSampleFrames(frames: readonly ReplyFrame[]): OwnerSamples {
  const answer: OwnerSamples = { coverFromMs: null, blocks: [], series: [] };
  for (const frame of frames) {
    if (frame.header.kind !== 'samples') continue;
    answer.coverFromMs = frame.header.coverFromMs;
    answer.blocks.push(...frame.header.blocks);
    let offset = 0;
    for (const wire of frame.header.series) {
      const bytes = wire.count * (wire.stale ? 17 : 16);
      if (offset + bytes > frame.body.length) throw new ProtocolError(`samples frame: series ${JSON.stringify(wire.labels)} needs ${bytes} bytes, ${frame.body.length - offset} left`);
      // Copied out: the body's offset need not be 8-byte aligned for a Float64Array view.
      const timestampsMs = new Float64Array(wire.count);
      Buffer.from(timestampsMs.buffer).set(frame.body.subarray(offset, offset + wire.count * 8));
      offset += wire.count * 8;
      const values = new Float64Array(wire.count);
      Buffer.from(values.buffer).set(frame.body.subarray(offset, offset + wire.count * 8));
      offset += wire.count * 8;
      const series: SeriesSamples = { labels: wire.labels, timestampsMs, values };
      if (wire.stale) {
        series.stale = new Uint8Array(frame.body.subarray(offset, offset + wire.count));
        offset += wire.count;
      }
      answer.series.push(series);
    }
  }
  return answer;
}

/** One exemplar's JSON beyond its labels (value, timestamp, punctuation). */
const EXEMPLAR_JSON_BYTES = 64;

/** Exemplars packed into frames of at most about `frameBudgetBytes` of JSON; a long series spans frames. */
function sendExemplars(found: SeriesExemplars[], frameBudgetBytes: number, send: (data: Uint8Array) => void): void {
  let series: WireSeriesExemplars[] = [];
  let frameBytes = 0;
  for (const { seriesLabels, exemplars } of found) {
    const seriesBytes = SERIES_JSON_BYTES + Buffer.byteLength(JSON.stringify(seriesLabels));
    let piece: WireSeriesExemplars | undefined;
    for (const exemplar of exemplars) {
      const cost = EXEMPLAR_JSON_BYTES + Buffer.byteLength(JSON.stringify(exemplar.labels));
      if (frameBytes + cost + (piece === undefined ? seriesBytes : 0) > frameBudgetBytes && series.length > 0) {
        send(encodeFrame({ kind: 'exemplars', series }));
        series = [];
        frameBytes = 0;
        piece = undefined;
      }
      if (piece === undefined) {
        series.push((piece = { seriesLabels, exemplars: [] }));
        frameBytes += seriesBytes;
      }
      piece.exemplars.push({ labels: exemplar.labels, value: String(exemplar.value), timestampMs: exemplar.timestampMs });
      frameBytes += cost;
    }
  }
  send(encodeFrame({ kind: 'exemplars', series }));
}

/** The exemplars of owners' answers, a series' pieces joined (a series lives in one partition). */
export function decodeExemplarFrames(frames: readonly ReplyFrame[]): SeriesExemplars[] {
  const byKey = new Map<string, SeriesExemplars>();
  for (const frame of frames) {
    if (frame.header.kind !== 'exemplars') continue;
    for (const wire of frame.header.series) {
      const key = seriesKey(wire.seriesLabels);
      let series = byKey.get(key);
      if (series === undefined) byKey.set(key, (series = { seriesLabels: wire.seriesLabels, exemplars: [] }));
      for (const exemplar of wire.exemplars) series.exemplars.push({ labels: exemplar.labels, value: Number(exemplar.value), timestampMs: exemplar.timestampMs });
    }
  }
  return [...byKey.values()];
}
