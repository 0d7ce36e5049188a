// Log queries (`{…} |= "x" | json`): entries in [start, end), `limit` applied across all streams in
// the query direction, optional `interval` thinning, grouped into result streams.

import type { Labels } from '../../push/types.ts';
import { formatLabels } from '../../push/labels.ts';
import type { LogEntryResult, QueryParams, StreamResult } from '../api.ts';
import { QueryLimitError } from '../api.ts';
import type { LogExpr } from '../syntax/ast.ts';
import { scanBlock, selectBlocks, selectPipeline, type SelectedLine } from './log-selection.ts';
import { releaseBlockColumns } from './block-scan.ts';
import type { BlockData, BlockRef } from '../../store/types.ts';
import type { CompiledPipeline } from '../log/pipeline.ts';
import type { QueryStatistics } from '../api.ts';
import type { QueryContext } from './query-context.ts';
import { labelsKey } from './series-labels.ts';
import type { Candidate, LogScanOptions } from './scan-types.ts';
import { rawBytesOf } from './scan-budget.ts';

export type { Candidate, LogScanOptions };

const BLOCK_LOAD_CONCURRENCY = 4;

export function checkEntriesLimit(context: QueryContext, limit: number): void {
  const max = context.limits.maxEntriesLimitPerQuery;
  if (max > 0 && limit > max) {
    throw new QueryLimitError(`max entries limit per query exceeded, limit > max_entries_limit_per_query (${limit} > ${max})`);
  }
}

/**
 * Log-query scans split into chunks of about this much raw text (4 of the store's 2 MB blocks), scanned
 * in query order: small enough that the limit's cutoff is known early and later chunks are skipped.
 */
const CHUNK_RAW_BYTES = 8 * 1024 * 1024;
/**
 * With a limit, the first chunk holds about this much and each next one twice the one before, up to
 * CHUNK_RAW_BYTES: "the last 100 lines of a stream" is in its newest block, and two 8 MB chunks in
 * flight decoded 16 MB for it, 8 times that when the stream's blocks share stream group frames
 * (each member block decompresses its whole frame).
 */
const FIRST_CHUNK_RAW_BYTES = 256 * 1024;

/** Scans loaded blocks and returns their candidates (at most perBlockLimit per block). */
export function scanLogBlocks(blocks: BlockData[], pipeline: CompiledPipeline, options: LogScanOptions, context: { stats: QueryStatistics }): Candidate[] {
  const candidates: Candidate[] = [];
  const visit = (selected: SelectedLine, line: string | null) => {
    candidates.push(toCandidate(selected, line!));
  };
  for (const block of blocks) scanBlock(block, pipeline, options, context, visit, true);
  return candidates;
}

