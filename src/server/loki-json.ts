// Typed engine results to Loki's JSON (pkg/util/marshal/query.go; shared/reference/loki-api.md §2.3).
// Written as strings rather than through JSON.stringify of an object tree: a 5000-line answer is on
// the hot path of every Grafana refresh. Key order follows Loki: resultType, encodingFlags, result,
// stats — Grafana reads encodingFlags before result.

import type { Labels } from '../push/types.ts';
import type { Direction, QueryResult, QueryStatistics, StreamResult } from '../logql/api.ts';

export const CATEGORIZE_LABELS = 'categorize-labels';

export interface EncodeOptions {
  categorizeLabels: boolean;
  direction: Direction;
}

export function encodeQueryResponse(result: QueryResult, options: EncodeOptions, warnings: string[] = result.warnings ?? []): string {
  let data = `{"resultType":"${result.resultType}",`;
  if (result.resultType === 'streams' && options.categorizeLabels) data += `"encodingFlags":["${CATEGORIZE_LABELS}"],`;
  data += '"result":';
  switch (result.resultType) {
    case 'streams':
      data += options.categorizeLabels ? encodeCategorizedStreams(result.streams, options.direction) : encodeStreams(result.streams);
      break;
    case 'matrix':
      data += '[';
      result.series.forEach((series, i) => {
        if (i > 0) data += ',';
        data += `{"metric":${encodeLabels(series.labels)},"values":[`;
        for (let p = 0; p < series.samples.length; p++) {
          const [timestampMs, value] = series.samples[p]!;
          data += `${p > 0 ? ',' : ''}[${formatUnixSeconds(timestampMs)},"${formatSampleValue(value)}"]`;
        }
        data += ']}';
      });
      data += ']';
      break;
    case 'vector':
      data += '[';
      result.samples.forEach((sample, i) => {
        data += `${i > 0 ? ',' : ''}{"metric":${encodeLabels(sample.labels)},"value":[${formatUnixSeconds(sample.timestampMs)},"${formatSampleValue(sample.value)}"]}`;
      });
      data += ']';
      break;
    case 'scalar':
      data += `[${formatUnixSeconds(result.timestampMs)},"${formatSampleValue(result.value)}"]`;
      break;
  }
  data += `,"stats":${JSON.stringify(encodeStats(result.stats, countEntries(result)))}}`;
  const warningsText = warnings.length > 0 ? `"warnings":${JSON.stringify(warnings)},` : '';
  return `{"status":"success",${warningsText}"data":${data}}`;
}

function countEntries(result: QueryResult): number {
  if (result.resultType === 'streams') return result.streams.reduce((sum, stream) => sum + stream.entries.length, 0);
  if (result.resultType === 'matrix') return result.series.reduce((sum, series) => sum + series.samples.length, 0);
  if (result.resultType === 'vector') return result.samples.length;
  return 1;
}

export function encodeLabels(labels: Labels): string {
  let text = '{';
  let first = true;
  for (const name in labels) {
    text += `${first ? '' : ','}${JSON.stringify(name)}:${JSON.stringify(labels[name])}`;
    first = false;
  }
  return text + '}';
}

function encodeStreams(streams: StreamResult[]): string {
  let text = '[';
  for (let s = 0; s < streams.length; s++) {
    const stream = streams[s]!;
    text += `${s > 0 ? ',' : ''}{"stream":${encodeLabels(stream.labels)},"values":[`;
    for (let i = 0; i < stream.entries.length; i++) {
      const entry = stream.entries[i]!;
      text += `${i > 0 ? ',' : ''}["${entry.timestampNs}",${JSON.stringify(entry.line)}]`;
    }
    text += ']}';
  }
  return text + ']';
}

/**
 * With categorize-labels, `stream` holds only the indexed labels and each value carries its
 * structured metadata and parsed labels; result streams sharing indexed labels become one stream.
 */
function encodeCategorizedStreams(streams: StreamResult[], direction: Direction): string {
  const grouped = new Map<string, { labels: Labels; values: Array<{ ns: bigint; text: string }> }>();
  for (const stream of streams) {
    for (const entry of stream.entries) {
      const indexed = indexedLabels(stream.labels, entry.structuredMetadata, entry.parsed);
      const key = encodeLabels(indexed);
      let group = grouped.get(key);
      if (group === undefined) {
        group = { labels: indexed, values: [] };
        grouped.set(key, group);
      }
      let extra = '{';
      if (entry.structuredMetadata !== undefined && Object.keys(entry.structuredMetadata).length > 0) {
        extra += `"structuredMetadata":${encodeLabels(entry.structuredMetadata)}`;
      }
      if (entry.parsed !== undefined && Object.keys(entry.parsed).length > 0) {
        extra += `${extra.length > 1 ? ',' : ''}"parsed":${encodeLabels(entry.parsed)}`;
      }
      extra += '}';
      group.values.push({ ns: entry.timestampNs, text: `["${entry.timestampNs}",${JSON.stringify(entry.line)},${extra}]` });
    }
  }
  let text = '[';
  let first = true;
  for (const [key, group] of grouped) {
    if (streams.length > 1) {
      group.values.sort((a, b) => (a.ns === b.ns ? 0 : (a.ns < b.ns) === (direction === 'forward') ? -1 : 1));
    }
    text += `${first ? '' : ','}{"stream":${key},"values":[${group.values.map((value) => value.text).join(',')}]}`;
    first = false;
  }
  return text + ']';
}

