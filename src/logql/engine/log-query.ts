// Log queries (`{…} |= "x" | json`): entries in [start, end), `limit` applied across all streams in
// the query direction, optional `interval` thinning, grouped into result streams.

import type { Labels } from '../../push/types.ts';
import { formatLabels } from '../../push/labels.ts';
import type { LogEntryResult, QueryParams, StreamResult } from '../api.ts';
import { QueryLimitError } from '../api.ts';
import type { LogExpr } from '../syntax/ast.ts';
import { scanBlock, selectBlocks, selectPipeline, type SelectedLine } from './log-selection.ts';
import type { QueryContext } from './query-context.ts';
import { labelsKey } from './series-labels.ts';

interface Candidate {
  timestampNs: bigint;
  line: string;
  labels: Labels;
  structuredMetadata?: Labels;
  parsed?: Labels;
  key: string;
}

const BLOCK_LOAD_CONCURRENCY = 4;

export function checkEntriesLimit(context: QueryContext, limit: number): void {
  const max = context.limits.maxEntriesLimitPerQuery;
  if (max > 0 && limit > max) {
    throw new QueryLimitError(`max entries limit per query exceeded, limit > max_entries_limit_per_query (${limit} > ${max})`);
  }
}

export async function evaluateLogQuery(context: QueryContext, expr: LogExpr, params: QueryParams): Promise<StreamResult[]> {
  checkEntriesLimit(context, params.limit);
  const limit = params.limit > 0 ? params.limit : Infinity;
  const backward = params.direction === 'backward';
  const pipeline = selectPipeline(expr);
  const options = {
    startNs: params.startNs,
    endNs: params.endNs,
    backward,
    perBlockLimit: params.intervalMs > 0 ? undefined : limit,
  };
  const refs = await selectBlocks(context, expr, pipeline, options);
  refs.sort((a, b) => (backward ? compareBig(b.maxTimeNs, a.maxTimeNs) : compareBig(a.minTimeNs, b.minTimeNs)));
  let candidates: Candidate[] = [];
  let cutoffNs: bigint | null = null;
  const order = (a: Candidate, b: Candidate) => {
    const byTime = backward ? compareBig(b.timestampNs, a.timestampNs) : compareBig(a.timestampNs, b.timestampNs);
    return byTime !== 0 ? byTime : a.key < b.key ? -1 : a.key > b.key ? 1 : 0;
  };
  const visit = (selected: SelectedLine, line: string | null) => {
    candidates.push(toCandidate(selected, line!));
  };
  for (let i = 0; i < refs.length; i += BLOCK_LOAD_CONCURRENCY) {
    context.checkDeadline();
    let batch = refs.slice(i, i + BLOCK_LOAD_CONCURRENCY);
    if (cutoffNs !== null && options.perBlockLimit !== undefined) {
      const cut = cutoffNs;
      batch = batch.filter((ref) => (backward ? ref.maxTimeNs >= cut : ref.minTimeNs <= cut));
      context.stats.blocksSkipped += BLOCK_LOAD_CONCURRENCY - batch.length;
      if (batch.length === 0) break;
    }
    const blocks = await Promise.all(batch.map((ref) => ref.load()));
    context.stats.blocksRead += blocks.length;
    for (const block of blocks) scanBlock(block, pipeline, options, context, visit, true);
    if (options.perBlockLimit !== undefined && candidates.length >= limit) {
      candidates.sort(order);
      candidates = candidates.slice(0, limit);
      cutoffNs = candidates[candidates.length - 1]!.timestampNs;
    }
  }
  candidates.sort(order);
  if (params.intervalMs > 0) candidates = applyInterval(candidates, BigInt(params.intervalMs) * 1_000_000n, backward, params);
  if (candidates.length > limit) candidates = candidates.slice(0, limit);
  return groupStreams(candidates);
}

function compareBig(a: bigint, b: bigint): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

function toCandidate(selected: SelectedLine, line: string): Candidate {
  if (selected.entry) {
    const builder = selected.entry.labels;
    const labels = builder.toLabels();
    const metadata = builder.labelsOf('metadata');
    const parsed = builder.labelsOf('parsed');
    return {
      timestampNs: selected.timestampNs,
      line,
      labels,
      structuredMetadata: Object.keys(metadata).length > 0 ? metadata : undefined,
      parsed: Object.keys(parsed).length > 0 ? parsed : undefined,
      key: labelsKey(labels),
    };
  }
  if (selected.metadata && selected.metadata.length > 0) {
    const labels: Labels = { ...selected.streamLabels };
    const metadata: Labels = {};
    for (const pair of selected.metadata) {
      labels[pair.name] = pair.value;
      metadata[pair.name] = pair.value;
    }
    return { timestampNs: selected.timestampNs, line, labels, structuredMetadata: metadata, key: labelsKey(labels) };
  }
  return { timestampNs: selected.timestampNs, line, labels: selected.streamLabels, key: labelsKey(selected.streamLabels) };
}

/**
 * Loki's `interval`: walking in query order, an entry is kept only when it is at least `interval`
 * after (forward) or before (backward) the previously kept one. Forward counts from the query start
 * in whole intervals; backward from the end.
 */
function applyInterval(candidates: Candidate[], intervalNs: bigint, backward: boolean, params: QueryParams): Candidate[] {
  const kept: Candidate[] = [];
  let next: bigint | null = null;
  for (const candidate of candidates) {
    if (next === null) {
      kept.push(candidate);
      next = backward ? candidate.timestampNs - intervalNs : candidate.timestampNs + intervalNs;
      continue;
    }
    if (backward ? candidate.timestampNs <= next : candidate.timestampNs >= next) {
      kept.push(candidate);
      next = backward ? candidate.timestampNs - intervalNs : candidate.timestampNs + intervalNs;
    }
  }
  void params;
  return kept;
}

function groupStreams(candidates: Candidate[]): StreamResult[] {
  const streams = new Map<string, StreamResult>();
  for (const candidate of candidates) {
    let stream = streams.get(candidate.key);
    if (!stream) {
      stream = { labels: candidate.labels, entries: [] };
      streams.set(candidate.key, stream);
    }
    const entry: LogEntryResult = { timestampNs: candidate.timestampNs, line: candidate.line };
    if (candidate.structuredMetadata) entry.structuredMetadata = candidate.structuredMetadata;
    if (candidate.parsed) entry.parsed = candidate.parsed;
    stream.entries.push(entry);
  }
  const result = [...streams.values()];
  const texts = new Map(result.map((s) => [s, formatLabels(s.labels)]));
  result.sort((a, b) => (texts.get(a)! < texts.get(b)! ? -1 : texts.get(a)! > texts.get(b)! ? 1 : 0));
  return result;
}