export async function evaluateLogQuery(context: QueryContext, expr: LogExpr, params: QueryParams): Promise<StreamResult[]> {
  checkEntriesLimit(context, params.limit);
  const limit = params.limit > 0 ? params.limit : Infinity;
  const backward = params.direction === 'backward';
  const pipeline = selectPipeline(expr);
  const options: LogScanOptions = {
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
  const merge = (found: Candidate[]) => {
    for (const candidate of found) candidates.push(candidate);
    if (options.perBlockLimit !== undefined && candidates.length >= limit) {
      candidates.sort(order);
      candidates = candidates.slice(0, limit);
      cutoffNs = candidates[candidates.length - 1]!.timestampNs;
    }
  };
  // A block entirely past the cutoff cannot contribute once `limit` entries are known.
  const beyondCutoff = (ref: BlockRef) =>
    cutoffNs !== null && options.perBlockLimit !== undefined && (backward ? ref.maxTimeNs < cutoffNs : ref.minTimeNs > cutoffNs);

  // With a limit, the first block (or chunk) is read alone: it usually holds the limit, and what
  // comes next may be a merge of every block of the stream that overlaps in time (store.ts,
  // mergeOverlapping), read ahead for nothing once the cutoff is known: on the 1 GB bench store after
  // compaction, 24 MB for the last 100 lines of one rank. Then reads go on in parallel, cutoff or not.
  let firstRead = options.perBlockLimit === undefined;
  const scanLocally = async (chunk: BlockRef[]) => {
    for (let i = 0; i < chunk.length; ) {
      context.checkDeadline();
      const take = firstRead ? BLOCK_LOAD_CONCURRENCY : 1;
      firstRead = true;
      const batch = chunk.slice(i, i + take).filter((ref) => !beyondCutoff(ref));
      i += take;
      if (batch.length === 0) return;
      const release = await context.holdScanBytes(rawBytesOf(batch));
      try {
        const blocks = await Promise.all(batch.map((ref) => ref.load()));
        context.stats.blocksRead += blocks.length;
        context.noteUnreadable(blocks);
        merge(scanLogBlocks(blocks, pipeline, options, context));
        // Candidates hold strings: a block read from its part for this query is done with.
        for (let k = 0; k < blocks.length; k++) if (batch[k]!.location !== undefined) releaseBlockColumns(blocks[k]!);
      } finally {
        release();
      }
      await context.pause();
    }
  };
  const offload = context.offload;
  const parallel = offload !== undefined && offload.threads > 1 && offload.worthIt(refs);
  const chunks = parallel ? chunkRefs(refs, options.perBlockLimit === undefined ? CHUNK_RAW_BYTES : FIRST_CHUNK_RAW_BYTES) : [refs];
  const window = parallel ? offload!.threads : 1;
  let firstChunkDone = options.perBlockLimit === undefined;
  const inflight = new Set<Promise<void>>();
  let next = 0;
  while (next < chunks.length || inflight.size > 0) {
    while (inflight.size < (next === 1 && !firstChunkDone ? 1 : window) && next < chunks.length) {
      context.checkDeadline();
      const chunk = chunks[next++]!.filter((ref) => !beyondCutoff(ref));
      if (chunk.length === 0) {
        context.stats.blocksSkipped += chunks.slice(next - 1).reduce((n, c) => n + c.length, 0);
        next = chunks.length;
        break;
      }
      const remote = parallel && chunk.every((ref) => ref.location !== undefined);
      const task: Promise<void> = (remote ? offload!.logs(context, expr, options, chunk).then(merge) : scanLocally(chunk)).finally(() => (firstChunkDone = true));
      const tracked = task.finally(() => inflight.delete(tracked));
      inflight.add(tracked);
    }
    if (inflight.size > 0) await Promise.race(inflight);
  }
  candidates.sort(order);
  if (params.intervalMs > 0) candidates = applyInterval(candidates, BigInt(params.intervalMs) * 1_000_000n, backward);
  if (candidates.length > limit) candidates = candidates.slice(0, limit);
  return groupStreams(candidates);
}

/**
 * Consecutive refs (in query order) grouped into chunks of about `firstChunkBytes`, doubling up to
 * CHUNK_RAW_BYTES; head blocks get their own chunks.
 */
export function chunkRefs(refs: BlockRef[], firstChunkBytes = CHUNK_RAW_BYTES): BlockRef[][] {
  const chunks: BlockRef[][] = [];
  let chunk: BlockRef[] = [];
  let bytes = 0;
  let target = Math.min(firstChunkBytes, CHUNK_RAW_BYTES);
  for (const ref of refs) {
    const located = ref.location !== undefined;
    if (chunk.length > 0 && (located !== (chunk[0]!.location !== undefined) || bytes + ref.rawBytes > target)) {
      chunks.push(chunk);
      chunk = [];
      bytes = 0;
      target = Math.min(CHUNK_RAW_BYTES, target * 2);
    }
    chunk.push(ref);
    bytes += ref.rawBytes;
  }
  if (chunk.length > 0) chunks.push(chunk);
  return chunks;
}

function compareBig(a: bigint, b: bigint): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

export function toCandidate(selected: SelectedLine, line: string): Candidate {
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
  let key = streamKeys.get(selected.streamLabels);
  if (key === undefined) {
    key = labelsKey(selected.streamLabels);
    streamKeys.set(selected.streamLabels, key);
  }
  return { timestampNs: selected.timestampNs, line, labels: selected.streamLabels, key };
}

/** Stream label objects are shared by all entries of a block: their key is computed once. */
const streamKeys = new WeakMap<Labels, string>();

/**
 * Loki's `interval`: walking in query order, an entry is kept only when it is at least `interval`
 * after (forward) or before (backward) the previously kept one, across all streams; the first entry
 * in query order is always kept.
 */
function applyInterval(candidates: Candidate[], intervalNs: bigint, backward: boolean): Candidate[] {
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