function indexedLabels(all: Labels, structuredMetadata: Labels | undefined, parsed: Labels | undefined): Labels {
  if (structuredMetadata === undefined && parsed === undefined) return all;
  const indexed: Labels = {};
  for (const name in all) {
    if (structuredMetadata !== undefined && Object.hasOwn(structuredMetadata, name)) continue;
    if (parsed !== undefined && Object.hasOwn(parsed, name)) continue;
    indexed[name] = all[name]!;
  }
  return indexed;
}

/** model.Time.String(): unix seconds with up to 3 decimals, written as a JSON number. */
export function formatUnixSeconds(timestampMs: number): string {
  const whole = Math.floor(timestampMs / 1000);
  const ms = timestampMs - whole * 1000;
  if (ms === 0) return String(whole);
  return `${whole}.${String(ms).padStart(3, '0').replace(/0+$/, '')}`;
}

/** Go's strconv.FormatFloat(v, 'f', -1, 64): shortest round-trip digits, never an exponent. */
export function formatSampleValue(value: number): string {
  if (Number.isNaN(value)) return 'NaN';
  if (value === Infinity) return '+Inf';
  if (value === -Infinity) return '-Inf';
  const text = String(value);
  if (!text.includes('e')) return text;
  const [mantissa = '', exponentText = '0'] = text.split('e');
  const exponent = Number(exponentText);
  const negative = mantissa.startsWith('-');
  const digits = mantissa.replace('-', '').replace('.', '');
  const pointAt = (mantissa.replace('-', '').indexOf('.') < 0 ? mantissa.replace('-', '').length : mantissa.replace('-', '').indexOf('.')) + exponent;
  let result: string;
  if (pointAt <= 0) result = `0.${'0'.repeat(-pointAt)}${digits}`;
  else if (pointAt >= digits.length) result = digits + '0'.repeat(pointAt - digits.length);
  else result = `${digits.slice(0, pointAt)}.${digits.slice(pointAt)}`;
  return negative ? `-${result}` : result;
}

/** Loki's stats block (HEAD shape), filled from what the engine measured. */
export function encodeStats(stats: QueryStatistics, entriesReturned: number): Record<string, unknown> {
  const execTime = stats.execTimeSeconds;
  const chunk = {
    headChunkBytes: 0,
    headChunkLines: 0,
    decompressedBytes: stats.bytesProcessed,
    decompressedLines: stats.linesProcessed,
    compressedBytes: 0,
    totalDuplicates: 0,
    postFilterLines: 0,
    headChunkStructuredMetadataBytes: 0,
    decompressedStructuredMetadataBytes: 0,
  };
  const store = {
    totalChunksRef: stats.blocksRead + stats.blocksSkipped,
    totalChunksDownloaded: stats.blocksRead,
    chunksDownloadTime: 0,
    queryReferencedStructuredMetadata: false,
    chunk,
    chunkRefsFetchTime: 0,
    congestionControlLatency: 0,
    pipelineWrapperFilteredLines: 0,
  };
  const emptyCache = { entriesFound: 0, entriesRequested: 0, entriesStored: 0, bytesReceived: 0, bytesSent: 0, requests: 0, downloadTime: 0, queryLengthServed: 0 };
  return {
    summary: {
      bytesProcessedPerSecond: execTime > 0 ? Math.round(stats.bytesProcessed / execTime) : 0,
      linesProcessedPerSecond: execTime > 0 ? Math.round(stats.linesProcessed / execTime) : 0,
      totalBytesProcessed: stats.bytesProcessed,
      totalLinesProcessed: stats.linesProcessed,
      execTime,
      queueTime: 0,
      subqueries: 0,
      totalEntriesReturned: entriesReturned,
      splits: 0,
      shards: 0,
      totalPostFilterLines: 0,
      totalStructuredMetadataBytesProcessed: 0,
    },
    querier: { store, querierExecTime: execTime },
    ingester: { totalReached: 0, totalChunksMatched: 0, totalBatches: 0, totalLinesSent: 0, store: { ...store, totalChunksRef: 0, totalChunksDownloaded: 0, chunk: { ...chunk, decompressedBytes: 0, decompressedLines: 0 } } },
    cache: {
      chunk: emptyCache,
      index: emptyCache,
      result: emptyCache,
      statsResult: emptyCache,
      volumeResult: emptyCache,
      seriesResult: emptyCache,
      labelResult: emptyCache,
      instantMetricResult: emptyCache,
      logResult: emptyCache,
      taskResult: emptyCache,
    },
    index: { totalChunks: stats.blocksRead + stats.blocksSkipped, postFilterChunks: stats.blocksRead, shardsDuration: 0, usedBloomFilters: stats.blocksSkipped > 0, totalStreams: 0, chunkRefsLookupTime: 0, bloomFilterTime: 0 },
  };
}
